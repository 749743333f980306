/**
 * Conformance: every case of ../shared/testdata/netflow/README.md through the real Decoder, one
 * Decoder per case, files in send order, the exporter taken from each packet's source (the fixed
 * pretend exporter for .dat files), via the same CaptureFeeder that `replay` uses. Flow records,
 * packets and bytes must equal the nfdump column. Where we differ from nfdump 1.7.1 on purpose
 * (issue 2: held early data, sampling from options fields 34/305/306 and sampler IDs, RFC 5103
 * reverse records), the case states our exact numbers and why, checked against tshark 4.0's
 * per-record output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decoder } from '../../src/decode/decoder.ts';
import { dstAddrString, srcAddrString } from '../../src/decode/record.ts';
import { CaptureFeeder } from '../../src/ingest/capture-replay.ts';
import { newCaptureStats, readCapture } from '../../src/ingest/capture.ts';

const TESTDATA = new URL('../../../shared/testdata/netflow/', import.meta.url).pathname;
const DIRS: Record<string, string> = { logstash: 'logstash-codec-netflow', akvorado: 'akvorado', graylog: 'graylog-plugin-netflow' };

type Totals = [records: number, packets: number, bytes: number];

interface Case {
  id: string;
  name: string;
  files: string[];
  nfdump: Totals;
  /** Where we differ from nfdump on purpose: our exact totals, held sets [decoded, dropped], and why. */
  ours?: { totals: Totals; held?: [number, number]; why: string };
}

function c(id: string, name: string, files: string[], nfdump: Totals, ours?: Case['ours']): Case {
  return { id, name, files: files.map((f) => join(TESTDATA, DIRS[id.split(' ')[0]], f)), nfdump, ours };
}

