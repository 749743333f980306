/**
 * Hardening, against the real program over real loopback UDP and HTTP:
 * - the port is ours: a second instance exits 2 naming `listen`, a busy HTTP port exits 2 naming
 *   `http`, and a stranger that joins our UDP port later is counted and logged;
 * - a templates file whose directory cannot be written stops the start naming `templatesFile`;
 * - a receiving thread wedged in a loop: /healthz goes 503 (readyz stays 200), and shutdown
 *   terminates it without erasing the templates file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, startCollectorProcess, pollUntil, metricSum, type CollectorProcess } from '../support/run-collector.ts';
import { Decoder } from '../../src/decode/decoder.ts';
import type { SavedTemplates } from '../../src/decode/saved-state.ts';
import { IptNetflowExporter } from '../../src/generate/ipt-netflow.ts';
import { podAddress } from '../../src/generate/ipt-netflow-stream.ts';
import { templateCount } from '../../src/pipeline/templates.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));

async function bound(port = 0, reusePort = false): Promise<Socket> {
  const s = createSocket({ type: 'udp4', reusePort });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve());
  });
  return s;
}

test('the port is ours: a second instance exits 2 naming listen, a busy HTTP port names http, a late stranger is counted', {
  timeout: 90_000,
}, async (t) => {
  let c: CollectorProcess | undefined;
  const strangers: Socket[] = [];
  t.after(async () => {
    for (const s of strangers) s.close();
    if (c) await c.stop('SIGKILL');
  });
  c = await startCollectorProcess(['--inventory', INVENTORY]);
  const col = c;
  const httpPort = Number(new URL(col.httpUrl).port);

  const second = await runCli(['--listen', `127.0.0.1:${col.udpPort}`, '--http', '127.0.0.1:0', '--inventory', INVENTORY]);
  assert.equal(second.code, 2, `a second instance on the same UDP port exits 2 (stderr: ${second.stderr})`);
  assert.match(second.stderr, /listen/);
  assert.match(second.stderr, /EADDRINUSE/);

  const http = await runCli(['--listen', '127.0.0.1:0', '--http', `127.0.0.1:${httpPort}`, '--inventory', INVENTORY]);
  assert.equal(http.code, 2, `a busy HTTP port exits 2 (stderr: ${http.stderr})`);
  assert.match(http.stderr, /config: http:/);

  // Same user, SO_REUSEPORT: the kernel lets it in; we must notice.
  strangers.push(await bound(col.udpPort, true));
  const body = await pollUntil(async () => {
    const b = (await col.get('/metrics')).body;
    return metricSum(b, 'netflow_k8s_udp_port_strangers') === 1 ? b : undefined;
  }, 30_000);
  assert.equal(metricSum(body, 'netflow_k8s_udp_port_stranger_joins_total'), 1);
  await pollUntil(async () => col.logs().some((l) => l.level === 40 && String(l.msg).includes('joined our UDP port')), 15_000);
  assert.equal((await col.stop('SIGTERM')).code, 0);
  c = undefined;
});

test('a templates file in a directory that cannot be written stops the start naming templatesFile', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'run-tpl-dir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A regular file where the directory should be: not writable even for root.
  const notDir = join(dir, 'plain-file');
  writeFileSync(notDir, '');
  const r = await runCli([
    '--listen',
    '127.0.0.1:0',
    '--http',
    '127.0.0.1:0',
    '--inventory',
    INVENTORY,
    '--templates-file',
    join(notDir, 'templates.json'),
  ]);
  assert.equal(r.code, 2, `exit 2 (stderr: ${r.stderr})`);
  assert.match(r.stderr, /config: templatesFile:/);
  // A directory where the file should be: it could never be replaced.
  const r2 = await runCli(['--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--inventory', INVENTORY, '--templates-file', dir]);
  assert.equal(r2.code, 2, `exit 2 (stderr: ${r2.stderr})`);
  assert.match(r2.stderr, /config: templatesFile: .* is not a regular file/);
});

/** A templates file holding the ipt-netflow template of `exporters` exporters (ports 9000...). */
function templatesFor(exporters: number): SavedTemplates {
  const d = new Decoder(() => {});
  const exp = new IptNetflowExporter({ protocol: 9 });
  const { payload } = exp.pack(
    [{ src4: podAddress(1), dst4: podAddress(2), srcPort: 40000, dstPort: 80, proto: 6, packets: 1, bytes: 1, startMs: 0, endMs: 1 }],
    0,
    Date.now(),
  );
  for (let i = 0; i < exporters; i++) d.decode(payload, { address: '127.0.0.1', port: 9000 + i, key: `127.0.0.1|${9000 + i}` }, Date.now());
  return d.saveTemplates();
}

