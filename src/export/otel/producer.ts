/**
 * The pair store and the self-metrics as OpenTelemetry metric data, without one SDK call per
 * record: a MetricProducer (handed to a reader through `metricProducers`) builds Sum data points
 * straight from the store when the reader collects. Each pair's attribute object is built once
 * and cached on the pair; a collection is three small objects per pair.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime, millisToHrTime } from '@opentelemetry/core';
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
import type { Pair, PairStore } from '../../aggregate/pair-store.ts';
import { CONNECTION_METRICS, SCOPE, pairAttributes } from './attributes.ts';
import type { MetricsRegistry } from '../../observe/metrics.ts';
import { KeyedDelta } from './keyed-delta.ts';

export { SCOPE, CONNECTION_METRICS, pairAttributes } from './attributes.ts';

/**
 * The pair's attributes, built at its first collection and kept on the pair (the OTLP encoder
 * keeps their bytes by this object). Only the object: its start time is made per collection.
 */
function attributesOf(store: PairStore, p: Pair): Attributes {
  let a = p.otelCache as Attributes | undefined;
  if (a === undefined) p.otelCache = a = pairAttributes(store, p);
  return a;
}

/**
 * A pair's start time, as the SDK writes times. Pairs made by one merge are made in the same
 * millisecond and sit side by side in the store, so the last one made is mostly the one asked
 * for: kept on each pair, the [seconds, nanoseconds] array was 60 bytes of every pair's heap.
 */
class StartTimes {
  #ms = Number.NaN;
  #time: HrTime = [0, 0];
  of(ms: number): HrTime {
    if (ms !== this.#ms) {
      this.#ms = ms;
      this.#time = millisToHrTime(ms);
    }
    return this.#time;
  }
}

export interface ProducerOptions {
  /** Cumulative (default) sends the totals every time; delta sends what changed since the last collection. */
  temporality?: AggregationTemporality;
}

/** The store's three connection metrics. One instance per reader (delta state is per reader). */
export class StoreMetricProducer implements MetricProducer {
  readonly #store: PairStore;
  readonly #temporality: AggregationTemporality;
  /** Delta only: what the last collection reported, per pair. */
  readonly #last = new WeakMap<Pair, Float64Array>();
  #lastCollect: HrTime = hrTime();

  constructor(store: PairStore, opts: ProducerOptions = {}) {
    this.#store = store;
    this.#temporality = opts.temporality ?? AggregationTemporality.CUMULATIVE;
  }

  async collect(): Promise<CollectionResult> {
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [this.collectScope()] }, errors: [] };
  }

  /** Synchronous core of collect(), for benchmarks and tests. */
  collectScope(): ScopeMetrics {
    const endTime = hrTime();
    const pairs = this.#store.pairs;
    const n = pairs.length;
    const count: DataPoint<number>[] = new Array(n);
    const bytes: DataPoint<number>[] = new Array(n);
    const packets: DataPoint<number>[] = new Array(n);
    let k = 0;
    if (this.#temporality === AggregationTemporality.CUMULATIVE) {
      const starts = new StartTimes();
      for (let i = 0; i < n; i++) {
        const p = pairs[i];
        const attributes = attributesOf(this.#store, p);
        const startTime = starts.of(p.createdMs);
        count[i] = { startTime, endTime, attributes, value: p.flows };
        bytes[i] = { startTime, endTime, attributes, value: p.bytes };
        packets[i] = { startTime, endTime, attributes, value: p.packets };
      }
      k = n;
    } else {
      const startTime = this.#lastCollect;
      for (let i = 0; i < n; i++) {
        const p = pairs[i];
        let prev = this.#last.get(p);
        if (prev === undefined) {
          prev = new Float64Array(3);
          this.#last.set(p, prev);
        }
        const df = p.flows - prev[0],
          db = p.bytes - prev[1],
          dp = p.packets - prev[2];
        if (df === 0 && db === 0 && dp === 0) continue;
        prev[0] = p.flows;
        prev[1] = p.bytes;
        prev[2] = p.packets;
        const attributes = attributesOf(this.#store, p);
        count[k] = { startTime, endTime, attributes, value: df };
        bytes[k] = { startTime, endTime, attributes, value: db };
        packets[k] = { startTime, endTime, attributes, value: dp };
        k++;
      }
      count.length = bytes.length = packets.length = k;
    }
    this.#lastCollect = endTime;
    const points = [count, bytes, packets];
    const metrics: MetricData[] = CONNECTION_METRICS.map((m, i) => ({
      descriptor: { name: m.name, description: m.description, unit: m.unit, valueType: ValueType.INT },
      aggregationTemporality: this.#temporality,
      dataPointType: DataPointType.SUM,
      dataPoints: points[i],
      isMonotonic: true,
    }));
    return { scope: SCOPE, metrics };
  }
}

/**
 * The self-metrics registry through the same path: counters become monotonic sums named without
 * `_total` (the Prometheus exporter adds it back), gauges become gauges. Label names become
 * attribute keys unchanged.
 */
export class SelfMetricProducer implements MetricProducer {
  readonly #registry: MetricsRegistry;
  readonly #temporality: AggregationTemporality;
  readonly #startTime: HrTime = hrTime();
  /** Delta only: the last value per counter series. */
  readonly #last = new KeyedDelta();
  #lastCollect: HrTime = this.#startTime;

  constructor(registry: MetricsRegistry, opts: ProducerOptions = {}) {
    this.#registry = registry;
    this.#temporality = opts.temporality ?? AggregationTemporality.CUMULATIVE;
  }

  async collect(): Promise<CollectionResult> {
    const endTime = hrTime();
    const delta = this.#temporality === AggregationTemporality.DELTA;
    const metrics: MetricData[] = [];
    const errors: unknown[] = [];
    for (const f of this.#registry.all()) {
      const points: DataPoint<number>[] = [];
      const name = f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
      try {
        for (const [values, value] of f.samples()) {
          const attributes: Attributes = {};
          for (let i = 0; i < f.labelNames.length; i++) attributes[f.labelNames[i]] = values[i];
          if (f.type === 'counter' && delta) {
            const key = `${name}\u0000${values.join('\u0000')}`;
            points.push({ startTime: this.#lastCollect, endTime, attributes, value: this.#last.delta(key, value) });
          } else {
            points.push({ startTime: this.#startTime, endTime, attributes, value });
          }
        }
      } catch (err) {
        errors.push(err);
        continue;
      }
      const descriptor = { name, description: f.help, unit: '', valueType: ValueType.DOUBLE };
      if (f.type === 'counter') {
        metrics.push({
          descriptor,
          aggregationTemporality: this.#temporality,
          dataPointType: DataPointType.SUM,
          dataPoints: points,
          isMonotonic: true,
        });
      } else {
        metrics.push({
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.GAUGE,
          dataPoints: points,
        });
      }
    }
    this.#lastCollect = endTime;
    return {
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: [{ scope: { name: `${SCOPE.name}.self`, version: SCOPE.version }, metrics }],
      },
      errors,
    };
  }
}
