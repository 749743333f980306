import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapStatistics, queryObjects } from 'node:v8';
import { defaultRunConfig } from '../../src/config/run-options.ts';
import { buildWorkerParts } from '../../src/pipeline/build-parts.ts';
import { warmUp, warmUpAddress } from '../../src/pipeline/threads/warm-up.ts';
import { fullGc } from '../../src/observe/full-gc.ts';
import { PodState } from '../../src/identify/address-history.ts';

for (const backend of ['native', 'dgram'] as const) {
  test(`warm-up (${backend} shape) takes every branch of the hot path and decodes every record`, async () => {
    const cfg = defaultRunConfig();
    const one = await warmUp(cfg, backend, { rounds: 1 });
    const three = await warmUp(cfg, backend, { rounds: 3, budgetMs: 60_000 });
    assert.ok(one.records > 0);
    assert.equal(three.records, 3 * one.records, 'each pass decodes the same stream whole');
    assert.equal(three.decodeErrors, 0);
    // The branches a cold thread would first meet under load.
    assert.ok(three.overflowed > 0, 'the delta table overflowed');
    assert.ok(three.unknownEnds > 0, 'some ends were unknown');
    assert.ok(three.dedupSkipped > 0, 'dedup skipped reports from the destination node');
    assert.ok(three.fromOtherExporters > 0, 'an exporter that is not a node sent some of the stream');
    assert.ok(
      three.remembered > 0 && three.remembered < three.records,
      'records were named both from the address memo and through the identity index',
    );
  });
}

test("warm-up counts into scratch parts only: a thread's own parts stay empty", async () => {
  const cfg = defaultRunConfig();
  const real = await buildWorkerParts(cfg);
  await warmUp(cfg, 'native', { rounds: 2 });
  assert.equal(real.pipeline.counters.records, 0);
  assert.equal(real.decoder.stats.datagrams, 0);
  assert.deepEqual(real.counts.stats(), { rows: 0, ends: 0, overflowedFlows: 0 });
  assert.equal(real.counts.drain().flows.length, 0);
});

test('the time budget bounds the warm-up', async () => {
  const r = await warmUp(defaultRunConfig(), 'native', { rounds: 1000, budgetMs: 1 });
  assert.ok(r.records > 0, 'at least one pass runs');
  assert.ok(r.records < 1000 * 6000, 'it stopped long before 1,000 passes');
});

test('the warm-up leaves no garbage behind: its scratch parts are collected before it returns', async () => {
  const r = await warmUp(defaultRunConfig(), 'native');
  assert.equal(r.settled, true);
  const left = getHeapStatistics().used_heap_size;
  fullGc();
  const freed = left - getHeapStatistics().used_heap_size;
  // Without the collection at its end, a full one then freed 4 to 5 MiB (its 3,072 pods, tables, stream).
  // With it, 0.1 to 0.5 MiB: the test runner's own garbage, in this same isolate.
  assert.ok(freed < 2 ** 20, `a full collection after the warm-up still freed ${(freed / 2 ** 20).toFixed(1)} MiB`);
  // And nothing of it survives a collection: the scratch pods are gone, not merely unreachable.
  assert.equal(queryObjects(PodState), 0);
});

test('passes run on fresh scratch parts every 4 rounds, so fresh instances meet optimised code before the live ones do', async () => {
  const r = await warmUp(defaultRunConfig(), 'native', { rounds: 8, budgetMs: 60_000 });
  assert.equal(r.scratchSets, 2);
  assert.ok(r.overflowed > 0 && r.remembered > 0);
});

test("the warm-up's addresses are small and large integers to V8, as live ones are", () => {
  // V8 keeps integers below 2^30 apart; int32 reads of addresses from 128.0.0.0 up are negative.
  const kinds = new Set<string>();
  for (let k = 0; k < 4096; k++) {
    const a = warmUpAddress(k);
    assert.ok(Number.isInteger(a) && a >= 0 && a < 2 ** 32);
    kinds.add(`${k < 3072 ? 'pod' : 'outside'} ${a < 2 ** 30 ? 'small' : a < 2 ** 31 ? 'large' : 'negative as int32'}`);
  }
  assert.deepEqual([...kinds].sort(), ['outside large', 'outside negative as int32', 'pod large', 'pod small']);
  assert.equal(new Set(Array.from({ length: 4096 }, (_, k) => warmUpAddress(k))).size, 4096, 'distinct');
});
