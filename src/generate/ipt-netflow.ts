/**
 * NetFlow traffic shaped exactly like the ipt-netflow kernel module sends it, for tests,
 * benchmarks and the demo.
 *
 * Two entry points:
 *
 *   // One node's exporter: you give the flows, it builds the export packets.
 *   const node = new IptNetflowExporter({ protocol: 9 });           // source ID 0, template 256
 *   const { payload, taken } = node.pack(flows, 0, Date.now());      // as many flows as fit
 *
 *   // An endless (or `count`-long) stream of datagrams from several nodes, round robin.
 *   for (const d of iptNetflowStream({ exporters: 4, recordsPerDatagram: 27, addresses: 4000, count: 1000 })) {
 *     socket.send(d.payload, port, host);  // d.exporter, d.records, d.bytes, d.packets: ground truth
 *   }
 *
 * What is faithful to ipt-netflow (ipt_NETFLOW.c, read with the search tool):
 * - v9 data template 256 for IPv4 TCP/UDP: IPV4_SRC_ADDR, IPV4_DST_ADDR, IPV4_NEXT_HOP,
 *   L4_SRC_PORT, L4_DST_PORT, TCP_FLAGS, INPUT_SNMP(2), OUTPUT_SNMP(2), IN_PKTS, IN_BYTES,
 *   FIRST_SWITCHED, LAST_SWITCHED, PROTOCOL, TOS, DIRECTION: 15 fields, 40 bytes (`direction:
 *   false` gives the 14-field, 39-byte build without ENABLE_DIRECTION; `physdev: true` adds
 *   ingress/egressPhysicalInterface after OUTPUT_SNMP like ENABLE_PHYSDEV builds).
 * - Template IDs count from 256 on every node, in order of first use; source ID (observation
 *   domain) is `engineId`, 0 by default. So every node sends template 256, maybe with different
 *   layouts: collectors must key templates by exporter.
 * - A template is resent when more than `refreshRate` (20) packets went out since it was last
 *   sent, or after `timeoutRateMs` (30 min); one template per template flowset, placed just before
 *   the data flowset that needs it.
 * - A data flowset is padded to 4 bytes only when another set follows it: the last one is not.
 * - Interface names go in an options template (scope observationDomainId; INPUT_SNMP, IF_NAME 16
 *   bytes, IF_DESC 32 bytes), one record per netdev, sent together with that template.
 * - At most 1400 bytes after the header (ipt-netflow's pdu buffer); v5 at most 30 records.
 * - v9 sequence numbers count packets, IPFIX sequence numbers count data records.
 * - IPFIX (protocol 10) uses flowStartMilliseconds/flowEndMilliseconds and flowEndReason;
 *   ICMP uses icmpTypeCodeIPv4/IPv6 in IPFIX and L4_SRC_PORT 0 / L4_DST_PORT type*256+code in v9.
 */
import { IE, recordFields, SCOPE } from './fields.ts';
import type { FieldSpec, TemplateSpec } from './fields.ts';
import { recordLength } from './flowsets.ts';

export interface IptFlow {
  /** 4 (default) or 6. */
  family?: 4 | 6;
  /** IPv4 addresses as unsigned 32-bit integers. */
  src4?: number;
  dst4?: number;
  /** IPv6 addresses (16 bytes). */
  src6?: Uint8Array;
  dst6?: Uint8Array;
  srcPort: number;
  /** For ICMP: type * 256 + code. */
  dstPort: number;
  proto: number;
  tcpFlags?: number;
  tos?: number;
  packets: number;
  bytes: number;
  /** Absolute flow start and end, Unix epoch milliseconds. */
  startMs: number;
  endMs: number;
  inputIf?: number;
  outputIf?: number;
  /** 0 ingress, 1 egress (DIRECTION field). */
  direction?: number;
}

