import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord, concatBytes, type TemplateSpec } from '../../src/generate/fields.ts';
import { encodeIpfix } from '../../src/generate/ipfix.ts';
import { collecting, exporter, expectIptStream, expectLogstashTotals, pcapPayloads, totals } from './util.ts';

const E = exporter();
const EXPORT = 1_700_000_000;
const msg = (sets: Parameters<typeof encodeIpfix>[1], domain = 1) =>
  encodeIpfix({ exportTimeSecs: EXPORT, sequence: 0, observationDomainId: domain }, sets);

test("IPFIX: the logstash captures give nfdump's flows, packets and bytes", () => {
  const cases: [string[], [number, number, number]][] = [
    [['ipfix.dat'], [6, 42, 10563]],
    [['ipfix_test_ixia_tpldata256.dat'], [1, 4, 360]],
    [
      [
        'ipfix_test_vmware_vds_tpl.dat',
        'ipfix_test_vmware_vds_data264.dat',
        'ipfix_test_vmware_vds_data266.dat',
        'ipfix_test_vmware_vds_data266_267.dat',
      ],
      [5, 8, 806],
    ],
    [
      ['ipfix_test_barracuda_tpl.dat', 'ipfix_test_barracuda_data256.dat'],
      [8, 4, 388],
    ],
    [
      ['ipfix_test_procera_tpl52935.dat', 'ipfix_test_procera_data52935.dat'],
      [8, 0, 0],
    ],
    [
      ['ipfix_test_viptela_tpl257.dat', 'ipfix_test_viptela_data257.dat'],
      [1, 8, 775],
    ],
    [
      ['ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat', 'ipfix_test_juniper_mx240_junos151r6s3_data512.dat'],
      [0, 0, 0],
    ],
  ];
  expectLogstashTotals(cases);
});

test('IPFIX: variable-length fields (short and 3-byte lengths) and enterprise fields are skipped by their length', () => {
  const T: TemplateSpec = {
    id: 400,
    fields: [
      { id: 8, length: 4 },
      { id: 96, length: 65535 }, // applicationName, variable
      { id: 12, length: 4 },
      { id: 100, length: 3, enterprise: 9 }, // someone's private field
      { id: 1, length: 8 },
      { id: 97, length: 65535 },
      { id: 2, length: 4 },
    ],
  };
  const long = new Uint8Array(300).fill(65);
  const r1 = concatBytes([
    Uint8Array.of(10, 0, 0, 1),
    Uint8Array.of(3, 104, 105, 33),
    Uint8Array.of(10, 0, 0, 2),
    Uint8Array.of(1, 2, 3),
    new Uint8Array(8).fill(0).map((_, i) => (i === 7 ? 200 : 0)),
    Uint8Array.of(255, 1, 44),
    long,
    Uint8Array.of(0, 0, 0, 7),
  ]);
  const r2 = concatBytes([
    Uint8Array.of(10, 0, 0, 3),
    Uint8Array.of(0),
    Uint8Array.of(10, 0, 0, 4),
    Uint8Array.of(1, 2, 3),
    new Uint8Array(8).map((_, i) => (i === 7 ? 9 : 0)),
    Uint8Array.of(0),
    Uint8Array.of(0, 0, 0, 1),
  ]);
  const { dec, recs } = collecting();
  dec.decode(
    msg([
      { kind: 'templates', templates: [T] },
      { kind: 'data', templateId: 400, records: [r1, r2] },
    ]),
    E,
    0,
  );
  assert.deepEqual(
    recs.map((r) => [r.src, r.dst, r.bytes, r.packets]),
    [
      ['10.0.0.1', '10.0.0.2', 200, 7],
      ['10.0.0.3', '10.0.0.4', 9, 1],
    ],
  );
  assert.equal(dec.stats.errors.truncated_record, 0);
  // The same record cut inside its long string: counted, nothing read past the set.
  const cut = r1.subarray(0, 40);
  dec.decode(msg([{ kind: 'data', templateId: 400, records: [cut] }]), E, 0);
  assert.equal(recs.length, 2);
  assert.equal(dec.stats.errors.truncated_record, 1);
});

test('IPFIX: flow times in seconds, milliseconds, microseconds (NTP) and sysUpTime with systemInitTimeMilliseconds', () => {
  const start = 1_699_999_990_123;
  const end = 1_699_999_999_456;
  const ntp = (ms: number): bigint =>
    (BigInt(Math.floor(ms / 1000) + 2208988800) << 32n) + BigInt(Math.round(((ms % 1000) / 1000) * 2 ** 32));
  const cases: [TemplateSpec, Record<string, number | bigint>, number, number][] = [
    [
      {
        id: 500,
        fields: [
          { id: 150, length: 4 },
          { id: 151, length: 4 },
        ],
      },
      { 150: Math.floor(start / 1000), 151: Math.floor(end / 1000) },
      Math.floor(start / 1000) * 1000,
      Math.floor(end / 1000) * 1000,
    ],
    [
      {
        id: 501,
        fields: [
          { id: 152, length: 8 },
          { id: 153, length: 8 },
        ],
      },
      { 152: start, 153: end },
      start,
      end,
    ],
    [
      {
        id: 502,
        fields: [
          { id: 154, length: 8 },
          { id: 155, length: 8 },
        ],
      },
      { 154: ntp(start), 155: ntp(end) },
      start,
      end,
    ],
    [
      {
        id: 503,
        fields: [
          { id: 160, length: 8 },
          { id: 22, length: 4 },
          { id: 21, length: 4 },
        ],
      },
      { 160: start - 5000, 22: 5000, 21: 5000 + end - start },
      start,
      end,
    ],
  ];
  for (const [T, values, s, e] of cases) {
    const { dec, recs } = collecting();
    dec.decode(
      msg([
        { kind: 'templates', templates: [T] },
        { kind: 'data', templateId: T.id, records: [encodeRecord(T, values)] },
      ]),
      E,
      0,
    );
    assert.deepEqual([recs[0].startMs, recs[0].endMs], [s, e], `template ${T.id}`);
  }
});

