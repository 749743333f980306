/** The zone families through OpenTelemetry: OBI's src.zone / dst.zone, one point per series, cost in the currency's unit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { PairStore } from '../../src/aggregate/pair-store.ts';
import { internPlace, INTERNET } from '../../src/aggregate/zone-class.ts';
import { ZoneMetricProducer } from '../../src/export/otel/zones.ts';
import { parsePrices } from '../../src/config/prices.ts';
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
