/**
 * The zone families (../zone-families.ts, through zone-series.ts) as OpenTelemetry metrics, read
 * from the store when collected (like the connection metrics, no SDK call per record).
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type MetricData,
  type MetricProducer,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import type { PairStore } from '../../aggregate/pair-store.ts';
import type { Prices } from '../../config/prices.ts';
import { KeyedDelta } from './keyed-delta.ts';
import { SCOPE } from './attributes.ts';
import { zoneSeries } from './zone-series.ts';

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
  /** Delta only: the last value per series. */
  readonly #last = new KeyedDelta();

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
    const metrics: MetricData[] = zoneSeries(this.#store, this.#prices).map((s) => {
      const dataPoints: DataPoint<number>[] = [];
      for (const p of s.points) {
        const value = delta ? this.#last.delta(`${s.name}\u0000${p.values.join('\u0000')}`, p.value) : p.value;
        if (delta && value === 0) continue;
        dataPoints.push({ startTime, endTime, attributes: p.attributes as Attributes, value });
      }
      return {
        descriptor: { name: s.name, description: s.description, unit: s.unit, valueType: s.double ? ValueType.DOUBLE : ValueType.INT },
        aggregationTemporality: this.#temporality,
        dataPointType: DataPointType.SUM,
        dataPoints,
        isMonotonic: true,
      };
    });
    this.#lastCollect = endTime;
    return { scope: SCOPE, metrics };
  }
}
