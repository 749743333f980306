/**
 * The main thread's pair store from the run config. Apart from build-parts.ts, which the receiving
 * threads load: they only fill delta tables and never need the store's code.
 */
import type { RunConfig } from '../config/run-options.ts';
import { PairStore } from '../aggregate/pair-store.ts';
import { dimensionsOf } from './build-parts.ts';

export function storeFor(cfg: RunConfig): PairStore {
  return new PairStore({
    level: cfg.level,
    dims: dimensionsOf(cfg),
    maxSeries: cfg.maxSeries,
    seriesTtlMs: cfg.seriesTtlMs,
  });
}
