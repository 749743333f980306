import { test } from 'node:test';
import assert from 'node:assert/strict';
import { End, PairStore, type Pair } from '../../src/aggregate/pair-store.ts';
import { CLASS_COUNT } from '../../src/aggregate/class-bytes.ts';
import { endKey } from '../../src/aggregate/aggregation-level.ts';
import { ep, rec } from './fixtures.ts';
import { heapAfterGc } from '../support/heap.ts';

const T0 = 1_700_000_000_000;

test('counts flows, bytes and packets per pair, cumulatively', () => {
  const s = new PairStore();
  const a = ep({ app: 'web', namespace: 'shop' });
  const b = ep({ app: 'db', namespace: 'data' });
  s.add(a, b, 'unknown', rec(100, 2), T0);
  s.add(a, b, 'unknown', rec(50, 1), T0 + 1);
  s.add(b, a, 'unknown', rec(7, 1), T0 + 2);
  assert.equal(s.pairs.length, 2);
  const ab = s.find(a, b)!;
  assert.deepEqual([ab.flows, ab.bytes, ab.packets], [2, 150, 3]);
  assert.equal(ab.lastMs, T0 + 1);
  assert.equal(ab.src.labels.host, 'web');
  assert.equal(ab.src.labels.namespace, 'shop');
  assert.equal(ab.dst.labels.host, 'db');
  const ba = s.find(b, a)!;
  assert.deepEqual([ba.flows, ba.bytes, ba.packets], [1, 7, 1]);
  assert.deepEqual(s.totals(), { flows: 3, bytes: 157, packets: 4 });
});

test('direction is part of the pair where the role is known', () => {
  const s = new PairStore();
  const a = ep({ app: 'a' });
  const b = ep({ app: 'b' });
  s.add(a, b, 'src-client', rec(10, 1), T0);
  s.add(a, b, 'src-server', rec(20, 1), T0);
  s.add(a, b, 'unknown', rec(30, 1), T0);
  s.add(a, b, 'src-client', rec(1, 1), T0);
  assert.equal(s.pairs.length, 3);
  assert.equal(s.find(a, b, 'src-client')!.bytes, 11);
  assert.equal(s.find(a, b, 'src-server')!.bytes, 20);
  assert.equal(s.find(a, b, 'unknown')!.bytes, 30);
  assert.equal(s.find(a, b, 'src-server')!.role, 'src-server');
});

test('levels map endpoints to their key parts', () => {
  const p1 = ep({
    kind: 'pod',
    namespace: 'shop',
    name: 'web-1',
    app: 'web',
    ownerKind: 'Deployment',
    ownerName: 'web-dep',
    nodeName: 'n1',
  });
  const p2 = ep({
    kind: 'pod',
    namespace: 'shop',
    name: 'web-2',
    app: 'web',
    ownerKind: 'Deployment',
    ownerName: 'web-dep',
    nodeName: 'n2',
  });
  const p3 = ep({ kind: 'pod', namespace: 'shop', name: 'cron-1', app: 'web', ownerKind: 'CronJob', ownerName: 'nightly', nodeName: 'n1' });
  const db = ep({ kind: 'pod', namespace: 'data', name: 'db-0', app: 'db', ownerKind: 'StatefulSet', ownerName: 'db', nodeName: 'n1' });
  const feed = (s: PairStore) => {
    for (const p of [p1, p2, p3]) s.add(p, db, 'src-client', rec(1, 1), T0);
    return s;
  };

  const app = feed(new PairStore({ level: 'app' }));
  assert.equal(app.pairs.length, 1);
  assert.equal(app.pairs[0].flows, 3);
  assert.deepEqual(app.pairs[0].src.labels, {
    host: 'web',
    namespace: 'shop',
    kind: '',
    name: 'web',
    ownerKind: '',
    ownerName: '',
    nodeName: '',
  });

  const wl = feed(new PairStore({ level: 'workload' }));
  assert.equal(wl.pairs.length, 2);
  assert.equal(wl.find(p1, db, 'src-client')!.flows, 2);
  assert.equal(wl.find(p1, db, 'src-client')!.src.labels.ownerKind, 'Deployment');
  assert.equal(wl.find(p3, db, 'src-client')!.src.labels.host, 'nightly');

  const pod = feed(new PairStore({ level: 'pod' }));
  assert.equal(pod.pairs.length, 3);
  assert.equal(pod.find(p2, db, 'src-client')!.src.labels.nodeName, 'n2');
  assert.equal(pod.find(p2, db, 'src-client')!.src.labels.host, 'web-2');

  const ns = feed(new PairStore({ level: 'namespace' }));
  assert.equal(ns.pairs.length, 1);
  assert.equal(ns.pairs[0].src.labels.host, 'shop');
  assert.equal(ns.pairs[0].dst.labels.namespace, 'data');
});

