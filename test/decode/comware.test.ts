/**
 * H3C/HPE Comware NetStream v9: string fields with length 65535, encoded as IPFIX variable-length
 * fields, and an export process that changes its UDP source port on restart. The capture
 * (fixtures/comware-netstream-v9.pcap, made by src/generate/comware-v9.ts) gives nfdump 1.7.1
 * 288 flows, 69,904 packets and 53,517,785 bytes (replayed to nfcapd with
 * ../shared/testdata/netflow/tools/nf-ref.sh); before this decoder read such fields, it gave
 * 0 records and no error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readCapture } from '../../src/ingest/capture.ts';
import { comwareStream, COMWARE_IPV4 } from '../../src/generate/comware-v9.ts';
import { encodeRecord, IE } from '../../src/generate/fields.ts';
import { encodeV9 } from '../../src/generate/netflow-v9.ts';
import { comwarePcap, COMWARE_EXPORTER } from './fixtures/make-comware.ts';
import { collecting, exporter, totals } from './util.ts';
import type { DecoderOptions } from '../../src/decode/decoder.ts';

const FIXTURE = new URL('./fixtures/comware-netstream-v9.pcap', import.meta.url).pathname;
const NFDUMP = { flows: 288, packets: 69_904, bytes: 53_517_785 };

function decodeCapture(options?: Partial<DecoderOptions>) {
  const c = collecting(options);
  for (const p of readCapture(FIXTURE)) c.dec.decode(p.payload.slice(), exporter(p.srcAddr, p.srcPort), p.tsMs);
  return c;
}

test('comware: the committed capture is what the generator makes', () => {
  assert.deepEqual(new Uint8Array(readFileSync(FIXTURE)), comwarePcap());
});

test("comware: v9 length-65535 fields decode as IPFIX variable-length ones: nfdump's flows, packets and bytes", () => {
  for (const compilesPerDatagram of [8, 0]) {
    const { dec, recs } = decodeCapture({ compilesPerDatagram });
    assert.deepEqual(totals(recs), NFDUMP, `compilesPerDatagram ${compilesPerDatagram}`);
    assert.equal(dec.stats.setsRefused, 0);
    assert.equal(dec.stats.errors.truncated_record, 0);
    // The generator's own ground truth agrees.
    const truth = { flows: 0, packets: 0, bytes: 0 };
    for (const d of comwareStream()) {
      truth.flows += d.records;
      truth.packets += d.packets;
      truth.bytes += d.bytes;
    }
    assert.deepEqual(truth, NFDUMP);
    // Options records with variable-length names: interface names, one past 255 bytes (3-byte length).
    const E = exporter(COMWARE_EXPORTER, 50_001);
    assert.equal(dec.interfaceName(E, 0x100, 3), 'Ten-GigabitEthernet1/0/49');
    assert.equal(dec.interfaceName(E, 0x100, 4), 'Vlan-interface100');
    const v6 = recs.filter((r) => r.src.startsWith('2001:db8:'));
    assert.equal(v6.length, 96);
    assert.ok(
      recs.every((r) => r.startMs > 1_759_990_000_000 && r.endMs >= r.startMs),
      'times read past the variable-length field',
    );
  }
});

test('comware: a variable-length value running past its set is counted under truncated_record, the records before it kept', () => {
  const good = encodeRecord(COMWARE_IPV4, { [IE.IPV4_SRC_ADDR]: '10.0.0.1', [IE.IN_PKTS]: 2, [IE.IN_BYTES]: 300, 96: 'http' });
  const bad = encodeRecord(COMWARE_IPV4, { [IE.IPV4_SRC_ADDR]: '10.0.0.2', [IE.IN_PKTS]: 2, [IE.IN_BYTES]: 300, 96: 'https' });
  bad[bad.length - 6] = 200; // the name's length byte now claims 200 bytes
  const hdr = { sysUptimeMs: 1, unixSecs: 1_700_000_000, sequence: 1, sourceId: 0 };
  const { dec, recs } = collecting();
  dec.decode(encodeV9(hdr, [{ kind: 'templates', templates: [COMWARE_IPV4] }]), exporter(), 0);
  dec.decode(encodeV9(hdr, [{ kind: 'data', templateId: 256, records: [good, bad] }]), exporter(), 0);
  assert.deepEqual(
    recs.map((r) => r.src),
    ['10.0.0.1'],
  );
  assert.equal(dec.stats.errors.truncated_record, 1);
  dec.decode(encodeV9(hdr, [{ kind: 'data', templateId: 256, records: [bad] }]), exporter(), 0);
  assert.equal(recs.length, 1);
  assert.deepEqual([dec.stats.errors.truncated_record, dec.stats.setsRefused, dec.stats.setsDecoded], [2, 1, 1]);
});

test("comware: a restart on a new source port decodes with the address's templates (templateScope address), not in session scope", () => {
  // Templates never come again after the restart: in session scope the data waits, then expires.
  const stream = [...comwareStream({ datagrams: 20, restartAfter: 8, blindAfterRestart: 1000 })];
  const run = (templateScope: 'session' | 'address') => {
    const c = collecting({ templateScope });
    for (const d of stream) c.dec.decode(d.payload, exporter(COMWARE_EXPORTER, d.srcPort), d.tsMs);
    c.dec.expire(stream[stream.length - 1].tsMs + 60_000);
    return c;
  };
  const truth = stream.reduce((t, d) => ({ flows: t.flows + d.records, packets: t.packets + d.packets, bytes: t.bytes + d.bytes }), {
    flows: 0,
    packets: 0,
    bytes: 0,
  });
  const address = run('address');
  assert.deepEqual(totals(address.recs), truth);
  assert.equal(address.dec.stats.templateScopeFallbacks, 12 * 2, 'one fallback per data set after the restart (v4 and v6 each)');
  assert.equal(address.dec.stats.held, 0);
  const session = run('session');
  assert.equal(session.recs.length, 8 * 12, 'only the records before the restart');
  assert.equal(session.dec.stats.templateScopeFallbacks, 0);
  assert.deepEqual([session.dec.stats.held, session.dec.stats.heldDropped], [24, 24]);
});

test('scope fallback: data held on one port is decoded when its template arrives on another port of the same address', () => {
  const stream = [...comwareStream({ datagrams: 4, restartAfter: 100 })];
  const [tpl, ...data] = stream;
  const { dec, recs } = collecting();
  for (const d of data) dec.decode(d.payload, exporter(COMWARE_EXPORTER, 40_000), d.tsMs);
  assert.equal(dec.stats.pending, 8);
  dec.decode(tpl.payload, exporter(COMWARE_EXPORTER, 40_001), tpl.tsMs);
  assert.equal(recs.length, 4 * 12);
  assert.equal(dec.stats.templateScopeFallbacks, 8);
  // Another address never borrows them.
  dec.decode(data[0].payload, exporter('198.51.100.1', 40_000), data[0].tsMs);
  assert.equal(recs.length, 4 * 12);
  assert.equal(dec.stats.pending, 2);
});
