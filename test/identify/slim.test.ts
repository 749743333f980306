import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { JobOwners, appFromLabels, slimNode, slimPod, slimService } from '../../src/identify/kube-objects.ts';

function pod(over: {
  labels?: Record<string, string>;
  owner?: { kind: string; name: string; uid?: string };
  phase?: string;
  status?: object;
  spec?: object;
  name?: string;
}): V1Pod {
  return {
    metadata: {
      uid: 'pod-uid',
      name: over.name ?? 'p',
      namespace: 'shop',
      labels: over.labels ?? {},
      creationTimestamp: '2026-01-01T00:00:00Z' as unknown as Date,
      ...(over.owner
        ? {
            ownerReferences: [
              { apiVersion: 'v1', kind: over.owner.kind, name: over.owner.name, uid: over.owner.uid ?? 'owner-uid', controller: true },
            ],
          }
        : {}),
    },
    spec: { nodeName: 'node-a', containers: [], ...(over.spec ?? {}) },
    status: {
      phase: over.phase ?? 'Running',
      podIP: '10.0.0.1',
      startTime: '2026-01-01T00:00:05Z' as unknown as Date,
      ...(over.status ?? {}),
    },
  };
}

test('app name follows the label precedence, first non-empty wins', () => {
  const prec = ['app.kubernetes.io/name', 'app', 'k8s-app', 'name', 'component'];
  assert.equal(appFromLabels({ app: 'web', 'app.kubernetes.io/name': 'shop-web' }, prec), 'shop-web');
  assert.equal(appFromLabels({ app: 'web', 'app.kubernetes.io/name': '' }, prec), 'web');
  assert.equal(appFromLabels({ 'k8s-app': 'kube-dns', component: 'x' }, prec), 'kube-dns');
  assert.equal(appFromLabels({ other: 'x' }, prec), '');
  assert.equal(slimPod(pod({ labels: { component: 'etcd' } }))?.appLabel, 'etcd');
  // A configured precedence replaces the default one.
  assert.equal(slimPod(pod({ labels: { app: 'web', team: 'blue' } }), { appLabels: ['team', 'app'] })?.appLabel, 'blue');
});

test('a ReplicaSet resolves to its Deployment only when pod-template-hash matches the suffix', () => {
  const deployed = slimPod(
    pod({ labels: { 'pod-template-hash': '7d9f8b6c5' }, owner: { kind: 'ReplicaSet', name: 'checkout-7d9f8b6c5' } }),
  );
  assert.equal(deployed?.ownerKind, 'Deployment');
  assert.equal(deployed?.ownerName, 'checkout');
  const handMade = slimPod(pod({ labels: {}, owner: { kind: 'ReplicaSet', name: 'cache-abc12' } }));
  assert.equal(handMade?.ownerKind, 'ReplicaSet');
  assert.equal(handMade?.ownerName, 'cache-abc12');
  const mismatch = slimPod(pod({ labels: { 'pod-template-hash': 'zzz' }, owner: { kind: 'ReplicaSet', name: 'cache-abc12' } }));
  assert.equal(mismatch?.ownerKind, 'ReplicaSet');
});

test('a plain Job stays a Job; a Job really owned by a CronJob becomes the CronJob', () => {
  const owners = new JobOwners();
  const cronJob: V1Job = {
    metadata: {
      uid: 'job-1',
      name: 'backup-29000000',
      namespace: 'shop',
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'backup', uid: 'cj', controller: true }],
    },
  };
  const plainJob: V1Job = { metadata: { uid: 'job-2', name: 'migrate-29000000', namespace: 'shop' } };
  owners.upsertJob(cronJob);
  owners.upsertJob(plainJob);
  const a = slimPod(pod({ owner: { kind: 'Job', name: 'backup-29000000', uid: 'job-1' } }), { jobOwners: owners });
  assert.deepEqual([a?.ownerKind, a?.ownerName], ['CronJob', 'backup']);
  // Named like a CronJob's Job, but nothing owns it: never a made-up CronJob.
  const b = slimPod(pod({ owner: { kind: 'Job', name: 'migrate-29000000', uid: 'job-2' } }), { jobOwners: owners });
  assert.deepEqual([b?.ownerKind, b?.ownerName], ['Job', 'migrate-29000000']);
  // Without the Job object at all, it stays a Job too.
  const c = slimPod(pod({ owner: { kind: 'Job', name: 'report-29000000', uid: 'job-3' } }), { jobOwners: owners });
  assert.deepEqual([c?.ownerKind, c?.ownerName], ['Job', 'report-29000000']);
  owners.deleteJob('job-1');
  const d = slimPod(pod({ owner: { kind: 'Job', name: 'backup-29000000', uid: 'job-1' } }), { jobOwners: owners });
  assert.equal(d?.ownerKind, 'Job');
});

