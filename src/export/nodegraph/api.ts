/**
 * The Grafana Node Graph API (/api/health, /api/graph/fields, /api/graph/data), the seed's Python
 * service done right. The same answers feed Grafana's Infinity datasource, the archived
 * hamedkarbasi93-nodegraphapi-datasource plugin and our own map page. History comes from
 * Prometheus when one is configured; otherwise the live store's recent window answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, type HttpServer } from '../../observe/http.ts';
import { buildGraph, EDGE_FIELDS, NODE_FIELDS, type Graph, type PairRate } from './graph.ts';
import type { LiveWindow } from './live.ts';
import type { Prices } from '../../config/prices.ts';
import { prometheusRates, PrometheusError, type PrometheusClient } from './prometheus.ts';
import { parseGraphQuery, QueryError } from './query.ts';

export interface NodeGraphApiOptions {
  /** History source; when set, /api/graph/data asks it. */
  prometheus?: PrometheusClient;
  /** Prices per zone class, for each edge's cost per hour. */
  prices?: Prices;
  /** The live store's recent window; used when no Prometheus is configured. */
  live?: LiveWindow;
  now?: () => number;
  /** Called when Prometheus fails, for the log. */
  onError?: (err: unknown) => void;
}

export type NodeGraphSource = 'prometheus' | 'live' | 'none';

export class NodeGraphApi {
  readonly #prometheus?: PrometheusClient;
  readonly #live?: LiveWindow;
  readonly #prices?: Prices;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;

  constructor(opts: NodeGraphApiOptions) {
    this.#prometheus = opts.prometheus;
    this.#live = opts.live;
    this.#prices = opts.prices;
    this.#now = opts.now ?? Date.now;
    this.#onError = opts.onError ?? (() => {});
  }

  get source(): NodeGraphSource {
    return this.#prometheus ? 'prometheus' : this.#live ? 'live' : 'none';
  }

  /** The graph for a query string as Grafana sends it (from, to, srcnamespace, dstnamespace). */
  async graph(params: URLSearchParams): Promise<Graph> {
    const now = this.#now();
    const q = parseGraphQuery(params, now);
    let rates: PairRate[] = [];
    if (this.#prometheus) rates = await prometheusRates(this.#prometheus, q, now);
    else if (this.#live) rates = this.#live.rates(q);
    return buildGraph(rates, this.#prices);
  }

  health(): Record<string, unknown> {
    const body: Record<string, unknown> = { status: 'ok', source: this.source };
    if (this.#prometheus) body.prometheus = this.#prometheus.base.origin;
    if (this.#live && !this.#prometheus) body.historySeconds = Math.floor(this.#live.historyS);
    return body;
  }

  /** Handles /api/health and /api/graph/*; answers 404 for other /api paths under its mount. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: 'method not allowed' }, head);
    }
    switch (url.pathname) {
      case '/api/health':
        return sendJson(res, 200, this.health(), head);
      case '/api/graph/fields':
        return sendJson(res, 200, { nodes_fields: NODE_FIELDS, edges_fields: EDGE_FIELDS }, head);
      case '/api/graph/data':
        try {
          return sendJson(res, 200, await this.graph(url.searchParams), head);
        } catch (err) {
          if (err instanceof QueryError) return sendJson(res, 400, { error: err.message }, head);
          if (err instanceof PrometheusError) {
            this.#onError(err);
            return sendJson(res, 502, { error: err.message }, head);
          }
          throw err;
        }
      default:
        return sendJson(res, 404, { error: 'not found' }, head);
    }
  }

  /** Registers the API's routes on the collector's (or the standalone) HTTP server. */
  mount(server: HttpServer): void {
    const h = (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => this.handle(req, res, url);
    server.route('*', '/api/health', h);
    server.route('*', '/api/graph/fields', h);
    server.route('*', '/api/graph/data', h);
  }
}
