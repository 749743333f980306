/**
 * Decoder state shared between receiving threads (Decoder.onShare → applyShared): when one
 * exporter's datagrams are spread over threads, every thread must know its templates and apply
 * its sampling, without counting anything twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord, IE, SCOPE, type TemplateSpec } from '../../src/generate/fields.ts';
import { encodeIpfix } from '../../src/generate/ipfix.ts';
import { encodeV9 } from '../../src/generate/netflow-v9.ts';
import { iptNetflowStream } from '../../src/generate/ipt-netflow-stream.ts';
import type { SharedSet } from '../../src/decode/saved-state.ts';
import { collecting, exporter, totals } from './util.ts';

const E = exporter();
const UNIX = 1_700_000_000;
const T: TemplateSpec = {
  id: 256,
  fields: [
    { id: IE.IPV4_SRC_ADDR, length: 4 },
    { id: IE.IN_PKTS, length: 4 },
    { id: IE.IN_BYTES, length: 4 },
  ],
};
const OPT: TemplateSpec = { id: 512, scopeFields: [{ id: SCOPE.INTERFACE, length: 4 }], fields: [{ id: IE.SAMPLING_INTERVAL, length: 4 }] };
const rec = (i: number) => encodeRecord(T, { [IE.IPV4_SRC_ADDR]: `10.0.0.${i}`, [IE.IN_PKTS]: i, [IE.IN_BYTES]: 100 * i });
const hdr = (sequence: number) => ({ sysUptimeMs: 1, unixSecs: UNIX, sequence, sourceId: 0 });
const data = (...ids: number[]) => encodeV9(hdr(9), [{ kind: 'data', templateId: 256, records: ids.map(rec) }]);
const sampling = (interval: number) =>
  encodeV9(hdr(3), [
    { kind: 'options-templates', templates: [OPT], pad: true },
    { kind: 'data', templateId: 512, records: [encodeRecord(OPT, { [SCOPE.INTERFACE]: 0, [IE.SAMPLING_INTERVAL]: interval })], pad: true },
  ]);
const template = () => encodeV9(hdr(2), [{ kind: 'templates', templates: [T] }]);

/** Two decoders wired like two receiving threads: what one shares, the other applies. */
function pair() {
  const a = collecting();
  const b = collecting();
  const sharedByA: SharedSet[] = [];
  const sharedByB: SharedSet[] = [];
  a.dec.onShare = (exp, set) => {
    sharedByA.push(set);
    b.dec.applyShared(exp, set, 0);
  };
  b.dec.onShare = (exp, set) => {
    sharedByB.push(set);
    a.dec.applyShared(exp, set, 0);
  };
  return { a, b, sharedByA, sharedByB };
}

test('a template one thread learns decodes the data another thread holds, and the data that follows there', () => {
  const { a, b, sharedByA, sharedByB } = pair();
  b.dec.decode(data(1, 2), E, 0);
  assert.equal(b.dec.stats.pending, 1, 'held: no template yet');
  a.dec.decode(template(), E, 0);
  assert.equal(sharedByA.length, 1);
  assert.deepEqual(
    b.recs.map((r) => r.src),
    ['10.0.0.1', '10.0.0.2'],
    'held data decoded once the shared template arrived',
  );
  b.dec.decode(data(3), E, 0);
  assert.deepEqual(
    b.recs.map((r) => r.src),
    ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
  );
  assert.equal(sharedByB.length, 0, 'what was applied is not shared back');
  // Counted where it arrived: one template received in all, and the gauge says each thread knows it.
  assert.deepEqual([a.dec.stats.templatesReceived, b.dec.stats.templatesReceived], [1, 0]);
  assert.deepEqual([a.dec.stats.templates, b.dec.stats.templates], [1, 1]);
  assert.equal(b.dec.stats.held, b.dec.stats.heldDecoded + b.dec.stats.heldDropped + b.dec.stats.pending);
});

test('refreshes of an unchanged template are not shared; a changed layout is', () => {
  const { a, b, sharedByA } = pair();
  for (let i = 0; i < 5; i++) a.dec.decode(template(), E, i);
  assert.equal(sharedByA.length, 1);
  const T2: TemplateSpec = {
    id: 256,
    fields: [
      { id: IE.IPV4_SRC_ADDR, length: 4 },
      { id: IE.IN_BYTES, length: 4 },
    ],
  };
  a.dec.decode(encodeV9(hdr(5), [{ kind: 'templates', templates: [T2] }]), E, 10);
  assert.equal(sharedByA.length, 2);
  b.dec.decode(
    encodeV9(hdr(6), [
      { kind: 'data', templateId: 256, records: [encodeRecord(T2, { [IE.IPV4_SRC_ADDR]: '10.0.0.9', [IE.IN_BYTES]: 7 })] },
    ]),
    E,
    10,
  );
  assert.deepEqual(
    b.recs.map((r) => [r.src, r.bytes]),
    [['10.0.0.9', 7]],
    'the other thread reads with the changed layout',
  );
});

