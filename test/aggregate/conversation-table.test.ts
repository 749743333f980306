/**
 * Conversations on the receive path: the server side of each record keyed by (client end, server
 * end, server port, protocol), undecided records apart, drained with the delta batch in its end
 * numbers and merged on the main thread by labels; the same whatever --extra-labels says; bounded
 * per interval and in the store, expiring like pairs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeltaTable } from '../../src/aggregate/delta-table.ts';
import { PairStore, type End } from '../../src/aggregate/pair-store.ts';
import { ConversationTable, convPort, convProto, convUndecided } from '../../src/aggregate/conversation-table.ts';
import { ConversationStore } from '../../src/policy/conversations.ts';
import type { Dimensions } from '../../src/aggregate/level.ts';
import { ep, rec } from './fixtures.ts';

const T0 = 1_700_000_000_000;

test('conversation table: the client and the server port come from the role; unknown roles are undecided', () => {
  const t = new ConversationTable(16);
  t.add(1, 2, 1, rec(100, 1, { srcPort: 40001, dstPort: 8080 }), T0);
  t.add(2, 1, 2, rec(900, 1, { srcPort: 8080, dstPort: 40001 }), T0 + 5);
  t.add(1, 2, 1, rec(50, 1, { srcPort: 40002, dstPort: 8080 }), T0 + 9);
  t.add(1, 2, 0, rec(84, 1, { proto: 1, srcPort: 0, dstPort: 2048 }), T0 + 3);
  const b = t.drain();
  assert.equal(b.flows.length, 2);
  const rows = [...b.flows.keys()].map((i) => ({ c: b.client[i], s: b.server[i], proto: convProto(b.key[i]), port: convPort(b.key[i]), und: convUndecided(b.key[i]), flows: b.flows[i], bytes: b.bytes[i], first: b.firstMs[i] - T0, last: b.lastMs[i] - T0 }));
  assert.deepEqual(rows, [
    { c: 1, s: 2, proto: 6, port: 8080, und: false, flows: 3, bytes: 1050, first: 0, last: 9 },
    { c: 1, s: 2, proto: 1, port: 0, und: true, flows: 1, bytes: 84, first: 3, last: 3 },
  ]);
  assert.equal(t.drain().flows.length, 0, 'empty after a drain');
});

test('conversation table: past maxRows in an interval new conversations are dropped and counted, never merged into a catch-all', () => {
  const t = new ConversationTable(2);
  for (let port = 1; port <= 4; port++) t.add(1, 2, 1, rec(10, 1, { dstPort: port }), T0);
  t.add(1, 2, 1, rec(10, 1, { dstPort: 1 }), T0);
  const b = t.drain();
  assert.deepEqual([...b.flows], [2, 1]);
  assert.equal(b.dropped, 2);
  assert.equal(t.drain().dropped, 0);
});

function run(dims: Dimensions): { pairs: number; convs: string[] } {
  const table = new DeltaTable({ level: 'app', dims, conversations: 100 });
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
      store.merge(b.conversations!, sender);
    }
  }
  const b = table.drain();
  main.mergeBatch(b, sender);
  store.merge(b.conversations!, sender);
  return {
    pairs: main.pairs.length,
    convs: store.list().map((c) => `${c.client.namespace}/${c.client.name} -> ${c.server.namespace}/${c.server.name} ${c.proto}/${c.port} ${c.flows} ${c.bytes} ${c.firstMs - T0}-${c.lastMs - T0}`),
  };
}

test('conversations drain with the delta batch and merge by labels; --extra-labels changes the pairs, not the conversations', () => {
  const plain = run({});
  const extra = run({ role: true, protocol: true, serverPort: true });
  assert.deepEqual(plain.convs, ['shop/web -> backend/api 6/8080 20 11000 0-9']);
  assert.deepEqual(extra.convs, plain.convs);
  assert.equal(plain.pairs, 2);
  assert.equal(extra.pairs, 2);
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
  assert.deepEqual(s.list().map((c) => c.server.name), ['c']);
});
