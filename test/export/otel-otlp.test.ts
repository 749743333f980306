import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { PairStore } from '../../src/aggregate/pair-store.ts';
import { DEFAULT_MAX_BATCH_POINTS, OtlpMetrics } from '../../src/export/otel/otlp.ts';
import { pairAttributes } from '../../src/export/otel/producer.ts';
import { buildResource } from '../../src/export/otel/resource.ts';
import { MetricsRegistry } from '../../src/observe/metrics.ts';
import { OtlpReceiver, seriesKey, type Attrs } from '../support/otlp-receiver.ts';
import { ep, rec } from '../aggregate/fixtures.ts';

const T0 = Date.now();
const resource = buildResource({ clusterName: 'test-cluster', instanceId: 'collector-0', env: {} });

/** n pod pairs with realistic name lengths. */
function fill(s: PairStore, n: number, bytes = 1000): void {
  const db = ep({
    kind: 'pod',
    namespace: 'payments-production',
    name: 'postgres-primary-0',
    ownerKind: 'StatefulSet',
    ownerName: 'postgres-primary',
    nodeName: 'ip-10-0-12-34.eu-west-1.compute.internal',
  });
  for (let i = 0; i < n; i++) {
    const src = ep({
      kind: 'pod',
      namespace: `team-${i % 40}-namespace`,
      name: `checkout-service-7d9f8c6b5-${i.toString(36).padStart(5, 'x')}`,
      ownerKind: 'Deployment',
      ownerName: `checkout-service-${i % 97}`,
      nodeName: `ip-10-0-${i % 200}-1.eu-west-1.compute.internal`,
    });
    s.add(src, db, 'src-client', rec(bytes + i, 3, { proto: 6, dstPort: 5432 }), T0);
  }
}

/** The store as the receiver should see it: series key → [flows, bytes, packets]. */
function expected(s: PairStore): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const p of s.pairs) m.set(seriesKey(pairAttributes(s, p) as Attrs), [p.flows, p.bytes, p.packets]);
  return m;
}

/** Points of the three connection metrics (the zone families come along beside them). */
const connectionPoints = (rx: OtlpReceiver): number => rx.points().filter((q) => q.metric.startsWith('netflow.connection.')).length;

function assertReceivedEqualsStore(rx: OtlpReceiver, s: PairStore): void {
  const want = expected(s);
  const names = ['netflow.connection.count', 'netflow.connection.bytes', 'netflow.connection.packets'];
  names.forEach((name, i) => {
    const got = rx.latest(name);
    assert.equal(got.size, want.size, `${name}: series`);
    for (const [k, v] of want) assert.equal(got.get(k)?.value, v[i], `${name} ${k}`);
  });
}

test('OTLP round trip: the receiver gets the store with attributes, resource and cumulative temporality', async () => {
  const rx = await OtlpReceiver.start();
  const reg = new MetricsRegistry();
  const s = new PairStore({ level: 'pod', dims: { protocol: true, serverPort: true } });
  const otlp = new OtlpMetrics({ store: s, resource, endpoint: rx.url, intervalMs: 60_000, timeoutMs: 5000, registry: reg });
  try {
    fill(s, 50);
    await otlp.forceFlush();
    assert.ok(rx.requests.length >= 1);
    assertReceivedEqualsStore(rx, s);
    const p = [...rx.latest('netflow.connection.bytes').values()][0];
    assert.equal(p.temporality, 'cumulative');
    assert.equal(p.monotonic, true);
    assert.equal(p.unit, 'By');
    assert.equal(p.scope, 'netflow-k8s');
    assert.equal(p.resource['service.name'], 'netflow-k8s');
    assert.equal(p.resource['service.instance.id'], 'collector-0');
    assert.equal(p.resource['k8s.cluster.name'], 'test-cluster');
    assert.equal(typeof p.resource['host.name'], 'string');
    assert.equal(p.attributes['k8s.dst.owner.type'], 'StatefulSet');
    assert.equal(p.attributes.direction, 'request');
    assert.equal(p.attributes['server.port'], 5432);
    assert.equal(p.startTimeUnixNano, BigInt(T0) * 1_000_000n);
    assert.equal(reg.get('otlp_exports')!.name, 'netflow_k8s_otlp_exports_total');
    assert.ok(
      rx.points().some((q) => q.metric === 'netflow_k8s_otlp_exports'),
      'self-metrics travel along',
    );

    // Counts go on; the next export carries the new totals.
    fill(s, 50, 5);
    await otlp.forceFlush();
    assertReceivedEqualsStore(rx, s);
    assert.equal((reg.get('otlp_exports') as import('../../src/observe/metrics.ts').Counter).value('success'), 2);
  } finally {
    await otlp.shutdown();
    await rx.stop();
  }
});

