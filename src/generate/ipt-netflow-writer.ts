/**
 * What ipt-netflow writes into an export packet, field by field: template records, flow records,
 * interface-name options records and v5 records, into one reused packet buffer.
 */
import { IE } from './fields.ts';
import type { IptFlow, IptTemplate } from './ipt-netflow-templates.ts';

const ZERO16 = new Uint8Array(16);

export class IptPacketWriter {
  /** The packet being built. */
  readonly buf: Uint8Array;
  readonly view: DataView;
  /** When the node booted (the sysUptime base), and the clock of the packet being built. */
  bootMs = 0;
  nowMs = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /**
   * sysUptime at a wall-clock time, kept between boot and the packet's own time: a flow from the
   * future or from before boot would read as 49 days off (uint32 wrap) to any collector.
   */
  uptimeAt(ms: number): number {
    return Math.max(0, Math.min(ms, this.nowMs) - this.bootMs) >>> 0;
  }

  /** A template set holding template `t` at `p`; returns where it ends. */
  template(t: IptTemplate, p: number, v9: boolean): number {
    const dv = this.view;
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

  /** The interface-name record of ifIndex `index + 1` at `p` (scope: the engine ID); returns where it ends. */
  ifName(t: IptTemplate, p: number, engineId: number, index: number, name: string): number {
    const b = this.buf;
    b.fill(0, p, p + t.recSize);
    this.view.setUint32(p, engineId >>> 0);
    this.view.setUint16(p + 4, index + 1);
    for (let i = 0; i < name.length && i < 15; i++) b[p + 6 + i] = name.charCodeAt(i) & 0x7f;
    return p + t.recSize;
  }

  /** Flow `f` as a record of template `t` at `p`; returns where it ends. */
  flow(t: IptTemplate, p: number, f: IptFlow): number {
    const dv = this.view;
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
        case IE.INGRESS_PHYSICAL_INTERFACE:
          dv.setUint16(p, f.inputIf ?? 0);
          p += 2;
          break;
        case IE.OUTPUT_SNMP:
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

  /** Flow `f` as the 48-byte v5 record at `o`. */
  v5(o: number, f: IptFlow): void {
    const dv = this.view;
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
  }
}
