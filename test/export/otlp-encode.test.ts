/**
 * Our OTLP encoding equals the SDK's ProtobufMetricsSerializer byte for byte on the same
 * ResourceMetrics (the store's producer, the self-metrics, both temporalities, odd attribute
 * values and resources), and a second export of the same store reuses each pair's encoded
 * attributes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { PairStore } from '../../src/aggregate/pair-store.ts';
import { StoreMetricProducer, SelfMetricProducer } from '../../src/export/otel/producer.ts';
import { buildResource } from '../../src/export/otel/resource.ts';
import { OtlpMetricsEncoder } from '../../src/export/otel/otlp-encode.ts';
import { MetricsRegistry } from '../../src/observe/metrics.ts';
import { ep, rec } from '../aggregate/fixtures.ts';
import { heapAfterGc } from '../support/heap.ts';

const T0 = 1_700_000_000_123;

function store(): PairStore {
  const s = new PairStore({ level: 'pod', dims: { protocol: true, serverPort: true }, maxSeries: 5 });
  const web = ep({ kind: 'pod', namespace: 'shop', name: 'web-1', ownerKind: 'Deployment', ownerName: 'web', nodeName: 'n1' });
  const db = ep({ kind: 'pod', namespace: 'data', name: 'db-0 ü "x"', ownerKind: 'StatefulSet', ownerName: 'db', nodeName: 'n2' });
  s.add(web, db, 'src-client', rec(1000, 10, { proto: 6, dstPort: 5432 }), T0);
  s.add(db, web, 'src-server', rec(2 ** 53 - 1, 3, { proto: 6, srcPort: 5432, dstPort: 40000 }), T0 + 1);
  s.add(web, ep({ kind: 'external', namespace: '', name: 'AS1 x' }), 'unknown', rec(7, 1, { proto: 17 }), T0 + 2);
  for (let i = 0; i < 4; i++) s.add(ep({ name: `p${i}` }), web, 'src-client', rec(1, 1), T0 + 3 + i);
  return s;
}

async function collect(
  s: PairStore,
  reg: MetricsRegistry,
  temporality: AggregationTemporality,
  resource = buildResource({ clusterName: 'c', env: {} }),
): Promise<ResourceMetrics> {
  const a = (await new StoreMetricProducer(s, { temporality }).collect()).resourceMetrics.scopeMetrics;
  const b = (await new SelfMetricProducer(reg, { temporality }).collect()).resourceMetrics.scopeMetrics;
  return { resource, scopeMetrics: [...a, ...b] };
}

const sdk = (rm: ResourceMetrics) => Buffer.from(ProtobufMetricsSerializer.serializeRequest(rm)!);

test("OTLP bytes equal the SDK serializer's for the store and the self-metrics", async () => {
  const s = store();
  const reg = new MetricsRegistry();
  reg.counter('datagrams', 'Datagrams', ['exporter']).labels('10.0.0.1').inc(4);
  reg.gauge('ratio', 'A ratio').set(0.25);
  reg.gauge('negative', 'Below zero', ['x']).labels('y').set(-3);
  const enc = new OtlpMetricsEncoder();
  for (const t of [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA]) {
    const rm = await collect(s, reg, t);
    assert.deepEqual(Buffer.from(enc.encode(rm)), sdk(rm));
    // Again, from the cached attribute bytes.
    assert.deepEqual(Buffer.from(enc.encode(rm)), sdk(rm));
  }
  // A resource with every kind of attribute value, and a scope with a schema URL.
  const odd = resourceFromAttributes({ s: 'é', i: -5, big: 2 ** 40, d: 1.5, b: true, list: ['a', 1, false], nan: NaN });
  const rm = await collect(s, reg, AggregationTemporality.CUMULATIVE, odd);
  (rm.scopeMetrics[0] as ScopeMetrics).scope = { name: 'n', version: 'v', schemaUrl: 'https://x' };
  assert.deepEqual(Buffer.from(enc.encode(rm)), sdk(rm));
});

test("OTLP bytes equal the SDK serializer's for random values and attributes", () => {
  const attr = fc.dictionary(
    fc.string({ maxLength: 6 }),
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.integer(),
      // Ports and counts, either side of the varint's 32-bit fast path.
      fc.integer({ min: 0, max: 2 ** 34 }),
      fc.double(),
      fc.boolean(),
    ),
    { maxKeys: 4 },
  );
  const point = fc.record({
    attributes: attr,
    value: fc.oneof(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.double({ noNaN: true })),
    start: fc.nat({ max: 2 ** 31 - 1 }),
    nanos: fc.nat({ max: 999_999_999 }),
  });
  const enc = new OtlpMetricsEncoder();
  fc.assert(
    fc.property(
      fc.array(point, { maxLength: 6 }),
      fc.boolean(),
      fc.constantFrom(DataPointType.SUM, DataPointType.GAUGE),
      (points, int, type) => {
        const rm = {
          resource: resourceFromAttributes({ 'service.name': 'x' }),
          scopeMetrics: [
            {
              scope: { name: 's' },
              metrics: [
                {
                  descriptor: { name: 'm', description: 'd', unit: 'u', valueType: int ? ValueType.INT : ValueType.DOUBLE },
                  aggregationTemporality: AggregationTemporality.CUMULATIVE,
                  dataPointType: type,
                  isMonotonic: true,
                  dataPoints: points.map((p) => ({
                    attributes: p.attributes,
                    value: p.value,
                    startTime: [p.start, p.nanos],
                    endTime: [p.start + 1, p.nanos],
                  })),
                },
              ],
            },
          ],
        } as unknown as ResourceMetrics;
        assert.deepEqual(Buffer.from(enc.encode(rm)), sdk(rm));
      },
    ),
    { numRuns: 300 },
  );
});

/** One sum of the given points' attributes, as the SDK's reader hands it over. */
const sumOf = (attributes: Record<string, string>[]): ResourceMetrics =>
  ({
    resource: resourceFromAttributes({ 'service.name': 'x' }),
    scopeMetrics: [
      {
        scope: { name: 's' },
        metrics: [
          {
            descriptor: { name: 'm', description: '', unit: '', valueType: ValueType.INT },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: attributes.map((a, i) => ({ attributes: a, value: i, startTime: [1, 0], endTime: [2, 0] })),
          },
        ],
      },
    ],
  }) as unknown as ResourceMetrics;

