/**
 * The rows of the workload families (zone-families.ts): the store's ends summed per (namespace,
 * app), kept while the workload has traffic in the store. An end leaves the store when its pairs
 * expire; what it had counted at the last collection that saw it stays in its workload's totals,
 * so a workload's counters never go down while its other ends carry on.
 *
 * The numbers live in typed arrays: a row's by its slot, an end's by its id in the store (ids are
 * reused only once an end is freed, and a new end at an id means the one before it left). Four
 * arrays of sums per row, a Map of ends per row and an array per end (with WeakMaps from the
 * ends) were some 1.2 KiB a workload, 4.6 MiB at 3,900.
 */
import type { End, PairStore } from '../aggregate/pair-store.ts';
import { CLASS_COUNT } from '../aggregate/class-bytes.ts';

const C = CLASS_COUNT;
/** Numbers per row: sent and received per class code as of this collection, then what departed ends left (the same two). */
const ROW = 4 * C;
/** Numbers per end: its sent and received bytes per class code at the last collection that saw it. */
const END = 2 * C;

export class WorkloadRow {
  readonly namespace: string;
  readonly app: string;
  /** Where its numbers are in the table's counts, ROW of them. */
  readonly slot: number;
  /** The collection that last summed it; -1 once it left the table. */
  epoch = 0;
  /** Sample label values per class code and direction (egress 2c, ingress 2c+1), then cost per class. */
  readonly values: (readonly string[] | undefined)[] = [];
  constructor(namespace: string, app: string, slot: number) {
    this.namespace = namespace;
    this.app = app;
    this.slot = slot;
  }
}

export class WorkloadTable {
  readonly #rows = new Map<string, WorkloadRow>();
  #counts = new Float64Array(ROW * 64);
  readonly #freeSlots: number[] = [];
  #slots = 0;
  /** By end id + 1 (the overflow end's id is -1): the end last seen there, its row, the collection that saw it, its traffic then. */
  #endAt: (End | undefined)[] = [];
  #endRow: (WorkloadRow | undefined)[] = [];
  #endSeen = new Int32Array(64);
  #endLast = new Float64Array(END * 64);
  /** An end's traffic as read now. */
  readonly #traffic = new Float64Array(END);
  #epoch = 0;

  /** Bytes the row's workload sent in class `c`, as of the last collection. */
  sent(r: WorkloadRow, c: number): number {
    return this.#counts[ROW * r.slot + c];
  }

  /** Bytes the row's workload received in class `c`, as of the last collection. */
  received(r: WorkloadRow, c: number): number {
    return this.#counts[ROW * r.slot + C + c];
  }

  /** Sums the store's ends now: the rows with traffic, in the order of their first end. */
  collect(store: PairStore): WorkloadRow[] {
    const epoch = ++this.#epoch;
    const out: WorkloadRow[] = [];
    /** Ends whose id a new end took since the last collection: their row and their traffic then. */
    let departed: [WorkloadRow, Float64Array][] | undefined;
    const t = this.#traffic;
    for (const e of store.ends()) {
      if (!e.trafficInto(t, 0)) continue;
      const at = e.id + 1;
      if (at >= this.#endSeen.length) this.#growEnds(at);
      const before = this.#endAt[at];
      let r = before === e ? this.#endRow[at] : undefined;
      if (before !== undefined && before !== e) (departed ??= []).push([this.#endRow[at]!, this.#endLast.slice(END * at, END * at + END)]);
      if (r === undefined || r.epoch < 0) r = this.#rowOf(e);
      this.#endAt[at] = e;
      this.#endRow[at] = r;
      this.#endSeen[at] = epoch;
      const counts = this.#counts;
      const k = ROW * r.slot;
      if (r.epoch !== epoch) {
        r.epoch = epoch;
        counts.copyWithin(k, k + 2 * C, k + 4 * C);
        out.push(r);
      }
      const last = this.#endLast;
      for (let i = 0; i < END; i++) {
        last[END * at + i] = t[i];
        counts[k + i] += t[i];
      }
    }
    for (const [key, r] of this.#rows) {
      if (r.epoch === epoch) continue;
      // No end of it is left: the series goes, as a seed row does when its last pair expires.
      this.#rows.delete(key);
      r.epoch = -1;
      this.#freeSlots.push(r.slot);
    }
    for (const [r, last] of departed ?? []) this.#keep(r, last, 0);
    for (let at = 0; at < this.#endAt.length; at++) {
      if (this.#endAt[at] === undefined || this.#endSeen[at] === epoch) continue;
      // Gone since the last collection: what it had counted stays in the workload's totals.
      this.#keep(this.#endRow[at]!, this.#endLast, END * at);
      this.#endAt[at] = undefined;
      this.#endRow[at] = undefined;
    }
    return out;
  }

  /** A departed end's traffic (`last` from `from`) into its row's base and sums, if the row is still there. */
  #keep(r: WorkloadRow, last: Float64Array, from: number): void {
    if (r.epoch !== this.#epoch) return;
    const counts = this.#counts;
    const k = ROW * r.slot;
    for (let i = 0; i < END; i++) {
      counts[k + 2 * C + i] += last[from + i];
      counts[k + i] += last[from + i];
    }
  }

  #rowOf(e: End): WorkloadRow {
    const key = [e.labels.namespace, e.labels.host].join('\u0000');
    let r = this.#rows.get(key);
    if (r === undefined) {
      const slot = this.#freeSlots.pop() ?? this.#slots++;
      if (ROW * this.#slots > this.#counts.length) {
        const grown = new Float64Array(2 * this.#counts.length);
        grown.set(this.#counts);
        this.#counts = grown;
      }
      this.#counts.fill(0, ROW * slot, ROW * slot + ROW);
      this.#rows.set(key, (r = new WorkloadRow(e.labels.namespace, e.labels.host, slot)));
    }
    return r;
  }

  #growEnds(at: number): void {
    let n = this.#endSeen.length;
    while (n <= at) n *= 2;
    const seen = new Int32Array(n);
    seen.set(this.#endSeen);
    this.#endSeen = seen;
    const last = new Float64Array(END * n);
    last.set(this.#endLast);
    this.#endLast = last;
  }
}
