import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGraph, EDGE_FIELDS, NODE_FIELDS, type PairRate } from '../../src/export/nodegraph/graph.ts';
import { parseGraphQuery, parseNamespaces, parseWindow, QueryError } from '../../src/export/nodegraph/query.ts';
import { buildPromQL, escapeLabelValue, labelMatcher } from '../../src/export/nodegraph/prometheus.ts';
import { LiveWindow, type PairSource, type PairVisitor } from '../../src/export/nodegraph/live.ts';
import { NodeGraphApi } from '../../src/export/nodegraph/api.ts';
import { HttpServer } from '../../src/observe/http.ts';
import type { Role } from '../../src/identify/endpoint.ts';
import { heapAfterGc } from '../support/heap.ts';

const rate = (src: string, dst: string, role: Role, bytesPerS: number, extra: Partial<PairRate> = {}): PairRate => {
  const [srcNamespace, srcApp] = src.split('/');
  const [dstNamespace, dstApp] = dst.split('/');
  return { srcNamespace, srcApp, dstNamespace, dstApp, role, bytesPerS, packetsPerS: bytesPerS / 100, flowsPerS: 1, ...extra };
};

test('window: to − from, at least 60 s, offset when to is in the past', () => {
  const now = 1_700_000_000_000;
  const p = (s: string) => new URLSearchParams(s);
  assert.deepEqual(parseWindow(p(`from=${now - 3_600_000}&to=${now}`), now), { windowS: 3600, offsetS: 0, endMs: now });
  assert.deepEqual(parseWindow(p(`from=${now - 10_000}&to=${now}`), now), { windowS: 60, offsetS: 0, endMs: now });
  assert.deepEqual(parseWindow(p(`from=${now - 7_200_000}&to=${now - 3_600_000}`), now), {
    windowS: 3600,
    offsetS: 3600,
    endMs: now - 3_600_000,
  });
  // A `to` in the future is now; no negative offset.
  assert.equal(parseWindow(p(`from=${now - 300_000}&to=${now + 60_000}`), now).offsetS, 0);
  // No parameters: the last minute.
  assert.deepEqual(parseWindow(p(''), now), { windowS: 60, offsetS: 0, endMs: now });
  // Epoch seconds are understood too.
  assert.equal(parseWindow(p(`from=${now / 1000 - 600}&to=${now / 1000}`), now).windowS, 600);
  assert.throws(() => parseWindow(p('from=now-1h&to=now'), now), QueryError);
  assert.throws(() => parseWindow(p(`from=${now}&to=${now - 1000}`), now), QueryError);
});

test('namespace filters: names only, All means no filter, several values in the usual Grafana forms', () => {
  const p = (s: string) => new URLSearchParams(s);
  assert.equal(parseNamespaces(p(''), 'srcnamespace'), undefined);
  assert.equal(parseNamespaces(p('srcnamespace=All'), 'srcnamespace'), undefined);
  assert.equal(parseNamespaces(p('srcnamespace=%24__all'), 'srcnamespace'), undefined);
  assert.deepEqual(parseNamespaces(p('srcnamespace=shop'), 'srcnamespace'), ['shop']);
  assert.deepEqual(parseNamespaces(p('srcnamespace=shop,billing'), 'srcnamespace'), ['shop', 'billing']);
  assert.deepEqual(parseNamespaces(p('srcnamespace={shop,billing}'), 'srcnamespace'), ['shop', 'billing']);
  assert.deepEqual(parseNamespaces(p('srcnamespace=shop&srcnamespace=kube-system'), 'srcnamespace'), ['shop', 'kube-system']);
  for (const bad of ['a"} or vector(1) or {x="', 'shop|a.b', 'Shop', '-x', 'a\nb', 'x'.repeat(64)]) {
    assert.throws(() => parseNamespaces(new URLSearchParams({ srcnamespace: bad }), 'srcnamespace'), QueryError, bad);
  }
});

