/** The pair store's own numbers as self-metrics, read at scrape time. */
import type { MetricsRegistry } from '../observe/metrics.ts';
import type { PairStore } from './pair-store.ts';

export function registerStoreMetrics(reg: MetricsRegistry, store: PairStore): void {
  reg.callback('store_pairs', 'Pairs in the store (series per counter family)', 'gauge', () => store.pairs.length);
  reg.callback('store_ends', 'Distinct endpoint identities the store keys pairs by', 'gauge', () => store.stats().ends);
  reg.callback('store_max_pairs', 'The cardinality cap (--max-series)', 'gauge', () => store.maxSeries);
  reg.callback('store_evictions', 'Pairs removed after being idle for the series TTL', 'counter', () => store.stats().evictions);
  reg.callback('store_overflow_flows', 'Flows counted in the overflow pair because the cap was reached', 'counter', () => store.stats().overflowedFlows);
}