test('opt-in dimensions split pairs by kind, protocol and server port', () => {
  const s = new PairStore({ dims: { kind: true, protocol: true, serverPort: true } });
  const a = ep({ app: 'a' });
  const svc = ep({ app: 'a', kind: 'service' });
  const b = ep({ app: 'b' });
  s.add(a, b, 'src-client', rec(1, 1, { proto: 6, dstPort: 80 }), T0);
  s.add(a, b, 'src-client', rec(1, 1, { proto: 6, dstPort: 443 }), T0);
  s.add(a, b, 'src-client', rec(1, 1, { proto: 17, dstPort: 443 }), T0);
  s.add(a, b, 'src-server', rec(1, 1, { proto: 17, srcPort: 443, dstPort: 5000 }), T0);
  s.add(svc, b, 'src-client', rec(1, 1, { proto: 6, dstPort: 80 }), T0);
  assert.equal(s.pairs.length, 5);
  const p = s.find(a, b, 'src-server', 17, 443)!;
  assert.ok(p);
  assert.equal(p.proto, 17);
  assert.equal(p.serverPort, 443);
  assert.equal(s.find(svc, b, 'src-client', 6, 80)!.src.labels.kind, 'service');

  // Off by default: the same records make one pair per role.
  const plain = new PairStore();
  plain.add(a, b, 'src-client', rec(1, 1, { proto: 6, dstPort: 80 }), T0);
  plain.add(a, b, 'src-client', rec(1, 1, { proto: 17, dstPort: 443 }), T0);
  plain.add(svc, b, 'src-client', rec(1, 1, { proto: 6, dstPort: 80 }), T0);
  assert.equal(plain.pairs.length, 1);
  assert.equal(plain.pairs[0].flows, 3);
});

test('past maxSeries flows go to one overflow pair and totals stay right', () => {
  const s = new PairStore({ maxSeries: 3 });
  const b = ep({ app: 'b' });
  let bytes = 0;
  for (let i = 0; i < 10; i++) {
    const a = ep({ app: `a${i}` });
    for (let j = 0; j <= i; j++) {
      s.add(a, b, 'unknown', rec(10 + i, 1), T0);
      bytes += 10 + i;
    }
  }
  assert.equal(s.pairs.length, 4);
  const over = s.pairs.find((p) => p.overflow)!;
  assert.equal(over.src.labels.host, 'overflow');
  const flows = 55;
  assert.deepEqual(s.totals(), { flows, bytes, packets: flows });
  assert.equal(s.stats().overflowedFlows, flows - (1 + 2 + 3));
  assert.equal(over.flows, flows - 6);
  // Existing pairs keep counting even while the cap is reached.
  s.add(ep({ app: 'a0' }), b, 'unknown', rec(1, 1), T0);
  assert.equal(s.pairs.length, 4);
});