export interface IptExporterOptions {
  /** NetFlow version: 9 (default), 10 (IPFIX) or 5. */
  protocol?: 5 | 9 | 10;
  /** Source ID / observation domain; ipt-netflow's `engine_id`, 0 by default. */
  engineId?: number;
  /** Built with ENABLE_DIRECTION (default true): adds DIRECTION, making the 15-field, 40-byte record. */
  direction?: boolean;
  /** Built with ENABLE_PHYSDEV (default false). */
  physdev?: boolean;
  /** Packets between template resends (default 20). */
  refreshRate?: number;
  /** Milliseconds between template resends (default 30 minutes). */
  timeoutRateMs?: number;
  /** Netdev names, ifindex = position + 1, sent as options records. [] sends none. Default ['lo', 'eth0']. */
  interfaces?: readonly string[];
  /** Wall-clock time the node booted (the sysUptime base). Default: one hour before the first packet. */
  bootMs?: number;
}

const V9_HEADER = 20;
const IPFIX_HEADER = 16;
const V5_HEADER = 24;
const MAX_DATA = 1400;

/** A template as ipt-netflow builds it, with its place in the export state. */
interface LiveTemplate {
  readonly spec: TemplateSpec;
  readonly options: boolean;
  readonly ids: Int32Array;
  readonly lengths: Int32Array;
  readonly recSize: number;
  readonly tplSize: number;
  exportedCnt: number;
  exportedTs: number;
}

type TemplateKind = 'ipv4' | 'ipv4-icmp' | 'ipv4-other' | 'ipv6' | 'ipv6-icmp' | 'ipv6-other' | 'ifnames';

export class IptNetflowExporter {
  readonly protocol: 5 | 9 | 10;
  readonly engineId: number;
  private readonly direction: boolean;
  private readonly physdev: boolean;
  private readonly refreshRate: number;
  private readonly timeoutRateMs: number;
  private readonly interfaces: readonly string[];
  private bootMs: number | undefined;
  /** The clock of the packet being built: no flow can end after it or start before boot. */
  private packNow = 0;
  private readonly templates = new Map<TemplateKind, LiveTemplate>();
  private nextTemplateId = 256;
  /** Packets sent (ipt-netflow's pdu_count). */
  private pduCount = 0;
  /** v9: packets; IPFIX: data records; v5: flows. */
  private sequence = 0;
  private readonly buf = new Uint8Array(V9_HEADER + MAX_DATA + 64);
  private readonly dv = new DataView(this.buf.buffer);

  constructor(options: IptExporterOptions = {}) {
    this.protocol = options.protocol ?? 9;
    this.engineId = options.engineId ?? 0;
    this.direction = options.direction ?? true;
    this.physdev = options.physdev ?? false;
    this.refreshRate = options.refreshRate ?? 20;
    this.timeoutRateMs = options.timeoutRateMs ?? 30 * 60_000;
    this.interfaces = options.interfaces ?? ['lo', 'eth0'];
    this.bootMs = options.bootMs;
    // ipt-netflow numbers templates in order of first use; the IPv4 TCP/UDP one is the first
    // a busy node needs, so it is 256 here, and the interface names options template 257.
    if (this.protocol !== 5) {
      this.template('ipv4');
      if (this.interfaces.length > 0) this.template('ifnames');
    }
  }

  /** The template for IPv4 TCP/UDP flows (256), as a decoder would see it. */
  get ipv4Template(): TemplateSpec {
    return this.template('ipv4').spec;
  }

  /** Every template made so far, in ID order. */
  get templateSpecs(): TemplateSpec[] {
    return [...this.templates.values()].map((t) => t.spec).sort((a, b) => a.id - b.id);
  }

  /** Force every template (and the interface names) into the next packet, as after a module reload. */
  resendTemplates(): void {
    for (const t of this.templates.values()) t.exportedTs = 0;
  }

