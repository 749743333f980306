import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { IdentityIndex } from '../../src/identify/identity-index.ts';
import { heapAfterGc } from '../support/heap.ts';
import { InventoryFileError, StaticInventory, parseInventory } from '../../src/identify/static-inventory.ts';
import { flow } from './helpers.ts';

const at = (s: string): number => Date.parse(s);

function podObj(o: {
  uid: string;
  name: string;
  ip: string;
  phase?: string;
  start: string;
  finished?: string;
  labels?: Record<string, string>;
  owner?: { kind: string; name: string; uid: string };
  ports?: number[];
  hostNetwork?: boolean;
}): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      uid: o.uid,
      name: o.name,
      namespace: 'batch',
      labels: o.labels ?? {},
      creationTimestamp: o.start,
      ...(o.owner
        ? {
            ownerReferences: [
              {
                apiVersion: 'batch/v1',
                kind: o.owner.kind,
                name: o.owner.name,
                uid: o.owner.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      nodeName: 'worker-1',
      hostNetwork: o.hostNetwork ?? false,
      containers: [{ name: 'main', image: 'busybox', ports: (o.ports ?? []).map((p) => ({ containerPort: p, protocol: 'TCP' })) }],
    },
    status: {
      phase: o.phase ?? 'Running',
      podIP: o.ip,
      podIPs: [{ ip: o.ip }],
      startTime: o.start,
      containerStatuses: [
        {
          name: 'main',
          ready: !o.finished,
          restartCount: 0,
          image: 'busybox',
          imageID: '',
          state: o.finished
            ? { terminated: { exitCode: 0, reason: 'Completed', startedAt: o.start, finishedAt: o.finished } }
            : { running: { startedAt: o.start } },
        },
      ],
    },
  };
}

/** What `kubectl get pods,nodes,services,jobs -A -o json` prints for a small cluster. */
function clusterList(extraPods: object[] = []): object {
  return {
    apiVersion: 'v1',
    kind: 'List',
    metadata: { resourceVersion: '' },
    items: [
      podObj({
        uid: 'job-pod',
        name: 'nightly-report-29100000-x7k2p',
        ip: '10.244.1.23',
        phase: 'Succeeded',
        start: '2026-03-01T02:00:00Z',
        finished: '2026-03-01T02:07:30Z',
        owner: { kind: 'Job', name: 'nightly-report-29100000', uid: 'job-uid' },
      }),
      podObj({
        uid: 'api-pod',
        name: 'api-5f7c9d-abcde',
        ip: '10.244.1.23',
        start: '2026-03-01T02:08:10Z',
        labels: { app: 'api', 'pod-template-hash': '5f7c9d' },
        owner: { kind: 'ReplicaSet', name: 'api-5f7c9d', uid: 'rs-uid' },
        ports: [8080],
      }),
      podObj({
        uid: 'plain-job-pod',
        name: 'migrate-29100000-q1',
        ip: '10.244.1.30',
        start: '2026-03-01T02:00:00Z',
        owner: { kind: 'Job', name: 'migrate-29100000', uid: 'job2-uid' },
      }),
      ...extraPods,
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'worker-1', uid: 'n1' },
        status: {
          addresses: [
            { type: 'InternalIP', address: '192.168.10.11' },
            { type: 'Hostname', address: 'worker-1' },
          ],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'api', namespace: 'batch', uid: 'svc-uid' },
        spec: {
          clusterIP: '10.96.5.5',
          clusterIPs: ['10.96.5.5'],
          selector: { app: 'api' },
          ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
        },
      },
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: 'nightly-report-29100000',
          namespace: 'batch',
          uid: 'job-uid',
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly-report', uid: 'cj-uid', controller: true }],
        },
      },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate-29100000', namespace: 'batch', uid: 'job2-uid' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ignored', namespace: 'batch' } },
    ],
  };
}

