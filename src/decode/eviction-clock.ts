/**
 * Exporters in eviction order, CLOCK-style (a second chance): oldest first, and the hand spares an
 * exporter seen since it last passed (ExporterState.referenced), moving it to the end. A datagram
 * then only sets a flag on the object it touches anyway, instead of moving its exporter here.
 */
import type { ExporterState } from './exporter-state.ts';

export class EvictionClock {
  #oldest: ExporterState | undefined = undefined;
  #newest: ExporterState | undefined = undefined;

  /**
   * The exporter to evict: the oldest not seen since the hand last passed; those seen since go to
   * the end with their flag cleared (one pass at most, so bounded by the exporters kept).
   */
  candidate(): ExporterState | undefined {
    for (let es = this.#oldest; es !== undefined; es = this.#oldest) {
      if (!es.referenced) return es;
      es.referenced = false;
      if (es === this.#newest) return es;
      this.remove(es);
      this.append(es);
    }
    return undefined;
  }

  append(es: ExporterState): void {
    es.older = this.#newest;
    es.newer = undefined;
    if (this.#newest !== undefined) this.#newest.newer = es;
    else this.#oldest = es;
    this.#newest = es;
  }

  remove(es: ExporterState): void {
    if (es.older !== undefined) es.older.newer = es.newer;
    else this.#oldest = es.newer;
    if (es.newer !== undefined) es.newer.older = es.older;
    else this.#newest = es.older;
    es.older = es.newer = undefined;
  }
}
