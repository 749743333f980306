import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyInventoryChange, type InventoryChange } from '../../src/pipeline/threads/protocol.ts';
import type { InventoryListener, SlimNode, SlimService } from '../../src/identify/inventory.ts';
import { getHeapStatistics } from 'node:v8';
import { IdentityIndex } from '../../src/identify/identity-index.ts';
import { parseInventory, slimInventory } from '../../src/identify/static-inventory.ts';
import { fullGc } from '../../src/observe/full-gc.ts';
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

test("a pod costs a receiving thread's identity index at most 650 bytes of heap", async () => {
  // 4,000 replicas of 250 workloads, as the main thread slims them, cloned as they cross to a thread.
  const n = 4000;
  const inv = slimInventory(parseInventory(JSON.stringify(appPodList(n, { namespaces: 16, nodes: ['node-0', 'node-1', 'node-2'] }))));
  let changes: InventoryChange[] | undefined = structuredClone(inv.pods.map((pod) => ({ op: 'upsertPod' as const, pod })));
  const settled = async () => {
    await new Promise((r) => setTimeout(r, 0));
    fullGc();
  };
  await settled();
  const before = getHeapStatistics().used_heap_size;
  const index = new IdentityIndex();
  for (const c of changes) applyInventoryChange(index, c);
  changes = undefined;
  await settled();
  const perPod = (getHeapStatistics().used_heap_size - before) / n;
  assert.equal(index.stats.pods, n);
  // Kept as cloned (every string its own copy, most fields in a property array): 748 bytes.
  assert.ok(perPod < 650, `${perPod.toFixed(0)} bytes a pod`);
});