test('a wedged receiving thread: /healthz goes 503, and shutdown keeps the templates file', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'run-wedge-'));
  const file = join(dir, 'templates.json');
  let c: CollectorProcess | undefined;
  const s = await bound();
  t.after(async () => {
    s.close();
    if (c) await c.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const saved = templatesFor(5);
  const before = templateCount(saved);
  assert.ok(before >= 5);
  writeFileSync(file, JSON.stringify(saved));
  c = await startCollectorProcess(['--inventory', INVENTORY, '--templates-file', file, '--merge-interval', '100ms'], {
    env: { NETFLOW_K8S_TEST_WEDGE_THREAD: '0' },
  });
  const col = c;
  assert.equal((await col.get('/healthz')).status, 200);
  // Its first datagram wedges thread 0 in a loop that never yields.
  await new Promise<void>((resolve, reject) =>
    s.send(new Uint8Array([0, 9, 0, 0]), col.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
  );
  const sick = await pollUntil(
    async () => {
      const r = await col.get('/healthz');
      return r.status === 503 ? r : undefined;
    },
    40_000,
    500,
  );
  assert.match(sick.body, /receiving thread 0 stuck/);
  assert.equal((await col.get('/readyz')).status, 200, '/readyz stays as it was');

  const exit = await col.stop('SIGTERM');
  c = undefined;
  assert.equal(exit.code, 0, `a clean exit, no crash (signal ${exit.signal}; stderr: ${col.stderr()})`);
  const after = templateCount(JSON.parse(readFileSync(file, 'utf8')) as SavedTemplates);
  assert.equal(after, before, 'the templates file still holds every template');
  assert.ok(
    col.logs().some((l) => l.level === 40 && String(l.msg).includes('did not stop in time')),
    'the log says what could not be saved',
  );
});

test('HTTP limits: slowloris sockets are closed after the headers timeout, extra connections and unread pipelines are refused and counted', {
  timeout: 90_000,
}, async (t) => {
  const { connect } = await import('node:net');
  type Sock = import('node:net').Socket;
  const socks: Sock[] = [];
  let c: CollectorProcess | undefined;
  t.after(async () => {
    for (const s of socks) s.destroy();
    if (c) await c.stop('SIGKILL');
  });
  c = await startCollectorProcess([
    '--inventory',
    INVENTORY,
    '--http-headers-timeout',
    '1s',
    '--http-request-timeout',
    '2s',
    '--http-max-connections',
    '20',
  ]);
  const col = c;
  const url = new URL(col.httpUrl);
  const open = () =>
    new Promise<Sock>((resolve, reject) => {
      const s = connect(Number(url.port), url.hostname, () => resolve(s));
      s.once('error', reject);
      socks.push(s);
    });
  const closed = (s: Sock) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

  // Slowloris: headers that never end, a line every 300 ms.
  const slow = await Promise.all(Array.from({ length: 10 }, () => open()));
  const drips: NodeJS.Timeout[] = [];
  for (const s of slow) {
    s.on('error', () => {});
    s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    drips.push(
      setInterval(() => {
        if (!s.destroyed) s.write('X-Slow: 1\r\n');
      }, 300),
    );
  }
  const t0 = Date.now();
  await Promise.race([Promise.all(slow.map(closed)), new Promise((r) => setTimeout(r, 10_000))]);
  for (const d of drips) clearInterval(d);
  assert.ok(
    slow.every((s) => s.destroyed),
    `every slowloris socket closed (${slow.filter((s) => !s.destroyed).length} still open after ${Date.now() - t0} ms)`,
  );
  assert.ok(Date.now() - t0 < 5000, `closed within the timeout and one check (${Date.now() - t0} ms)`);

  // A client that pipelines scrapes and never reads the answers: closed once too many wait.
  const greedy = await open();
  greedy.on('error', () => {});
  greedy.pause();
  greedy.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200));
  await pollUntil(
    async () => metricSum((await col.get('/metrics')).body, 'netflow_k8s_http_connections_refused_total', { reason: 'pipelined' }) >= 1,
    10_000,
  );
  greedy.resume();
  await Promise.race([closed(greedy), new Promise((r) => setTimeout(r, 10_000))]);
  assert.ok(greedy.destroyed, 'the greedy socket was closed');

  // More connections than allowed: the extra ones are closed at once, and counted.
  const many = await Promise.all(Array.from({ length: 30 }, () => open().then((s) => (s.on('error', () => {}), s))));
  await Promise.race([Promise.all(many.slice(20).map(closed)), new Promise((r) => setTimeout(r, 5000))]);
  assert.ok(
    many.slice(20).every((s) => s.destroyed),
    'connections over the cap are closed',
  );
  for (const s of many) s.destroy();
  const body = await pollUntil(async () => {
    const b = (await col.get('/metrics').catch(() => undefined))?.body;
    return b && metricSum(b, 'netflow_k8s_http_connections_refused_total', { reason: 'max_connections' }) >= 10 ? b : undefined;
  }, 10_000);
  assert.ok(metricSum(body, 'netflow_k8s_http_connections_refused_total', { reason: 'pipelined' }) >= 1);
  assert.equal((await col.get('/healthz')).status, 200, 'the server still answers');
  assert.equal((await col.stop('SIGTERM')).code, 0);
  c = undefined;
});

