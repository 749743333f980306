import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityIndex, UNKNOWN_ENDPOINT } from '../../src/identify/identity-index.ts';
import { internEndpoint } from '../../src/identify/intern.ts';
import { MIN, T0, flow, pod, service } from './helpers.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';

test('pods, nodes and services resolve with the endpoint conventions', () => {
  const idx = new IdentityIndex();
  idx.upsertNode({ name: 'node-a', addresses: ['192.168.0.10'] });
  idx.upsertPod(
    pod({
      uid: 'u1',
      name: 'checkout-7d9f-x1',
      namespace: 'shop',
      ips: ['10.244.1.5'],
      appLabel: '',
      ownerKind: 'Deployment',
      ownerName: 'checkout',
    }),
  );
  idx.upsertPod(
    pod({
      uid: 'u2',
      name: 'web-0',
      namespace: 'shop',
      ips: ['10.244.1.6'],
      appLabel: 'storefront',
      ownerKind: 'StatefulSet',
      ownerName: 'web',
    }),
  );
  idx.upsertPod(pod({ uid: 'u3', name: 'lonely', namespace: 'shop', ips: ['10.244.1.7'] }));
  idx.upsertService(
    service({
      uid: 's1',
      name: 'checkout',
      namespace: 'shop',
      clusterIPs: ['10.96.0.20'],
      ports: [{ port: 80, protocol: 'TCP' }],
      targetPorts: [8080],
    }),
  );

  const r = flow('10.244.1.6', 41000, '10.244.1.5', 8080, T0 + MIN);
  const src = idx.resolveSrc(r);
  const dst = idx.resolveDst(r);
  assert.deepEqual(
    { ...src },
    {
      id: src.id,
      kind: 'pod',
      namespace: 'shop',
      name: 'web-0',
      app: 'storefront',
      ownerKind: 'StatefulSet',
      ownerName: 'web',
      nodeName: 'node-a',
    },
  );
  assert.equal(dst.app, 'checkout', 'owner workload when no label');
  assert.equal(idx.lookup('10.244.1.7', { t: T0 + MIN }).app, 'lonely', 'pod name when no label and no owner');

  const node = idx.lookup('192.168.0.10');
  assert.deepEqual([node.kind, node.namespace, node.app, node.nodeName], ['node', 'node', 'node-a', 'node-a']);
  const svc = idx.lookup('10.96.0.20');
  assert.deepEqual([svc.kind, svc.namespace, svc.app, svc.name], ['service', 'shop', 'checkout', 'checkout']);
  const unknown = idx.lookup('198.51.100.1');
  assert.equal(unknown, UNKNOWN_ENDPOINT);
  assert.deepEqual([unknown.kind, unknown.namespace, unknown.app], ['unknown', 'unknown', 'unknown']);
  assert.equal(idx.nodeByAddress('192.168.0.10'), 'node-a');
  assert.equal(idx.nodeByAddress('::ffff:192.168.0.10'), 'node-a');
  assert.equal(idx.nodeByAddress('10.244.1.5'), undefined);
});

test('endpoints are interned: same identity, same object and id; fields re-intern to it', () => {
  const idx = new IdentityIndex();
  idx.upsertPod(pod({ uid: 'u1', name: 'a', ips: ['10.0.0.1', '10.0.0.2'], appLabel: 'api' }));
  const a = idx.lookup('10.0.0.1', { t: T0 + 1 });
  const b = idx.lookup('10.0.0.2', { t: T0 + 1 });
  assert.equal(a, b);
  assert.ok(Object.isFrozen(a));
  const again = internEndpoint({
    kind: 'pod',
    namespace: 'default',
    name: 'a',
    app: 'api',
    ownerKind: '',
    ownerName: '',
    nodeName: 'node-a',
  });
  assert.equal(again, a);
  assert.equal(internEndpoint({ ...a }), a);
  const other = internEndpoint({ ...a, app: 'other' });
  assert.notEqual(other.id, a.id);
});

