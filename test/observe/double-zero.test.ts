/**
 * The receive path's counters, and the record and context fields that hold addresses, IDs and
 * times, keep their hidden class past 2^30 (see src/observe/double-zero.ts).
 * V8's %HaveSameMap tells; it needs --allow-natives-syntax, so the check runs in a child process.
 * The control (a counter object that starts from a literal 0) shows the check can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const src = (p: string) => JSON.stringify(new URL(`../../src/${p}`, import.meta.url).href);
const SCRIPT = `
import { newStats } from ${src('decode/stats.ts')};
import { UdpReceiver } from ${src('ingest/udp-receiver.ts')};
import { RecordPipeline } from ${src('pipeline/record-pipeline.ts')};
import { DeltaTable } from ${src('aggregate/delta-table.ts')};
import { Pair } from ${src('aggregate/pair-store.ts')};
import { FlowRecord } from ${src('decode/record.ts')};
import { DatagramContext, DatagramWork } from ${src('decode/datagram-context.ts')};
import { ReadContext } from ${src('decode/read-context.ts')};
import { IpEntry } from ${src('identify/address-history.ts')};
const BIG = 2 ** 31 + 5;
const out = {};
function check(name, make, grow) {
  const a = make(), b = make();
  grow(a);
  out[name] = %HaveSameMap(a, b);
}
check('control: counters from a literal 0', () => ({ n: 0, m: 0 }), (o) => { o.n += BIG; });
check('decoder stats', newStats, (s) => { s.datagrams += BIG; });
check('decoder stats: records by version', () => newStats().records, (r) => { r.v9 += BIG; });
check('decoder stats: errors by reason', () => newStats().errors, (e) => { e.short_header += BIG; });
const noDecoder = { decode() {} };
check('receiver totals', () => new UdpReceiver(noDecoder, undefined), (r) => { r.bytes += BIG; });
const perExporter = (address) => {
  const r = new UdpReceiver(noDecoder, undefined);
  r.receive(Buffer.alloc(1), { address, port: 9, family: 'IPv4', size: 1 });
  return r.perExporter.get(address);
};
check('receiver per exporter', () => perExporter('10.0.0.' + Math.floor(Math.random() * 250)), (c) => { c.bytes += BIG; });
check('pipeline counters', () => new RecordPipeline({}, {}, undefined).counters, (c) => { c.records += BIG; });
const ep = (id) => ({ id, kind: 'pod', namespace: 'n', name: 'p' + id, app: 'p' + id, ownerKind: '', ownerName: '', nodeName: '' });
const rec = new FlowRecord(); rec.bytes = BIG; rec.packets = 1;
check('delta table overflow row', () => new DeltaTable({ maxRows: 1 }), (t) => { t.add(ep(1), ep(2), 'unknown', rec, 1); t.add(ep(3), ep(4), 'unknown', rec, 1.7e12); });
check('pair totals', () => new Pair({}, {}, 0, false, 1), (p) => { p.count(1, BIG, 1, 2); });
// Not counters, but fields past 2^30 from the first record: addresses at 64.0.0.0 and above, IDs, times in ms.
const NOW = Date.now();
check('flow record', () => new FlowRecord(), (r) => {
  r.src4 = 0xc0a80001; r.dst4 = 0x5db80001; r.sourceId = 0xffffffff; r.bytes = BIG; r.packets = BIG;
  r.startMs = NOW; r.endMs = NOW; r.inputIf = 0xffffffff; r.outputIf = 0xffffffff;
});
check('datagram context', () => new DatagramContext(new DatagramWork()), (c) => {
  c.sourceId = 0xffffffff; c.baseMs = NOW; c.uptime = BIG; c.nowMs = NOW;
});
check('read context', () => new ReadContext(), (c) => { c.sourceId = 0xffffffff; c.baseMs = NOW; c.uptime = BIG; c.initMs = NOW; });
check('address entry', () => new IpEntry(), (e) => { e.soleStart = NOW; e.soleEnd = NOW; });
console.log(JSON.stringify(out));
`;

test('counters and record fields on the receive path keep their hidden class when they pass 2^30', () => {
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', SCRIPT], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, boolean>;
  assert.equal(out['control: counters from a literal 0'], false, 'the check tells a class change');
  const changed = Object.entries(out)
    .filter(([k, same]) => !k.startsWith('control') && !same)
    .map(([k]) => k);
  assert.deepEqual(changed, []);
  assert.equal(Object.keys(out).length, 13);
});
