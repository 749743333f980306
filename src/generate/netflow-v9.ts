/** NetFlow v9 messages (RFC 3954): a 20-byte header and the given flowsets. */
import { concatBytes } from './fields.ts';
import { encodeSet, setRecordCount } from './flowsets.ts';
import type { FlowSet } from './flowsets.ts';

export interface V9Header {
  /** Milliseconds since the exporter booted. */
  sysUptimeMs: number;
  unixSecs: number;
  /** v9 counts export packets. */
  sequence: number;
  sourceId: number;
  /** The header's count field; by default the number of template and data records. */
  count?: number;
}

export function encodeV9(h: V9Header, sets: readonly FlowSet[]): Uint8Array {
  const body = concatBytes(sets.map((s) => encodeSet(s, 9)));
  const out = new Uint8Array(20 + body.length);
  const dv = new DataView(out.buffer);
  const count = h.count ?? sets.reduce((n, s) => n + setRecordCount(s), 0);
  dv.setUint16(0, 9);
  dv.setUint16(2, count);
  dv.setUint32(4, h.sysUptimeMs >>> 0);
  dv.setUint32(8, h.unixSecs >>> 0);
  dv.setUint32(12, h.sequence >>> 0);
  dv.setUint32(16, h.sourceId >>> 0);
  out.set(body, 20);
  return out;
}
