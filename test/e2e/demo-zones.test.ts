/**
 * Zone classes in the demo, end to end: the real CLI over UDP, a sample cluster in three zones
 * with one edge to another region. /metrics answers "which apps cost the most in cross-zone
 * traffic" without PromQL, the Node Graph API colours and prices edges, and the map page (in
 * headless Chromium) shows the header total, the top senders per day and the cost view.
 * Saves a screenshot to test-output/map-zones.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startDemoProcess } from './demo-process.ts';

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

interface Edge {
  id: string;
  detail__class: string;
  detail__cost_per_hour: number;
  color: string;
}
interface Body {
  edges: Edge[];
  zones?: { gibPerHour: Record<string, number>; costPerHour: Record<string, number>; topCrossZone: { id: string }[] };
}

test('demo: zone classes on /metrics, the Node Graph API and the map page', { timeout: 120_000 }, async (t) => {
  const demo = await startDemoProcess(['--speed', '4']);
  t.after(() => demo.stop());
  const base = demo.base;
  const deadline = Date.now() + 30_000;
  let metrics = '';
  let graph: Body = { edges: [] };
  while (Date.now() < deadline) {
    metrics = await (await fetch(`${base}/metrics`)).text();
    graph = (await (await fetch(`${base}/api/graph/data`)).json()) as Body;
    if (
      /class="cross-region"/.test(metrics) &&
      /class="cross-zone"/.test(metrics) &&
      graph.edges.some((e) => e.detail__class === 'cross-region')
    )
      break;
    await new Promise((r) => setTimeout(r, 250));
  }
  // Three zones and another region, straight from the families.
  for (const z of ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'])
    assert.match(metrics, new RegExp(`netflow_zone_traffic_bytes_total\\{class="cross-zone",dst_zone="[^"]+",src_zone="${z}"\\} \\d+`));
  assert.match(metrics, /netflow_zone_traffic_bytes_total\{class="cross-region",dst_zone="us-east-1a",src_zone="eu-west-1[abc]"\} \d+/);
  assert.match(metrics, /netflow_zone_traffic_bytes_total\{class="internet",dst_zone="internet",src_zone="eu-west-1[abc]"\} \d+/);
  assert.match(
    metrics,
    /netflow_workload_traffic_bytes_total\{app="postgres",class="cross-region",direction="egress",namespace="payments"\} \d+/,
  );
  // Cost, per workload, in dollars (the demo runs with the aws preset).
  const cost = [
    ...metrics.matchAll(
      /^netflow_workload_traffic_cost_total\{app="([^"]+)",class="cross-zone",currency="USD",direction="egress",namespace="([^"]+)"\} (\S+)$/gm,
    ),
  ];
  assert.ok(cost.length >= 5, `five or more apps send cross-zone: ${cost.map((m) => m[1]).join(', ')}`);
  for (const m of cost) assert.ok(Number(m[3]) > 0, m[0]);

  const dr = graph.edges.find((e) => e.detail__class === 'cross-region')!;
  assert.equal(dr.id, 'payments/postgres->external/dr-replica');
  assert.equal(dr.color, '#9b59d0');
  assert.ok(dr.detail__cost_per_hour > 0);
  assert.ok(graph.edges.some((e) => e.detail__class === 'cross-zone' && e.color === '#e8a33d'));
  assert.ok(graph.zones && graph.zones.gibPerHour['cross-zone'] > 0 && graph.zones.costPerHour['cross-zone'] > 0);
  assert.equal(graph.zones.topCrossZone.length, 5);

  if (!existsSync(CHROMIUM)) return;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => (window as unknown as { netflowMap?: { updates: number } }).netflowMap?.updates! >= 1, undefined, {
    timeout: 20_000,
  });
  assert.match(await page.locator('#zone-total').innerText(), /^cross-zone: [\d.]+ GiB\/h, \$[\d.e-]+\/h$/);
  const top = await page.locator('#top-cost-list li').allInnerTexts();
  assert.equal(top.length, 5);
  for (const line of top) assert.match(line, /^\S+ \(\S+\): \$[\d.e-]+\/day · [\d.e-]+ GiB\/day$/);
  const edgeClasses = await page.evaluate(() =>
    (
      window as unknown as { netflowMap: { cy: { edges(): { map<T>(f: (e: { id(): string; classes(): string[] }) => T): T[] } } } }
    ).netflowMap.cy
      .edges()
      .map((e) => [e.id(), e.classes().join(' ')]),
  );
  assert.ok(
    edgeClasses.some(([id, c]) => id === 'payments/postgres->external/dr-replica' && c.includes('zc-cross-region')),
    JSON.stringify(edgeClasses),
  );
  assert.ok(edgeClasses.some(([, c]) => c.includes('zc-cross-zone')));
  // The cost view: edges labelled in money.
  const updates = await page.evaluate(() => (window as unknown as { netflowMap: { updates: number } }).netflowMap.updates);
  await page.selectOption('#view', 'cost');
  await page.waitForFunction((n) => (window as unknown as { netflowMap: { updates: number } }).netflowMap.updates > n, updates, {
    timeout: 20_000,
  });
  const labels = await page.evaluate(() =>
    (window as unknown as { netflowMap: { cy: { edges(): { map<T>(f: (e: { data(k: string): string }) => T): T[] } } } }).netflowMap.cy
      .edges()
      .map((e) => e.data('label')),
  );
  assert.ok(
    labels.every((l) => /^\$[\d.e-]+\/h$/.test(l)),
    labels.join(', '),
  );
  mkdirSync('test-output', { recursive: true });
  await page.screenshot({ path: 'test-output/map-zones.png' });
  assert.deepEqual(errors, []);
});