  /**
   * Build one export packet from `flows[from...]`, with at most `maxRecords` flow records and
   * whatever templates and options records are due. Returns the payload (a fresh copy) and how
   * many flows it took (possibly fewer than asked when the 1400-byte packet is full).
   */
  pack(flows: readonly IptFlow[], from: number, nowMs: number, maxRecords = Infinity): { payload: Uint8Array; taken: number } {
    this.bootMs ??= nowMs - 3_600_000;
    this.packNow = nowMs;
    if (this.protocol === 5) return this.packV5(flows, from, nowMs, maxRecords);
    const header = this.protocol === 9 ? V9_HEADER : IPFIX_HEADER;
    const limit = header + MAX_DATA;
    const b = this.buf;
    const dv = this.dv;
    let p = header;
    let records = 0;
    let dataRecords = 0;
    let setStart = -1;
    let setTemplate: LiveTemplate | undefined;

    const closeSet = (): void => {
      if (setStart < 0) return;
      let len = p - setStart;
      const pad = (4 - (len % 4)) % 4;
      if (pad && p + pad <= limit) {
        b.fill(0, p, p + pad);
        p += pad;
        len += pad;
      }
      dv.setUint16(setStart + 2, len);
      setStart = -1;
      setTemplate = undefined;
    };
    const openSet = (t: LiveTemplate, extra: number): boolean => {
      const due = this.due(t, nowMs);
      const need = (setStart >= 0 ? 3 : 0) + (due ? t.tplSize : 0) + 4 + t.recSize + extra;
      if (p + need > limit) return false;
      closeSet();
      if (due) {
        p = this.writeTemplate(t, p);
        t.exportedCnt = this.pduCount;
        t.exportedTs = nowMs;
        records++;
      }
      setStart = p;
      setTemplate = t;
      dv.setUint16(p, t.spec.id);
      p += 4;
      return true;
    };

    const ifn = this.templates.get('ifnames');
    if (ifn && this.due(ifn, nowMs) && openSet(ifn, ifn.recSize * (this.interfaces.length - 1))) {
      for (let i = 0; i < this.interfaces.length; i++) {
        p = this.writeIfName(ifn, p, i);
        records++;
        dataRecords++;
      }
    }

    let taken = 0;
    for (let i = from; i < flows.length && taken < maxRecords; i++) {
      const f = flows[i];
      const t = this.template(kindOf(f));
      if (setTemplate !== t) {
        if (!openSet(t, 0)) break;
      } else if (p + t.recSize > limit) {
        break;
      }
      p = this.writeFlow(t, p, f);
      records++;
      dataRecords++;
      taken++;
    }
    // The last set stays unpadded, as ipt-netflow sends it.
    if (setStart >= 0) dv.setUint16(setStart + 2, p - setStart);

    if (this.protocol === 9) {
      dv.setUint16(0, 9);
      dv.setUint16(2, records);
      dv.setUint32(4, (nowMs - this.bootMs) >>> 0);
      dv.setUint32(8, Math.floor(nowMs / 1000) >>> 0);
      dv.setUint32(12, this.sequence >>> 0);
      dv.setUint32(16, this.engineId >>> 0);
      this.sequence++;
    } else {
      dv.setUint16(0, 10);
      dv.setUint16(2, p);
      dv.setUint32(4, Math.floor(nowMs / 1000) >>> 0);
      dv.setUint32(8, this.sequence >>> 0);
      dv.setUint32(12, this.engineId >>> 0);
      this.sequence += dataRecords;
    }
    this.pduCount++;
    return { payload: b.slice(0, p), taken };
  }

  /**
   * sysUptime at a wall-clock time, kept between boot and the packet's own time: a flow from the
   * future or from before boot would read as 49 days off (uint32 wrap) to any collector.
   */
  private uptimeAt(ms: number): number {
    const boot = this.bootMs ?? 0;
    return Math.max(0, Math.min(ms, this.packNow) - boot) >>> 0;
  }

  private due(t: LiveTemplate, nowMs: number): boolean {
    return t.exportedTs === 0 || this.pduCount > t.exportedCnt + this.refreshRate || nowMs - t.exportedTs >= this.timeoutRateMs;
  }

