/**
 * OTLP over gRPC, HTTP/protobuf or HTTP/JSON: a PeriodicExportingMetricReader over the store's
 * producer, exporting through the official exporter of the protocol (gRPC's with our own protobuf
 * encoder, otlp-grpc-exporter.ts; each reads the standard OTEL_EXPORTER_OTLP_* headers,
 * certificates, compression and temporality itself). Requests are split by the reader
 * (`maxExportBatchSize`) so each stays well under gRPC's 4 MiB default.
 * Nothing is queued across intervals: with cumulative temporality (the default) a failed interval
 * is made good by the next one, which carries the whole totals, so memory stays bounded while the
 * collector is down.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { otlpGrpcMetricExporter } from './otlp-grpc-exporter.ts';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { PairStore } from '../../aggregate/pair-store.ts';
import type { Counter, MetricsRegistry } from '../../observe/metrics.ts';
import { SelfMetricProducer, StoreMetricProducer } from './producer.ts';
import type { OtlpProtocol } from '../../config/otlp-env.ts';
import { ZoneMetricProducer } from './zones.ts';
import type { Prices } from '../../config/prices.ts';
import { OtlpMetricsEncoder } from './otlp-encode.ts';

/**
 * Points per request. A connection point with its ~13 attributes is 300 to 600 bytes of protobuf,
 * so 1,000 points make about 0.5 MiB, far below 4 MiB. The exporter serializes each request in one
 * go on the event loop (measured with the SDK's serializer: a 4,000-point batch stalled it for 80
 * to 450 ms, 1,000 points for about a quarter of that), and yields between requests, so small
 * batches keep stalls short.
 */
export const DEFAULT_MAX_BATCH_POINTS = 1000;

export interface OtlpOptions {
  store: PairStore;
  resource: Resource;
  /** `http://host:4317` (grpc), `http://host:4318/v1/metrics` (http/*); default from the OTEL_* environment. */
  endpoint?: string;
  /** Default grpc. */
  protocol?: OtlpProtocol;
  /** Called with each failed request's error (the caller decides how often to log). */
  onFailure?: (err: Error | undefined) => void;
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
  /** Told of every request's outcome (the SDK itself only tells its diagnostics logger). */
  onResult?: (ok: boolean, error: Error | undefined) => void;
}

/** Counts requests and failures of the exporter it wraps; changes nothing else. */
export class CountingExporter implements PushMetricExporter {
  readonly #inner: PushMetricExporter;
  readonly #exports: Counter | undefined;
  readonly #points: Counter | undefined;
  readonly #onFailure: ((err: Error | undefined) => void) | undefined;
  readonly #onResult: ((ok: boolean, error: Error | undefined) => void) | undefined;
  /** Requests sent and not answered yet. */
  inFlight = 0;
  constructor(
    inner: PushMetricExporter,
    registry?: MetricsRegistry,
    onFailure?: (err: Error | undefined) => void,
    onResult?: (ok: boolean, error: Error | undefined) => void,
  ) {
    this.#inner = inner;
    this.#onFailure = onFailure;
    this.#onResult = onResult;
    this.#exports = registry?.selfCounter('otlp_exports');
    this.#points = registry?.selfCounter('otlp_exported_points');
    // Create both series up front so a failure rate can be computed from the start.
    this.#exports?.labels('success');
    this.#exports?.labels('failure');
  }
  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    let n = 0;
    for (const s of metrics.scopeMetrics) for (const m of s.metrics) n += m.dataPoints.length;
    this.inFlight++;
    this.#inner.export(metrics, (result) => {
      this.inFlight--;
      this.#onResult?.(result.code === ExportResultCode.SUCCESS, result.error);
      if (result.code === ExportResultCode.SUCCESS) {
        this.#exports?.labels('success').inc();
        this.#points?.inc(n);
      } else {
        this.#exports?.labels('failure').inc();
        this.#onFailure?.(result.error);
      }
      resultCallback(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
  selectAggregationTemporality(t: InstrumentType): AggregationTemporality {
    return this.#inner.selectAggregationTemporality?.(t) ?? AggregationTemporality.CUMULATIVE;
  }
}

/** The reader allows no export longer than its interval, so a longer OTEL_EXPORTER_OTLP_TIMEOUT is cut to it. */
const timeoutOf = (opts: OtlpOptions): number => Math.min(opts.timeoutMs ?? 30_000, opts.intervalMs ?? 30_000);
/** Only what is ours to set: headers, TLS files, compression and temporality stay with OTEL_* so the standard variables work. */
const exporterConfig = (opts: OtlpOptions) => ({ url: opts.endpoint, timeoutMillis: timeoutOf(opts), concurrencyLimit: 4 });

export class OtlpMetrics {
  readonly provider: MeterProvider;
  readonly reader: PeriodicExportingMetricReader;
  readonly temporality: AggregationTemporality;
  readonly exporter: CountingExporter;

  /** Any protocol: the official HTTP exporters are loaded only when chosen. */
  static async create(opts: OtlpOptions): Promise<OtlpMetrics> {
    if (opts.exporter || (opts.protocol ?? 'grpc') === 'grpc') return new OtlpMetrics(opts);
    const mod =
      opts.protocol === 'http/protobuf'
        ? await import('@opentelemetry/exporter-metrics-otlp-proto')
        : await import('@opentelemetry/exporter-metrics-otlp-http');
    return new OtlpMetrics({ ...opts, exporter: new mod.OTLPMetricExporter(exporterConfig(opts)) });
  }

  /** gRPC, or the exporter given; use `create` for the HTTP protocols. */
  constructor(opts: OtlpOptions) {
    const intervalMs = opts.intervalMs ?? 30_000;
    const timeoutMs = timeoutOf(opts);
    if (!opts.exporter && (opts.protocol ?? 'grpc') !== 'grpc') throw new Error(`OtlpMetrics: use OtlpMetrics.create for ${opts.protocol}`);
    const inner = opts.exporter ?? otlpGrpcMetricExporter(exporterConfig(opts));
    const exporter = new CountingExporter(inner, opts.registry, opts.onFailure, opts.onResult);
    this.exporter = exporter;
    // The exporter honours OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE; our producers follow it.
    this.temporality = exporter.selectAggregationTemporality(InstrumentType.COUNTER);
    const producers = [
      new StoreMetricProducer(opts.store, { temporality: this.temporality }),
      new ZoneMetricProducer(opts.store, { temporality: this.temporality, prices: opts.prices }),
    ];
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

/**
 * One export of `store` encoded as the reader and the gRPC exporter do it (the store's and the
 * zones' producers, requests of `maxBatchPoints`, our encoder) with nothing sent: the main
 * thread's warm-up (pipeline/warm-exports.ts). Returns the encoded bytes.
 */
export function otlpEncodeRound(store: PairStore, opts: { resource: Resource; prices?: Prices; maxBatchPoints?: number }): () => number {
  const producers = [new StoreMetricProducer(store), new ZoneMetricProducer(store, { prices: opts.prices })];
  const encoder = new OtlpMetricsEncoder();
  const per = opts.maxBatchPoints ?? DEFAULT_MAX_BATCH_POINTS;
  return () => {
    let bytes = 0;
    for (const p of producers) {
      const scope = p.collectScope();
      for (const metric of scope.metrics)
        for (let i = 0; i < metric.dataPoints.length; i += per) {
          const part = { ...metric, dataPoints: metric.dataPoints.slice(i, i + per) } as typeof metric;
          bytes += encoder.encode({ resource: opts.resource, scopeMetrics: [{ scope: scope.scope, metrics: [part] }] }).length;
        }
    }
    return bytes;
  };
}
