/**
 * The receive path of the real program: several receiving threads on one port whose counts merge
 * exactly; IPv4 and IPv6 on a dual-stack socket with IPv4-mapped senders unwrapped; the exporter
 * allowlist; templates kept across a restart so data without a template decodes at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCollectorProcess, parsePromText, pollUntil, sendPaced, type CollectorProcess, metricSum } from '../support/run-collector.ts';
import { IptNetflowExporter, type IptFlow } from '../../src/generate/ipt-netflow.ts';
import { iptNetflowStream } from '../../src/generate/ipt-netflow-stream.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));

const metric = metricSum;

async function udp(type: 'udp4' | 'udp6', host: string, port = 0): Promise<Socket> {
  const s = createSocket(type);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, host, () => resolve());
  });
  return s;
}
const send = (s: Socket, payload: Uint8Array, port: number, host: string) =>
  new Promise<void>((res, rej) => s.send(payload, port, host, (e) => (e ? rej(e) : res())));

function flowsBetween(src: string, dst: string, n: number, now = Date.now()): IptFlow[] {
  return Array.from({ length: n }, (_, i) => ({
    src4: parseIPv4(src),
    dst4: parseIPv4(dst),
    srcPort: 41000 + i,
    dstPort: 8080,
    proto: 6,
    packets: 3,
    bytes: 500 + i,
    startMs: now - 3000,
    endMs: now - 1000,
  }));
}

test('two receiving threads on one port: counts from many exporters merge exactly', { timeout: 120_000 }, async (t) => {
  let c: CollectorProcess | undefined;
  const socks: Socket[] = [];
  t.after(async () => {
    for (const s of socks) s.close();
    if (c) await c.stop('SIGKILL');
  });
  c = await startCollectorProcess(['--inventory', INVENTORY, '--workers', '2', '--merge-interval', '100ms']);
  const col = c;
  const N = 16;
  for (let i = 0; i < N; i++) socks.push(await udp('udp4', '127.0.0.1'));
  let records = 0;
  let bytes = 0;
  const byExporter: Uint8Array[][] = Array.from({ length: N }, () => []);
  for (const d of iptNetflowStream({ exporters: N, recordsPerDatagram: 27, addresses: 500, count: 3200, seed: 3 })) {
    byExporter[d.exporterIndex].push(d.payload.slice());
    records += d.records;
    bytes += d.bytes;
  }
  // The first datagram of each exporter reaches the one thread running; the 16 sources bring the second.
  await Promise.all(byExporter.map((list, i) => sendPaced(socks[i], list.slice(0, 1), col.udpPort)));
  await pollUntil(async () => col.logs().some((l) => l.msg === 'receiving thread ready' && l.worker === 1), 30_000);
  await Promise.all(byExporter.map((list, i) => sendPaced(socks[i], list.slice(1), col.udpPort)));
  const body = await pollUntil(async () => {
    const b = (await col.get('/metrics')).body;
    return metric(b, 'netflow_connection_count') === records ? b : undefined;
  }, 60_000);
  assert.equal(metric(body, 'netflow_connection_bytes'), bytes, 'bytes exact');
  assert.equal(metric(body, 'netflow_k8s_datagrams_total'), 3200);
  assert.equal(metric(body, 'netflow_k8s_receive_threads'), 2);
  // Both threads did work: the kernel spread the 16 exporters over the two sockets.
  const perThread = parsePromText(body).filter((s) => s.name === 'netflow_k8s_receive_thread_datagrams_total');
  assert.equal(perThread.length, 2);
  assert.ok(
    perThread.every((s) => s.value > 0),
    `both threads received datagrams: ${JSON.stringify(perThread.map((s) => s.value))}`,
  );
  assert.equal(
    perThread.reduce((a, s) => a + s.value, 0),
    3200,
  );
  // Each thread reports its longest task (it ran some: batches, shipments) and its long ones.
  const longest = parsePromText(body).filter((s) => s.name === 'netflow_k8s_receive_thread_longest_task_seconds');
  assert.equal(longest.length, 2);
  assert.ok(
    longest.every((s) => s.value > 0 && s.value < 60),
    JSON.stringify(longest),
  );
  assert.equal(parsePromText(body).filter((s) => s.name === 'netflow_k8s_receive_thread_long_tasks_total').length, 2);
  // A thread on the native path counts its socket reads: each one read at least a datagram.
  const native = parsePromText(body).filter((s) => s.name === 'netflow_k8s_udp_backend' && s.labels.backend === 'native');
  const batches = parsePromText(body).filter((s) => s.name === 'netflow_k8s_receive_thread_batches_total');
  assert.equal(batches.length, native.length);
  for (const b of batches) {
    const datagrams = perThread.find((s) => s.labels.thread === b.labels.thread)!.value;
    assert.ok(b.value >= 1 && b.value <= datagrams, `thread ${b.labels.thread}: ${b.value} batches for ${datagrams} datagrams`);
  }
  assert.equal((await col.stop('SIGTERM')).code, 0);
  c = undefined;
});

test('[::] takes IPv4 and IPv6 exporters; IPv4-mapped senders are named as IPv4', { timeout: 60_000 }, async (t) => {
  let c: CollectorProcess | undefined;
  const s4 = await udp('udp4', '127.0.0.1');
  let s6: Socket | undefined;
  t.after(async () => {
    s4.close();
    s6?.close();
    if (c) await c.stop('SIGKILL');
  });
  c = await startCollectorProcess(['--inventory', INVENTORY, '--listen', '[::]:0', '--merge-interval', '100ms']);
  const col = c;
  s6 = await udp('udp6', '::1');
  const e4 = new IptNetflowExporter({ protocol: 9 });
  const e6 = new IptNetflowExporter({ protocol: 9 });
  await send(s4, e4.pack(flowsBetween('10.244.1.10', '10.244.2.20', 10), 0, Date.now()).payload, col.udpPort, '127.0.0.1');
  await send(s6, e6.pack(flowsBetween('10.244.1.11', '10.244.2.20', 7), 0, Date.now()).payload, col.udpPort, '::1');
  const body = await pollUntil(async () => {
    const b = (await col.get('/metrics')).body;
    return metric(b, 'netflow_connection_count') === 17 ? b : undefined;
  }, 30_000);
  assert.equal(
    metric(body, 'netflow_k8s_datagrams_total', { exporter: '127.0.0.1' }),
    1,
    'the IPv4 sender is 127.0.0.1, not ::ffff:127.0.0.1',
  );
  assert.equal(metric(body, 'netflow_k8s_datagrams_total', { exporter: '::1' }), 1);
  assert.equal(metric(body, 'netflow_connection_count', { srchost: 'web', dsthost: 'svc1' }), 10);
  assert.equal(metric(body, 'netflow_connection_count', { srchost: 'checkout', dsthost: 'svc1' }), 7);
});

test('--allow-exporters: others are counted and dropped', { timeout: 60_000 }, async (t) => {
  let c: CollectorProcess | undefined;
  const ok = await udp('udp4', '127.0.0.1');
  const other = await udp('udp4', '127.0.0.2');
  t.after(async () => {
    ok.close();
    other.close();
    if (c) await c.stop('SIGKILL');
  });
  c = await startCollectorProcess(['--inventory', INVENTORY, '--allow-exporters', '127.0.0.1/32,10.0.0.0/8', '--merge-interval', '100ms']);
  const col = c;
  const e1 = new IptNetflowExporter({ protocol: 9 });
  const e2 = new IptNetflowExporter({ protocol: 9 });
  for (let i = 0; i < 5; i++) {
    await send(ok, e1.pack(flowsBetween('10.244.1.10', '10.244.2.20', 4), 0, Date.now()).payload, col.udpPort, '127.0.0.1');
    await send(other, e2.pack(flowsBetween('10.244.1.10', '10.244.2.20', 9), 0, Date.now()).payload, col.udpPort, '127.0.0.1');
  }
  const body = await pollUntil(async () => {
    const b = (await col.get('/metrics')).body;
    return metric(b, 'netflow_k8s_datagrams_denied_total') === 5 && metric(b, 'netflow_connection_count') === 20 ? b : undefined;
  }, 30_000);
  assert.equal(metric(body, 'netflow_k8s_datagrams_denied_total', { exporter: '127.0.0.2' }), 5);
  assert.equal(metric(body, 'netflow_k8s_datagrams_total', { exporter: '127.0.0.1' }), 5);
  assert.equal(metric(body, 'netflow_k8s_records_total', { version: '9' }), 20, 'nothing from the refused exporter was decoded');
});

test('templates survive a restart: data without a template decodes at once', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'run-templates-'));
  const file = join(dir, 'state', 'templates.json');
  let c: CollectorProcess | undefined;
  let s: Socket | undefined;
  t.after(async () => {
    s?.close();
    if (c) await c.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  c = await startCollectorProcess(['--inventory', INVENTORY, '--templates-file', file, '--merge-interval', '100ms']);
  s = await udp('udp4', '127.0.0.1');
  const port = s.address().port;
  const exp = new IptNetflowExporter({ protocol: 9 });
  const first = exp.pack(flowsBetween('10.244.1.10', '10.244.2.20', 20), 0, Date.now());
  const second = exp.pack(flowsBetween('10.244.1.11', '10.244.2.21', 25), 0, Date.now());
  // ipt-netflow sends the template with the first packet only, then every 20 packets.
  assert.ok(second.payload.length < first.payload.length, 'the second datagram carries no template');
  await send(s, first.payload, c.udpPort, '127.0.0.1');
  const col1 = c;
  await pollUntil(async () => metric((await col1.get('/metrics')).body, 'netflow_connection_count') === 20, 30_000);
  assert.equal((await c.stop('SIGTERM')).code, 0);
  c = undefined;
  assert.ok(existsSync(file), 'templates file written at shutdown');
  assert.match(readFileSync(file, 'utf8'), /netflow-k8s-templates/);

  c = await startCollectorProcess(['--inventory', INVENTORY, '--templates-file', file, '--merge-interval', '100ms']);
  const col2 = c;
  assert.ok(
    col2.logs().some((l) => l.msg === 'templates loaded' && Number(l.templates) > 0),
    'templates loaded at start',
  );
  // Same exporter (address and port) as before the restart.
  s.close();
  s = await udp('udp4', '127.0.0.1', port);
  await send(s, second.payload, col2.udpPort, '127.0.0.1');
  const body = await pollUntil(async () => {
    const b = (await col2.get('/metrics')).body;
    return metric(b, 'netflow_connection_count') === 25 ? b : undefined;
  }, 30_000);
  assert.equal(metric(body, 'netflow_k8s_template_misses_total'), 0, 'no wait for a template');
  assert.equal(metric(body, 'netflow_connection_count', { srchost: 'checkout', dsthost: 'svc2' }), 25);
});

test('both nodes report a pod-to-pod flow: --dedup auto counts it once, from the source node; off counts both', {
  timeout: 90_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'run-dedup-'));
  const a = await udp('udp4', '127.0.0.1');
  const b = await udp('udp4', '127.0.0.2');
  const running: CollectorProcess[] = [];
  t.after(async () => {
    a.close();
    b.close();
    for (const c of running) await c.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  // The exporters are the nodes: node-a is 127.0.0.1, node-b 127.0.0.2.
  const pod = (name: string, ip: string, nodeName: string, app: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, labels: { app }, creationTimestamp: '2020-01-01T00:00:00Z' },
    spec: { nodeName, containers: [{ name: 'c', image: 'x', ports: app === 'svc1' ? [{ containerPort: 8080 }] : [] }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], startTime: '2020-01-01T00:00:00Z' },
  });
  const inv = join(dir, 'inventory.json');
  writeFileSync(
    inv,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: 'node-a' },
          status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] },
        },
        {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: 'node-b' },
          status: { addresses: [{ type: 'InternalIP', address: '127.0.0.2' }] },
        },
        pod('web-0', '10.244.1.10', 'node-a', 'web'),
        pod('svc1-0', '10.244.2.20', 'node-b', 'svc1'),
      ],
    }),
  );
  for (const mode of ['auto', 'off']) {
    const c = await startCollectorProcess(['--inventory', inv, '--dedup', mode, '--merge-interval', '100ms']);
    running.push(c);
    const now = Date.now();
    const request = flowsBetween('10.244.1.10', '10.244.2.20', 10, now);
    const reply = request.map((f) => ({ ...f, src4: f.dst4, dst4: f.src4, srcPort: f.dstPort, dstPort: f.srcPort, bytes: f.bytes * 10 }));
    // Each node's exporter sees both halves of the conversation (FORWARD chain on both nodes).
    for (const [sock, e] of [
      [a, new IptNetflowExporter()],
      [b, new IptNetflowExporter()],
    ] as const) {
      await send(sock, e.pack([...request, ...reply], 0, now).payload, c.udpPort, '127.0.0.1');
    }
    const want = mode === 'auto' ? 20 : 40;
    const body = await pollUntil(async () => {
      const m = (await c.get('/metrics')).body;
      return metric(m, 'netflow_k8s_flow_records_total') === 40 && metric(m, 'netflow_connection_count') === want ? m : undefined;
    }, 30_000);
    const n = mode === 'auto' ? 1 : 2;
    assert.equal(metric(body, 'netflow_connection_count', { srchost: 'web', dsthost: 'svc1' }), 10 * n, `${mode}: requests`);
    assert.equal(metric(body, 'netflow_connection_count', { srchost: 'svc1', dsthost: 'web' }), 10 * n, `${mode}: replies`);
    assert.equal(
      metric(body, 'netflow_connection_bytes', { srchost: 'web', dsthost: 'svc1' }),
      request.reduce((s, f) => s + f.bytes, 0) * n,
    );
    assert.equal(metric(body, 'netflow_k8s_dedup_skipped_total'), mode === 'auto' ? 20 : 0);
    // Only each datagram's first record, whichever thread it reached, asked the identity index.
    assert.ok(metric(body, 'netflow_k8s_address_memo_hits_total')! >= 38, 'the rest were named from the address memo');
    await c.stop('SIGTERM');
    running.pop();
  }
});
