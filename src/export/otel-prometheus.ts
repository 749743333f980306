/**
 * `/metrics/otel`: the same store in OpenTelemetry conventions through the official Prometheus
 * exporter (names get `_total`, labels come from the OTel attributes with dots as underscores).
 * The exporter never starts its own server; the run command mounts `handler` on ours.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, type IMetricReader } from '@opentelemetry/sdk-metrics';
import type { PairStore } from '../aggregate/pair-store.ts';
import type { MetricsRegistry } from '../observe/metrics.ts';
import { SelfMetricProducer, StoreMetricProducer } from './otel-producer.ts';
import { ZoneMetricProducer } from './otel-zones.ts';
import type { Prices } from '../config/prices.ts';

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
    const producers = [new StoreMetricProducer(opts.store), new ZoneMetricProducer(opts.store, { prices: opts.prices }), ...(opts.registry ? [new SelfMetricProducer(opts.registry)] : [])];
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