test('sampling learnt by one thread applies to the records another thread decodes; an unchanged rate is not shared again', () => {
  const { a, b, sharedByA } = pair();
  a.dec.decode(template(), E, 0);
  a.dec.decode(sampling(64), E, 0);
  assert.deepEqual(
    sharedByA.map((s) => s.setId),
    [0, 1, 512],
    'the data template, the options template, then the options data',
  );
  b.dec.decode(data(2), E, 0);
  assert.deepEqual([b.recs[0].samplingRate, b.recs[0].packets, b.recs[0].bytes], [64, 2 * 64, 200 * 64]);
  a.dec.decode(sampling(64), E, 1);
  assert.equal(sharedByA.length, 3, 'the same rate again changes nothing');
  a.dec.decode(sampling(128), E, 2);
  assert.equal(sharedByA.length, 4);
  b.dec.decode(data(1), E, 2);
  assert.equal(b.recs[1].samplingRate, 128);
  assert.deepEqual([a.dec.stats.optionsRecords, b.dec.stats.optionsRecords], [3, 0], 'options records counted where they arrived');
});

test('IPFIX templates and withdrawals are shared too', () => {
  const { a, b, sharedByA } = pair();
  const ipfix = (sets: Parameters<typeof encodeIpfix>[1]) =>
    encodeIpfix({ exportTimeSecs: UNIX, sequence: 1, observationDomainId: 7 }, sets);
  a.dec.decode(ipfix([{ kind: 'templates', templates: [T] }]), E, 0);
  b.dec.decode(ipfix([{ kind: 'data', templateId: 256, records: [rec(4)] }]), E, 0);
  assert.deepEqual(
    b.recs.map((r) => r.src),
    ['10.0.0.4'],
  );
  a.dec.decode(ipfix([{ kind: 'templates', templates: [{ id: 256, fields: [] }] }]), E, 1);
  assert.equal(sharedByA.length, 2);
  assert.deepEqual([a.dec.stats.templates, b.dec.stats.templates], [0, 0], 'withdrawn in both');
});

test('a malformed template set is not shared, so its error is counted once', () => {
  const { a, b, sharedByA } = pair();
  const bad = template();
  // Claim more fields than the set holds.
  new DataView(bad.buffer, bad.byteOffset).setUint16(20 + 4 + 2, 200);
  a.dec.decode(bad, E, 0);
  assert.equal(sharedByA.length, 0);
  assert.equal(a.dec.stats.errors.template_overflow, 1);
  assert.equal(b.dec.stats.errors.template_overflow, 0);
});

test('an ipt-netflow stream dealt at random over three decoders: every record decoded exactly once', () => {
  const decs = [collecting(), collecting(), collecting()];
  for (const [i, d] of decs.entries())
    d.dec.onShare = (exp, set) =>
      decs.forEach((o, j) => {
        if (j !== i) o.dec.applyShared(exp, set, 0);
      });
  let truth = { flows: 0, packets: 0, bytes: 0 };
  let seed = 7;
  for (const d of iptNetflowStream({ exporters: 3, recordsPerDatagram: 27, count: 600, addresses: 500, startMs: UNIX * 1000, seed: 5 })) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    decs[seed % 3].dec.decode(d.payload, exporter(d.exporter), d.nowMs);
    truth = { flows: truth.flows + d.records, packets: truth.packets + d.packets, bytes: truth.bytes + d.bytes };
  }
  const all = decs.flatMap((d) => d.recs);
  assert.deepEqual(totals(all), truth);
  assert.ok(decs.every((d) => d.recs.length > 0));
  assert.ok(decs.every((d) => d.dec.stats.pending === 0 && d.dec.stats.heldDropped === 0));
});

test('options data a thread held for its template is shared once the shared template lets it decode', () => {
  const { a, b, sharedByB } = pair();
  // B gets the sampling options before their template; A gets the options template (and shares it).
  const optionsOnly = encodeV9(hdr(3), [
    { kind: 'data', templateId: 512, records: [encodeRecord(OPT, { [SCOPE.INTERFACE]: 0, [IE.SAMPLING_INTERVAL]: 32 })], pad: true },
  ]);
  b.dec.decode(optionsOnly, E, 0);
  assert.equal(b.dec.stats.pending, 1);
  a.dec.decode(
    encodeV9(hdr(4), [
      { kind: 'options-templates', templates: [OPT], pad: true },
      { kind: 'templates', templates: [T] },
    ]),
    E,
    0,
  );
  assert.deepEqual(
    sharedByB.map((s) => s.setId),
    [512],
    'B decoded its held options data and shared what it learnt',
  );
  a.dec.decode(data(1), E, 0);
  assert.equal(a.recs[0].samplingRate, 32, 'A applies the sampling B held');
  assert.deepEqual([a.dec.stats.optionsRecords, b.dec.stats.optionsRecords], [0, 1]);
});

test('the address fallback works across threads: a template one thread learned from one port serves data another thread gets from another port', () => {
  const { a, b } = pair();
  const oldPort = exporter('192.0.2.1', 2055);
  const newPort = exporter('192.0.2.1', 40_001);
  a.dec.decode(template(), oldPort, 0);
  b.dec.decode(data(1, 2), newPort, 10);
  assert.deepEqual(
    b.recs.map((r) => [r.src, r.exporter]),
    [
      ['10.0.0.1', newPort.key],
      ['10.0.0.2', newPort.key],
    ],
  );
  assert.deepEqual([b.dec.stats.templateScopeFallbacks, b.dec.stats.held], [1, 0]);
  // In session scope the data waits for a template of its own session.
  const c = collecting({ templateScope: 'session' });
  c.dec.applyShared(oldPort, { version: 9, sourceId: 0, setId: 0, body: template().subarray(24), baseMs: 0, uptime: 0 }, 0);
  c.dec.decode(data(3), newPort, 10);
  assert.deepEqual([c.recs.length, c.dec.stats.pending], [0, 1]);
});
