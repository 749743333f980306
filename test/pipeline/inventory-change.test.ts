import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyInventoryChange, type InventoryChange } from '../../src/pipeline/threads/protocol.ts';
import type { InventoryListener, SlimNode, SlimPod, SlimService } from '../../src/identify/inventory.ts';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { parseInventory, slimInventory } from '../../src/identify/static-inventory.ts';
import { pod as slimPod } from '../identify/helpers.ts';
import { appPodList } from '../support/kube-objects.ts';

test('each inventory change becomes the one listener call it names, with its arguments in order', () => {
  const calls: unknown[][] = [];
  const listener: InventoryListener = {
    upsertPod: (p) => calls.push(['upsertPod', p]),
    deletePod: (uid, atMs) => calls.push(['deletePod', uid, atMs]),
    upsertNode: (n) => calls.push(['upsertNode', n]),
    deleteNode: (name) => calls.push(['deleteNode', name]),
    upsertService: (s) => calls.push(['upsertService', s]),
    deleteService: (uid) => calls.push(['deleteService', uid]),
  };
  const pod = slimPod({ uid: 'p1', ips: ['10.0.0.1'], labels: { app: 'a' }, ports: [{ port: 80, protocol: 'TCP' }] });
  const node = { name: 'n1' } as SlimNode;
  const service = { uid: 's1' } as SlimService;
  const changes: InventoryChange[] = [
    { op: 'upsertPod', pod },
    { op: 'deletePod', uid: 'p1', atMs: 42 },
    { op: 'upsertNode', node },
    { op: 'deleteNode', name: 'n1' },
    { op: 'upsertService', service },
    { op: 'deleteService', uid: 's1' },
  ];
  // Through structured clone, as they cross to a receiving thread.
  for (const c of structuredClone(changes)) applyInventoryChange(listener, c);
  assert.deepEqual(calls, [
    ['upsertPod', pod],
    ['deletePod', 'p1', 42],
    ['upsertNode', node],
    ['deleteNode', 'n1'],
    ['upsertService', service],
    ['deleteService', 's1'],
  ]);
});

/**
 * Bytes a pod in a fresh thread's identity index (its own string and intern tables, as a receiving
 * thread has), for a batch of slim pods cloned across as the pool sends it.
 */
async function bytesPerPodInAThread(pods: readonly SlimPod[]): Promise<number> {
  const src = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { getHeapStatistics } = require('node:v8');
    (async () => {
      const { fullGc } = await import(${src('../../src/observe/full-gc.ts')});
      const { IdentityIndex } = await import(${src('../../src/identify/identity-index.ts')});
      const { applyInventoryChange } = await import(${src('../../src/pipeline/threads/protocol.ts')});
      const settled = async () => {
        await new Promise((r) => setTimeout(r, 0));
        fullGc();
        return getHeapStatistics().used_heap_size;
      };
      parentPort.once('message', async (changes) => {
        const before = await settled();
        const index = new IdentityIndex();
        for (const c of changes) applyInventoryChange(index, c);
        changes = undefined;
        const held = (await settled()) - before;
        parentPort.postMessage({ held, pods: index.stats.pods });
      });
      parentPort.postMessage('up');
    })();`;
  const w = new Worker(code, { eval: true });
  try {
    await once(w, 'message');
    w.postMessage(pods.map((pod) => ({ op: 'upsertPod', pod }) satisfies InventoryChange));
    const [{ held, pods: n }] = (await once(w, 'message')) as [{ held: number; pods: number }];
    assert.equal(n, pods.length);
    return held / n;
  } finally {
    await w.terminate();
  }
}

test("a pod costs a receiving thread's identity index at most 680 bytes of heap", { timeout: 60_000 }, async () => {
  // 4,000 pods, 10 replicas of each of 400 workloads, slimmed as the main thread slims them.
  const list = appPodList(4000, { namespaces: 16, nodes: ['node-0', 'node-1', 'node-2'] }) as {
    items: { metadata: { labels: Record<string, string> } }[];
  };
  list.items.forEach((item, k) => {
    item.metadata.labels = { app: `app-${Math.floor(k / 10)}`, 'pod-template-hash': `h${Math.floor(k / 10)}` };
  });
  const perPod = await bytesPerPodInAThread(slimInventory(parseInventory(JSON.stringify(list))).pods);
  // Kept as cloned (every string its own copy, most fields in a property array, a list per interned name): 762 bytes.
  assert.ok(perPod < 680, `${perPod.toFixed(0)} bytes a pod`);
});
