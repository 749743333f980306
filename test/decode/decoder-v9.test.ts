import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord, IE, SCOPE, type TemplateSpec } from '../../src/generate/fields.ts';
import { encodeV9 } from '../../src/generate/netflow-v9.ts';
import { collecting, dat, exporter, expectIptStream, expectLogstashTotals, pcapPayloads, totals } from './util.ts';

const E = exporter();
const UNIX = 1_700_000_000;

const T256: TemplateSpec = {
  id: 256,
  fields: [
    { id: IE.IPV4_SRC_ADDR, length: 4 },
    { id: IE.IPV4_DST_ADDR, length: 4 },
    { id: IE.L4_SRC_PORT, length: 2 },
    { id: IE.L4_DST_PORT, length: 2 },
    { id: IE.PROTOCOL, length: 1 },
    { id: IE.TCP_FLAGS, length: 1 },
    { id: IE.IN_BYTES, length: 8 },
    { id: IE.IN_PKTS, length: 3 },
    { id: IE.FIRST_SWITCHED, length: 4 },
    { id: IE.LAST_SWITCHED, length: 4 },
    { id: IE.INPUT_SNMP, length: 2 },
    { id: IE.OUTPUT_SNMP, length: 2 },
    { id: 56, length: 6 }, // a MAC address, not read
    { id: 82, length: 0 }, // zero-length field: legal
  ],
};

function rec256(i: number, bytes: number | bigint = 1000 + i): Uint8Array {
  return encodeRecord(T256, {
    [IE.IPV4_SRC_ADDR]: `10.0.0.${i}`,
    [IE.IPV4_DST_ADDR]: '10.0.1.1',
    [IE.L4_SRC_PORT]: 30000 + i,
    [IE.L4_DST_PORT]: 80,
    [IE.PROTOCOL]: 6,
    [IE.TCP_FLAGS]: 0x12,
    [IE.IN_BYTES]: bytes,
    [IE.IN_PKTS]: 3 + i,
    [IE.FIRST_SWITCHED]: 10_000,
    [IE.LAST_SWITCHED]: 19_000,
    [IE.INPUT_SNMP]: 1,
    [IE.OUTPUT_SNMP]: 2,
    56: '00:11:22:33:44:55',
  });
}

test("v9: the logstash captures give nfdump's flows, packets and bytes", () => {
  const cases: [string[], [number, number, number]][] = [
    [['netflow9_test_valid01.dat'], [7, 13, 1128]],
    [
      ['netflow9_test_macaddr_tpl.dat', 'netflow9_test_macaddr_data.dat'],
      [29, 0, 0],
    ],
    [
      ['netflow9_test_cisco_aci_tpl256-258.dat', 'netflow9_test_cisco_aci_data256.dat'],
      [3, 6, 297],
    ],
    [
      ['netflow9_test_cisco_asa_1_tpl.dat', 'netflow9_test_cisco_asa_1_data.dat'],
      [14, 0, 888],
    ],
    [['netflow9_test_invalid01.dat'], [2, 2, 194].map((x, i) => (i === 0 ? x : x * 100)) as [number, number, number]],
    [['netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat'], [12, 74, 7598]],
    [
      ['netflow9_test_paloalto_81_tpl256-263.dat', 'netflow9_test_paloalto_81_data257_1flowset_in_large_zerofilled_packet.dat'],
      [1, 3, 363],
    ],
    [['netflow9_test_0length_fields_tpl_data.dat'], [10, 2, 64]],
    [
      ['netflow9_test_cisco_asr9k_tpl260.dat', 'netflow9_test_cisco_asr9k_data260.dat'],
      [21, 531, 208031],
    ],
    [
      ['netflow9_test_cisco_asr9k_opttpl256.dat', 'netflow9_test_cisco_asr9k_data256.dat'],
      [0, 0, 0],
    ],
  ];
  expectLogstashTotals(cases);
});

