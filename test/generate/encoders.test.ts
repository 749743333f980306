/** The v5, v9 and IPFIX encoders build datagrams that the real decoder reads back field for field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder } from '../../src/decode/decoder.ts';
import { dstAddrString, srcAddrString } from '../../src/decode/record.ts';
import type { FlowRecord } from '../../src/decode/record.ts';
import { encodeField, encodeRecord, IE, ipv6Bytes, SCOPE, VARIABLE_LENGTH } from '../../src/generate/fields.ts';
import type { TemplateSpec } from '../../src/generate/fields.ts';
import { encodeIpfix } from '../../src/generate/ipfix.ts';
import { encodeV5 } from '../../src/generate/netflow-v5.ts';
import { encodeV9 } from '../../src/generate/netflow-v9.ts';

const EXPORTER = { address: '192.0.2.9', port: 2055, key: '192.0.2.9|2055' };
const NOW = 1_790_000_000_000;

interface Rec {
  version: number;
  sourceId: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  proto: number;
  packets: number;
  bytes: number;
  samplingRate: number;
  startMs: number;
  endMs: number;
  inputIf: number;
  outputIf: number;
  tcpFlags: number;
}

function decodeAll(datagrams: Uint8Array[]): { recs: Rec[]; decoder: Decoder } {
  const recs: Rec[] = [];
  const decoder = new Decoder((r: FlowRecord) => {
    recs.push({
      version: r.version,
      sourceId: r.sourceId,
      src: srcAddrString(r),
      dst: dstAddrString(r),
      srcPort: r.srcPort,
      dstPort: r.dstPort,
      proto: r.proto,
      packets: r.packets,
      bytes: r.bytes,
      samplingRate: r.samplingRate,
      startMs: r.startMs,
      endMs: r.endMs,
      inputIf: r.inputIf,
      outputIf: r.outputIf,
      tcpFlags: r.tcpFlags,
    });
  });
  for (const d of datagrams) decoder.decode(d, EXPORTER, NOW);
  return { recs, decoder };
}

test('fields: numbers of any length, addresses, MACs, text, variable length', () => {
  assert.deepEqual([...encodeField({ id: 1, length: 8 }, 2n ** 63n + 5n)], [0x80, 0, 0, 0, 0, 0, 0, 5]);
  assert.deepEqual([...encodeField({ id: 1, length: 3 }, 0x010203)], [1, 2, 3]);
  assert.deepEqual([...encodeField({ id: 8, length: 4 }, '10.244.1.2')], [10, 244, 1, 2]);
  assert.deepEqual([...encodeField({ id: 56, length: 6 }, '02:00:5e:10:00:01')], [2, 0, 0x5e, 0x10, 0, 1]);
  assert.deepEqual([...encodeField({ id: 82, length: 4 }, 'eth0')], [...Buffer.from('eth0')]);
  assert.deepEqual([...encodeField({ id: 82, length: VARIABLE_LENGTH }, 'lo')], [2, ...Buffer.from('lo')]);
  assert.deepEqual([...encodeField({ id: 82, length: VARIABLE_LENGTH }, 'x'.repeat(300))].slice(0, 3), [255, 1, 44]);
  assert.deepEqual([...ipv6Bytes('fd00::1:2')], [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
  assert.deepEqual([...ipv6Bytes('::ffff:192.0.2.1')].slice(10), [0xff, 0xff, 192, 0, 2, 1]);
  assert.throws(() => ipv6Bytes('fd00::1::2'));
});

test('v5: header sampling and every record field decode back', () => {
  const d = encodeV5(
    { sysUptimeMs: 3_600_000, unixSecs: NOW / 1000, sequence: 7, engineType: 1, engineId: 2, samplingInterval: 10, samplingMode: 1 },
    [
      {
        src: '10.0.0.1',
        dst: '10.0.0.2',
        packets: 3,
        bytes: 300,
        first: 3_590_000,
        last: 3_599_000,
        srcPort: 1234,
        dstPort: 80,
        proto: 6,
        tcpFlags: 0x12,
        inputIf: 4,
        outputIf: 5,
      },
      { src: '10.0.0.3', dst: '10.0.0.4', packets: 1, bytes: 64, first: 3_599_500, last: 3_599_500, proto: 1, dstPort: 0x0800 },
    ],
  );
  assert.equal(d.length, 24 + 2 * 48);
  const { recs } = decodeAll([d]);
  assert.equal(recs.length, 2);
  assert.deepEqual(recs[0], {
    version: 5,
    sourceId: (1 << 8) | 2,
    src: '10.0.0.1',
    dst: '10.0.0.2',
    srcPort: 1234,
    dstPort: 80,
    proto: 6,
    packets: 30,
    bytes: 3000,
    samplingRate: 10,
    startMs: NOW - 10_000,
    endMs: NOW - 1000,
    inputIf: 4,
    outputIf: 5,
    tcpFlags: 0x12,
  });
  assert.equal(recs[1].dstPort, 0x0800);
});

const V9_TEMPLATE: TemplateSpec = {
  id: 300,
  fields: [
    { id: IE.IPV6_SRC_ADDR, length: 16 },
    { id: IE.IPV6_DST_ADDR, length: 16 },
    { id: IE.L4_SRC_PORT, length: 2 },
    { id: IE.L4_DST_PORT, length: 2 },
    { id: IE.PROTOCOL, length: 1 },
    { id: IE.IN_BYTES, length: 8 },
    { id: IE.IN_PKTS, length: 8 },
    { id: IE.FIRST_SWITCHED, length: 4 },
    { id: IE.LAST_SWITCHED, length: 4 },
    { id: IE.INPUT_SNMP, length: 4 },
    { id: IE.OUTPUT_SNMP, length: 4 },
    { id: IE.FLOW_SAMPLER_ID, length: 1 },
  ],
};
const V9_OPTIONS: TemplateSpec = {
  id: 301,
  scopeFields: [{ id: SCOPE.SYSTEM, length: 4 }],
  fields: [
    { id: IE.FLOW_SAMPLER_ID, length: 1 },
    { id: IE.FLOW_SAMPLER_MODE, length: 1 },
    { id: IE.FLOW_SAMPLER_RANDOM_INTERVAL, length: 4 },
  ],
};

test('v9: templates, options (a sampler), padded and unpadded sets, IPv6 and 8-byte counters', () => {
  const big = 2 ** 40 + 3;
  const d = encodeV9({ sysUptimeMs: 100_000, unixSecs: NOW / 1000, sequence: 1, sourceId: 42 }, [
    { kind: 'templates', templates: [V9_TEMPLATE] },
    { kind: 'options-templates', templates: [V9_OPTIONS], pad: true },
    {
      kind: 'data',
      templateId: 301,
      records: [
        encodeRecord(V9_OPTIONS, {
          [SCOPE.SYSTEM]: 0,
          [IE.FLOW_SAMPLER_ID]: 3,
          [IE.FLOW_SAMPLER_MODE]: 2,
          [IE.FLOW_SAMPLER_RANDOM_INTERVAL]: 8,
        }),
      ],
      pad: true,
    },
    {
      kind: 'data',
      templateId: 300,
      records: [
        encodeRecord(V9_TEMPLATE, {
          [IE.IPV6_SRC_ADDR]: 'fd00::10',
          [IE.IPV6_DST_ADDR]: 'fd00::20',
          [IE.L4_SRC_PORT]: 5353,
          [IE.L4_DST_PORT]: 53,
          [IE.PROTOCOL]: 17,
          [IE.IN_BYTES]: big,
          [IE.IN_PKTS]: 1,
          [IE.FIRST_SWITCHED]: 90_000,
          [IE.LAST_SWITCHED]: 99_000,
          [IE.INPUT_SNMP]: 70000,
          [IE.OUTPUT_SNMP]: 2,
          [IE.FLOW_SAMPLER_ID]: 3,
        }),
      ],
    },
  ]);
  const dv = new DataView(d.buffer);
  assert.equal(dv.getUint16(2), 4, 'count: 2 templates + 2 data records');
  const { recs, decoder } = decodeAll([d]);
  assert.equal(decoder.stats.optionsRecords, 1);
  assert.deepEqual(recs, [
    {
      version: 9,
      sourceId: 42,
      src: 'fd00::10',
      dst: 'fd00::20',
      srcPort: 5353,
      dstPort: 53,
      proto: 17,
      packets: 8,
      bytes: big * 8,
      samplingRate: 8,
      startMs: NOW - 10_000,
      endMs: NOW - 1000,
      inputIf: 70000,
      outputIf: 2,
      tcpFlags: 0,
    },
  ]);
});

test('IPFIX: enterprise and variable-length fields, absolute times, withdrawal', () => {
  const t: TemplateSpec = {
    id: 400,
    fields: [
      { id: IE.IPV4_SRC_ADDR, length: 4 },
      { id: IE.IPV4_DST_ADDR, length: 4 },
      { id: 9999, length: 4, enterprise: 12345 },
      { id: IE.IF_NAME, length: VARIABLE_LENGTH },
      { id: IE.OCTET_TOTAL, length: 8 },
      { id: IE.PACKET_TOTAL, length: 4 },
      { id: IE.FLOW_START_MILLISECONDS, length: 8 },
      { id: IE.FLOW_END_MILLISECONDS, length: 8 },
      { id: IE.PROTOCOL, length: 1 },
    ],
  };
  const rec = (src: string, name: string) =>
    encodeRecord(t, {
      [IE.IPV4_SRC_ADDR]: src,
      [IE.IPV4_DST_ADDR]: '10.0.0.9',
      '12345/9999': 0xdeadbeef,
      [IE.IF_NAME]: name,
      [IE.OCTET_TOTAL]: 1500,
      [IE.PACKET_TOTAL]: 1,
      [IE.FLOW_START_MILLISECONDS]: NOW - 2000,
      [IE.FLOW_END_MILLISECONDS]: NOW - 1500,
      [IE.PROTOCOL]: 6,
    });
  const first = encodeIpfix({ exportTimeSecs: NOW / 1000, sequence: 0, observationDomainId: 7 }, [
    { kind: 'templates', templates: [t] },
    { kind: 'data', templateId: 400, records: [rec('10.0.0.1', 'eth0'), rec('10.0.0.2', 'a-rather-longer-interface-name')] },
  ]);
  assert.equal(new DataView(first.buffer).getUint16(2), first.length);
  // A withdrawal (template with no fields), then data for the withdrawn template: held, not decoded.
  const second = encodeIpfix({ exportTimeSecs: NOW / 1000, sequence: 2, observationDomainId: 7 }, [
    { kind: 'templates', templates: [{ id: 400, fields: [] }] },
    { kind: 'data', templateId: 400, records: [rec('10.0.0.3', 'x')] },
  ]);
  const { recs, decoder } = decodeAll([first, second]);
  assert.deepEqual(
    recs.map((r) => [r.version, r.sourceId, r.src, r.bytes, r.packets, r.startMs, r.endMs]),
    [
      [10, 7, '10.0.0.1', 1500, 1, NOW - 2000, NOW - 1500],
      [10, 7, '10.0.0.2', 1500, 1, NOW - 2000, NOW - 1500],
    ],
  );
  assert.equal(decoder.stats.templatesWithdrawn, 1);
});

test('raw sets reach the decoder as given (for malformed-input tests)', () => {
  const d = encodeV9({ sysUptimeMs: 0, unixSecs: 0, sequence: 0, sourceId: 0, count: 1 }, [
    { kind: 'raw', id: 0, body: Uint8Array.of(1, 44, 0, 200) },
  ]);
  const { decoder } = decodeAll([d]);
  assert.equal(decoder.stats.errors.template_overflow + decoder.stats.errors.bad_template, 1);
});
