import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord, IE, type TemplateSpec } from '../../src/generate/fields.ts';
import { encodeV9 } from '../../src/generate/netflow-v9.ts';
import { heldWeight } from '../../src/decode/exporter-state.ts';
import { collecting, dat, exporter, pcapPayloads, totals } from './util.ts';

const E = exporter();
const T: TemplateSpec = {
  id: 256,
  fields: [
    { id: IE.IPV4_SRC_ADDR, length: 4 },
    { id: IE.IN_PKTS, length: 4 },
    { id: IE.IN_BYTES, length: 4 },
  ],
};
const rec = (i: number) => encodeRecord(T, { [IE.IPV4_SRC_ADDR]: `10.0.0.${i}`, [IE.IN_PKTS]: i, [IE.IN_BYTES]: 100 * i });
const data = (...ids: number[]) =>
  encodeV9({ sysUptimeMs: 1, unixSecs: 1_700_000_000, sequence: 1, sourceId: 0 }, [
    { kind: 'data', templateId: 256, records: ids.map(rec) },
  ]);
const template = () =>
  encodeV9({ sysUptimeMs: 1, unixSecs: 1_700_000_000, sequence: 2, sourceId: 0 }, [{ kind: 'templates', templates: [T] }]);

test('held: data before its template is held and decoded, in order, when the template arrives', () => {
  const { dec, recs } = collecting();
  dec.decode(data(1, 2), E, 0);
  dec.decode(data(3), E, 10);
  assert.equal(recs.length, 0);
  assert.deepEqual([dec.stats.templateMisses, dec.stats.held, dec.stats.pending], [2, 2, 2]);
  dec.decode(template(), E, 20);
  assert.deepEqual(
    recs.map((r) => r.src),
    ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
  );
  assert.deepEqual([dec.stats.heldDecoded, dec.stats.pending, dec.stats.heldDropped], [2, 0, 0]);
});

test('held: data of another exporter or source ID does not use this template', () => {
  const { dec, recs } = collecting();
  dec.decode(data(1), exporter('10.9.9.9'), 0);
  dec.decode(template(), E, 0);
  assert.equal(recs.length, 0);
  assert.equal(dec.stats.pending, 1);
});

test('held: data older than pendingMaxAgeMs is dropped and counted, at expire() or on the next hold', () => {
  const { dec, recs } = collecting({ pendingMaxAgeMs: 1000 });
  dec.decode(data(1), E, 0);
  dec.decode(data(2), E, 900);
  dec.expire(1500);
  assert.deepEqual([dec.stats.heldDropped, dec.stats.pending], [1, 1]);
  dec.decode(template(), E, 1600);
  assert.deepEqual(
    recs.map((r) => r.src),
    ['10.0.0.2'],
  );
  assert.equal(dec.stats.held, dec.stats.heldDecoded + dec.stats.heldDropped + dec.stats.pending);
});

test('held: bounded per exporter by pendingMaxBytes; the oldest go first', () => {
  // A 3-record set of 12-byte records weighs its (pooled) 36 bytes, its 4-byte header and the entry overhead.
  const { dec, recs } = collecting({ pendingMaxBytes: 2 * heldWeight(36) });
  for (let i = 1; i <= 5; i++) dec.decode(data(i * 3, i * 3 + 1, i * 3 + 2), E, i);
  assert.deepEqual([dec.stats.held, dec.stats.heldDropped, dec.stats.pending], [5, 3, 2]);
  dec.decode(data(99), exporter('10.7.7.7'), 6);
  assert.equal(dec.stats.pending, 3, 'another exporter has its own bound');
  dec.decode(template(), E, 7);
  assert.deepEqual(
    recs.map((r) => r.packets),
    [12, 13, 14, 15, 16, 17],
  );
});

test('held: real captures whose data comes before the template decode more than single-pass nfdump', () => {
  // akvorado data+templates: one datagram, its first data set precedes the template (nfdump 10 flows).
  let { dec, recs } = collecting({ sampling: 'nfdump' });
  for (const { payload } of pcapPayloads('akvorado/data+templates.pcap')) dec.decode(payload, E, 0);
  assert.equal(dec.stats.heldDecoded, 1);
  assert.ok(recs.length > 10, `${recs.length} flows`);
  // graylog netflow-v9-3_incomplete: its template never comes; the set stays held, then expires.
  ({ dec, recs } = collecting());
  dec.decode(dat('graylog-plugin-netflow/netflow-v9-3_incomplete.dat'), E, 0);
  assert.deepEqual([recs.length, dec.stats.pending], [0, 1]);
  dec.expire(60_000);
  assert.deepEqual([dec.stats.pending, dec.stats.heldDropped], [0, 1]);
  void totals;
});

test('held: the held bytes are a copy, so a caller reusing its Buffer does not change them', () => {
  const { dec, recs } = collecting();
  const pool = Buffer.alloc(4096);
  const d = data(5);
  pool.set(d, 100);
  dec.decode(pool.subarray(100, 100 + d.length), E, 0);
  pool.fill(0xee);
  dec.decode(template(), E, 1);
  assert.deepEqual(
    recs.map((r) => [r.src, r.packets]),
    [['10.0.0.5', 5]],
  );
});