test('v9: the header count is not a limit: data after the templates it counts is decoded (graylog netflow-v9-1: 2 flows)', () => {
  const { dec, recs } = collecting({ sampling: 'nfdump' });
  dec.decode(dat('graylog-plugin-netflow/netflow-v9-1.dat'), E, 0);
  assert.deepEqual(totals(recs), { flows: 2, packets: 9, bytes: 582 });
});

test('v9: template and data in one datagram, every field, 8-byte counter exact, unpadded last flowset', () => {
  const big = 2n ** 40n + 5n;
  const d = encodeV9({ sysUptimeMs: 20_000, unixSecs: UNIX, sequence: 1, sourceId: 0, count: 1 }, [
    { kind: 'templates', templates: [T256], pad: true },
    { kind: 'data', templateId: 256, records: [rec256(1, big), rec256(2)] },
  ]);
  assert.notEqual((d.length - 20) % 4, 0, 'the last flowset is unpadded');
  const { dec, recs } = collecting();
  dec.decode(d, E, 5);
  assert.equal(recs.length, 2);
  assert.deepEqual(recs[0], {
    version: 9,
    exporter: E.key,
    sourceId: 0,
    src: '10.0.0.1',
    dst: '10.0.1.1',
    srcPort: 30001,
    dstPort: 80,
    proto: 6,
    tcpFlags: 0x12,
    bytes: Number(big),
    packets: 4,
    samplingRate: 1,
    startMs: UNIX * 1000 - 10_000,
    endMs: UNIX * 1000 - 1_000,
    inputIf: 1,
    outputIf: 2,
  });
  assert.equal(recs[1].bytes, 1002);
  assert.equal(dec.stats.records.v9, 2);
  assert.equal(dec.stats.templates, 1);
});

test('v9: sets in any order and padded sets; IPv6 template', () => {
  const T6: TemplateSpec = {
    id: 300,
    fields: [
      { id: IE.IPV6_SRC_ADDR, length: 16 },
      { id: IE.IPV6_DST_ADDR, length: 16 },
      { id: IE.IN_BYTES, length: 4 },
      { id: IE.IN_PKTS, length: 4 },
      { id: IE.PROTOCOL, length: 1 },
    ],
  };
  const r6 = encodeRecord(T6, {
    [IE.IPV6_SRC_ADDR]: 'fd00::1',
    [IE.IPV6_DST_ADDR]: '2001:db8::2:1',
    [IE.IN_BYTES]: 99,
    [IE.IN_PKTS]: 1,
    [IE.PROTOCOL]: 17,
  });
  const { dec, recs } = collecting();
  dec.decode(
    encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 1, sourceId: 3 }, [
      { kind: 'templates', templates: [T6], pad: true },
      { kind: 'templates', templates: [T256], pad: true },
      { kind: 'data', templateId: 300, records: [r6], pad: true },
      { kind: 'data', templateId: 256, records: [rec256(7)], pad: true },
      { kind: 'data', templateId: 300, records: [r6, r6] },
    ]),
    E,
    0,
  );
  assert.equal(recs.length, 4);
  assert.deepEqual(
    recs.map((r) => r.src),
    ['fd00::1', '10.0.0.7', 'fd00::1', 'fd00::1'],
  );
  assert.equal(recs[0].dst, '2001:db8::2:1');
  assert.equal(recs[0].sourceId, 3);
  assert.equal(dec.stats.errors.zero_length_set + dec.stats.errors.bad_set_length, 0);
});

