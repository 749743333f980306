/**
 * Each receiving thread runs with the V8 limits the pool names, so its young generation stays
 * small (a later change that drops `resourceLimits` would silently give each thread back 25 MiB).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { defaultRunConfig } from '../../src/config/run-options.ts';
import { storeFor } from '../../src/pipeline/store.ts';
import { WorkerPool } from '../../src/pipeline/threads/pool.ts';
import { WORKER_RESOURCE_LIMITS } from '../../src/pipeline/threads/worker-options.ts';

test("receiving threads start with the pool's V8 resource limits", { timeout: 60_000 }, async (t) => {
  const workers: Worker[] = [];
  const onWorker = (w: Worker) => workers.push(w);
  process.on('worker', onWorker);
  const cfg = {
    ...defaultRunConfig(),
    listen: { host: '127.0.0.1', port: 0 },
    workers: 2,
    udpBackend: 'dgram' as const,
    udpSpread: 'exporter' as const,
  };
  const quiet = { info: () => {}, warn: () => {}, error: () => {}, limited: () => {} };
  const pool = new WorkerPool(cfg, storeFor(cfg), quiet);
  t.after(async () => {
    process.off('worker', onWorker);
    await pool.stop();
  });
  await pool.start(undefined);
  assert.equal(workers.length, 2);
  assert.ok(WORKER_RESOURCE_LIMITS.maxYoungGenerationSizeMb <= 8, 'the young generation stays small');
  for (const w of workers) {
    assert.equal(w.resourceLimits?.maxYoungGenerationSizeMb, WORKER_RESOURCE_LIMITS.maxYoungGenerationSizeMb);
    // V8 took the limit: the thread's whole heap is far below the default young generation alone (48 MiB).
    const h = await w.getHeapStatistics();
    assert.ok(h.total_heap_size < 48 * 2 ** 20, `heap ${h.total_heap_size}`);
  }
});
