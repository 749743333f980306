/**
 * NetFlow v5: a 24-byte header and fixed 48-byte records. Exporters (and captures) sometimes put
 * several v5 PDUs back to back in one buffer; like nfdump we walk them all, each by its own
 * header count, and drop a PDU whose count is above 30 or needs more bytes than are left.
 */
import type { Exporter, FlowRecord, RecordSink } from './record.ts';
import type { DecoderStats } from './stats.ts';

export const V5_HEADER = 24;
export const V5_RECORD = 48;
export const V5_MAX_COUNT = 30;

/** Returns true when the first PDU header was accepted (the datagram counts as decoded). */
export function decodeV5(v: DataView, u: Uint8Array, exporter: Exporter, r: FlowRecord, sink: RecordSink, stats: DecoderStats): boolean {
  const len = u.length;
  let p = 0;
  let first = true;
  while (p < len) {
    if (len - p < V5_HEADER) {
      stats.errors.short_header++;
      return !first;
    }
    if (!first && v.getUint16(p) !== 5) {
      stats.errors.unknown_version++;
      return true;
    }
    const count = v.getUint16(p + 2);
    if (count > V5_MAX_COUNT) {
      stats.errors.bad_count++;
      return !first;
    }
    if (len - p < V5_HEADER + count * V5_RECORD) {
      stats.errors.truncated_v5++;
      return !first;
    }
    const uptime = v.getUint32(p + 4);
    const baseMs = v.getUint32(p + 8) * 1000 + Math.floor(v.getUint32(p + 12) / 1e6);
    const sourceId = (u[p + 20] << 8) | u[p + 21];
    // Top 2 bits: sampling mode; low 14 bits: the interval (0 = unsampled).
    const rate = v.getUint16(p + 22) & 0x3fff || 1;
    r.version = 5;
    r.exporter = exporter;
    r.sourceId = sourceId;
    r.family = 4;
    r.samplingRate = rate;
    let q = p + V5_HEADER;
    for (let i = 0; i < count; i++, q += V5_RECORD) {
      r.src4 = v.getUint32(q);
      r.dst4 = v.getUint32(q + 4);
      r.inputIf = v.getUint16(q + 12);
      r.outputIf = v.getUint16(q + 14);
      r.packets = v.getUint32(q + 16) * rate;
      r.bytes = v.getUint32(q + 20) * rate;
      r.startMs = baseMs - ((uptime - v.getUint32(q + 24)) >>> 0);
      r.endMs = baseMs - ((uptime - v.getUint32(q + 28)) >>> 0);
      r.srcPort = v.getUint16(q + 32);
      r.dstPort = v.getUint16(q + 34);
      r.tcpFlags = u[q + 37];
      r.proto = u[q + 38];
      sink(r);
    }
    stats.records.v5 += count;
    p = q;
    first = false;
  }
  return true;
}
