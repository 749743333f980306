/**
 * Decode throughput, decode alone: ipt-netflow-shaped v9 (40-byte IPv4 records, 15 fields,
 * ~34 per datagram, 4,000 distinct addresses) and the same flows as IPFIX. Prints records/s and
 * memory. Datagrams are built first; only decode() is timed.
 */
import { Decoder } from '../src/decode/decoder.ts';
import type { Exporter, FlowRecord } from '../src/decode/record.ts';
import { iptNetflowStream } from '../src/generate/ipt-netflow-stream.ts';

const DATAGRAMS = 20_000;
const SECONDS = 1.5;

function build(protocol: 9 | 10): { payloads: Uint8Array[]; records: number } {
  const payloads: Uint8Array[] = [];
  let records = 0;
  for (const d of iptNetflowStream({
    protocol,
    exporters: 1,
    recordsPerDatagram: 34,
    addresses: 4000,
    count: DATAGRAMS,
    startMs: 1_760_000_000_000,
    seed: 7,
  })) {
    payloads.push(d.payload);
    records += d.records;
  }
  return { payloads, records };
}

function run(label: string, protocol: 9 | 10): void {
  const { payloads, records } = build(protocol);
  const exporter: Exporter = { address: '10.1.0.1', port: 2055, key: '10.1.0.1|2055' };
  // The sink touches the fields a real consumer reads, so nothing is optimised away.
  let check = 0;
  const sink = (r: FlowRecord): void => {
    check = (check + r.src4 + r.dst4 + r.bytes + r.dstPort) | 0;
  };
  const dec = new Decoder(sink);
  const now = 1_760_000_000_000;
  // Warm up: templates, compiled reader, JIT.
  for (let i = 0; i < 3; i++) for (const p of payloads) dec.decode(p, exporter, now);
  if (dec.stats.records.v9 + dec.stats.records.ipfix !== 3 * records) {
    throw new Error(`${label}: decoded ${dec.stats.records.v9 + dec.stats.records.ipfix} records, expected ${3 * records}`);
  }
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let decoded = 0;
  let passes = 0;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < SECONDS) {
    for (const p of payloads) dec.decode(p, exporter, now);
    decoded += records;
    passes++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  // CPU seconds of this process: on a shared machine wall time also counts other people's work.
  const cpuUsed = process.cpuUsage(cpu0);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
  const heapAfter = process.memoryUsage().heapUsed;
  const mem = process.memoryUsage();
  const perDatagram = records / payloads.length;
  console.log(
    `decode ${label}: ${(decoded / cpu / 1e6).toFixed(1)} M records per CPU-second, ${(decoded / elapsed / 1e6).toFixed(1)} M records/s wall ` +
      `(${(decoded / perDatagram / cpu / 1e3).toFixed(0)}k datagrams per CPU-second, ${perDatagram.toFixed(1)} records/datagram, ` +
      `${passes} passes over ${payloads.length} datagrams in ${elapsed.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU) ` +
      `heap ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB (${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB grown while timing), rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB` +
      ` [check ${check & 0xff}]`,
  );
}

export async function main(): Promise<void> {
  run('v9 ipt-netflow (40-byte IPv4 records)', 9);
  run('IPFIX ipt-netflow', 10);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
