/**
 * Deadlines by the second: each item waits in the bucket of its deadline, so a tick touches only
 * the items due, not every item kept. The decoder's expiry walked every template of every exporter
 * each second; with 50,000 exporters that was most of a thread's time.
 *
 * An item is in one bucket at most. Moving it to an earlier deadline moves it; a later deadline
 * leaves it where it is (the caller looks again when it comes due and schedules it anew), so a
 * refresh costs nothing here.
 */
export class DeadlineWheel<T extends { wheelSec: number }> {
  readonly #buckets = new Map<number, Set<T>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Handed out by the first take() in or after the second of `deadlineMs` (the caller checks the exact time). */
  schedule(item: T, deadlineMs: number): void {
    const sec = Math.floor(deadlineMs / 1000);
    if (item.wheelSec !== 0 && item.wheelSec <= sec) return;
    if (item.wheelSec !== 0) this.remove(item);
    let b = this.#buckets.get(sec);
    if (b === undefined) {
      b = new Set();
      this.#buckets.set(sec, b);
    }
    b.add(item);
    item.wheelSec = sec;
    this.#size++;
  }

  remove(item: T): void {
    if (item.wheelSec === 0) return;
    const b = this.#buckets.get(item.wheelSec);
    if (b?.delete(item) && b.size === 0) this.#buckets.delete(item.wheelSec);
    this.#size--;
    item.wheelSec = 0;
  }

  /**
   * Takes every item due at `nowMs` out of the wheel and hands it to `due` (which may schedule it
   * again). Costs the number of buckets (at most one per second of the longest deadline) plus the
   * items due.
   */
  take(nowMs: number, due: (item: T) => void): void {
    const nowSec = Math.floor(nowMs / 1000);
    // Due buckets first: an item not quite due yet goes back into this second's bucket, for the next take().
    const dueBuckets: Set<T>[] = [];
    for (const [sec, b] of this.#buckets) {
      if (sec > nowSec) continue;
      this.#buckets.delete(sec);
      dueBuckets.push(b);
    }
    for (const b of dueBuckets) {
      for (const item of b) {
        // Removed meanwhile (remove() found its bucket gone): not due any more.
        if (item.wheelSec === 0) continue;
        item.wheelSec = 0;
        this.#size--;
        due(item);
      }
    }
  }
}
