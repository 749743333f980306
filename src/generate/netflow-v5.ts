/** NetFlow v5 export packets: a 24-byte header and fixed 48-byte records (at most 30). */
import { ipv4ToInt } from './fields.ts';

export interface V5Header {
  sysUptimeMs: number;
  unixSecs: number;
  unixNsecs?: number;
  sequence: number;
  engineType?: number;
  engineId?: number;
  /** Sampling interval (low 14 bits) ... */
  samplingInterval?: number;
  /** ... and mode (top 2 bits; 1 = deterministic, 2 = random). */
  samplingMode?: number;
  /** The header's count field; by default the number of records. */
  count?: number;
}

export interface V5Record {
  src: string;
  dst: string;
  nextHop?: string;
  inputIf?: number;
  outputIf?: number;
  packets: number;
  bytes: number;
  /** sysUptime milliseconds. */
  first: number;
  last: number;
  srcPort?: number;
  dstPort?: number;
  tcpFlags?: number;
  proto: number;
  tos?: number;
  srcAs?: number;
  dstAs?: number;
  srcMask?: number;
  dstMask?: number;
}

export const V5_HEADER_LENGTH = 24;
export const V5_RECORD_LENGTH = 48;

export function encodeV5(h: V5Header, records: readonly V5Record[]): Uint8Array {
  const out = new Uint8Array(V5_HEADER_LENGTH + V5_RECORD_LENGTH * records.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 5);
  dv.setUint16(2, h.count ?? records.length);
  dv.setUint32(4, h.sysUptimeMs >>> 0);
  dv.setUint32(8, h.unixSecs >>> 0);
  dv.setUint32(12, (h.unixNsecs ?? 0) >>> 0);
  dv.setUint32(16, h.sequence >>> 0);
  out[20] = h.engineType ?? 0;
  out[21] = h.engineId ?? 0;
  dv.setUint16(22, (((h.samplingMode ?? 0) & 3) << 14) | ((h.samplingInterval ?? 0) & 0x3fff));
  records.forEach((r, i) => {
    const o = V5_HEADER_LENGTH + i * V5_RECORD_LENGTH;
    dv.setUint32(o, ipv4ToInt(r.src));
    dv.setUint32(o + 4, ipv4ToInt(r.dst));
    dv.setUint32(o + 8, ipv4ToInt(r.nextHop ?? '0.0.0.0'));
    dv.setUint16(o + 12, r.inputIf ?? 0);
    dv.setUint16(o + 14, r.outputIf ?? 0);
    dv.setUint32(o + 16, r.packets >>> 0);
    dv.setUint32(o + 20, r.bytes >>> 0);
    dv.setUint32(o + 24, r.first >>> 0);
    dv.setUint32(o + 28, r.last >>> 0);
    dv.setUint16(o + 32, r.srcPort ?? 0);
    dv.setUint16(o + 34, r.dstPort ?? 0);
    out[o + 37] = r.tcpFlags ?? 0;
    out[o + 38] = r.proto;
    out[o + 39] = r.tos ?? 0;
    dv.setUint16(o + 40, r.srcAs ?? 0);
    dv.setUint16(o + 42, r.dstAs ?? 0);
    out[o + 44] = r.srcMask ?? 0;
    out[o + 45] = r.dstMask ?? 0;
  });
  return out;
}