test('PromQL: values escaped, window and offset in the range, responses swapped for filters', () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assert.equal(labelMatcher('srchost', ['x"y']), 'srchost="x\\"y"');
  assert.equal(labelMatcher('srcnamespace', ['a.b', 'c']), 'srcnamespace=~"a\\\\.b|c"');
  const now = 1_700_000_000_000;
  const q = parseGraphQuery(new URLSearchParams(`from=${now - 7_200_000}&to=${now - 3_600_000}`), now);
  assert.equal(
    buildPromQL('netflow_connection_bytes', q),
    'sum by (srcnamespace, srchost, dstnamespace, dsthost, direction) (rate(netflow_connection_bytes{}[3600s] offset 3600s))',
  );
  const f = parseGraphQuery(new URLSearchParams(`srcnamespace=shop&dstnamespace=db`), now);
  assert.equal(
    buildPromQL('m', f),
    'sum by (srcnamespace, srchost, dstnamespace, dsthost, direction) (rate(m{srcnamespace="shop", dstnamespace="db"}[60s]))' +
      ' or sum by (srcnamespace, srchost, dstnamespace, dsthost, direction) (rate(m{direction="response", dstnamespace="shop", srcnamespace="db"}[60s]))',
  );
});

test('graph: same app in two namespaces makes two nodes; ids and stats on every edge', () => {
  const g = buildGraph([rate('shop/api', 'shop/db', 'unknown', 1000), rate('billing/api', 'shop/db', 'unknown', 500)]);
  assert.deepEqual(
    g.nodes.map((n) => n.id),
    ['billing/api', 'shop/api', 'shop/db'],
  );
  const api = g.nodes.filter((n) => n.title === 'api');
  assert.equal(api.length, 2);
  assert.deepEqual(api.map((n) => n.subtitle).sort(), ['billing', 'shop']);
  assert.equal(g.edges.length, 2);
  for (const e of g.edges) {
    assert.ok(e.id && e.source && e.target);
    assert.equal(e.detail__direction, 'source-destination');
    assert.ok(e.mainstat > 0 && e.secondarystat > 0 && e.detail__packets_per_s > 0 && e.detail__flows_per_s > 0);
  }
  assert.equal(new Set(g.edges.map((e) => e.id)).size, 2);
  const db = g.nodes.find((n) => n.id === 'shop/db')!;
  assert.equal(db.detail__received_bytes_per_s, 1500);
  assert.equal(db.mainstat, 1500);
  assert.equal(db.arc__received, 1);
  assert.equal(db.arc__sent, 0);
});

test('graph: both directions of a conversation form one client → server edge with request and response bytes', () => {
  const g = buildGraph([
    rate('shop/web', 'shop/api', 'src-client', 200, { flowsPerS: 2 }),
    rate('shop/api', 'shop/web', 'src-server', 5000, { flowsPerS: 2 }),
    // The role is unknown for this pair: it stays source → destination, in both directions.
    rate('shop/api', 'external/partner', 'unknown', 300),
    rate('external/partner', 'shop/api', 'unknown', 100),
  ]);
  const cs = g.edges.filter((e) => e.source === 'shop/web');
  assert.equal(cs.length, 1);
  assert.deepEqual(
    { ...cs[0] },
    {
      id: 'shop/web->shop/api',
      source: 'shop/web',
      target: 'shop/api',
      mainstat: 5200,
      secondarystat: 4,
      detail__direction: 'client-server',
      detail__request_bytes_per_s: 200,
      detail__response_bytes_per_s: 5000,
      detail__packets_per_s: 52,
      detail__flows_per_s: 4,
      detail__class: 'unknown',
      detail__cost_per_hour: 0,
      color: '',
    },
  );
  assert.ok(!g.edges.some((e) => e.source === 'shop/api' && e.target === 'shop/web'));
  const ext = g.edges.filter((e) => e.source.startsWith('external') || e.target.startsWith('external'));
  assert.deepEqual(ext.map((e) => e.id).sort(), ['external/partner->shop/api', 'shop/api->external/partner']);
  const partner = g.nodes.find((n) => n.id === 'external/partner')!;
  assert.equal(partner.detail__kind, 'external');
  const web = g.nodes.find((n) => n.id === 'shop/web')!;
  assert.equal(web.detail__sent_bytes_per_s, 200);
  assert.equal(web.detail__received_bytes_per_s, 5000);
  assert.ok(Math.abs(web.arc__sent + web.arc__received - 1) < 1e-9);
});