test('an OTLP black hole: failures logged at most once per interval, the recovery once, and a failed final export at SIGTERM too', {
  timeout: 120_000,
}, async (t) => {
  const { createServer } = await import('node:net');
  const { OtlpReceiver } = await import('../support/otlp-receiver.ts');
  // Accepts connections and never says a word.
  const held: import('node:net').Socket[] = [];
  const hole = createServer((s) => {
    held.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => hole.listen(0, '127.0.0.1', () => r()));
  const port = (hole.address() as import('node:net').AddressInfo).port;
  let rx: Awaited<ReturnType<typeof OtlpReceiver.start>> | undefined;
  let c: CollectorProcess | undefined;
  t.after(async () => {
    if (c) await c.stop('SIGKILL');
    for (const s of held) s.destroy();
    hole.close();
    await rx?.stop();
  });
  const started = performance.now();
  c = await startCollectorProcess(['--inventory', INVENTORY, '--otlp-endpoint', `http://127.0.0.1:${port}`, '--otlp-interval', '1s']);
  const col = c;
  const lines = (msg: string) => col.logs().filter((l) => l.msg === msg);
  await pollUntil(
    async () => metricSum((await col.get('/metrics')).body, 'netflow_k8s_otlp_exports_total', { result: 'failure' }) >= 3,
    60_000,
    500,
  );
  const failed = lines('OTLP export failed');
  assert.ok(failed.length >= 1, 'the failure is logged');
  assert.ok(failed.length <= Math.ceil((performance.now() - started) / 1000) + 1, `at most one line per interval: ${failed.length}`);
  assert.equal(failed[0].level, 40);
  assert.equal(lines('OTLP export recovered').length, 0);

  // The endpoint comes back.
  for (const s of held) s.destroy();
  await new Promise<void>((r) => hole.close(() => r()));
  rx = await OtlpReceiver.start({ port });
  await pollUntil(async () => lines('OTLP export recovered').length === 1, 40_000, 500);
  assert.equal(lines('OTLP export recovered')[0].level, 40);
  assert.ok(Number(lines('OTLP export recovered')[0].failures) >= 3, 'it says how many failed');

  // Gone again at shutdown: the final export's failure is said too.
  await rx.stop();
  rx = undefined;
  assert.equal((await col.stop('SIGTERM')).code, 0);
  c = undefined;
  assert.ok(
    lines('final OTLP export failed').length + lines('final OTLP export did not finish in time').length >= 1,
    'the final export failure is logged',
  );
});

test("memory per thread: the receiving thread's heap and decoder state grow with the templates it holds", {
  timeout: 120_000,
}, async (t) => {
  const { encodeV9 } = await import('../../src/generate/netflow-v9.ts');
  let c: CollectorProcess | undefined;
  const s = await bound();
  t.after(async () => {
    s.close();
    if (c) await c.stop('SIGKILL');
  });
  // One exporter sends all 20,000 templates: the per-exporter caps are raised so they all stay.
  const caps = ['--max-templates-per-exporter', '65536', '--decoder-state-budget', String(1024 * 2 ** 20)];
  c = await startCollectorProcess(['--inventory', INVENTORY, '--merge-interval', '100ms', ...caps], {
    env: { NODE_OPTIONS: '--expose-gc' },
  });
  const col = c;
  const sample = async () => {
    const b = (await col.get('/metrics')).body;
    return {
      heap: metricSum(b, 'netflow_k8s_thread_memory_bytes', { thread: '0', kind: 'heap_used' }),
      mainHeap: metricSum(b, 'netflow_k8s_thread_memory_bytes', { thread: 'main', kind: 'heap_used' }),
      state: metricSum(b, 'netflow_k8s_decoder_state_bytes', { thread: '0' }),
      templates: metricSum(b, 'netflow_k8s_templates'),
    };
  };
  // Once ready, a thread gives back what its start left (settle-memory.ts): the base is a report
  // shipped after that (one every 100 ms), not the start's garbage a settle then frees.
  await pollUntil(async () => (col.logs().some((l) => l.msg === 'memory settled' && l.worker === 0) ? true : undefined), 20_000);
  await new Promise((r) => setTimeout(r, 500));
  const base = await pollUntil(async () => {
    const v = await sample();
    return v.heap > 0 ? v : undefined;
  }, 20_000);
  // 200 domains x 100 templates of 20 fields each: 20,000 templates the thread must keep.
  const fields = Array.from({ length: 20 }, (_, i) => ({ id: 1 + i, length: 4 }));
  const payloads: Uint8Array[] = [];
  for (let domain = 0; domain < 200; domain++) {
    for (let first = 256; first < 356; first += 25) {
      const templates = Array.from({ length: 25 }, (_, k) => ({ id: first + k, fields }));
      payloads.push(
        encodeV9({ sysUptimeMs: 1000, unixSecs: Math.floor(Date.now() / 1000), sequence: payloads.length, sourceId: domain }, [
          { kind: 'templates', templates },
        ]),
      );
    }
  }
  const { sendPaced } = await import('../support/run-collector.ts');
  await sendPaced(s, payloads, col.udpPort);
  // The gauges follow within a second or so of the templates' arrival.
  const grown = await pollUntil(
    async () => {
      const v = await sample();
      return v.templates >= 20_000 && v.state - base.state > 5 * 2 ** 20 ? v : undefined;
    },
    60_000,
    500,
  ).catch(async (err: unknown) => {
    throw new Error(`${String(err)}: last sample ${JSON.stringify(await sample())}`);
  });
  t.diagnostic(
    `thread 0 heap used ${(base.heap / 2 ** 20).toFixed(1)} -> ${(grown.heap / 2 ** 20).toFixed(1)} MiB, decoder state ${(base.state / 2 ** 20).toFixed(2)} -> ${(grown.state / 2 ** 20).toFixed(2)} MiB; main heap ${(base.mainHeap / 2 ** 20).toFixed(1)} -> ${(grown.mainHeap / 2 ** 20).toFixed(1)} MiB`,
  );
  assert.ok(grown.state - base.state > 5 * 2 ** 20, 'the decoder state counts the templates');
  assert.ok(grown.heap - base.heap > 2 * 2 ** 20, "the thread's own heap shows them (layouts are shared: a few hundred bytes a template)");
  assert.equal((await col.stop('SIGTERM')).code, 0);
  c = undefined;
});

test('data sets still waiting for their template at shutdown are counted dropped and logged', { timeout: 60_000 }, async (t) => {
  let c: CollectorProcess | undefined;
  const s = await bound();
  t.after(async () => {
    s.close();
    if (c) await c.stop('SIGKILL');
  });
  c = await startCollectorProcess(['--inventory', INVENTORY, '--merge-interval', '100ms']);
  const col = c;
  // ipt-netflow's second datagram carries no template: its data set is held, waiting.
  const exp = new IptNetflowExporter({ protocol: 9 });
  const flow = {
    src4: podAddress(1),
    dst4: podAddress(2),
    srcPort: 40000,
    dstPort: 80,
    proto: 6,
    packets: 1,
    bytes: 1,
    startMs: Date.now() - 2000,
    endMs: Date.now() - 1000,
  };
  exp.pack([flow], 0, Date.now());
  const { payload } = exp.pack([flow], 0, Date.now());
  await new Promise<void>((resolve, reject) => s.send(payload, col.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  await pollUntil(async () => metricSum((await col.get('/metrics')).body, 'netflow_k8s_held_sets_pending') === 1, 20_000);
  assert.equal((await col.stop('SIGTERM')).code, 0);
  c = undefined;
  const line = col.logs().find((l) => l.msg === 'data sets still waiting for their template dropped at shutdown');
  assert.ok(line, 'the shutdown says what it dropped');
  assert.equal(line.sets, 1);
  assert.equal(line.level, 40);
});

test('a receiving thread that keeps dying: /healthz goes 503 after 3 restarts', { timeout: 120_000 }, async (t) => {
  let c: CollectorProcess | undefined;
  const s = await bound();
  t.after(async () => {
    s.close();
    if (c) await c.stop('SIGKILL');
  });
  c = await startCollectorProcess(['--inventory', INVENTORY], { env: { NETFLOW_K8S_TEST_CRASH_THREAD: '0' } });
  const col = c;
  assert.equal((await col.get('/healthz')).status, 200);
  // Each incarnation dies on its first datagram; keep sending until three have.
  const sick = await pollUntil(
    async () => {
      await new Promise<void>((resolve) => s.send(new Uint8Array([0, 9, 0, 0]), col.udpPort, '127.0.0.1', () => resolve()));
      const r = await col.get('/healthz');
      return r.status === 503 ? r : undefined;
    },
    90_000,
    500,
  );
  assert.match(sick.body, /3 thread restarts/);
  const m = (await col.get('/metrics')).body;
  assert.ok(metricSum(m, 'netflow_k8s_receive_thread_restarts_total') >= 3);
  assert.equal((await col.stop('SIGTERM')).code, 0);
  c = undefined;
});
