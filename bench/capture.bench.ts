/**
 * Offline path figures: the ipt-netflow generator, reading a pcap (link layer, IP, UDP), and
 * replay end to end (capture → decoder → JSON lines, output discarded). Prints datagrams/s and
 * records/s; each part runs about a second.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { replay } from '../src/cli/replay.ts';
import { parseReplayConfig } from '../src/config/replay-options.ts';
import { iptNetflowStream } from '../src/generate/ipt-netflow-stream.ts';
import { writePcapFile } from '../src/generate/pcap-writer.ts';
import type { PcapPacket } from '../src/generate/pcap-writer.ts';
import { newCaptureStats, readCapture } from '../src/ingest/capture.ts';

const DATAGRAMS = 20_000;

function rate(n: number, ms: number): string {
  const perSec = (n * 1000) / ms;
  return perSec >= 1e6 ? `${(perSec / 1e6).toFixed(2)} M/s` : `${(perSec / 1e3).toFixed(1)} k/s`;
}

export async function main(): Promise<void> {
  const t0 = performance.now();
  const packets: PcapPacket[] = [];
  let records = 0;
  for (const d of iptNetflowStream({ exporters: 4, count: DATAGRAMS, recordsPerDatagram: 34, startMs: 1_790_000_000_000, seed: 3 })) {
    packets.push({ tsMs: d.nowMs, srcAddr: d.exporter, srcPort: 2055, payload: d.payload });
    records += d.records;
  }
  const genMs = performance.now() - t0;
  console.log(
    `generate ipt-netflow v9: ${DATAGRAMS} datagrams (${records} records) in ${genMs.toFixed(0)} ms: ${rate(DATAGRAMS, genMs)} datagrams, ${rate(records, genMs)} records`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'nfk-bench-capture-'));
  try {
    const file = join(dir, 'stream.pcap');
    writePcapFile(file, packets);
    const size = statSync(file).size;

    let n = 0;
    let bytes = 0;
    const t1 = performance.now();
    for (let round = 0; round < 5; round++) {
      for (const p of readCapture(file, newCaptureStats())) {
        n++;
        bytes += p.payload.length;
      }
    }
    const readMs = performance.now() - t1;
    console.log(
      `read pcap: ${n} datagrams in ${readMs.toFixed(0)} ms: ${rate(n, readMs)} datagrams, ${((5 * size) / 1048576 / (readMs / 1000)).toFixed(0)} MiB/s (payload ${bytes} bytes)`,
    );

    for (const format of ['none', 'json'] as const) {
      let out = 0;
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          out += chunk.length;
          cb();
        },
      });
      const quiet = new Writable({
        write(_c, _e, cb) {
          cb();
        },
      });
      const t2 = performance.now();
      const code = await replay(parseReplayConfig(['--format', format, file], {}), { stdout: sink, stderr: quiet });
      const ms = performance.now() - t2;
      if (code !== 0) throw new Error(`replay exited ${code}`);
      console.log(
        `replay --format ${format}: ${records} records in ${ms.toFixed(0)} ms: ${rate(records, ms)} records${format === 'json' ? `, ${(out / 1048576).toFixed(0)} MiB of JSON` : ''}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