test('fields: the plugin shape, with the Grafana node graph names', () => {
  const names = (f: readonly { field_name: string }[]) => f.map((x) => x.field_name);
  for (const n of ['id', 'title', 'subtitle', 'mainstat', 'secondarystat']) assert.ok(names(NODE_FIELDS).includes(n), n);
  for (const n of ['id', 'source', 'target', 'mainstat', 'secondarystat']) assert.ok(names(EDGE_FIELDS).includes(n), n);
  assert.ok(names(NODE_FIELDS).some((n) => n.startsWith('arc__')));
  assert.ok(names(NODE_FIELDS).some((n) => n.startsWith('detail__')));
  assert.ok(names(EDGE_FIELDS).some((n) => n.startsWith('detail__')));
  // Every field the graph carries is declared, and the other way round.
  const g = buildGraph([rate('a/x', 'b/y', 'src-client', 10)]);
  assert.deepEqual(Object.keys(g.nodes[0]).sort(), names(NODE_FIELDS).sort());
  assert.deepEqual(Object.keys(g.edges[0]).sort(), names(EDGE_FIELDS).sort());
});

/** A store stand-in holding cumulative counts that the test moves forward. */
class Counts implements PairSource {
  rows = new Map<string, { src: string; dst: string; role: Role; flows: number; bytes: number; packets: number }>();
  add(src: string, dst: string, role: Role, bytes: number): void {
    const k = `${src}|${dst}|${role}`;
    const r = this.rows.get(k) ?? { src, dst, role, flows: 0, bytes: 0, packets: 0 };
    r.flows += 1;
    r.bytes += bytes;
    r.packets += Math.ceil(bytes / 1000);
    this.rows.set(k, r);
  }
  forEachPair(visit: PairVisitor): void {
    for (const r of this.rows.values()) {
      const [sn, sa] = r.src.split('/');
      const [dn, da] = r.dst.split('/');
      visit({ namespace: sn, app: sa, kind: 'pod' }, { namespace: dn, app: da, kind: 'pod' }, r.role, r.flows, r.bytes, r.packets);
    }
  }
}

test('live window: rates over the asked window from the ring of snapshots, bounded ring', () => {
  let now = 1_700_000_000_000;
  const store = new Counts();
  const live = new LiveWindow(store, { now: () => now });
  // 10 minutes: web → api 1000 B every 5 s (200 B/s); for the last 2 minutes also 4000 B per 5 s.
  for (let i = 1; i <= 120; i++) {
    now += 5000;
    store.add('shop/web', 'shop/api', 'src-client', i > 96 ? 5000 : 1000);
    live.tick();
  }
  assert.ok(live.snapshotCount <= 24 + 16 + 2, `ring holds ${live.snapshotCount} snapshots`);
  const q = (from: number, to: number) => parseGraphQuery(new URLSearchParams(`from=${from}&to=${to}`), now);
  const last1m = live.rates(q(now - 60_000, now));
  assert.equal(last1m.length, 1);
  assert.equal(last1m[0].bytesPerS, 1000);
  assert.equal(last1m[0].flowsPerS, 0.2);
  // 8 minutes ago, one minute long: the quieter rate, from the coarse part of the ring.
  const earlier = live.rates(q(now - 9 * 60_000, now - 8 * 60_000));
  assert.equal(earlier.length, 1);
  assert.ok(Math.abs(earlier[0].bytesPerS - 200) < 1e-9, String(earlier[0].bytesPerS));
  // Filters apply to the drawn edge.
  const filtered = live.rates(parseGraphQuery(new URLSearchParams('dstnamespace=other'), now));
  assert.equal(filtered.length, 0);
  // After 15 minutes without ticks being kept longer, the ring stays bounded.
  for (let i = 0; i < 400; i++) {
    now += 5000;
    live.tick();
  }
  assert.ok(live.snapshotCount <= 42, `ring holds ${live.snapshotCount} snapshots`);
  assert.ok(live.historyS <= 15 * 60 + 60);
});

