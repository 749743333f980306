/**
 * Memory stays bounded through a series explosion and through pod churn: every table that could
 * grow is checked after each round of test/support/bounded-run.ts (the count path of a receiving
 * thread, the main store and both pages). Sizes, not bytes: bench/bounded.bench.ts prints the heap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundedRun } from '../support/bounded-run.ts';
import { DeltaTable } from '../../src/aggregate/delta-table.ts';
import { PairStore, type End } from '../../src/aggregate/pair-store.ts';
import { ep, rec } from '../aggregate/fixtures.ts';

test('a series explosion stays within --max-series everywhere', { timeout: 120_000 }, async () => {
  const maxSeries = 2000;
  let rounds = 0;
  for await (const c of boundedRun({ pods: 1000, maxSeries, rounds: 12, recordsPerRound: 20_000, churnPerRound: 0 })) {
    rounds++;
    assert.ok(c.storePairs <= maxSeries + 1, `round ${c.round}: ${c.storePairs} pairs`);
    assert.ok(c.pageRows <= maxSeries + 1, `round ${c.round}: ${c.pageRows} rows on /metrics`);
    assert.ok(c.storeEnds <= 1000, `round ${c.round}: ${c.storeEnds} ends`);
    assert.ok(c.tableEnds <= 1000, `round ${c.round}: ${c.tableEnds} thread ends`);
  }
  assert.equal(rounds, 12);
});

test("under pod churn the thread's end dictionary starts over instead of growing to maxEnds", { timeout: 120_000 }, async () => {
  const pods = 1000,
    churn = 300;
  let most = 0;
  for await (const c of boundedRun({ pods, maxSeries: 20_000, rounds: 30, recordsPerRound: 8000, churnPerRound: churn })) {
    most = Math.max(most, c.tableEnds);
    // Live ends are at most the pods plus this round's replacements; the dictionary may run to
    // twice its busiest drain plus the slack before it starts over.
    assert.ok(c.tableEnds <= 2 * (pods + churn) + 4096, `round ${c.round}: ${c.tableEnds} thread ends`);
    assert.ok(c.endMap <= pods + churn, `round ${c.round}: ${c.endMap} live ends mapped on the main side`);
    assert.equal(c.pods, pods);
  }
  // 9,000 pods were replaced: without the restart the dictionary would hold about 10,000 ends.
  assert.ok(most < 9000, `at most ${most} thread ends`);
});

test('the stale-dictionary restart keeps totals exact', () => {
  const t = new DeltaTable({ maxRows: 100, staleSlack: 8 });
  const store = new PairStore({ level: 'pod', maxSeries: 10_000 });
  const sender: End[] = [];
  const server = ep({ kind: 'pod', namespace: 'db', name: 'db-0' });
  let flows = 0,
    restarts = 0;
  for (let round = 0; round < 50; round++) {
    // Five live clients a round, all new: the old ones are never seen again.
    for (let i = 0; i < 5; i++) {
      t.add(ep({ kind: 'pod', namespace: 'web', name: `web-${round}-${i}` }), server, 'src-client', rec(10, 1), 1000 + round);
      flows++;
    }
    const before = t.dictionary;
    const b = t.drain();
    store.mergeBatch(b, sender);
    if (t.dictionary !== before) restarts++;
    assert.ok(t.stats().ends <= 2 * 6 + 8 + 6, `round ${round}: ${t.stats().ends} ends`);
  }
  assert.ok(restarts >= 5, `${restarts} restarts`);
  assert.equal(store.totals().flows, flows);
  assert.equal(store.totals().bytes, flows * 10);
});
