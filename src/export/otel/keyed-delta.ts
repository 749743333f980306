/**
 * Delta temporality for series that are read as running totals (the self-metrics, the zone
 * families): what each series, by key, said at the last collection. The store's own pairs keep
 * theirs on the pair instead (producer.ts), since there are far more of them.
 */
export class KeyedDelta {
  readonly #last = new Map<string, number>();

  /** What changed since the key's last value (all of it the first time); `value` becomes the last. */
  delta(key: string, value: number): number {
    const prev = this.#last.get(key) ?? 0;
    this.#last.set(key, value);
    return value - prev;
  }
}
