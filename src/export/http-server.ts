/**
 * The HTTP server the exports are served on, set up one way for the collector and for
 * `netflow-k8s nodegraph`: the web configuration (TLS, basic auth, headers; observe/web-server.ts),
 * the server limits (observe/http-limits.ts), handler errors logged, and the refusals counted.
 */
import { HttpServer } from '../observe/http.ts';
import { applyHttpLimits, DEFAULT_HTTP_LIMITS, type HttpLimits } from '../observe/http-limits.ts';
import type { Logger } from '../observe/log.ts';
import { MetricsRegistry } from '../observe/metrics.ts';
import type { WebConfig } from '../observe/web-config.ts';
import { registerWebMetrics, WebServing } from '../observe/web-server.ts';

export interface HttpServerSetup {
  log: Logger;
  /** `--web-config-file`, loaded; none: plain HTTP, open to all. */
  web?: WebConfig;
  /** Where the refusals are counted; none: nowhere that shows (a server without /metrics). */
  registry?: MetricsRegistry;
  limits?: HttpLimits;
}

export interface HttpServerHandle {
  readonly server: HttpServer;
  /** Takes up a changed web configuration while running (a rotated certificate, a new user); returns the stop. */
  watchWebConfig(): () => void;
}

/** Routes are mounted on `server` by the caller, which then listens. */
export function createHttpServer(setup: HttpServerSetup): HttpServerHandle {
  const { log, web, registry } = setup;
  const webMetrics = registry ? registerWebMetrics(registry) : web ? registerWebMetrics(new MetricsRegistry()) : undefined;
  const serving = web && webMetrics ? new WebServing(web, webMetrics) : undefined;
  const server = new HttpServer(serving?.options() ?? {}).onError((err, req) =>
    log.error({ err: String(err), url: req.url }, 'HTTP handler failed'),
  );
  const refused = applyHttpLimits(server.node, setup.limits ?? DEFAULT_HTTP_LIMITS);
  registry?.report('http_connections_refused', () => [
    [['max_connections'], refused.maxConnections],
    [['pipelined'], refused.pipelined],
  ]);
  return {
    server,
    watchWebConfig: () =>
      serving?.watch(server, 10_000, (err) => {
        if (err) log.warn({ file: serving.config.file, err: err.message }, 'web config not reloaded; the settings in force stay');
        else log.info({ file: serving.config.file }, 'web config reloaded');
      }) ?? (() => {}),
  };
}
