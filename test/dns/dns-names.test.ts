import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsNames, clientKey4, NO_CLIENT, type LearnOp } from '../../src/dns/dns-names.ts';
import { IdentityIndex, UNKNOWN_ENDPOINT } from '../../src/identify/identity-index.ts';
import { networksFromOption } from '../../src/identify/networks.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';
import { RecordPipeline } from '../../src/pipeline/record-pipeline.ts';
import { DeltaTable } from '../../src/aggregate/delta-table.ts';
import { DnsFlowCount } from '../../src/dns/dns-flow-count.ts';
import { T0, MIN, flow, pod } from '../identify/helpers.ts';

const ip = parseIPv4;
const learn = (names: DnsNames, addr: string, name: string, atMs: number, ttl: number, client = '10.244.1.10'): void =>
  names.learn([4, ip(addr), null, client === '' ? NO_CLIENT : clientKey4(ip(client)), name, atMs, ttl] satisfies LearnOp);

function index(names: DnsNames, more: { networks?: string; dnsOverNetworks?: boolean } = {}): IdentityIndex {
  const idx = new IdentityIndex({
    dnsNames: names,
    networks: more.networks === undefined ? undefined : networksFromOption(more.networks),
    dnsOverNetworks: more.dnsOverNetworks,
    now: () => T0,
  });
  idx.upsertPod(pod({ uid: 'web', ips: ['10.244.1.10'], appLabel: 'web' }));
  idx.upsertPod(pod({ uid: 'batch', ips: ['10.244.1.11'], appLabel: 'batch' }));
  return idx;
}

test('an answer names its address from the answer until TTL + grace; a late flow gets the name valid when it ended', () => {
  const names = new DnsNames({ graceMs: 10 * MIN });
  const idx = index(names);
  learn(names, '198.51.100.10', 'api.stripe.com', T0, 300);
  const at = (endMs: number) => idx.resolveDst(flow('10.244.1.10', 40000, '198.51.100.10', 443, endMs)).name;
  assert.equal(at(T0 + 1000), 'api.stripe.com');
  assert.equal(at(T0 + 5 * MIN + 9 * MIN), 'api.stripe.com', 'inside TTL + grace');
  assert.equal(at(T0 + 5 * MIN + 11 * MIN), 'unknown', 'past TTL + grace');
  assert.equal(at(T0 - MIN), 'unknown', 'before the answer');
  // The address is answered later for another name: flows are named by when they ended.
  learn(names, '198.51.100.10', 'hooks.stripe.com', T0 + 30 * MIN, 60);
  assert.equal(at(T0 + 2 * MIN), 'api.stripe.com', 'a late flow keeps the old name');
  assert.equal(at(T0 + 31 * MIN), 'hooks.stripe.com');
  // An address nobody resolved stays unknown; the source end is named the same way.
  assert.equal(idx.resolveDst(flow('10.244.1.10', 40000, '198.51.100.99', 443, T0 + 1000)), UNKNOWN_ENDPOINT);
  assert.equal(idx.resolveSrc(flow('198.51.100.10', 443, '10.244.1.10', 40000, T0 + 1000)).name, 'api.stripe.com');
});

test("two clients got different names for one address: each flow gets its own client's, others the latest", () => {
  const names = new DnsNames();
  const idx = index(names);
  learn(names, '203.0.113.7', 'a.shop.example', T0, 300, '10.244.1.10');
  learn(names, '203.0.113.7', 'b.blog.example', T0 + 1000, 300, '10.244.1.11');
  const dst = (src: string) => idx.resolveDst(flow(src, 40000, '203.0.113.7', 443, T0 + 2000));
  assert.equal(dst('10.244.1.10').name, 'a.shop.example');
  assert.equal(idx.hitFrom > idx.hitTo, true, 'client-dependent: not to be remembered for every client');
  assert.equal(dst('10.244.1.11').name, 'b.blog.example');
  assert.equal(dst('10.244.1.12').name, 'b.blog.example', 'a client that asked nothing (NodeLocal DNSCache): the latest');
  // One name only: the span is the answer's validity.
  learn(names, '203.0.113.8', 'only.example', T0, 60);
  idx.resolveDst(flow('10.244.1.10', 40000, '203.0.113.8', 443, T0 + 2000));
  assert.ok(idx.hitFrom <= T0 && idx.hitTo >= T0 + 60_000 + 10 * MIN);
});

