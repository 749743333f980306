import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregationTemporality, DataPointType, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import { PairStore } from '../../src/aggregate/pair-store.ts';
import { StoreMetricProducer, SelfMetricProducer } from '../../src/export/otel/producer.ts';
import { buildResource } from '../../src/export/otel/resource.ts';
import { OtelPrometheus } from '../support/otel-prometheus-reference.ts';
import { MetricsRegistry } from '../../src/observe/metrics.ts';
import { ep, rec } from '../aggregate/fixtures.ts';
import { heapAfterGc } from '../support/heap.ts';

const T0 = 1_700_000_000_000;

function podStore() {
  const s = new PairStore({ level: 'pod', dims: { protocol: true, serverPort: true } });
  const web = ep({ kind: 'pod', namespace: 'shop', name: 'web-1', app: 'web', ownerKind: 'Deployment', ownerName: 'web', nodeName: 'n1' });
  const db = ep({ kind: 'pod', namespace: 'data', name: 'db-0', app: 'db', ownerKind: 'StatefulSet', ownerName: 'db', nodeName: 'n2' });
  const ext = ep({ kind: 'external', namespace: '', name: 'AS15169 Google', app: 'AS15169 Google' });
  s.add(web, db, 'src-client', rec(1000, 10, { proto: 6, srcPort: 40000, dstPort: 5432 }), T0);
  s.add(web, db, 'src-client', rec(500, 5, { proto: 6, srcPort: 40001, dstPort: 5432 }), T0 + 10);
  s.add(db, web, 'src-server', rec(9000, 8, { proto: 6, srcPort: 5432, dstPort: 40000 }), T0 + 20);
  s.add(web, ext, 'unknown', rec(7, 1, { proto: 17 }), T0 + 30);
  return { s, web, db, ext };
}

test('the producer builds cumulative sums with OBI-style attributes straight from the store', async () => {
  const { s, web, db } = podStore();
  const res = await new StoreMetricProducer(s).collect();
  assert.deepEqual(res.errors, []);
  const metrics = res.resourceMetrics.scopeMetrics[0].metrics as SumMetricData[];
  assert.deepEqual(
    metrics.map((m) => [m.descriptor.name, m.descriptor.unit]),
    [
      ['netflow.connection.count', '{flow}'],
      ['netflow.connection.bytes', 'By'],
      ['netflow.connection.packets', '{packet}'],
    ],
  );
  for (const m of metrics) {
    assert.equal(m.dataPointType, DataPointType.SUM);
    assert.equal(m.aggregationTemporality, AggregationTemporality.CUMULATIVE);
    assert.equal(m.isMonotonic, true);
    assert.equal(m.dataPoints.length, 3);
  }
  const bytes = metrics[1].dataPoints;
  const req = bytes.find((p) => p.attributes.direction === 'request')!;
  assert.deepEqual(req.attributes, {
    'k8s.src.namespace': 'shop',
    'k8s.src.name': 'web-1',
    'k8s.src.type': 'Pod',
    'k8s.src.owner.name': 'web',
    'k8s.src.owner.type': 'Deployment',
    'k8s.src.node.name': 'n1',
    'k8s.dst.namespace': 'data',
    'k8s.dst.name': 'db-0',
    'k8s.dst.type': 'Pod',
    'k8s.dst.owner.name': 'db',
    'k8s.dst.owner.type': 'StatefulSet',
    'k8s.dst.node.name': 'n2',
    direction: 'request',
    'network.transport': 'tcp',
    'server.port': 5432,
  });
  assert.equal(req.value, 1500);
  assert.equal(hrTimeToMilliseconds(req.startTime), T0, 'start time is when the pair was first counted');
  const resp = bytes.find((p) => p.attributes.direction === 'response')!;
  assert.equal(resp.attributes['k8s.src.name'], 'db-0');
  assert.equal(resp.value, 9000);
  const ext = bytes.find((p) => p.attributes['k8s.dst.type'] === 'External')!;
  assert.equal(ext.attributes.direction, undefined, 'no direction where the role is unknown');
  assert.equal(ext.attributes['k8s.dst.name'], 'AS15169 Google');
  assert.equal(ext.attributes['network.transport'], 'udp');
  // Values equal the store, pair by pair.
  for (const p of s.pairs) {
    const at = metrics.map((m) => m.dataPoints.find((d) => d.attributes === p.otelCache)!.value);
    assert.deepEqual(at, [p.flows, p.bytes, p.packets]);
  }
  // The attribute object is built once per pair and reused.
  const again = await new StoreMetricProducer(s).collect();
  assert.equal(
    (again.resourceMetrics.scopeMetrics[0].metrics[1] as SumMetricData).dataPoints.find((d) => d.attributes.direction === 'request')!
      .attributes,
    req.attributes,
  );
  assert.ok(web && db);
});

test('at the app level the attributes are what the level keeps', async () => {
  const s = new PairStore();
  s.add(
    ep({ app: 'web', namespace: 'shop', name: 'web-1', nodeName: 'n1' }),
    ep({ app: 'db', namespace: 'data' }),
    'unknown',
    rec(1, 1),
    T0,
  );
  const m = (await new StoreMetricProducer(s).collect()).resourceMetrics.scopeMetrics[0].metrics[0] as SumMetricData;
  assert.deepEqual(m.dataPoints[0].attributes, {
    'k8s.src.namespace': 'shop',
    'k8s.src.name': 'web',
    'k8s.dst.namespace': 'data',
    'k8s.dst.name': 'db',
  });
});

