/**
 * /metrics as exporters serve it: OpenMetrics 1.0.0 when the Accept header ranks it first,
 * with every sample name unchanged (the seed families as `unknown`, self-metric counters as
 * families without `_total`), gzip when Accept-Encoding allows, and promtool's verdict on both
 * pages. A real Prometheus parses both formats in test/e2e/run-scrape-formats.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { PairStore } from '../../src/aggregate/pair-store.ts';
import { registerStoreMetrics } from '../../src/pipeline/self-metrics.ts';
import { PrometheusTextRenderer, PROMETHEUS_CONTENT_TYPE } from '../../src/export/prometheus/text.ts';
import { negotiateFormat, OPENMETRICS_CONTENT_TYPE, toOpenMetrics } from '../../src/export/prometheus/openmetrics.ts';
import { metricsHandler } from '../../src/export/prometheus/endpoint.ts';
import { acceptsGzip } from '../../src/observe/http-gzip.ts';
import { HttpServer } from '../../src/observe/http.ts';
import { MetricsRegistry } from '../../src/observe/metrics.ts';
import { ep, rec } from '../aggregate/fixtures.ts';

const T0 = 1_700_000_000_000;
/** What Prometheus 2.x sends. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

function page(): string {
  const reg = new MetricsRegistry();
  const s = new PairStore({});
  registerStoreMetrics(reg, s);
  reg.counter('datagrams_received', 'Datagrams "received" per exporter', ['exporter']).labels('10.0.0.1').inc(3);
  for (let i = 0; i < 20; i++)
    s.add(ep({ app: `app-${i}`, namespace: 'n"s\\x' }), ep({ app: `db\n${i % 7}` }), 'src-client', rec(i * 1e6, i), T0);
  return new PrometheusTextRenderer(s, { selfMetrics: reg }).render();
}

const sampleNames = (text: string) =>
  text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/[{ ].*$/, ''));

test('Accept: OpenMetrics 1.0.0 or unversioned when ranked first, else the classic format', () => {
  assert.equal(negotiateFormat(PROMETHEUS_ACCEPT), 'openmetrics');
  // Prometheus 3 (escaping parameters, protobuf first when native histograms are on).
  assert.equal(
    negotiateFormat(
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    ),
    'openmetrics',
  );
  assert.equal(negotiateFormat('text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3'), 'classic');
  assert.equal(negotiateFormat(undefined), 'classic');
  assert.equal(negotiateFormat('*/*'), 'classic');
  assert.equal(negotiateFormat('text/plain;version=0.0.4'), 'classic');
  assert.equal(negotiateFormat('application/openmetrics-text'), 'openmetrics');
  assert.equal(negotiateFormat('text/plain;q=0.9, application/openmetrics-text;version=1.0.0'), 'openmetrics');
  assert.equal(negotiateFormat('application/openmetrics-text;version=1.0.0;q=0.4, text/plain;q=0.5'), 'classic');
  assert.equal(negotiateFormat('application/openmetrics-text;version=0.0.1, text/plain;q=0.5'), 'classic', 'only 1.0.0 is spoken');
  assert.equal(negotiateFormat('application/openmetrics-text;version=1.0.0;q=0'), 'classic');
});

test('Accept-Encoding: gzip unless refused with q=0', () => {
  assert.equal(acceptsGzip('gzip'), true);
  assert.equal(acceptsGzip('deflate, gzip;q=0.5'), true);
  assert.equal(acceptsGzip('gzip;q=0'), false);
  assert.equal(acceptsGzip('*'), true);
  assert.equal(acceptsGzip('*, gzip;q=0'), false);
  assert.equal(acceptsGzip('identity'), false);
  assert.equal(acceptsGzip(undefined), false);
});