  private packV5(flows: readonly IptFlow[], from: number, nowMs: number, maxRecords: number): { payload: Uint8Array; taken: number } {
    const boot = this.bootMs ?? nowMs;
    const dv = this.dv;
    const n = Math.min(30, maxRecords, flows.length - from);
    let taken = 0;
    for (let i = 0; i < n; i++) {
      const f = flows[from + i];
      if ((f.family ?? 4) !== 4) break;
      const o = V5_HEADER + taken * 48;
      this.buf.fill(0, o, o + 48);
      dv.setUint32(o, f.src4 ?? 0);
      dv.setUint32(o + 4, f.dst4 ?? 0);
      dv.setUint16(o + 12, f.inputIf ?? 0);
      dv.setUint16(o + 14, f.outputIf ?? 0);
      dv.setUint32(o + 16, f.packets >>> 0);
      dv.setUint32(o + 20, f.bytes >>> 0);
      dv.setUint32(o + 24, this.uptimeAt(f.startMs));
      dv.setUint32(o + 28, this.uptimeAt(f.endMs));
      dv.setUint16(o + 32, f.srcPort);
      dv.setUint16(o + 34, f.dstPort);
      this.buf[o + 37] = f.tcpFlags ?? 0;
      this.buf[o + 38] = f.proto;
      this.buf[o + 39] = f.tos ?? 0;
      taken++;
    }
    dv.setUint16(0, 5);
    dv.setUint16(2, taken);
    dv.setUint32(4, (nowMs - boot) >>> 0);
    dv.setUint32(8, Math.floor(nowMs / 1000) >>> 0);
    dv.setUint32(12, (nowMs % 1000) * 1e6);
    dv.setUint32(16, this.sequence >>> 0);
    this.buf[20] = 0;
    this.buf[21] = this.engineId & 255;
    dv.setUint16(22, 0);
    this.sequence += taken;
    this.pduCount++;
    return { payload: this.buf.slice(0, V5_HEADER + taken * 48), taken };
  }

  private template(kind: TemplateKind): LiveTemplate {
    let t = this.templates.get(kind);
    if (t) return t;
    const spec = this.buildSpec(kind, this.nextTemplateId++);
    const all = recordFields(spec);
    const options = spec.scopeFields !== undefined;
    // v9 and IPFIX options template headers are both 10 bytes (scope/option lengths vs field/scope counts).
    const tplSize = (options ? 10 : 8) + all.length * 4;
    t = {
      spec,
      options,
      ids: Int32Array.from(all.map((f) => f.id)),
      lengths: Int32Array.from(all.map((f) => f.length)),
      recSize: recordLength(spec) ?? 0,
      tplSize,
      exportedCnt: 0,
      exportedTs: 0,
    };
    this.templates.set(kind, t);
    return t;
  }

