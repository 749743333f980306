/**
 * Node Graph costs at the default series cap (20,000 pairs): one live-window snapshot (taken every
 * 5 s on the main thread), the ring's memory once full (15 minutes), a /api/graph/data answer
 * from the live window (rates + graph + JSON), and buildGraph alone.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildGraph } from '../src/export/nodegraph/graph.ts';
import { LiveWindow, type PairSource, type PairVisitor, type PairEnd } from '../src/export/nodegraph/live.ts';
import { parseGraphQuery } from '../src/export/nodegraph/query.ts';
import type { Role } from '../src/identify/endpoint.ts';

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const PAIRS = 20_000;
const ROLES: Role[] = ['src-client', 'src-server', 'unknown'];

class Synthetic implements PairSource {
  readonly ends: PairEnd[];
  readonly src = new Int32Array(PAIRS);
  readonly dst = new Int32Array(PAIRS);
  readonly counts = new Float64Array(PAIRS * 3);
  constructor() {
    this.ends = Array.from({ length: 2000 }, (_, i) => ({ namespace: `ns-${i % 40}`, app: `app-${i}`, kind: 'pod' }));
    for (let i = 0; i < PAIRS; i++) {
      this.src[i] = i % 2000;
      this.dst[i] = (i * 7 + 1 + Math.floor(i / 2000)) % 2000;
    }
  }
  grow(): void {
    for (let i = 0; i < PAIRS; i++) {
      this.counts[3 * i] += 1;
      this.counts[3 * i + 1] += 1500 + (i % 1000);
      this.counts[3 * i + 2] += 3;
    }
  }
  forEachPair(visit: PairVisitor): void {
    for (let i = 0; i < PAIRS; i++) {
      visit(
        this.ends[this.src[i]],
        this.ends[this.dst[i]],
        ROLES[i % 3],
        this.counts[3 * i],
        this.counts[3 * i + 1],
        this.counts[3 * i + 2],
      );
    }
  }
}

export async function main(): Promise<void> {
  const source = new Synthetic();
  let now = Date.now();
  const live = new LiveWindow(source, { now: () => now });
  gc();
  const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;

  // Fill the ring: 15 minutes of 5-second ticks.
  const tickMs: number[] = [];
  for (let i = 0; i < 15 * 12 + 5; i++) {
    now += 5000;
    source.grow();
    const t0 = performance.now();
    live.tick();
    tickMs.push(performance.now() - t0);
  }
  gc();
  const heap1 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  tickMs.sort((a, b) => a - b);
  console.log(
    `live window, ${PAIRS} pairs: snapshot median ${tickMs[tickMs.length >> 1].toFixed(1)} ms, p95 ${tickMs[Math.floor(tickMs.length * 0.95)].toFixed(1)} ms`,
  );
  console.log(
    `live window ring full: ${live.snapshotCount} snapshots, ${((heap1 - heap0) / 1048576).toFixed(1)} MiB (heap + array buffers)`,
  );

  // The same, with new end objects on every visit (no identity cache): the string-key path.
  const fresh: PairSource = { forEachPair: (visit) => source.forEachPair((s, d, r, f, b, p) => visit({ ...s }, { ...d }, r, f, b, p)) };
  const slow = new LiveWindow(fresh, { now: () => now });
  const slowMs: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    slow.tick();
    slowMs.push(performance.now() - t0);
  }
  slowMs.sort((a, b) => a - b);
  console.log(`live window snapshot, new end objects each time: median ${slowMs[4].toFixed(1)} ms`);

  for (const windowS of [60, 900]) {
    const q = parseGraphQuery(new URLSearchParams(`from=${now - windowS * 1000}&to=${now}`), now);
    const runs: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      const body = JSON.stringify(buildGraph(live.rates(q)));
      runs.push(performance.now() - t0);
      bytes = body.length;
    }
    runs.sort((a, b) => a - b);
    console.log(
      `/api/graph/data from the live window (${windowS} s): median ${runs[3].toFixed(1)} ms, answer ${(bytes / 1024).toFixed(0)} KiB`,
    );
  }

  const rates = live.rates(parseGraphQuery(new URLSearchParams(''), now));
  const runs: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    buildGraph(rates);
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  console.log(`buildGraph, ${rates.length} pair rates: median ${runs[3].toFixed(1)} ms`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
