/**
 * The Node Graph API's history half against a real Prometheus: it scrapes a target serving the
 * seed families (counters growing at known rates), and the API turns its answers into the graph.
 * Also checks that our escaping agrees with Prometheus's own parser, and that TLS is verified.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prometheusAvailable, startPrometheus } from '../support/prometheus.ts';
import { escapeLabelValue, PrometheusClient, PrometheusError } from '../../src/export/nodegraph/prometheus.ts';
import { NodeGraphApi } from '../../src/export/nodegraph/api.ts';
import { startNodeGraphServer } from '../../src/cli/nodegraph.ts';
import type { Graph } from '../../src/export/nodegraph/graph.ts';

const WEIRD = 'we"ird\\app\nx';

/** name, labels, bytes per second. */
const SERIES: [Record<string, string>, number][] = [
  [{ srcnamespace: 'shop', srchost: 'web', dstnamespace: 'shop', dsthost: 'api', direction: 'request' }, 1000],
  [{ srcnamespace: 'shop', srchost: 'api', dstnamespace: 'shop', dsthost: 'web', direction: 'response' }, 10000],
  [{ srcnamespace: 'shop', srchost: 'api', dstnamespace: 'shop', dsthost: 'db', direction: 'request' }, 500],
  [{ srcnamespace: 'billing', srchost: 'api', dstnamespace: 'shop', dsthost: 'db' }, 700],
  [{ srcnamespace: 'shop', srchost: 'web', dstnamespace: 'external', dsthost: 'AS15169 Google Inc.', direction: 'unknown' }, 300],
  [{ srcnamespace: 'shop', srchost: WEIRD, dstnamespace: 'shop', dsthost: 'db' }, 10],
];

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function serveMetrics(): Promise<{ server: Server; port: number }> {
  const t0 = Date.now();
  const server = createHttpServer((_req, res) => {
    const s = (Date.now() - t0) / 1000;
    const lines: string[] = [];
    for (const [family, scale] of [
      ['netflow_connection_bytes', 1],
      ['netflow_connection_packets', 0.01],
      ['netflow_connection_count', 0.001],
    ] as const) {
      lines.push(`# TYPE ${family} counter`);
      for (const [labels, bps] of SERIES) {
        const l = Object.entries(labels)
          .map(([k, v]) => `${k}="${esc(v)}"`)
          .join(',');
        lines.push(`${family}{${l}} ${Math.round(bps * scale * s * 1000) / 1000}`);
      }
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n') + '\n');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })),
  );
}

test('history from a real Prometheus: nodes per namespace+app, merged client→server edges, filters, offset, escaping', {
  skip: !prometheusAvailable() && 'prometheus not installed',
}, async (t) => {
  const { server, port } = await serveMetrics();
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const prom = await startPrometheus({ targets: [`127.0.0.1:${port}`] });
  t.after(() => prom.stop());
  await prom.waitFor('rate(netflow_connection_bytes[1m])', (s) => s.length === SERIES.length, 60_000);

  const client = new PrometheusClient({ url: prom.url });
  const api = new NodeGraphApi({ prometheus: client });
  assert.equal(api.source, 'prometheus');
  const now = Date.now();
  const g: Graph = await api.graph(new URLSearchParams(`from=${now - 300_000}&to=${now}`));

  const ids = g.nodes.map((n) => n.id);
  assert.deepEqual(ids, ['billing/api', 'external/AS15169 Google Inc.', 'shop/api', 'shop/db', `shop/${WEIRD}`, 'shop/web']);
  assert.equal(g.nodes.filter((n) => n.title === 'api').length, 2);

  const webApi = g.edges.find((e) => e.id === 'shop/web->shop/api');
  assert.ok(webApi, JSON.stringify(g.edges.map((e) => e.id)));
  assert.equal(webApi.detail__direction, 'client-server');
  assert.ok(webApi.detail__request_bytes_per_s > 0);
  // Same window and extrapolation for both halves: the 1:10 ratio of the counters survives.
  const ratio = webApi.detail__response_bytes_per_s / webApi.detail__request_bytes_per_s;
  assert.ok(ratio > 8 && ratio < 12, `response/request = ${ratio}`);
  assert.ok(webApi.detail__packets_per_s > 0 && webApi.detail__flows_per_s > 0);
  assert.ok(!g.edges.some((e) => e.id === 'shop/api->shop/web'), 'responses folded into the client → server edge');
  assert.ok(g.edges.some((e) => e.id === 'billing/api->shop/db' && e.detail__direction === 'source-destination'));
  assert.equal(new Set(g.edges.map((e) => e.id)).size, g.edges.length);

  // Filters apply to the drawn edge, the response half included.
  const f = await api.graph(new URLSearchParams('srcnamespace=shop&dstnamespace=shop'));
  assert.deepEqual(f.edges.map((e) => e.id).sort(), ['shop/api->shop/db', 'shop/web->shop/api', `shop/${WEIRD}->shop/db`].sort());
  const fr = f.edges.find((e) => e.id === 'shop/web->shop/api')!;
  assert.ok(fr.detail__response_bytes_per_s > 0);
  const onlyBilling = await api.graph(new URLSearchParams('srcnamespace=billing'));
  assert.deepEqual(
    onlyBilling.edges.map((e) => e.id),
    ['billing/api->shop/db'],
  );

  // A window that ended an hour ago, before this Prometheus existed: an empty graph, not an error.
  const old = await api.graph(new URLSearchParams(`from=${now - 7_200_000}&to=${now - 3_600_000}`));
  assert.deepEqual(old, { nodes: [], edges: [] });

  // Our escaping is Prometheus's: the weird value selects exactly its own series.
  const exact = await client.query(`netflow_connection_bytes{srchost="${escapeLabelValue(WEIRD)}"}`, Date.now() / 1000);
  assert.equal(exact.length, 1);
  assert.equal(exact[0].metric.srchost, WEIRD);
  // A value built to break out of the quotes stays a (non-matching) value.
  const hostile = 'x"} or vector(1) or up{a="';
  const none = await client.query(`netflow_connection_bytes{srchost="${escapeLabelValue(hostile)}"}`, Date.now() / 1000);
  assert.deepEqual(none, []);
  // A hostile filter never reaches Prometheus.
  await assert.rejects(api.graph(new URLSearchParams({ srcnamespace: hostile })), /not a namespace/);

  // The standalone `nodegraph` server answers the same over HTTP, with the map page.
  const standalone = await startNodeGraphServer({ http: { host: '127.0.0.1', port: 0 }, prometheusUrl: prom.url, logLevel: 'silent' });
  t.after(() => standalone.stop());
  const base = `http://127.0.0.1:${standalone.port}`;
  const health = await fetch(`${base}/api/health`);
  assert.equal(health.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(((await health.json()) as { source: string }).source, 'prometheus');
  const viaHttp = (await (await fetch(`${base}/api/graph/data?from=${now - 300_000}&to=${now}&srcnamespace=billing`)).json()) as Graph;
  assert.deepEqual(
    viaHttp.edges.map((e) => e.id),
    ['billing/api->shop/db'],
  );
  const bad = await fetch(`${base}/api/graph/data?dstnamespace=${encodeURIComponent(hostile)}`);
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  const page = await fetch(`${base}/`);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  await page.body?.cancel();
});

test('nodegraph command: --prometheus-url is required', async () => {
  const { main } = await import('../../src/cli/main.ts');
  const write = process.stderr.write;
  let errText = '';
  process.stderr.write = ((chunk: string) => {
    errText += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    assert.equal(await main(['nodegraph', '--http', '127.0.0.1:0']), 2);
  } finally {
    process.stderr.write = write;
  }
  assert.match(errText, /prometheus-url is required/);
});

test('Prometheus client: bearer token from its file, errors reported, TLS verified against the CA file', {
  skip: spawnSync('openssl', ['version']).error !== undefined && 'openssl not installed',
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodegraph-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const gen = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'pipe' },
  );
  assert.equal(gen.status, 0, gen.stderr.toString());
  writeFileSync(join(dir, 'token'), 's3cret-token\n');
  const seen: string[] = [];
  const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
    seen.push(String(req.headers.authorization));
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const q = new URLSearchParams(body).get('query');
      const answer =
        q === 'vector(1)'
          ? { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [0, '1'] }] } }
          : { status: 'error', errorType: 'bad_data', error: 'parse error' };
      res.writeHead(q === 'vector(1)' ? 200 : 400, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/prometheus`;

  // Without the CA the self-signed certificate is refused.
  const untrusted = new PrometheusClient({ url });
  await assert.rejects(untrusted.query('vector(1)', 0), PrometheusError);
  assert.equal(seen.length, 0);

  const trusted = new PrometheusClient({ url, caFile: join(dir, 'cert.pem'), bearerTokenFile: join(dir, 'token') });
  const r = await trusted.query('vector(1)', 0);
  assert.deepEqual(r, [{ metric: {}, value: 1 }]);
  assert.deepEqual(seen, ['Bearer s3cret-token']);
  await assert.rejects(trusted.query('sum(', 0), /parse error/);
  assert.throws(() => new PrometheusClient({ url: 'ftp://x' }), PrometheusError);
});