test('IP reuse: each flow goes to the pod that held the address at its end time, late flows included', () => {
  let now = T0;
  const idx = new IdentityIndex({ now: () => now, clockSkewMs: 1000 });
  idx.upsertPod(pod({ uid: 'old', name: 'old-pod', ips: ['10.1.0.9'], startMs: T0 }));
  now = T0 + 10 * MIN;
  idx.deletePod('old', now); // deleted by UID at 10 min
  now = T0 + 11 * MIN;
  idx.upsertPod(pod({ uid: 'new', name: 'new-pod', ips: ['10.1.0.9'], startMs: T0 + 11 * MIN }));
  now = T0 + 40 * MIN; // flows arrive up to half an hour late

  assert.equal(idx.lookup('10.1.0.9', { t: T0 + 5 * MIN }).name, 'old-pod');
  assert.equal(idx.lookup('10.1.0.9', { t: T0 + 10 * MIN }).name, 'old-pod');
  assert.equal(idx.lookup('10.1.0.9', { t: T0 + 12 * MIN }).name, 'new-pod');
  // Between the two pods nobody held it.
  assert.equal(idx.lookup('10.1.0.9', { t: T0 + 10.5 * MIN }), UNKNOWN_ENDPOINT);
  // Within the clock-skew margin of a start, the new holder.
  assert.equal(idx.lookup('10.1.0.9', { t: T0 + 11 * MIN - 500 }).name, 'new-pod');
  // A flow record late by 29 minutes, through resolveSrc.
  assert.equal(idx.resolveSrc(flow('10.1.0.9', 40000, '10.9.9.9', 80, T0 + 9 * MIN)).name, 'old-pod');
  // A record without times: now.
  assert.equal(idx.resolveSrc(flow('10.1.0.9', 40000, '10.9.9.9', 80, 0)).name, 'new-pod');

  // Deleting an unknown UID or the old UID again changes nothing; deletion is never by IP.
  idx.deletePod('nope', now);
  idx.deletePod('old', now);
  assert.equal(idx.lookup('10.1.0.9', { t: T0 + 5 * MIN }).name, 'old-pod');
  // A late update of a deleted pod does not bring it back.
  idx.upsertPod(pod({ uid: 'old', name: 'old-pod', ips: ['10.1.0.9'], startMs: T0 }));
  assert.equal(idx.lookup('10.1.0.9', { t: T0 + 30 * MIN }).name, 'new-pod');
  assert.equal(idx.stats.pods, 1);
  assert.equal(idx.stats.podsRetained, 1);
});

test('a completed pod stops claiming its address at completion, whatever order updates come in', () => {
  for (const order of ['job-first', 'running-first']) {
    const idx = new IdentityIndex();
    const job = pod({
      uid: 'job',
      name: 'backup-1-xyz',
      ips: ['10.2.0.4'],
      phase: 'Succeeded',
      startMs: T0,
      endMs: T0 + 5 * MIN,
      ownerKind: 'Job',
      ownerName: 'backup-1',
    });
    // The new pod's startTime comes before the Job finished (it waited for the address).
    const live = pod({ uid: 'live', name: 'api-1', ips: ['10.2.0.4'], startMs: T0 + 4 * MIN, appLabel: 'api' });
    if (order === 'job-first') {
      idx.upsertPod(job);
      idx.upsertPod(live);
    } else {
      idx.upsertPod(live);
      idx.upsertPod(job);
    }
    assert.equal(idx.lookup('10.2.0.4', { t: T0 + 2 * MIN }).app, 'backup-1', order);
    assert.equal(idx.lookup('10.2.0.4', { t: T0 + 4.5 * MIN }).app, 'backup-1', `${order}: still running then`);
    assert.equal(idx.lookup('10.2.0.4', { t: T0 + 6 * MIN }).app, 'api', order);
    assert.equal(idx.lookup('10.2.0.4', { t: T0 + 600 * MIN }).app, 'api', order);
  }
  // The same pod going Running → Succeeded ends its claim.
  const idx = new IdentityIndex();
  idx.upsertPod(pod({ uid: 'j', ips: ['10.2.0.5'], startMs: T0 }));
  assert.equal(idx.lookup('10.2.0.5', { t: T0 + 60 * MIN }).name, 'j');
  idx.upsertPod(pod({ uid: 'j', ips: ['10.2.0.5'], startMs: T0, phase: 'Failed', endMs: T0 + 3 * MIN }));
  assert.equal(idx.lookup('10.2.0.5', { t: T0 + 2 * MIN }).name, 'j');
  assert.equal(idx.lookup('10.2.0.5', { t: T0 + 60 * MIN }), UNKNOWN_ENDPOINT);
});