test('precedence: pods win over DNS; named networks win unless --dns-over-networks; DNS wins over unknown', () => {
  const names = new DnsNames();
  learn(names, '10.244.1.11', 'batch.internal.example', T0, 300);
  learn(names, '192.0.2.5', 'office-api.example', T0, 300);
  const plain = index(names, { networks: 'office=192.0.2.0/24' });
  assert.equal(plain.resolveDst(flow('10.244.1.10', 40000, '10.244.1.11', 443, T0 + 1000)).app, 'batch');
  assert.equal(plain.resolveDst(flow('10.244.1.10', 40000, '192.0.2.5', 443, T0 + 1000)).name, 'office');
  const flipped = index(names, { networks: 'office=192.0.2.0/24', dnsOverNetworks: true });
  const ep = flipped.resolveDst(flow('10.244.1.10', 40000, '192.0.2.5', 443, T0 + 1000));
  assert.deepEqual([ep.kind, ep.namespace, ep.name, ep.app], ['external', 'external', 'office-api.example', 'office-api.example']);
});

test('the cap: past --dnstap-max-names the address answered longest ago goes, counted; memory per address stays bounded', () => {
  const names = new DnsNames({ maxAddresses: 100 });
  for (let i = 0; i < 1000; i++) learn(names, `198.18.${i >> 8}.${i & 255}`, `n${i}.example`, T0 + i, 60);
  assert.equal(names.size, 100);
  assert.equal(names.stats.evictions, 900);
  assert.equal(names.names, 100);
  assert.equal(names.name4(ip('198.18.0.0'), NO_CLIENT, T0 + 1000), null);
  assert.equal(names.name4(ip('198.18.3.231'), NO_CLIENT, T0 + 1000)!.name, 'n999.example');
  // Renewing an old address moves it to the back.
  learn(names, '198.18.3.132', 'n900.example', T0 + 2000, 60);
  for (let i = 0; i < 99; i++) learn(names, `198.19.0.${i}`, `m${i}.example`, T0 + 3000, 60);
  assert.ok(names.has4(ip('198.18.3.132')));
  // One address answered for many names keeps a bounded list.
  for (let i = 0; i < 50; i++) learn(names, '198.20.0.1', `cdn${i}.example`, T0 + i * 1000, 60, `10.0.0.${i}`);
  assert.ok(names.snapshot().filter((op) => op[1] === ip('198.20.0.1')).length <= 8);
});

test('answers that ran out long ago are pruned; a snapshot replays to the same answers', () => {
  const names = new DnsNames({ graceMs: 0, retentionMs: 60 * MIN });
  learn(names, '198.51.100.1', 'old.example', T0, 60);
  learn(names, '198.51.100.2', 'new.example', T0 + 90 * MIN, 60);
  const copy = new DnsNames({ graceMs: 0, retentionMs: 60 * MIN });
  for (const op of names.snapshot()) copy.learn(op);
  assert.equal(copy.name4(ip('198.51.100.1'), NO_CLIENT, T0 + 30_000)!.name, 'old.example');
  names.prune(T0 + 100 * MIN);
  assert.equal(names.size, 1);
  assert.equal(names.stats.expired, 1);
  assert.equal(names.name4(ip('198.51.100.2'), NO_CLIENT, T0 + 90 * MIN + 1000)!.name, 'new.example');
});

