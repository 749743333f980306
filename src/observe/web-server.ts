/**
 * The web configuration applied to our HTTP server: TLS and client certificates on every
 * connection, basic auth on every route but the probes, the configured headers on every answer,
 * and what was refused counted in the self-metrics.
 *
 * /healthz and /readyz stay open to anyone who completes the TLS handshake: kubelet probes
 * cannot send credentials, and the answers say no more than "ok" or "ready".
 *
 * Like the exporter-toolkit, which reads its file at every handshake, a changed file is taken up
 * while running (a rotated certificate from cert-manager, a new user), here by polling the files'
 * status. What a running server cannot change (TLS on or off, the client auth type) needs a
 * restart; a file that does not load keeps the settings in force.
 */
import { unwatchFile, watchFile } from 'node:fs';
import type { HttpServer, HttpServerOptions } from './http.ts';
import type { Counter, MetricsRegistry } from './metrics.ts';
import { loadWebConfig, type WebConfig } from './web-config.ts';
import { BasicAuth, clientCertRefusal, tlsServerOptions } from './web-guard.ts';

const OPEN_PATHS = new Set(['/healthz', '/readyz']);

export interface WebMetrics {
  unauthorized: Counter;
  tlsRefused: Counter;
}

/** Registered with or without a web configuration, so alerts on them need no absent(). */
export function registerWebMetrics(registry: MetricsRegistry): WebMetrics {
  const unauthorized = registry.selfCounter('http_unauthorized');
  unauthorized.labels('missing');
  unauthorized.labels('wrong');
  const tlsRefused = registry.selfCounter('http_tls_refused');
  return { unauthorized, tlsRefused };
}

export class WebServing {
  #web: WebConfig;
  #auth: BasicAuth;
  readonly #headers: Record<string, string> = {};
  readonly #metrics: WebMetrics;

  constructor(web: WebConfig, metrics: WebMetrics) {
    this.#web = web;
    this.#auth = new BasicAuth(web.users);
    Object.assign(this.#headers, web.headers);
    this.#metrics = metrics;
  }

  get config(): WebConfig {
    return this.#web;
  }

  /** For `new HttpServer(...)`; its closures follow reloads. */
  options(): HttpServerOptions {
    const { unauthorized, tlsRefused: refused } = this.#metrics;
    const opts: HttpServerOptions = { headers: this.#headers };
    if (this.#web.tls) {
      opts.tls = tlsServerOptions(this.#web.tls);
      opts.checkConnection = (socket) => {
        const why = this.#web.tls ? clientCertRefusal(this.#web.tls, socket) : undefined;
        if (why !== undefined) refused.inc();
        return why;
      };
      opts.onTlsError = () => refused.inc();
    }
    opts.guard = async (req, res, url) => {
      if (!this.#auth.enabled || OPEN_PATHS.has(url.pathname)) return true;
      const result = await this.#auth.check(req);
      if (result === 'ok') return true;
      unauthorized.labels(result).inc();
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Basic' }).end('Unauthorized\n');
      return false;
    };
    return opts;
  }

  /** Read the file again and apply it to `server`; throws (keeping the old settings) when it cannot. */
  reload(server: HttpServer): void {
    const next = loadWebConfig(this.#web.file);
    const was = this.#web.tls,
      now = next.tls;
    if ((was === undefined) !== (now === undefined)) throw new Error('turning TLS on or off needs a restart');
    if (was && now && (was.clientAuth !== now.clientAuth || was.minVersion !== now.minVersion || was.maxVersion !== now.maxVersion)) {
      throw new Error('changing client_auth_type, min_version or max_version needs a restart');
    }
    if (now) server.setSecureContext(tlsServerOptions(now));
    this.#auth = new BasicAuth(next.users);
    for (const k of Object.keys(this.#headers)) delete this.#headers[k];
    Object.assign(this.#headers, next.headers);
    this.#web = next;
  }

  /** Poll the files every `intervalMs` and reload on a change; returns the stop function. */
  watch(server: HttpServer, intervalMs: number, report: (err: Error | undefined) => void): () => void {
    let watched: string[] = [];
    const onChange = () => {
      try {
        this.reload(server);
        report(undefined);
      } catch (err) {
        report(err as Error);
      }
      rewatch();
    };
    const rewatch = () => {
      for (const f of watched) unwatchFile(f, onChange);
      watched = [...new Set(this.#web.files)];
      for (const f of watched) watchFile(f, { interval: intervalMs, persistent: false }, onChange);
    };
    rewatch();
    return () => {
      for (const f of watched) unwatchFile(f, onChange);
    };
  }
}
