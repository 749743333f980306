/**
 * The flow record that flows from decode to identify to aggregate.
 *
 * One instance is reused for every record a decoder emits (the hot path allocates nothing per
 * record). A sink that needs to keep a record past its callback must copy the fields it needs.
 */

import { DOUBLE_ZERO } from '../observe/double-zero.ts';

/** Where datagrams come from. One object per (address, port), created by ingest and reused. */
export interface Exporter {
  /** The exporter's IP address as text, as the socket reports it (IPv4-mapped IPv6 unwrapped). */
  readonly address: string;
  readonly port: number;
  /** `address|port`: the first part of every template key. */
  readonly key: string;
}

/**
 * Fields that can hold 2^30 or more (addresses, IDs, counts, times) start as doubles (see
 * DOUBLE_ZERO): V8 keeps a field that starts at 0 as a small integer, and the first address at
 * 64.0.0.0 or above changed the record's hidden class, throwing away the optimised code of every
 * function the record passes through (--trace-deopt: "wrong map" in the pipeline, the identity
 * index and the delta table at the first burst after a start, as the warm-up's pod addresses are
 * all 10.x).
 */
export class FlowRecord {
  /** 5, 9 or 10 (IPFIX). */
  version = 0;
  exporter: Exporter = NO_EXPORTER;
  /** v9 source ID, IPFIX observation domain ID, v5 engine type << 8 | engine id. */
  sourceId = DOUBLE_ZERO;

  /** 4 or 6: which of the address fields below are valid. */
  family: 4 | 6 = 4;
  /** IPv4 addresses as unsigned 32-bit integers (valid when family is 4). */
  src4 = DOUBLE_ZERO;
  dst4 = DOUBLE_ZERO;
  /** IPv6 addresses (valid when family is 6). Reused buffers: copy before keeping. */
  readonly src6 = new Uint8Array(16);
  readonly dst6 = new Uint8Array(16);

  srcPort = 0;
  dstPort = 0;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6). */
  proto = 0;
  tcpFlags = 0;

  /** Octets and packets, already multiplied by the sampling rate. Exact up to 2^53. */
  bytes = DOUBLE_ZERO;
  packets = DOUBLE_ZERO;
  /** The sampling interval applied (1 when unsampled). */
  samplingRate = 1;

  /** Flow start and end as Unix epoch milliseconds (UTC). 0 when the exporter sent no times. */
  startMs = DOUBLE_ZERO;
  endMs = DOUBLE_ZERO;

  inputIf = DOUBLE_ZERO;
  outputIf = DOUBLE_ZERO;
}

export const NO_EXPORTER: Exporter = Object.freeze({ address: '0.0.0.0', port: 0, key: '0.0.0.0|0' });

/** Called once per decoded flow record. The record is only valid during the call. */
export type RecordSink = (rec: FlowRecord) => void;

export function ipv4ToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** RFC 5952 text form of a 16-byte IPv6 address. */
export function ipv6ToString(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i] << 8) | b[i + 1]);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

export function srcAddrString(rec: FlowRecord): string {
  return rec.family === 4 ? ipv4ToString(rec.src4) : ipv6ToString(rec.src6);
}

export function dstAddrString(rec: FlowRecord): string {
  return rec.family === 4 ? ipv4ToString(rec.dst4) : ipv6ToString(rec.dst6);
}