const CASES: Case[] = [
  c('logstash 1', 'Netflow 5 valid 01', ['netflow5.dat'], [30, 230, 18684]),
  c('logstash 2', 'Netflow 5 invalid 01', ['netflow5_test_invalid01.dat'], [0, 0, 0]),
  c('logstash 3', 'Netflow 5 invalid 02', ['netflow5_test_invalid02.dat'], [0, 0, 0]),
  c('logstash 4', 'Netflow 9 valid 01', ['netflow9_test_valid01.dat'], [7, 13, 1128]),
  c('logstash 5', 'Netflow 9 macaddress', ['netflow9_test_macaddr_tpl.dat', 'netflow9_test_macaddr_data.dat'], [29, 0, 0]),
  c('logstash 6', 'Netflow 9 Cisco ACI', ['netflow9_test_cisco_aci_tpl256-258.dat', 'netflow9_test_cisco_aci_data256.dat'], [3, 6, 297]),
  c('logstash 7', 'Netflow 9 Cisco ASA', ['netflow9_test_cisco_asa_1_tpl.dat', 'netflow9_test_cisco_asa_1_data.dat'], [14, 0, 888]),
  c(
    'logstash 8',
    'Netflow 9 multiple netflow exporters',
    ['netflow9_test_nprobe_tpl.dat', 'netflow9_test_softflowd_tpl_data.dat', 'netflow9_test_nprobe_data.dat'],
    [8, 15, 1328],
  ),
  c('logstash 9', 'Netflow 9 invalid 01', ['netflow9_test_invalid01.dat'], [2, 2, 194], {
    totals: [2, 200, 19400],
    why: 'sampling: an options record (system scope; SAMPLING_INTERVAL 34 = 100, SAMPLING_ALGORITHM 35 = 1) precedes the data. nfdump 1.7.1 does not apply exporter-wide sampling from fields 34/35; issue 2 does: nfdump x 100',
  }),
  c('logstash 10', 'IPFIX', ['ipfix.dat'], [6, 42, 10563]),
  c(
    'logstash 11',
    'Netflow 9 Cisco ASA #2',
    ['netflow9_test_cisco_asa_2_tpl_26x.dat', 'netflow9_test_cisco_asa_2_tpl_27x.dat', 'netflow9_test_cisco_asa_2_data.dat'],
    [19, 0, 1131],
  ),
  c('logstash 13', 'Netflow5 mikrotik', ['netflow5_test_microtik.dat'], [30, 160, 40812]),
  c('logstash 14', 'Netflow5 Juniper MX80', ['netflow5_test_juniper_mx80.dat'], [29, 31000, 3989000]),
  c(
    'logstash 15',
    'Netflow 9 ipt_netflow reduced size encoding',
    ['netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat'],
    [12, 74, 7598],
  ),
  c('logstash 17', 'Netflow 9 IE150 IE151', ['netflow9_test_unknown_tpl266_292_data.dat'], [2, 2, 310]),
  c(
    'logstash 18',
    'Netflow 9 Palo Alto 1 flowset in large zero filled packet',
    ['netflow9_test_paloalto_81_tpl256-263.dat', 'netflow9_test_paloalto_81_data257_1flowset_in_large_zerofilled_packet.dat'],
    [1, 3, 363],
  ),
  c(
    'logstash 20',
    'Netflow 9 Fortigate FortiOS 54x appid',
    ['netflow9_test_fortigate_fortios_542_appid_tpl258-269.dat', 'netflow9_test_fortigate_fortios_542_appid_data258_262.dat'],
    [17, 105, 29492],
  ),
  c('logstash 21', 'IPFIX from IXIA', ['ipfix_test_ixia_tpldata256.dat'], [1, 4, 360]),
  c('logstash 22', 'IPFIX IXIA 271 (not in spec)', ['ipfix_test_ixia_tpldata271.dat'], [2, 2, 132]),
  c(
    'logstash 23',
    'IPFIX options template from Juniper MX240 JunOS 15.1 R6 S3',
    ['ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat', 'ipfix_test_juniper_mx240_junos151r6s3_data512.dat'],
    [0, 0, 0],
  ),
  c('logstash 24', 'IPFIX Nokia BRAS', ['ipfix_test_nokia_bras_tpl.dat', 'ipfix_test_nokia_bras_data256.dat'], [1, 0, 0]),
  c('logstash 25', 'IPFIX Procera', ['ipfix_test_procera_tpl52935.dat', 'ipfix_test_procera_data52935.dat'], [8, 0, 0]),
  c(
    'logstash 26',
    'IPFIX Barracuda extended uniflow template 256',
    ['ipfix_test_barracuda_extended_uniflow_tpl256.dat', 'ipfix_test_barracuda_extended_uniflow_data256.dat'],
    [2, 0, 0],
  ),
  c('logstash 28', 'Netflow 9 nprobe DPI L7', ['netflow9_test_nprobe_dpi.dat'], [1, 1, 82]),
  c(
    'logstash 29',
    'Netflow 9 Fortigate FortiOS 5.2.1',
    [
      'netflow9_test_fortigate_fortios_521_tpl.dat',
      'netflow9_test_fortigate_fortios_521_data256.dat',
      'netflow9_test_fortigate_fortios_521_data257.dat',
    ],
    [1, 3, 152],
  ),
  c(
    'logstash 30',
    'Netflow 9 Streamcore',
    ['netflow9_test_streamcore_tpl_data256.dat', 'netflow9_test_streamcore_tpl_data260.dat'],
    [4, 28, 7295],
  ),
  c(
    'logstash 33',
    'IPFIX VMware virtual distributed switch',
    [
      'ipfix_test_vmware_vds_tpl.dat',
      'ipfix_test_vmware_vds_data264.dat',
      'ipfix_test_vmware_vds_data266.dat',
      'ipfix_test_vmware_vds_data266_267.dat',
    ],
    [5, 8, 806],
  ),
  c('logstash 34', 'Juniper SRX options template with 0 scope field length', ['netflow9_test_juniper_srx_tplopt.dat'], [0, 0, 0]),
  c('logstash 35', 'Netflow 9 template with 0 length fields', ['netflow9_test_0length_fields_tpl_data.dat'], [10, 2, 64]),
  c(
    'logstash 36',
    'Netflow 9 Cisco ASR 9000 series options template 256',
    ['netflow9_test_cisco_asr9k_opttpl256.dat', 'netflow9_test_cisco_asr9k_data256.dat'],
    [0, 0, 0],
  ),
  c(
    'logstash 37',
    'Netflow 9 Cisco ASR 9000 opttpl 257/334 (not in spec)',
    ['netflow9_test_cisco_asr9k_opttpl257.dat', 'netflow9_test_cisco_asr9k_opttpl334.dat'],
    [0, 0, 0],
  ),
  c(
    'logstash 38',
    'Netflow 9 Huawei Netstream',
    ['netflow9_test_huawei_netstream_tpl.dat', 'netflow9_test_huawei_netstream_data.dat'],
    [1, 4, 200],
  ),
  c(
    'logstash 39',
    'Netflow 9 field layer2segmentid',
    ['netflow9_test_field_layer2segmentid_tpl.dat', 'netflow9_test_field_layer2segmentid_data.dat'],
    [1, 1, 52],
  ),
  c(
    'logstash 40',
    'Netflow 9 Cisco ASR 9000 series template 260',
    ['netflow9_test_cisco_asr9k_tpl260.dat', 'netflow9_test_cisco_asr9k_data260.dat'],
    [21, 531, 208031],
  ),
  c('logstash 41', 'Netflow 9 Cisco ASR 9000 template 266 (not in spec)', ['netflow9_test_cisco_asr9k_tpl266.dat'], [0, 0, 0]),
  c('logstash 42', 'Netflow 9 Cisco NBAR options template 260', ['netflow9_test_cisco_nbar_opttpl260.dat'], [0, 0, 0]),
  c(
    'logstash 43',
    'Netflow 9 Cisco NBAR flowset 262',
    ['netflow9_test_cisco_nbar_tpl262.dat', 'netflow9_test_cisco_nbar_data262.dat'],
    [5, 40, 3064],
  ),
  c('logstash 45', 'Netflow 9 Cisco WLC 8500 release 8.2', ['netflow9_test_cisco_wlc_8510_tpl_262.dat'], [0, 0, 0]),
  c('logstash 46', 'Netflow 9 Cisco 1941/K9 release 15.1', ['netflow9_test_cisco_1941K9.dat'], [29, 370, 70258]),
  c('logstash 47', 'Netflow 9 Cisco ASR1001-X', ['netflow9_cisco_asr1001x_tpl259.dat'], [25, 124, 38255]),
  c(
    'logstash 48',
    'Netflow 9 Palo Alto PAN-OS with app-id',
    ['netflow9_test_paloalto_panos_tpl.dat', 'netflow9_test_paloalto_panos_data.dat'],
    [8, 8, 617],
  ),
  c('logstash 49', 'IPFIX vIPtela with VPN id', ['ipfix_test_viptela_tpl257.dat', 'ipfix_test_viptela_data257.dat'], [1, 8, 775]),
  c('logstash 50', 'IPFIX Barracuda firewall', ['ipfix_test_barracuda_tpl.dat', 'ipfix_test_barracuda_data256.dat'], [8, 4, 388]),
  c(
    'logstash 51',
    'IPFIX YAF basic with applabel',
    [
      'ipfix_test_yaf_tpls_option_tpl.dat',
      'ipfix_test_yaf_tpl45841.dat',
      'ipfix_test_yaf_data45841.dat',
      'ipfix_test_yaf_data45873.dat',
      'ipfix_test_yaf_data53248.dat',
    ],
    [2, 6, 304],
    {
      totals: [4, 10, 596],
      why: 'RFC 5103 biflows: both YAF records carry reverse counters (29305/85 and 29305/86: 200 B in 2 packets, 92 B in 2 packets, per tshark); each reverse direction is a record of its own, nfdump counts the forward direction only',
    },
  ),
  c('akvorado 1', 'akvorado nfv9 template+data', ['template.pcap', 'data.pcap'], [4, 4, 5848]),
  c('akvorado 2', 'akvorado nfv9 data+templates (single packet)', ['data+templates.pcap'], [10, 48, 54592], {
    totals: [21, 6600, 5832900],
    held: [1, 0],
    why: 'held data: the first data set (template 257) comes before its template in the same datagram. It is held and decoded when the template arrives: +11 records, 18 packets, 3737 bytes (tshark, decoding the datagram sent twice: 21 flow records, 66 packets, 58329 octets in the second copy). The options record in the datagram (SAMPLING_INTERVAL 34 = 100), which nfdump 1.7.1 does not apply, scales everything by 100',
  }),
  c('akvorado 3', 'akvorado nfv9 options template+data', ['options-template.pcap', 'options-data.pcap'], [0, 0, 0]),
  c(
    'akvorado 4',
    'akvorado nfv9 options + data template + data (sampling)',
    [
      'multiplesamplingrates-options-template.pcap',
      'multiplesamplingrates-options-data.pcap',
      'multiplesamplingrates-template.pcap',
      'multiplesamplingrates-data.pcap',
    ],
    [12, 40018, 26941348],
    {
      totals: [12, 112000, 32332000],
      why: 'per-record sampler ID (48) selects its interval from the options records: sampler 1 is 1 in 2000, sampler 2 is 1 in 4000 (tshark). nfdump 1.7.1 scales the one sampler-2 record (18 packets, 1348 bytes) by 1 instead of 4000: 40018 = 20 x 2000 + 18',
    },
  ),
  c('akvorado 5', 'akvorado nfv9 samplingrate template+data', ['samplingrate-template.pcap', 'samplingrate-data.pcap'], [6, 6, 3740]),
  c('akvorado 6', 'akvorado nfv9 icmp template+data (softflowd-like)', ['icmp-template.pcap', 'icmp-data.pcap'], [4, 4, 376]),
  c('akvorado 7', 'akvorado nfv9 nat (single packet)', ['nat.pcap'], [9, 0, 0]),
  c('akvorado 8', 'akvorado nfv5', ['nfv5.pcap'], [29, 78, 88345]),
  c('akvorado 9', 'akvorado ipfix datalink template+data', ['datalink-template.pcap', 'datalink-data.pcap'], [1, 0, 0]),
  c(
    'akvorado 10',
    'akvorado ipfix eompls template+data',
    ['ethernet-over-mpls-with-control-word-template.pcap', 'ethernet-over-mpls-with-control-word-data.pcap'],
    [10, 0, 0],
  ),
  c('akvorado 11', 'akvorado ipfix srv6 template+data', ['ipfix-srv6-template.pcap', 'ipfix-srv6-data.pcap'], [1, 0, 0]),
  c('akvorado 12', 'akvorado ipfix juniper cpid template+data', ['juniper-cpid-template.pcap', 'juniper-cpid-data.pcap'], [1, 0, 0]),
  c('akvorado 13', 'akvorado ipfix ipfixprobe templates+data', ['ipfixprobe-templates.pcap', 'ipfixprobe-data.pcap'], [4, 34, 24268], {
    totals: [6, 60, 25942],
    why: 'RFC 5103 biflows: 2 of the 4 ipfixprobe records carry non-zero reverse counters (1 packet / 128 B and 25 packets / 1546 B, per tshark), each a record of its own; nfdump counts forward only. The totals equal tshark forward + reverse sums',
  }),
  c('akvorado 14', 'akvorado ipfix mpls (single packet)', ['mpls.pcap'], [2, 11, 979], {
    totals: [2, 110, 9790],
    why: 'sampling: IPFIX options samplingPacketInterval (305) = 1, samplingPacketSpace (306) = 9, i.e. 1 in 10 (tshark). nfdump 1.7.1 ignores 305/306; issue 2 applies them: nfdump x 10',
  }),
  c('akvorado 15', 'akvorado ipfix physicalinterfaces (single packet)', ['physicalinterfaces.pcap'], [8, 29, 31111], {
    totals: [8, 29000, 31111000],
    why: 'sampling: samplingPacketInterval (305) = 1, samplingPacketSpace (306) = 999, i.e. 1 in 1000 (tshark): nfdump x 1000',
  }),
  c('graylog 24', 'graylog netflow5', ['netflow5.pcap'], [4, 500, 81700]),
  c('graylog 25', 'graylog netflow9 (softflowd-like)', ['netflow9.pcap'], [21, 23, 7302], {
    totals: [21, 2300, 730200],
    why: 'sampling: the first datagram holds, after the template that its header count covers (where tshark stops), the IPv6 template 2048 and an options template and record with SAMPLING_INTERVAL (34) = 100. nfdump 1.7.1 does not apply it: nfdump x 100. No data waits for a template (tshark reports sets without template only because it skipped template 2048)',
  }),
  c('graylog 26', 'graylog netgraph-netflow5', ['netgraph-netflow5.pcap'], [120, 19355, 6765997]),
  c('graylog 27', 'graylog nprobe-netflow9', ['nprobe-netflow9.pcap'], [152, 11285, 15063040]),
  c('graylog 28', 'graylog nprobe-netflow9-2', ['nprobe-netflow9-2.pcap'], [6, 19, 2628]),
  c('graylog 30', 'graylog nprobe-netflow9-4', ['nprobe-netflow9-4.pcap'], [1, 2, 128], {
    totals: [8, 38, 17117],
    held: [1, 1],
    why: 'held data: two datagrams of template-257 data come before the template (at 11:46:48.3 and 11:47:19.5; templates at 11:47:29.8). The second waited 10 s and is decoded: +7 records, 36 packets, 16989 bytes (tshark, with the template datagram moved first). The first waited 41 s, beyond the 30 s hold (pendingMaxAgeMs), and is dropped and counted, as the live collector would',
  }),
  c('graylog 31', 'graylog pmacctd-netflow5', ['pmacctd-netflow5.pcap'], [42, 133, 18391]),
  c('graylog 32', 'graylog pmacctd-netflow9', ['pmacctd-netflow9.pcap'], [6, 19, 2623]),
  c('graylog d1', 'graylog netflow-v5-1', ['netflow-v5-1.dat'], [30, 230, 18684]),
  c('graylog d2', 'graylog netflow-v5-2', ['netflow-v5-2.dat'], [30, 207, 342263]),
  c('graylog d3', 'graylog netflow-v9-1', ['netflow-v9-1.dat'], [2, 9, 582]),
  c(
    'graylog d4',
    'graylog netflow-v9-2 (template, data, data)',
    ['netflow-v9-2-1.dat', 'netflow-v9-2-2.dat', 'netflow-v9-2-3.dat'],
    [2, 10, 3166],
  ),
  c('graylog d5', 'graylog netflow-v9-3_incomplete', ['netflow-v9-3_incomplete.dat'], [0, 0, 0]),
];

