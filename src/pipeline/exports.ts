/**
 * The exports of the one store: the seed's Prometheus text (plus self-metrics) for /metrics, the
 * OpenTelemetry-convention page for /metrics/otel, and OTLP over gRPC when an endpoint is set.
 * All of them read the store when collected; none of them runs on a receiving thread.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunConfig } from '../config/run-options.ts';
import type { PairStore } from '../aggregate/pair-store.ts';
import { RateLimitedLog, type Logger } from '../observe/log.ts';
import { PrometheusTextRenderer } from '../export/prometheus/text.ts';
import { OtelPrometheusText, OTEL_PAGE_CONTENT_TYPE } from '../export/otel/prometheus-text.ts';
import type { Resource } from '@opentelemetry/resources';
import { ZonePrometheusRenderer } from '../export/prometheus/zones.ts';
import type { SelfMetrics } from './self-metrics.ts';
import type { ByteWriter } from '../observe/byte-writer.ts';
import { dimensionsOf } from './build-parts.ts';

export interface ExportsHandle {
  /** The /metrics page (classic text) written into `w`. */
  renderPrometheus(w: ByteWriter): void;
  otelHandler(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
  /** Final OTLP export and shutdown; safe to call twice. */
  shutdown(): Promise<void>;
}

export async function startExports(config: RunConfig, store: PairStore, self: SelfMetrics, log: Logger): Promise<ExportsHandle> {
  const prom = new PrometheusTextRenderer(store, {
    labels: dimensionsOf(config),
    selfMetrics: self.registry,
  });
  // The OpenTelemetry packages (the resource, the SDK, the exporters) are loaded only when OTLP is
  // on, or for the resource alone at the first /metrics/otel scrape: together some 10 MiB of heap.
  const resourceOf = async () => (await import('../export/otel/resource.ts')).buildResource({ clusterName: config.clusterName });
  const zones = new ZonePrometheusRenderer(store, config.prices);
  const otlpState = { final: false };
  const otlp = config.otlpEndpoint ? await startOtlp(config, store, await resourceOf(), self, log, otlpState) : undefined;
  // The page reads the registry when scraped, so OTLP's own counters (exports, failures) appear on it too.
  let otelPage: Promise<OtelPrometheusText> | undefined;
  const page = () =>
    (otelPage ??= resourceOf().then(
      (r) => new OtelPrometheusText({ store, resourceAttributes: r.attributes, registry: self.registry, prices: config.prices }),
    ));
  if (otlp)
    log.info(
      { endpoint: config.otlpEndpoint, protocol: config.otlpProtocol, intervalMs: config.otlpIntervalMs, temporality: otlp.temporality },
      'OTLP export on',
    );
  let down: Promise<void> | undefined;
  return {
    renderPrometheus: (w) => {
      prom.renderInto(w);
      zones.renderInto(w);
    },
    otelHandler: async (req, res) => {
      const p = await page();
      res.writeHead(200, { 'content-type': OTEL_PAGE_CONTENT_TYPE, 'cache-control': 'no-store' });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      await p.write(res);
    },
    shutdown: () =>
      (down ??= (async () => {
        try {
          // shutdown() collects and exports once more: the final totals go out.
          otlpState.final = true;
          await otlp?.shutdown();
          if (otlp && otlp.exporter.inFlight > 0)
            log.warn({ endpoint: config.otlpEndpoint, requests: otlp.exporter.inFlight }, 'final OTLP export did not finish in time');
        } catch (err) {
          log.warn({ err: String(err) }, 'final OTLP export failed');
        }
        self.stop();
      })()),
  };
}

async function startOtlp(
  config: RunConfig,
  store: PairStore,
  resource: Resource,
  self: SelfMetrics,
  log: Logger,
  state: { final: boolean },
) {
  const { OtlpMetrics } = await import('../export/otel/otlp.ts');
  const where = { endpoint: config.otlpEndpoint, protocol: config.otlpProtocol };
  // One warn line per interval at most, however many requests of that interval failed: a receiver
  // that is down must not flood the log, and the failure count is in `otlp_exports_total`.
  const perInterval = new RateLimitedLog(log, config.otlpIntervalMs * 0.9, 1);
  // The SDK tells only its diagnostics logger about the final export at shutdown: say it always.
  const onFailure = (err: Error | undefined) => {
    const fields = { ...where, err: err?.message ?? 'unknown' };
    if (state.final) log.warn(fields, 'final OTLP export failed');
    else perInterval.warn('otlp_export', fields, 'OTLP export failed', performance.now());
  };
  // Failing → recovered is said once (issue 13), so the log does not end on a failure that is over.
  let failures = 0;
  let failingSinceMs = 0;
  const onResult = (ok: boolean) => {
    if (!ok) {
      if (failures++ === 0) failingSinceMs = Date.now();
    } else if (failures > 0) {
      log.warn({ ...where, failures, failingMs: Date.now() - failingSinceMs }, 'OTLP export recovered');
      failures = 0;
    }
  };
  return OtlpMetrics.create({
    store,
    resource,
    registry: self.registry,
    onFailure,
    onResult,
    prices: config.prices,
    endpoint: config.otlpEndpoint,
    protocol: config.otlpProtocol,
    intervalMs: config.otlpIntervalMs,
    timeoutMs: config.otlpTimeoutMs,
  });
}
