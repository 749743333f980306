import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeltaTable } from '../../src/aggregate/delta-table.ts';
import type { DeltaBatch } from '../../src/aggregate/delta-batch.ts';
import { PairStore, type End } from '../../src/aggregate/pair-store.ts';
import type { Role } from '../../src/identify/endpoint.ts';
import { ep, rec } from './fixtures.ts';

const T0 = 1_700_000_000_000;
const roles: Role[] = ['unknown', 'src-client', 'src-server'];

test("threads' batches merge exactly into the main store, whatever the drain timing and dictionary restarts", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          worker: fc.integer({ min: 0, max: 2 }),
          s: fc.integer({ min: 0, max: 5 }),
          d: fc.integer({ min: 0, max: 5 }),
          role: fc.integer({ min: 0, max: 2 }),
          proto: fc.constantFrom(6, 17),
          port: fc.integer({ min: 1, max: 3 }),
          bytes: fc.integer({ min: 0, max: 2 ** 40 }),
          packets: fc.integer({ min: 0, max: 2 ** 30 }),
          drain: fc.boolean(),
          expire: fc.boolean(),
        }),
        { maxLength: 80 },
      ),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 6 }),
      (ops, maxRows, maxEnds) => {
        const opts = { level: 'pod' as const, dims: { protocol: true, serverPort: true } };
        // Each thread interns its own endpoints (own ids) and numbers its own ends.
        const workers = [0, 1, 2].map(() => ({
          table: new DeltaTable({ ...opts, maxRows, maxEnds }),
          sender: [] as End[],
          eps: [0, 1, 2, 3, 4, 5].map((i) => ep({ name: `p${i}`, app: 'x', nodeName: `n${i % 2}` })),
        }));
        const main = new PairStore({ ...opts, maxSeries: 12, seriesTtlMs: 10 });
        // What expiry removes leaves the store; it still counts toward the totals.
        const evicted = { flows: 0, bytes: 0, packets: 0 };
        main.onEvict((p) => {
          evicted.flows += p.flows;
          evicted.bytes += p.bytes;
          evicted.packets += p.packets;
        });
        const reference = new PairStore({ ...opts, maxSeries: 1000 });
        const refEps = [0, 1, 2, 3, 4, 5].map((i) => ep({ name: `p${i}`, app: 'x', nodeName: `n${i % 2}` }));
        let now = T0;
        for (const o of ops) {
          const w = workers[o.worker];
          const r = rec(o.bytes, o.packets, { proto: o.proto, dstPort: o.port, srcPort: o.port });
          w.table.add(w.eps[o.s], w.eps[o.d], roles[o.role], r, now);
          reference.add(refEps[o.s], refEps[o.d], roles[o.role], r, now);
          if (o.drain) main.mergeBatch(w.table.drain(), w.sender);
          // Expiry frees ends the threads' numbers still point at; they must be found again.
          if (o.expire) {
            now += 100;
            main.expire(now);
          }
        }
        for (const w of workers) main.mergeBatch(w.table.drain(), w.sender);
        for (const w of workers) assert.equal(w.table.drain().flows.length, 0, 'a second drain is empty');
        const kept = main.totals();
        assert.deepEqual(
          { flows: kept.flows + evicted.flows, bytes: kept.bytes + evicted.bytes, packets: kept.packets + evicted.packets },
          reference.totals(),
        );
        // Without expiry, overflow or restarts in the way, every pair matches the reference exactly.
        if (!ops.some((o) => o.expire) && !main.pairs.some((p) => p.overflow)) {
          assert.equal(main.pairs.length, reference.pairs.length);
          for (const p of reference.pairs) {
            const m = main.pairs.find((q) => q.src.key === p.src.key && q.dst.key === p.dst.key && q.dims === p.dims);
            assert.ok(m);
            assert.deepEqual([m.flows, m.bytes, m.packets], [p.flows, p.bytes, p.packets]);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('merged counts equal a single-threaded store pair for pair below the cap', () => {
  const opts = { level: 'app' as const };
  const a = [ep({ app: 'web' }), ep({ app: 'web' })]; // two pods of one app: one end at the app level
  const b = ep({ app: 'db' });
  const t = new DeltaTable(opts);
  const sender: End[] = [];
  const main = new PairStore(opts);
  t.add(a[0], b, 'src-client', rec(100, 2), T0);
  t.add(a[1], b, 'src-client', rec(50, 1), T0 + 5);
  t.add(b, a[0], 'src-server', rec(7, 1), T0 + 1);
  const first = t.drain();
  assert.equal(first.ends.length, 2, 'two ends at the app level');
  assert.equal(first.flows.length, 2);
  main.mergeBatch(first, sender);
  t.add(a[1], b, 'src-client', rec(1, 1), T0 + 9);
  const second = t.drain();
  assert.equal(second.ends.length, 0, 'known ends are not shipped again');
  assert.equal(second.firstEnd, 2);
  main.mergeBatch(second, sender);
  const ab = main.find(a[0], b, 'src-client')!;
  assert.deepEqual([ab.flows, ab.bytes, ab.packets, ab.lastMs], [3, 151, 4, T0 + 9]);
  const ba = main.find(b, a[0], 'src-server')!;
  assert.deepEqual([ba.flows, ba.bytes, ba.packets], [1, 7, 1]);
});

test('past maxRows pairs in one interval, new pairs count into the overflow row and totals stay exact', () => {
  const t = new DeltaTable({ maxRows: 2 });
  const main = new PairStore({ maxSeries: 10 });
  const sender: End[] = [];
  const b = ep({ app: 'b' });
  t.add(ep({ app: 'a1' }), b, 'unknown', rec(1, 1), T0);
  t.add(ep({ app: 'a2' }), b, 'unknown', rec(2, 1), T0);
  t.add(ep({ app: 'a3' }), b, 'unknown', rec(4, 1), T0);
  t.add(ep({ app: 'a4' }), b, 'unknown', rec(8, 1), T0 + 3);
  assert.equal(t.stats().overflowedFlows, 2);
  const batch = t.drain();
  assert.deepEqual([...batch.src], [0, 2, -1]);
  main.mergeBatch(batch, sender);
  assert.equal(main.stats().overflowedFlows, 2);
  const o = main.pairs.find((p) => p.overflow)!;
  assert.deepEqual([o.flows, o.bytes, o.lastMs], [2, 12, T0 + 3]);
  assert.deepEqual(main.totals(), { flows: 4, bytes: 15, packets: 4 });
  // The table starts empty: the next interval has room again (a3 and a4 were numbered 3 and 4).
  t.add(ep({ app: 'a5' }), b, 'unknown', rec(1, 1), T0);
  const next = t.drain();
  assert.deepEqual([next.src[0], next.flows.length], [5, 1]);
});

test('the end dictionary starts over past maxEnds, and the main thread follows', () => {
  const t = new DeltaTable({ maxEnds: 3 });
  const main = new PairStore();
  const sender: End[] = [];
  const b = ep({ app: 'b' });
  const batches: DeltaBatch[] = [];
  for (let i = 0; i < 4; i++) {
    t.add(ep({ app: `a${i}` }), b, 'unknown', rec(1, 1), T0);
    batches.push(t.drain());
  }
  // Ends b, a0 (2), then a1 (3), then a2 (4 > 3: restart after this drain), then a fresh numbering.
  assert.deepEqual(
    batches.map((x) => [x.reset, x.firstEnd, x.ends.length]),
    [
      [false, 0, 2],
      [false, 2, 1],
      [false, 3, 1],
      [true, 0, 2],
    ],
  );
  for (const x of batches) main.mergeBatch(x, sender);
  assert.equal(sender.length, 2);
  assert.equal(main.pairs.length, 4);
  assert.deepEqual(main.totals(), { flows: 4, bytes: 4, packets: 4 });
  // A batch that skips numbers (a lost message) is refused rather than misattributed.
  t.add(ep({ app: 'z' }), b, 'unknown', rec(1, 1), T0);
  const skipped = t.drain();
  assert.throws(() => main.mergeBatch({ ...skipped, firstEnd: skipped.firstEnd + 1 }, sender), /batch ends start at/);
});

test('ends freed by expiry on the main thread are found again by their labels', () => {
  const t = new DeltaTable();
  const main = new PairStore({ seriesTtlMs: 10 });
  const sender: End[] = [];
  const a = ep({ app: 'a' });
  const b = ep({ app: 'b' });
  t.add(a, b, 'unknown', rec(5, 1), T0);
  main.mergeBatch(t.drain(), sender);
  assert.equal(main.expire(T0 + 1000), 1);
  assert.equal(main.stats().ends, 0);
  t.add(a, b, 'unknown', rec(6, 1), T0 + 2000);
  main.mergeBatch(t.drain(), sender);
  const p = main.find(a, b)!;
  assert.deepEqual([p.flows, p.bytes], [1, 6]);
  assert.equal(main.stats().ends, 2);
});

test('extra dimensions: protocol and server port are part of the row', () => {
  const t = new DeltaTable({ dims: { protocol: true, serverPort: true } });
  const main = new PairStore({ dims: { protocol: true, serverPort: true } });
  const sender: End[] = [];
  const a = ep({ app: 'a' });
  const b = ep({ app: 'b' });
  t.add(a, b, 'src-client', rec(1, 1, { proto: 6, dstPort: 443 }), T0);
  t.add(a, b, 'src-client', rec(2, 1, { proto: 6, dstPort: 80 }), T0);
  t.add(a, b, 'src-client', rec(4, 1, { proto: 17, dstPort: 443 }), T0);
  t.add(a, b, 'src-client', rec(8, 1, { proto: 6, dstPort: 443 }), T0);
  main.mergeBatch(t.drain(), sender);
  assert.equal(main.find(a, b, 'src-client', 6, 443)!.bytes, 9);
  assert.equal(main.find(a, b, 'src-client', 6, 80)!.bytes, 2);
  assert.equal(main.find(a, b, 'src-client', 17, 443)!.bytes, 4);
});

test('endpoints whose ids share a slot of the end cache keep their own ends', () => {
  const t = new DeltaTable();
  const base = ep({ app: 'a' });
  // Ids 2^14 and 2^15 apart land on the same slot of the direct-mapped cache.
  const twins = [base, { ...base, id: base.id + 16_384, app: 'a2' }, { ...base, id: base.id + 32_768, app: 'a3' }];
  const b = ep({ app: 'b' });
  for (let round = 0; round < 2; round++) for (const [i, e] of twins.entries()) t.add(e, b, 'unknown', rec(i + 1, 1), T0);
  const batch = t.drain();
  const bytesByApp = new Map<string, number>();
  for (let i = 0; i < batch.flows.length; i++) bytesByApp.set(batch.ends[batch.src[i]].host, batch.bytes[i]);
  assert.deepEqual(Object.fromEntries(bytesByApp), { a: 2, a2: 4, a3: 6 });
});

test('rows live in the hash cells: a full table drains them in the order first counted, and its emptied cells serve the next interval', () => {
  const n = 3000;
  const t = new DeltaTable({ maxRows: n });
  const b = ep({ app: 'b' });
  const ends = Array.from({ length: n }, (_, i) => ep({ app: `a${i}` }));
  const interval = (order: number[]) => {
    for (const i of order) t.add(ends[i], b, 'unknown', rec(i + 1, 1), T0);
    // Filled to maxRows (three quarters of the cells at most), one more pair still finds an empty cell and overflows.
    t.add(ep({ app: 'one-too-many' }), b, 'unknown', rec(1, 1), T0);
    return t.drain();
  };
  const up = Array.from({ length: n }, (_, i) => i);
  const first = interval(up);
  assert.equal(first.flows.length, n + 1);
  assert.deepEqual(
    [...first.bytes.subarray(0, n)],
    up.map((i) => i + 1),
  );
  assert.equal(first.src[n], -1);
  const down = [...up].reverse();
  const second = interval(down);
  assert.deepEqual(
    [...second.bytes.subarray(0, n)],
    down.map((i) => i + 1),
  );
  assert.deepEqual([...second.flows.subarray(0, n)], new Array(n).fill(1));
});
