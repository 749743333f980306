/**
 * Property-based test: mutated real datagrams (bit flips, truncation, corrupted length fields,
 * splices of two datagrams, random 16-bit writes) never make an exception escape or be caught
 * inside the decoder, every call does bounded work, and the counters add up (stats.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Decoder } from '../../src/decode/decoder.ts';
import type { FlowRecord } from '../../src/decode/record.ts';
import { DATA_SET_REASONS, totalErrors, type DecoderStats } from '../../src/decode/stats.ts';
import { readCapture } from '../../src/ingest/capture.ts';
import { iptNetflowStream } from '../../src/generate/ipt-netflow-stream.ts';
import { dat, exporter, pcapPayloads, TESTDATA } from './util.ts';

/** Cases: datagrams in send order, so templates precede data and mutations reach the readers. */
function corpus(): Uint8Array[][] {
  const cases: Uint8Array[][] = [];
  const dir = new URL('../../../shared/testdata/netflow/', import.meta.url).pathname;
  const lf = readdirSync(`${dir}logstash-codec-netflow`)
    .filter((f) => f.endsWith('.dat'))
    .sort();
  // Group a vendor's template and data files together (same name prefix up to _tpl/_data).
  const groups = new Map<string, string[]>();
  for (const f of lf) {
    const key = f.replace(/_(tpl|opttpl|data|tpldata).*$/, '');
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const files of groups.values()) {
    const sorted = files.sort((a, b) => Number(/data/.test(a)) - Number(/data/.test(b)));
    cases.push(sorted.map((f) => dat(`logstash-codec-netflow/${f}`)));
  }
  for (const f of readdirSync(`${dir}graylog-plugin-netflow`).filter((x) => x.endsWith('.dat')))
    cases.push([dat(`graylog-plugin-netflow/${f}`)]);
  for (const f of [
    'akvorado/data+templates.pcap',
    'akvorado/mpls.pcap',
    'generated/softflowd-v10-biflow-basic.pcap',
    'generated/softflowd-v9-basic.pcap',
    'graylog-plugin-netflow/nprobe-netflow9.pcap',
  ]) {
    cases.push(pcapPayloads(f).map((p) => p.payload));
  }
  for (const protocol of [9, 10] as const) {
    cases.push([...iptNetflowStream({ protocol, count: 3, recordsPerDatagram: 30, startMs: 1_700_000_000_000 })].map((d) => d.payload));
  }
  return cases;
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'u16'; at: number; value: number }
  | { kind: 'setlen'; nth: number; value: number }
  | { kind: 'splice'; other: number; at: number; from: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('u16' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constant(0), fc.constant(0xffff), fc.constant(4), fc.integer({ min: 0, max: 0xffff })),
  }),
  fc.record({
    kind: fc.constant('setlen' as const),
    nth: fc.nat({ max: 8 }),
    value: fc.oneof(fc.constant(0), fc.constant(1), fc.constant(3), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })),
  }),
  fc.record({ kind: fc.constant('splice' as const), other: fc.nat(), at: fc.nat(), from: fc.nat() }),
);

function mutate(d: Uint8Array, m: Mutation, all: Uint8Array[]): Uint8Array {
  if (d.length === 0) return d;
  const out = new Uint8Array(d);
  switch (m.kind) {
    case 'flip':
      out[m.at % out.length] ^= 1 << m.bit;
      return out;
    case 'truncate':
      return out.subarray(0, m.at % (out.length + 1));
    case 'u16': {
      const at = m.at % Math.max(1, out.length - 1);
      out[at] = m.value >> 8;
      if (at + 1 < out.length) out[at + 1] = m.value & 255;
      return out;
    }
    case 'setlen': {
      // Walk the real set headers (v9: from 20, IPFIX: from 16) and corrupt the nth set's length.
      const version = (out[0] << 8) | out[1];
      let p = version === 9 ? 20 : version === 10 ? 16 : 0;
      if (p === 0) return out;
      for (let i = 0; p + 4 <= out.length; i++) {
        const len = (out[p + 2] << 8) | out[p + 3];
        if (i === m.nth || len < 4) {
          out[p + 2] = m.value >> 8;
          out[p + 3] = m.value & 255;
          return out;
        }
        p += len;
      }
      return out;
    }
    case 'splice': {
      const o = all[m.other % all.length];
      const at = m.at % (out.length + 1);
      const from = m.from % (o.length + 1);
      const res = new Uint8Array(at + o.length - from);
      res.set(out.subarray(0, at));
      res.set(o.subarray(from), at);
      return res;
    }
  }
}

