/**
 * Before the collector says ready it gives back what its start left: every receiving thread collects
 * (its young generation, grown to its limit by the inventory's replay, back to its least; the
 * replay's and the warm-up's garbage), and so does the main thread (the inventory file's parse).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createSocket } from 'node:dgram';
import { getHeapStatistics } from 'node:v8';
import { defaultRunConfig } from '../../src/config/run-options.ts';
import { storeFor } from '../../src/pipeline/store.ts';
import { WorkerPool } from '../../src/pipeline/threads/pool.ts';
import { startCollector } from '../../src/pipeline/collector.ts';
import { createLogger } from '../../src/observe/log.ts';
import { fullGc } from '../../src/observe/full-gc.ts';
import { pod } from '../identify/helpers.ts';
import { watchedPool } from '../support/watched-pool.ts';
import { appPodList } from '../support/kube-objects.ts';

const MiB = 2 ** 20;
const turn = () => new Promise((r) => setImmediate(r));

test('receiving threads told to settle give back their young generation and their garbage', { timeout: 60_000 }, async (t) => {
  const { pool, workers } = await watchedPool(t, { workers: 2, udpSpread: 'datagram' }); // every thread from the start
  for (let k = 0; k < 4000; k++) pool.upsertPod(pod({ uid: `u-${k}`, ips: [`10.1.${k >> 8}.${k & 255}`], nodeName: `node-${k % 4}` }));
  while (pool.threadsBehindInventory() > 0) await turn();
  await pool.flush();
  const before = await Promise.all(workers.map((w) => w.getHeapStatistics()));
  await pool.settle();
  const after = await Promise.all(workers.map((w) => w.getHeapStatistics()));
  for (let i = 0; i < workers.length; i++) {
    const gave = (before[i].total_heap_size - after[i].total_heap_size) / MiB;
    assert.ok(gave > 2, `thread ${i} gave back ${gave.toFixed(1)} MiB of ${(before[i].total_heap_size / MiB).toFixed(1)}`);
  }
});

test('a receiving thread with traffic does not settle: the stall would cost datagrams', { timeout: 60_000 }, async (t) => {
  const cfg = { ...defaultRunConfig(), listen: { host: '127.0.0.1', port: 0 }, workers: 1, udpBackend: 'dgram' as const };
  const said: string[] = [];
  const log = { info: (_f: object, m: string) => said.push(m), warn: () => {}, error: () => {}, limited: () => {} };
  const pool = new WorkerPool(cfg, storeFor(cfg), log);
  const sock = createSocket('udp4');
  t.after(async () => {
    sock.close();
    await pool.stop();
  });
  const bound = await pool.start(undefined);
  // Any datagram is traffic (these are not NetFlow and are counted as such); over a second of it,
  // so the thread's once-a-second look sees it.
  for (let i = 0; i < 15; i++) {
    sock.send(Buffer.from('not netflow'), bound.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
  }
  await pool.settle();
  assert.ok(said.includes('settle skipped: traffic is flowing'), said.join('; '));
  assert.ok(!said.includes('memory settled'));
});

test('the collector says ready only once every thread and the main thread settled: a full collection then frees next to nothing', {
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'settle-'));
  const inv = join(dir, 'inventory.json');
  writeFileSync(inv, JSON.stringify(appPodList(4000, { namespaces: 16, nodes: ['node-0', 'node-1'] })));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const cfg = {
    ...defaultRunConfig(),
    listen: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    workers: 1,
    udpBackend: 'dgram' as const,
    udpSpread: 'exporter' as const,
    inventory: inv,
  };
  const c = await startCollector(cfg, { logger: createLogger('debug', sink) });
  t.after(async () => {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // Traffic may start the moment /readyz answers 200; a settle after it met the first burst.
  while (!c.ready()) await new Promise((r) => setTimeout(r, 5));
  assert.ok(
    lines.some((l) => l.includes('"memory settled"')),
    'the receiving thread settled before ready',
  );
  assert.ok(
    lines.some((l) => l.includes('memory settled after start')),
    'the main thread settled before ready',
  );
  const left = getHeapStatistics().used_heap_size;
  fullGc();
  const freed = (left - getHeapStatistics().used_heap_size) / MiB;
  // Without it, parsing the 4,000 pods' file alone left several MiB for the first collection under load.
  assert.ok(freed < 1, `a full collection after the settle still freed ${freed.toFixed(1)} MiB`);
});
