/**
 * The zone families on /metrics (defined in ../zone-families.ts): traffic per zone pair and class,
 * traffic per workload and class in each direction, and (with --prices) what each workload's sent
 * traffic costs. Rendered from the store when scraped.
 */
import type { PairStore } from '../../aggregate/pair-store.ts';
import type { Prices } from '../../config/prices.ts';
import { escapeLabelValue } from '../../observe/metrics.ts';
import { type ZoneFamily, zoneSamples } from '../zone-families.ts';
import { ByteWriter } from '../../observe/byte-writer.ts';
import { ByteArena } from '../../observe/byte-arena.ts';

/** The family's label indices in the order /metrics writes them: by name. */
const byName = (f: ZoneFamily): number[] =>
  f.labels.map((_, i) => i).sort((a, b) => (f.labels[a].prometheus < f.labels[b].prometheus ? -1 : 1));

export class ZonePrometheusRenderer {
  readonly #store: PairStore;
  readonly #prices: Prices | undefined;
  /**
   * Each series' `name{labels} ` per family, by its label values (kept by zoneSamples while the
   * series lasts; the zone pair families share theirs): its slot in the arena, which holds the
   * bytes of the series written on the last page.
   */
  readonly #heads = new Map<ZoneFamily, WeakMap<readonly string[], number>>();
  readonly #arena = new ByteArena();

  constructor(store: PairStore, prices?: Prices) {
    this.#store = store;
    this.#prices = prices;
  }

  render(): string {
    const w = new ByteWriter();
    this.renderInto(w);
    return w.toString();
  }

  /** The zone families written into `w` (appended). */
  renderInto(w: ByteWriter): void {
    for (const { family, samples } of zoneSamples(this.#store, this.#prices)) {
      const name = family.prometheus;
      w.text(`# HELP ${name} ${family.help}\n# TYPE ${name} counter\n`);
      let heads = this.#heads.get(family);
      if (heads === undefined) this.#heads.set(family, (heads = new WeakMap()));
      for (const s of samples) {
        let slot = heads.get(s.values);
        if (slot === undefined || !this.#arena.holds(slot, s.values)) slot = this.#head(heads, family, s.values);
        this.#arena.writeTo(w, slot);
        w.sampleValue(s.value);
        w.byte(0x0a);
      }
    }
    this.#arena.sweep();
  }

  #head(heads: WeakMap<readonly string[], number>, family: ZoneFamily, values: readonly string[]): number {
    let labels = '';
    for (const i of byName(family)) labels += `${labels ? ',' : ''}${family.labels[i].prometheus}="${escapeLabelValue(values[i])}"`;
    const slot = this.#arena.add(values, `${family.prometheus}{${labels}} `);
    heads.set(values, slot);
    return slot;
  }
}
