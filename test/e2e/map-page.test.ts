/**
 * The map page in headless Chromium (Debian's /usr/bin/chromium via playwright-core): it loads
 * from our HTTP server with Cytoscape.js served from the package, draws the expected nodes and
 * edges for a known scenario, and its filters, search and details work. Saves a screenshot to
 * test-output/map-page.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { HttpServer } from '../../src/observe/http.ts';
import { NodeGraphApi } from '../../src/export/nodegraph/api.ts';
import { LiveWindow, type PairSource, type PairVisitor } from '../../src/export/nodegraph/live.ts';
import { mountMapPage } from '../../src/export/map-page/serve.ts';
import type { Role } from '../../src/identify/endpoint.ts';
import { PrometheusClient } from '../../src/export/nodegraph/prometheus.ts';
import { prometheusAvailable, startPrometheus } from '../support/prometheus.ts';

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

/** pairs: src, dst, role, bytes (cumulative; the test's clock makes them per 60 s). */
const SCENARIO: [string, string, Role, number, string?, string?][] = [
  ['unknown/unknown', 'web/gateway', 'src-client', 60_000, 'unknown', 'pod'],
  ['web/gateway', 'unknown/unknown', 'src-server', 900_000, 'pod', 'unknown'],
  ['web/gateway', 'shop/api', 'src-client', 120_000],
  ['shop/api', 'web/gateway', 'src-server', 1_200_000],
  ['shop/api', 'shop/db', 'src-client', 30_000],
  ['shop/db', 'shop/api', 'src-server', 300_000],
  ['billing/api', 'shop/db', 'unknown', 6_000],
  ['billing/api', 'external/partner-api', 'src-client', 12_000, 'pod', 'external'],
  ['external/partner-api', 'billing/api', 'src-server', 9_000, 'external', 'pod'],
];

class Fixed implements PairSource {
  forEachPair(visit: PairVisitor): void {
    for (const [s, d, role, bytes, sk, dk] of SCENARIO) {
      const [sn, sa] = s.split('/');
      const [dn, da] = d.split('/');
      visit(
        { namespace: sn, app: sa, kind: sk ?? 'pod' },
        { namespace: dn, app: da, kind: dk ?? 'pod' },
        role,
        Math.ceil(bytes / 10_000),
        bytes,
        Math.ceil(bytes / 1000),
      );
    }
  }
}

