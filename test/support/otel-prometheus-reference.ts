/**
 * The reference for `/metrics/otel`: the store in OpenTelemetry conventions through the official
 * Prometheus exporter (names get `_total`, labels come from the OTel attributes with dots as
 * underscores), as the collector served it until it rendered the page itself
 * (src/export/otel/prometheus-text.ts). Tests compare the two byte for byte; the bench compares
 * their cost. The exporter never starts its own server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, type IMetricReader } from '@opentelemetry/sdk-metrics';
import type { PairStore } from '../../src/aggregate/pair-store.ts';
import type { MetricsRegistry } from '../../src/observe/metrics.ts';
import { SelfMetricProducer, StoreMetricProducer } from '../../src/export/otel/producer.ts';
import { ZoneMetricProducer } from '../../src/export/otel/zones.ts';
import type { Prices } from '../../src/config/prices.ts';

export interface OtelPrometheusOptions {
  store: PairStore;
  resource: Resource;
  /** Self-metrics on the same page. */
  registry?: MetricsRegistry;
  /** Prices per zone class: the workload cost metric (none without). */
  prices?: Prices;
}

export class OtelPrometheus {
  readonly provider: MeterProvider;
  private readonly exporter: PrometheusExporter;

  constructor(opts: OtelPrometheusOptions) {
    const producers = [
      new StoreMetricProducer(opts.store),
      new ZoneMetricProducer(opts.store, { prices: opts.prices }),
      ...(opts.registry ? [new SelfMetricProducer(opts.registry)] : []),
    ];
    this.exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: producers });
    // The exporter package pins its own copy of sdk-metrics; the reader contract is the same.
    this.provider = new MeterProvider({ resource: opts.resource, readers: [this.exporter as unknown as IMetricReader] });
  }

  /** Serves the page; mount it at /metrics/otel. */
  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    this.exporter.getMetricsRequestHandler(req, res);
  };

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}
