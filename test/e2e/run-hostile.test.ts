/**
 * Hostile exporters on loopback against the real program, while a legitimate ipt-netflow exporter
 * keeps sending: a template flood (v9 and IPFIX domains x 4,096 templates, from one session and
 * from hundreds), huge templates (16,368 fields each), and a held-data flood (datagrams full of
 * tiny data sets for templates that never come, thousands of new exporters). Issue 12 measured
 * such floods taking the collector from 115 MiB to gigabytes and losing 10-25% of the good
 * exporter's records. Here RSS stays within 150 MiB of its start, every cap is counted, the good
 * exporter loses no record, and SIGTERM ends the process cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startCollectorProcess, pollUntil, metricSum, type CollectorProcess } from '../support/run-collector.ts';
import { socketDrops } from '../../src/observe/udp-drops.ts';
import { IptNetflowExporter, type IptFlow } from '../../src/generate/ipt-netflow.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';
import { heldFlood, hugeTemplate, templateFlood } from '../../src/generate/hostile.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));

async function socketOn(address: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  return s;
}

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

test('hostile floods: decoder state stays bounded, every cap is counted, the good exporter loses nothing', {
  timeout: 300_000,
}, async (t) => {
  let c: CollectorProcess | undefined;
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.close();
    if (c) await c.stop('SIGKILL');
  });
  // --max-exporters below what the budget holds of the held flood, so that cap bites too.
  c = await startCollectorProcess(['--inventory', INVENTORY, '--merge-interval', '100ms', '--max-exporters', '500']);
  const col = c;
  const pid = col.child.pid!;
  await pollUntil(async () => (await col.get('/readyz')).status === 200, 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  const rssStart = rssMiB(pid);
  let rssMax = rssStart;

  // Paced on the collector's receive queue, so the kernel drops nothing and the test measures us.
  const send = async (s: Socket, payload: Uint8Array): Promise<void> => {
    await new Promise<void>((resolve, reject) => s.send(payload, col.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    for (let waited = 0; (socketDrops(col.udpPort)?.rxQueue ?? 0) > 1 << 20 && waited < 30_000; waited += 5)
      await new Promise((r) => setTimeout(r, 5));
  };

  const good = await socketOn('127.0.0.1');
  sockets.push(good);
  const exp = new IptNetflowExporter({ protocol: 9 });
  const web = parseIPv4('10.244.1.10');
  const svc1 = parseIPv4('10.244.2.20');
  let goodRecords = 0;
  let goodBytes = 0;
  let round = 0;
  const sendGood = async (): Promise<void> => {
    const now = Date.now();
    const flows: IptFlow[] = Array.from({ length: 20 }, (_, i) => ({
      src4: web,
      dst4: svc1,
      srcPort: 40_000 + i,
      dstPort: 8080,
      proto: 6,
      packets: 1 + round,
      bytes: 100 + i,
      startMs: now - 5000,
      endMs: now - 1000,
    }));
    const { payload, taken } = exp.pack(flows, 0, now);
    for (let i = 0; i < taken; i++) goodBytes += flows[i].bytes;
    goodRecords += taken;
    round++;
    await send(good, payload.slice());
  };
  const sample = (): void => {
    rssMax = Math.max(rssMax, rssMiB(pid));
  };

  // 1. Held-data flood: 15,000 new exporters, each one datagram of 280 tiny sets.
  for (let n = 0; n < 15_000; n++) {
    const s = await socketOn(`127.1.${(n >> 8) & 255}.${n & 255 || 1}`);
    await send(s, heldFlood(n));
    s.close();
    if (n % 100 === 0) {
      await sendGood();
      sample();
    }
  }
  const phases: string[] = [`start ${rssStart.toFixed(0)}`];
  phases.push(`held ${rssMiB(pid).toFixed(0)}/${rssMax.toFixed(0)}`);
  // 2. Template flood from one session: 3,000 datagrams x 110 templates (330,000 templates, 30 MiB).
  const one = await socketOn('127.0.0.1');
  sockets.push(one);
  for (let n = 0; n < 3000; n++) {
    await send(one, templateFlood(n));
    if (n % 30 === 0) {
      await sendGood();
      sample();
    }
  }
  // ...and from 300 sessions (each its own exporter), 20 datagrams each.
  const many: Socket[] = [];
  for (let i = 0; i < 300; i++) many.push(await socketOn(`127.0.2.${1 + (i % 250)}`));
  sockets.push(...many);
  for (let n = 0; n < 6000; n++) {
    await send(many[n % many.length], templateFlood(n + Math.floor(n / many.length) * 7));
    if (n % 60 === 0) {
      await sendGood();
      sample();
    }
  }
  phases.push(`templates ${rssMiB(pid).toFixed(0)}/${rssMax.toFixed(0)}`);
  // 3. Huge templates: 600 x 16,368 fields (38 MiB of datagrams), from 30 sessions.
  for (let n = 0; n < 600; n++) {
    await send(many[n % 30], hugeTemplate(n));
    if (n % 10 === 0) {
      await sendGood();
      sample();
    }
  }
  phases.push(`huge ${rssMiB(pid).toFixed(0)}/${rssMax.toFixed(0)}`);
  for (let i = 0; i < 5; i++) await sendGood();

  let last = '';
  const metrics = await pollUntil(async () => {
    const m = (last = (await col.get('/metrics')).body);
    return metricSum(m, 'netflow_k8s_records_total', { version: '9' }) >= goodRecords ? m : undefined;
  }, 30_000).catch((err: unknown) => {
    const show = last
      .split('\n')
      .filter((l) => /^netflow_k8s_(records|held|decode_errors|decoder|udp_socket_drops|template|data_sets|process_resident)/.test(l))
      .join('\n');
    throw new Error(
      `${String(err)}: ${goodRecords} good records sent; RSS ${rssStart} → ${rssMax}; exited ${col.child.exitCode}\n${show}\n${col.stderr()}`,
    );
  });
  sample();
  const limit = (l: string) => metricSum(metrics, 'netflow_k8s_decoder_limit_hits_total', { limit: l });
  assert.equal(metricSum(metrics, 'netflow_k8s_udp_socket_drops_total'), 0, 'the kernel dropped nothing: what is lost here, we lost');
  assert.equal(
    metricSum(metrics, 'netflow_k8s_records_total', { version: '9' }),
    goodRecords,
    'every record of the good exporter, none from the floods',
  );
  const bytes = await pollUntil(async () => {
    const b = metricSum((await col.get('/metrics')).body, 'netflow_connection_bytes', { srchost: 'web', dsthost: 'svc1' });
    return b >= goodBytes ? b : undefined;
  }, 30_000);
  assert.equal(bytes, goodBytes);
  for (const l of ['state_budget', 'templates_per_exporter', 'template_fields', 'exporters', 'datagram_work'])
    assert.ok(limit(l) > 0, `cap ${l} hit: ${limit(l)}`);
  assert.ok(metricSum(metrics, 'netflow_k8s_decoder_exporters') <= 500);
  assert.ok(metricSum(metrics, 'netflow_k8s_decode_errors_total', { reason: 'template_too_large' }) >= 600);
  assert.ok(
    col.logs().some((l) => l.msg === 'decoder state limit reached'),
    'a cap that bites is logged',
  );
  assert.ok(rssMax - rssStart < 150, `RSS ${rssStart.toFixed(0)} → max ${rssMax.toFixed(0)} MiB (${phases.join(', ')})`);
  t.diagnostic(
    `RSS ${rssStart.toFixed(0)} MiB at start, ${rssMax.toFixed(0)} MiB at most; ${goodRecords} good records; caps hit: ${['state_budget', 'exporter_share', 'held_exporter_share', 'template_fields', 'templates_per_exporter', 'exporters', 'datagram_work'].map((l) => `${l}=${limit(l)}`).join(' ')}`,
  );

  const stopped = await col.stop('SIGTERM');
  c = undefined;
  assert.deepEqual(stopped, { code: 0, signal: null });
});
