/**
 * NetFlow v9 shaped as H3C/HPE Comware NetStream sends it: string fields (application name,
 * interface name and description) declared with length 65535 and each value encoded as IPFIX
 * encodes variable-length fields (RFC 7011 section 7: one length byte, or 255 and two length
 * bytes). RFC 3954 has no such encoding; nfdump and logstash's netflow codec read it anyway.
 *
 * The stream also restarts its export process part-way, as a device does after a reboot or a
 * line-card switchover: the UDP source port changes and the first datagrams after it carry data
 * for the templates sent before, from the old port, until the next template refresh.
 *
 *   for (const d of comwareStream({ datagrams: 40 })) socket.send(d.payload, d.srcPort, ...);
 *   // d.records, d.bytes, d.packets: ground truth per datagram
 */
import { encodeRecord, IE, SCOPE, VARIABLE_LENGTH, type TemplateSpec } from './fields.ts';
import { encodeV9 } from './netflow-v9.ts';
import type { FlowSet } from './flowsets.ts';
import { prng } from './ipt-netflow-stream.ts';

/** Information elements Comware sends that the shared IE table does not name. */
export const COMWARE_IE = { SRC_AS: 16, DST_AS: 17, APPLICATION_ID: 95, APPLICATION_NAME: 96 } as const;

const V = VARIABLE_LENGTH;

export const COMWARE_IPV4: TemplateSpec = {
  id: 256,
  fields: [
    { id: IE.IPV4_SRC_ADDR, length: 4 },
    { id: IE.IPV4_DST_ADDR, length: 4 },
    { id: IE.L4_SRC_PORT, length: 2 },
    { id: IE.L4_DST_PORT, length: 2 },
    { id: IE.PROTOCOL, length: 1 },
    { id: IE.TOS, length: 1 },
    { id: IE.TCP_FLAGS, length: 1 },
    { id: IE.SRC_MASK, length: 1 },
    { id: IE.DST_MASK, length: 1 },
    { id: IE.DIRECTION, length: 1 },
    { id: COMWARE_IE.SRC_AS, length: 2 },
    { id: COMWARE_IE.DST_AS, length: 2 },
    { id: IE.INPUT_SNMP, length: 4 },
    { id: IE.OUTPUT_SNMP, length: 4 },
    { id: IE.IN_PKTS, length: 4 },
    { id: IE.IN_BYTES, length: 4 },
    { id: IE.FIRST_SWITCHED, length: 4 },
    { id: IE.LAST_SWITCHED, length: 4 },
    { id: COMWARE_IE.APPLICATION_NAME, length: V },
  ],
};

export const COMWARE_IPV6: TemplateSpec = {
  id: 257,
  fields: [
    { id: IE.IPV6_SRC_ADDR, length: 16 },
    { id: IE.IPV6_DST_ADDR, length: 16 },
    { id: IE.L4_SRC_PORT, length: 2 },
    { id: IE.L4_DST_PORT, length: 2 },
    { id: IE.PROTOCOL, length: 1 },
    { id: IE.TCP_FLAGS, length: 1 },
    { id: IE.INPUT_SNMP, length: 4 },
    { id: IE.OUTPUT_SNMP, length: 4 },
    { id: IE.IN_PKTS, length: 8 },
    { id: IE.IN_BYTES, length: 8 },
    { id: COMWARE_IE.APPLICATION_NAME, length: V },
    { id: IE.FIRST_SWITCHED, length: 4 },
    { id: IE.LAST_SWITCHED, length: 4 },
  ],
};

/** Interface names and descriptions, one options record per interface. */
export const COMWARE_IF_OPTIONS: TemplateSpec = {
  id: 258,
  scopeFields: [{ id: SCOPE.INTERFACE, length: 4 }],
  fields: [
    { id: IE.IF_NAME, length: V },
    { id: IE.IF_DESC, length: V },
  ],
};

const APPS = ['http', 'https', 'dns', 'ssh', 'ntp', 'ms-sql-s', 'kubernetes-api', ''];
const IFACES = ['GigabitEthernet1/0/1', 'GigabitEthernet1/0/2', 'Ten-GigabitEthernet1/0/49', 'Vlan-interface100'];

export interface ComwareOptions {
  /** Data datagrams (templates and options come first, then at each restart). Default 24. */
  datagrams?: number;
  /** Flow records per data datagram. Default 12. */
  recordsPerDatagram?: number;
  /** Data datagrams sent after the restart (new source port) before templates are sent again. Default 3. */
  blindAfterRestart?: number;
  /** Restart the export process after this many data datagrams. Default half of `datagrams`. */
  restartAfter?: number;
  startMs?: number;
  seed?: number;
  sourceId?: number;
}

export interface ComwareDatagram {
  payload: Uint8Array;
  srcPort: number;
  tsMs: number;
  records: number;
  bytes: number;
  packets: number;
}