test('map page: draws the scenario, filters, searches and shows details', {
  skip: !existsSync(CHROMIUM) && 'chromium not installed',
}, async (t) => {
  // The store "started" a minute before a clock that then stands still: rates are counts / 60 s.
  const t1 = Date.now();
  let first = true;
  const live = new LiveWindow(new Fixed(), { now: () => (first ? ((first = false), t1 - 60_000) : t1) });
  const server = new HttpServer();
  new NodeGraphApi({ live, now: () => t1 }).mount(server);
  mountMapPage(server);
  const addr = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());
  const base = `http://127.0.0.1:${addr.port}`;

  // The page's own files, with their content types; Cytoscape comes from the package, not a CDN.
  for (const [path, type] of [
    ['/', 'text/html'],
    ['/map.js', 'text/javascript'],
    ['/map.css', 'text/css'],
    ['/vendor/cytoscape.min.js', 'text/javascript'],
  ]) {
    const r = await fetch(base + path);
    assert.equal(r.status, 200, path);
    assert.ok(r.headers.get('content-type')?.startsWith(type), `${path}: ${r.headers.get('content-type')}`);
    const text = await r.text();
    assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(path === '/' ? text : ''), 'no external URLs in the page');
  }

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 }, deviceScaleFactor: 1 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const external: string[] = [];
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (!u.startsWith(base)) {
      external.push(u);
      return route.abort();
    }
    return route.continue();
  });
  await page.goto(base + '/');
  await page.waitForFunction(() => (window as unknown as { netflowMap?: { updates: number } }).netflowMap?.updates! >= 1, undefined, {
    timeout: 20_000,
  });

  type CyState = { apps: string[]; parents: string[]; edges: [string, string, string, string][]; classes: Record<string, string> };
  const state = await page.evaluate((): CyState => {
    const cy = (window as unknown as { netflowMap: { cy: any } }).netflowMap.cy;
    return {
      apps: cy
        .nodes('.app')
        .map((n: any) => n.id())
        .sort(),
      parents: cy
        .nodes('.namespace')
        .map((n: any) => n.id())
        .sort(),
      edges: cy
        .edges()
        .map((e: any) => [e.source().id(), e.target().id(), e.data('label'), e.classes().join(' ')])
        .sort(),
      classes: Object.fromEntries(cy.nodes('.app').map((n: any) => [n.id(), n.classes().join(' ')])),
    };
  });
  assert.deepEqual(state.apps, ['billing/api', 'external/partner-api', 'shop/api', 'shop/db', 'unknown/unknown', 'web/gateway']);
  assert.deepEqual(state.parents, ['ns:billing', 'ns:external', 'ns:shop', 'ns:unknown', 'ns:web']);
  // Client → server, both halves on one edge, with bytes/s as the label.
  assert.deepEqual(
    state.edges.map(([s, d]) => `${s}->${d}`),
    [
      'billing/api->external/partner-api',
      'billing/api->shop/db',
      'shop/api->shop/db',
      'unknown/unknown->web/gateway',
      'web/gateway->shop/api',
    ],
  );
  const gw = state.edges.find(([s, d]) => s === 'web/gateway' && d === 'shop/api')!;
  assert.equal(gw[2], '22.0 kB/s'); // (120,000 + 1,200,000) B / 60 s
  assert.match(state.edges.find(([s, d]) => s === 'billing/api' && d === 'shop/db')![3], /unknown-role/);
  assert.match(state.classes['external/partner-api'], /external/);
  assert.match(state.classes['unknown/unknown'], /unknown/);
  // Every app node sits inside its namespace.
  const parentsOk = await page.evaluate(() => {
    const cy = (window as unknown as { netflowMap: { cy: any } }).netflowMap.cy;
    return cy.nodes('.app').every((n: any) => n.parent().id() === `ns:${n.data('namespace')}`);
  });
  assert.ok(parentsOk);

  await page.screenshot({ path: screenshotPath() });

  // Click a node: its details.
  const pos = await page.evaluate(() => {
    const cy = (window as unknown as { netflowMap: { cy: any } }).netflowMap.cy;
    const p = cy.getElementById('shop/api').renderedPosition();
    const box = cy.container().getBoundingClientRect();
    return { x: box.left + p.x, y: box.top + p.y };
  });
  await page.mouse.click(pos.x, pos.y);
  await page.waitForSelector('#details:not([hidden])');
  const details = await page.textContent('#details');
  assert.match(details!, /api/);
  assert.match(details!, /workload|pod/);
  assert.match(details!, /Called by/);
  assert.match(details!, /gateway/);
  assert.match(details!, /Calls/);
  await page.screenshot({ path: screenshotPath('map-page-details.png') });
  await page.click('#close');
  assert.equal(await page.isHidden('#details'), true);

  // Search: matches stand out, the rest fades.
  await page.fill('#search', 'gateway');
  const faded = await page.evaluate(() => {
    const cy = (window as unknown as { netflowMap: { cy: any } }).netflowMap.cy;
    return {
      match: cy.nodes('.match').map((n: any) => n.id()),
      faded: cy
        .nodes('.app.faded')
        .map((n: any) => n.id())
        .sort(),
    };
  });
  assert.deepEqual(faded.match, ['web/gateway']);
  assert.deepEqual(faded.faded, ['billing/api', 'external/partner-api', 'shop/db']);
  await page.fill('#search', '');

  // Namespace filter: hiding `shop` hides its apps and their edges.
  // A DOM click: the chip is found and clicked in one step, so a refresh landing in between cannot move it.
  await page.$eval('#namespaces .chip[data-namespace="shop"]', (el) => (el as HTMLElement).click());
  assert.match((await page.getAttribute('#namespaces .chip[data-namespace="shop"]', 'class'))!, /\boff\b/);
  const hidden = await page.evaluate(() => {
    const cy = (window as unknown as { netflowMap: { cy: any } }).netflowMap.cy;
    // The computed display, not `:visible`, whose answer Cytoscape may cache until its next frame.
    const shown = (e: any) => e.style('display') !== 'none';
    return {
      nodes: cy
        .nodes('.app')
        .filter(shown)
        .map((n: any) => n.id())
        .sort(),
      edges: cy.edges().filter(shown).length,
    };
  });
  assert.deepEqual(hidden.nodes, ['billing/api', 'external/partner-api', 'unknown/unknown', 'web/gateway']);
  assert.equal(hidden.edges, 2);

  // No time picker beyond the live window without Prometheus.
  assert.equal(await page.isHidden('#ago-ctl'), true);
  const windows = await page.$$eval('#window option', (os) => os.map((o) => (o as HTMLOptionElement).value));
  assert.deepEqual(windows, ['60', '300', '900']);

  assert.deepEqual(errors, []);
  assert.deepEqual(external, []);
});

