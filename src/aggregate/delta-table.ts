/**
 * A receiving thread's counts between two merges: flows, bytes and packets per (source end,
 * destination end, dimensions). The main thread's PairStore keeps the totals; a thread only needs
 * what changed since its last shipment, so this table is emptied at every drain and stays small
 * and hot in cache.
 *
 * Rows live in typed arrays behind one open-addressing hash (linear probing, no deletes: the
 * table only ever empties whole). A record costs two WeakMap reads (Endpoint → end number), one
 * multiply-hash probe and three float adds, and allocates nothing. Ends are numbered here and
 * their labels cross to the main thread once, the first time a drain uses them (see
 * PairStore.mergeBatch); a drained batch is a handful of transferable arrays.
 *
 * Past `maxRows` distinct pairs in one interval, further new pairs count into an overflow row,
 * so totals stay exact. The end dictionary starts over once it passes `maxEnds`, so pods that
 * come and go do not pile up in it.
 */
import type { FlowRecord } from '../decode/record.ts';
import type { Endpoint, Role } from '../identify/endpoint.ts';
import { type AggregationLevel, type Dimensions, type EndLabels, endKey, projectEndpoint } from './level.ts';

/**
 * One drain: row i is (end src[i], end dst[i], dims[i]) += (flows, bytes, packets); src -1 is the
 * overflow pair. End numbers are the sender's own: `ends` holds the labels of numbers
 * [firstEnd, firstEnd + ends.length), first shipped in this batch; `reset` says the sender
 * started its numbering over before them.
 */
export interface DeltaBatch {
  reset: boolean;
  firstEnd: number;
  ends: EndLabels[];
  src: Int32Array;
  dst: Int32Array;
  dims: Uint32Array;
  flows: Float64Array;
  bytes: Float64Array;
  packets: Float64Array;
  lastMs: Float64Array;
}

export interface DeltaTableOptions {
  level?: AggregationLevel;
  dims?: Dimensions;
  /** Distinct pairs per interval before new ones count into the overflow row. Default 40,000. */
  maxRows?: number;
  /** End numbers before the dictionary starts over (at the next drain). Default max(4 x maxRows, 65,536). */
  maxEnds?: number;
}

export interface DeltaTableStats {
  /** Pairs counted since the last drain. */
  rows: number;
  /** Ends numbered in the current dictionary. */
  ends: number;
  /** Flows that went to the overflow row because an interval had more than maxRows pairs, ever. */
  overflowedFlows: number;
}

export class DeltaTable {
  readonly level: AggregationLevel;
  readonly dimensions: Dimensions;
  readonly maxRows: number;
  readonly maxEnds: number;

  readonly #dimProto: boolean;
  readonly #dimPort: boolean;
  // End dictionary. Weak by Endpoint: the identity index interns endpoints weakly.
  #endOf = new WeakMap<Endpoint, number>();
  readonly #endByKey = new Map<string, number>();
  #labels: EndLabels[] = [];
  #shipped = 0;
  #reset = false;

  // The hash: slot → row + 1 (0 is empty).
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #shift: number;
  readonly #src: Int32Array;
  readonly #dst: Int32Array;
  readonly #dims: Uint32Array;
  readonly #flows: Float64Array;
  readonly #bytes: Float64Array;
  readonly #packets: Float64Array;
  readonly #lastMs: Float64Array;
  #rows = 0;
  #ofFlows = 0;
  #ofBytes = 0;
  #ofPackets = 0;
  #ofLastMs = 0;
  #overflowedFlows = 0;

  constructor(opts: DeltaTableOptions = {}) {
    this.level = opts.level ?? 'app';
    this.dimensions = { ...opts.dims };
    this.maxRows = opts.maxRows ?? 40_000;
    if (!(Number.isInteger(this.maxRows) && this.maxRows >= 1)) throw new RangeError('maxRows must be a positive integer');
    this.maxEnds = opts.maxEnds ?? Math.max(4 * this.maxRows, 65_536);
    this.#dimProto = this.dimensions.protocol === true;
    this.#dimPort = this.dimensions.serverPort === true;
    // At most half full, so probe chains stay short.
    let cap = 16;
    while (cap < this.maxRows * 2) cap *= 2;
    this.#slots = new Int32Array(cap);
    this.#mask = cap - 1;
    this.#shift = 32 - Math.log2(cap);
    const n = this.maxRows;
    this.#src = new Int32Array(n);
    this.#dst = new Int32Array(n);
    this.#dims = new Uint32Array(n);
    this.#flows = new Float64Array(n);
    this.#bytes = new Float64Array(n);
    this.#packets = new Float64Array(n);
    this.#lastMs = new Float64Array(n);
  }

