/**
 * NetFlow traffic shaped exactly like the ipt-netflow kernel module sends it, for tests,
 * benchmarks and the demo.
 *
 * One node's exporter: you give the flows, it builds the export packets (a stream of them from
 * several nodes: ipt-netflow-stream.ts).
 *
 *   const node = new IptNetflowExporter({ protocol: 9 });           // source ID 0, template 256
 *   const { payload, taken } = node.pack(flows, 0, Date.now());      // as many flows as fit
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
import type { TemplateSpec } from './fields.ts';
import { type IptBuild, type IptFlow, type IptTemplate, iptTemplate, kindOf, type TemplateKind } from './ipt-netflow-templates.ts';
import { IptPacketWriter } from './ipt-netflow-writer.ts';

export type { IptFlow } from './ipt-netflow-templates.ts';

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

export class IptNetflowExporter {
  readonly protocol: 5 | 9 | 10;
  readonly engineId: number;
  readonly #build: IptBuild;
  readonly #refreshRate: number;
  readonly #timeoutRateMs: number;
  readonly #interfaces: readonly string[];
  #bootMs: number | undefined;
  readonly #templates = new Map<TemplateKind, IptTemplate>();
  #nextTemplateId = 256;
  /** Packets sent (ipt-netflow's pdu_count). */
  #pduCount = 0;
  /** v9: packets; IPFIX: data records; v5: flows. */
  #sequence = 0;
  readonly #out = new IptPacketWriter(V9_HEADER + MAX_DATA + 64);

  constructor(options: IptExporterOptions = {}) {
    this.protocol = options.protocol ?? 9;
    this.engineId = options.engineId ?? 0;
    this.#build = { protocol: this.protocol, direction: options.direction ?? true, physdev: options.physdev ?? false };
    this.#refreshRate = options.refreshRate ?? 20;
    this.#timeoutRateMs = options.timeoutRateMs ?? 30 * 60_000;
    this.#interfaces = options.interfaces ?? ['lo', 'eth0'];
    this.#bootMs = options.bootMs;
    // ipt-netflow numbers templates in order of first use; the IPv4 TCP/UDP one is the first
    // a busy node needs, so it is 256 here, and the interface names options template 257.
    if (this.protocol !== 5) {
      this.#template('ipv4');
      if (this.#interfaces.length > 0) this.#template('ifnames');
    }
  }

  /** The template for IPv4 TCP/UDP flows (256), as a decoder would see it. */
  get ipv4Template(): TemplateSpec {
    return this.#template('ipv4').spec;
  }

  /** Every template made so far, in ID order. */
  get templateSpecs(): TemplateSpec[] {
    return [...this.#templates.values()].map((t) => t.spec).sort((a, b) => a.id - b.id);
  }

  /** Force every template (and the interface names) into the next packet, as after a module reload. */
  resendTemplates(): void {
    for (const t of this.#templates.values()) t.exportedTs = 0;
  }

  /**
   * Build one export packet from `flows[from...]`, with at most `maxRecords` flow records and
   * whatever templates and options records are due. Returns the payload (a fresh copy) and how
   * many flows it took (possibly fewer than asked when the 1400-byte packet is full).
   */
  pack(flows: readonly IptFlow[], from: number, nowMs: number, maxRecords = Infinity): { payload: Uint8Array; taken: number } {
    this.#bootMs ??= nowMs - 3_600_000;
    const out = this.#out;
    out.bootMs = this.#bootMs;
    out.nowMs = nowMs;
    if (this.protocol === 5) return this.#packV5(flows, from, nowMs, maxRecords);
    const v9 = this.protocol === 9;
    const header = v9 ? V9_HEADER : IPFIX_HEADER;
    const limit = header + MAX_DATA;
    const b = out.buf;
    const dv = out.view;
    let p = header;
    let records = 0;
    let dataRecords = 0;
    let setStart = -1;
    let setTemplate: IptTemplate | undefined;

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
    const openSet = (t: IptTemplate, extra: number): boolean => {
      const due = this.#due(t, nowMs);
      const need = (setStart >= 0 ? 3 : 0) + (due ? t.tplSize : 0) + 4 + t.recSize + extra;
      if (p + need > limit) return false;
      closeSet();
      if (due) {
        p = out.template(t, p, v9);
        t.exportedCnt = this.#pduCount;
        t.exportedTs = nowMs;
        records++;
      }
      setStart = p;
      setTemplate = t;
      dv.setUint16(p, t.spec.id);
      p += 4;
      return true;
    };

    const ifn = this.#templates.get('ifnames');
    const names = this.#interfaces;
    if (ifn && this.#due(ifn, nowMs) && openSet(ifn, ifn.recSize * (names.length - 1))) {
      for (let i = 0; i < names.length; i++) {
        p = out.ifName(ifn, p, this.engineId, i, names[i]);
        records++;
        dataRecords++;
      }
    }

    let taken = 0;
    for (let i = from; i < flows.length && taken < maxRecords; i++) {
      const f = flows[i];
      const t = this.#template(kindOf(f));
      if (setTemplate !== t) {
        if (!openSet(t, 0)) break;
      } else if (p + t.recSize > limit) {
        break;
      }
      p = out.flow(t, p, f);
      records++;
      dataRecords++;
      taken++;
    }
    // The last set stays unpadded, as ipt-netflow sends it.
    if (setStart >= 0) dv.setUint16(setStart + 2, p - setStart);

    if (v9) {
      dv.setUint16(0, 9);
      dv.setUint16(2, records);
      dv.setUint32(4, (nowMs - this.#bootMs) >>> 0);
      dv.setUint32(8, Math.floor(nowMs / 1000) >>> 0);
      dv.setUint32(12, this.#sequence >>> 0);
      dv.setUint32(16, this.engineId >>> 0);
      this.#sequence++;
    } else {
      dv.setUint16(0, 10);
      dv.setUint16(2, p);
      dv.setUint32(4, Math.floor(nowMs / 1000) >>> 0);
      dv.setUint32(8, this.#sequence >>> 0);
      dv.setUint32(12, this.engineId >>> 0);
      this.#sequence += dataRecords;
    }
    this.#pduCount++;
    return { payload: b.slice(0, p), taken };
  }

  #due(t: IptTemplate, nowMs: number): boolean {
    return t.exportedTs === 0 || this.#pduCount > t.exportedCnt + this.#refreshRate || nowMs - t.exportedTs >= this.#timeoutRateMs;
  }

  #packV5(flows: readonly IptFlow[], from: number, nowMs: number, maxRecords: number): { payload: Uint8Array; taken: number } {
    const boot = this.#bootMs ?? nowMs;
    const out = this.#out;
    const dv = out.view;
    const n = Math.min(30, maxRecords, flows.length - from);
    let taken = 0;
    for (let i = 0; i < n; i++) {
      const f = flows[from + i];
      if ((f.family ?? 4) !== 4) break;
      out.v5(V5_HEADER + taken * 48, f);
      taken++;
    }
    dv.setUint16(0, 5);
    dv.setUint16(2, taken);
    dv.setUint32(4, (nowMs - boot) >>> 0);
    dv.setUint32(8, Math.floor(nowMs / 1000) >>> 0);
    dv.setUint32(12, (nowMs % 1000) * 1e6);
    dv.setUint32(16, this.#sequence >>> 0);
    out.buf[20] = 0;
    out.buf[21] = this.engineId & 255;
    dv.setUint16(22, 0);
    this.#sequence += taken;
    this.#pduCount++;
    return { payload: out.buf.slice(0, V5_HEADER + taken * 48), taken };
  }

  #template(kind: TemplateKind): IptTemplate {
    let t = this.#templates.get(kind);
    if (t === undefined) {
      t = iptTemplate(this.#build, kind, this.#nextTemplateId++);
      this.#templates.set(kind, t);
    }
    return t;
  }
}
