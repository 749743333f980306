import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PairStore } from '../../src/aggregate/pair-store.ts';
import { registerStoreMetrics } from '../../src/pipeline/self-metrics.ts';
import { PrometheusTextRenderer, PROMETHEUS_CONTENT_TYPE } from '../../src/export/prometheus/text.ts';
import { MetricsRegistry, registerProcessMetrics } from '../../src/observe/metrics.ts';
import { ep, rec } from '../aggregate/fixtures.ts';
import { heapAfterGc } from '../support/heap.ts';

const T0 = 1_700_000_000_000;

/** Sample lines to a map `name{labels}` → value text. */
function samples(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m.set(line.slice(0, sp), line.slice(sp + 1));
  }
  return m;
}

test('renders the seed families with exactly the seed labels', () => {
  const s = new PairStore();
  const r = new PrometheusTextRenderer(s);
  s.add(
    ep({ app: 'kube-dns', namespace: 'kube-system' }),
    ep({ app: 'task-scheduler', namespace: 'stage' }),
    'src-server',
    rec(1126274, 5710),
    T0,
  );
  const text = r.render();
  assert.equal(
    text,
    [
      '# HELP netflow_connection_count Flows seen between the source and destination (one per flow record)',
      '# TYPE netflow_connection_count counter',
      'netflow_connection_count{dsthost="task-scheduler",dstnamespace="stage",srchost="kube-dns",srcnamespace="kube-system"} 1',
      '# HELP netflow_connection_bytes Bytes sent from the source to the destination',
      '# TYPE netflow_connection_bytes counter',
      'netflow_connection_bytes{dsthost="task-scheduler",dstnamespace="stage",srchost="kube-dns",srcnamespace="kube-system"} 1126274',
      '# HELP netflow_connection_packets Packets sent from the source to the destination',
      '# TYPE netflow_connection_packets counter',
      'netflow_connection_packets{dsthost="task-scheduler",dstnamespace="stage",srchost="kube-dns",srcnamespace="kube-system"} 5710',
      '',
    ].join('\n'),
  );
  assert.equal(PROMETHEUS_CONTENT_TYPE.split(';')[0], 'text/plain');
  assert.match(PROMETHEUS_CONTENT_TYPE, /version=0\.0\.4/);
});

test('label values are escaped', () => {
  const s = new PairStore();
  const r = new PrometheusTextRenderer(s);
  s.add(ep({ app: 'AS15169 Google "Inc."', namespace: 'ext\\ernal' }), ep({ app: 'a\nb', namespace: 'x' }), 'unknown', rec(1, 1), T0);
  const m = samples(r.render());
  assert.equal(
    m.get('netflow_connection_count{dsthost="a\\nb",dstnamespace="x",srchost="AS15169 Google \\"Inc.\\"",srcnamespace="ext\\\\ernal"}'),
    '1',
  );
});

test('pairs that differ only in direction share one row unless the direction label is on', () => {
  const a = ep({ app: 'a' });
  const b = ep({ app: 'b' });
  const feed = (s: PairStore) => {
    s.add(a, b, 'src-client', rec(10, 1, { dstPort: 80 }), T0);
    s.add(a, b, 'src-server', rec(20, 2, { srcPort: 8080 }), T0);
    s.add(a, b, 'unknown', rec(40, 4), T0);
  };
  const plain = new PairStore();
  const rp = new PrometheusTextRenderer(plain);
  feed(plain);
  const m = samples(rp.render());
  assert.equal(rp.series, 1);
  assert.equal(m.get('netflow_connection_bytes{dsthost="b",dstnamespace="default",srchost="a",srcnamespace="default"}'), '70');

  const rich = new PairStore({ dims: { kind: true, protocol: true, serverPort: true } });
  const rr = new PrometheusTextRenderer(rich, { labels: { kind: true, role: true, protocol: true, serverPort: true } });
  feed(rich);
  const mr = samples(rr.render());
  assert.equal(rr.series, 3);
  assert.equal(
    mr.get(
      'netflow_connection_bytes{direction="request",dstkind="pod",dsthost="b",dstnamespace="default",protocol="tcp",serverport="80",srckind="pod",srchost="a",srcnamespace="default"}',
    ),
    '10',
  );
  assert.equal(
    mr.get(
      'netflow_connection_packets{direction="response",dstkind="pod",dsthost="b",dstnamespace="default",protocol="tcp",serverport="8080",srckind="pod",srchost="a",srcnamespace="default"}',
    ),
    '2',
  );
  assert.equal(
    mr.get(
      'netflow_connection_count{direction="unknown",dstkind="pod",dsthost="b",dstnamespace="default",protocol="tcp",serverport="0",srckind="pod",srchost="a",srcnamespace="default"}',
    ),
    '1',
  );
});

