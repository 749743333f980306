/** Shared helpers for the decoder tests: exporters, captured records, test data files. */
import { readFileSync } from 'node:fs';
import { Decoder, type DecoderOptions } from '../../src/decode/decoder.ts';
import { srcAddrString, dstAddrString, type Exporter, type FlowRecord } from '../../src/decode/record.ts';

export const TESTDATA = new URL('../../../shared/testdata/netflow', import.meta.url).pathname;

export function exporter(address = '192.0.2.1', port = 2055): Exporter {
  return { address, port, key: `${address}|${port}` };
}

/** A plain copy of a record: the decoder reuses one FlowRecord. */
export interface Rec {
  version: number;
  exporter: string;
  sourceId: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  proto: number;
  tcpFlags: number;
  bytes: number;
  packets: number;
  samplingRate: number;
  startMs: number;
  endMs: number;
  inputIf: number;
  outputIf: number;
}

export function copy(r: FlowRecord): Rec {
  return {
    version: r.version,
    exporter: r.exporter.key,
    sourceId: r.sourceId,
    src: srcAddrString(r),
    dst: dstAddrString(r),
    srcPort: r.srcPort,
    dstPort: r.dstPort,
    proto: r.proto,
    tcpFlags: r.tcpFlags,
    bytes: r.bytes,
    packets: r.packets,
    samplingRate: r.samplingRate,
    startMs: r.startMs,
    endMs: r.endMs,
    inputIf: r.inputIf,
    outputIf: r.outputIf,
  };
}

export function collecting(options?: Partial<DecoderOptions>): { dec: Decoder; recs: Rec[] } {
  const recs: Rec[] = [];
  const dec = new Decoder((r) => recs.push(copy(r)), options);
  return { dec, recs };
}

export function dat(path: string): Uint8Array {
  return new Uint8Array(readFileSync(`${TESTDATA}/${path}`));
}

export function totals(recs: readonly Rec[]): { flows: number; packets: number; bytes: number } {
  let packets = 0;
  let bytes = 0;
  for (const r of recs) {
    packets += r.packets;
    bytes += r.bytes;
  }
  return { flows: recs.length, packets, bytes };
}

/** UDP payloads of a classic little-endian Ethernet/IPv4 pcap (enough for the test captures). */
export function pcapPayloads(path: string): { source: string; payload: Uint8Array }[] {
  const buf = readFileSync(`${TESTDATA}/${path}`);
  const out: { source: string; payload: Uint8Array }[] = [];
  let p = 24;
  while (p + 16 <= buf.length) {
    const incl = buf.readUInt32LE(p + 8);
    const pkt = buf.subarray(p + 16, p + 16 + incl);
    p += 16 + incl;
    if (pkt.readUInt16BE(12) !== 0x0800) continue;
    const ihl = (pkt[14] & 15) * 4;
    const o = 14 + ihl;
    out.push({ source: [...pkt.subarray(26, 30)].join('.'), payload: new Uint8Array(pkt.subarray(o + 8, o + pkt.readUInt16BE(o + 4))) });
  }
  return out;
}