test('exports are split so each request stays under 4 MiB, while one unsplit request would not', async () => {
  const rx = await OtlpReceiver.start();
  const s = new PairStore({ level: 'pod', dims: { protocol: true, serverPort: true } });
  fill(s, 20_000);
  const otlp = new OtlpMetrics({ store: s, resource, endpoint: rx.url, intervalMs: 60_000, timeoutMs: 20_000 });
  try {
    await otlp.forceFlush();
    const sizes = rx.requests.map((r) => r.bytes);
    assert.ok(
      sizes.length >= 60_000 / DEFAULT_MAX_BATCH_POINTS,
      `60,000 points in requests of at most ${DEFAULT_MAX_BATCH_POINTS}: ${sizes.length} requests`,
    );
    for (const b of sizes) assert.ok(b < 4 * 1024 * 1024, `request of ${b} bytes`);
    assert.equal(connectionPoints(rx), 60_000);
    assertReceivedEqualsStore(rx, s);
    // The limit is real: the same store in one request is refused by a receiver with gRPC's default.
    const whole = new OtlpMetrics({ store: s, resource, endpoint: rx.url, intervalMs: 60_000, timeoutMs: 3000, maxBatchPoints: 1_000_000 });
    const before = rx.requests.length;
    try {
      await whole.forceFlush();
    } finally {
      await whole.shutdown();
    }
    assert.equal(rx.requests.length, before, 'the 60,000-point request does not get through');
  } finally {
    await otlp.shutdown();
    await rx.stop();
  }
});

test('a smaller batch size gives proportionally more requests, and the points all arrive', async () => {
  const rx = await OtlpReceiver.start();
  const s = new PairStore({ level: 'pod' });
  fill(s, 2500);
  const otlp = new OtlpMetrics({ store: s, resource, endpoint: rx.url, intervalMs: 60_000, timeoutMs: 10_000, maxBatchPoints: 1000 });
  try {
    await otlp.forceFlush();
    assert.equal(connectionPoints(rx), 7500);
    // The zone families travel in the same batches.
    assert.equal(rx.requests.length, Math.ceil(rx.points().length / 1000), 'points in batches of 1,000');
    for (const r of rx.requests) assert.ok(r.points.length <= 1000);
    assertReceivedEqualsStore(rx, s);
  } finally {
    await otlp.shutdown();
    await rx.stop();
  }
});

test('receiver down, then up: the cumulative totals arrive whole and the failures are counted', async () => {
  const rx = await OtlpReceiver.start();
  const url = rx.url;
  await rx.stop();
  const reg = new MetricsRegistry();
  const s = new PairStore({ level: 'pod' });
  const otlp = new OtlpMetrics({ store: s, resource, endpoint: url, intervalMs: 60_000, timeoutMs: 1500, registry: reg });
  const exports = reg.get('otlp_exports') as import('../../src/observe/metrics.ts').Counter;
  try {
    fill(s, 300);
    await otlp.forceFlush();
    assert.ok(exports.value('failure') >= 1, 'the failed export is counted');
    assert.equal(exports.value('success'), 0);
    fill(s, 300, 77);
    await rx.restart();
    assert.equal(rx.url, url);
    // gRPC reconnects with backoff; keep flushing until a collection gets through.
    const deadline = Date.now() + 30_000;
    while (rx.requests.length === 0 && Date.now() < deadline) {
      await otlp.forceFlush();
      if (rx.requests.length === 0) await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(rx.requests.length > 0, 'an export got through after the receiver came back');
    assertReceivedEqualsStore(rx, s);
    assert.equal(rx.latestTotal('netflow.connection.count'), s.totals().flows);
    assert.equal(rx.latestTotal('netflow.connection.bytes'), s.totals().bytes);
    assert.ok(exports.value('success') >= 1);
  } finally {
    await otlp.shutdown();
    await rx.stop();
  }
});

test('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta sends what changed since the last export', async () => {
  const rx = await OtlpReceiver.start();
  const saved = process.env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE;
  process.env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE = 'delta';
  const s = new PairStore({ level: 'pod' });
  let otlp: OtlpMetrics | undefined;
  try {
    otlp = new OtlpMetrics({ store: s, resource, endpoint: rx.url, intervalMs: 60_000, timeoutMs: 5000 });
    assert.equal(otlp.temporality, AggregationTemporality.DELTA);
    fill(s, 10, 100);
    await otlp.forceFlush();
    const first = rx.points().filter((p) => p.metric === 'netflow.connection.bytes');
    assert.equal(first.length, 10);
    assert.ok(first.every((p) => p.temporality === 'delta'));
    rx.clear();
    const a = s.pairs[0];
    const before = a.bytes;
    s.addCounts(
      {
        kind: 'pod',
        namespace: a.src.labels.namespace,
        name: a.src.labels.name,
        app: '',
        ownerKind: a.src.labels.ownerKind,
        ownerName: a.src.labels.ownerName,
        nodeName: a.src.labels.nodeName,
      },
      {
        kind: 'pod',
        namespace: a.dst.labels.namespace,
        name: a.dst.labels.name,
        app: '',
        ownerKind: a.dst.labels.ownerKind,
        ownerName: a.dst.labels.ownerName,
        nodeName: a.dst.labels.nodeName,
      },
      'src-client',
      6,
      5432,
      1,
      42,
      1,
      Date.now(),
    );
    assert.equal(a.bytes, before + 42);
    await otlp.forceFlush();
    const second = rx.points().filter((p) => p.metric === 'netflow.connection.bytes');
    assert.equal(second.length, 1, 'only the pair that changed');
    assert.equal(second[0].value, 42);
  } finally {
    if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE;
    else process.env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE = saved;
    await otlp?.shutdown();
    await rx.stop();
  }
});