  /** Counts one flow record (the pipeline's PairSink). `nowMs` is the caller's clock. */
  add(src: Endpoint, dst: Endpoint, role: Role, rec: FlowRecord, nowMs: number): void {
    let s = this.#endOf.get(src);
    if (s === undefined) s = this.#bind(src);
    let d = this.#endOf.get(dst);
    if (d === undefined) d = this.#bind(dst);
    const r = role === 'src-client' ? 1 : role === 'src-server' ? 2 : 0;
    const proto = this.#dimProto ? rec.proto & 255 : 0;
    const port = this.#dimPort ? (r === 1 ? rec.dstPort : r === 2 ? rec.srcPort : 0) : 0;
    const dims = (r | (proto << 2) | (port << 10)) >>> 0;
    const row = this.#row(s, d, dims);
    if (row < 0) {
      this.#ofFlows += 1;
      this.#ofBytes += rec.bytes;
      this.#ofPackets += rec.packets;
      if (nowMs > this.#ofLastMs) this.#ofLastMs = nowMs;
      this.#overflowedFlows += 1;
      return;
    }
    this.#flows[row] += 1;
    this.#bytes[row] += rec.bytes;
    this.#packets[row] += rec.packets;
    if (nowMs > this.#lastMs[row]) this.#lastMs[row] = nowMs;
  }

  /** Everything counted since the last drain, in transferable arrays; the table starts empty again. */
  drain(): DeltaBatch {
    const rows = this.#rows;
    const withOverflow = this.#ofFlows > 0 || this.#ofBytes > 0 || this.#ofPackets > 0;
    const n = rows + (withOverflow ? 1 : 0);
    const b: DeltaBatch = {
      reset: this.#reset,
      firstEnd: this.#shipped,
      ends: this.#labels.slice(this.#shipped),
      src: new Int32Array(n),
      dst: new Int32Array(n),
      dims: new Uint32Array(n),
      flows: new Float64Array(n),
      bytes: new Float64Array(n),
      packets: new Float64Array(n),
      lastMs: new Float64Array(n),
    };
    b.src.set(this.#src.subarray(0, rows));
    b.dst.set(this.#dst.subarray(0, rows));
    b.dims.set(this.#dims.subarray(0, rows));
    b.flows.set(this.#flows.subarray(0, rows));
    b.bytes.set(this.#bytes.subarray(0, rows));
    b.packets.set(this.#packets.subarray(0, rows));
    b.lastMs.set(this.#lastMs.subarray(0, rows));
    if (withOverflow) {
      b.src[rows] = -1;
      b.dst[rows] = -1;
      b.flows[rows] = this.#ofFlows;
      b.bytes[rows] = this.#ofBytes;
      b.packets[rows] = this.#ofPackets;
      b.lastMs[rows] = this.#ofLastMs;
    }
    this.#shipped = this.#labels.length;
    this.#reset = false;
    this.#clear();
    if (this.#labels.length > this.maxEnds) this.#restartDictionary();
    return b;
  }

  stats(): DeltaTableStats {
    return { rows: this.#rows + (this.#ofFlows > 0 ? 1 : 0), ends: this.#labels.length, overflowedFlows: this.#overflowedFlows };
  }

  /** The row of (s, d, dims), made if new; -1 when the table is full. */
  #row(s: number, d: number, dims: number): number {
    let h = Math.imul(s, 0x9e3779b1) ^ Math.imul(d, 0x85ebca77) ^ Math.imul(dims, 0xc2b2ae3d);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = h >>> this.#shift; ; i = (i + 1) & mask) {
      const row = slots[i] - 1;
      if (row < 0) {
        const fresh = this.#rows;
        if (fresh >= this.maxRows) return -1;
        this.#rows = fresh + 1;
        slots[i] = fresh + 1;
        this.#src[fresh] = s;
        this.#dst[fresh] = d;
        this.#dims[fresh] = dims;
        return fresh;
      }
      if (this.#src[row] === s && this.#dst[row] === d && this.#dims[row] === dims) return row;
    }
  }

  #bind(ep: Endpoint): number {
    const labels = projectEndpoint(ep, this.level, this.dimensions);
    const key = endKey(labels);
    let n = this.#endByKey.get(key);
    if (n === undefined) {
      n = this.#labels.length;
      this.#labels.push(labels);
      this.#endByKey.set(key, n);
    }
    this.#endOf.set(ep, n);
    return n;
  }

  #clear(): void {
    const rows = this.#rows;
    if (rows > 0) {
      this.#slots.fill(0);
      this.#flows.fill(0, 0, rows);
      this.#bytes.fill(0, 0, rows);
      this.#packets.fill(0, 0, rows);
      this.#lastMs.fill(0, 0, rows);
    }
    this.#rows = 0;
    this.#ofFlows = 0;
    this.#ofBytes = 0;
    this.#ofPackets = 0;
    this.#ofLastMs = 0;
  }

  #restartDictionary(): void {
    this.#endOf = new WeakMap();
    this.#endByKey.clear();
    this.#labels = [];
    this.#shipped = 0;
    this.#reset = true;
  }
}
