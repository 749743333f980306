/**
 * The web configuration applied to our HTTP server: TLS and client certificates on every
 * connection, basic auth on every route but the probes, the configured headers on every answer,
 * and what was refused counted in the self-metrics.
 *
 * /healthz and /readyz stay open to anyone who completes the TLS handshake: kubelet probes
 * cannot send credentials, and the answers say no more than "ok" or "ready".
 */
import type { HttpServerOptions } from './http.ts';
import type { MetricsRegistry } from './metrics.ts';
import type { WebConfig } from './web-config.ts';
import { BasicAuth, clientCertRefusal, tlsServerOptions } from './web-guard.ts';

const OPEN_PATHS = new Set(['/healthz', '/readyz']);

export function webServerOptions(web: WebConfig | undefined, registry: MetricsRegistry): HttpServerOptions {
  if (!web) return {};
  const unauthorized = registry.counter('http_unauthorized', 'HTTP requests refused with 401 by basic auth (--web-config-file), by reason', ['reason']);
  unauthorized.labels('missing');
  unauthorized.labels('wrong');
  const auth = new BasicAuth(web.users);
  const opts: HttpServerOptions = { headers: web.headers };
  if (web.tls) {
    const tls = web.tls;
    opts.tls = tlsServerOptions(tls);
    const refused = registry.counter('http_tls_refused', 'Connections refused at or right after the TLS handshake (plain HTTP, a client certificate missing or not trusted)');
    opts.checkConnection = (socket) => {
      const why = clientCertRefusal(tls, socket);
      if (why !== undefined) refused.inc();
      return why;
    };
    opts.onTlsError = () => refused.inc();
  }
  if (auth.enabled) {
    opts.guard = async (req, res, url) => {
      if (OPEN_PATHS.has(url.pathname)) return true;
      const result = await auth.check(req);
      if (result === 'ok') return true;
      unauthorized.labels(result).inc();
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Basic' }).end('Unauthorized\n');
      return false;
    };
  }
  return opts;
}
