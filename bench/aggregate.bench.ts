/**
 * Pair store costs: add() throughput on existing pairs (the hot path) and the heap it allocates,
 * new-pair creation, expiry of 100,000 pairs, and a receiving thread's delta table (add, drain)
 * with the main thread's merge.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PairStore, type End } from '../src/aggregate/pair-store.ts';
import { DeltaTable } from '../src/aggregate/delta-table.ts';
import { FlowRecord } from '../src/decode/record.ts';
import type { Endpoint, Role } from '../src/identify/endpoint.ts';

function endpoints(n: number, firstId: number): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    id: firstId + i,
    kind: 'pod' as const,
    namespace: `ns-${i % 20}`,
    name: `app-${i}-pod`,
    app: `app-${i}`,
    ownerKind: 'Deployment',
    ownerName: `app-${i}`,
    nodeName: `node-${i % 10}`,
  }));
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export async function main(): Promise<void> {
  const roles: Role[] = ['src-client', 'src-server', 'unknown'];
  const eps = endpoints(200, 1);
  const r = new FlowRecord();
  r.bytes = 1500;
  r.packets = 3;
  r.proto = 6;
  r.srcPort = 40000;
  r.dstPort = 80;

  for (const [label, opts] of [
    ['app level, no extra dims', {}],
    ['pod level + protocol + server port', { level: 'pod' as const, dims: { protocol: true, serverPort: true } }],
  ] as const) {
    const s = new PairStore(opts);
    // 200 sources x 10 destinations x 3 roles, created in a warm-up pass.
    const N = 3_000_000;
    const src = new Array<Endpoint>(8192),
      dst = new Array<Endpoint>(8192);
    for (let i = 0; i < 8192; i++) {
      src[i] = eps[(i * 7) % 200];
      dst[i] = eps[(i * 13) % 10];
    }
    for (let i = 0; i < 8192 * 3; i++) s.add(src[i & 8191], dst[i & 8191], roles[i % 3], r, 1);
    gc();
    // Any allocation per record would show as young-generation collections during the loop.
    let minor = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    });
    obs.observe({ entryTypes: ['gc'] });
    const t = performance.now();
    for (let i = 0; i < N; i++) s.add(src[i & 8191], dst[i & 8191], roles[i % 3], r, 2);
    const took = performance.now() - t;
    // GC entries are delivered on a later tick.
    await new Promise((res) => setTimeout(res, 50));
    obs.disconnect();
    console.log(
      `add on existing pairs (${label}, ${s.pairs.length} pairs): ${(N / took / 1000).toFixed(1)} M records/s, ${((took * 1e6) / N).toFixed(0)} ns/record, ${minor} young-generation GCs in ${N / 1e6} M adds`,
    );
  }

  {
    const s = new PairStore({ level: 'pod', maxSeries: 200_000 });
    const many = endpoints(100_000, 10_000);
    const db = eps[0];
    gc();
    const h0 = process.memoryUsage().heapUsed;
    let t = performance.now();
    for (const e of many) s.add(e, db, 'src-client', r, 1000);
    const created = performance.now() - t;
    gc();
    const h1 = process.memoryUsage().heapUsed;
    console.log(
      `create 100,000 pairs (pod level): ${(created).toFixed(0)} ms, ${((h1 - h0) / 100_000).toFixed(0)} bytes per pair (with its end)`,
    );
    t = performance.now();
    const removed = s.expire(1000 + s.seriesTtlMs + 1);
    const exp = performance.now() - t;
    gc();
    const h2 = process.memoryUsage().heapUsed;
    console.log(
      `expire ${removed} idle pairs: ${exp.toFixed(0)} ms; heap ${(h0 / 1e6).toFixed(1)} MB before, ${(h1 / 1e6).toFixed(1)} MB full, ${(h2 / 1e6).toFixed(1)} MB after`,
    );
  }

  {
    // A receiving thread's 250 ms of traffic over 5,000 active pairs: counted into its delta
    // table, drained, and merged into the main store.
    const w = new DeltaTable({ level: 'pod' });
    const main = new PairStore({ level: 'pod' });
    const sender: End[] = [];
    const srcs = endpoints(500, 300_000);
    const dsts = endpoints(10, 400_000);
    for (let round = 0; round < 3; round++) {
      let t = performance.now();
      for (let i = 0; i < 200_000; i++) w.add(srcs[i % 500], dsts[(i >> 9) % 10], roles[i % 3], r, round);
      const add = performance.now() - t;
      t = performance.now();
      const d = w.drain();
      const drain = performance.now() - t;
      t = performance.now();
      main.mergeBatch(d, sender);
      const merge = performance.now() - t;
      console.log(
        `delta table, 200k records over ${d.flows.length} pairs: add ${((add * 1e6) / 200_000).toFixed(0)} ns/record, drain ${drain.toFixed(2)} ms, merge ${merge.toFixed(2)} ms${round === 0 ? ' (first: creates pairs and ends)' : ''}`,
      );
    }
  }
}

if (import.meta.main) await main();