test('hostNetwork pods: the node, unless the pod declares the flow port as a containerPort', () => {
  const idx = new IdentityIndex();
  idx.upsertNode({ name: 'node-a', addresses: ['192.168.0.10'] });
  idx.upsertNode({ name: 'node-b', addresses: ['192.168.0.11'] });
  idx.upsertPod(
    pod({
      uid: 'exp',
      name: 'node-exporter-abc',
      ips: ['192.168.0.10'],
      hostNetwork: true,
      appLabel: 'node-exporter',
      ports: [{ port: 9100, protocol: 'TCP' }],
    }),
  );
  idx.upsertPod(
    pod({
      uid: 'dns',
      name: 'dns-host',
      ips: ['192.168.0.10'],
      hostNetwork: true,
      appLabel: 'dns',
      ports: [{ port: 53, protocol: 'UDP' }],
    }),
  );
  idx.upsertPod(
    pod({
      uid: 'exp-b',
      name: 'node-exporter-def',
      nodeName: 'node-b',
      ips: ['192.168.0.11'],
      hostNetwork: true,
      appLabel: 'node-exporter',
      ports: [{ port: 9100, protocol: 'TCP' }],
    }),
  );
  idx.upsertPod(pod({ uid: 'prom', name: 'prom-0', ips: ['10.244.0.3'], appLabel: 'prometheus' }));
  const t = T0 + MIN;

  const scrape = flow('10.244.0.3', 45000, '192.168.0.10', 9100, t);
  assert.equal(idx.resolveDst(scrape).name, 'node-exporter-abc');
  assert.equal(idx.resolveDst(flow('10.244.0.3', 45000, '192.168.0.11', 9100, t)).name, 'node-exporter-def');
  // Reply direction: the source port is the declared one.
  assert.equal(idx.resolveSrc(flow('192.168.0.10', 9100, '10.244.0.3', 45000, t)).name, 'node-exporter-abc');
  // Other ports on the node's address: the node. Protocol matters: TCP/53 is not the UDP/53 pod.
  assert.equal(idx.resolveDst(flow('10.244.0.3', 45000, '192.168.0.10', 10250, t)).kind, 'node');
  assert.equal(idx.resolveDst(flow('10.244.0.3', 45000, '192.168.0.10', 53, t, 17)).name, 'dns-host');
  assert.equal(idx.resolveDst(flow('10.244.0.3', 45000, '192.168.0.10', 53, t, 6)).name, 'node-a');
  // hostNetwork pods never take over each other or the node's address.
  assert.equal(idx.lookup('192.168.0.10').kind, 'node');
  assert.equal(idx.nodeByAddress('192.168.0.10'), 'node-a');
  // Once the pod is gone (and its late flows have passed), the port is the node's again.
  idx.deletePod('exp', t + MIN);
  assert.equal(idx.resolveDst(flow('10.244.0.3', 45000, '192.168.0.10', 9100, t + 30 * MIN)).kind, 'node');
  assert.equal(idx.resolveDst(flow('10.244.0.3', 45000, '192.168.0.10', 9100, t)).name, 'node-exporter-abc');
});

test('Service ClusterIPs resolve to the service; deleting it by UID forgets the address', () => {
  const idx = new IdentityIndex();
  const svc = service({
    uid: 'kdns',
    name: 'kube-dns',
    namespace: 'kube-system',
    clusterIPs: ['10.96.0.10', 'fd00:96::a'],
    ports: [{ port: 53, protocol: 'UDP' }],
    targetPorts: [53],
  });
  idx.upsertService(svc);
  assert.equal(idx.lookup('10.96.0.10').name, 'kube-dns');
  assert.equal(idx.lookup('fd00:96::a').name, 'kube-dns');
  idx.upsertService({ ...svc, clusterIPs: ['10.96.0.11'] });
  assert.equal(idx.lookup('10.96.0.10'), UNKNOWN_ENDPOINT);
  assert.equal(idx.lookup('10.96.0.11').app, 'kube-dns');
  idx.deleteService('kdns');
  assert.equal(idx.lookup('10.96.0.11'), UNKNOWN_ENDPOINT);
  assert.equal(idx.stats.services, 0);
  assert.equal(idx.stats.ipv4Addresses, 0);
});