function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'inventory-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a completed Job pod and a running pod hold the same IP: flows after the Job finished go to the running pod', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'inventory.json');
    writeFileSync(file, JSON.stringify(clusterList()));
    const idx = new IdentityIndex();
    const inv = new StaticInventory(file, idx, { watch: false });
    assert.equal(idx.ready, false);
    const change = inv.load();
    assert.equal(idx.ready, true);
    assert.deepEqual(change, { pods: 3, nodes: 1, services: 1, upserted: 5, deleted: 0 });

    const during = flow('10.244.1.23', 40123, '10.96.5.5', 80, at('2026-03-01T02:05:00Z'));
    const job = idx.resolveSrc(during);
    assert.deepEqual([job.kind, job.app, job.ownerKind, job.ownerName], ['pod', 'nightly-report', 'CronJob', 'nightly-report']);
    assert.equal(idx.resolveDst(during).kind, 'service');
    const after = flow('10.244.1.23', 8080, '192.168.10.11', 51000, at('2026-03-01T02:30:00Z'));
    const api = idx.resolveSrc(after);
    assert.deepEqual([api.name, api.app, api.ownerKind, api.ownerName], ['api-5f7c9d-abcde', 'api', 'Deployment', 'api']);
    assert.equal(idx.resolveDst(after).app, 'worker-1');
    assert.equal(idx.role(after, api, idx.resolveDst(after)), 'src-server');
    // Much later, still the running pod: the completed pod never takes the address back.
    assert.equal(idx.lookup('10.244.1.23', { t: at('2026-03-09T00:00:00Z') }).app, 'api');
    // A Job that no CronJob owns stays a Job.
    const plain = idx.lookup('10.244.1.30', { t: at('2026-03-01T03:00:00Z') });
    assert.deepEqual([plain.app, plain.ownerKind], ['migrate-29100000', 'Job']);
  } finally {
    cleanup();
  }
});

test('YAML and multi-document YAML load the same; bad files are errors that name the file', () => {
  const { dir, cleanup } = tempDir();
  try {
    const list = clusterList() as { items: object[] };
    const yamlFile = join(dir, 'inv.yaml');
    writeFileSync(yamlFile, list.items.map((i) => stringify(i)).join('---\n'));
    const idx = new IdentityIndex();
    new StaticInventory(yamlFile, idx, { watch: false }).load();
    assert.equal(idx.lookup('10.244.1.23', { t: at('2026-03-01T02:05:00Z') }).ownerKind, 'CronJob');
    assert.equal(idx.stats.pods, 3);

    const parsed = parseInventory(stringify(list));
    assert.deepEqual(
      [parsed.pods.length, parsed.nodes.length, parsed.services.length, parsed.jobs.length, parsed.ignored],
      [3, 1, 1, 2, 1],
    );
    // A typed list (as the API returns it) implies its items' kind.
    assert.equal(parseInventory(JSON.stringify({ kind: 'PodList', items: [{ metadata: { name: 'a' } }] })).pods.length, 1);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"kind": "List", "items": [');
    assert.throws(
      () => new StaticInventory(bad, new IdentityIndex(), { watch: false }).load(),
      (e: Error) => e instanceof InventoryFileError && e.message.includes(bad) && /JSON/.test(e.message),
    );
    writeFileSync(bad, 'kind: List\nitems: {}\n');
    assert.throws(
      () => new StaticInventory(bad, new IdentityIndex(), { watch: false }).load(),
      (e: Error) => e.message.includes(bad) && /items/.test(e.message),
    );
    writeFileSync(bad, '- metadata: {name: x}\n');
    assert.throws(() => new StaticInventory(bad, new IdentityIndex(), { watch: false }).load(), /without a kind/);
    const missing = join(dir, 'missing.json');
    assert.throws(
      () => new StaticInventory(missing, new IdentityIndex(), { watch: false }).load(),
      (e: Error) => e.message.includes(missing),
    );
  } finally {
    cleanup();
  }
});

test('reload diffs: vanished pods are deleted by UID (kept for late flows), unchanged ones not resent, a bad reload keeps the old inventory', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'inventory.json');
    writeFileSync(file, JSON.stringify(clusterList()));
    let now = at('2026-03-01T03:00:00Z');
    const idx = new IdentityIndex({ now: () => now });
    const errors: Error[] = [];
    const inv = new StaticInventory(file, idx, { watch: false, now: () => now, onError: (e) => errors.push(e) });
    inv.load();
    assert.equal(inv.reloadIfChanged(), false, 'unchanged file: no reload');

    // The api pod goes away and a new pod (new UID) takes its address; nothing else changes.
    now = at('2026-03-01T03:10:00Z');
    const list = clusterList([
      podObj({ uid: 'api-pod-2', name: 'api-5f7c9d-fghij', ip: '10.244.1.23', start: '2026-03-01T03:10:30Z', labels: { app: 'api2' } }),
    ]) as { items: { metadata: { uid?: string } }[] };
    list.items = list.items.filter((i) => i.metadata.uid !== 'api-pod');
    writeFileSync(file, JSON.stringify(list, null, 1));
    assert.equal(inv.reloadIfChanged(), true);
    assert.equal(inv.stats.loads, 2);
    assert.equal(idx.stats.pods, 3);
    assert.equal(idx.stats.podsRetained, 1);
    assert.equal(idx.lookup('10.244.1.23', { t: at('2026-03-01T03:05:00Z') }).app, 'api', 'late flow from the deleted pod');
    assert.equal(idx.lookup('10.244.1.23', { t: at('2026-03-01T03:20:00Z') }).app, 'api2');

    // A broken file: counted, reported once, the inventory stays.
    writeFileSync(file, '{ this is not json');
    assert.equal(inv.reloadIfChanged(), false);
    assert.equal(inv.reloadIfChanged(), false);
    assert.equal(inv.stats.errors, 1);
    assert.equal(errors.length, 1);
    assert.ok(errors[0].message.includes(file));
    assert.equal(idx.lookup('10.244.1.23', { t: at('2026-03-01T03:20:00Z') }).app, 'api2');
    assert.equal(idx.stats.pods, 3);
    // Gone for a while: reported once, the inventory stays.
    rmSync(file);
    assert.equal(inv.reloadIfChanged(), false);
    assert.equal(inv.reloadIfChanged(), false);
    assert.equal(inv.stats.errors, 2);
    assert.equal(idx.stats.pods, 3);
    // Fixed again: back to normal.
    writeFileSync(file, JSON.stringify(clusterList()));
    assert.equal(inv.reloadIfChanged(), true);
    assert.equal(idx.lookup('10.96.5.5').app, 'api');
  } finally {
    cleanup();
  }
});