test('StatefulSet, DaemonSet and custom-resource owners are taken as they are', () => {
  for (const kind of ['StatefulSet', 'DaemonSet', 'Rollout', 'VirtualMachineInstance']) {
    const s = slimPod(pod({ owner: { kind, name: `thing-${kind}` } }));
    assert.deepEqual([s?.ownerKind, s?.ownerName], [kind, `thing-${kind}`]);
  }
  const bare = slimPod(pod({}));
  assert.deepEqual([bare?.ownerKind, bare?.ownerName], ['', '']);
});

test('addresses, ports, times and completion of a pod', () => {
  const running = slimPod(
    pod({
      status: { podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }] },
      spec: {
        hostNetwork: true,
        containers: [
          {
            name: 'c',
            ports: [
              { containerPort: 8080, name: 'http' },
              { containerPort: 53, protocol: 'UDP' },
            ],
          },
        ],
      },
    }),
  );
  assert.ok(running);
  assert.deepEqual(running.ips, ['10.0.0.1', 'fd00::1']);
  assert.equal(running.hostNetwork, true);
  assert.equal(running.startMs, Date.parse('2026-01-01T00:00:05Z'));
  assert.equal(running.endMs, undefined);
  assert.deepEqual(running.ports, [
    { port: 8080, name: 'http', protocol: 'TCP' },
    { port: 53, protocol: 'UDP' },
  ]);

  const done = slimPod(
    pod({
      phase: 'Succeeded',
      status: {
        containerStatuses: [
          { name: 'a', state: { terminated: { finishedAt: '2026-01-01T00:10:00Z', exitCode: 0 } } },
          { name: 'b', state: { terminated: { finishedAt: new Date('2026-01-01T00:12:00Z'), exitCode: 0 } } },
        ],
      },
    }),
  );
  assert.equal(done?.endMs, Date.parse('2026-01-01T00:12:00Z'));
  // No finishedAt: the last condition change; nothing at all: the start (claims no time).
  const failed = slimPod(
    pod({ phase: 'Failed', status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: '2026-01-01T00:03:00Z' }] } }),
  );
  assert.equal(failed?.endMs, Date.parse('2026-01-01T00:03:00Z'));
  const bare = slimPod(pod({ phase: 'Failed' }));
  assert.equal(bare?.endMs, bare?.startMs);
  // No UID: no pod (it could never be deleted).
  assert.equal(slimPod({ metadata: { name: 'x' } }), undefined);
});

test('nodes keep InternalIP and ExternalIP; services keep ClusterIPs, ports and target ports', () => {
  const n = slimNode({
    metadata: { name: 'n1' },
    status: {
      addresses: [
        { type: 'Hostname', address: 'n1' },
        { type: 'InternalIP', address: '192.168.0.10' },
        { type: 'ExternalIP', address: '203.0.113.9' },
      ],
    },
  });
  assert.deepEqual(n, { name: 'n1', addresses: ['192.168.0.10', '203.0.113.9'] });
  const s = slimService({
    metadata: { uid: 's1', name: 'web', namespace: 'shop' },
    spec: {
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10', 'fd00:96::10'],
      selector: { app: 'web' },
      ports: [
        { port: 80, targetPort: 'http' },
        { port: 443, targetPort: 8443 },
        { port: 9090 },
        { port: 53, protocol: 'UDP', targetPort: '5353' as unknown as number },
      ],
    },
  });
  assert.deepEqual(s?.clusterIPs, ['10.96.0.10', 'fd00:96::10']);
  assert.deepEqual(s?.targetPorts, ['http', 8443, 9090, 5353]);
  assert.deepEqual(
    s?.ports.map((p) => `${p.protocol}/${p.port}`),
    ['TCP/80', 'TCP/443', 'TCP/9090', 'UDP/53'],
  );
  const headless = slimService({ metadata: { uid: 's2', name: 'db', namespace: 'shop' }, spec: { clusterIP: 'None', ports: [] } });
  assert.deepEqual(headless?.clusterIPs, []);
});
