/**
 * The collector's own HTTP server. Routes are exact paths or prefixes, registered by the parts
 * that serve them (metrics, health, the Node Graph API, the map page), so no part needs to know
 * the others. Handlers may be async; an error becomes a 500 without killing the process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** TLS, access checks and fixed headers for every route (see web-config.ts). */
export interface HttpServerOptions {
  /** Serve HTTPS with these options instead of HTTP. */
  tls?: HttpsOptions;
  /** After the handshake: a reason to drop the connection, or undefined to keep it. */
  checkConnection?: (socket: TLSSocket) => string | undefined;
  /** A handshake failed (e.g. plain HTTP sent to the TLS port). */
  onTlsError?: (err: Error) => void;
  /** Before routing: false when it has answered the request itself (e.g. 401). */
  guard?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;
  /** Set on every response. */
  headers?: Readonly<Record<string, string>>;
}

interface Route {
  readonly method: string;
  readonly path: string;
  readonly prefix: boolean;
  readonly handler: Handler;
}

export class HttpServer {
  readonly #routes: Route[] = [];
  readonly #server: Server;
  #onError: (err: unknown, req: IncomingMessage) => void = () => {};
  readonly #opts: HttpServerOptions;

  constructor(opts: HttpServerOptions = {}) {
    this.#opts = opts;
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#dispatch(req, res);
    // An https.Server is an http.Server in all that is used here.
    this.#server = opts.tls ? (createHttpsServer(opts.tls, handler) as unknown as Server) : createServer(handler);
    const check = opts.checkConnection;
    if (opts.tls && check)
      this.#server.on('secureConnection', (socket: TLSSocket) => {
        if (check(socket) !== undefined) socket.destroy();
      });
    if (opts.tls && opts.onTlsError) this.#server.on('tlsClientError', opts.onTlsError);
    // Scrapers keep connections alive; a short keep-alive keeps close() prompt.
    this.#server.keepAliveTimeout = 5000;
  }

  /** Serve `method path` exactly (method 'GET' also answers HEAD). `method` '*' matches any. */
  route(method: string, path: string, handler: Handler): this {
    this.#routes.push({ method: method.toUpperCase(), path, prefix: false, handler });
    return this;
  }

  /** Serve every path under `prefix` (e.g. '/api/'). Exact routes win over prefixes; longer prefixes win. */
  mount(prefix: string, handler: Handler, method = '*'): this {
    this.#routes.push({ method: method.toUpperCase(), path: prefix, prefix: true, handler });
    return this;
  }

  /** The Node server underneath, for settings that apply to it as a whole (see http-limits.ts). */
  get node(): Server {
    return this.#server;
  }

  /** New certificates, keys or CA for connections from now on (HTTPS servers only). */
  setSecureContext(tls: HttpsOptions): void {
    (this.#server as unknown as import('node:https').Server).setSecureContext(tls);
  }

  onError(fn: (err: unknown, req: IncomingMessage) => void): this {
    this.#onError = fn;
    return this;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.#server.address() as AddressInfo;
  }

  get address(): AddressInfo | undefined {
    const a = this.#server.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #find(method: string, path: string): Route | undefined {
    const ok = (r: Route) => r.method === '*' || r.method === method || (method === 'HEAD' && r.method === 'GET');
    let best: Route | undefined;
    for (const r of this.#routes) {
      if (!ok(r)) continue;
      if (!r.prefix && r.path === path) return r;
      if (r.prefix && path.startsWith(r.path) && (!best || r.path.length > best.path.length)) best = r;
    }
    return best;
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Closed before its turn (http-limits.ts): nobody is there to read an answer.
    if (req.socket.destroyed) return;
    for (const [k, v] of Object.entries(this.#opts.headers ?? {})) res.setHeader(k, v);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('bad request\n');
      return;
    }
    try {
      if (this.#opts.guard && !(await this.#opts.guard(req, res, url))) return;
    } catch (err) {
      this.#onError(err, req);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      if (!res.writableEnded) res.end('internal error\n');
      return;
    }
    const route = this.#find(req.method ?? 'GET', url.pathname);
    if (!route) {
      const anyMethod = this.#routes.some((r) => (r.prefix ? url.pathname.startsWith(r.path) : r.path === url.pathname));
      res
        .writeHead(anyMethod ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' })
        .end(anyMethod ? 'method not allowed\n' : 'not found\n');
      return;
    }
    try {
      await route.handler(req, res, url);
    } catch (err) {
      this.#onError(err, req);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      if (!res.writableEnded) res.end('internal error\n');
    }
  }
}

/** Send a text body with a content type and length. */
/** A JSON answer, never sniffed as anything else (the Node Graph API, the policy API). */
export function sendJson(res: ServerResponse, status: number, body: unknown, head = false): void {
  res.setHeader('x-content-type-options', 'nosniff');
  sendText(res, status, 'application/json; charset=utf-8', JSON.stringify(body), head);
}

export function sendText(res: ServerResponse, status: number, contentType: string, body: string | Buffer, head = false): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'content-type': contentType, 'content-length': buf.length, 'cache-control': 'no-store' });
  res.end(head ? undefined : buf);
}