test('roles come from declared ports, Service ports, well-known ports and the ephemeral range', () => {
  const idx = new IdentityIndex({ ephemeralPorts: [32768, 60999] });
  idx.upsertPod(
    pod({ uid: 'api', name: 'api', ips: ['10.0.0.1'], labels: { app: 'api' }, ports: [{ port: 8080, name: 'http', protocol: 'TCP' }] }),
  );
  idx.upsertPod(pod({ uid: 'cli', name: 'cli', ips: ['10.0.0.2'] }));
  idx.upsertPod(pod({ uid: 'gw', name: 'gw', ips: ['10.0.0.3'], labels: { app: 'gw' } }));
  const t = T0 + MIN;
  const role = (s: string, sp: number, d: string, dp: number, proto = 6) => {
    const r = flow(s, sp, d, dp, t, proto);
    return idx.role(r, idx.resolveSrc(r), idx.resolveDst(r));
  };
  // containerPort on the destination: the source is the client, even from a low source port.
  assert.equal(role('10.0.0.2', 900, '10.0.0.1', 8080), 'src-client');
  assert.equal(role('10.0.0.1', 8080, '10.0.0.2', 900), 'src-server');
  // Neither declares: a well-known port on one side only.
  assert.equal(role('10.0.0.2', 5000, '10.0.0.3', 443), 'src-client');
  assert.equal(role('10.0.0.3', 443, '10.0.0.2', 5000), 'src-server');
  // Then the ephemeral range on one side only.
  assert.equal(role('10.0.0.2', 40000, '10.0.0.3', 9000), 'src-client');
  assert.equal(role('10.0.0.3', 9000, '10.0.0.2', 40000), 'src-server');
  // Nothing decides: unknown, never "the larger port".
  assert.equal(role('10.0.0.2', 5000, '10.0.0.3', 9000), 'unknown');
  assert.equal(role('10.0.0.2', 40000, '10.0.0.3', 50000), 'unknown');
  assert.equal(role('10.0.0.2', 80, '10.0.0.3', 443), 'unknown');
  assert.equal(role('10.0.0.2', 0, '10.0.0.3', 0, 1), 'unknown', 'ICMP has no ports');

  // A Service selecting gw, with a named and a numeric targetPort, makes gw the server on them.
  assert.equal(role('10.0.0.2', 5000, '10.0.0.3', 9000), 'unknown');
  idx.upsertService(
    service({
      uid: 's',
      name: 'gw',
      selector: { app: 'gw' },
      clusterIPs: ['10.96.1.1'],
      ports: [
        { port: 80, protocol: 'TCP' },
        { port: 81, protocol: 'TCP' },
      ],
      targetPorts: [9000, 'http'],
    }),
  );
  assert.equal(role('10.0.0.2', 5000, '10.0.0.3', 9000), 'src-client');
  assert.equal(role('10.0.0.3', 9000, '10.0.0.2', 5000), 'src-server');
  assert.deepEqual(idx.serverPortsOf(idx.lookup('10.0.0.3')), ['TCP/80', 'TCP/81', 'TCP/9000']);
  // Before DNAT: the destination is the ClusterIP on the service port.
  assert.equal(role('10.0.0.2', 5000, '10.96.1.1', 80), 'src-client');
  // A pod added later is selected too; the named targetPort resolves through its own ports.
  idx.upsertPod(
    pod({ uid: 'gw2', name: 'gw2', ips: ['10.0.0.4'], labels: { app: 'gw' }, ports: [{ port: 7000, name: 'http', protocol: 'TCP' }] }),
  );
  assert.equal(role('10.0.0.2', 5000, '10.0.0.4', 7000), 'src-client');
  idx.deleteService('s');
  assert.equal(role('10.0.0.2', 5000, '10.0.0.3', 9000), 'unknown');
  assert.equal(role('10.0.0.2', 5000, '10.0.0.4', 7000), 'src-client', 'its own containerPort still counts');

  // A custom ephemeral range.
  const narrow = new IdentityIndex({ ephemeralPorts: [49152, 65535] });
  const r = flow('10.0.0.2', 40000, '10.0.0.3', 9000, t);
  assert.equal(narrow.role(r, narrow.resolveSrc(r), narrow.resolveDst(r)), 'unknown');
  assert.throws(() => new IdentityIndex({ ephemeralPorts: [5000, 10] }), /ephemeral/);
});

