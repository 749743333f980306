/**
 * A WorkerPool of receiving threads on a free loopback port (dgram backend; logs dropped unless
 * `log` takes them), with the Worker objects it started, for tests that look into the threads
 * themselves (their heap, their limits, how many run); stopped when the test ends.
 */
import type { TestContext } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { defaultRunConfig } from '../../src/config/run-options.ts';
import type { RunConfig } from '../../src/config/run-options.ts';
import { storeFor } from '../../src/pipeline/store.ts';
import { WorkerPool, type PoolLog } from '../../src/pipeline/threads/pool.ts';

export async function watchedPool(
  t: TestContext,
  overrides: Partial<RunConfig> = {},
  log: PoolLog = { info: () => {}, warn: () => {}, error: () => {}, limited: () => {} },
): Promise<{ pool: WorkerPool; workers: Worker[] }> {
  const workers: Worker[] = [];
  const onWorker = (w: Worker) => workers.push(w);
  process.on('worker', onWorker);
  const cfg: RunConfig = { ...defaultRunConfig(), listen: { host: '127.0.0.1', port: 0 }, udpBackend: 'dgram', ...overrides };
  const pool = new WorkerPool(cfg, storeFor(cfg), log);
  t.after(async () => {
    process.off('worker', onWorker);
    await pool.stop();
  });
  await pool.start(undefined);
  return { pool, workers };
}
