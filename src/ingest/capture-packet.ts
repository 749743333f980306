/**
 * From a captured frame to a UDP datagram: link layer, IPv4/IPv6 (extension headers skipped),
 * UDP. Every length is checked against the captured bytes, never trusted.
 */
import { ipv6ToString } from '../decode/record.ts';

/** Link-layer types (LINKTYPE_* / DLT_* numbers) that we can read. */
export const LINK_NULL = 0;
export const LINK_ETHERNET = 1;
export const LINK_RAW_BSD = 12;
export const LINK_RAW_OPENBSD = 14;
export const LINK_RAW = 101;
export const LINK_LOOP = 108;
export const LINK_LINUX_SLL = 113;
export const LINK_IPV4 = 228;
export const LINK_IPV6 = 229;
export const LINK_LINUX_SLL2 = 276;

export const SUPPORTED_LINK_TYPES: ReadonlySet<number> = new Set([
  LINK_NULL,
  LINK_ETHERNET,
  LINK_RAW_BSD,
  LINK_RAW_OPENBSD,
  LINK_RAW,
  LINK_LOOP,
  LINK_LINUX_SLL,
  LINK_IPV4,
  LINK_IPV6,
  LINK_LINUX_SLL2,
]);

/** Why frames were not turned into datagrams. */
export interface CaptureStats {
  /** Frames (packet records) read from the file. */
  frames: number;
  /** UDP datagrams yielded. */
  datagrams: number;
  /** IP packets that were not UDP (or whose transport we cannot reach, e.g. ESP). */
  nonUdp: number;
  /** Frames that are not IPv4/IPv6 (ARP, LLDP, ...). */
  nonIp: number;
  /** IP fragments other than the first: skipped. */
  fragments: number;
  /** First fragments of a fragmented datagram: yielded, but their payload is incomplete. */
  firstFragments: number;
  /** Frames too short for the headers they claim. */
  truncated: number;
  /** Frames on an interface whose link type we do not read. */
  unsupportedLink: number;
}

export function newCaptureStats(): CaptureStats {
  return { frames: 0, datagrams: 0, nonUdp: 0, nonIp: 0, fragments: 0, firstFragments: 0, truncated: 0, unsupportedLink: 0 };
}

