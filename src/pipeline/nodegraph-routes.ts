/**
 * The routes `run` adds to its HTTP server beyond metrics and health: the Node Graph API
 * (/api/health, /api/graph/fields, /api/graph/data) and the map page at /. History comes from
 * --prometheus-url when set; otherwise a live window over the store answers.
 */
import type { Collector } from './collector.ts';
import type { End, PairStore } from '../aggregate/pair-store.ts';
import { NodeGraphApi } from '../export/nodegraph/api.ts';
import { LiveWindow, type PairEnd, type PairSource } from '../export/nodegraph/live.ts';
import { PrometheusClient } from '../export/nodegraph/prometheus.ts';
import { mountMapPage } from '../export/map-page/serve.ts';

/** The store's pairs as the live window reads them: the ends as the store's level names them. */
export function storePairSource(store: PairStore): PairSource {
  // One PairEnd per store End, so the live window recognises an end by identity.
  const ends = new WeakMap<End, PairEnd>();
  const endOf = (e: End): PairEnd => {
    let pe = ends.get(e);
    if (pe === undefined) {
      pe = { namespace: e.labels.namespace, app: e.labels.host, kind: e.labels.kind || undefined };
      ends.set(e, pe);
    }
    return pe;
  };
  return {
    forEachPair(visit) {
      for (const p of store.pairs) visit(endOf(p.src), endOf(p.dst), p.role, p.flows, p.bytes, p.packets, p.classBytes);
    },
  };
}

/** Mounts the Node Graph API and the map page; returns what to stop on shutdown. */
export function mountNodeGraphOnCollector(c: Collector): () => void {
  const cfg = c.config;
  const prometheus = cfg.prometheusUrl
    ? new PrometheusClient({ url: cfg.prometheusUrl, bearerTokenFile: cfg.prometheusBearerTokenFile, caFile: cfg.prometheusCaFile })
    : undefined;
  const live = prometheus ? undefined : new LiveWindow(storePairSource(c.store));
  live?.start();
  const api = new NodeGraphApi({
    prometheus,
    live,
    prices: cfg.prices,
    onError: (err) => c.log.warn({ err: String(err) }, 'node graph: Prometheus query failed'),
  });
  api.mount(c.server);
  try {
    mountMapPage(c.server);
  } catch (err) {
    c.log.warn({ err: String(err) }, 'map page not served');
  }
  return () => live?.stop();
}
