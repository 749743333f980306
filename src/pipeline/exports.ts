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
import { OtelPrometheusText, OTEL_PAGE_CONTENT_TYPE } from '../export/otel-prometheus-text.ts';
import { buildResource } from '../export/otel-resource.ts';
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
  // The gRPC exporter is loaded only when OTLP is on.
  const otlp = config.otlpEndpoint
    ? new (await import('../export/otel-otlp.ts')).OtlpMetrics({ store, resource, endpoint: config.otlpEndpoint, intervalMs: config.otlpIntervalMs, registry: self.registry })
    : undefined;
  // Built after OTLP so its own counters (exports, failures) appear on the page too.
  const otelPage = new OtelPrometheusText({ store, resourceAttributes: resource.attributes, registry: self.registry });
  if (otlp) log.info({ endpoint: config.otlpEndpoint, intervalMs: config.otlpIntervalMs, temporality: otlp.temporality }, 'OTLP export on');
  let down: Promise<void> | undefined;
  return {
    renderPrometheus: () => prom.render(),
    otelHandler: (req, res) => {
      res.writeHead(200, { 'content-type': OTEL_PAGE_CONTENT_TYPE, 'cache-control': 'no-store' });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      return otelPage.write(res);
    },
    shutdown: () => (down ??= (async () => {
      try {
        // shutdown() collects and exports once more: the final totals go out.
        await otlp?.shutdown();
      } catch (err) {
        log.warn({ err: String(err) }, 'final OTLP export failed');
      }
      self.stop();
    })()),
  };
}
