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
import type { Resource } from '@opentelemetry/resources';
import type { SelfMetrics } from './self-metrics.ts';
import { dimensionsOf } from './parts.ts';

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
  // The exporters are loaded only when OTLP is on.
  const otlp = config.otlpEndpoint ? await startOtlp(config, store, resource, self, log) : undefined;
  // Registered after OTLP so its own counters (exports, failures) appear on the page too.
  const otelPage = new OtelPrometheus({ store, resource, registry: self.registry });
  if (otlp) log.info({ endpoint: config.otlpEndpoint, protocol: config.otlpProtocol, intervalMs: config.otlpIntervalMs, temporality: otlp.temporality }, 'OTLP export on');
  let down: Promise<void> | undefined;
  return {
    renderPrometheus: () => prom.render(),
    otelHandler: (req, res) => otelPage.handler(req, res),
    shutdown: () => (down ??= (async () => {
      try {
        // shutdown() collects and exports once more: the final totals go out.
        await otlp?.shutdown();
      } catch (err) {
        log.warn({ err: String(err) }, 'final OTLP export failed');
      }
      await otelPage.shutdown().catch(() => {});
      self.stop();
    })()),
  };
}

async function startOtlp(config: RunConfig, store: PairStore, resource: Resource, self: SelfMetrics, log: Logger) {
  const { OtlpMetrics, failureLogger } = await import('../export/otel-otlp.ts');
  const where = { endpoint: config.otlpEndpoint, protocol: config.otlpProtocol };
  const onFailure = failureLogger(config.otlpIntervalMs, (err, suppressed) => {
    log.warn({ ...where, err: err?.message ?? 'unknown', ...(suppressed > 0 ? { suppressed } : {}) }, 'OTLP export failed');
  });
  return OtlpMetrics.create({
    store, resource, registry: self.registry, onFailure,
    endpoint: config.otlpEndpoint, protocol: config.otlpProtocol, intervalMs: config.otlpIntervalMs, timeoutMs: config.otlpTimeoutMs,
  });
}