export function* comwareStream(options: ComwareOptions = {}): Generator<ComwareDatagram, void, undefined> {
  const datagrams = options.datagrams ?? 24;
  const perDatagram = options.recordsPerDatagram ?? 12;
  const restartAfter = options.restartAfter ?? Math.floor(datagrams / 2);
  const blind = options.blindAfterRestart ?? 3;
  const sourceId = options.sourceId ?? 0x100;
  const rand = prng(options.seed ?? 12);
  let tsMs = options.startMs ?? 1_760_000_000_000;
  let bootMs = tsMs - 3_600_000;
  let srcPort = 50_001;
  let sequence = 0;
  const header = () => ({ sysUptimeMs: tsMs - bootMs, unixSecs: Math.floor(tsMs / 1000), sequence: sequence++, sourceId });
  const descriptions = IFACES.map((n, i) => (i === 2 ? `uplink to core ${'x'.repeat(290)}` : `${n} to rack ${i}`));

  function* templates(): Generator<ComwareDatagram> {
    const ifRecords = IFACES.map((name, i) =>
      encodeRecord(COMWARE_IF_OPTIONS, { [SCOPE.INTERFACE]: i + 1, [IE.IF_NAME]: name, [IE.IF_DESC]: descriptions[i] }),
    );
    const sets: FlowSet[] = [
      { kind: 'templates', templates: [COMWARE_IPV4, COMWARE_IPV6] },
      { kind: 'options-templates', templates: [COMWARE_IF_OPTIONS] },
      { kind: 'data', templateId: COMWARE_IF_OPTIONS.id, records: ifRecords },
    ];
    yield { payload: encodeV9(header(), sets), srcPort, tsMs, records: 0, bytes: 0, packets: 0 };
    tsMs += 10;
  }

  yield* templates();
  for (let i = 0; i < datagrams; i++) {
    if (i === restartAfter) {
      // Reboot: a new socket (new source port), uptime from zero, templates only later.
      srcPort++;
      bootMs = tsMs - 1000;
    }
    if (i === restartAfter + blind) yield* templates();
    const v4: Uint8Array[] = [];
    const v6: Uint8Array[] = [];
    let bytes = 0;
    let packets = 0;
    const uptime = tsMs - bootMs;
    for (let r = 0; r < perDatagram; r++) {
      const pk = 1 + Math.floor(rand() * 500);
      const by = pk * (40 + Math.floor(rand() * 1400));
      packets += pk;
      bytes += by;
      const app = APPS[Math.floor(rand() * APPS.length)];
      const first = Math.max(0, uptime - 1000 - Math.floor(rand() * 50_000));
      const common = {
        [IE.L4_SRC_PORT]: 1024 + Math.floor(rand() * 60_000),
        [IE.L4_DST_PORT]: [80, 443, 53, 22][r % 4],
        [IE.PROTOCOL]: r % 4 === 2 ? 17 : 6,
        [IE.TCP_FLAGS]: r % 4 === 2 ? 0 : 0x1b,
        [IE.INPUT_SNMP]: 1 + (r % IFACES.length),
        [IE.OUTPUT_SNMP]: 1 + ((r + 1) % IFACES.length),
        [IE.FIRST_SWITCHED]: first,
        [IE.LAST_SWITCHED]: Math.min(uptime, first + Math.floor(rand() * 30_000)),
        [IE.IN_PKTS]: pk,
        [IE.IN_BYTES]: by,
        [COMWARE_IE.APPLICATION_NAME]: app,
      };
      if (r % 3 === 2) {
        v6.push(
          encodeRecord(COMWARE_IPV6, {
            ...common,
            [IE.IPV6_SRC_ADDR]: `2001:db8:10::${(r + 1).toString(16)}`,
            [IE.IPV6_DST_ADDR]: `2001:db8:20::${(i + 1).toString(16)}`,
          }),
        );
      } else {
        v4.push(
          encodeRecord(COMWARE_IPV4, {
            ...common,
            [IE.IPV4_SRC_ADDR]: `10.${i % 256}.${r}.${1 + Math.floor(rand() * 250)}`,
            [IE.IPV4_DST_ADDR]: `192.168.${r}.${1 + (i % 250)}`,
            [IE.TOS]: 0,
            [IE.SRC_MASK]: 24,
            [IE.DST_MASK]: 24,
            [IE.DIRECTION]: r % 2,
            [COMWARE_IE.SRC_AS]: 0,
            [COMWARE_IE.DST_AS]: 65_000 + r,
          }),
        );
      }
    }
    const sets: FlowSet[] = [];
    if (v4.length) sets.push({ kind: 'data', templateId: COMWARE_IPV4.id, records: v4, pad: true });
    if (v6.length) sets.push({ kind: 'data', templateId: COMWARE_IPV6.id, records: v6 });
    yield { payload: encodeV9(header(), sets), srcPort, tsMs, records: perDatagram, bytes, packets };
    tsMs += 200;
  }
}
