/** IPFIX messages (RFC 7011): a 16-byte header and the given sets. */
import { concatBytes } from './fields.ts';
import { encodeSet } from './flowsets.ts';
import type { FlowSet } from './flowsets.ts';

export interface IpfixHeader {
  exportTimeSecs: number;
  /** IPFIX counts data records sent before this message. */
  sequence: number;
  observationDomainId: number;
}

export function encodeIpfix(h: IpfixHeader, sets: readonly FlowSet[]): Uint8Array {
  const body = concatBytes(sets.map((s) => encodeSet(s, 10)));
  const length = 16 + body.length;
  if (length > 65535) throw new Error(`IPFIX message of ${length} bytes is over the 65535-byte limit`);
  const out = new Uint8Array(length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 10);
  dv.setUint16(2, length);
  dv.setUint32(4, h.exportTimeSecs >>> 0);
  dv.setUint32(8, h.sequence >>> 0);
  dv.setUint32(12, h.observationDomainId >>> 0);
  out.set(body, 16);
  return out;
}