  private buildSpec(kind: TemplateKind, id: number): TemplateSpec {
    const f = (fid: number, length: number): FieldSpec => ({ id: fid, length });
    const v9 = this.protocol === 9;
    if (kind === 'ifnames') {
      // v9 has no observationDomainId scope: ipt-netflow maps it to the System scope.
      return {
        id,
        scopeFields: [f(v9 ? SCOPE.SYSTEM : IE.OBSERVATION_DOMAIN_ID, 4)],
        fields: [f(IE.INPUT_SNMP, 2), f(IE.IF_NAME, 16), f(IE.IF_DESC, 32)],
      };
    }
    const fields: FieldSpec[] = [];
    const six = kind.startsWith('ipv6');
    if (six) fields.push(f(IE.IPV6_SRC_ADDR, 16), f(IE.IPV6_DST_ADDR, 16), f(IE.IPV6_NEXT_HOP, 16));
    else fields.push(f(IE.IPV4_SRC_ADDR, 4), f(IE.IPV4_DST_ADDR, 4), f(IE.IPV4_NEXT_HOP, 4));
    const icmp = kind.endsWith('icmp');
    if (icmp && !v9) fields.push(f(six ? IE.ICMP_TYPE_CODE_IPV6 : IE.ICMP_TYPE, 2));
    if (kind === 'ipv4' || kind === 'ipv6') fields.push(f(IE.L4_SRC_PORT, 2), f(IE.L4_DST_PORT, 2), f(IE.TCP_FLAGS, 1));
    else if (icmp && v9) fields.push(f(IE.L4_SRC_PORT, 2), f(IE.L4_DST_PORT, 2));
    fields.push(f(IE.INPUT_SNMP, 2), f(IE.OUTPUT_SNMP, 2));
    if (this.physdev) fields.push(f(IE.INGRESS_PHYSICAL_INTERFACE, 2), f(IE.EGRESS_PHYSICAL_INTERFACE, 2));
    fields.push(f(IE.IN_PKTS, 4), f(IE.IN_BYTES, 4));
    if (v9) fields.push(f(IE.FIRST_SWITCHED, 4), f(IE.LAST_SWITCHED, 4));
    else fields.push(f(IE.FLOW_START_MILLISECONDS, 8), f(IE.FLOW_END_MILLISECONDS, 8));
    fields.push(f(IE.PROTOCOL, 1), f(IE.TOS, 1));
    if (!v9) fields.push(f(IE.FLOW_END_REASON, 1));
    if (this.direction) fields.push(f(IE.DIRECTION, 1));
    return { id, fields };
  }

  private writeTemplate(t: LiveTemplate, p: number): number {
    const dv = this.dv;
    const v9 = this.protocol === 9;
    dv.setUint16(p, t.options ? (v9 ? 1 : 3) : v9 ? 0 : 2);
    dv.setUint16(p + 2, t.tplSize);
    dv.setUint16(p + 4, t.spec.id);
    let q: number;
    if (!t.options) {
      dv.setUint16(p + 6, t.ids.length);
      q = p + 8;
    } else if (v9) {
      dv.setUint16(p + 6, 4);
      dv.setUint16(p + 8, (t.ids.length - 1) * 4);
      q = p + 10;
    } else {
      dv.setUint16(p + 6, t.ids.length);
      dv.setUint16(p + 8, 1);
      q = p + 10;
    }
    for (let i = 0; i < t.ids.length; i++) {
      dv.setUint16(q, t.ids[i]);
      dv.setUint16(q + 2, t.lengths[i]);
      q += 4;
    }
    return q;
  }

  private writeIfName(t: LiveTemplate, p: number, index: number): number {
    const b = this.buf;
    b.fill(0, p, p + t.recSize);
    this.dv.setUint32(p, this.engineId >>> 0);
    this.dv.setUint16(p + 4, index + 1);
    const name = this.interfaces[index];
    for (let i = 0; i < name.length && i < 15; i++) b[p + 6 + i] = name.charCodeAt(i) & 0x7f;
    return p + t.recSize;
  }

