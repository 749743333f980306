import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeV5 } from '../../src/generate/netflow-v5.ts';
import { collecting, dat, exporter, totals } from './util.ts';

const E = exporter();

test('v5: several PDUs back to back in one datagram are all decoded, by their own counts (nfdump: 30 flows)', () => {
  const { dec, recs } = collecting();
  dec.decode(dat('logstash-codec-netflow/netflow5.dat'), E, 0);
  assert.deepEqual(totals(recs), { flows: 30, packets: 230, bytes: 18684 });
  assert.equal(dec.stats.records.v5, 30);
  assert.equal(dec.stats.datagramsDecoded, 1);
});

test('v5: a header count above 30 drops the datagram like nfdump (invalid01/02: 0 flows)', () => {
  for (const f of ['netflow5_test_invalid01.dat', 'netflow5_test_invalid02.dat']) {
    const { dec, recs } = collecting();
    dec.decode(dat(`logstash-codec-netflow/${f}`), E, 0);
    assert.equal(recs.length, 0, f);
    assert.equal(dec.stats.errors.bad_count, 1, f);
    assert.equal(dec.stats.datagramsDecoded, 0, f);
  }
});

test('v5: the header sampling interval scales bytes and packets (Juniper MX80, 1 in 1000)', () => {
  const { dec, recs } = collecting();
  dec.decode(dat('logstash-codec-netflow/netflow5_test_juniper_mx80.dat'), E, 0);
  assert.deepEqual(totals(recs), { flows: 29, packets: 31000, bytes: 3989000 });
  assert.ok(recs.every((r) => r.samplingRate === 1000));
});

test('v5: every field of a hand-built record, times across a uint32 sysUptime wrap', () => {
  const unixSecs = 1_700_000_000;
  const d = encodeV5(
    { sysUptimeMs: 5_000, unixSecs, unixNsecs: 250_000_000, sequence: 1, engineType: 1, engineId: 7, samplingInterval: 0 },
    [
      {
        src: '10.0.0.1',
        dst: '192.168.1.2',
        srcPort: 40000,
        dstPort: 443,
        proto: 6,
        tcpFlags: 0x1b,
        packets: 10,
        bytes: 1500,
        first: 2 ** 32 - 3_000,
        last: 4_000,
        inputIf: 3,
        outputIf: 4,
      },
    ],
  );
  const { dec, recs } = collecting();
  dec.decode(d, E, 0);
  assert.equal(recs.length, 1);
  const r = recs[0];
  assert.equal(r.src, '10.0.0.1');
  assert.equal(r.dst, '192.168.1.2');
  assert.deepEqual(
    [r.srcPort, r.dstPort, r.proto, r.tcpFlags, r.packets, r.bytes, r.inputIf, r.outputIf],
    [40000, 443, 6, 0x1b, 10, 1500, 3, 4],
  );
  assert.equal(r.sourceId, (1 << 8) | 7);
  const base = unixSecs * 1000 + 250;
  assert.equal(r.endMs, base - 1_000);
  // First switched before the wrap: 8 s before export, not 49 days later.
  assert.equal(r.startMs, base - 8_000);
});

test('v5: a count needing more bytes than the datagram has is refused, not read past the end', () => {
  const d = encodeV5({ sysUptimeMs: 1, unixSecs: 1, unixNsecs: 0, sequence: 1, engineType: 0, engineId: 0, samplingInterval: 0 }, [
    { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, packets: 1, bytes: 1, first: 0, last: 0 },
  ]);
  const { dec, recs } = collecting();
  dec.decode(d.subarray(0, d.length - 1), E, 0);
  assert.equal(recs.length, 0);
  assert.equal(dec.stats.errors.truncated_v5, 1);
});
