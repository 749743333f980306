/**
 * Under the per-exporter hash (--udp-spread auto) the pool runs no more receiving threads than
 * there are sources: one exporter keeps one thread however many --workers allows; more exporters
 * bring more threads, up to --workers, and a thread that joins decodes the exporters the kernel
 * moves to it from their next datagram, with templates sent only once, before it existed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import type { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { defaultRunConfig } from '../../src/config/run-options.ts';
import { storeFor } from '../../src/pipeline/store.ts';
import { WorkerPool } from '../../src/pipeline/threads/pool.ts';
import { IptNetflowExporter, type IptFlow } from '../../src/generate/ipt-netflow.ts';

const STARTING = 'more exporters than receiving threads: starting another';

test('threads start as exporters arrive, up to --workers, and the new ones decode with templates learnt before them', {
  timeout: 90_000,
}, async (t) => {
  const workers: Worker[] = [];
  const onWorker = (w: Worker) => workers.push(w);
  process.on('worker', onWorker);
  const cfg = {
    ...defaultRunConfig(),
    listen: { host: '127.0.0.1', port: 0 },
    workers: 3,
    udpSpread: 'auto' as const,
    mergeIntervalMs: 50,
  };
  const logs: { msg: string; fields: Record<string, unknown> }[] = [];
  const keep = (fields: Record<string, unknown>, msg: string) => logs.push({ msg, fields });
  const pool = new WorkerPool(cfg, storeFor(cfg), { info: keep, warn: keep, error: keep, limited: () => {} });
  const socks: Socket[] = [];
  t.after(async () => {
    process.off('worker', onWorker);
    for (const s of socks) s.close();
    await pool.stop();
  });
  const { port } = await pool.start(undefined);
  assert.equal(pool.size, 1, 'one thread until a second exporter shows up');

  const now = Date.now();
  const flows: IptFlow[] = Array.from({ length: 20 }, (_, i) => ({
    src4: 0x0af40001 + i,
    dst4: 0x0af40101,
    srcPort: 40000 + i,
    dstPort: 8080,
    proto: 6,
    packets: 2,
    bytes: 300 + i,
    startMs: now - 2000,
    endMs: now - 1000,
  }));
  // Each source is its own socket (its own port, so its own place in the kernel's hash) and sends
  // its template once, in its first datagram: no refresh would rescue data a thread cannot decode.
  const sources: { sock: Socket; exporter: IptNetflowExporter }[] = [];
  const addSource = async () => {
    const sock = createSocket('udp4');
    socks.push(sock);
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    sources.push({ sock, exporter: new IptNetflowExporter({ protocol: 9, refreshRate: 1e9, interfaces: [] }) });
  };
  let sent = 0;
  const sendRound = async () => {
    for (const { sock, exporter } of sources) {
      sock.send(exporter.pack(flows, 0, Date.now()).payload, port, '127.0.0.1');
      sent += flows.length;
      await new Promise((r) => setImmediate(r));
    }
  };
  const records = () => pool.reports().reduce((n, r) => n + r.pipeline.records, 0);
  const misses = () => pool.reports().reduce((n, r) => n + r.decoder.templateMisses, 0);
  const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms = 30_000) => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  // One exporter for many merges: still one thread.
  await addSource();
  for (let i = 0; i < 10; i++) {
    await sendRound();
    await new Promise((r) => setTimeout(r, 30));
  }
  await pool.flush();
  assert.equal(records(), sent);
  assert.equal(pool.size, 1, 'one exporter keeps one thread');
  assert.equal(workers.length, 1);

  // Many more sources, each with its template only in its first datagram, sent while one thread runs.
  for (let i = 0; i < 15; i++) await addSource();
  await sendRound();
  await waitFor('the threads --workers allows', () => pool.size === 3 && pool.threadIds.length === 3);
  await pool.flush(); // answered only once every thread runs
  assert.equal(workers.length, 3, 'never more than --workers');
  assert.deepEqual(
    logs.filter((l) => l.msg === STARTING).map((l) => l.fields.worker),
    [1, 2],
  );

  // The kernel now hashes the 16 sources over 3 sockets: the new threads decode what moved to them.
  const before = pool
    .reports()
    .filter((r) => r.thread > 0)
    .reduce((n, r) => n + r.receiver.datagrams, 0);
  for (let i = 0; i < 10; i++) await sendRound();
  await waitFor('every record counted', async () => {
    await pool.flush();
    return records() === sent;
  });
  assert.equal(misses(), 0, 'no data waited for a template');
  const moved =
    pool
      .reports()
      .filter((r) => r.thread > 0)
      .reduce((n, r) => n + r.receiver.datagrams, 0) - before;
  assert.ok(moved > 0, `the threads that joined received datagrams (${moved})`);
});