  private writeFlow(t: LiveTemplate, p: number, f: IptFlow): number {
    const dv = this.dv;
    const b = this.buf;
    const ids = t.ids;
    for (let i = 0; i < ids.length; i++) {
      switch (ids[i]) {
        case IE.IPV4_SRC_ADDR:
          dv.setUint32(p, f.src4 ?? 0);
          p += 4;
          break;
        case IE.IPV4_DST_ADDR:
          dv.setUint32(p, f.dst4 ?? 0);
          p += 4;
          break;
        case IE.IPV4_NEXT_HOP:
          dv.setUint32(p, 0);
          p += 4;
          break;
        case IE.IPV6_SRC_ADDR:
          b.set(f.src6 ?? ZERO16, p);
          p += 16;
          break;
        case IE.IPV6_DST_ADDR:
          b.set(f.dst6 ?? ZERO16, p);
          p += 16;
          break;
        case IE.IPV6_NEXT_HOP:
          b.fill(0, p, p + 16);
          p += 16;
          break;
        case IE.L4_SRC_PORT:
          dv.setUint16(p, f.srcPort);
          p += 2;
          break;
        case IE.L4_DST_PORT:
          dv.setUint16(p, f.dstPort);
          p += 2;
          break;
        case IE.ICMP_TYPE:
        case IE.ICMP_TYPE_CODE_IPV6:
          dv.setUint16(p, f.dstPort);
          p += 2;
          break;
        case IE.TCP_FLAGS:
          b[p++] = f.tcpFlags ?? 0;
          break;
        case IE.INPUT_SNMP:
          dv.setUint16(p, f.inputIf ?? 0);
          p += 2;
          break;
        case IE.OUTPUT_SNMP:
          dv.setUint16(p, f.outputIf ?? 0);
          p += 2;
          break;
        case IE.INGRESS_PHYSICAL_INTERFACE:
          dv.setUint16(p, f.inputIf ?? 0);
          p += 2;
          break;
        case IE.EGRESS_PHYSICAL_INTERFACE:
          dv.setUint16(p, f.outputIf ?? 0);
          p += 2;
          break;
        case IE.IN_PKTS:
          dv.setUint32(p, f.packets >>> 0);
          p += 4;
          break;
        case IE.IN_BYTES:
          dv.setUint32(p, f.bytes >>> 0);
          p += 4;
          break;
        case IE.FIRST_SWITCHED:
          dv.setUint32(p, this.uptimeAt(f.startMs));
          p += 4;
          break;
        case IE.LAST_SWITCHED:
          dv.setUint32(p, this.uptimeAt(f.endMs));
          p += 4;
          break;
        case IE.FLOW_START_MILLISECONDS:
          dv.setBigUint64(p, BigInt(Math.floor(f.startMs)));
          p += 8;
          break;
        case IE.FLOW_END_MILLISECONDS:
          dv.setBigUint64(p, BigInt(Math.floor(f.endMs)));
          p += 8;
          break;
        case IE.PROTOCOL:
          b[p++] = f.proto;
          break;
        case IE.TOS:
          b[p++] = f.tos ?? 0;
          break;
        case IE.FLOW_END_REASON:
          b[p++] = 2;
          break; // active timeout
        case IE.DIRECTION:
          b[p++] = f.direction ?? 0;
          break;
        default:
          b.fill(0, p, p + t.lengths[i]);
          p += t.lengths[i];
      }
    }
    return p;
  }
}

const ZERO16 = new Uint8Array(16);

/** Which of ipt-netflow's templates a flow needs (TCP, UDP, SCTP and UDP-Lite carry ports). */
function kindOf(f: IptFlow): TemplateKind {
  const six = f.family === 6;
  if (f.proto === 6 || f.proto === 17 || f.proto === 132 || f.proto === 136) return six ? 'ipv6' : 'ipv4';
  if (f.proto === 1 || f.proto === 58) return six ? 'ipv6-icmp' : 'ipv4-icmp';
  return six ? 'ipv6-other' : 'ipv4-other';
}

// ---------------------------------------------------------------------------------------------
// The stream

export interface IptStreamOptions extends IptExporterOptions {
  /** How many nodes (addresses 10.1.0.1, 10.1.0.2, ...), or their addresses. Default 1. */
  exporters?: number | readonly string[];
  /** Flow records per datagram (fewer when templates share the packet). Default 27. */
  recordsPerDatagram?: number;
  /** Distinct pod addresses the flows use, from 10.244.0.1 up. Default 4000. */
  addresses?: number;
  /** Datagrams to yield; default endless. */
  count?: number;
  /** Wall clock of the first datagram (default: now), advanced by `datagramIntervalMs` (default 1) per datagram. */
  startMs?: number;
  datagramIntervalMs?: number;
  /** PRNG seed, for reproducible streams. Default 1. */
  seed?: number;
}

