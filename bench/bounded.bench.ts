/**
 * Memory stays flat through a series explosion and through pod churn (test/support/bounded-run.ts):
 * one receiving thread's count path, the main store and both pages, in this process.
 * - explosion: 1,000,000 records, each a random pod pair among 4,000 pods (about 1 M distinct
 *   pairs attempted) against --max-series 20,000;
 * - churn: an hour compressed into 60 rounds, 400 of the 4,000 pods replaced each round (24,000
 *   pods in all, new uid and name on the same address), pairs expiring a TTL later, deleted pods
 *   pruned.
 * Prints the heap after a full collection and every table's size at a few rounds. Run it with
 * --expose-gc for the heap column (`npm run bench` does: node --expose-gc bench/run.ts).
 */
import { boundedRun, type BoundedRunOptions } from '../test/support/bounded-run.ts';

async function run(name: string, o: BoundedRunOptions, show: number[]): Promise<void> {
  console.log(
    `${name}: ${o.pods} pods, --max-series ${o.maxSeries}, ${o.rounds} rounds of ${o.recordsPerRound} records, ${o.churnPerRound} pods replaced a round`,
  );
  console.log('  round | heap MiB | store pairs | store ends | page rows | thread ends | pods | deleted pods kept | endpoints | end map');
  let first = NaN,
    last = NaN;
  for await (const c of boundedRun(o)) {
    if (c.round === show[0]) first = c.heapMiB;
    last = c.heapMiB;
    if (show.includes(c.round)) {
      console.log(
        `  ${String(c.round).padStart(5)} | ${c.heapMiB.toFixed(1).padStart(8)} | ${String(c.storePairs).padStart(11)} | ${String(c.storeEnds).padStart(10)} | ${String(c.pageRows).padStart(9)} | ${String(c.tableEnds).padStart(11)} | ${String(c.pods).padStart(4)} | ${String(c.podsRetained).padStart(17)} | ${String(c.endpoints).padStart(9)} | ${String(c.endMap).padStart(7)}`,
      );
    }
  }
  console.log(
    `  heap from round ${show[0]} to the end: ${first.toFixed(1)} -> ${last.toFixed(1)} MiB (${(last - first >= 0 ? '+' : '') + (last - first).toFixed(1)})`,
  );
}

export async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) console.log('(no --expose-gc: heap figures are NaN)');
  await run(
    'series explosion',
    { pods: 4000, maxSeries: 20_000, rounds: 40, recordsPerRound: 25_000, churnPerRound: 0 },
    [2, 10, 20, 30, 40],
  );
  await run(
    'pod churn (an hour compressed)',
    { pods: 4000, maxSeries: 20_000, rounds: 60, recordsPerRound: 20_000, churnPerRound: 400 },
    [2, 15, 30, 45, 60],
  );
}

if (import.meta.main) await main();
