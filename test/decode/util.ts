/** Shared helpers for the decoder tests: exporters, captured records, test data files. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Decoder, type DecoderOptions } from '../../src/decode/decoder.ts';
import { iptNetflowStream, type IptStreamOptions } from '../../src/generate/ipt-netflow-stream.ts';
import { srcAddrString, dstAddrString, type Exporter, type FlowRecord } from '../../src/decode/record.ts';
import { readCapture } from '../../src/ingest/capture.ts';

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

/** UDP payloads of a test capture, in file order, each its own copy (the reader reuses its buffer). */
export function pcapPayloads(path: string): { source: string; payload: Uint8Array }[] {
  const out: { source: string; payload: Uint8Array }[] = [];
  for (const p of readCapture(`${TESTDATA}/${path}`)) out.push({ source: p.srcAddr, payload: p.payload.slice() });
  return out;
}

/** Decodes each case's logstash files in order and checks flows / packets / bytes. */
export function expectLogstashTotals(cases: readonly [files: string[], totals: [number, number, number]][]): void {
  for (const [files, [flows, packets, bytes]] of cases) {
    const { dec, recs } = collecting();
    for (const f of files) dec.decode(dat(`logstash-codec-netflow/${f}`), exporter(), 0);
    assert.deepEqual(totals(recs), { flows, packets, bytes }, files.join(' '));
    assert.equal(dec.stats.errors.exception, 0);
  }
}

/** Decodes an ipt-netflow stream and checks the records against the generator's ground truth. */
export function expectIptStream(options: IptStreamOptions): { dec: Decoder; recs: Rec[] } {
  const { dec, recs } = collecting();
  const truth = { flows: 0, packets: 0, bytes: 0 };
  for (const d of iptNetflowStream(options)) {
    dec.decode(d.payload, exporter(d.exporter), d.nowMs);
    truth.flows += d.records;
    truth.bytes += d.bytes;
    truth.packets += d.packets;
  }
  assert.deepEqual(totals(recs), truth);
  assert.equal(dec.stats.templateMisses, 0);
  return { dec, recs };
}
