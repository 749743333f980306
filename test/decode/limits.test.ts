/**
 * Decoder state stays bounded whatever exporters send: the byte budget and each exporter's share
 * of it, exporters tracked (least recently seen evicted), templates per exporter, fields per
 * template, held data weighed by its bytes, work per datagram; every cap hit is counted, and what
 * expires or is evicted gives its bytes back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord, IE, type TemplateSpec } from '../../src/generate/fields.ts';
import { encodeV9 } from '../../src/generate/netflow-v9.ts';
import { encodeIpfix } from '../../src/generate/ipfix.ts';
import { DOMAIN_BYTES, EXPORTER_BYTES, heldWeight, templateCost } from '../../src/decode/exporter-state.ts';
import { collecting, exporter } from './util.ts';

const hdr = (sourceId = 0) => ({ sysUptimeMs: 1, unixSecs: 1_700_000_000, sequence: 1, sourceId });
const T = (id: number, extra = 0): TemplateSpec => ({
  id,
  fields: [
    { id: IE.IPV4_SRC_ADDR, length: 4 },
    { id: IE.IN_PKTS, length: 4 },
    { id: IE.IN_BYTES, length: 4 },
    ...Array.from({ length: extra }, (_, i) => ({ id: 1000 + i, length: 1 })),
  ],
});
const templates = (...ts: TemplateSpec[]) => encodeV9(hdr(), [{ kind: 'templates', templates: ts }]);
const data = (id: number, n = 1, t = T(id)) =>
  encodeV9(hdr(), [
    {
      kind: 'data',
      templateId: id,
      records: Array.from({ length: n }, (_, i) =>
        encodeRecord(t, { [IE.IPV4_SRC_ADDR]: `10.0.0.${i + 1}`, [IE.IN_PKTS]: 1, [IE.IN_BYTES]: 100 }),
      ),
    },
  ]);

test('limits: a template with more fields than maxTemplateFields is refused and counted, without being built', () => {
  const { dec, recs } = collecting({ maxTemplateFields: 20 });
  dec.decode(templates(T(256, 30), T(257, 10)), exporter(), 0);
  assert.deepEqual([dec.stats.templates, dec.stats.errors.template_too_large, dec.stats.limits.template_fields], [1, 1, 1]);
  dec.decode(data(257, 2, T(257, 10)), exporter(), 0);
  assert.equal(recs.length, 2);
  // IPFIX and the default cap (512): 600 fields refused.
  const big = encodeIpfix({ exportTimeSecs: 1, sequence: 0, observationDomainId: 1 }, [{ kind: 'templates', templates: [T(300, 600)] }]);
  const d2 = collecting();
  d2.dec.decode(big, exporter(), 0);
  assert.deepEqual([d2.dec.stats.templates, d2.dec.stats.limits.template_fields], [0, 1]);
});

test('limits: templates per exporter, across its domains', () => {
  const { dec } = collecting({ maxTemplatesPerExporter: 5 });
  dec.decode(templates(...[256, 257, 258, 259].map((id) => T(id))), exporter(), 0);
  dec.decode(encodeV9(hdr(7), [{ kind: 'templates', templates: [T(256), T(257)] }]), exporter(), 0);
  assert.deepEqual([dec.stats.templates, dec.stats.limits.templates_per_exporter], [5, 1]);
  // A refresh or a changed layout of a kept template is still taken.
  dec.decode(templates(T(256, 2)), exporter(), 1);
  assert.deepEqual([dec.stats.templates, dec.stats.limits.templates_per_exporter], [5, 1]);
  // Another exporter has its own.
  dec.decode(templates(T(256)), exporter('10.9.9.9'), 0);
  assert.equal(dec.stats.templates, 6);
});

test('limits: past maxExporters the least recently seen exporter is evicted, with its templates and held data counted', () => {
  const { dec, recs } = collecting({ maxExporters: 3 });
  for (let i = 1; i <= 3; i++) dec.decode(templates(T(256)), exporter(`10.0.0.${i}`), i * 2000);
  dec.decode(data(999), exporter('10.0.0.1'), 7000); // held, and 10.0.0.1 is seen again
  dec.decode(templates(T(256)), exporter('10.0.0.4'), 8000);
  assert.deepEqual([dec.stats.exporters, dec.stats.limits.exporters, dec.stats.templatesEvicted], [3, 1, 1]);
  dec.decode(data(256), exporter('10.0.0.2'), 9000); // evicted: its template is gone
  assert.equal(recs.length, 0);
  dec.decode(data(256), exporter('10.0.0.1'), 9000);
  assert.equal(recs.length, 1, 'the exporter seen again kept its template');
  assert.equal(dec.stats.held, dec.stats.heldDecoded + dec.stats.heldDropped + dec.stats.pending);
});

test('limits: one exporter cannot take more than its share of the budget; the budget evicts the least recently seen exporter once idle, else refuses', () => {
  const cost = templateCost(3);
  // Share: the exporter itself, a domain and 4 templates.
  const share = EXPORTER_BYTES + DOMAIN_BYTES + 4 * cost;
  const { dec } = collecting({ stateBudgetBytes: 3 * share, exporterShareBytes: share });
  dec.decode(templates(...[256, 257, 258, 259, 260].map((id) => T(id))), exporter('10.0.0.1'), 0);
  assert.deepEqual([dec.stats.templates, dec.stats.limits.exporter_share], [4, 1]);
  assert.equal(dec.stateBytes(), share);
  dec.decode(templates(...[256, 257, 258, 259].map((id) => T(id))), exporter('10.0.0.2'), 1000);
  dec.decode(templates(...[256, 257, 258, 259].map((id) => T(id))), exporter('10.0.0.3'), 2000);
  assert.equal(dec.stateBytes(), 3 * share);
  // Everyone is active: the newcomer is refused, nobody's templates go.
  dec.decode(templates(T(256)), exporter('10.0.0.4'), 30_000);
  assert.deepEqual([dec.stats.limits.state_budget, dec.stats.templatesEvicted, dec.stats.templates], [1, 0, 12]);
  // A minute later 10.0.0.1 has been silent longest: it makes room.
  dec.decode(templates(T(256)), exporter('10.0.0.2'), 61_500);
  dec.decode(templates(T(256)), exporter('10.0.0.4'), 62_000);
  assert.equal(dec.stats.limits.state_budget, 2);
  assert.equal(dec.stats.templatesEvicted, 4, '10.0.0.1, least recently seen and idle, made room');
  assert.equal(dec.stats.templates, 9);
  assert.ok(dec.stateBytes() <= 3 * share);
  assert.equal(dec.stats.stateBytes, dec.stateBytes());
});

test('limits: held data weighs its buffer, its set header and an entry overhead; an empty set is refused, not held', () => {
  const { dec } = collecting({ pendingMaxBytes: 3 * heldWeight(12) });
  const empty = encodeV9(hdr(), [{ kind: 'raw', id: 300, body: new Uint8Array(0) }]);
  dec.decode(empty, exporter(), 0);
  assert.deepEqual([dec.stats.held, dec.stats.errors.short_data_set, dec.stats.setsRefused], [0, 1, 1]);
  const tiny = encodeV9(
    hdr(),
    Array.from({ length: 5 }, () => ({ kind: 'raw' as const, id: 300, body: new Uint8Array(12) })),
  );
  assert.equal(dec.stateBytes(), 0, 'an exporter that left nothing is not kept');
  dec.decode(tiny, exporter(), 0);
  assert.deepEqual([dec.stats.held, dec.stats.pending, dec.stats.heldDropped, dec.stats.limits.held_exporter_share], [5, 3, 2, 2]);
  assert.equal(dec.stateBytes(), EXPORTER_BYTES + 3 * heldWeight(12));
});

test('limits: work per datagram: held sets and template records past the cap are dropped and counted', () => {
  const { dec } = collecting({ maxHeldPerDatagram: 4, maxTemplateRecordsPerDatagram: 10 });
  const flood = encodeV9(
    hdr(),
    Array.from({ length: 1000 }, (_, i) => ({ kind: 'raw' as const, id: 300 + i, body: new Uint8Array(1) })),
  );
  dec.decode(flood, exporter(), 0);
  assert.deepEqual([dec.stats.dataSets, dec.stats.held, dec.stats.pending, dec.stats.heldDropped], [1000, 1000, 4, 996]);
  assert.equal(dec.stats.limits.datagram_work, 996);
  dec.decode(templates(...Array.from({ length: 30 }, (_, i) => T(256 + i))), exporter('10.1.1.1'), 0);
  assert.equal(dec.stats.templates, 10);
});

test('limits: the global held budget drops the oldest held set of any exporter first', () => {
  const w = heldWeight(12);
  const budget = 3 * (EXPORTER_BYTES + w) + 10;
  const { dec } = collecting({ stateBudgetBytes: budget, exporterShareBytes: budget, pendingMaxBytes: budget });
  const one = encodeV9(hdr(), [{ kind: 'raw', id: 300, body: new Uint8Array(12) }]);
  for (let i = 1; i <= 3; i++) dec.decode(one, exporter(`10.0.0.${i}`), i);
  assert.equal(dec.stats.pending, 3);
  // A fourth exporter: its own overhead pushes past the budget, so the oldest held set goes.
  dec.decode(one, exporter('10.0.0.4'), 4);
  assert.deepEqual([dec.stats.pending, dec.stats.heldDropped], [3, 1]);
  assert.ok(dec.stats.limits.state_budget >= 1);
  assert.ok(dec.stateBytes() <= budget + EXPORTER_BYTES);
  dec.expire(100_000);
  assert.deepEqual([dec.stats.pending, dec.stateBytes(), dec.stats.exporters], [0, 0, 0], 'expired held data gives its exporters back');
});

test('limits: expiry is due-driven: exporters expire at their own deadlines, refreshed ones live on, and the tables empty', () => {
  const { dec } = collecting({ templateTtlMs: 10_000 });
  for (let i = 0; i < 200; i++) dec.decode(templates(T(256), T(257)), exporter(`10.0.${i >> 8}.${i & 255}`), i * 10);
  assert.equal(dec.stats.templates, 400);
  // Half of them refresh one template at 15 s.
  for (let i = 0; i < 200; i += 2) dec.decode(templates(T(256)), exporter(`10.0.${i >> 8}.${i & 255}`), 15_000);
  for (let t = 0; t <= 40_000; t += 1000) dec.expire(t);
  assert.equal(dec.stats.templates, 0);
  assert.equal(dec.stats.exporters, 0);
  assert.equal(dec.stateBytes(), 0);
  const d2 = collecting({ templateTtlMs: 10_000 });
  for (let i = 0; i < 200; i++) d2.dec.decode(templates(T(256), T(257)), exporter(`10.0.${i >> 8}.${i & 255}`), i * 10);
  for (let i = 0; i < 200; i += 2) d2.dec.decode(templates(T(256)), exporter(`10.0.${i >> 8}.${i & 255}`), 15_000);
  d2.dec.expire(24_000);
  assert.deepEqual([d2.dec.stats.templates, d2.dec.stats.exporters, d2.dec.stats.templatesExpired], [100, 100, 300]);
});

test('a data set with a record cut short after its last whole one is counted (short_record); zero padding is not', () => {
  const { dec, recs } = collecting();
  dec.decode(templates(T(256)), exporter(), 0);
  const whole = data(256, 2);
  const cut = new Uint8Array(whole.length + 7);
  cut.set(whole);
  cut.fill(0xab, whole.length);
  new DataView(cut.buffer).setUint16(22, whole.length - 20 + 7); // the set now ends 7 bytes into a third record
  dec.decode(cut, exporter(), 0);
  assert.equal(recs.length, 2);
  assert.deepEqual([dec.stats.errors.short_record, dec.stats.setsDecoded], [1, 1]);
  const padded = new Uint8Array(whole.length + 8);
  padded.set(whole);
  new DataView(padded.buffer).setUint16(22, whole.length - 20 + 8);
  dec.decode(padded, exporter(), 0);
  assert.equal(recs.length, 4);
  assert.equal(dec.stats.errors.short_record, 1, 'zeros after the last record are padding');
});