test('map page with Prometheus: a history picker whose choice moves the asked window', {
  skip: (!existsSync(CHROMIUM) && 'chromium not installed') || (!prometheusAvailable() && 'prometheus not installed'),
}, async (t) => {
  const prom = await startPrometheus({ targets: [] });
  t.after(() => prom.stop());
  const server = new HttpServer();
  new NodeGraphApi({ prometheus: new PrometheusClient({ url: prom.url }) }).mount(server);
  mountMapPage(server);
  const addr = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());
  const base = `http://127.0.0.1:${addr.port}`;

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const asked: URL[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/graph/data')) asked.push(new URL(r.url()));
  });
  await page.goto(base + '/');
  await page.waitForFunction(() => (window as unknown as { netflowMap?: { updates: number } }).netflowMap?.updates! >= 1, undefined, {
    timeout: 20_000,
  });

  assert.equal(await page.isVisible('#ago-ctl'), true);
  const windows = await page.$$eval('#window option', (os) => os.map((o) => (o as HTMLOptionElement).value));
  assert.deepEqual(windows, ['60', '300', '900', '3600', '21600', '86400']);
  assert.match((await page.textContent('#status'))!, /Prometheus/);
  // Nothing scraped yet: an empty map says so.
  assert.equal(await page.isVisible('#empty'), true);

  const first = asked[0];
  assert.equal(Number(first.searchParams.get('to')) - Number(first.searchParams.get('from')), 300_000);
  await page.selectOption('#window', '3600');
  await page.selectOption('#ago', '86400');
  await page.waitForFunction(() => (window as unknown as { netflowMap: { updates: number } }).netflowMap.updates >= 3, undefined, {
    timeout: 20_000,
  });
  const last = asked[asked.length - 1];
  const to = Number(last.searchParams.get('to'));
  const from = Number(last.searchParams.get('from'));
  assert.equal(to - from, 3_600_000);
  assert.ok(Math.abs(Date.now() - 86_400_000 - to) < 60_000, `window ends a day ago (${new Date(to).toISOString()})`);
  assert.equal(await page.evaluate(() => (window as unknown as { netflowMap: { error: string | null } }).netflowMap.error), null);
  assert.deepEqual(errors, []);
});

test('map page: a big graph shows its busiest edges and says so', {
  skip: !existsSync(CHROMIUM) && 'chromium not installed',
}, async (t) => {
  const t1 = Date.now();
  let first = true;
  // 2,000 pairs between 400 apps in 20 namespaces; pair i carries (i + 1) kB.
  const big: PairSource = {
    forEachPair(visit) {
      for (let i = 0; i < 2000; i++) {
        const a = i % 400;
        const b = (i * 7 + 1 + Math.floor(i / 400)) % 400;
        visit(
          { namespace: `ns-${a % 20}`, app: `app-${a}` },
          { namespace: `ns-${b % 20}`, app: `app-${b}` },
          'src-client',
          1,
          (i + 1) * 1000,
          1,
        );
      }
    },
  };
  const live = new LiveWindow(big, { now: () => (first ? ((first = false), t1 - 60_000) : t1) });
  const server = new HttpServer();
  new NodeGraphApi({ live, now: () => t1 }).mount(server);
  mountMapPage(server);
  const addr = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${addr.port}/`);
  await page.waitForFunction(() => (window as unknown as { netflowMap?: { updates: number } }).netflowMap?.updates! >= 1, undefined, {
    timeout: 60_000,
  });
  const drawn = await page.evaluate(() => {
    const cy = (window as unknown as { netflowMap: { cy: any } }).netflowMap.cy;
    const edges = cy.edges().map((e: any) => e.data('raw').mainstat as number);
    return {
      edges: edges.length,
      min: Math.min(...edges),
      orphans: cy.nodes('.app').filter((n: any) => n.connectedEdges().length === 0).length,
    };
  });
  assert.equal(drawn.edges, 600);
  // The busiest 600 of pairs carrying 1..2000 kB per minute: the smallest kept carries 1,401 kB.
  assert.ok(Math.abs(drawn.min - 1_401_000 / 60) < 1, String(drawn.min));
  assert.equal(drawn.orphans, 0, 'only apps on a kept edge are drawn');
  assert.match((await page.textContent('#status'))!, /busiest 600 of 2000 edges/);
  assert.deepEqual(errors, []);
});

function screenshotPath(name = 'map-page.png'): string {
  const dir = new URL('../../test-output/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  return dir + name;
}