test('live window: snapshots only while someone queries; an idle ring pauses down to one baseline', async () => {
  let now = 1_700_000_200_000;
  const store = new Counts();
  store.add('shop/web', 'shop/api', 'src-client', 1000);
  const live = new LiveWindow(store, { now: () => now, fineIntervalMs: 5, idleMs: 60_000 });
  const q = () => parseGraphQuery(new URLSearchParams(`from=${now - 60_000}&to=${now}`), now);
  const until = async (cond: () => boolean, what: string) => {
    for (const end = Date.now() + 10_000; !cond(); await new Promise((r) => setTimeout(r, 5)))
      if (Date.now() > end) assert.fail(`timed out waiting: ${what}`);
  };
  live.start();
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(live.running, false, 'nobody asked: no snapshots');
  assert.equal(live.snapshotCount, 1);
  live.rates(q());
  assert.equal(live.running, true, 'the first query sets the ring running');
  await until(() => live.snapshotCount >= 3, 'snapshots while queried');
  now += 61_000;
  await until(() => !live.running, 'the ring pauses after idleMs without a query');
  assert.equal(live.snapshotCount, 1, 'a paused ring keeps only its last snapshot');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(live.snapshotCount, 1, 'and takes no more');
  // The next query resumes; its rates are averaged since the pause (the baseline it kept).
  store.add('shop/web', 'shop/api', 'src-client', 1000);
  now += 10_000;
  const r = live.rates(q());
  assert.equal(r.length, 1);
  assert.equal(r[0].bytesPerS, 100);
  assert.equal(live.running, true);
  live.stop();
  assert.equal(live.running, false);
  live.rates(q());
  assert.equal(live.running, false, 'stopped: queries no longer start it');
});

test('live window: right after start the baseline is zero; a pair that expired and came back counts from zero', () => {
  let now = 1_700_000_100_000;
  const store = new Counts();
  const live = new LiveWindow(store, { now: () => now });
  now += 2000;
  store.add('a/x', 'b/y', 'unknown', 4000);
  const r = live.rates(parseGraphQuery(new URLSearchParams(''), now));
  assert.equal(r.length, 1);
  assert.equal(r[0].bytesPerS, 2000);
  now += 58_000;
  live.tick();
  now += 60_000;
  store.rows.clear();
  store.add('a/x', 'b/y', 'unknown', 500);
  live.tick();
  now += 1000;
  // The window starts at the snapshot holding 4000 B; the pair now holds 500 B: a reset, so 500 B in 61 s.
  const r2 = live.rates(parseGraphQuery(new URLSearchParams(''), now));
  assert.equal(r2.length, 1);
  assert.ok(Math.abs(r2[0].bytesPerS - 500 / 61) < 1e-9, String(r2[0].bytesPerS));
});

test('live window: a `to` within the fine interval of now (900 ms, or truncated to the second) is answered from the live store', () => {
  let now = 1_700_000_300_000;
  const store = new Counts();
  const live = new LiveWindow(store, { now: () => now });
  now += 4_000;
  live.tick();
  // Traffic after the last snapshot, then queries whose `to` lies just behind now.
  now += 3_000;
  store.add('shop/web', 'shop/api', 'src-client', 7000);
  now += 100;
  for (const to of [now - 900, Math.floor(now / 1000) * 1000, Math.floor(now / 1000)]) {
    const r = live.rates(parseGraphQuery(new URLSearchParams(`from=${now - 60_000}&to=${to}`), now));
    assert.equal(r.length, 1, `to=${to}`);
    assert.ok(r[0].bytesPerS > 0);
  }
  // A `to` further back than the interval still reads the snapshots: nothing had arrived 6 s ago.
  assert.equal(live.rates(parseGraphQuery(new URLSearchParams(`from=${now - 66_000}&to=${now - 6_000}`), now)).length, 0);
});