test('idle pairs expire, notify listeners, and come back from zero', () => {
  const s = new PairStore({ seriesTtlMs: 60_000 });
  const a = ep({ app: 'a' });
  const b = ep({ app: 'b' });
  const c = ep({ app: 'c' });
  s.add(a, b, 'unknown', rec(5, 1), T0);
  s.add(a, c, 'unknown', rec(5, 1), T0 + 50_000);
  const evicted: Pair[] = [];
  s.onEvict((p) => evicted.push(p));
  assert.equal(s.expire(T0 + 60_000), 0, 'not idle for longer than the TTL yet');
  assert.equal(s.expire(T0 + 60_001), 1);
  assert.equal(evicted.length, 1);
  assert.equal(evicted[0].dst.labels.host, 'b');
  assert.equal(s.pairs.length, 1);
  assert.equal(s.stats().evictions, 1);
  assert.equal(s.stats().ends, 2, 'the end no pair uses is freed');
  s.add(a, b, 'unknown', rec(3, 1), T0 + 70_000);
  assert.equal(s.find(a, b)!.flows, 1);
  assert.equal(s.find(a, b)!.bytes, 3);
  assert.equal(s.find(a, b)!.createdMs, T0 + 70_000);
  assert.equal(s.expire(T0 + 1_000_000), 2);
  assert.equal(s.pairs.length, 0);
  assert.equal(s.stats().ends, 0);
});

test('expiry keeps chains intact when one of several pairs with the same ends goes', () => {
  const s = new PairStore({ seriesTtlMs: 10 });
  const a = ep({ app: 'a' });
  const b = ep({ app: 'b' });
  s.add(a, b, 'unknown', rec(1, 1), T0);
  s.add(a, b, 'src-client', rec(1, 1), T0 + 100);
  s.add(a, b, 'src-server', rec(1, 1), T0);
  assert.equal(s.expire(T0 + 50), 2);
  assert.equal(s.find(a, b, 'src-client')!.flows, 1);
  assert.equal(s.find(a, b, 'unknown'), undefined);
  s.add(a, b, 'src-client', rec(1, 1), T0 + 100);
  assert.equal(s.find(a, b, 'src-client')!.flows, 2);
  assert.equal(s.pairs.length, 1);
});

test('addCounts merges counts by endpoint identity', () => {
  const s = new PairStore({ level: 'app' });
  const { id: _a, ...a } = ep({ app: 'web' });
  const b = ep({ app: 'db' });
  s.addCounts(a, b, 'src-client', 6, 5432, 10, 1000, 20, T0);
  s.add(ep({ app: 'web' }), b, 'src-client', rec(5, 1), T0);
  assert.equal(s.pairs.length, 1);
  assert.deepEqual([s.pairs[0].flows, s.pairs[0].bytes, s.pairs[0].packets], [11, 1005, 21]);
});

test('100,000 idle pairs expire and their memory comes back', () => {
  const s = new PairStore({ maxSeries: 200_000, seriesTtlMs: 60_000, level: 'pod' });
  const dst = ep({ name: 'db', namespace: 'data' });
  const r = rec(100, 1);
  const before = heapAfterGc();
  // 100,000 distinct pods, each its own pair: the endpoints are dropped after use like churned pods.
  for (let i = 0; i < 100_000; i++) s.add(ep({ name: `pod-${i}`, namespace: 'churn' }), dst, 'src-client', r, T0);
  assert.equal(s.pairs.length, 100_000);
  const full = heapAfterGc();
  const grown = full - before;
  assert.ok(grown > 10_000_000, `100k pairs should take real memory, took ${grown}`);
  assert.equal(s.expire(T0 + 120_000), 100_000);
  const after = heapAfterGc();
  assert.equal(s.pairs.length, 0);
  assert.equal(s.stats().ends, 0);
  console.log(`heap: before ${before}, full ${full}, after ${after}`);
  assert.ok(after - before < grown * 0.1, `memory should come back: before ${before}, full ${full}, after ${after}`);
});