interface Outcome {
  totals: Totals;
  decoder: Decoder;
}

function run(files: readonly string[]): Outcome {
  const totals: Totals = [0, 0, 0];
  const decoder = new Decoder((rec) => {
    totals[0]++;
    totals[1] += rec.packets;
    totals[2] += rec.bytes;
  });
  const feeder = new CaptureFeeder(decoder);
  feeder.feedAll(files);
  feeder.finish();
  return { totals, decoder };
}

for (const k of CASES) {
  test(`${k.id}: ${k.name}`, () => {
    const { totals, decoder } = run(k.files);
    const want = k.ours?.totals ?? k.nfdump;
    assert.deepEqual(totals, want, k.ours ? `${k.ours.why} (nfdump: ${k.nfdump.join(' / ')})` : 'records / packets / bytes vs nfdump');
    assert.equal(decoder.stats.errors.exception, 0, 'no exception escaped inside the decoder');
    const held = k.ours?.held ?? [0, 0];
    if (k.id !== 'logstash 15' && k.id !== 'graylog d5') {
      assert.deepEqual([decoder.stats.heldDecoded, decoder.stats.heldDropped], held, 'held sets decoded / dropped');
    }
  });
}

test('logstash 15 (ipt_netflow reduced size encoding) and graylog d5: data for templates never sent is held, then dropped and counted', () => {
  // tshark: "6 set(s) w/o template" and "1 set(s) w/o template"; nfdump decodes no more either.
  for (const [id, dropped] of [
    ['logstash 15', 6],
    ['graylog d5', 1],
  ] as const) {
    const k = CASES.find((x) => x.id === id)!;
    const { decoder } = run(k.files);
    assert.equal(decoder.stats.heldDropped, dropped, id);
    assert.equal(decoder.stats.heldDecoded, 0, id);
    assert.equal(decoder.stats.pending, 0, id);
  }
});