test('HTTP: routes, JSON content type, 400 on bad input, 405 on other methods', async (t) => {
  let now = 1_700_000_200_000;
  const store = new Counts();
  const live = new LiveWindow(store, { now: () => now });
  store.add('shop/web', 'shop/api', 'src-client', 6000);
  store.add('shop/api', 'shop/web', 'src-server', 60000);
  now += 60_000;
  const api = new NodeGraphApi({ live, now: () => now });
  const server = new HttpServer();
  api.mount(server);
  const addr = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());
  const base = `http://127.0.0.1:${addr.port}`;

  const health = await fetch(`${base}/api/health`);
  assert.equal(health.status, 200);
  assert.equal(health.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(((await health.json()) as { source: string }).source, 'live');

  const fields = await fetch(`${base}/api/graph/fields`);
  assert.equal(fields.headers.get('content-type'), 'application/json; charset=utf-8');
  const fj = (await fields.json()) as { nodes_fields: unknown[]; edges_fields: unknown[] };
  assert.ok(fj.nodes_fields.length > 0 && fj.edges_fields.length > 0);

  const data = await fetch(`${base}/api/graph/data?from=${now - 60_000}&to=${now}`);
  assert.equal(data.status, 200);
  assert.equal(data.headers.get('content-type'), 'application/json; charset=utf-8');
  const g = (await data.json()) as {
    nodes: { id: string }[];
    edges: { id: string; mainstat: number; detail__request_bytes_per_s: number; detail__response_bytes_per_s: number }[];
  };
  assert.deepEqual(
    g.nodes.map((n) => n.id),
    ['shop/api', 'shop/web'],
  );
  assert.equal(g.edges.length, 1);
  assert.equal(g.edges[0].id, 'shop/web->shop/api');
  assert.equal(g.edges[0].detail__request_bytes_per_s, 100);
  assert.equal(g.edges[0].detail__response_bytes_per_s, 1000);

  const bad = await fetch(`${base}/api/graph/data?srcnamespace=${encodeURIComponent('x"} or vector(1)')}`);
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.match(((await bad.json()) as { error: string }).error, /not a namespace/);

  // 400 nines parse as Infinity: refused like any other bad time, never a 200 over an endless window.
  const nines = '9'.repeat(400);
  for (const q of [`to=${nines}`, `from=${nines}`, `from=0&to=${nines}`]) {
    const inf = await fetch(`${base}/api/graph/data?${q}`);
    assert.equal(inf.status, 400, q.slice(0, 20));
    assert.match(((await inf.json()) as { error: string }).error, /finite/);
  }

  const post = await fetch(`${base}/api/graph/data`, { method: 'POST' });
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

test('zone classes on edges: the class most bytes have, its colour, cost per hour, and the header totals', () => {
  const GiBps = 2 ** 30 / 3600; // one GiB an hour
  const prices = { currency: 'USD', perGiB: { 'cross-zone': 0.02, internet: 0.09 }, source: 'test' } as const;
  const g = buildGraph(
    [
      { ...rate('shop/api', 'shop/db', 'src-client', 10 * GiBps), classBytesPerS: [0, 0, 2 * GiBps, 8 * GiBps, 0, 0, 0] },
      { ...rate('shop/web', 'external/cdn', 'unknown', 5 * GiBps), classBytesPerS: [0, 0, 0, 0, 0, 5 * GiBps, 0] },
      rate('shop/web', 'shop/api', 'src-client', 100),
    ],
    prices,
  );
  const edge = (id: string) => g.edges.find((e) => e.id === id)!;
  assert.equal(edge('shop/api->shop/db').detail__class, 'cross-zone');
  assert.equal(edge('shop/api->shop/db').color, '#e8a33d');
  assert.equal(edge('shop/api->shop/db').detail__cost_per_hour, 0.16);
  assert.equal(edge('shop/web->external/cdn').detail__class, 'internet');
  assert.equal(edge('shop/web->external/cdn').detail__cost_per_hour, 0.45);
  assert.equal(edge('shop/web->shop/api').detail__class, 'unknown', 'no class known: unknown, uncoloured');
  assert.equal(edge('shop/web->shop/api').color, '');
  assert.ok(Math.abs(g.zones!.gibPerHour['cross-zone'] - 8) < 1e-9);
  assert.ok(Math.abs(g.zones!.totalCostPerHour - 0.61) < 1e-9);
  assert.equal(g.zones!.currency, 'USD');
});

test('zone cost: what an outside end sends is inbound traffic, billed to no one', () => {
  const GiBps = 2 ** 30 / 3600;
  const prices = { currency: 'USD', perGiB: { internet: 0.09 }, source: 'test' } as const;
  const g = buildGraph(
    [
      {
        ...rate('unknown/unknown', 'shop/web', 'src-client', 4 * GiBps, { srcKind: 'unknown' }),
        classBytesPerS: [0, 0, 0, 0, 0, 4 * GiBps, 0],
      },
      { ...rate('shop/web', 'unknown/unknown', 'src-server', GiBps, { dstKind: 'unknown' }), classBytesPerS: [0, 0, 0, 0, 0, GiBps, 0] },
    ],
    prices,
  );
  assert.equal(g.edges.length, 1);
  assert.equal(g.edges[0].detail__cost_per_hour, 0.09, 'only the 1 GiB/h the web app sends');
  assert.ok(Math.abs(g.zones!.gibPerHour.internet - 5) < 1e-9);
  assert.ok(Math.abs(g.zones!.totalCostPerHour - 0.09) < 1e-9);
});

test('live window: the zone classes of 20,000 pairs are kept in a typed array, not an array per pair', () => {
  const ends = Array.from({ length: 200 }, (_, i) => ({ namespace: `ns-${i % 7}`, app: `app-${i}`, kind: 'pod' }));
  const classBytes = [0, 10, 20, 0, 0, 5, 0];
  const source: PairSource = {
    forEachPair(visit) {
      for (let i = 0; i < 20_000; i++) visit(ends[i % 200], ends[Math.floor(i / 200)], 'src-client', 1, 35, 1, classBytes);
    },
  };
  let now = 1_700_000_000_000;
  const live = new LiveWindow(source, { now: () => now });
  const before = heapAfterGc();
  now += 5000;
  live.tick();
  const perPair = (heapAfterGc() - before) / 20_000;
  // A Map entry and an array of seven numbers per pair were about 160 bytes.
  assert.ok(perPair < 40, `${perPair.toFixed(0)} bytes per pair`);
  const r = live.rates(parseGraphQuery(new URLSearchParams(''), now));
  assert.equal(r.length, 20_000);
  assert.deepEqual(r[0].classBytesPerS, [0, 10 / 5, 20 / 5, 0, 0, 5 / 5, 0]);
});

test('live window: an end it knows costs a flat key, a copy of its names and a small integer by its object', () => {
  // Names made by joining, so they are flat strings from the start, as the store's are.
  const ends = Array.from({ length: 4000 }, (_, i) => ({
    namespace: ['ns', i % 9].join('-'),
    app: ['checkout', i].join('-'),
    kind: 'pod',
  }));
  const source: PairSource = {
    forEachPair(visit) {
      for (let i = 0; i < 4000; i++) visit(ends[i], ends[(i + 1) % 4000], 'src-client', 1, 35, 1);
    },
  };
  let now = 1_700_000_000_000;
  const live = new LiveWindow(source, { now: () => now });
  const before = heapAfterGc();
  now += 5000;
  live.tick();
  const perEnd = (heapAfterGc() - before) / 4000;
  // About 170 bytes; a rope for its key and an object for its id and generation made it 290.
  assert.ok(perEnd < 230, `${perEnd.toFixed(0)} bytes per end`);
  now += 5000;
  live.tick();
  assert.equal(live.rates(parseGraphQuery(new URLSearchParams(''), now)).length, 4000);
});
