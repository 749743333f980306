/**
 * The zone families on /metrics (defined in ../zone-families.ts): traffic per zone pair and class,
 * traffic per workload and class in each direction, and (with --prices) what each workload's sent
 * traffic costs. Rendered from the store when scraped.
 */
import type { PairStore } from '../../aggregate/pair-store.ts';
import type { Prices } from '../../config/prices.ts';
import { escapeLabelValue, formatNumber } from '../../observe/metrics.ts';
import { type ZoneFamily, zoneSamples } from '../zone-families.ts';

/** The family's label indices in the order /metrics writes them: by name. */
const byName = (f: ZoneFamily): number[] =>
  f.labels.map((_, i) => i).sort((a, b) => (f.labels[a].prometheus < f.labels[b].prometheus ? -1 : 1));

export class ZonePrometheusRenderer {
  readonly #store: PairStore;
  readonly #prices: Prices | undefined;

  constructor(store: PairStore, prices?: Prices) {
    this.#store = store;
    this.#prices = prices;
  }

  render(): string {
    let out = '';
    for (const { family, samples } of zoneSamples(this.#store, this.#prices)) {
      const name = family.prometheus;
      out += `# HELP ${name} ${family.help}\n# TYPE ${name} counter\n`;
      const order = byName(family);
      for (const s of samples) {
        let labels = '';
        for (const i of order) labels += `${labels ? ',' : ''}${family.labels[i].prometheus}="${escapeLabelValue(s.values[i])}"`;
        out += `${name}{${labels}} ${formatNumber(s.value)}\n`;
      }
    }
    return out;
  }
}