test('IPv6 pods, nodes and IPv4-mapped addresses', () => {
  const idx = new IdentityIndex();
  idx.upsertPod(pod({ uid: 'v6', name: 'dual', ips: ['10.0.0.8', 'fd00:10:244::8'], appLabel: 'dual' }));
  idx.upsertNode({ name: 'node-6', addresses: ['2001:db8::10'] });
  const r = flow('fd00:10:244::8', 40000, '2001:db8::10', 10250, T0 + MIN);
  assert.equal(idx.resolveSrc(r).app, 'dual');
  assert.equal(idx.resolveDst(r).app, 'node-6');
  assert.equal(idx.role(r, idx.resolveSrc(r), idx.resolveDst(r)), 'src-client');
  assert.equal(idx.lookup('fd00:10:244:0:0:0:0:8', { t: T0 + MIN }).app, 'dual');
  assert.equal(idx.lookup('::ffff:10.0.0.8', { t: T0 + MIN }).app, 'dual');
  assert.equal(idx.lookup('fd00:10:244::9'), UNKNOWN_ENDPOINT);
  assert.equal(idx.nodeByAddress('2001:db8:0::10'), 'node-6');
  idx.deleteNode('node-6');
  assert.equal(idx.lookup('2001:db8::10'), UNKNOWN_ENDPOINT);
  assert.equal(idx.stats.ipv6Addresses, 1);
});

test('node updates move addresses; a deleted node no longer names its address', () => {
  const idx = new IdentityIndex();
  idx.upsertNode({ name: 'n1', addresses: ['192.168.0.1'] });
  idx.upsertNode({ name: 'n1', addresses: ['192.168.0.2'] });
  assert.equal(idx.nodeByAddress('192.168.0.1'), undefined);
  assert.equal(idx.nodeByAddress('192.168.0.2'), 'n1');
  idx.deleteNode('n1');
  assert.equal(idx.nodeByAddress('192.168.0.2'), undefined);
  assert.equal(idx.stats.nodes, 0);
});

test('a hostNetwork pod whose node object is unknown: its node by name, only while the pod holds the address', () => {
  let now = T0 + MIN;
  const idx = new IdentityIndex({ now: () => now, retentionMs: 60 * MIN });
  idx.upsertPod(
    pod({
      uid: 'h',
      name: 'kube-proxy-x',
      nodeName: 'node-z',
      ips: ['192.168.5.5'],
      hostNetwork: true,
      ports: [{ port: 10249, protocol: 'TCP' }],
    }),
  );
  assert.equal(idx.lookup('192.168.5.5').name, 'node-z');
  assert.equal(idx.lookup('192.168.5.5').kind, 'node');
  assert.equal(idx.lookup('192.168.5.5', { port: 10249 }).name, 'kube-proxy-x');
  assert.equal(idx.nodeByAddress('192.168.5.5'), 'node-z');
  now = T0 + 2 * MIN;
  idx.deletePod('h', now);
  assert.equal(idx.nodeByAddress('192.168.5.5'), undefined);
  assert.equal(idx.lookup('192.168.5.5', { t: T0 + 90_000 }).name, 'node-z', 'late flow');
  assert.equal(idx.lookup('192.168.5.5', { t: T0 + 10 * MIN }), UNKNOWN_ENDPOINT);
});

test('retention: a deleted pod is kept for late flows, then dropped; prune() can be called with a time', () => {
  let now = T0;
  const idx = new IdentityIndex({ now: () => now, retentionMs: 30 * MIN });
  idx.upsertPod(pod({ uid: 'a', name: 'a', ips: ['10.3.0.1', 'fd00:3::1'] }));
  now = T0 + 5 * MIN;
  idx.deletePod('a', now);
  idx.prune(T0 + 34 * MIN);
  assert.equal(idx.lookup('10.3.0.1', { t: T0 + 4 * MIN }).name, 'a');
  assert.equal(idx.stats.podsRetained, 1);
  idx.prune(T0 + 36 * MIN);
  assert.equal(idx.lookup('10.3.0.1', { t: T0 + 4 * MIN }), UNKNOWN_ENDPOINT);
  assert.equal(idx.lookup('fd00:3::1', { t: T0 + 4 * MIN }), UNKNOWN_ENDPOINT);
  assert.deepEqual([idx.stats.podsRetained, idx.stats.podsPruned, idx.stats.ipv4Addresses, idx.stats.ipv6Addresses], [0, 1, 0, 0]);
  // Pruned: the UID may be seen again (nothing to protect any more).
  idx.upsertPod(pod({ uid: 'a', name: 'a', ips: ['10.3.0.1'], startMs: T0 + 40 * MIN }));
  assert.equal(idx.lookup('10.3.0.1', { t: T0 + 41 * MIN }).name, 'a');
});