function checkInvariants(s: DecoderStats, sinkCalls: number, bytesFed: number): void {
  assert.equal(s.errors.exception, 0, 'an exception was thrown inside the decoder');
  assert.equal(s.records.v5 + s.records.v9 + s.records.ipfix, sinkCalls, 'records counted = records sunk');
  assert.equal(s.datagrams, s.datagramsDecoded + s.datagramsRefused);
  assert.equal(s.templateMisses, s.held);
  assert.equal(s.held, s.heldDecoded + s.heldDropped + s.pending);
  assert.equal(s.dataSets + s.heldDecoded, s.setsDecoded + s.templateMisses + s.setsRefused);
  assert.ok(s.templates >= 0);
  // Bounded output: every record takes at least one byte (a biflow gives two records).
  assert.ok(sinkCalls <= 2 * bytesFed, `${sinkCalls} records from ${bytesFed} bytes`);
  assert.ok(Number.isFinite(totalErrors(s)));
}

const AGG = { runs: 0, records: 0, errors: {} as Record<string, number> };
const CASES = corpus();
const ALL = CASES.flat();

test('fuzz: mutated real datagrams never throw, do bounded work, and the counters add up', () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (ci, di, muts, nfdump) => {
      const c = CASES[ci % CASES.length];
      const target = di % c.length;
      let sinkCalls = 0;
      let bad = '';
      const sink = (r: FlowRecord): void => {
        sinkCalls++;
        if (!Number.isFinite(r.bytes) || r.bytes < 0 || !Number.isFinite(r.packets) || r.packets < 0)
          bad = `bytes ${r.bytes} packets ${r.packets}`;
        if (r.family !== 4 && r.family !== 6) bad = `family ${r.family}`;
        if (!Number.isFinite(r.startMs) || !Number.isFinite(r.endMs)) bad = 'times';
      };
      const dec = new Decoder(sink, {
        sampling: nfdump ? 'nfdump' : 'rfc',
        pendingMaxBytes: 10_000,
        compilesPerDatagram: ci % 3 === 0 ? 0 : 8,
      });
      const E = exporter();
      let bytesFed = 0;
      for (let i = 0; i < c.length; i++) {
        let d = c[i];
        if (i === target) for (const m of muts) d = mutate(d, m, ALL);
        bytesFed += d.length;
        const t0 = performance.now();
        dec.decode(d, E, i * 10);
        // A sanity bound, not a speed test: one datagram of at most 64 KiB.
        assert.ok(performance.now() - t0 < 1000, 'one decode() call took over a second');
        checkInvariants(dec.stats, sinkCalls, bytesFed);
        assert.equal(bad, '', bad);
      }
      AGG.runs++;
      AGG.records += sinkCalls;
      for (const [k, v] of Object.entries(dec.stats.errors)) AGG.errors[k] = (AGG.errors[k] ?? 0) + v;
      dec.expire(1e12);
      checkInvariants(dec.stats, sinkCalls, bytesFed);
      assert.equal(dec.stats.pending, 0);
      assert.equal(dec.stats.templates, 0);
    }),
    { numRuns: 600, seed: 20261126 },
  );
});

test('fuzz: random bytes behind real headers', () => {
  const headers = [
    Uint8Array.of(0, 9, 0, 1, 0, 0, 0, 1, 0x65, 0x5a, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0),
    Uint8Array.of(0, 10, 0, 0, 0x65, 0x5a, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0),
    Uint8Array.of(0, 5, 0, 1, 0, 0, 0, 1, 0x65, 0x5a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0),
  ];
  fc.assert(
    fc.property(fc.nat({ max: 2 }), fc.uint8Array({ maxLength: 1500 }), fc.uint8Array({ maxLength: 1500 }), (h, a, b) => {
      let sinkCalls = 0;
      const dec = new Decoder(() => sinkCalls++);
      const mk = (body: Uint8Array): Uint8Array => {
        const d = new Uint8Array(headers[h].length + body.length);
        d.set(headers[h]);
        d.set(body, headers[h].length);
        if (h === 1) {
          d[2] = d.length >> 8;
          d[3] = d.length & 255;
        }
        return d;
      };
      const d1 = mk(a);
      const d2 = mk(b);
      dec.decode(d1, exporter(), 0);
      dec.decode(d2, exporter(), 1);
      dec.decode(d2, exporter(), 2);
      checkInvariants(dec.stats, sinkCalls, d1.length + 2 * d2.length);
    }),
    { numRuns: 1500, seed: 7 },
  );
});

