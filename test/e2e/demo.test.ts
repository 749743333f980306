/**
 * `netflow-k8s demo` end to end: the real CLI in a child process (as `npm run demo` runs it, but
 * from the TypeScript sources and on free ports), its NetFlow through the real socket, decoder and
 * pipeline; the map page, /metrics and the Node Graph API show the sample cluster's apps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startDemoProcess } from './demo-process.ts';
import { DEMO_APPS, DEMO_BUCKET, DEMO_EXTERNAL } from '../../src/demo/cluster.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface GraphBody {
  nodes: { id: string; title: string; subtitle: string }[];
  edges: {
    id: string;
    source: string;
    target: string;
    mainstat: number;
    detail__direction: string;
    detail__request_bytes_per_s: number;
    detail__response_bytes_per_s: number;
  }[];
}

test('demo: starts, prints its URLs, and the map, /metrics and the Node Graph API show its apps', async (t) => {
  const demo = await startDemoProcess(['--speed', '4']);
  t.after(() => demo.stop());
  const base = demo.base;
  const deadline = Date.now() + 30_000;
  const { out } = demo.output();
  assert.ok(out.includes(`${base}/`), out);
  assert.ok(out.includes(`${base}/metrics`), out);
  assert.ok(out.includes(`${base}/api/graph/data`), out);

  // Within seconds, every app has been seen.
  let graph: GraphBody = { nodes: [], edges: [] };
  const want = DEMO_APPS.map((a) => `${a.namespace}/${a.app}`).sort();
  while (Date.now() < deadline) {
    graph = (await (await fetch(`${base}/api/graph/data`)).json()) as GraphBody;
    if (want.every((id) => graph.nodes.some((n) => n.id === id))) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const ids = graph.nodes.map((n) => n.id);
  for (const id of want) assert.ok(ids.includes(id), `${id} missing from ${ids.join(', ')}`);
  assert.ok(ids.includes(`external/${DEMO_EXTERNAL.name}`), ids.join(', '));
  // External services carry the names their pods resolved (the demo's dnstap stream), not the CIDR's name.
  assert.ok(ids.includes(`external/${DEMO_BUCKET.name}`), ids.join(', '));
  assert.ok(!ids.includes(`external/${DEMO_EXTERNAL.network}`), ids.join(', '));
  assert.ok(ids.includes('unknown/unknown'), 'the visitors are unknown addresses');
  // redis in two namespaces: two nodes.
  assert.equal(graph.nodes.filter((n) => n.title === 'redis').length, 2);
  // Roles come from the inventory's containerPorts: every conversation is one client → server edge.
  const edge = (s: string, d: string) => graph.edges.find((e) => e.source === s && e.target === d);
  for (const [s, d] of [
    ['shop/frontend', 'shop/catalog'],
    ['shop/cart', 'shop/redis'],
    ['payments/payments-api', 'payments/postgres'],
    ['shop/frontend', 'kube-system/coredns'],
    ['payments/payments-api', `external/${DEMO_EXTERNAL.name}`],
    ['unknown/unknown', 'ingress/ingress-nginx'],
  ]) {
    const e = edge(s, d);
    assert.ok(e, `edge ${s} -> ${d} missing: ${graph.edges.map((x) => x.id).join(', ')}`);
    assert.equal(e.detail__direction, 'client-server', e.id);
    assert.ok(e.detail__request_bytes_per_s > 0 && e.detail__response_bytes_per_s > 0, JSON.stringify(e));
    assert.ok(!edge(d, s), `no reverse edge ${d} -> ${s}`);
  }
  // catalog answers with far more than it is asked.
  const fc = edge('shop/frontend', 'shop/catalog')!;
  assert.ok(fc.detail__response_bytes_per_s > 3 * fc.detail__request_bytes_per_s, JSON.stringify(fc));

  // /metrics: the seed families, labelled with the demo's apps and namespaces.
  const metrics = await (await fetch(`${base}/metrics`)).text();
  for (const a of DEMO_APPS) {
    assert.match(
      metrics,
      new RegExp(`netflow_connection_bytes\\{[^}]*(src|dst)host="${a.app}",(src|dst)namespace="${a.namespace}"`),
      `${a.namespace}/${a.app} not in /metrics`,
    );
  }
  assert.match(metrics, /netflow_connection_count\{/);
  assert.match(metrics, /netflow_connection_packets\{/);

  const fields = await fetch(`${base}/api/graph/fields`);
  assert.equal(fields.status, 200);
  const health = (await (await fetch(`${base}/api/health`)).json()) as { status: string; source: string };
  assert.deepEqual([health.status, health.source], ['ok', 'live']);

  // The map page draws the demo.
  if (existsSync(CHROMIUM)) {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    t.after(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    await page.goto(`${base}/`);
    await page.waitForFunction(() => (window as unknown as { netflowMap?: { updates: number } }).netflowMap?.updates! >= 1, undefined, {
      timeout: 20_000,
    });
    const drawn = await page.evaluate(() =>
      (window as unknown as { netflowMap: { cy: any } }).netflowMap.cy.nodes('.app').map((n: any) => n.id()),
    );
    for (const id of want) assert.ok(drawn.includes(id), `${id} not drawn`);
    await page.waitForTimeout(300);
    const dir = new URL('../../test-output/', import.meta.url).pathname;
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: `${dir}demo-map.png` });
  }

  assert.equal(await demo.stop(), 0, demo.output().err);
  assert.match(demo.output().out, /sent \d+ datagrams/);
});
