/** The zone families through OpenTelemetry: OBI's src.zone / dst.zone, one point per series, cost in the currency's unit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { PairStore } from '../../src/aggregate/pair-store.ts';
import { internPlace, INTERNET } from '../../src/aggregate/zone-class.ts';
import { ZoneMetricProducer } from '../../src/export/otel/zones.ts';
import { parsePrices } from '../../src/config/prices.ts';
import { zoneSeries } from '../../src/export/otel/zone-series.ts';
import { zoneSamples } from '../../src/export/zone-families.ts';
import { heapAfterGc } from '../support/heap.ts';
import { ep, rec } from '../aggregate/fixtures.ts';

const A = internPlace('eu-west-1a', 'eu-west-1', '');
const B = internPlace('eu-west-1b', 'eu-west-1', '');
const GiB = 2 ** 30;

test('zone and workload metrics, cumulative and delta', () => {
  const store = new PairStore({ level: 'app' });
  const web = ep({ app: 'web', namespace: 'shop', nodeName: 'n1' });
  const db = ep({ app: 'db', namespace: 'shop', nodeName: 'n3' });
  const out = ep({ kind: 'unknown', app: 'unknown', namespace: 'unknown' });
  store.add(web, db, 'src-client', rec(GiB, 10), 1, A, B);
  store.add(web, out, 'unknown', rec(2 * GiB, 20), 1, A, INTERNET);
  const prices = parsePrices({ currency: 'EUR', perGiB: { 'cross-zone': 0.01, internet: 0.05 } }, 'test');
  for (const temporality of [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA]) {
    const producer = new ZoneMetricProducer(store, { prices, temporality });
    const metrics = Object.fromEntries(producer.collectScope().metrics.map((m) => [m.descriptor.name, m]));
    assert.deepEqual(
      metrics['netflow.zone.traffic.bytes'].dataPoints.map((p) => [p.attributes, p.value]),
      [
        [{ 'src.zone': 'eu-west-1a', 'dst.zone': 'eu-west-1b', 'netflow.zone.class': 'cross-zone' }, GiB],
        [{ 'src.zone': 'eu-west-1a', 'dst.zone': 'internet', 'netflow.zone.class': 'internet' }, 2 * GiB],
      ],
    );
    const cost = metrics['netflow.workload.traffic.cost'];
    assert.equal(cost.descriptor.unit, '{EUR}');
    assert.deepEqual(
      cost.dataPoints.map((p) => [
        p.attributes['k8s.app.name'],
        p.attributes['netflow.zone.class'],
        p.attributes['network.io.direction'],
        p.value,
      ]),
      [
        ['web', 'cross-zone', 'transmit', 0.01],
        ['web', 'internet', 'transmit', 0.1],
      ],
    );
    const received = metrics['netflow.workload.traffic.bytes'].dataPoints.filter((p) => p.attributes['network.io.direction'] === 'receive');
    assert.deepEqual(
      received.map((p) => [p.attributes['k8s.app.name'], p.value]),
      [
        ['db', GiB],
        ['unknown', 2 * GiB],
      ],
    );
    if (temporality === AggregationTemporality.DELTA) {
      // Nothing new: a delta collection has no points.
      assert.equal(producer.collectScope().metrics[0].dataPoints.length, 0);
    }
  }
});

test('a zone series keeps one attributes object while it lasts, and nothing else', () => {
  const store = new PairStore({ level: 'pod' });
  const db = ep({ app: 'db', namespace: 'shop', nodeName: 'n3' });
  for (let i = 0; i < 5000; i++)
    store.add(ep({ app: `web-${i}`, namespace: `ns-${i % 9}`, nodeName: 'n1' }), db, 'src-client', rec(1000, 1), 1, A, B);
  // The workload rows and their label arrays first (zone-families.ts), then what the OpenTelemetry side adds.
  const series = zoneSamples(store, undefined).reduce((n, f) => n + f.samples.length, 0);
  // (The series themselves are made and dropped in a function of their own: only what is kept counts.)
  const seventh = () => zoneSeries(store, undefined)[3].points[7];
  const before = heapAfterGc();
  const first = seventh().attributes;
  const perSeries = (heapAfterGc() - before) / series;
  // An attributes object of four and its WeakMap entry: about 80 bytes. With a holder and a key
  // string per series it was 190.
  assert.ok(perSeries < 130, `${perSeries.toFixed(0)} bytes per series`);
  assert.equal(seventh().attributes, first);
  assert.deepEqual(seventh().values, ['ns-6', 'web-6', 'cross-zone', 'egress']);
});