// ---- generated/: softflowd and pmacctd exports of traffic whose every flow is known ----------

const GEN = join(TESTDATA, 'generated');
const EXPECTED = readFileSync(join(GEN, 'k8s-basic.expected-flows.csv'), 'utf8').trim().split('\n').slice(1).sort();

interface Decoded {
  rows: string[];
  totals: Totals;
  times: number[];
  datagrams: number;
}

function decodeFlows(file: string): Decoded {
  const rows: string[] = [];
  const totals: Totals = [0, 0, 0];
  const times: number[] = [];
  const decoder = new Decoder((r) => {
    rows.push([srcAddrString(r), dstAddrString(r), r.srcPort, r.dstPort, r.proto, r.packets, r.bytes].join(','));
    totals[0]++;
    totals[1] += r.packets;
    totals[2] += r.bytes;
    times.push(r.startMs, r.endMs);
  });
  const feeder = new CaptureFeeder(decoder);
  feeder.feedAll([join(GEN, file)]);
  feeder.finish();
  return { rows: rows.sort(), totals, times, datagrams: decoder.stats.datagrams };
}

const GENERATED: Array<[file: string, datagrams: number, flows: number]> = [
  ['softflowd-v5-basic.pcap', 1, 19],
  ['softflowd-v9-basic.pcap', 1, 19],
  ['softflowd-v9-basic-uptimewrap.pcap', 1, 19],
  ['softflowd-v10-basic.pcap', 1, 19],
  ['pmacctd-v5-basic.pcap', 6, 19],
  ['pmacctd-v9-basic.pcap', 7, 19],
  ['pmacctd-v10-basic.pcap', 7, 19],
];

