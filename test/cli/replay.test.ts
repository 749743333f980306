/** `netflow-k8s replay` run as a real process (the TypeScript entry, no build needed) on real captures. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder } from '../../src/decode/decoder.ts';
import { saveTemplateFile } from '../../src/decode/template-file.ts';
import { IptNetflowExporter } from '../../src/generate/ipt-netflow.ts';
import { iptNetflowStream, podAddress } from '../../src/generate/ipt-netflow-stream.ts';
import type { IptFlow } from '../../src/generate/ipt-netflow.ts';
import { writePcapFile } from '../../src/generate/pcap-writer.ts';
import { runCli, spawnCli, type CliRun } from '../support/cli.ts';

const TESTDATA = new URL('../../../shared/testdata/netflow/', import.meta.url).pathname;
const FIXTURES = new URL('../ingest/fixtures/', import.meta.url).pathname;
const GEN = join(TESTDATA, 'generated');
const LOGSTASH = join(TESTDATA, 'logstash-codec-netflow');

function replay(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(['replay', ...args], env);
}

const KEYS = [
  'exporter',
  'exporterPort',
  'version',
  'sourceId',
  'srcAddr',
  'dstAddr',
  'srcPort',
  'dstPort',
  'proto',
  'bytes',
  'packets',
  'samplingRate',
  'tcpFlags',
  'start',
  'end',
  'inputIf',
  'outputIf',
];

function lines(out: string): Array<Record<string, unknown>> {
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function lastJsonLine(err: string): Record<string, any> {
  const ls = err.trim().split('\n');
  return JSON.parse(ls[ls.length - 1]) as Record<string, any>;
}

function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'nfk-replay-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('JSON lines: one object per flow record with exactly the agreed keys', async () => {
  const r = await replay([join(GEN, 'softflowd-v9-basic.pcap')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const recs = lines(r.stdout);
  assert.equal(recs.length, 19);
  for (const rec of recs) assert.deepEqual(Object.keys(rec), KEYS);
  assert.equal(
    recs.reduce((n, x) => n + (x.packets as number), 0),
    498,
  );
  assert.equal(
    recs.reduce((n, x) => n + (x.bytes as number), 0),
    412219,
  );
  const dns = recs.find((x) => x.srcAddr === '10.244.1.10' && x.dstPort === 53);
  assert.deepEqual(
    { ...dns, start: undefined, end: undefined },
    {
      exporter: '127.0.0.1',
      exporterPort: 46159,
      version: 9,
      sourceId: 0,
      srcAddr: '10.244.1.10',
      dstAddr: '10.244.2.53',
      srcPort: 55052,
      dstPort: 53,
      proto: 17,
      bytes: 340,
      packets: 5,
      samplingRate: 1,
      tcpFlags: 0,
      start: undefined,
      end: undefined,
      inputIf: 0,
      outputIf: 0,
    },
  );
  assert.match(String(dns?.start), /^2026-11-26T05:58:\d\d\.\d{3}Z$/);
  assert.ok(Date.parse(String(dns?.end)) >= Date.parse(String(dns?.start)));
});

test('sampling shows in samplingRate, bytes and packets; IPv6 exporters; .dat files use the pretend exporter', async () => {
  const v5 = lines((await replay([join(TESTDATA, 'graylog-plugin-netflow/netflow5.pcap')])).stdout);
  assert.equal(v5.length, 4);
  assert.ok(v5.every((x) => x.samplingRate === 100 && x.version === 5));
  assert.equal(
    v5.reduce((n, x) => n + (x.packets as number), 0),
    500,
  );

  const sll2 = lines((await replay([join(FIXTURES, 'sll2-v4-v6.pcapng')])).stdout);
  assert.deepEqual([...new Set(sll2.map((x) => x.exporter))], ['127.0.0.1', '::1']);
  assert.equal(sll2.length, 38);

  // Template and data in two .dat files, in the order given: one exporter, one template scope.
  const aci = await replay([
    join(LOGSTASH, 'netflow9_test_cisco_aci_tpl256-258.dat'),
    join(LOGSTASH, 'netflow9_test_cisco_aci_data256.dat'),
  ]);
  const recs = lines(aci.stdout);
  assert.equal(recs.length, 3);
  assert.ok(recs.every((x) => x.exporter === '192.0.2.1' && x.exporterPort === 2055));
});

test('--summary: totals and every error counter by reason as the last line on stderr; malformed datagrams are not fatal', async () => {
  const r = await replay([
    '--summary',
    join(LOGSTASH, 'netflow5_test_invalid01.dat'),
    join(GEN, 'softflowd-v5-basic.pcap'),
    join(GEN, 'k8s-basic.traffic.pcap'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const s = lastJsonLine(r.stderr);
  // 1 bad v5 datagram + 1 softflowd datagram + 26 DNS/statsd-like UDP payloads that are not NetFlow.
  assert.equal(s.datagrams, 28);
  assert.equal(s.records, 19);
  assert.equal(s.packets, 498);
  assert.equal(s.bytes, 412219);
  assert.equal(s.errors.bad_count, 1);
  assert.equal(s.errors.unknown_version, 26);
  assert.equal(s.capture.nonUdp, 472);
  for (const reason of ['short_header', 'unknown_version', 'bad_set_length', 'zero_length_set', 'truncated_record', 'exception']) {
    assert.equal(typeof s.errors[reason], 'number', reason);
  }
  assert.equal(lines(r.stdout).length, 19);
});

test('--format none decodes without printing records', async () => {
  const r = await replay(['--format', 'none', '--summary', join(GEN, 'softflowd-v10-basic.pcap')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(lastJsonLine(r.stderr).records, 19);
  const viaEnv = await replay([join(GEN, 'softflowd-v10-basic.pcap')], { NETFLOW_K8S_REPLAY_FORMAT: 'none' });
  assert.equal(viaEnv.stdout, '');
});

test('a file that is not a capture, or cannot be read: a clear message naming it, non-zero exit, no half output', async () => {
  await withTmp(async (dir) => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a capture\n');
    const bad = await replay([join(GEN, 'softflowd-v9-basic.pcap'), text]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /notes\.txt: not a capture/);
    const missing = await replay([join(dir, 'nope.pcap')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.pcap: cannot read/);
  });
  const none = await replay([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /at least one capture FILE/);
  const badFlag = await replay(['--format', 'xml', join(GEN, 'softflowd-v9-basic.pcap')]);
  assert.equal(badFlag.code, 2);
  const help = await replay(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--templates PATH/);
});

function flows(n: number, now: number): IptFlow[] {
  return Array.from({ length: n }, (_, i) => ({
    src4: podAddress(i),
    dst4: podAddress(1000 + i),
    srcPort: 40000 + i,
    dstPort: 443,
    proto: 6,
    tcpFlags: 0x1b,
    packets: 10 + i,
    bytes: 1000 + i,
    startMs: now - 5000,
    endMs: now - 1000,
    inputIf: 1,
    outputIf: 2,
  }));
}

test('--templates: a saved template set decodes data whose templates are not in the capture', async () => {
  await withTmp(async (dir) => {
    const t0 = 1_790_000_000_000;
    const node = new IptNetflowExporter({ refreshRate: 1000, bootMs: t0 - 60_000 });
    const first = node.pack(flows(5, t0), 0, t0).payload;
    const later = [1, 2, 3].map((k) => node.pack(flows(5, t0 + k * 1000), 0, t0 + k * 1000).payload);
    // The collector saw the first packet (with the templates) and saved them ...
    const saver = new Decoder(() => {});
    saver.decode(first, { address: '10.1.0.7', port: 2055, key: '10.1.0.7|2055' }, t0);
    const tplFile = join(dir, 'templates.json');
    await saveTemplateFile(tplFile, saver);
    // ... and the capture holds only later packets, without templates.
    const cap = join(dir, 'later.pcap');
    writePcapFile(
      cap,
      later.map((payload, k) => ({ tsMs: t0 + (k + 1) * 1000, srcAddr: '10.1.0.7', srcPort: 2055, payload })),
    );

    const blind = await replay(['--summary', cap]);
    assert.equal(blind.code, 0);
    assert.equal(blind.stdout, '');
    const bs = lastJsonLine(blind.stderr);
    assert.equal(bs.records, 0);
    assert.equal(bs.heldDropped, 3, 'held data whose template never came is dropped and counted');

    const seeing = await replay(['--summary', '--templates', tplFile, cap]);
    assert.equal(seeing.code, 0, seeing.stderr);
    const recs = lines(seeing.stdout);
    assert.equal(recs.length, 15);
    assert.ok(recs.every((x) => x.exporter === '10.1.0.7' && x.dstPort === 443));

    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, '{"not":"templates"}');
    const bad = await replay(['--templates', corrupt, cap]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /corrupt\.json/);
    const gone = await replay(['--templates', join(dir, 'gone.json'), cap]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /gone\.json/);
  });
});

test('a larger stream: every record comes out once, in batches', async () => {
  await withTmp(async (dir) => {
    const cap = join(dir, 'stream.pcap');
    let want = 0;
    const packets = [];
    for (const d of iptNetflowStream({
      exporters: 3,
      count: 600,
      recordsPerDatagram: 27,
      startMs: 1_790_000_000_000,
      datagramIntervalMs: 10,
    })) {
      packets.push({ tsMs: d.nowMs, srcAddr: d.exporter, srcPort: 2055, payload: d.payload });
      want += d.records;
    }
    writePcapFile(cap, packets);
    const r = await replay([cap]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.split('\n').filter(Boolean);
    assert.equal(out.length, want);
    assert.ok(want > 15_000);
    assert.deepEqual(Object.keys(JSON.parse(out[out.length - 1])), KEYS);
  });
});

test('record JSON: times as ISO 8601 UTC with milliseconds, null when the exporter sent none', async () => {
  const { jsonRecord } = await import('../../src/cli/replay.ts');
  const { FlowRecord } = await import('../../src/decode/record.ts');
  const r = new FlowRecord();
  for (const ms of [1, 999, 1000, 1_790_000_000_123, -1500, 1_795_672_730_864, 253_402_300_800_000]) {
    r.startMs = ms;
    r.endMs = ms + 1;
    const j = JSON.parse(jsonRecord(r)) as Record<string, unknown>;
    assert.equal(j.start, new Date(ms).toISOString(), String(ms));
    assert.equal(j.end, new Date(ms + 1).toISOString(), String(ms));
  }
  r.startMs = 0;
  r.endMs = Number.NaN;
  const j = JSON.parse(jsonRecord(r)) as Record<string, unknown>;
  assert.equal(j.start, null);
  assert.equal(j.end, null);
  assert.deepEqual(Object.keys(j), KEYS);
});

test('a reader that goes away (replay ... | head) ends replay early and quietly', async () => {
  await withTmp(async (dir) => {
    const cap = join(dir, 'many.pcap');
    const packets = [];
    for (const d of iptNetflowStream({ count: 3000, recordsPerDatagram: 27, startMs: 1_790_000_000_000 })) {
      packets.push({ tsMs: d.nowMs, srcAddr: d.exporter, srcPort: 2055, payload: d.payload });
    }
    writePcapFile(cap, packets);
    const child = spawnCli(['replay', '--summary', cap]);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdout!.once('data', () => child.stdout!.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    const s = lastJsonLine(stderr);
    assert.ok(s.datagrams < 3000, `stopped early (${s.datagrams} datagrams read)`);
  });
});

test("--template-scope: the Comware capture's restart on a new port decodes by address by default; session scope holds it until the templates come again", async () => {
  const cap = new URL('../decode/fixtures/comware-netstream-v9.pcap', import.meta.url).pathname;
  const last = (r: CliRun) => JSON.parse(r.stderr.trim().split('\n').pop()!) as Record<string, number>;
  const byAddress = last(await replay(['--format', 'none', '--summary', cap]));
  const bySession = last(await replay(['--format', 'none', '--summary', '--template-scope', 'session', cap]));
  for (const s of [byAddress, bySession]) assert.deepEqual([s.records, s.packets, s.bytes, s.setsRefused], [288, 69_904, 53_517_785, 0]);
  assert.deepEqual([byAddress.templateScopeFallbacks, byAddress.held], [6, 0]);
  assert.deepEqual([bySession.templateScopeFallbacks, bySession.held, bySession.heldDecoded], [0, 6, 6]);
});