test('the encoded attributes start over once they are mostly stale', async () => {
  const enc = new OtlpMetricsEncoder();
  const rmOf = (n: number, from: number): ResourceMetrics =>
    sumOf(Array.from({ length: n }, (_, i) => ({ pair: `p-${from + i}`, pad: 'x'.repeat(400) })));
  // Exports a minute apart, each with 2,000 new pairs (the old ones expired): without starting
  // over the store would hold every pair ever seen.
  let most = 0;
  for (let k = 0; k < 20; k++) {
    const rm = rmOf(2000, k * 2000);
    assert.deepEqual(Buffer.from(enc.encode(rm, k * 60_000)), sdk(rm));
    most = Math.max(most, enc.attributeStoreBytes);
  }
  assert.ok(most < 8 * 2000 * 420, `at most ${most} bytes held`);
});

test('attribute sets larger than a quarter slab get a slab of their own, between small ones', () => {
  const enc = new OtlpMetricsEncoder();
  const attrs: Record<string, string>[] = [
    { a: 'small' },
    { big: 'y'.repeat(100_000) },
    { b: 'small too' },
    { huge: 'z'.repeat(300_000) },
    { c: 'last' },
  ];
  for (let k = 0; k < 2; k++) {
    const rm = sumOf(attrs);
    assert.deepEqual(Buffer.from(enc.encode(rm, k * 60_000)), sdk(rm));
  }
});

test('the encoder keeps no object per attribute set: 20,000 sets cost a WeakMap entry each on the heap', () => {
  const enc = new OtlpMetricsEncoder();
  const attrs = Array.from({ length: 20_000 }, (_, i) => ({ 'k8s.src.name': `web-${i}`, 'k8s.dst.name': 'db-0', direction: 'request' }));
  const rm = sumOf(attrs);
  const before = heapAfterGc();
  enc.encode(rm, 0);
  enc.encode(rm, 60_000);
  const perSet = (heapAfterGc() - before) / attrs.length;
  // The WeakMap entry is some 90 bytes; a view into the slabs per set, and a WeakSet of the sets an export
  // used, made it 220.
  assert.ok(perSet < 128, `${perSet.toFixed(0)} bytes per attribute set`);
  assert.ok(enc.attributeStoreBytes > 0 && rm.scopeMetrics.length === 1);
});

test('string and port attributes are written with their lengths first: no nested message is moved for them', () => {
  const moves = (attrs: Record<string, string | number>) => {
    const copyWithin = Uint8Array.prototype.copyWithin;
    const rm = sumOf([attrs as Record<string, string>]);
    let n = 0;
    let ours: Uint8Array;
    Uint8Array.prototype.copyWithin = function (this: Uint8Array, ...args: Parameters<Uint8Array['copyWithin']>) {
      n++;
      return copyWithin.apply(this, args);
    };
    try {
      ours = new OtlpMetricsEncoder().encode(rm);
    } finally {
      Uint8Array.prototype.copyWithin = copyWithin;
    }
    assert.deepEqual(Buffer.from(ours), sdk(rm));
    return n;
  };
  // Values long enough that a nested() around each KeyValue would need a two-byte length, and move.
  const long = 'v'.repeat(200);
  const many = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k8s.attr.${i}`, long]));
  // The request's own levels (resource metrics, scope, metric, sum) move once each, for either.
  assert.equal(moves({ ...many, 'server.port': 5432, 'k8s.é': `${long}é` }), moves({ one: 'v'.repeat(4000) }));
});