for (const [file, datagrams, flows] of GENERATED) {
  test(`generated ${file}: ${flows} flows, 498 packets, 412219 bytes, and every flow equals the ground truth`, () => {
    const d = decodeFlows(file);
    assert.equal(d.datagrams, datagrams);
    assert.deepEqual(d.totals, [flows, 498, 412219]);
    let rows = d.rows;
    if (file === 'pmacctd-v9-basic.pcap') {
      // The known pmacctd quirk: nfdump shows the ICMP echo request flow with dst port 0, not
      // type 8 * 256 = 2048. Accept either for that one flow; every other field must match.
      rows = rows.map((r) => (r === '10.244.1.12,10.244.2.20,0,0,1,3,252' ? '10.244.1.12,10.244.2.20,0,2048,1,3,252' : r)).sort();
    }
    assert.deepEqual(rows, EXPECTED);
  });
}

test('generated softflowd-v10-biflow-basic.pcap: forward and reverse are records of their own (498 packets, 412219 bytes in all)', () => {
  const d = decodeFlows('softflowd-v10-biflow-basic.pcap');
  // 11 biflow records (nfdump's 11 flows) + 9 with non-zero reverse counters. softflowd puts the
  // ICMP echo replies of 10.244.1.12 -> 10.244.2.20 in a biflow whose forward counters are 0:
  // that forward record still counts (records without counters count), with 0 packets.
  assert.equal(d.datagrams, 1);
  assert.deepEqual(d.totals, [20, 498, 412219]);
  const zero = '10.244.1.12,10.244.2.20,0,0,1,0,0';
  assert.deepEqual(
    d.rows.filter((r) => r !== zero),
    EXPECTED,
  );
  assert.equal(d.rows.filter((r) => r === zero).length, 1);
});

