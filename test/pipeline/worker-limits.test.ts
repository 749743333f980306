/**
 * Each receiving thread runs with the V8 limits the pool names, so its young generation stays
 * small (a later change that drops `resourceLimits` would silently give each thread back 25 MiB).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchedPool } from '../support/watched-pool.ts';
import { WORKER_RESOURCE_LIMITS } from '../../src/pipeline/threads/worker-options.ts';

test("receiving threads start with the pool's V8 resource limits", { timeout: 60_000 }, async (t) => {
  const { workers } = await watchedPool(t, { workers: 2, udpSpread: 'datagram' }); // every thread from the start
  assert.equal(workers.length, 2);
  assert.ok(WORKER_RESOURCE_LIMITS.maxYoungGenerationSizeMb <= 8, 'the young generation stays small');
  for (const w of workers) {
    assert.equal(w.resourceLimits?.maxYoungGenerationSizeMb, WORKER_RESOURCE_LIMITS.maxYoungGenerationSizeMb);
    // V8 took the limit: the thread's whole heap is far below the default young generation alone (48 MiB).
    const h = await w.getHeapStatistics();
    assert.ok(h.total_heap_size < 48 * 2 ** 20, `heap ${h.total_heap_size}`);
  }
});
