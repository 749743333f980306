/**
 * Offline input: classic pcap (either byte order, µs or ns), pcapng (SHB/IDB/EPB/SPB and the
 * obsolete PB, per-interface link type and timestamp resolution) and raw `.dat` files (one UDP
 * payload each). Packets come out one at a time, read in chunks, so a capture of any size
 * streams with bounded memory.
 *
 *   const stats = newCaptureStats();
 *   for (const p of readCapture('x.pcap', stats)) decoder.decode(p.payload, exporterFor(p), p.tsMs);
 *
 * The yielded object and its payload are reused: use them before asking for the next packet.
 */
import { statSync } from 'node:fs';
import { ChunkedFile } from './capture-file.ts';
import { newCaptureStats, parseFrame, SUPPORTED_LINK_TYPES } from './capture-packet.ts';
import type { CapturePacket, CaptureStats } from './capture-packet.ts';

export { newCaptureStats } from './capture-packet.ts';
export type { CapturePacket, CaptureStats } from './capture-packet.ts';

/** The pretend exporter of every `.dat` datagram (TEST-NET-1, the usual NetFlow port). */
export const DAT_EXPORTER: Readonly<{ address: string; port: number }> = Object.freeze({ address: '192.0.2.1', port: 2055 });

export type CaptureFormat = 'pcap' | 'pcapng' | 'dat';

/** A file that cannot be read as a capture. The message names the file and what is wrong. */
export class CaptureError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'CaptureError';
    this.file = file;
  }
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const MAX_DATAGRAM = 65535;
/** Frames larger than this are not packets but a sign of a corrupt file. */
const MAX_FRAME = 1 << 24;

function rd32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? ((b[o + 3] << 24) | (b[o + 2] << 16) | (b[o + 1] << 8) | b[o]) >>> 0
    : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function rd16(b: Uint8Array, o: number, le: boolean): number {
  return le ? (b[o + 1] << 8) | b[o] : (b[o] << 8) | b[o + 1];
}

/** Which reader a file needs, from its first bytes (and, for raw datagrams, its `.dat` name). */
export function detectFormat(name: string, head: Uint8Array): CaptureFormat | undefined {
  if (head.length >= 4) {
    const be = rd32(head, 0, false);
    const le = rd32(head, 0, true);
    if (be === PCAP_US || be === PCAP_NS || le === PCAP_US || le === PCAP_NS) return 'pcap';
    if (be === PCAPNG_SHB) return 'pcapng';
  }
  if (/\.dat$/i.test(name)) return 'dat';
  return undefined;
}

/** How far into its files a reader has come: bytes consumed, added to across files (for progress). */
export interface CaptureProgress {
  bytes: number;
}

/**
 * Read every UDP datagram of a capture file, in file order. Throws CaptureError (naming the
 * file) when the file cannot be opened or is not a capture; frames it cannot use are counted in
 * `stats` and skipped. A file cut short mid-record ends the stream (counted as truncated).
 * `progress.bytes` grows by each record's size as it is read.
 */
export function* readCapture(
  name: string,
  stats: CaptureStats = newCaptureStats(),
  progress: CaptureProgress = { bytes: 0 },
): Generator<CapturePacket, void, undefined> {
  let file: ChunkedFile;
  try {
    if (statSync(name).isDirectory()) throw new Error('is a directory');
    file = new ChunkedFile(name);
  } catch (err) {
    throw new CaptureError(name, `cannot read: ${(err as Error).message}`);
  }
  try {
    file.ensure(24);
    const format = detectFormat(name, file.buffer.subarray(file.pos, file.pos + Math.min(file.available, 4)));
    if (format === 'pcap') yield* readPcap(file, stats, progress);
    else if (format === 'pcapng') yield* readPcapng(file, stats, progress);
    else if (format === 'dat') yield* readDat(file, stats, progress);
    else throw new CaptureError(name, 'not a capture (expected a pcap or pcapng file, or a .dat file holding one datagram)');
  } finally {
    file.close();
  }
}

function* readDat(file: ChunkedFile, stats: CaptureStats, progress: CaptureProgress): Generator<CapturePacket, void, undefined> {
  file.ensure(MAX_DATAGRAM + 1);
  const n = file.available;
  if (n === 0) throw new CaptureError(file.name, 'empty .dat file (expected one datagram)');
  if (n > MAX_DATAGRAM)
    throw new CaptureError(file.name, `not a datagram: a .dat file holds one UDP payload of at most ${MAX_DATAGRAM} bytes`);
  stats.frames++;
  stats.datagrams++;
  progress.bytes += n;
  yield {
    tsMs: 0,
    srcAddr: DAT_EXPORTER.address,
    srcPort: DAT_EXPORTER.port,
    dstAddr: '0.0.0.0',
    dstPort: 0,
    payload: file.buffer.subarray(file.pos, file.pos + n),
  };
}

