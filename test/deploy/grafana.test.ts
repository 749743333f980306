/**
 * The Grafana dashboards in deploy/grafana: valid JSON with a sane structure, the seed's
 * dstnamespace variable bug fixed, and every PromQL expression (Grafana variables substituted)
 * run by a real Prometheus that scrapes the running demo collector, so a wrong metric or label
 * name shows up as an empty answer, not only a syntax error as a parse error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prometheusAvailable, startPrometheus } from '../support/prometheus.ts';
import { startDemoProcess } from '../e2e/demo-process.ts';

const DIR = new URL('../../deploy/grafana/', import.meta.url).pathname;
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

interface Target {
  refId: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
  format?: string;
  instant?: boolean;
  url?: string;
  root_selector?: string;
  url_options?: { params?: { key: string; value: string }[] };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: unknown;
  definition?: string;
  allValue?: string;
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  time: { from: string; to: string };
}

const load = (f: string): Dashboard => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Dashboard;
const panelsOf = (d: Dashboard): Panel[] => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const isProm = (t: Target, p: Panel) => (t.datasource ?? p.datasource)?.type === 'prometheus';
const varQuery = (v: Variable): string | undefined =>
  typeof v.query === 'string' ? v.query : v.query && typeof v.query === 'object' ? (v.query as { query?: string }).query : undefined;

test('dashboards: the expected files, valid JSON, sane structure', () => {
  assert.deepEqual(FILES, [
    'netflow-k8s-health.json',
    'netflow-nodegraph-api.json',
    'netflow-nodegraph.json',
    'netflow-seed.json',
    'netflow-traffic-cost.json',
  ]);
  const uids = new Set<string>();
  for (const f of FILES) {
    const d = load(f);
    assert.equal(typeof d.title, 'string', f);
    assert.match(d.uid, /^[a-z0-9-]{1,40}$/, f);
    assert.ok(!uids.has(d.uid), `${f}: uid ${d.uid} used twice`);
    uids.add(d.uid);
    assert.ok(d.schemaVersion >= 36, f);
    assert.ok(Array.isArray(d.panels) && d.panels.length > 0, f);
    const vars = new Set(d.templating.list.map((v) => v.name));
    const ids = new Set<number>();
    const cells = new Set<string>();
    for (const p of panelsOf(d)) {
      assert.ok(!ids.has(p.id), `${f}: panel id ${p.id} twice`);
      ids.add(p.id);
      const g = p.gridPos;
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0 && g.y >= 0, `${f}: ${p.title} gridPos ${JSON.stringify(g)}`);
      // No two panels cover the same grid cell.
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `${f}: ${p.title} overlaps another panel at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      }
      if (p.type === 'row') continue;
      assert.ok(p.title, `${f}: panel ${p.id} has a title`);
      assert.ok(p.targets && p.targets.length > 0, `${f}: ${p.title} has queries`);
      const refs = new Set(p.targets.map((t) => t.refId));
      assert.equal(refs.size, p.targets.length, `${f}: ${p.title} refIds unique`);
      for (const t of p.targets) {
        const uid = (t.datasource ?? p.datasource)?.uid ?? '';
        const m = /^\$\{(\w+)\}$/.exec(uid);
        assert.ok(m && vars.has(m[1]), `${f}: ${p.title} uses a datasource variable (${uid})`);
        // Every variable an expression uses is defined (or one of Grafana's own).
        for (const [, name] of (t.expr ?? t.url ?? '').matchAll(/\$\{?([A-Za-z_]\w*)/g)) {
          assert.ok(vars.has(name) || name.startsWith('__'), `${f}: ${p.title} uses undefined $${name}`);
        }
      }
    }
  }
});

test('seed dashboard: the dstnamespace variable queries dstnamespace (the seed queried srcnamespace)', () => {
  const d = load('netflow-seed.json');
  const v = (name: string) => d.templating.list.find((x) => x.name === name)!;
  assert.match(varQuery(v('dstnamespace'))!, /^label_values\(netflow_connection_\w+, dstnamespace\)$/);
  assert.match(varQuery(v('srcnamespace'))!, /^label_values\(netflow_connection_\w+, srcnamespace\)$/);
  // And the panels filter destination by the destination variable.
  const exprs = panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  assert.ok(
    exprs.every((e) => e.includes('dstnamespace=~"$dstnamespace"')),
    'every panel honours $dstnamespace',
  );
  const titles = panelsOf(d)
    .map((p) => p.title)
    .join('\n');
  for (const w of ['Request flow rate', 'Response flow rate', 'Request bandwidth', 'Response bandwidth'])
    assert.match(titles, new RegExp(w));
  assert.match(titles, /namespace/);
  assert.match(titles, /host/);
});

test('node graph dashboards: no plugin from Prometheus; the Infinity one reads our API', () => {
  const d = load('netflow-nodegraph.json');
  const ng = panelsOf(d).find((p) => p.type === 'nodegraph')!;
  assert.ok(ng, 'a Node Graph panel');
  assert.equal(ng.datasource?.type, 'prometheus');
  assert.deepEqual(
    ng.targets!.map((t) => [t.refId, t.format, t.instant]),
    [
      ['nodes', 'table', true],
      ['edges', 'table', true],
    ],
  );

  const api = load('netflow-nodegraph-api.json');
  const p = panelsOf(api).find((x) => x.type === 'nodegraph')!;
  assert.equal(p.datasource?.type, 'yesoreyeram-infinity-datasource');
  const byRoot = Object.fromEntries(p.targets!.map((t) => [t.root_selector, t]));
  assert.equal((byRoot.nodes as unknown as { format: string }).format, 'node-graph-nodes');
  assert.equal((byRoot.edges as unknown as { format: string }).format, 'node-graph-edges');
  for (const t of p.targets!) {
    assert.match(t.url!, /\/api\/graph\/data$/);
    assert.deepEqual(
      t.url_options!.params!.map((x) => x.key),
      ['from', 'to', 'srcnamespace', 'dstnamespace'],
    );
  }
});

/** Grafana's variables as a query would see them with "All" selected. */
function substitute(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '1m')
    .replace(/\$__interval|\$\{__interval\}/g, '1m')
    .replace(/\$__range|\$\{__range\}/g, '5m')
    .replace(/\$\{([A-Za-z_]\w*)(:\w+)?\}|\$([A-Za-z_]\w*)/g, '.*');
}

