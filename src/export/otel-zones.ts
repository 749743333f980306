/**
 * The zone families as OpenTelemetry metrics, read from the store when collected (like the
 * connection metrics, no SDK call per record):
 *
 *   netflow.zone.traffic.bytes / .packets / .flows   {src.zone, dst.zone, netflow.zone.class}
 *   netflow.workload.traffic.bytes                   {k8s.namespace.name, k8s.app.name, netflow.zone.class, network.io.direction}
 *   netflow.workload.traffic.cost                    {... , network.io.direction=transmit, currency}
 *
 * `src.zone` / `dst.zone` are the names OBI gives its inter-zone metric's attributes. Direction
 * is the semantic conventions' `network.io.direction`: transmit is our egress, receive ingress.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality, DataPointType,
  type CollectionResult, type DataPoint, type MetricData, type MetricProducer, type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import type { PairStore } from '../aggregate/pair-store.ts';
import { ZONE_CLASSES } from '../aggregate/zone-class.ts';
import { costOf, type Prices } from '../config/prices.ts';
import { SCOPE } from './otel-producer.ts';
import { outsideSender, workloadTraffic } from './zone-prometheus.ts';

export interface ZoneProducerOptions {
  prices?: Prices;
  temporality?: AggregationTemporality;
}

export class ZoneMetricProducer implements MetricProducer {
  readonly #store: PairStore;
  readonly #prices: Prices | undefined;
  readonly #temporality: AggregationTemporality;
  readonly #startTime: HrTime = hrTime();
  #lastCollect: HrTime = this.#startTime;
  /** Delta only: last cumulative value per series key. */
  readonly #last = new Map<string, number>();

  constructor(store: PairStore, opts: ZoneProducerOptions = {}) {
    this.#store = store;
    this.#prices = opts.prices;
    this.#temporality = opts.temporality ?? AggregationTemporality.CUMULATIVE;
  }

  async collect(): Promise<CollectionResult> {
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [this.collectScope()] }, errors: [] };
  }

  collectScope(): ScopeMetrics {
    const endTime = hrTime();
    const delta = this.#temporality === AggregationTemporality.DELTA;
    const startTime = delta ? this.#lastCollect : this.#startTime;
    const point = (metric: string, attributes: Attributes, key: string, value: number, into: DataPoint<number>[]): void => {
      if (delta) {
        const k = `${metric}\u0000${key}`;
        const prev = this.#last.get(k) ?? 0;
        this.#last.set(k, value);
        if (value === prev) return;
        value -= prev;
      }
      into.push({ startTime, endTime, attributes, value });
    };
    const zb: DataPoint<number>[] = [], zp: DataPoint<number>[] = [], zf: DataPoint<number>[] = [];
    for (const r of this.#store.zones.rows) {
      const a: Attributes = { 'src.zone': r.srcZone, 'dst.zone': r.dstZone, 'netflow.zone.class': r.cls };
      const key = `${r.srcZone}\u0000${r.dstZone}\u0000${r.cls}`;
      point('b', a, key, r.bytes, zb);
      point('p', a, key, r.packets, zp);
      point('f', a, key, r.flows, zf);
    }
    const wb: DataPoint<number>[] = [], wc: DataPoint<number>[] = [];
    const prices = this.#prices;
    for (const r of workloadTraffic(this.#store)) {
      for (let c = 0; c < ZONE_CLASSES.length; c++) {
        const cls = ZONE_CLASSES[c];
        const base = { 'k8s.namespace.name': r.namespace, 'k8s.app.name': r.app, 'netflow.zone.class': cls };
        const key = `${r.namespace}\u0000${r.app}\u0000${cls}`;
        if (r.sent[c] > 0) point('wb', { ...base, 'network.io.direction': 'transmit' }, `${key}\u0000t`, r.sent[c], wb);
        if (r.received[c] > 0) point('wb', { ...base, 'network.io.direction': 'receive' }, `${key}\u0000r`, r.received[c], wb);
        const price = prices?.perGiB[cls];
        if (prices && price !== undefined && r.sent[c] > 0 && !outsideSender(r.namespace)) {
          point('wc', { ...base, 'network.io.direction': 'transmit', currency: prices.currency }, key, costOf(r.sent[c], price), wc);
        }
      }
    }
    this.#lastCollect = endTime;
    const sum = (name: string, unit: string, description: string, dataPoints: DataPoint<number>[], valueType = ValueType.INT): MetricData => ({
      descriptor: { name, description, unit, valueType },
      aggregationTemporality: this.#temporality,
      dataPointType: DataPointType.SUM,
      dataPoints,
      isMonotonic: true,
    });
    const metrics = [
      sum('netflow.zone.traffic.bytes', 'By', 'Bytes per source zone, destination zone and zone class', zb),
      sum('netflow.zone.traffic.packets', '{packet}', 'Packets per source zone, destination zone and zone class', zp),
      sum('netflow.zone.traffic.flows', '{flow}', 'Flows per source zone, destination zone and zone class', zf),
      sum('netflow.workload.traffic.bytes', 'By', 'Bytes a workload sent (transmit) or received (receive), per zone class', wb),
    ];
    if (prices) metrics.push(sum('netflow.workload.traffic.cost', `{${prices.currency}}`, 'What the bytes a workload sent cost, per zone class', wc, ValueType.DOUBLE));
    return { scope: SCOPE, metrics };
  }
}
