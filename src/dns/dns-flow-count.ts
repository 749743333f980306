/**
 * How many flows DNS names named, counted from a receiving thread's drained batches rather than
 * per record: once per row and interval, off the receive path. An end is a DNS name when its
 * labels are external and its name is one the thread's table holds (at `--level namespace` ends
 * carry no names, so nothing is counted there).
 */
import type { DeltaBatch } from '../aggregate/delta-batch.ts';

export class DnsFlowCount {
  /** Flows in rows with an end named by DNS, since the start. */
  total = 0;
  /** Per end number of the thread's delta table: 1 when the end is a DNS name. */
  #named = new Uint8Array(1024);
  readonly #isDnsName: (name: string) => boolean;

  constructor(isDnsName: (name: string) => boolean) {
    this.#isDnsName = isDnsName;
  }

  add(b: DeltaBatch): void {
    if (b.reset) this.#named.fill(0);
    const need = b.firstEnd + b.ends.length;
    if (need > this.#named.length) {
      const grown = new Uint8Array(Math.max(need, this.#named.length * 2));
      grown.set(this.#named);
      this.#named = grown;
    }
    for (let i = 0; i < b.ends.length; i++) {
      const l = b.ends[i];
      this.#named[b.firstEnd + i] = l.namespace === 'external' && l.name !== '' && this.#isDnsName(l.name) ? 1 : 0;
    }
    const named = this.#named;
    for (let i = 0; i < b.src.length; i++) {
      const s = b.src[i];
      if (s >= 0 && (named[s] === 1 || named[b.dst[i]] === 1)) this.total += b.flows[i];
    }
  }
}
