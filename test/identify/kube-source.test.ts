/**
 * The live inventory end to end: the real client-node informers (through kube-source) against a
 * fake API server speaking the real list/watch protocol over HTTPS, into the real IdentityIndex.
 * Flows recorded before and after each change must land on the right endpoint, and the
 * inventory must come back complete and without stale entries after every kind of failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdentityIndex } from '../../src/identify/identity-index.ts';
import type { InventoryListener, SlimPod } from '../../src/identify/inventory.ts';
import { loadKubeConfig } from '../../src/identify/kube-config.ts';
import { KubeSource } from '../../src/identify/kube-source.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import { job, node, pod, service } from '../support/kube-objects.ts';
import { dstName, srcName, startHarness, waitFor } from '../support/kube-harness.ts';
import { flow } from './helpers.ts';

const MIN = 60_000;

test('ready only after the first full list of every kind; lists are paged', async () => {
  const h = await startHarness({
    source: { pageSize: 40 },
    seed: (s) => {
      for (let i = 0; i < 130; i++) s.create('pods', pod({ name: `p-${i}`, ip: `10.1.${i >> 8}.${i & 255}`, labels: { app: 'bulk' } }));
      s.create('nodes', node({ name: 'n1', internalIP: '10.0.0.1' }));
      s.create('services', service({ name: 'api', clusterIP: '10.96.0.10' }));
      s.create('jobs', job({ name: 'j1' }));
      // Services cannot be listed for a while: the rest syncs, but the inventory is not ready.
      s.failNext(3, 500, { resource: 'services', verb: 'list' });
    },
  });
  try {
    const kinds = () => h.source.stats().kinds;
    await waitFor(
      () => kinds().pods.ready && kinds().nodes.ready && kinds().jobs.ready && kinds().services.errors >= 1,
      'pods, nodes and jobs listed',
    );
    if (!kinds().services.ready) {
      assert.equal(h.source.isReady, false, 'a half-synced inventory must not be ready');
      assert.equal(h.index.ready, false);
    }
    await h.source.ready;
    assert.equal(h.index.ready, true);
    const st = h.source.stats();
    assert.equal(st.ready, true);
    assert.equal(st.kinds.services.errors, 3);
    assert.equal(st.kinds.services.restarts, 3);
    assert.match(st.kinds.services.lastError, /500/);
    assert.equal(st.kinds.pods.objects, 130);
    assert.equal(h.index.stats.pods, 130);
    assert.equal(h.index.stats.nodes, 1);
    assert.equal(h.index.stats.services, 1);
    // 130 pods in pages of 40: four list requests.
    assert.equal(h.server.requests.list.pods, 4);
    for (const kind of ['pods', 'nodes', 'services', 'jobs'] as const) {
      assert.ok(st.kinds[kind].lastEventMs > 0, `${kind} has a last-event time`);
      assert.equal(st.kinds[kind].lists, 1);
    }
    const now = Date.now();
    assert.equal(srcName(h.index, flow('10.1.0.77', 40000, '10.96.0.10', 443, now)), 'pod:default/p-77');
    // Dual stack: both of a pod's addresses name it.
    h.server.create('pods', pod({ name: 'dual', ips: ['10.1.9.9', 'fd00:10:1::9'] }));
    await waitFor(() => h.index.lookup('fd00:10:1::9').name === 'dual', 'the dual-stack pod');
    assert.equal(h.index.lookup('10.1.9.9').name, 'dual');
    assert.equal(dstName(h.index, flow('10.1.0.77', 40000, '10.96.0.10', 443, now)), 'service:default/api');
  } finally {
    await h.close();
  }
});

test('pods created, updated, completed and deleted, and an IP reused: flows land on the pod that held the IP', async () => {
  const t0 = Date.now() - 60 * MIN;
  const h = await startHarness({
    seed: (s) => {
      s.create('nodes', node({ name: 'n1', internalIP: '10.0.0.1' }));
      s.create(
        'services',
        service({ name: 'db', namespace: 'data', clusterIP: '10.96.0.20', selector: { app: 'db' }, ports: [{ port: 5432 }] }),
      );
      s.create(
        'pods',
        pod({
          name: 'db-0',
          namespace: 'data',
          ip: '10.1.0.9',
          labels: { app: 'db' },
          ports: [5432],
          owner: { kind: 'StatefulSet', name: 'db' },
          startTime: new Date(t0),
        }),
      );
    },
  });
  try {
    await h.source.ready;
    const ip = '10.1.0.5';
    const early = flow(ip, 40000, '10.1.0.9', 5432, t0 + 5 * MIN);
    const later = flow(ip, 40000, '10.1.0.9', 5432, t0 + 20 * MIN);
    assert.equal(srcName(h.index, early), 'unknown:unknown/unknown');

    // Created: a Deployment's pod.
    h.server.create(
      'pods',
      pod({
        name: 'web-7d9f8-abcde',
        namespace: 'shop',
        ip,
        startTime: new Date(t0),
        labels: { 'pod-template-hash': '7d9f8' },
        owner: { kind: 'ReplicaSet', name: 'web-7d9f8' },
      }),
    );
    await waitFor(() => h.index.resolveSrc(early).kind === 'pod', 'the new pod');
    let ep = h.index.resolveSrc(early);
    assert.equal(ep.name, 'web-7d9f8-abcde');
    assert.equal(ep.namespace, 'shop');
    assert.equal(ep.ownerKind, 'Deployment');
    assert.equal(ep.app, 'web', 'no app label: the owner workload names it');
    assert.equal(h.index.role(early, ep, h.index.resolveDst(early)), 'src-client', 'db-0 declares 5432');
    assert.equal(dstName(h.index, early), 'pod:data/db-0');

    // Updated: an app label now names it.
    h.server.update('pods', 'shop', 'web-7d9f8-abcde', (p) => {
      (p.metadata.labels as Record<string, string>).app = 'storefront';
    });
    await waitFor(() => h.index.resolveSrc(early).app === 'storefront', 'the label update');

    // Completed: it stops claiming the IP at its finish time.
    h.server.completePod('shop', 'web-7d9f8-abcde', 'Succeeded', new Date(t0 + 10 * MIN));
    await waitFor(() => h.index.resolveSrc(later).kind !== 'pod', 'the completion');
    assert.equal(srcName(h.index, early), 'pod:shop/web-7d9f8-abcde');
    assert.equal(srcName(h.index, later), 'unknown:unknown/unknown');

    // The IP is reused by a new pod; the finished one still owns its past.
    h.server.create(
      'pods',
      pod({
        name: 'report-28001',
        namespace: 'shop',
        ip,
        startTime: new Date(t0 + 15 * MIN),
        owner: { kind: 'Job', name: 'report-28001', apiVersion: 'batch/v1' },
      }),
    );
    await waitFor(() => h.index.resolveSrc(later).kind === 'pod', 'the pod reusing the IP');
    assert.equal(srcName(h.index, later), 'pod:shop/report-28001');
    assert.equal(h.index.resolveSrc(later).ownerKind, 'Job', 'a Job no CronJob owns stays a Job');
    assert.equal(srcName(h.index, early), 'pod:shop/web-7d9f8-abcde');

    // Deleting the finished pod (by UID) must not take the IP from the new one.
    h.server.remove('pods', 'shop', 'web-7d9f8-abcde');
    await waitFor(() => h.index.stats.pods === 2, 'the deletion');
    assert.equal(srcName(h.index, later), 'pod:shop/report-28001');
    assert.equal(srcName(h.index, early), 'pod:shop/web-7d9f8-abcde', 'late flows keep their pod after deletion');
    assert.equal(srcName(h.index, flow(ip, 40000, '10.1.0.9', 5432, Date.now())), 'pod:shop/report-28001');

    // Deleting the live pod ends its claim at the deletion.
    h.server.remove('pods', 'shop', 'report-28001');
    await waitFor(() => h.index.stats.pods === 1, 'the second deletion');
    const afterDelete = flow(ip, 40000, '10.1.0.9', 5432, Date.now() + 2 * MIN);
    assert.equal(srcName(h.index, afterDelete), 'unknown:unknown/unknown');
    assert.equal(srcName(h.index, later), 'pod:shop/report-28001', 'a late flow from before the deletion');
  } finally {
    await h.close();
  }
});

test('hostNetwork pods, Services and nodes come and go', async () => {
  const h = await startHarness({
    seed: (s) => {
      s.create('pods', pod({ name: 'client', ip: '10.1.0.2', labels: { app: 'client' } }));
    },
  });
  try {
    await h.source.ready;
    const at = () => Date.now() + 2 * MIN;
    const toNode = (port: number) => flow('10.1.0.2', 40000, '10.0.0.7', port, at());
    assert.equal(dstName(h.index, toNode(22)), 'unknown:unknown/unknown');

    h.server.create('nodes', node({ name: 'worker-7', internalIP: '10.0.0.7', externalIP: '203.0.113.7' }));
    await waitFor(() => h.index.resolveDst(toNode(22)).kind === 'node', 'the node');
    assert.equal(h.index.resolveDst(toNode(22)).name, 'worker-7');
    assert.equal(h.index.nodeByAddress('203.0.113.7'), 'worker-7');

    // A hostNetwork pod on the node: the flow is its only on a port it declares.
    const now = new Date();
    h.server.create(
      'pods',
      pod({
        name: 'node-exporter-x1',
        namespace: 'monitoring',
        ip: '10.0.0.7',
        node: 'worker-7',
        hostNetwork: true,
        ports: [9100],
        labels: { 'app.kubernetes.io/name': 'node-exporter' },
        owner: { kind: 'DaemonSet', name: 'node-exporter' },
        startTime: now,
      }),
    );
    await waitFor(() => h.index.resolveDst(toNode(9100)).kind === 'pod', 'the hostNetwork pod');
    const exp = h.index.resolveDst(toNode(9100));
    assert.equal(exp.name, 'node-exporter-x1');
    assert.equal(exp.app, 'node-exporter');
    assert.equal(exp.ownerKind, 'DaemonSet');
    assert.equal(dstName(h.index, toNode(22)), 'node:node/worker-7', 'other ports stay the node');

    h.server.remove('pods', 'monitoring', 'node-exporter-x1');
    await waitFor(() => h.index.resolveDst(toNode(9100)).kind === 'node', 'the hostNetwork pod leaving');

    // A Service: its ClusterIP, and its port makes the selected pod a server.
    const toSvc = flow('10.1.0.2', 40000, '10.96.0.30', 8080, at());
    h.server.create(
      'services',
      service({ name: 'client-svc', clusterIP: '10.96.0.30', selector: { app: 'client' }, ports: [{ port: 8080, targetPort: 8080 }] }),
    );
    await waitFor(() => h.index.resolveDst(toSvc).kind === 'service', 'the service');
    assert.equal(dstName(h.index, toSvc), 'service:default/client-svc');
    const inbound = flow('10.0.0.7', 51000, '10.1.0.2', 8080, at());
    assert.equal(h.index.role(inbound, h.index.resolveSrc(inbound), h.index.resolveDst(inbound)), 'src-client');

    h.server.remove('services', 'default', 'client-svc');
    await waitFor(() => h.index.resolveDst(toSvc).kind !== 'service', 'the service leaving');
    assert.equal(dstName(h.index, toSvc), 'unknown:unknown/unknown');
    assert.deepEqual(h.index.serverPortsOf(h.index.resolveDst(inbound)), []);

    h.server.remove('nodes', '', 'worker-7');
    await waitFor(() => h.index.resolveDst(toNode(22)).kind === 'unknown', 'the node leaving');
    assert.equal(h.index.nodeByAddress('10.0.0.7'), undefined);
    assert.equal(h.index.stats.nodes, 0);
  } finally {
    await h.close();
  }
});

test('a Job owned by a CronJob names its pods by the CronJob, whichever arrives first', async () => {
  const h = await startHarness({
    seed: (s) => {
      s.create('jobs', job({ name: 'backup-29001', namespace: 'ops', cronJob: 'backup' }));
    },
  });
  try {
    await h.source.ready;
    const t = Date.now() + MIN;
    h.server.create(
      'pods',
      pod({
        name: 'backup-29001-x',
        namespace: 'ops',
        ip: '10.1.3.1',
        owner: { kind: 'Job', name: 'backup-29001', apiVersion: 'batch/v1' },
      }),
    );
    await waitFor(() => h.index.resolveSrc(flow('10.1.3.1', 1, '10.9.9.9', 2, t)).kind === 'pod', 'the job pod');
    let ep = h.index.resolveSrc(flow('10.1.3.1', 1, '10.9.9.9', 2, t));
    assert.equal(ep.ownerKind, 'CronJob');
    assert.equal(ep.ownerName, 'backup');
    assert.equal(ep.app, 'backup');

    // The pod's event comes before its Job's: renamed when the Job shows up.
    h.server.create(
      'pods',
      pod({
        name: 'backup-29002-y',
        namespace: 'ops',
        ip: '10.1.3.2',
        owner: { kind: 'Job', name: 'backup-29002', apiVersion: 'batch/v1' },
      }),
    );
    await waitFor(() => h.index.resolveSrc(flow('10.1.3.2', 1, '10.9.9.9', 2, t)).kind === 'pod', 'the early pod');
    assert.equal(h.index.resolveSrc(flow('10.1.3.2', 1, '10.9.9.9', 2, t)).ownerKind, 'Job');
    h.server.create('jobs', job({ name: 'backup-29002', namespace: 'ops', cronJob: 'backup' }));
    await waitFor(() => h.index.resolveSrc(flow('10.1.3.2', 1, '10.9.9.9', 2, t)).ownerKind === 'CronJob', 'the late Job');
    ep = h.index.resolveSrc(flow('10.1.3.2', 1, '10.9.9.9', 2, t));
    assert.equal(ep.ownerName, 'backup');
  } finally {
    await h.close();
  }
});

test('recovers from dropped connections, 500s and 410 Gone with no stale entries', async () => {
  const h = await startHarness({
    server: { bookmarkIntervalMs: 50 },
    seed: (s) => {
      for (const n of ['a', 'b', 'c', 'd']) s.create('pods', pod({ name: `pod-${n}`, ip: `10.1.4.${n.charCodeAt(0) - 96}` }));
      s.create('pods', pod({ name: 'web-0', ip: '10.1.4.50', owner: { kind: 'StatefulSet', name: 'web' } }));
      s.create('nodes', node({ name: 'n1', internalIP: '10.0.0.1' }));
      s.create('services', service({ name: 'old-svc', clusterIP: '10.96.1.1' }));
    },
  });
  try {
    await h.source.ready;
    const at = () => Date.now() + 2 * MIN;
    const who = (ip: string) => srcName(h.index, flow(ip, 40000, '10.9.9.9', 80, at()));
    const restarts = () => Object.values(h.source.stats().kinds).reduce((n, k) => n + k.restarts, 0);
    await waitFor(() => h.source.stats().kinds.pods.events > 0, 'a bookmark');

    // Connections dropped mid-event; changes made meanwhile arrive on the resumed watch.
    h.server.dropWatches();
    h.server.create('pods', pod({ name: 'pod-e', ip: '10.1.4.5' }));
    h.server.remove('pods', 'default', 'pod-a');
    await waitFor(
      () => who('10.1.4.5') === 'pod:default/pod-e' && who('10.1.4.1') === 'unknown:unknown/unknown',
      'changes across a dropped watch',
    );
    await waitFor(() => h.server.activeWatches() === 4, 'every watch reopened');
    assert.ok(restarts() >= 4, `every informer restarted (${restarts()})`);
    const listsBefore = h.server.requests.list.pods;

    // A run of 500s on the watches and lists, after a drop: every informer retries until through.
    h.server.failNext(6, 500);
    h.server.dropWatches();
    h.server.update('pods', 'default', 'pod-b', (p) => {
      (p.metadata.labels as Record<string, string>).app = 'renamed';
    });
    await waitFor(() => h.index.resolveSrc(flow('10.1.4.2', 40000, '10.9.9.9', 80, at())).app === 'renamed', 'an update after 500s');
    await waitFor(() => h.server.activeWatches() === 4, 'every watch reopened after 500s');
    assert.equal(h.server.requests.list.pods, listsBefore, 'resumed from the resourceVersion, no re-list');
    const errors = Object.values(h.source.stats().kinds).reduce((n, k) => n + k.errors, 0);
    assert.ok(errors >= 14, `errors counted (${errors})`);

    // The API server goes away; while it is down objects change and its history is compacted,
    // so resuming gets 410 Gone and the informers must re-list. StatefulSet pod web-0 comes back
    // under its old name with a new UID and IP: the old UID must be deleted, not kept.
    await h.server.stop();
    h.server.remove('pods', 'default', 'pod-c');
    h.server.remove('pods', 'default', 'web-0');
    h.server.create('pods', pod({ name: 'web-0', ip: '10.1.4.51', owner: { kind: 'StatefulSet', name: 'web' } }));
    h.server.create('pods', pod({ name: 'pod-f', ip: '10.1.4.6' }));
    h.server.remove('services', 'default', 'old-svc');
    h.server.create('services', service({ name: 'new-svc', clusterIP: '10.96.1.2' }));
    h.server.remove('nodes', '', 'n1');
    h.server.create('nodes', node({ name: 'n2', internalIP: '10.0.0.2' }));
    h.server.expireHistory();
    h.server.goneNextList(1);
    await new Promise((r) => setTimeout(r, 100));
    await h.server.start();
    await waitFor(() => who('10.1.4.6') === 'pod:default/pod-f' && who('10.1.4.3') === 'unknown:unknown/unknown', 'the re-list after 410');
    await waitFor(
      () => who('10.96.1.2') === 'service:default/new-svc' && who('10.0.0.2') === 'node:node/n2',
      'services and nodes re-listed',
    );
    assert.equal(who('10.96.1.1'), 'unknown:unknown/unknown', 'the deleted service is gone');
    assert.equal(who('10.0.0.1'), 'unknown:unknown/unknown', 'the deleted node is gone');
    assert.equal(who('10.1.4.51'), 'pod:default/web-0');
    assert.equal(who('10.1.4.50'), 'unknown:unknown/unknown', 'the old web-0 UID no longer holds its IP');
    assert.equal(h.index.stats.pods, 5, 'pod-b, pod-d, pod-e, pod-f, web-0');
    assert.ok(h.source.stats().kinds.pods.lists >= 2, 're-listed');
    assert.equal(h.source.stats().kinds.pods.objects, 5);
    assert.equal(h.source.isReady, true);
  } finally {
    await h.close();
  }
});

test('a list that hangs is abandoned after the list timeout and retried', async () => {
  const h = await startHarness({
    source: { listTimeoutMs: 1000 },
    seed: (s) => {
      s.create('nodes', node({ name: 'n1', internalIP: '10.0.0.1' }));
      s.stallNext(1, { resource: 'nodes', verb: 'list' });
    },
  });
  try {
    await h.source.ready;
    const nodes = h.source.stats().kinds.nodes;
    // At least one: on a loaded machine a slow list may time out too, and is retried the same way.
    assert.ok(nodes.errors >= 1 && nodes.restarts >= 1);
    assert.match(nodes.lastError, /list nodes timed out/);
    assert.equal(h.index.stats.nodes, 1);
    assert.ok(h.server.requests.list.nodes >= 2);
  } finally {
    await h.close();
  }
});

test('a wrong token is retried with backoff and never becomes ready', async () => {
  const h = await startHarness({ token: 'not-the-token', source: { backoff: { initialMs: 10, maxMs: 40 } } });
  try {
    await waitFor(() => Object.values(h.source.stats().kinds).every((k) => k.restarts >= 3), 'several restarts');
    const st = h.source.stats();
    assert.equal(st.ready, false);
    for (const k of Object.values(st.kinds)) {
      assert.equal(k.ready, false);
      assert.match(k.lastError, /401/);
    }
    assert.ok(h.server.requests.unauthorized >= 12);
  } finally {
    await h.close();
  }
  const after = h.server.requests.unauthorized;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(h.server.requests.unauthorized, after, 'no retries after stop()');
});

test('a listener that throws is counted and never stops the informer', async () => {
  const server = await FakeApiServer.start();
  const index = new IdentityIndex();
  // The index, except that one pod makes it throw.
  const listener: InventoryListener = {
    upsertPod(p: SlimPod) {
      if (p.name === 'poison') throw new Error('listener bug');
      index.upsertPod(p);
    },
    deletePod: (uid, at) => index.deletePod(uid, at),
    upsertNode: (n) => index.upsertNode(n),
    deleteNode: (n) => index.deleteNode(n),
    upsertService: (svc) => index.upsertService(svc),
    deleteService: (uid) => index.deleteService(uid),
  };
  server.create('pods', pod({ name: 'poison', ip: '10.1.5.1' }));
  server.create('pods', pod({ name: 'fine-1', ip: '10.1.5.2' }));
  const source = new KubeSource({
    kubeConfig: loadKubeConfig({ kubeconfig: server.writeKubeconfig() }).kubeConfig,
    listener,
    backoff: { initialMs: 20, maxMs: 100 },
  });
  source.start();
  try {
    await source.ready;
    server.update('pods', 'default', 'poison', (p) => {
      (p.metadata.labels as Record<string, string>).x = '1';
    });
    server.create('pods', pod({ name: 'fine-2', ip: '10.1.5.3' }));
    await waitFor(() => index.lookup('10.1.5.3').name === 'fine-2', 'a pod after the failing ones');
    const st = source.stats().kinds.pods;
    assert.equal(st.listenerErrors, 2, 'the listed and the watched update of the poison pod');
    assert.equal(st.errors, 0);
    assert.equal(st.restarts, 0);
    assert.equal(index.lookup('10.1.5.2').name, 'fine-1');
  } finally {
    await source.stop();
    await server.close();
  }
});