/** label_values(SELECTOR, label) → an expression Prometheus can run: the selector's values of that label. */
function variableExpr(q: string): string {
  const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q.trim());
  assert.ok(m, `variable query ${q}`);
  return `count by (${m[2]}) (${m[1]})`;
}

test("every PromQL expression parses and finds the demo collector's series in a real Prometheus", {
  skip: !prometheusAvailable() && 'prometheus not installed',
}, async (t) => {
  const demo = await startDemoProcess(['--speed', '2']);
  t.after(() => demo.stop());
  const prom = await startPrometheus({ targets: [`127.0.0.1:${demo.port}`] });
  t.after(() => prom.stop());
  await prom.waitFor(
    'sum(rate(netflow_connection_bytes[1m])) > 0 and sum(rate(netflow_k8s_datagrams_total[1m])) > 0',
    (s) => s.length > 0,
    60_000,
  );

  let checked = 0;
  for (const f of FILES) {
    const d = load(f);
    const exprs: { where: string; expr: string }[] = [];
    for (const v of d.templating.list) {
      if (v.type === 'query') exprs.push({ where: `${f} variable ${v.name}`, expr: substitute(variableExpr(varQuery(v)!)) });
    }
    for (const p of panelsOf(d)) {
      for (const tg of p.targets ?? [])
        if (isProm(tg, p) && tg.expr) exprs.push({ where: `${f} "${p.title}" ${tg.refId}`, expr: substitute(tg.expr) });
    }
    for (const { where, expr } of exprs) {
      let result;
      try {
        result = await prom.query(expr);
      } catch (err) {
        assert.fail(`${where}: ${(err as Error).message}`);
      }
      checked++;
      // Empty is right only where the demo has nothing to show: no OTLP, no errors, no denied
      // exporters (those families have an exporter label and no rows until something happens).
      const mayBeEmpty = /otlp|> 0|datagrams_denied/.test(expr);
      assert.ok(mayBeEmpty || result.length > 0, `${where} found nothing:\n${expr}`);
    }
  }
  assert.ok(checked > 40, `checked ${checked} expressions`);

  // The Node Graph queries give what the panel needs: nodes with id/title/subtitle, edges between them, client → server.
  const ng = panelsOf(load('netflow-nodegraph.json')).find((p) => p.type === 'nodegraph')!;
  const [nodesQ, edgesQ] = ng.targets!.map((x) => substitute(x.expr!));
  const nodes = await prom.query(nodesQ);
  const edges = await prom.query(edgesQ);
  const ids = new Set(nodes.map((n) => n.metric.id));
  for (const n of nodes) assert.equal(n.metric.id, `${n.metric.subtitle}/${n.metric.title}`);
  assert.ok(ids.has('shop/frontend') && ids.has('payments/redis') && ids.has('shop/redis'), [...ids].join(', '));
  for (const e of edges) {
    assert.ok(ids.has(e.metric.source) && ids.has(e.metric.target), `edge ${e.metric.id} joins known nodes`);
    assert.equal(e.metric.id, `${e.metric.source}->${e.metric.target}`);
  }
  const edgeIds = new Set(edges.map((e) => e.metric.id));
  assert.ok(edgeIds.has('shop/frontend->shop/catalog'), [...edgeIds].join(', '));
  assert.ok(!edgeIds.has('shop/catalog->shop/frontend'), 'responses are folded into the client → server edge');
});

test('traffic cost dashboard: top workloads by cross-zone and internet cost, zone-to-zone matrices', () => {
  const d = load('netflow-traffic-cost.json');
  assert.match(d.title, /Traffic cost/);
  const byTitle = Object.fromEntries(panelsOf(d).map((p) => [p.title, p]));
  assert.match(
    byTitle['Top workloads by cross-zone cost (last 24 h)'].targets![0].expr!,
    /topk\(10, sum by \(namespace, app\) \(increase\(netflow_workload_traffic_cost_total\{class="cross-zone"/,
  );
  assert.match(byTitle['Top workloads by internet egress cost (last 24 h)'].targets![0].expr!, /class="internet"/);
  for (const t of ['Zone to zone: bytes/s', 'Zone to zone: cross-zone and cross-region GiB (last 24 h)']) {
    assert.match(byTitle[t].targets![0].expr!, /sum by \(src_zone, dst_zone\)/, t);
    assert.deepEqual(
      (byTitle[t] as unknown as { transformations: { id: string }[] }).transformations.map((x) => x.id),
      ['groupingToMatrix'],
      t,
    );
  }
});
