/**
 * A WorkerPool of receiving threads on a free loopback port (dgram backend, logs dropped), with
 * the Worker objects it started, for tests that look into the threads themselves (their heap,
 * their limits); stopped when the test ends.
 */
import type { TestContext } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { defaultRunConfig } from '../../src/config/run-options.ts';
import type { RunConfig } from '../../src/config/run-options.ts';
import { storeFor } from '../../src/pipeline/store.ts';
import { WorkerPool } from '../../src/pipeline/threads/pool.ts';

export async function watchedPool(t: TestContext, overrides: Partial<RunConfig> = {}): Promise<{ pool: WorkerPool; workers: Worker[] }> {
  const workers: Worker[] = [];
  const onWorker = (w: Worker) => workers.push(w);
  process.on('worker', onWorker);
  const cfg: RunConfig = { ...defaultRunConfig(), listen: { host: '127.0.0.1', port: 0 }, udpBackend: 'dgram', ...overrides };
  const quiet = { info: () => {}, warn: () => {}, error: () => {}, limited: () => {} };
  const pool = new WorkerPool(cfg, storeFor(cfg), quiet);
  t.after(async () => {
    process.off('worker', onWorker);
    await pool.stop();
  });
  await pool.start(undefined);
  return { pool, workers };
}