test('delta temporality reports what changed since the last collection', async () => {
  const { s, web, db } = podStore();
  const prod = new StoreMetricProducer(s, { temporality: AggregationTemporality.DELTA });
  const first = (await prod.collect()).resourceMetrics.scopeMetrics[0].metrics[1] as SumMetricData;
  assert.equal(first.aggregationTemporality, AggregationTemporality.DELTA);
  assert.equal(
    first.dataPoints.reduce((a, p) => a + p.value, 0),
    1500 + 9000 + 7,
  );
  const none = (await prod.collect()).resourceMetrics.scopeMetrics[0].metrics[1] as SumMetricData;
  assert.equal(none.dataPoints.length, 0);
  s.add(web, db, 'src-client', rec(25, 1, { proto: 6, dstPort: 5432 }), T0 + 100);
  const next = (await prod.collect()).resourceMetrics.scopeMetrics[0].metrics[1] as SumMetricData;
  assert.equal(next.dataPoints.length, 1);
  assert.equal(next.dataPoints[0].value, 25);
});

test('self-metrics go through the same path: counters as sums without _total, gauges as gauges', async () => {
  const reg = new MetricsRegistry();
  reg.counter('datagrams_received', 'Datagrams', ['exporter']).labels('10.0.0.1').inc(4);
  reg.gauge('records_held', 'Held').set(3);
  const res = await new SelfMetricProducer(reg).collect();
  const ms = res.resourceMetrics.scopeMetrics[0].metrics;
  const c = ms.find((m) => m.descriptor.name === 'netflow_k8s_datagrams_received')!;
  assert.equal(c.dataPointType, DataPointType.SUM);
  assert.deepEqual(
    c.dataPoints.map((p) => [p.attributes, p.value]),
    [[{ exporter: '10.0.0.1' }, 4]],
  );
  const g = ms.find((m) => m.descriptor.name === 'netflow_k8s_records_held')!;
  assert.equal(g.dataPointType, DataPointType.GAUGE);
  assert.equal(g.dataPoints[0].value, 3);
});

test('the resource carries service, instance, host and cluster, and honours OTEL_* variables', () => {
  const saved = { ...process.env };
  try {
    delete process.env.OTEL_SERVICE_NAME;
    delete process.env.OTEL_RESOURCE_ATTRIBUTES;
    const r = buildResource({ clusterName: 'prod-eu', env: { POD_NAME: 'netflow-k8s-abc' } });
    assert.equal(r.attributes['service.name'], 'netflow-k8s');
    assert.equal(r.attributes['service.instance.id'], 'netflow-k8s-abc');
    assert.equal(r.attributes['k8s.cluster.name'], 'prod-eu');
    assert.equal(typeof r.attributes['host.name'], 'string');
    process.env.OTEL_SERVICE_NAME = 'flows';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=staging,k8s.cluster.name=from-env';
    const e = buildResource({ env: {} });
    assert.equal(e.attributes['service.name'], 'flows');
    assert.equal(e.attributes['deployment.environment.name'], 'staging');
    assert.equal(e.attributes['k8s.cluster.name'], 'from-env');
    assert.equal(buildResource({ clusterName: 'flag-wins', env: {} }).attributes['k8s.cluster.name'], 'flag-wins');
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('/metrics/otel serves OTel names with _total through the official Prometheus exporter', async () => {
  const { s } = podStore();
  const reg = new MetricsRegistry();
  reg.counter('datagrams_received', 'Datagrams', ['exporter']).labels('10.0.0.1').inc(4);
  const otel = new OtelPrometheus({ store: s, resource: buildResource({ clusterName: 'c1', env: {} }), registry: reg });
  const server = createServer((req, res) => otel.handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/metrics/otel`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /# TYPE netflow_connection_bytes_total counter/);
    const line = text.split('\n').find((l) => l.startsWith('netflow_connection_bytes_total{') && l.includes('direction="request"'))!;
    assert.ok(line, text.slice(0, 2000));
    assert.match(line, /k8s_src_name="web-1"/);
    assert.match(line, /k8s_dst_namespace="data"/);
    assert.match(line, /server_port="5432"/);
    assert.match(line, / 1500$/);
    assert.match(text, /netflow_k8s_datagrams_received_total\{[^}]*exporter="10.0.0.1"[^}]*\} 4/);
    assert.match(text, /target_info\{[^}]*k8s_cluster_name="c1"/);
  } finally {
    server.close();
    await otel.shutdown();
  }
});

test('a pair keeps one attributes object for OTLP and nothing else: 20,000 pairs', () => {
  const s = new PairStore({ level: 'pod', dims: { protocol: true, serverPort: true }, maxSeries: 50_000 });
  const db = ep({ kind: 'pod', namespace: 'data', name: 'db-0', ownerKind: 'StatefulSet', ownerName: 'db', nodeName: 'n2' });
  for (let i = 0; i < 20_000; i++)
    s.add(
      ep({ kind: 'pod', namespace: 'shop', name: `web-${i}`, ownerKind: 'Deployment', ownerName: 'web', nodeName: 'n1' }),
      db,
      'src-client',
      rec(1500, 3, { dstPort: 5432 }),
      T0 + (i >> 8),
    );
  const producer = new StoreMetricProducer(s);
  // The collection is made and dropped in a function of its own: only what stays counts.
  const points = () => producer.collectScope().metrics[1].dataPoints;
  const before = heapAfterGc();
  assert.equal(points().length, 20_000);
  const perPair = (heapAfterGc() - before) / 20_000;
  // The object of 13 attributes: about 170 bytes. With a holder and its start time kept, 270.
  assert.ok(perPair < 220, `${perPair.toFixed(0)} bytes per pair`);
  const [a, b] = [points()[300], points()[300]];
  assert.equal(a.attributes, b.attributes);
  assert.equal(hrTimeToMilliseconds(a.startTime), T0 + 1, 'each pair has its own start time');
});
