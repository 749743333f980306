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
import { ByteWriter } from '../observe/byte-writer.ts';
import { dimensionsOf } from './build-parts.ts';
import { type ExportRound, warmExports, type WarmExportsReport } from './warm-exports.ts';
import type { MetricsRegistry } from '../observe/metrics.ts';
import type { otlpEncodeRound as OtlpEncodeRound } from '../export/otel/otlp.ts';

export interface ExportsHandle {
  /** The /metrics page (classic text) written into `w`. */
  renderPrometheus(w: ByteWriter): void;
  otelHandler(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
  /** Runs every export this collector serves over a scratch store, so none runs cold on live data (warm-exports.ts). */
  warm(): Promise<WarmExportsReport>;
  /** Final OTLP export and shutdown; safe to call twice. */
  shutdown(): Promise<void>;
}

/** What the collector's exports read besides the store. */
interface ExportParts {
  readonly registry: MetricsRegistry;
  /** Set when OTLP is on (the OpenTelemetry packages are loaded then). */
  readonly resource?: Resource;
  readonly encodeRound?: typeof OtlpEncodeRound;
}

const promFor = (config: RunConfig, s: PairStore, registry: MetricsRegistry) =>
  new PrometheusTextRenderer(s, { labels: dimensionsOf(config), selfMetrics: registry });
const pageFor = (config: RunConfig, s: PairStore, registry: MetricsRegistry, r: Resource) =>
  new OtelPrometheusText({ store: s, resourceAttributes: r.attributes, registry, prices: config.prices });

/**
 * One export of each kind the collector serves, over `s` (the warm-up's ExportRound): the
 * /metrics page with its zone families, and with OTLP on an OTLP export's encoding and the
 * /metrics/otel page (otherwise those load the OpenTelemetry packages only when first asked).
 */
export function exportRound(config: RunConfig, parts: ExportParts): ExportRound {
  return (s) => {
    const w = new ByteWriter();
    const p = promFor(config, s, parts.registry);
    const z = new ZonePrometheusRenderer(s, config.prices);
    const { resource } = parts;
    const encode = resource && parts.encodeRound?.(s, { resource, prices: config.prices });
    const otel = resource && pageFor(config, s, parts.registry, resource);
    return () => {
      w.reset();
      p.renderInto(w);
      z.renderInto(w);
      encode?.();
      if (otel) for (const _ of otel.chunks());
    };
  };
}

export async function startExports(config: RunConfig, store: PairStore, self: SelfMetrics, log: Logger): Promise<ExportsHandle> {
  const prom = promFor(config, store, self.registry);
  // The OpenTelemetry packages (the resource, the SDK, the exporters) are loaded only when OTLP is
  // on, or for the resource alone at the first /metrics/otel scrape: together some 10 MiB of heap.
  const resourceOf = async () => (await import('../export/otel/resource.ts')).buildResource({ clusterName: config.clusterName });
  const zones = new ZonePrometheusRenderer(store, config.prices);
  const otlpState = { final: false };
  const resource = config.otlpEndpoint ? await resourceOf() : undefined;
  const otlp = resource ? await startOtlp(config, store, resource, self, log, otlpState) : undefined;
  // The page reads the registry when scraped, so OTLP's own counters (exports, failures) appear on it too.
  let otelPage: Promise<OtelPrometheusText> | undefined;
  const page = () => (otelPage ??= resourceOf().then((r) => pageFor(config, store, self.registry, r)));
  // Our encoder serves gRPC; the HTTP protocols' official exporters serialize for themselves.
  const encodeRound = resource && config.otlpProtocol === 'grpc' ? (await import('../export/otel/otlp.ts')).otlpEncodeRound : undefined;
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
    warm: () => warmExports(config, exportRound(config, { registry: self.registry, resource, encodeRound })),
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