/** One UDP datagram from a capture. `payload` is a view into the reader's buffer: use it before asking for the next. */
export interface CapturePacket {
  /** Capture timestamp, Unix epoch milliseconds (0 when the file has none, e.g. pcapng SPB or .dat). */
  tsMs: number;
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
  payload: Uint8Array;
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

const v4Names = new Map<number, string>();

function ipv4Text(b: Uint8Array, o: number): string {
  const n = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  let s = v4Names.get(n);
  if (s === undefined) {
    s = `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
    if (v4Names.size < 65536) v4Names.set(n, s);
  }
  return s;
}

function ipv6Text(b: Uint8Array, o: number): string {
  const s = ipv6ToString(b.subarray(o, o + 16));
  // Exporter addresses are compared as the socket reports them, where a mapped address is unwrapped.
  return s.startsWith('::ffff:') && s.includes('.') ? s.slice(7) : s;
}

/**
 * Parse one frame. On success fills `out` and returns true; otherwise counts the reason in
 * `stats` and returns false. `frame` is exactly the captured bytes of the frame.
 */
export function parseFrame(frame: Uint8Array, linkType: number, tsMs: number, stats: CaptureStats, out: CapturePacket): boolean {
  let off = 0;
  let ethType = -1;
  switch (linkType) {
    case LINK_ETHERNET: {
      if (frame.length < 14) return count(stats, 'truncated');
      ethType = u16(frame, 12);
      off = 14;
      while (ethType === ETH_VLAN || ethType === ETH_QINQ || ethType === ETH_QINQ_OLD) {
        if (frame.length < off + 4) return count(stats, 'truncated');
        ethType = u16(frame, off + 2);
        off += 4;
      }
      break;
    }
    case LINK_LINUX_SLL:
      if (frame.length < 16) return count(stats, 'truncated');
      ethType = u16(frame, 14);
      off = 16;
      break;
    case LINK_LINUX_SLL2:
      if (frame.length < 20) return count(stats, 'truncated');
      ethType = u16(frame, 0);
      off = 20;
      break;
    case LINK_NULL:
    case LINK_LOOP: {
      if (frame.length < 4) return count(stats, 'truncated');
      // NULL stores the family in the capturing host's byte order, LOOP in network order: try both.
      const be = ((frame[0] << 24) | (frame[1] << 16) | (frame[2] << 8) | frame[3]) >>> 0;
      const le = ((frame[3] << 24) | (frame[2] << 16) | (frame[1] << 8) | frame[0]) >>> 0;
      const fam = be < 256 ? be : le;
      if (fam === 2) ethType = ETH_IPV4;
      else if (fam === 10 || fam === 24 || fam === 28 || fam === 30) ethType = ETH_IPV6;
      else return count(stats, 'nonIp');
      off = 4;
      break;
    }
    case LINK_RAW:
    case LINK_RAW_BSD:
    case LINK_RAW_OPENBSD:
    case LINK_IPV4:
    case LINK_IPV6: {
      if (frame.length < 1) return count(stats, 'truncated');
      const v = frame[0] >> 4;
      ethType = v === 4 ? ETH_IPV4 : v === 6 ? ETH_IPV6 : -1;
      if (ethType < 0) return count(stats, 'nonIp');
      break;
    }
    default:
      return count(stats, 'unsupportedLink');
  }
  if (ethType === ETH_IPV4) return parseIpv4(frame, off, tsMs, stats, out);
  if (ethType === ETH_IPV6) return parseIpv6(frame, off, tsMs, stats, out);
  return count(stats, 'nonIp');
}

function count(stats: CaptureStats, reason: keyof CaptureStats): false {
  stats[reason]++;
  return false;
}

function parseIpv4(b: Uint8Array, off: number, tsMs: number, stats: CaptureStats, out: CapturePacket): boolean {
  if (b.length < off + 20 || b[off] >> 4 !== 4) return count(stats, 'truncated');
  const ihl = (b[off] & 15) * 4;
  const total = u16(b, off + 2);
  if (ihl < 20 || b.length < off + ihl) return count(stats, 'truncated');
  // Ethernet pads short frames, and a capture may cut long ones: the IP total length bounds the end.
  const end = Math.min(b.length, total >= ihl ? off + total : b.length);
  const flagsFrag = u16(b, off + 6);
  const fragOffset = flagsFrag & 0x1fff;
  const moreFragments = (flagsFrag & 0x2000) !== 0;
  const proto = b[off + 9];
  if (fragOffset !== 0) return count(stats, 'fragments');
  if (proto !== 17) return count(stats, 'nonUdp');
  if (moreFragments) stats.firstFragments++;
  out.srcAddr = ipv4Text(b, off + 12);
  out.dstAddr = ipv4Text(b, off + 16);
  return parseUdp(b, off + ihl, end, tsMs, stats, out);
}

function parseIpv6(b: Uint8Array, off: number, tsMs: number, stats: CaptureStats, out: CapturePacket): boolean {
  if (b.length < off + 40 || b[off] >> 4 !== 6) return count(stats, 'truncated');
  const payloadLen = u16(b, off + 4);
  // A jumbogram (payload length 0) runs to the end of the frame.
  const end = payloadLen === 0 ? b.length : Math.min(b.length, off + 40 + payloadLen);
  let next = b[off + 6];
  let p = off + 40;
  let firstFragment = false;
  for (;;) {
    if (next === 17) break;
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      if (end < p + 8) return count(stats, 'truncated');
      next = b[p];
      p += (b[p + 1] + 1) * 8;
    } else if (next === 44) {
      if (end < p + 8) return count(stats, 'truncated');
      const fo = u16(b, p + 2);
      if (fo >> 3 !== 0) return count(stats, 'fragments');
      if (fo & 1) firstFragment = true;
      next = b[p];
      p += 8;
    } else if (next === 51) {
      if (end < p + 8) return count(stats, 'truncated');
      next = b[p];
      p += (b[p + 1] + 2) * 4;
    } else {
      return count(stats, 'nonUdp');
    }
  }
  if (firstFragment) stats.firstFragments++;
  out.srcAddr = ipv6Text(b, off + 8);
  out.dstAddr = ipv6Text(b, off + 24);
  return parseUdp(b, p, end, tsMs, stats, out);
}

function parseUdp(b: Uint8Array, off: number, end: number, tsMs: number, stats: CaptureStats, out: CapturePacket): boolean {
  if (end < off + 8) return count(stats, 'truncated');
  const udpLen = u16(b, off + 4);
  // UDP length 0 is legal for IPv6 jumbograms: then the IP layer bounds the datagram.
  const stop = udpLen >= 8 ? Math.min(end, off + udpLen) : end;
  out.tsMs = tsMs;
  out.srcPort = u16(b, off);
  out.dstPort = u16(b, off + 2);
  out.payload = b.subarray(off + 8, stop);
  stats.datagrams++;
  return true;
}