test('a pod changing labels gets its new identity; the old one no longer resolves', () => {
  const idx = new IdentityIndex();
  const p = pod({ uid: 'x', name: 'x', ips: ['10.4.0.1'], appLabel: 'v1', ports: [{ port: 80, protocol: 'TCP' }] });
  idx.upsertPod(p);
  const v1 = idx.lookup('10.4.0.1', { t: T0 + 1 });
  idx.upsertPod({ ...p, appLabel: 'v2' });
  const v2 = idx.lookup('10.4.0.1', { t: T0 + 1 });
  assert.equal(v2.app, 'v2');
  assert.notEqual(v1, v2);
  assert.deepEqual(idx.serverPortsOf(v2), ['TCP/80']);
  assert.deepEqual(idx.serverPortsOf(v1), []);
  assert.equal(idx.stats.ipv4Addresses, 1);
  assert.equal(idx.stats.pods, 1);
});

test('two live pods on one address (a deletion that never came): the later start is the holder', () => {
  const idx = new IdentityIndex();
  idx.upsertPod(pod({ uid: 'stale', name: 'stale', ips: ['10.5.0.1'], startMs: T0 }));
  idx.upsertPod(pod({ uid: 'fresh', name: 'fresh', ips: ['10.5.0.1'], startMs: T0 + 10 * MIN }));
  assert.equal(idx.lookup('10.5.0.1', { t: T0 + 5 * MIN }).name, 'stale');
  assert.equal(idx.lookup('10.5.0.1', { t: T0 + 15 * MIN }).name, 'fresh');
  idx.deletePod('fresh', T0 + 20 * MIN);
  assert.equal(idx.lookup('10.5.0.1', { t: T0 + 15 * MIN }).name, 'fresh', 'its history stays');
});

test('takeChanges() lists the IPv4 addresses each change touched, and null past what is worth listing', () => {
  let now = T0;
  const idx = new IdentityIndex({ now: () => now, retentionMs: MIN });
  const v4 = (a: string) => parseIPv4(a);
  const taken = () => {
    const c = idx.takeChanges();
    return c === null ? null : [...new Set(c)].sort((a, b) => a - b);
  };
  assert.deepEqual(taken(), []);
  const g0 = idx.generation;
  idx.upsertPod(pod({ uid: 'a', ips: ['10.0.0.1', 'fd00::1'], labels: { app: 'web' } }));
  assert.deepEqual(taken(), [v4('10.0.0.1')], 'IPv6 addresses are not listed');
  assert.ok(idx.generation > g0);
  idx.upsertNode({ name: 'node-a', addresses: ['192.168.0.1'] });
  idx.upsertService(
    service({
      uid: 's',
      name: 'web',
      clusterIPs: ['10.96.0.1'],
      selector: { app: 'web' },
      ports: [{ port: 80, protocol: 'TCP' }],
      targetPorts: [8080],
    }),
  );
  // The Service's ports make its pod a server: the pod's address changed too.
  assert.deepEqual(
    taken(),
    [v4('10.0.0.1'), v4('10.96.0.1'), v4('192.168.0.1')].sort((a, b) => a - b),
  );
  idx.deletePod('a', now);
  assert.deepEqual(taken(), [v4('10.0.0.1')]);
  now += 2 * MIN;
  idx.prune(now);
  assert.deepEqual(taken(), [v4('10.0.0.1')], 'pruning its history changes the address again');
  idx.deleteNode('node-a');
  idx.deleteService('s');
  assert.deepEqual(
    taken(),
    [v4('10.96.0.1'), v4('192.168.0.1')].sort((a, b) => a - b),
  );
  assert.deepEqual(taken(), [], 'taken means gone');
  for (let i = 0; i < 5000; i++) idx.upsertPod(pod({ uid: `p${i}`, ips: [`10.1.${i >> 8}.${i & 255}`] }));
  assert.equal(idx.takeChanges(), null, 'too many to list: forget everything');
  assert.deepEqual(taken(), []);
});