test('IPFIX: systemInitTimeMilliseconds from options data anchors sysUpTime times of later data', () => {
  const OPT: TemplateSpec = { id: 600, scopeFields: [{ id: 149, length: 4 }], fields: [{ id: 160, length: 8 }] };
  const T: TemplateSpec = {
    id: 601,
    fields: [
      { id: 22, length: 4 },
      { id: 21, length: 4 },
      { id: 2, length: 4 },
    ],
  };
  const { dec, recs } = collecting();
  dec.decode(
    msg([
      { kind: 'options-templates', templates: [OPT] },
      { kind: 'data', templateId: 600, records: [encodeRecord(OPT, { 149: 1, 160: 1_600_000_000_000 })] },
      { kind: 'templates', templates: [T] },
      { kind: 'data', templateId: 601, records: [encodeRecord(T, { 22: 1000, 21: 3000, 2: 1 })] },
    ]),
    E,
    0,
  );
  assert.deepEqual([recs[0].startMs, recs[0].endMs], [1_600_000_001_000, 1_600_000_003_000]);
});

test('IPFIX RFC 5103 biflows: reverse counters become a record of their own with both ends swapped (softflowd -b)', () => {
  const { dec, recs } = collecting();
  for (const { payload } of pcapPayloads('generated/softflowd-v10-biflow-basic.pcap')) dec.decode(payload, E, 0);
  // Forward plus reverse: the whole traffic. nfdump shows forward only (199 packets, 15519 bytes).
  assert.deepEqual({ packets: totals(recs).packets, bytes: totals(recs).bytes }, { packets: 498, bytes: 412219 });
  // 11 biflows; 9 of them saw replies and give a reverse record with src/dst and ports swapped.
  assert.equal(recs.length, 20);
  assert.deepEqual(
    recs.slice(0, 2).map((r) => [r.src, r.dst, r.srcPort, r.dstPort, r.packets, r.bytes]),
    [
      ['10.244.1.10', '10.244.2.53', 55052, 53, 5, 340],
      ['10.244.2.53', '10.244.1.10', 53, 55052, 5, 740],
    ],
  );
  // Per direction, as the traffic capture's ground truth has it (README: 10.244.2.20 -> 10.244.1.11 TCP 177 / 259212).
  const dir = recs.filter((r) => r.src === '10.244.2.20' && r.dst === '10.244.1.11');
  assert.deepEqual(totals(dir), { flows: 1, packets: 177, bytes: 259212 });
});

test('IPFIX: template withdrawal (one, and all with ID 2); data for a withdrawn template waits for a new one', () => {
  const T: TemplateSpec = {
    id: 700,
    fields: [
      { id: 8, length: 4 },
      { id: 2, length: 4 },
    ],
  };
  const T2: TemplateSpec = { id: 701, fields: [{ id: 2, length: 4 }] };
  const data = { kind: 'data', templateId: 700, records: [encodeRecord(T, { 8: '10.0.0.1', 2: 1 })] } as const;
  const { dec, recs } = collecting();
  dec.decode(msg([{ kind: 'templates', templates: [T, T2] }, data]), E, 0);
  assert.equal(dec.stats.templates, 2);
  dec.decode(msg([{ kind: 'templates', templates: [{ id: 700, fields: [] }] }]), E, 0);
  assert.equal(dec.stats.templates, 1);
  assert.equal(dec.stats.templatesWithdrawn, 1);
  dec.decode(msg([data]), E, 0);
  assert.equal(recs.length, 1);
  assert.equal(dec.stats.templateMisses, 1);
  dec.decode(msg([{ kind: 'templates', templates: [{ id: 2, fields: [] }] }]), E, 0);
  assert.equal(dec.stats.templates, 0);
  dec.decode(msg([{ kind: 'templates', templates: [T] }]), E, 0);
  assert.equal(recs.length, 2, 'the held set was decoded when the template came back');
});

test('IPFIX: observation domains are separate template scopes', () => {
  const TA: TemplateSpec = { id: 800, fields: [{ id: 2, length: 4 }] };
  const TB: TemplateSpec = { id: 800, fields: [{ id: 1, length: 4 }] };
  const { dec, recs } = collecting();
  dec.decode(msg([{ kind: 'templates', templates: [TA] }], 1), E, 0);
  dec.decode(msg([{ kind: 'templates', templates: [TB] }], 2), E, 0);
  dec.decode(msg([{ kind: 'data', templateId: 800, records: [encodeRecord(TA, { 2: 5 })] }], 1), E, 0);
  dec.decode(msg([{ kind: 'data', templateId: 800, records: [encodeRecord(TB, { 1: 5 })] }], 2), E, 0);
  assert.deepEqual(
    recs.map((r) => [r.sourceId, r.packets, r.bytes]),
    [
      [1, 5, 0],
      [2, 0, 5],
    ],
  );
});

test("IPFIX: ipt-netflow stream: every record and sum equals the generator's ground truth, interface names kept", () => {
  const { dec, recs } = expectIptStream({
    protocol: 10,
    exporters: 2,
    recordsPerDatagram: 30,
    count: 100,
    startMs: EXPORT * 1000,
    seed: 9,
  });
  assert.ok(recs.every((r) => r.version === 10 && r.startMs > 0 && r.startMs <= r.endMs));
  assert.equal(dec.interfaceName(exporter('10.1.0.2'), 0, 2), 'eth0');
});