function* readPcap(file: ChunkedFile, stats: CaptureStats, progress: CaptureProgress): Generator<CapturePacket, void, undefined> {
  if (!file.ensure(24)) throw new CaptureError(file.name, 'truncated pcap header');
  const h = file.buffer;
  const magicBe = rd32(h, file.pos, false);
  const le = !(magicBe === PCAP_US || magicBe === PCAP_NS);
  const magic = rd32(h, file.pos, le);
  const fracPerMs = magic === PCAP_NS ? 1e6 : 1e3;
  const major = rd16(h, file.pos + 4, le);
  // Only the low 16 bits are the link type; the upper ones may carry FCS information.
  const linkType = rd32(h, file.pos + 20, le) & 0xffff;
  if (major !== 2) throw new CaptureError(file.name, `unsupported pcap version ${major}`);
  if (!SUPPORTED_LINK_TYPES.has(linkType)) throw new CaptureError(file.name, `unsupported link type ${linkType}`);
  file.pos += 24;
  progress.bytes += 24;
  const out = emptyPacket();
  for (;;) {
    if (!file.ensure(16)) {
      if (file.available > 0) stats.truncated++;
      return;
    }
    const b = file.buffer;
    const p = file.pos;
    const sec = rd32(b, p, le);
    const frac = rd32(b, p + 4, le);
    const incl = rd32(b, p + 8, le);
    if (incl > MAX_FRAME) throw new CaptureError(file.name, `corrupt pcap record at offset ${file.offset} (captured length ${incl})`);
    if (!file.ensure(16 + incl)) {
      stats.truncated++;
      return;
    }
    const start = file.pos + 16;
    const frame = file.buffer.subarray(start, start + incl);
    file.pos = start + incl;
    progress.bytes += 16 + incl;
    stats.frames++;
    if (parseFrame(frame, linkType, sec * 1000 + Math.floor(frac / fracPerMs), stats, out)) yield out;
  }
}

interface Interface {
  linkType: number;
  /** Timestamp units per millisecond. */
  unitsPerMs: number;
  /** if_tsoffset, seconds. */
  offsetMs: number;
  snapLen: number;
}

function* readPcapng(file: ChunkedFile, stats: CaptureStats, progress: CaptureProgress): Generator<CapturePacket, void, undefined> {
  let le = false;
  let ifaces: Interface[] = [];
  let sawSection = false;
  const out = emptyPacket();
  for (;;) {
    if (!file.ensure(12)) {
      if (file.available > 0) stats.truncated++;
      return;
    }
    let b = file.buffer;
    const type0 = rd32(b, file.pos, false);
    if (type0 === PCAPNG_SHB) {
      const bom = rd32(b, file.pos + 8, false);
      if (bom === PCAPNG_BOM) le = false;
      else if (rd32(b, file.pos + 8, true) === PCAPNG_BOM) le = true;
      else throw new CaptureError(file.name, `corrupt pcapng section header at offset ${file.offset}`);
      ifaces = [];
      sawSection = true;
    } else if (!sawSection) {
      throw new CaptureError(file.name, 'pcapng file does not start with a section header');
    }
    const type = rd32(b, file.pos, le);
    const total = rd32(b, file.pos + 4, le);
    if (total < 12 || total % 4 !== 0 || total > MAX_FRAME) {
      throw new CaptureError(file.name, `corrupt pcapng block at offset ${file.offset} (length ${total})`);
    }
    if (!file.ensure(total)) {
      stats.truncated++;
      return;
    }
    b = file.buffer;
    const body = file.pos + 8;
    const bodyEnd = file.pos + total - 4;
    file.pos += total;
    progress.bytes += total;
    switch (type) {
      case 1: {
        // Interface Description Block
        if (bodyEnd - body < 8) throw new CaptureError(file.name, 'corrupt pcapng interface block');
        const iface: Interface = { linkType: rd16(b, body, le), unitsPerMs: 1e3, offsetMs: 0, snapLen: rd32(b, body + 4, le) };
        for (let o = body + 8; o + 4 <= bodyEnd; ) {
          const code = rd16(b, o, le);
          const len = rd16(b, o + 2, le);
          const v = o + 4;
          if (code === 0 || v + len > bodyEnd) break;
          if (code === 9 && len >= 1) {
            const r = b[v];
            const perSec = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
            iface.unitsPerMs = perSec / 1000;
          } else if (code === 14 && len >= 8) {
            const hiWord = rd32(b, le ? v + 4 : v, le);
            const loWord = rd32(b, le ? v : v + 4, le);
            iface.offsetMs = (hiWord * 4294967296 + loWord) * 1000;
          }
          o = v + ((len + 3) & ~3);
        }
        ifaces.push(iface);
        break;
      }
      case 6: // Enhanced Packet Block
      case 2: {
        // Packet Block (obsolete)
        if (bodyEnd - body < 20) {
          stats.truncated++;
          break;
        }
        const id = type === 6 ? rd32(b, body, le) : rd16(b, body, le);
        const hi = rd32(b, body + 4, le);
        const lo = rd32(b, body + 8, le);
        const cap = rd32(b, body + 12, le);
        stats.frames++;
        const iface = ifaces[id];
        if (!iface) {
          stats.unsupportedLink++;
          break;
        }
        if (body + 20 + cap > bodyEnd) {
          stats.truncated++;
          break;
        }
        const tsMs = Math.floor((hi * 4294967296 + lo) / iface.unitsPerMs) + iface.offsetMs;
        const frame = b.subarray(body + 20, body + 20 + cap);
        if (parseFrame(frame, iface.linkType, tsMs, stats, out)) yield out;
        break;
      }
      case 3: {
        // Simple Packet Block: interface 0, no timestamp
        if (bodyEnd - body < 4) {
          stats.truncated++;
          break;
        }
        const orig = rd32(b, body, le);
        stats.frames++;
        const iface = ifaces[0];
        if (!iface) {
          stats.unsupportedLink++;
          break;
        }
        let cap = Math.min(orig, bodyEnd - body - 4);
        if (iface.snapLen > 0) cap = Math.min(cap, iface.snapLen);
        const frame = b.subarray(body + 4, body + 4 + cap);
        if (parseFrame(frame, iface.linkType, 0, stats, out)) yield out;
        break;
      }
      default:
        // Name resolution, statistics, custom blocks, ...: nothing for us.
        break;
    }
  }
}

function emptyPacket(): CapturePacket {
  return { tsMs: 0, srcAddr: '', srcPort: 0, dstAddr: '', dstPort: 0, payload: new Uint8Array(0) };
}