test('fuzz: nothing past the end of the datagram is ever read (same result with garbage after it in the buffer)', () => {
  fc.assert(
    fc.property(
      fc.nat(),
      fc.nat(),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      (ci, di, muts, tail) => {
        const c = CASES[ci % CASES.length];
        const target = di % c.length;
        const run = (embed: boolean): string[] => {
          const out: string[] = [];
          const dec = new Decoder(
            (r) => out.push(`${r.src4},${r.dst4},${r.srcPort},${r.dstPort},${r.bytes},${r.packets},${r.startMs},${r.endMs}`),
            { compilesPerDatagram: ci % 2 },
          );
          for (let i = 0; i < c.length; i++) {
            let d = c[i];
            if (i === target) for (const m of muts) d = mutate(d, m, ALL);
            if (embed) {
              const big = new Uint8Array(d.length + tail.length + 8);
              big.set(d, 8);
              big.set(tail, 8 + d.length);
              d = big.subarray(8, 8 + d.length);
            }
            dec.decode(d, exporter(), i);
          }
          // Whether a layout was compiled depends on the process-wide reader cache, not on the bytes.
          const { readersCompiled, setsInterpreted, ...rest } = dec.stats;
          void readersCompiled;
          void setsInterpreted;
          out.push(JSON.stringify(rest));
          return out;
        };
        assert.deepEqual(run(true), run(false));
      },
    ),
    { numRuns: 300, seed: 99 },
  );
});

test('fuzz: the mutations reached every part of the decoder', () => {
  assert.ok(AGG.runs >= 600);
  assert.ok(AGG.records > 1000, `${AGG.records} records`);
  for (const reason of [
    'short_header',
    'unknown_version',
    'bad_set_length',
    'zero_length_set',
    'template_overflow',
    'truncated_record',
    'bad_count',
  ]) {
    assert.ok((AGG.errors[reason] ?? 0) > 0, `no mutation produced ${reason}: ${JSON.stringify(AGG.errors)}`);
  }
});

/** Every capture we have: ../shared/testdata (pcap, pcapng, .dat) and test/**​/fixtures, each in file order with its exporters. */
function everyCapture(): {
  name: string;
  datagrams: { payload: Uint8Array; key: string; address: string; port: number; tsMs: number }[];
}[] {
  const files: string[] = [];
  const walk = (dir: string, fixturesOnly: boolean): void => {
    for (const f of readdirSync(dir).sort()) {
      const path = join(dir, f);
      if (statSync(path).isDirectory()) {
        if (f !== 'node_modules') walk(path, fixturesOnly && f !== 'fixtures' ? fixturesOnly : false);
      } else if ((!fixturesOnly || dir.includes('/fixtures')) && /\.(pcap|pcapng|dat)$/.test(f) && !f.includes('.traffic.'))
        files.push(path);
    }
  };
  walk(TESTDATA, false);
  walk(new URL('..', import.meta.url).pathname, true);
  return files.map((f) => ({
    name: f,
    datagrams: f.endsWith('.dat')
      ? [{ payload: new Uint8Array(readFileSync(f)), ...exporter(), tsMs: 0 }]
      : Array.from(readCapture(f), (p) => ({ payload: p.payload.slice(), ...exporter(p.srcAddr, p.srcPort), tsMs: p.tsMs })),
  }));
}

/** Data sets (ID >= 256) in a v9 / IPFIX datagram, walked independently of the decoder, up to the first set whose length cannot be trusted. */
function dataSetsIn(d: Uint8Array): number {
  if (d.length < 4) return 0;
  const version = (d[0] << 8) | d[1];
  let p: number;
  let end = d.length;
  if (version === 9) {
    if (d.length < 20) return 0;
    p = 20;
  } else if (version === 10) {
    if (d.length < 16) return 0;
    end = (d[2] << 8) | d[3];
    if (end < 16 || end > d.length) return 0;
    p = 16;
  } else return 0;
  let n = 0;
  while (p + 4 <= end) {
    const id = (d[p] << 8) | d[p + 1];
    const len = (d[p + 2] << 8) | d[p + 3];
    if (len < 4 || p + len > end) break;
    if (id >= 256) n++;
    p += len;
  }
  return n;
}

const CAPTURES = everyCapture();