test("an end's key is one flat string, not a rope of its labels", () => {
  const labels = Array.from({ length: 20_000 }, (_, i) => ({
    host: `checkout-${i}`,
    namespace: 'shop',
    kind: 'pod' as const,
    name: `checkout-7d9f8c6b5-${i}`,
    ownerKind: 'Deployment',
    ownerName: 'checkout',
    nodeName: 'ip-10-0-1-1',
  }));
  const keys = labels.map(endKey);
  assert.equal(keys[7].split('\u0000')[3], 'checkout-7d9f8c6b5-7');
  // What the keys hold: the heap with them, less the heap once they are dropped.
  const withKeys = heapAfterGc();
  keys.fill('');
  const perKey = (withKeys - heapAfterGc()) / keys.length;
  // About 80 characters: under 100 bytes flat; a template literal's rope of a dozen nodes was some 400.
  assert.ok(perKey < 150, `${perKey.toFixed(0)} bytes per key`);
});

test("a pair's counts take no heap of their own: 20,000 pairs", () => {
  const s = new PairStore({ level: 'pod', maxSeries: 50_000 });
  const src = Array.from({ length: 200 }, (_, i) => ep({ name: `web-${i}`, namespace: 'shop' }));
  const dst = Array.from({ length: 100 }, (_, i) => ep({ name: `db-${i}`, namespace: 'data' }));
  const r = rec(3_000_000_000, 7);
  // The ends first: what is measured is the pairs alone.
  for (let i = 0; i < 200; i++) s.add(src[i], dst[i % 100], 'src-client', r, T0);
  const before = heapAfterGc();
  for (let i = 0; i < 20_000; i++) s.add(src[i % 200], dst[Math.floor(i / 200)], 'src-client', r, T0 + i);
  const perPair = (heapAfterGc() - before) / (s.pairs.length - 200);
  assert.equal(s.pairs.length, 20_000);
  // About 170 bytes; the counts and times as a pair's fields (five boxed doubles) made it 270.
  assert.ok(perPair < 220, `${perPair.toFixed(0)} bytes per pair`);
  // web-0 → db-0 was counted twice, at T0 both times.
  assert.deepEqual([s.pairs[0].flows, s.pairs[0].bytes, s.pairs[0].lastMs], [2, 6_000_000_000, T0]);
  // The last pair made: at i = 19,998 (web-199 → db-99, i = 19,999, was among the first 200).
  assert.deepEqual([s.pairs[19_999].bytes, s.pairs[19_999].createdMs], [3_000_000_000, T0 + 19_998]);
});

test('a pair that left the store keeps its last counts for whoever still holds it', () => {
  const s = new PairStore({ level: 'pod', seriesTtlMs: 1000 });
  const a = ep({ name: 'a' });
  s.add(a, ep({ name: 'b' }), 'src-client', rec(100, 1), T0);
  const gone = s.pairs[0];
  assert.equal(s.expire(T0 + 5000), 1);
  // A new pair takes the departed one's place in the counts.
  s.add(a, ep({ name: 'c' }), 'src-client', rec(7, 1), T0 + 5000);
  assert.deepEqual([gone.flows, gone.bytes, gone.packets, gone.createdMs, gone.lastMs], [1, 100, 1, T0, T0]);
  assert.deepEqual([s.pairs[0].flows, s.pairs[0].bytes, s.pairs[0].createdMs], [1, 7, T0 + 5000]);
});

test("an end's traffic per class is written into the caller's array; nothing before its first count", () => {
  const s = new PairStore({ level: 'pod' });
  s.add(ep({ name: 'web' }), ep({ name: 'db' }), 'src-client', rec(100, 1), T0);
  const [web, db] = [...s.ends()];
  const C = CLASS_COUNT;
  const out = new Float64Array(4 * C + 2).fill(7);
  assert.equal(web.trafficInto(out, 1), true);
  assert.equal(db.trafficInto(out, 2 * C + 1), true);
  // web sent 100 and db received 100, in the flow's class (no zones: code 0); what is around is untouched.
  const expected = new Array(4 * C + 2).fill(0);
  expected[0] = expected[4 * C + 1] = 7;
  expected[1] = expected[1 + 2 * C + C] = 100;
  assert.deepEqual([...out], expected);
  assert.equal(new End(5, 'k', web.labels).trafficInto(out, 0), false);
  assert.equal(out[0], 7);
});