test('the file is watched: a change (or a replacement by rename) is picked up by itself', async () => {
  const { dir, cleanup } = tempDir();
  const file = join(dir, 'inventory.json');
  writeFileSync(file, JSON.stringify(clusterList()));
  const idx = new IdentityIndex();
  const inv = new StaticInventory(file, idx, { debounceMs: 20, pollMs: 300 });
  try {
    inv.load();
    inv.start();
    const svc = (): string => idx.lookup('10.96.5.6').app;
    assert.equal(svc(), 'unknown');
    const list = clusterList([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'reports', namespace: 'batch', uid: 'svc2' },
        spec: { clusterIP: '10.96.5.6', ports: [{ port: 80 }] },
      },
    ]);
    writeFileSync(file, JSON.stringify(list));
    await until(() => svc() === 'reports', 'the edited file to load');
    // Replaced by rename, as editors and ConfigMap volumes do.
    const tmp = join(dir, '.inventory.tmp');
    writeFileSync(tmp, JSON.stringify(clusterList()));
    renameSync(tmp, file);
    await until(() => svc() === 'unknown', 'the replaced file to load');
    assert.ok(inv.stats.loads >= 3);
    assert.equal(inv.stats.errors, 0);
  } finally {
    inv.stop();
    cleanup();
  }
});

test('what a load keeps to tell a reload what changed is small: 4,000 pods', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'inventory.json');
    const pods = Array.from({ length: 4000 }, (_, i) =>
      podObj({
        uid: `uid-${i}`,
        name: `checkout-7d9f8c6b5-${i}`,
        ip: `10.244.${i >> 8}.${i & 255}`,
        start: '2026-03-01T02:00:00Z',
        labels: { app: `checkout-${i % 50}`, 'pod-template-hash': '7d9f8c6b5' },
        owner: { kind: 'ReplicaSet', name: `checkout-${i % 50}-7d9f8c6b5`, uid: `rs-${i % 50}` },
        ports: [8080],
      }),
    );
    writeFileSync(file, JSON.stringify(clusterList(pods)));
    const ignore = () => {};
    const listener = {
      upsertPod: ignore,
      deletePod: ignore,
      upsertNode: ignore,
      deleteNode: ignore,
      upsertService: ignore,
      deleteService: ignore,
    };
    const inv = new StaticInventory(file, listener, { watch: false });
    const before = heapAfterGc();
    assert.equal(inv.load().pods, 4003);
    const perPod = (heapAfterGc() - before) / 4003;
    // A digest and a Map entry: about 110 bytes. The pod's JSON was 460.
    assert.ok(perPod < 200, `${perPod.toFixed(0)} bytes per pod`);
    writeFileSync(file, JSON.stringify(clusterList(pods.slice(1))));
    assert.equal(inv.reloadIfChanged(), true);
  } finally {
    cleanup();
  }
});