test('with the address memo on: a name learnt after an address was remembered as unknown takes over; flows named by DNS are counted', () => {
  const names = new DnsNames();
  const idx = index(names);
  const table = new DeltaTable({ level: 'app', maxRows: 1000 });
  const pipe = new RecordPipeline(idx, table, 'off');
  const send = (n: number, endMs: number) => {
    for (let i = 0; i < n; i++) pipe.sink(flow('10.244.1.10', 40000 + i, '198.51.100.10', 443, endMs));
  };
  send(5, T0 + 1000);
  learn(names, '198.51.100.10', 'api.stripe.com', T0, 300);
  send(7, T0 + 2000);
  assert.ok(pipe.counters.remembered >= 5, 'the memo answered most records');
  const b = table.drain();
  const named = new DnsFlowCount((n) => names.hasName(n));
  named.add(b);
  assert.equal(named.total, 7, 'flows named by DNS, counted from the batch');
  const byHost = new Map<string, number>();
  for (let i = 0; i < b.src.length; i++) {
    const host = b.ends[b.dst[i] - b.firstEnd].host;
    byHost.set(host, (byHost.get(host) ?? 0) + b.flows[i]);
  }
  assert.deepEqual(Object.fromEntries(byHost), { unknown: 5, 'api.stripe.com': 7 });
});

test('OTLP: an external server named by DNS carries server.address; a named network does not', async () => {
  const { PairStore } = await import('../../src/aggregate/pair-store.ts');
  const { pairAttributes } = await import('../../src/export/otel/producer.ts');
  const { ep, rec } = await import('../aggregate/fixtures.ts');
  const names = new DnsNames({ publishNames: true });
  learn(names, '198.51.100.10', 'api.stripe.com', T0, 300);
  const s = new PairStore({ level: 'app' });
  const web = ep({ kind: 'pod', namespace: 'shop', name: 'web-1', app: 'web' });
  const stripe = ep({ kind: 'external', namespace: 'external', name: 'api.stripe.com', app: 'api.stripe.com' });
  const office = ep({ kind: 'external', namespace: 'external', name: 'office', app: 'office' });
  s.add(web, stripe, 'src-client', rec(100, 1), T0);
  s.add(stripe, web, 'src-server', rec(900, 2), T0);
  s.add(web, office, 'src-client', rec(100, 1), T0);
  const attrs = s.pairs.map((p) => pairAttributes(s, p));
  assert.deepEqual(
    attrs.map((a) => a['server.address']),
    ['api.stripe.com', 'api.stripe.com', undefined],
  );
  assert.deepEqual(
    attrs.map((a) => a['k8s.dst.name']),
    ['api.stripe.com', 'web', 'office'],
  );
});

test("IPv6: AAAA answers name v6 ends, with the v6 client's own name preferred", async () => {
  const { parseIPv6 } = await import('../../src/identify/ip.ts');
  const { clientKey6 } = await import('../../src/dns/dns-names.ts');
  const names = new DnsNames();
  const idx = new IdentityIndex({ dnsNames: names, now: () => T0 });
  idx.upsertPod(pod({ uid: 'web6', ips: ['fd00::10'], appLabel: 'web6' }));
  idx.upsertPod(pod({ uid: 'api6', ips: ['fd00::11'], appLabel: 'api6' }));
  names.learn([6, 0, parseIPv6('2001:db8::7')!, clientKey6(parseIPv6('fd00::10')!), 'a.v6.example', T0, 300]);
  names.learn([6, 0, parseIPv6('2001:db8::7')!, clientKey6(parseIPv6('fd00::11')!), 'b.v6.example', T0 + 1000, 300]);
  assert.equal(idx.resolveDst(flow('fd00::10', 40000, '2001:db8::7', 443, T0 + 2000)).name, 'a.v6.example');
  assert.equal(idx.resolveDst(flow('fd00::11', 40000, '2001:db8::7', 443, T0 + 2000)).name, 'b.v6.example');
  assert.equal(idx.resolveSrc(flow('2001:db8::7', 443, 'fd00::12', 40000, T0 + 2000)).name, 'b.v6.example');
  assert.equal(idx.resolveDst(flow('fd00::10', 40000, '2001:db8::8', 443, T0 + 2000)), UNKNOWN_ENDPOINT);
});