test('v9: templates are keyed by exporter: two nodes both send template 256 with source ID 0 and different layouts', () => {
  const A = exporter('10.1.0.1');
  const B = exporter('10.1.0.2');
  const TB: TemplateSpec = {
    id: 256,
    fields: [
      { id: IE.IN_PKTS, length: 4 },
      { id: IE.IPV4_SRC_ADDR, length: 4 },
      { id: IE.IPV4_DST_ADDR, length: 4 },
    ],
  };
  const { dec, recs } = collecting();
  dec.decode(encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 1, sourceId: 0 }, [{ kind: 'templates', templates: [T256] }]), A, 0);
  dec.decode(encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 1, sourceId: 0 }, [{ kind: 'templates', templates: [TB] }]), B, 0);
  dec.decode(
    encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 2, sourceId: 0 }, [
      {
        kind: 'data',
        templateId: 256,
        records: [encodeRecord(TB, { [IE.IN_PKTS]: 5, [IE.IPV4_SRC_ADDR]: '10.9.9.9', [IE.IPV4_DST_ADDR]: '10.8.8.8' })],
      },
    ]),
    B,
    0,
  );
  dec.decode(
    encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 2, sourceId: 0 }, [{ kind: 'data', templateId: 256, records: [rec256(4)] }]),
    A,
    0,
  );
  assert.deepEqual(
    recs.map((r) => [r.exporter, r.src, r.packets]),
    [
      [B.key, '10.9.9.9', 5],
      [A.key, '10.0.0.4', 7],
    ],
  );
  assert.equal(dec.stats.templates, 2);
});

test('v9: a new template with the same key replaces the old one', () => {
  const T2: TemplateSpec = {
    id: 256,
    fields: [
      { id: IE.IPV4_DST_ADDR, length: 4 },
      { id: IE.IN_BYTES, length: 2 },
    ],
  };
  const { dec, recs } = collecting();
  dec.decode(
    encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 1, sourceId: 0 }, [
      { kind: 'templates', templates: [T256] },
      { kind: 'data', templateId: 256, records: [rec256(1)] },
    ]),
    E,
    0,
  );
  dec.decode(
    encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 2, sourceId: 0 }, [
      { kind: 'templates', templates: [T2] },
      { kind: 'data', templateId: 256, records: [encodeRecord(T2, { [IE.IPV4_DST_ADDR]: '1.2.3.4', [IE.IN_BYTES]: 77 })] },
    ]),
    E,
    0,
  );
  assert.deepEqual(
    recs.map((r) => [r.dst, r.bytes]),
    [
      ['10.0.1.1', 1001],
      ['1.2.3.4', 77],
    ],
  );
  assert.equal(dec.stats.templates, 1);
  assert.equal(dec.stats.templatesReceived, 2);
});

test('v9: templates not refreshed within templateTtlMs expire; refreshed ones live on', () => {
  const T2: TemplateSpec = { id: 257, fields: [{ id: IE.IN_BYTES, length: 4 }] };
  const { dec } = collecting({ templateTtlMs: 1000 });
  dec.decode(encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 1, sourceId: 0 }, [{ kind: 'templates', templates: [T256, T2] }]), E, 0);
  dec.decode(encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 2, sourceId: 0 }, [{ kind: 'templates', templates: [T2] }]), E, 800);
  dec.expire(1500);
  assert.equal(dec.stats.templates, 1);
  assert.equal(dec.stats.templatesExpired, 1);
  dec.decode(
    encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 3, sourceId: 0 }, [{ kind: 'data', templateId: 256, records: [rec256(1)] }]),
    E,
    1500,
  );
  assert.equal(dec.stats.templateMisses, 1);
  dec.expire(2000);
  assert.equal(dec.stats.templates, 0);
});