test('generated uptimewrap: FIRST/LAST_SWITCHED beyond sysUptime still land on the capture date, not 49 days off', () => {
  // The ground-truth traffic was captured from 1795672730.864 to 1795672735.873 (tshark).
  const lo = 1795672730864;
  const hi = 1795672735873;
  // Its first packet is a UDP one (DNS-like), which our capture reader sees too.
  const it = readCapture(join(GEN, 'k8s-basic.traffic.pcap'), newCaptureStats());
  const first = it.next();
  it.return();
  assert.equal(first.done ? 0 : first.value.tsMs, lo);
  for (const file of [
    'softflowd-v9-basic-uptimewrap.pcap',
    'softflowd-v9-basic.pcap',
    'softflowd-v10-basic.pcap',
    'softflowd-v5-basic.pcap',
  ]) {
    const d = decodeFlows(file);
    assert.equal(d.times.length, 38, file);
    for (const t of d.times) {
      // Exporters truncate export time to whole seconds: allow 2 s either side.
      assert.ok(t >= lo - 2000 && t <= hi + 2000, `${file}: ${new Date(t).toISOString()} is outside the capture`);
    }
  }
  const wrap = decodeFlows('softflowd-v9-basic-uptimewrap.pcap');
  assert.equal(new Date(Math.min(...wrap.times)).toISOString().slice(0, 10), '2026-11-26');
});