test('a shared row never goes down when one of its pairs expires', () => {
  const s = new PairStore({ seriesTtlMs: 1000 });
  const r = new PrometheusTextRenderer(s);
  const a = ep({ app: 'a' });
  const b = ep({ app: 'b' });
  const key = 'netflow_connection_bytes{dsthost="b",dstnamespace="default",srchost="a",srcnamespace="default"}';
  s.add(a, b, 'src-client', rec(10, 1), T0);
  s.add(a, b, 'src-server', rec(20, 1), T0 + 5000);
  assert.equal(samples(r.render()).get(key), '30');
  assert.equal(s.expire(T0 + 5500), 1);
  assert.equal(samples(r.render()).get(key), '30');
  s.add(a, b, 'src-client', rec(1, 1), T0 + 5600);
  assert.equal(samples(r.render()).get(key), '31');
  assert.equal(s.expire(T0 + 100_000), 2);
  assert.equal(samples(r.render()).get(key), undefined, 'the row goes with its last pair');
  assert.equal(r.series, 0);
});

test('values are exact for large counters and equal the store', () => {
  const s = new PairStore();
  const r = new PrometheusTextRenderer(s);
  const a = ep({ app: 'a' });
  const b = ep({ app: 'b' });
  s.add(a, b, 'unknown', rec(2 ** 52, 2 ** 40), T0);
  s.add(a, b, 'unknown', rec(2 ** 52 - 1, 1), T0);
  const m = samples(r.render());
  assert.equal(
    m.get('netflow_connection_bytes{dsthost="b",dstnamespace="default",srchost="a",srcnamespace="default"}'),
    String(2 ** 53 - 1),
  );
  assert.equal(
    m.get('netflow_connection_packets{dsthost="b",dstnamespace="default",srchost="a",srcnamespace="default"}'),
    String(2 ** 40 + 1),
  );
});

test('the overflow pair renders as one row labelled overflow', () => {
  const s = new PairStore({ maxSeries: 1 });
  const r = new PrometheusTextRenderer(s, { labels: { kind: true, role: true, protocol: true, serverPort: true } });
  const b = ep({ app: 'b' });
  s.add(ep({ app: 'a1' }), b, 'src-client', rec(1, 1), T0);
  s.add(ep({ app: 'a2' }), b, 'src-client', rec(2, 1), T0);
  s.add(ep({ app: 'a3' }), b, 'src-client', rec(4, 1), T0);
  const m = samples(r.render());
  assert.equal(
    m.get(
      'netflow_connection_bytes{direction="unknown",dstkind="unknown",dsthost="overflow",dstnamespace="overflow",protocol="unknown",serverport="unknown",srckind="unknown",srchost="overflow",srcnamespace="overflow"}',
    ),
    '6',
  );
});

test('promtool complains about nothing but the seed names', () => {
  const reg = new MetricsRegistry();
  const pm = registerProcessMetrics(reg);
  const s = new PairStore({ dims: { kind: true, protocol: true, serverPort: true } });
  registerStoreMetrics(reg, s);
  reg.counter('datagrams_received', 'Datagrams received per exporter', ['exporter']).labels('10.0.0.1').inc(3);
  const r = new PrometheusTextRenderer(s, { selfMetrics: reg, labels: { kind: true, role: true, protocol: true, serverPort: true } });
  try {
    for (let i = 0; i < 50; i++) {
      s.add(
        ep({ app: `app-${i}`, namespace: 'n"s\\x' }),
        ep({ app: `db\n${i % 7}`, kind: 'service' }),
        i % 2 ? 'src-client' : 'unknown',
        rec(i * 1e6, i),
        T0,
      );
    }
    const text = r.render();
    assert.ok(text.includes('netflow_k8s_store_pairs 50\n'));
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.error, undefined, 'promtool runs (Debian package prometheus)');
    const complaints = `${check.stdout}${check.stderr}`.split('\n').filter((l) => l.trim() !== '');
    // The seed's names are fixed: counters without _total, and `_count` at the end of one of them.
    const allowed = new Set([
      'netflow_connection_count counter metrics should have "_total" suffix',
      'netflow_connection_count non-histogram and non-summary metrics should not have "_count" suffix',
      'netflow_connection_bytes counter metrics should have "_total" suffix',
      'netflow_connection_packets counter metrics should have "_total" suffix',
    ]);
    assert.ok(complaints.length > 0, 'promtool does see the seed names');
    for (const c of complaints) assert.ok(allowed.has(c.trim()), `unexpected promtool complaint: ${c}`);
  } finally {
    pm.stop();
  }
});

test('a row keeps its label string and little else: 20,000 rows', () => {
  const s = new PairStore({ level: 'pod', maxSeries: 50_000 });
  const db = ep({ app: 'postgres', namespace: 'payments' });
  for (let i = 0; i < 20_000; i++) s.add(ep({ app: `checkout-${i}`, namespace: `team-${i % 40}` }), db, 'src-client', rec(3e9 + i, 7), T0);
  const r = new PrometheusTextRenderer(s);
  // The page is made and checked in a function of its own, so that it is garbage when measured.
  const page = () =>
    /^netflow_connection_bytes\{dsthost="postgres",dstnamespace="payments",srchost="checkout-7",srcnamespace="team-7"\} 3000000007$/m.test(
      r.render(),
    );
  const before = heapAfterGc();
  assert.ok(page());
  assert.equal(r.series, 20_000);
  const perRow = (heapAfterGc() - before) / r.series;
  // Its label string (about 90 bytes), the row and its Map entry: some 200. The counts as a row's
  // fields (boxed doubles) and its label bytes as a Buffer of its own made it 400.
  assert.ok(perRow < 280, `${perRow.toFixed(0)} bytes per row`);
});