test('v9: FIRST/LAST_SWITCHED beyond a wrapped sysUptime still give the right absolute time (softflowd uptimewrap)', () => {
  const times = (file: string): number[][] => {
    const { dec, recs } = collecting();
    for (const { payload } of pcapPayloads(file)) dec.decode(payload, E, 0);
    assert.equal(recs.length, 19);
    assert.deepEqual(totals(recs), { flows: 19, packets: 498, bytes: 412219 });
    return recs.map((r) => [r.startMs, r.endMs]);
  };
  const wrapped = times('generated/softflowd-v9-basic-uptimewrap.pcap');
  const normal = times('generated/softflowd-v9-basic.pcap');
  // Same traffic, exported twice: the two captures agree on every flow's span to within seconds.
  for (let i = 0; i < wrapped.length; i++) {
    assert.ok(Math.abs(wrapped[i][1] - wrapped[i][0] - (normal[i][1] - normal[i][0])) < 1000, `flow ${i} span`);
  }
  assert.ok(Math.abs(wrapped[0][0] - normal[0][0]) < 3600_000, 'not ~49 days off');
});

test('v9: options sampling with sampler IDs scales each record by its own sampler (akvorado multiplesamplingrates)', () => {
  const files = [
    'multiplesamplingrates-options-template.pcap',
    'multiplesamplingrates-options-data.pcap',
    'multiplesamplingrates-template.pcap',
    'multiplesamplingrates-data.pcap',
  ];
  const run = (sampling: 'rfc' | 'nfdump') => {
    const { dec, recs } = collecting({ sampling });
    for (const f of files) for (const { payload } of pcapPayloads(`akvorado/${f}`)) dec.decode(payload, E, 0);
    return recs;
  };
  const rfc = run('rfc');
  // 20 packets on sampler 1 (1 in 2000) and 18 on sampler 2 (1 in 4000).
  assert.equal(totals(rfc).packets, 20 * 2000 + 18 * 4000);
  assert.deepEqual([...new Set(rfc.map((r) => r.samplingRate))].sort(), [2000, 4000]);
  // nfdump 1.7 keeps only the first sampler of the options set: its published counts.
  assert.deepEqual(totals(run('nfdump')), { flows: 12, packets: 40018, bytes: 26941348 });
});

test("v9: an options record without sampler ID sets the exporter's default rate (softflowd SAMPLING_INTERVAL)", () => {
  const OPT: TemplateSpec = {
    id: 512,
    scopeFields: [{ id: SCOPE.INTERFACE, length: 4 }],
    fields: [
      { id: IE.SAMPLING_INTERVAL, length: 4 },
      { id: IE.SAMPLING_ALGORITHM, length: 1 },
    ],
  };
  const { dec, recs } = collecting();
  dec.decode(
    encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 1, sourceId: 0 }, [
      { kind: 'options-templates', templates: [OPT], pad: true },
      {
        kind: 'data',
        templateId: 512,
        records: [encodeRecord(OPT, { [SCOPE.INTERFACE]: 0, [IE.SAMPLING_INTERVAL]: 64, [IE.SAMPLING_ALGORITHM]: 1 })],
        pad: true,
      },
      { kind: 'templates', templates: [T256] },
    ]),
    E,
    0,
  );
  dec.decode(
    encodeV9({ sysUptimeMs: 1, unixSecs: UNIX, sequence: 2, sourceId: 0 }, [{ kind: 'data', templateId: 256, records: [rec256(1)] }]),
    E,
    0,
  );
  assert.equal(dec.stats.optionsRecords, 1);
  assert.deepEqual([recs[0].samplingRate, recs[0].packets, recs[0].bytes], [64, 4 * 64, 1001 * 64]);
});

test("v9: ipt-netflow stream: every record and sum equals the generator's ground truth, interface names kept", () => {
  const { dec, recs } = expectIptStream({
    exporters: 2,
    recordsPerDatagram: 34,
    count: 200,
    addresses: 4000,
    startMs: UNIX * 1000,
    seed: 3,
  });
  assert.ok(recs.every((r) => r.startMs <= r.endMs && Math.abs(r.endMs - UNIX * 1000) < 3600_000));
  assert.equal(dec.interfaceName(exporter('10.1.0.1'), 0, 2), 'eth0');
  assert.equal(dec.interfaceName(exporter('10.1.0.1'), 0, 1), 'lo');
});
