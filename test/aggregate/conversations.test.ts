/**
 * Conversations on the receive path: the delta table's rows keyed by protocol and server port too,
 * drained as pairs (those masked off) and as conversations (client end, server end, server port,
 * protocol), undecided records apart, merged on the main thread by labels; the pairs and the
 * conversations the same whatever --extra-labels says; bounded per interval and in the store,
 * expiring like pairs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeltaTable } from '../../src/aggregate/delta-table.ts';
import { PairStore, type End } from '../../src/aggregate/pair-store.ts';
import { convPort, convProto, convUndecided } from '../../src/aggregate/conversation-batch.ts';
import { ConversationStore } from '../../src/policy/conversations.ts';
import type { Dimensions } from '../../src/aggregate/aggregation-level.ts';
import { ep, rec } from './fixtures.ts';
import { heapAfterGc } from '../support/heap.ts';

const T0 = 1_700_000_000_000;

test('delta table conversations: the client and the server port come from the role; unknown roles are undecided', () => {
  const t = new DeltaTable({ level: 'pod', conversations: true });
  const [a, b] = [ep({ name: 'a' }), ep({ name: 'b' })];
  t.add(a, b, 'src-client', rec(100, 1, { srcPort: 40001, dstPort: 8080 }), T0);
  t.add(b, a, 'src-server', rec(900, 1, { srcPort: 8080, dstPort: 40001 }), T0 + 5);
  t.add(a, b, 'src-client', rec(50, 1, { srcPort: 40002, dstPort: 8080 }), T0 + 9);
  t.add(a, b, 'unknown', rec(84, 1, { proto: 1, srcPort: 0, dstPort: 2048 }), T0 + 3);
  const d = t.drain();
  const b2 = d.conversations!;
  const rows = [...b2.flows.keys()].map((i) => ({
    c: d.ends[b2.client[i]].name,
    s: d.ends[b2.server[i]].name,
    proto: convProto(b2.key[i]),
    port: convPort(b2.key[i]),
    und: convUndecided(b2.key[i]),
    flows: b2.flows[i],
    bytes: b2.bytes[i],
    first: b2.firstMs[i] - T0,
    last: b2.lastMs[i] - T0,
  }));
  // The request and the reply halves are rows of their own (pairs keep direction), both the same conversation.
  assert.deepEqual(rows, [
    { c: 'a', s: 'b', proto: 6, port: 8080, und: false, flows: 2, bytes: 150, first: 0, last: 9 },
    { c: 'a', s: 'b', proto: 6, port: 8080, und: false, flows: 1, bytes: 900, first: 5, last: 5 },
    { c: 'a', s: 'b', proto: 1, port: 0, und: true, flows: 1, bytes: 84, first: 3, last: 3 },
  ]);
  // The pairs keep only the role: protocol and port are masked off as --extra-labels says.
  assert.deepEqual([...d.dims], [1, 2, 0]);
  assert.equal(t.drain().conversations!.flows.length, 0, 'empty after a drain');
});

test('delta table conversations: flows past maxRows go to the overflow pair and count as dropped conversations, never as a catch-all permission', () => {
  const t = new DeltaTable({ maxRows: 2, conversations: true });
  const [a, b] = [ep({ name: 'a' }), ep({ name: 'b' })];
  for (let port = 1; port <= 4; port++) t.add(a, b, 'src-client', rec(10, 1, { dstPort: port }), T0);
  t.add(a, b, 'src-client', rec(10, 1, { dstPort: 1 }), T0);
  const d = t.drain();
  assert.deepEqual([...d.conversations!.flows], [2, 1]);
  assert.equal(d.conversations!.dropped, 2);
  assert.deepEqual([...d.src], [0, 0, -1], 'the pairs stay exact through the overflow row');
  assert.equal(t.drain().conversations!.dropped, 0);
});

function run(dims: Dimensions, conversations = true): { pairs: number; convs: string[] } {
  const table = new DeltaTable({ level: 'app', dims, conversations });
  const main = new PairStore({ level: 'app', dims });
  const store = new ConversationStore();
  const sender: End[] = [];
  const web = [ep({ name: 'web-1', app: 'web', namespace: 'shop' }), ep({ name: 'web-2', app: 'web', namespace: 'shop' })];
  const api = ep({ name: 'api-1', app: 'api', namespace: 'backend' });
  for (let i = 0; i < 10; i++) {
    table.add(web[i % 2], api, 'src-client', rec(100, 1, { srcPort: 40000 + i, dstPort: 8080 }), T0 + i);
    table.add(api, web[i % 2], 'src-server', rec(1000, 1, { srcPort: 8080, dstPort: 40000 + i }), T0 + i);
    if (i === 4) {
      const b = table.drain();
      main.mergeBatch(b, sender);
      if (b.conversations) store.merge(b.conversations, sender);
    }
  }
  const b = table.drain();
  main.mergeBatch(b, sender);
  if (b.conversations) store.merge(b.conversations, sender);
  return {
    pairs: main.pairs.length,
    convs: store
      .list()
      .map(
        (c) =>
          `${c.client.namespace}/${c.client.name} -> ${c.server.namespace}/${c.server.name} ${c.proto}/${c.port} ${c.flows} ${c.bytes} ${c.firstMs - T0}-${c.lastMs - T0}`,
      ),
  };
}

test('conversations drain with the delta batch and merge by labels; --extra-labels changes the pairs, not the conversations', () => {
  const plain = run({});
  const extra = run({ role: true, protocol: true, serverPort: true });
  assert.deepEqual(plain.convs, ['shop/web -> backend/api 6/8080 20 11000 0-9']);
  assert.deepEqual(extra.convs, plain.convs);
  assert.equal(plain.pairs, 2);
  assert.equal(extra.pairs, 2);
  assert.deepEqual(run({}, false).pairs, 2, 'the same pairs with conversations off');
});

test('keeping conversations leaves the pairs exactly as they are, whatever the records and drains', () => {
  const roles = ['unknown', 'src-client', 'src-server'] as const;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          s: fc.integer({ min: 0, max: 3 }),
          d: fc.integer({ min: 0, max: 3 }),
          role: fc.integer({ min: 0, max: 2 }),
          proto: fc.constantFrom(6, 17, 1),
          port: fc.integer({ min: 1, max: 4 }),
          bytes: fc.integer({ min: 0, max: 2 ** 40 }),
          drain: fc.boolean(),
        }),
        { maxLength: 60 },
      ),
      fc.integer({ min: 1, max: 6 }),
      fc.constantFrom<Dimensions>({}, { protocol: true }, { serverPort: true }, { protocol: true, serverPort: true }),
      (ops, maxRows, dims) => {
        const eps = [0, 1, 2, 3].map((i) => ep({ name: `p${i}` }));
        const sides = [false, true].map((conversations) => ({
          t: new DeltaTable({ level: 'pod', dims, maxRows, conversations }),
          store: new PairStore({ level: 'pod', dims }),
          sender: [] as End[],
        }));
        const flows = { kept: 0, dropped: 0 };
        for (const o of ops) {
          for (const x of sides)
            x.t.add(eps[o.s], eps[o.d], roles[o.role], rec(o.bytes, 1, { proto: o.proto, srcPort: o.port, dstPort: o.port + 10 }), T0);
          if (o.drain)
            for (const x of sides) {
              const b = x.t.drain();
              x.store.mergeBatch(b, x.sender);
              if (b.conversations) {
                flows.kept += b.conversations.flows.reduce((a, f) => a + f, 0);
                flows.dropped += b.conversations.dropped;
              }
            }
        }
        for (const x of sides) {
          const b = x.t.drain();
          x.store.mergeBatch(b, x.sender);
          if (b.conversations) {
            flows.kept += b.conversations.flows.reduce((a, f) => a + f, 0);
            flows.dropped += b.conversations.dropped;
          }
        }
        const dump = (st: PairStore) =>
          st.pairs
            .filter((p) => !p.overflow)
            .map((p) => `${p.src.key}>${p.dst.key}#${p.dims}=${p.flows}/${p.bytes}`)
            .sort();
        const [off, on] = sides.map((x) => x.store);
        // Rows keyed finer fill a small table sooner: only the overflow pair may differ, and totals never.
        assert.deepEqual(on.totals(), off.totals());
        if (on.stats().overflowedFlows === 0 && off.stats().overflowedFlows === 0) assert.deepEqual(dump(on), dump(off));
        assert.equal(flows.kept + flows.dropped, ops.length, 'every record is a conversation or a counted drop');
      },
    ),
    { numRuns: 300 },
  );
});

test('delta table without conversations ships none', () => {
  const t = new DeltaTable({});
  t.add(ep({}), ep({}), 'src-client', rec(1, 1), T0);
  assert.equal(t.drain().conversations, undefined);
});

test('conversation store: bounded (refusals counted) and expiring like pairs', () => {
  const s = new ConversationStore({ max: 2, ttlMs: 1000 });
  const l = (name: string) => ({ host: name, namespace: 'ns', kind: '' as const, name, ownerKind: '', ownerName: '', nodeName: '' });
  s.add(l('a'), l('b'), 6, 80, false, 1, 10, T0);
  s.add(l('a'), l('c'), 6, 80, false, 1, 10, T0 + 900);
  s.add(l('a'), l('d'), 6, 80, false, 3, 10, T0);
  s.add(l('a'), l('b'), 6, 80, false, 1, 10, T0 + 100);
  assert.deepEqual(s.stats(), { conversations: 2, undecided: 0, droppedFlows: 3, expired: 0 });
  assert.equal(s.list(T0 + 500).length, 1, 'since');
  assert.equal(s.expire(T0 + 1500), 1);
  assert.deepEqual(
    s.list().map((c) => c.server.name),
    ['c'],
  );
});

test('conversation store: its counts stay exact through refusals and expiry, per client, server and port', () => {
  const s = new ConversationStore({ max: 3, ttlMs: 1000 });
  const l = (name: string) => ({ host: name, namespace: 'ns', kind: '' as const, name, ownerKind: '', ownerName: '', nodeName: '' });
  s.add(l('a'), l('b'), 6, 80, false, 1, 10, T0);
  s.add(l('a'), l('b'), 6, 443, false, 1, 10, T0 + 900);
  s.add(l('b'), l('a'), 17, 0, true, 2, 10, T0);
  s.add(l('c'), l('d'), 6, 80, false, 5, 10, T0 + 900); // refused: full
  assert.deepEqual(s.stats(), { conversations: 3, undecided: 1, droppedFlows: 5, expired: 0 });
  assert.equal(s.expire(T0 + 1500), 2);
  assert.deepEqual(s.stats(), { conversations: 1, undecided: 0, droppedFlows: 5, expired: 2 });
  // The room freed by expiry is usable, and a refused client left nothing behind.
  s.add(l('c'), l('d'), 6, 80, false, 1, 10, T0 + 1600);
  s.add(l('a'), l('b'), 6, 80, false, 1, 10, T0 + 1600);
  assert.deepEqual(
    s
      .list()
      .map((c) => `${c.client.name}>${c.server.name}:${c.port}`)
      .sort(),
    ['a>b:443', 'a>b:80', 'c>d:80'],
  );
  assert.equal(s.expire(T0 + 5000), 3);
  assert.deepEqual(s.stats(), { conversations: 0, undecided: 0, droppedFlows: 5, expired: 5 });
});

test('conversation store: the ports of two ends keep their order through expiry in the middle', () => {
  const s = new ConversationStore({ ttlMs: 1000 });
  const l = (name: string) => ({ host: name, namespace: 'ns', kind: '' as const, name, ownerKind: '', ownerName: '', nodeName: '' });
  for (const [port, at] of [
    [80, T0 + 900],
    [443, T0],
    [8080, T0 + 900],
    [9090, T0 + 950],
  ])
    s.add(l('a'), l('b'), 6, port, false, 1, 10, at);
  s.add(l('a'), l('b'), 6, 443, false, 1, 10, T0 + 10);
  assert.equal(s.expire(T0 + 1500), 1);
  s.add(l('a'), l('b'), 6, 443, false, 2, 20, T0 + 1600);
  assert.deepEqual(
    s.list().map((c) => `${c.port} ${c.flows}`),
    ['80 1', '8080 1', '9090 1', '443 2'],
  );
  assert.equal(s.expire(T0 + 2000), 3);
  assert.equal(s.expire(T0 + 3000), 1);
  assert.deepEqual(s.stats(), { conversations: 0, undecided: 0, droppedFlows: 0, expired: 5 });
});

test('conversation store: 20,000 conversations take under 200 bytes of heap each', () => {
  const s = new ConversationStore();
  const l = (name: string) => ({ host: name, namespace: 'ns', kind: '' as const, name, ownerKind: '', ownerName: '', nodeName: '' });
  const clients = Array.from({ length: 2000 }, (_, i) => l(`client-${i}`));
  const servers = Array.from({ length: 10 }, (_, i) => l(`server-${i}`));
  const before = heapAfterGc();
  for (const c of clients) for (const v of servers) s.add(c, v, 6, 8080, false, 3, 3_000_000_000, T0, T0 + 1);
  const perConversation = (heapAfterGc() - before) / 20_000;
  assert.equal(s.stats().conversations, 20_000);
  // About 170. The counts as a conversation's fields (boxed doubles) made it 250, and a Map per client and
  // server for its ports 410.
  assert.ok(perConversation < 210, `${perConversation.toFixed(0)} bytes per conversation`);
});
