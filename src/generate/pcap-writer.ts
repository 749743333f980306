/**
 * A small classic-pcap writer (little-endian, microseconds): UDP datagrams wrapped in IPv4 or
 * IPv6 (chosen by the source address) over Ethernet, raw IP or BSD loopback framing. Enough
 * to turn generated NetFlow into captures that `replay` and the tests read back.
 */
import { writeFileSync } from 'node:fs';
import { concatBytes, ipv4Bytes, ipv6Bytes } from './fields.ts';

export interface PcapPacket {
  tsMs: number;
  srcAddr: string;
  srcPort: number;
  dstAddr?: string;
  dstPort?: number;
  payload: Uint8Array;
}

export interface PcapWriteOptions {
  /** 1 Ethernet (default), 101 raw IP, 0 BSD loopback (host byte order family). */
  linkType?: 0 | 1 | 101;
  /** Ethernet only: put the frames in this 802.1Q VLAN. */
  vlan?: number;
}

export function pcapBytes(packets: Iterable<PcapPacket>, options: PcapWriteOptions = {}): Uint8Array {
  const link = options.linkType ?? 1;
  const parts: Uint8Array[] = [];
  const gh = new Uint8Array(24);
  const g = new DataView(gh.buffer);
  g.setUint32(0, 0xa1b2c3d4, true);
  g.setUint16(4, 2, true);
  g.setUint16(6, 4, true);
  g.setUint32(16, 262144, true);
  g.setUint32(20, link, true);
  parts.push(gh);
  for (const p of packets) {
    const frame = concatBytes([linkHeader(link, p.srcAddr.includes(':'), options.vlan), ipUdp(p)]);
    const rh = new Uint8Array(16);
    const r = new DataView(rh.buffer);
    r.setUint32(0, Math.floor(p.tsMs / 1000), true);
    r.setUint32(4, Math.round((p.tsMs % 1000) * 1000), true);
    r.setUint32(8, frame.length, true);
    r.setUint32(12, frame.length, true);
    parts.push(rh, frame);
  }
  return concatBytes(parts);
}

export function writePcapFile(path: string, packets: Iterable<PcapPacket>, options: PcapWriteOptions = {}): void {
  writeFileSync(path, pcapBytes(packets, options));
}

function linkHeader(link: number, v6: boolean, vlan: number | undefined): Uint8Array {
  if (link === 101) return new Uint8Array(0);
  if (link === 0) {
    const h = new Uint8Array(4);
    new DataView(h.buffer).setUint32(0, v6 ? 24 : 2, true);
    return h;
  }
  const type = v6 ? 0x86dd : 0x0800;
  const h = new Uint8Array(vlan === undefined ? 14 : 18);
  h.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
  const dv = new DataView(h.buffer);
  if (vlan === undefined) {
    dv.setUint16(12, type);
  } else {
    dv.setUint16(12, 0x8100);
    dv.setUint16(14, vlan & 0xfff);
    dv.setUint16(16, type);
  }
  return h;
}

/** An IPv4 or IPv6 packet holding one UDP datagram (checksums left 0: readers do not check them). */
export function ipUdp(p: PcapPacket): Uint8Array {
  const v6 = p.srcAddr.includes(':');
  const udpLen = 8 + p.payload.length;
  const ipHeader = v6 ? 40 : 20;
  const out = new Uint8Array(ipHeader + udpLen);
  const dv = new DataView(out.buffer);
  if (v6) {
    out[0] = 0x60;
    dv.setUint16(4, udpLen);
    out[6] = 17;
    out[7] = 64;
    out.set(ipv6Bytes(p.srcAddr), 8);
    out.set(ipv6Bytes(p.dstAddr ?? '::1'), 24);
  } else {
    out[0] = 0x45;
    dv.setUint16(2, 20 + udpLen);
    out[8] = 64;
    out[9] = 17;
    out.set(ipv4Bytes(p.srcAddr), 12);
    out.set(ipv4Bytes(p.dstAddr ?? '127.0.0.1'), 16);
  }
  dv.setUint16(ipHeader, p.srcPort);
  dv.setUint16(ipHeader + 2, p.dstPort ?? 2055);
  dv.setUint16(ipHeader + 4, udpLen);
  out.set(p.payload, ipHeader + 8);
  return out;
}
