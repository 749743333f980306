/**
 * The exports of the one store: the seed's Prometheus text (plus self-metrics) for /metrics, the
 * OpenTelemetry-convention page for /metrics/otel, and OTLP over gRPC when an endpoint is set.
 * All of them read the store when collected; none of them runs on a receiving thread.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunConfig } from '../config/run-options.ts';
import type { PairStore } from '../aggregate/pair-store.ts';
import type { Logger } from '../observe/log.ts';
import { PrometheusTextRenderer } from '../export/prometheus-text.ts';
import { OtelPrometheus } from '../export/otel-prometheus.ts';
import { buildResource } from '../export/otel-resource.ts';
import type { SelfMetrics } from './self-metrics.ts';
import { dimensionsOf } from './parts.ts';
import { FailureLog } from '../observe/failure-log.ts';

export interface ExportsHandle {
  renderPrometheus(): string;
  otelHandler(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
  /** Final OTLP export and shutdown; safe to call twice. */
  shutdown(): Promise<void>;
}

export async function startExports(config: RunConfig, store: PairStore, self: SelfMetrics, log: Logger): Promise<ExportsHandle> {
  const prom = new PrometheusTextRenderer(store, {
    labels: dimensionsOf(config),
    selfMetrics: self.registry,
  });
  const resource = buildResource({ clusterName: config.clusterName });
  // The gRPC exporter is loaded only when OTLP is on.
  // The SDK reports failed exports only to its diagnostics logger: say them here, once per change.
  const otlpState = new FailureLog(log, 'OTLP export');
  let final = false;
  const onResult = (ok: boolean, error: Error | undefined) => {
    if (final && !ok) log.warn({ endpoint: config.otlpEndpoint, err: String(error?.message ?? error) }, 'final OTLP export failed');
    else otlpState.result(ok, error);
  };
  const otlp = config.otlpEndpoint
    ? new (await import('../export/otel-otlp.ts')).OtlpMetrics({ store, resource, endpoint: config.otlpEndpoint, intervalMs: config.otlpIntervalMs, registry: self.registry, onResult })
    : undefined;
  // Registered after OTLP so its own counters (exports, failures) appear on the page too.
  const otelPage = new OtelPrometheus({ store, resource, registry: self.registry });
  if (otlp) log.info({ endpoint: config.otlpEndpoint, intervalMs: config.otlpIntervalMs, temporality: otlp.temporality }, 'OTLP export on');
  let down: Promise<void> | undefined;
  return {
    renderPrometheus: () => prom.render(),
    otelHandler: (req, res) => otelPage.handler(req, res),
    shutdown: () => (down ??= (async () => {
      try {
        // shutdown() collects and exports once more: the final totals go out.
        final = true;
        await otlp?.shutdown();
        if (otlp && otlp.exporter.inFlight > 0) log.warn({ endpoint: config.otlpEndpoint, requests: otlp.exporter.inFlight }, 'final OTLP export did not finish in time');
      } catch (err) {
        log.warn({ err: String(err) }, 'final OTLP export failed');
      }
      await otelPage.shutdown().catch(() => {});
      self.stop();
    })()),
  };
}