test('OpenMetrics keeps every sample name and value; the seed families are unknown, self counters lose _total from the family only', () => {
  const classic = page();
  const om = toOpenMetrics(classic);
  assert.deepEqual(sampleNames(om), sampleNames(classic));
  assert.deepEqual(
    om.split('\n').filter((l) => l && !l.startsWith('#')),
    classic.split('\n').filter((l) => l && !l.startsWith('#')),
  );
  assert.ok(om.endsWith('\n# EOF\n'));
  assert.equal(om.indexOf('# EOF'), om.length - 6, 'one EOF, at the end');
  for (const f of ['netflow_connection_count', 'netflow_connection_bytes', 'netflow_connection_packets']) {
    assert.match(om, new RegExp(`# TYPE ${f} unknown\n`));
  }
  assert.match(
    om,
    /# HELP netflow_k8s_datagrams_received Datagrams \\"received\\" per exporter\n# TYPE netflow_k8s_datagrams_received counter\nnetflow_k8s_datagrams_received_total\{exporter="10.0.0.1"\} 3\n/,
  );
  assert.doesNotMatch(om, /# TYPE \S+_total counter/);
  assert.match(om, /# TYPE netflow_k8s_store_pairs gauge\n/);
});

// promtool check metrics (Debian's 2.42) parses the classic format only: it stops at an OpenMetrics
// `unknown` TYPE. The OpenMetrics page is checked by a real Prometheus's parser instead
// (test/e2e/run-scrape-formats.test.ts).
test('promtool: the classic page draws complaints about the seed names only', () => {
  const classic = page();
  const allowed = new Set([
    'netflow_connection_count counter metrics should have "_total" suffix',
    'netflow_connection_count non-histogram and non-summary metrics should not have "_count" suffix',
    'netflow_connection_bytes counter metrics should have "_total" suffix',
    'netflow_connection_packets counter metrics should have "_total" suffix',
  ]);
  for (const text of [classic]) {
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.error, undefined, 'promtool runs (Debian package prometheus)');
    for (const c of `${check.stdout}${check.stderr}`.split('\n').filter((l) => l.trim() !== ''))
      assert.ok(allowed.has(c.trim()), `unexpected promtool complaint: ${c}`);
  }
});

function fetchRaw(
  port: number,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', headers, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

test('served over HTTP: the format by Accept, gzip by Accept-Encoding, HEAD without a body', async (t) => {
  const text = page();
  const server = new HttpServer().route(
    'GET',
    '/metrics',
    metricsHandler((w) => w.text(text)),
  );
  const { port } = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());

  const plain = await fetchRaw(port, {});
  assert.equal(plain.headers['content-type'], PROMETHEUS_CONTENT_TYPE);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), text);

  const gz = await fetchRaw(port, { 'accept-encoding': 'gzip', accept: PROMETHEUS_ACCEPT });
  assert.equal(gz.headers['content-type'], OPENMETRICS_CONTENT_TYPE);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers.vary, 'Accept, Accept-Encoding');
  assert.equal(Number(gz.headers['content-length']), gz.body.length);
  assert.equal(gunzipSync(gz.body).toString(), toOpenMetrics(text));
  assert.ok(gz.body.length < text.length / 3, 'compressed');

  const head = await fetchRaw(port, { 'accept-encoding': 'gzip' }, 'HEAD');
  assert.equal(head.body.length, 0);
});

test('the page buffer is reused only once a response is done: overlapping and shrinking pages come out whole', async (t) => {
  let n = 0;
  // Each page differs in length and content, so a reused buffer's stale tail or an overwrite would show.
  const pageOf = (k: number) => `# page ${k}\n${'x'.repeat(((k * 7919) % 5) * 300_000)}end ${k}\n`;
  const server = new HttpServer().route(
    'GET',
    '/metrics',
    metricsHandler((w) => w.text(pageOf(n++))),
  );
  const { port } = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());
  const got = await Promise.all(Array.from({ length: 6 }, () => fetchRaw(port, {})));
  for (let k = 0; k < 6; k++) got.push(await fetchRaw(port, k % 2 ? { 'accept-encoding': 'gzip' } : {}));
  const bodies = got.map((r) => (r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.body) : r.body).toString());
  const expected = new Set(Array.from({ length: 12 }, (_, k) => pageOf(k)));
  for (const b of bodies) assert.ok(expected.has(b), `a whole page (got ${b.length} bytes, starting ${JSON.stringify(b.slice(0, 12))})`);
  assert.equal(new Set(bodies).size, 12, 'every scrape its own page');
});
