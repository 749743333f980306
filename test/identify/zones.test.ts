/**
 * Where ends are: node zone and region labels (GA names, then the beta ones), named networks
 * with a zone, region or class (the old `name=cidr` still works), public and private addresses,
 * and the class a pair of places gets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slimNode } from '../../src/identify/kube-objects.ts';
import { networksFromOption, NetworksError } from '../../src/identify/networks.ts';
import { IdentityIndex } from '../../src/identify/identity-index.ts';
import { parseIPv4, parseAddress } from '../../src/identify/ip.ts';
import { scope4, scope6 } from '../../src/identify/zones.ts';
import { classOf, EXTERNAL, INTERNET, internPlace, NOWHERE, ZONE_CLASSES, zoneLabel } from '../../src/aggregate/zone-class.ts';

test('a node keeps its zone and region: topology.kubernetes.io first, failure-domain.beta as fallback', () => {
  const node = (labels: Record<string, string>) =>
    slimNode({ metadata: { name: 'n', labels }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } });
  assert.deepEqual(
    node({
      'topology.kubernetes.io/zone': 'eu-west-1a',
      'topology.kubernetes.io/region': 'eu-west-1',
      'failure-domain.beta.kubernetes.io/zone': 'old',
    }),
    { name: 'n', addresses: ['10.0.0.1'], zone: 'eu-west-1a', region: 'eu-west-1' },
  );
  assert.deepEqual(
    node({ 'failure-domain.beta.kubernetes.io/zone': 'us-central1-b', 'failure-domain.beta.kubernetes.io/region': 'us-central1' }),
    { name: 'n', addresses: ['10.0.0.1'], zone: 'us-central1-b', region: 'us-central1' },
  );
  assert.deepEqual(node({}), { name: 'n', addresses: ['10.0.0.1'] });
});

test('--networks: the old name=cidr, and ;zone= ;region= ;class= after it', () => {
  const nets = networksFromOption(
    'office=192.0.2.0/24,vpc-b=10.1.0.0/16;zone=use1-az2;region=us-east-1,s3=52.216.0.0/15;class=internet,dc=172.20.0.0/16;class=external',
  );
  assert.equal(nets.lookup4(parseIPv4('192.0.2.7')), 'office');
  assert.equal(nets.placeOf('office'), EXTERNAL, 'a network that says nothing is external');
  assert.deepEqual({ ...nets.placeOf('vpc-b') }, { zone: 'use1-az2', region: 'us-east-1', outside: '' });
  assert.equal(nets.placeOf('s3'), INTERNET);
  assert.equal(nets.placeOf('dc'), EXTERNAL);
  assert.throws(
    () => networksFromOption('x=10.0.0.0/8;class=cheap'),
    (e: unknown) => e instanceof NetworksError && /x: class "cheap" is not one of internet, external/.test(e.message),
  );
  assert.throws(() => networksFromOption('x=10.0.0.0/8;colour=red'), /x: "colour" is not zone, region or class/);
  assert.throws(() => networksFromOption('x=10.0.0.0/8;zone='), /x: zone must be a non-empty string/);
});

test('networks files carry zone, region and class in both shapes', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const list = join(dir, 'list.yaml');
  writeFileSync(
    list,
    '- { name: peer, cidrs: [10.1.0.0/16], zone: euw1-az3, region: eu-west-1 }\n- { name: cdn, cidr: 198.51.100.0/24, class: internet }\n- { name: lab, cidr: 10.9.0.0/16 }\n',
  );
  const a = networksFromOption(list);
  assert.deepEqual({ ...a.placeOf('peer') }, { zone: 'euw1-az3', region: 'eu-west-1', outside: '' });
  assert.equal(a.placeOf('cdn'), INTERNET);
  assert.equal(a.placeOf('lab'), EXTERNAL);
  const map = join(dir, 'map.yaml');
  writeFileSync(
    map,
    'networks:\n  office: 192.0.2.0/24\n  onprem: { cidrs: [172.20.0.0/16], class: external }\n  bad: { cidr: 10.0.0.0/8, class: free }\n',
  );
  assert.throws(() => networksFromOption(map), /bad: class "free"/);
});

test('addresses nobody names: public is the internet, private is outside the cluster, the rest nowhere', () => {
  for (const [ip, scope] of [
    ['8.8.8.8', 'public'],
    ['203.0.113.5', 'public'],
    ['10.2.3.4', 'private'],
    ['172.31.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'special'],
    ['127.0.0.1', 'special'],
    ['224.0.0.251', 'special'],
  ] as const) {
    assert.equal(scope4(parseIPv4(ip)), scope, ip);
  }
  for (const [ip, scope] of [
    ['2001:db8::1', 'public'],
    ['2a00:1450::1', 'public'],
    ['fd00::1', 'private'],
    ['fe80::1', 'special'],
    ['::1', 'special'],
  ] as const) {
    const a = parseAddress(ip);
    assert.ok(a && a.family === 6, ip);
    assert.equal(scope6(a.v6), scope, ip);
  }
  const idx = new IdentityIndex({ networks: networksFromOption('dc=172.20.0.0/16') });
  idx.upsertService({ uid: 's', namespace: 'ns', name: 'svc', clusterIPs: ['10.96.0.1'], ports: [], targetPorts: [], selector: {} });
  const placeOf = (ip: string) => idx.placeOf(idx.lookup(ip), parseIPv4(ip), null);
  assert.equal(placeOf('8.8.8.8'), INTERNET);
  assert.equal(placeOf('10.5.5.5'), EXTERNAL);
  assert.equal(placeOf('172.20.0.9'), EXTERNAL);
  assert.equal(placeOf('169.254.169.254'), NOWHERE);
  assert.equal(placeOf('10.96.0.1'), NOWHERE, 'a ClusterIP has no zone');
});

test('one class per pair of places', () => {
  const a1 = internPlace('a1', 'r1', ''),
    a2 = internPlace('a2', 'r1', ''),
    b1 = internPlace('b1', 'r2', ''),
    z = internPlace('z', '', '');
  const cls = (x: typeof a1, y: typeof a1, same = false) => ZONE_CLASSES[classOf(x, y, same)];
  assert.equal(cls(a1, a1, true), 'same-node');
  assert.equal(cls(NOWHERE, NOWHERE, true), 'same-node', 'one node is one node, labelled or not');
  assert.equal(cls(a1, a1), 'same-zone');
  assert.equal(cls(a1, a2), 'cross-zone');
  assert.equal(cls(a1, b1), 'cross-region');
  assert.equal(cls(a1, z), 'cross-zone', 'a missing region is taken as the same region');
  assert.equal(cls(a1, INTERNET), 'internet');
  assert.equal(cls(EXTERNAL, INTERNET), 'internet');
  assert.equal(cls(NOWHERE, EXTERNAL), 'external');
  assert.equal(cls(a1, NOWHERE), 'unknown');
  assert.equal(cls(NOWHERE, NOWHERE), 'unknown');
  assert.deepEqual([a1, INTERNET, EXTERNAL, NOWHERE].map(zoneLabel), ['a1', 'internet', 'external', 'unknown']);
});

test("informers: a node's zone and region come through the watch; a label removed or changed reaches the pods", async (t) => {
  const { startHarness, waitFor } = await import('../support/kube-harness.ts');
  const { node, pod } = await import('../support/kube-objects.ts');
  const labelled = (zone: string | undefined) => (n: { metadata: Record<string, unknown> }) => {
    const labels = n.metadata.labels as Record<string, string>;
    if (zone === undefined) delete labels['topology.kubernetes.io/zone'];
    else Object.assign(labels, { 'topology.kubernetes.io/zone': zone, 'failure-domain.beta.kubernetes.io/region': 'eu-west-1' });
  };
  const h = await startHarness({
    seed: (s) => {
      const n = node({ name: 'n1', internalIP: '10.0.0.1' });
      labelled('eu-west-1a')(n as never);
      s.create('nodes', n);
      s.create('pods', pod({ name: 'web-0', ip: '10.1.0.5', node: 'n1' }));
    },
  });
  t.after(() => h.close());
  await waitFor(() => h.index.ready, 'the index to sync');
  const placeOfPod = () => h.index.placeOf(h.index.lookup('10.1.0.5'), parseIPv4('10.1.0.5'), null);
  assert.deepEqual({ ...placeOfPod() }, { zone: 'eu-west-1a', region: 'eu-west-1', outside: '' });
  assert.equal(
    h.index.placeOf(h.index.lookup('10.0.0.1'), parseIPv4('10.0.0.1'), null),
    placeOfPod(),
    "the node's own address is where the node is",
  );
  h.server.update('nodes', '', 'n1', labelled(undefined) as never);
  await waitFor(() => placeOfPod().zone === '', 'the label removal to reach the pod');
  h.server.update('nodes', '', 'n1', labelled('eu-west-1b') as never);
  await waitFor(() => placeOfPod().zone === 'eu-west-1b', 'the new zone to reach the pod');
});
