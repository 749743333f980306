/**
 * Run by churn.test.ts with --expose-gc: pod churn through the index in rounds, printing the
 * heap after a full collection at the end of each round as one JSON line.
 */
import { setImmediate as tick } from 'node:timers/promises';
import { IdentityIndex } from '../../src/identify/identity-index.ts';
import { internedCount } from '../../src/identify/intern.ts';
import { FlowRecord } from '../../src/decode/record.ts';
import { pod } from './helpers.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const rounds = Number(process.argv[2] ?? 6);
const perRound = Number(process.argv[3] ?? 5000);
let now = Date.parse('2026-03-01T00:00:00Z');
const retentionMs = 10 * 60_000;
const idx = new IdentityIndex({ now: () => now, retentionMs });
const rec = new FlowRecord();
const live: string[] = [];
let seq = 0;
const heaps: number[] = [];
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < perRound; i++) {
    now += 1000;
    const n = seq++;
    const ip = `10.${(n >> 8) & 3}.${n & 255}.${(n >> 10) & 7}`; // 8192 addresses, reused
    idx.upsertPod(
      pod({
        uid: `uid-${n}`,
        name: `job-${n}`,
        namespace: `ns-${n % 20}`,
        ips: [ip],
        startMs: now,
        appLabel: `app-${n % 50}`,
        labels: { app: `app-${n % 50}` },
        ports: [{ port: 8080, protocol: 'TCP' }],
      }),
    );
    live.push(`uid-${n}`);
    if (live.length > 2000) idx.deletePod(live.shift()!, now);
    rec.src4 = (10 << 24) >>> 0;
    rec.endMs = now;
    idx.resolveSrc(rec);
  }
  gc();
  await tick();
  gc();
  heaps.push(process.memoryUsage().heapUsed);
  console.log(JSON.stringify({ round: r, heapUsed: process.memoryUsage().heapUsed, ...idx.stats, interned: internedCount() }));
}
