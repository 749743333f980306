/**
 * OTLP over gRPC: a PeriodicExportingMetricReader over the store's producer, exporting through
 * the official gRPC exporter. Requests are split by the reader (`maxExportBatchSize`) so each
 * stays well under gRPC's 4 MiB default. Nothing is queued across intervals: with cumulative
 * temporality (the default) a failed interval is made good by the next one, which carries the
 * whole totals, so memory stays bounded while the collector is down.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality, InstrumentType, MeterProvider, PeriodicExportingMetricReader,
  type PushMetricExporter, type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { PairStore } from '../aggregate/pair-store.ts';
import type { Counter, MetricsRegistry } from '../observe/metrics.ts';
import { SelfMetricProducer, StoreMetricProducer } from './otel-producer.ts';
import { ZoneMetricProducer } from './otel-zones.ts';
import type { Prices } from '../config/prices.ts';

/**
 * Points per request. A connection point with its ~13 attributes is 300 to 600 bytes of protobuf,
 * so 1,000 points make about 0.5 MiB, far below 4 MiB. The SDK serializes each request in one go
 * on the event loop (measured: a 4,000-point batch stalled it for 80 to 450 ms, 1,000 points for
 * about a quarter of that), and yields between requests, so small batches keep stalls short.
 */
export const DEFAULT_MAX_BATCH_POINTS = 1000;

export interface OtlpOptions {
  store: PairStore;
  resource: Resource;
  /** `http://host:4317`; default OTEL_EXPORTER_OTLP_METRICS_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, then localhost:4317. */
  endpoint?: string;
  intervalMs?: number;
  /** Per export request, retries included. Default: min(interval, 30 s). */
  timeoutMs?: number;
  maxBatchPoints?: number;
  /** Self-metrics: exported alongside, and the place where exports and failures are counted. */
  registry?: MetricsRegistry;
  /** Prices per zone class: the workload cost metric (none without). */
  prices?: Prices;
  /** For tests: any PushMetricExporter instead of the gRPC one. */
  exporter?: PushMetricExporter;
}

/** Counts requests and failures of the exporter it wraps; changes nothing else. */
export class CountingExporter implements PushMetricExporter {
  private readonly inner: PushMetricExporter;
  private readonly exports: Counter | undefined;
  private readonly points: Counter | undefined;
  constructor(inner: PushMetricExporter, registry?: MetricsRegistry) {
    this.inner = inner;
    this.exports = registry?.counter('otlp_exports', 'OTLP export requests by result', ['result']);
    this.points = registry?.counter('otlp_exported_points', 'Data points in successful OTLP export requests');
    // Create both series up front so a failure rate can be computed from the start.
    this.exports?.labels('success');
    this.exports?.labels('failure');
  }
  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    let n = 0;
    for (const s of metrics.scopeMetrics) for (const m of s.metrics) n += m.dataPoints.length;
    this.inner.export(metrics, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        this.exports?.labels('success').inc();
        this.points?.inc(n);
      } else {
        this.exports?.labels('failure').inc();
      }
      resultCallback(result);
    });
  }
  forceFlush(): Promise<void> { return this.inner.forceFlush(); }
  shutdown(): Promise<void> { return this.inner.shutdown(); }
  selectAggregationTemporality(t: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality?.(t) ?? AggregationTemporality.CUMULATIVE;
  }
}

export class OtlpMetrics {
  readonly provider: MeterProvider;
  readonly reader: PeriodicExportingMetricReader;
  readonly temporality: AggregationTemporality;

  constructor(opts: OtlpOptions) {
    const intervalMs = opts.intervalMs ?? 30_000;
    const timeoutMs = opts.timeoutMs ?? Math.min(intervalMs, 30_000);
    const inner = opts.exporter ?? new OTLPMetricExporter({ url: opts.endpoint, timeoutMillis: timeoutMs, concurrencyLimit: 4 });
    const exporter = new CountingExporter(inner, opts.registry);
    // The exporter honours OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE; our producers follow it.
    this.temporality = exporter.selectAggregationTemporality(InstrumentType.COUNTER);
    const producers = [new StoreMetricProducer(opts.store, { temporality: this.temporality }), new ZoneMetricProducer(opts.store, { temporality: this.temporality, prices: opts.prices })];
    const self = opts.registry ? [new SelfMetricProducer(opts.registry, { temporality: this.temporality })] : [];
    this.reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: intervalMs,
      exportTimeoutMillis: timeoutMs,
      maxExportBatchSize: opts.maxBatchPoints ?? DEFAULT_MAX_BATCH_POINTS,
      metricProducers: [...producers, ...self],
    });
    this.provider = new MeterProvider({ resource: opts.resource, readers: [this.reader] });
  }

  /** Collects and exports now (e.g. on SIGTERM); resolves when the requests are done or failed. */
  forceFlush(): Promise<void> {
    return this.provider.forceFlush();
  }

  /** A final export, then the exporter closes. */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}