export interface IptDatagram {
  /** Index and address of the node that sent it. */
  exporterIndex: number;
  exporter: string;
  payload: Uint8Array;
  /** Ground truth: flow records in the datagram (not counting options records), and their sums. */
  records: number;
  bytes: number;
  packets: number;
  /** The clock the datagram was built at. */
  nowMs: number;
}

const SERVER_PORTS_TCP = [80, 443, 8080, 5432, 6379, 9090, 3306, 8443];
const SERVER_PORTS_UDP = [53, 123, 8125, 4789];

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pod address number k (0-based): 10.244.0.1 upward. */
export function podAddress(k: number): number {
  return (0x0af40000 + 1 + k) >>> 0;
}

export function* iptNetflowStream(options: IptStreamOptions = {}): Generator<IptDatagram, void, undefined> {
  const names =
    typeof options.exporters === 'object'
      ? [...options.exporters]
      : Array.from({ length: options.exporters ?? 1 }, (_, i) => `10.1.${(i + 1) >> 8}.${(i + 1) & 255}`);
  const perDatagram = options.recordsPerDatagram ?? 27;
  const nAddr = Math.max(2, options.addresses ?? 4000);
  const count = options.count ?? Infinity;
  const step = options.datagramIntervalMs ?? 1;
  const rand = prng(options.seed ?? 1);
  let now = options.startMs ?? Date.now();
  const nodes = names.map(() => new IptNetflowExporter({ ...options, bootMs: options.bootMs ?? now - 3_600_000 }));
  const flows: IptFlow[] = Array.from({ length: perDatagram }, () => ({
    src4: 0,
    dst4: 0,
    srcPort: 0,
    dstPort: 0,
    proto: 6,
    tcpFlags: 0,
    packets: 0,
    bytes: 0,
    startMs: 0,
    endMs: 0,
    inputIf: 0,
    outputIf: 0,
    direction: 0,
  }));
  for (let n = 0; n < count; n++) {
    const idx = n % nodes.length;
    for (const f of flows) fillFlow(f, rand, nAddr, now);
    const { payload, taken } = nodes[idx].pack(flows, 0, now, perDatagram);
    let bytes = 0;
    let packets = 0;
    for (let i = 0; i < taken; i++) {
      bytes += flows[i].bytes;
      packets += flows[i].packets;
    }
    yield { exporterIndex: idx, exporter: names[idx], payload, records: taken, bytes, packets, nowMs: now };
    now += step;
  }
}

function fillFlow(f: IptFlow, rand: () => number, nAddr: number, now: number): void {
  const client = Math.floor(rand() * nAddr);
  let server = Math.floor(rand() * nAddr);
  if (server === client) server = (server + 1) % nAddr;
  const udp = rand() < 0.2;
  const sport = (udp ? SERVER_PORTS_UDP : SERVER_PORTS_TCP)[Math.floor(rand() * (udp ? SERVER_PORTS_UDP.length : SERVER_PORTS_TCP.length))];
  const eport = 32768 + Math.floor(rand() * 28232);
  // FORWARD-chain flows come in both halves; half the records are the server's replies.
  const reply = rand() < 0.5;
  f.src4 = podAddress(reply ? server : client);
  f.dst4 = podAddress(reply ? client : server);
  f.srcPort = reply ? sport : eport;
  f.dstPort = reply ? eport : sport;
  f.proto = udp ? 17 : 6;
  f.tcpFlags = udp ? 0 : 0x1b;
  f.packets = 1 + Math.floor(rand() * 200);
  f.bytes = f.packets * (40 + Math.floor(rand() * 1460));
  f.endMs = now - Math.floor(rand() * 1000);
  f.startMs = f.endMs - Math.floor(rand() * 60_000);
  f.inputIf = 1 + Math.floor(rand() * 2);
  f.outputIf = 1 + Math.floor(rand() * 2);
  f.direction = reply ? 1 : 0;
}