/** Inserts a data set (a known or unknown template ID, an empty or short body) before the nth set of a v9 / IPFIX datagram. */
function insertSet(d: Uint8Array, nth: number, id: number, body: Uint8Array): Uint8Array {
  const version = d.length >= 4 ? (d[0] << 8) | d[1] : 0;
  let p = version === 9 ? 20 : version === 10 ? 16 : 0;
  if (p === 0 || d.length < p) return d;
  const end = version === 10 ? Math.min(d.length, (d[2] << 8) | d[3]) : d.length;
  for (let i = 0; i < nth && p + 4 <= end; i++) {
    const len = (d[p + 2] << 8) | d[p + 3];
    if (len < 4 || p + len > end) break;
    p += len;
  }
  const set = new Uint8Array(4 + body.length);
  set[0] = id >> 8;
  set[1] = id & 255;
  set[2] = set.length >> 8;
  set[3] = set.length & 255;
  set.set(body, 4);
  const out = new Uint8Array(d.length + set.length);
  out.set(d.subarray(0, p));
  out.set(set, p);
  out.set(d.subarray(p), p + set.length);
  if (version === 10) {
    const len = Math.min(65535, ((d[2] << 8) | d[3]) + set.length);
    out[2] = len >> 8;
    out[3] = len & 255;
  }
  return out;
}

const inserted = fc.record({
  nth: fc.nat({ max: 4 }),
  id: fc.oneof(fc.integer({ min: 256, max: 270 }), fc.integer({ min: 256, max: 65535 })),
  body: fc.uint8Array({ maxLength: 12 }),
});

test('no silent drops: per datagram, sets that gave records + sets refused with a reason + sets held account for every data set (every capture, mutated)', () => {
  assert.ok(CAPTURES.length >= 100, `${CAPTURES.length} captures`);
  assert.ok(CAPTURES.some((c) => c.name.endsWith('comware-netstream-v9.pcap')));
  const allPayloads = CAPTURES.flatMap((c) => c.datagrams.map((d) => d.payload));
  let setsSeen = 0;
  fc.assert(
    fc.property(
      fc.nat(),
      fc.nat(),
      fc.array(mutation, { minLength: 0, maxLength: 2 }),
      fc.array(inserted, { maxLength: 3 }),
      fc.constantFrom<'session' | 'address'>('session', 'address'),
      fc.nat({ max: 8 }),
      (ci, di, muts, inserts, templateScope, compiles) => {
        const c = CAPTURES[ci % CAPTURES.length];
        const target = di % c.datagrams.length;
        let sunk = 0;
        const dec = new Decoder(() => sunk++, { templateScope, compilesPerDatagram: compiles, maxHeldPerDatagram: 4 });
        for (let i = 0; i < c.datagrams.length; i++) {
          const g = c.datagrams[i];
          let d = g.payload;
          if (i === target) for (const m of muts) d = mutate(d, m, allPayloads);
          if (i >= target) for (const x of inserts) d = insertSet(d, x.nth, x.id, x.body);
          const before = structuredClone(dec.stats) as DecoderStats;
          const recordsBefore = sunk;
          dec.decode(d, { address: g.address, port: g.port, key: g.key }, g.tsMs);
          const s = dec.stats;
          const delta = (f: (x: DecoderStats) => number): number => f(s) - f(before);
          const sets = dataSetsIn(d);
          setsSeen += sets;
          assert.equal(
            delta((x) => x.dataSets),
            sets,
            'the decoder found every data set',
          );
          // Held sets taken up again in this datagram add to what it must account for.
          assert.equal(
            delta((x) => x.setsDecoded) + delta((x) => x.setsRefused) + delta((x) => x.templateMisses),
            sets + delta((x) => x.heldDecoded),
            'each data set gave records, was refused with a reason, or was held',
          );
          assert.ok(
            delta((x) => x.setsDecoded) <= sunk - recordsBefore + delta((x) => x.optionsRecords),
            'a set counted as decoded gave a record',
          );
          const reasons = DATA_SET_REASONS.reduce((a, r) => a + delta((x) => x.errors[r]), 0);
          assert.ok(reasons >= delta((x) => x.setsRefused), 'every refused set moved a reason');
          assert.equal(s.held, s.heldDecoded + s.heldDropped + s.pending);
        }
        dec.expire(1e13);
        assert.equal(dec.stats.pending, 0);
        assert.equal(dec.stats.templates, 0);
        assert.equal(dec.stateBytes(), 0, 'every byte of state given back');
        assert.equal(dec.stats.exporters, 0);
      },
    ),
    { numRuns: 800, seed: 20261201 },
  );
  assert.ok(setsSeen > 1000, `${setsSeen} data sets checked`);
});
