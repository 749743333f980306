/**
 * Under the per-exporter hash (--udp-spread auto) the pool runs no more receiving threads than
 * there are sources: one exporter keeps one thread however many --workers allows; more exporters
 * bring more threads, up to --workers, and a thread that joins decodes the exporters the kernel
 * moves to it from their next datagram, with templates sent only once, before it existed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { IptNetflowExporter } from '../../src/generate/ipt-netflow.ts';
import { fanInFlows } from '../support/ipt-flows.ts';
import { pollUntil } from '../support/run-collector.ts';
import { watchedPool } from '../support/watched-pool.ts';

const STARTING = 'more exporters than receiving threads: starting another';

test('threads start as exporters arrive, up to --workers, and the new ones decode with templates learnt before them', {
  timeout: 90_000,
}, async (t) => {
  const logs: { msg: string; fields: Record<string, unknown> }[] = [];
  const keep = (fields: Record<string, unknown>, msg: string) => logs.push({ msg, fields });
  const { pool, workers } = await watchedPool(
    t,
    { workers: 3, udpSpread: 'auto', mergeIntervalMs: 50 },
    { info: keep, warn: keep, error: keep, limited: () => {} },
  );
  const socks: Socket[] = [];
  t.after(() => {
    for (const s of socks) s.close();
  });
  const port = pool.bound!.port;
  assert.equal(pool.size, 1, 'one thread until a second exporter shows up');

  const flows = fanInFlows(20);
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
  await pollUntil(async () => pool.size === 3 && pool.threadIds.length === 3, 30_000, 20); // the threads --workers allows
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
  await pollUntil(
    async () => {
      await pool.flush();
      return records() === sent;
    },
    30_000,
    20,
  );
  assert.equal(misses(), 0, 'no data waited for a template');
  const moved =
    pool
      .reports()
      .filter((r) => r.thread > 0)
      .reduce((n, r) => n + r.receiver.datagrams, 0) - before;
  assert.ok(moved > 0, `the threads that joined received datagrams (${moved})`);
});
