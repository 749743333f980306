/**
 * Faults, with nothing counted lost, against the real program over real UDP:
 * - a burst of malformed datagrams among good ones: the good ones count exactly, the bad ones are
 *   counted by reason, the log stays quiet (rate-limited), the process lives on;
 * - 100,000 idle pairs expire: the store empties, and memory comes back down.
 * (The Kubernetes API dropping mid-run is in run-kube.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCollectorProcess, pollUntil, sendPaced, type CollectorProcess, metricSum } from '../support/run-collector.ts';
import { IptNetflowExporter, type IptFlow } from '../../src/generate/ipt-netflow.ts';
import { podAddress } from '../../src/generate/ipt-netflow-stream.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';
import { appPodList } from '../support/kube-objects.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));

async function sender(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

const metric = metricSum;

test('a burst of malformed datagrams among good ones: good counts exact, bad ones counted, log rate-limited', {
  timeout: 120_000,
}, async (t) => {
  let c: CollectorProcess | undefined;
  const s = await sender();
  t.after(async () => {
    s.close();
    if (c) await c.stop('SIGKILL');
  });
  c = await startCollectorProcess(['--inventory', INVENTORY, '--merge-interval', '100ms']);
  const col = c;
  const exp = new IptNetflowExporter({ protocol: 9 });
  const now = Date.now();
  const web = parseIPv4('10.244.1.10');
  const svc1 = parseIPv4('10.244.2.20');
  const payloads: Uint8Array[] = [];
  let good = 0;
  let goodBytes = 0;
  let goodPackets = 0;
  let webToSvc1 = 0;
  let bad = 0;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let d = 0; d < 400; d++) {
    const flows: IptFlow[] = Array.from({ length: 27 }, (_, i) => ({
      src4: i % 2 ? svc1 : web,
      dst4: i % 2 ? web : svc1,
      srcPort: i % 2 ? 8080 : 40000 + i,
      dstPort: i % 2 ? 40000 + i : 8080,
      proto: 6,
      packets: 1 + d,
      bytes: 100 + i,
      startMs: now - 5000,
      endMs: now - 1000,
    }));
    const { payload, taken } = exp.pack(flows, 0, now);
    const copy = payload.slice();
    payloads.push(copy);
    good += taken;
    for (let i = 0; i < taken; i++) {
      goodBytes += flows[i].bytes;
      goodPackets += flows[i].packets;
      if (i % 2 === 0) webToSvc1++;
    }
    // Among the good ones, every few: garbage of every kind the decoder must refuse whole.
    if (d % 4 === 1) {
      const junk = new Uint8Array(16 + Math.floor(rand() * 1400)).map(() => Math.floor(rand() * 256));
      junk[0] = 0x7f; // version 0x7fxx: not 5, 9 or 10
      payloads.push(junk, new Uint8Array(3), new Uint8Array(0));
      // A good datagram cut inside its data set: the set runs past the end and is skipped.
      payloads.push(copy.slice(0, copy.length - 7));
      // v9 header with a set whose length is 0, then one whose length runs past the end.
      const zero = copy.slice(0, 24);
      payloads.push(zero);
      const long = copy.slice(0, 40);
      new DataView(long.buffer).setUint16(22, 60000);
      payloads.push(long);
      // v5 with a record count nfdump refuses.
      const v5 = new Uint8Array(24 + 48 * 2);
      new DataView(v5.buffer).setUint16(0, 5);
      new DataView(v5.buffer).setUint16(2, 200);
      payloads.push(v5);
      bad += 7;
    }
  }
  await sendPaced(s, payloads, col.udpPort);
  const text = await pollUntil(async () => {
    const body = (await col.get('/metrics')).body;
    return metric(body, 'netflow_k8s_datagrams_total') === payloads.length && metric(body, 'netflow_connection_count') >= good
      ? body
      : undefined;
  }, 60_000);
  assert.equal(metric(text, 'netflow_connection_count'), good, 'every good record counted once, nothing from the bad ones');
  assert.equal(metric(text, 'netflow_connection_bytes'), goodBytes);
  assert.equal(metric(text, 'netflow_connection_packets'), goodPackets);
  assert.equal(metric(text, 'netflow_connection_count', { srchost: 'web', dsthost: 'svc1' }), webToSvc1);
  assert.equal(metric(text, 'netflow_k8s_records_total', { version: '9' }), good);
  const errors = metric(text, 'netflow_k8s_decode_errors_total');
  assert.ok(errors >= bad - 100 && errors > 0, `decode errors counted (${errors})`);
  assert.ok(metric(text, 'netflow_k8s_decode_errors_total', { reason: 'unknown_version' }) >= 100);
  assert.ok(metric(text, 'netflow_k8s_decode_errors_total', { reason: 'short_header' }) >= 100);
  assert.ok(metric(text, 'netflow_k8s_decode_errors_total', { reason: 'bad_count' }) >= 100);
  // The log heard about it, but far fewer times than there were bad datagrams. The log lines
  // reach us through the child's stdout, which may lag the /metrics answer above.
  const complaintsNow = () => col.logs().filter((l) => l.msg === 'malformed NetFlow input').length;
  await pollUntil(async () => (complaintsNow() > 0 ? true : undefined), 10_000).catch(() => undefined);
  const complaints = complaintsNow();
  assert.ok(complaints >= 1 && complaints < 60, `malformed input logged ${complaints} times for ${bad} bad datagrams`);
  assert.equal((await col.get('/healthz')).status, 200);
  const exit = await col.stop('SIGTERM');
  c = undefined;
  assert.equal(exit.code, 0);
});

test('100,000 idle pairs expire: the store empties and memory comes back down', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'run-expiry-'));
  let c: CollectorProcess | undefined;
  const s = await sender();
  t.after(async () => {
    s.close();
    if (c) await c.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  // 320 pods with an app each: 320 x 319 = 102,080 directed pairs of apps.
  const N = 320;
  const inv = join(dir, 'inventory.json');
  writeFileSync(inv, JSON.stringify(appPodList(N, { namespaces: 10, nodes: ['node-a'] })));
  // --expose-gc: the collector then runs a full GC after a large expiry, so the heap it reports
  // is what is still referenced, not garbage V8 has not got round to.
  c = await startCollectorProcess(['--inventory', inv, '--max-series', '200000', '--series-ttl', '60s', '--merge-interval', '200ms'], {
    env: { NODE_OPTIONS: '--expose-gc' },
  });
  const col = c;
  const sample = async () => {
    const body = (await col.get('/metrics')).body;
    return {
      records: metric(body, 'netflow_k8s_flow_records_total'),
      pairs: metric(body, 'netflow_k8s_pairs'),
      flows: metric(body, 'netflow_connection_count'),
      heap: metric(body, 'netflow_k8s_process_heap_bytes', { kind: 'used' }),
      rss: metric(body, 'netflow_k8s_process_resident_memory_bytes'),
      evictions: metric(body, 'netflow_k8s_pair_evictions_total'),
    };
  };
  const base = await sample();

  const exp = new IptNetflowExporter({ protocol: 9 });
  const now = Date.now();
  const flows: IptFlow[] = [];
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++)
      if (i !== j)
        flows.push({
          src4: podAddress(i),
          dst4: podAddress(j),
          srcPort: 40000,
          dstPort: 8080,
          proto: 6,
          packets: 1,
          bytes: 100,
          startMs: now - 2000,
          endMs: now - 1000,
        });
  const payloads: Uint8Array[] = [];
  for (let from = 0; from < flows.length; ) {
    const { payload, taken } = exp.pack(flows, from, now, 27);
    payloads.push(payload.slice());
    from += taken;
  }
  await sendPaced(s, payloads, col.udpPort);
  const peak = await pollUntil(
    async () => {
      const v = await sample();
      return v.records === flows.length ? v : undefined;
    },
    90_000,
    2000,
  );
  assert.equal(peak.flows, flows.length, `every record counted, none lost: ${JSON.stringify(peak)}`);
  assert.equal(peak.pairs, flows.length, 'one pair per pair of apps');

  // No more traffic: after the TTL every pair goes, and the memory they held is given back.
  const after = await pollUntil(
    async () => {
      const v = await sample();
      return v.pairs === 0 && v.heap < base.heap + (peak.heap - base.heap) / 3 ? v : undefined;
    },
    150_000,
    1000,
  );
  assert.equal(after.pairs, 0);
  assert.ok(after.evictions >= flows.length, `evictions ${after.evictions}`);
  t.diagnostic(
    `heap used: ${(base.heap / 2 ** 20).toFixed(1)} MiB at start, ${(peak.heap / 2 ** 20).toFixed(1)} MiB with ${peak.pairs} pairs, ${(after.heap / 2 ** 20).toFixed(1)} MiB after expiry; RSS ${(base.rss / 2 ** 20).toFixed(0)} / ${(peak.rss / 2 ** 20).toFixed(0)} / ${(after.rss / 2 ** 20).toFixed(0)} MiB`,
  );
  assert.ok(peak.heap - base.heap > 10 * 2 ** 20, 'the pairs took real memory (else this test measures nothing)');
  const exit = await col.stop('SIGTERM');
  c = undefined;
  assert.equal(exit.code, 0);
});
