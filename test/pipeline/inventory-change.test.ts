import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyInventoryChange, type InventoryChange } from '../../src/pipeline/threads/protocol.ts';
import type { InventoryListener, SlimNode, SlimPod, SlimService } from '../../src/identify/inventory.ts';

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
  const pod = { uid: 'p1' } as SlimPod;
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
