/**
 * The worker pool over real threads and real loopback UDP: a receiving thread that dies is
 * restarted, keeps its counters, and starts from the templates the live threads hold, so the
 * exporter's data decodes at once instead of waiting (here: forever) for a template refresh.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { defaultRunConfig } from '../../src/config/run-options.ts';
import { storeFor } from '../../src/pipeline/store.ts';
import { WorkerPool } from '../../src/pipeline/threads/pool.ts';
import { IptNetflowExporter } from '../../src/generate/ipt-netflow.ts';
import { fanInFlows } from '../support/ipt-flows.ts';
import { loadNativeUdp } from '../../src/ingest/native-udp.ts';

// Datagrams dealt at random over the threads need the native addon; on Linux a missing build is a failure, not a skip.
const skip = process.platform !== 'linux' ? `datagram spread is Linux-only (${process.platform})` : false;

async function waitFor<T>(what: string, get: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a restarted receiving thread starts from the live threads' templates and keeps its counts", { skip, timeout: 60_000 }, async (t) => {
  assert.ok('addon' in loadNativeUdp(), 'the native addon is built');
  const workers: Worker[] = [];
  const onWorker = (w: Worker) => workers.push(w);
  process.on('worker', onWorker);
  const cfg = {
    ...defaultRunConfig(),
    listen: { host: '127.0.0.1', port: 0 },
    workers: 2,
    udpBackend: 'native' as const,
    udpSpread: 'datagram' as const,
    mergeIntervalMs: 50,
  };
  const logs: string[] = [];
  const log = {
    info: (_f: object, m: string) => logs.push(m),
    warn: (_f: object, m: string) => logs.push(m),
    error: (_f: object, m: string) => logs.push(m),
    limited: () => {},
  };
  const pool = new WorkerPool(cfg, storeFor(cfg), log);
  const sock = createSocket('udp4');
  t.after(async () => {
    process.off('worker', onWorker);
    sock.close();
    await pool.stop();
  });
  const { port } = await pool.start(undefined);
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');

  // Templates only in the first datagram: no refresh would rescue data that a thread cannot decode.
  const exporter = new IptNetflowExporter({ protocol: 9, refreshRate: 1e9, interfaces: [] });
  const flows = fanInFlows(27);
  const send = async () => {
    const { payload } = exporter.pack(flows, 0, Date.now());
    sock.send(payload, port, '127.0.0.1');
    await new Promise((r) => setImmediate(r));
  };
  const totals = () => {
    const rs = pool.reports();
    return {
      records: rs.reduce((n, r) => n + r.pipeline.records, 0),
      misses: rs.reduce((n, r) => n + r.decoder.templateMisses, 0),
    };
  };

  await send();
  // The thread that got the template shares it; wait until both threads hold it.
  await waitFor('both threads to hold the template', () => {
    const rs = pool.reports();
    return rs.length === 2 && rs.every((r) => r.decoder.templates === 1);
  });
  assert.equal(totals().records, 27);

  const dead = workers[1];
  await dead.terminate();
  await waitFor('the restart', () => pool.restarts === 1 && workers.length === 3);
  await pool.flush(); // answered only once the new thread runs
  const before = pool
    .reports()
    .filter((r) => r.thread === 1)
    .reduce((n, r) => n + r.receiver.datagrams, 0);

  const DATAGRAMS = 60;
  for (let i = 0; i < DATAGRAMS; i++) await send();
  const after = await waitFor('every record counted', async () => {
    await pool.flush();
    const s = totals();
    return s.records === 27 * (DATAGRAMS + 1) ? s : undefined;
  });
  assert.equal(after.misses, 0, 'no data waited for a template');
  const restarted =
    pool
      .reports()
      .filter((r) => r.thread === 1)
      .reduce((n, r) => n + r.receiver.datagrams, 0) - before;
  assert.ok(restarted > 0, `the restarted thread received datagrams (${restarted})`);
  assert.ok(logs.includes('receiving thread exited; restarting'));
});
