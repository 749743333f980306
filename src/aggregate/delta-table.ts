/**
 * A receiving thread's counts between two merges: flows, bytes and packets per (source end,
 * destination end, dimensions). The main thread's PairStore keeps the totals; a thread only needs
 * what changed since its last shipment, so this table is emptied at every drain and stays small
 * and hot in cache.
 *
 * Rows live in one Float64Array, 8 doubles (one 64-byte cache line) per row, behind one
 * open-addressing hash (linear probing, no deletes: the table only ever empties whole). Traffic
 * spreads over many pairs, so a row is usually cold: one line per row instead of one per field
 * halves the cache misses of a record. A record costs two reads of a direct-mapped cache
 * (endpoint id → end number, in front of the WeakMap that owns the mapping), one multiply-hash
 * probe and three float adds, and allocates nothing. Ends are numbered here and
 * their labels cross to the main thread once, the first time a drain uses them (see
 * PairStore.mergeBatch); a drained batch is a handful of transferable arrays.
 *
 * With `conversations`, rows are keyed by protocol and server port as well, and the drain ships them
 * twice: as pairs with those masked off as --extra-labels says, and as conversations (see
 * conversation-batch.ts), so keeping conversations costs the receive path no lookup of its own.
 *
 * Past `maxRows` distinct pairs in one interval, further new pairs count into an overflow row,
 * so totals stay exact. The end dictionary starts over once it passes `maxEnds`, so pods that
 * come and go do not pile up in it.
 */
import type { FlowRecord } from '../decode/record.ts';
import type { Endpoint, Role } from '../identify/endpoint.ts';
import { type AggregationLevel, type Dimensions, type EndLabels, endKey, projectEndpoint } from './level.ts';
import { DOUBLE_ZERO } from '../observe/double-zero.ts';
import { UNDECIDED, type ConversationBatch } from './conversation-batch.ts';

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
  /** Conversations (server side of each connection) in the same end numbers, when kept. */
  conversations?: ConversationBatch;
}

const ROW = 8;
const CACHE_MASK = 16383;
const SRC = 0, DST = 1, DIMS = 2, FLOWS = 3, BYTES = 4, PACKETS = 5, LAST = 6, FIRST = 7;

export interface DeltaTableOptions {
  level?: AggregationLevel;
  dims?: Dimensions;
  /** Distinct pairs per interval before new ones count into the overflow row. Default 40,000. */
  maxRows?: number;
  /** End numbers before the dictionary starts over (at the next drain). Default max(4 x maxRows, 65,536). */
  maxEnds?: number;
  /** Keep conversations for NetworkPolicy work (see conversation-batch.ts): rows are then keyed by protocol and server port too. */
  conversations?: boolean;
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
  /**
   * (endpoint id, end number) at slot id & CACHE_MASK: a WeakMap read costs about 20 ns a
   * record more (measured). Interned ids start at 1 and are never reused, so an empty slot (id 0)
   * or another endpoint's id is simply a miss.
   */
  readonly #cache = new Int32Array((CACHE_MASK + 1) * 2);
  readonly #endByKey = new Map<string, number>();
  #labels: EndLabels[] = [];
  #shipped = 0;
  #reset = false;

  // The hash: slot → row + 1 (0 is empty).
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #shift: number;
  /** Row r at r * ROW: src, dst, dims, flows, bytes, packets, lastMs, firstMs (doubles hold the integers exactly). */
  readonly #row8: Float64Array;
  #rows = 0;
  // The overflow row's sums grow past 2^31 within a busy interval: doubles from the start (see DOUBLE_ZERO).
  #ofFlows = DOUBLE_ZERO;
  #ofBytes = DOUBLE_ZERO;
  #ofPackets = DOUBLE_ZERO;
  #ofLastMs = DOUBLE_ZERO;
  #overflowedFlows = DOUBLE_ZERO;
  readonly #conv: boolean;
  /** What of the row key the pair batch keeps: all of it, unless conversations added protocol and port. */
  readonly #dimsMask: number;

  constructor(opts: DeltaTableOptions = {}) {
    this.level = opts.level ?? 'app';
    this.dimensions = { ...opts.dims };
    this.maxRows = opts.maxRows ?? 40_000;
    if (!(Number.isInteger(this.maxRows) && this.maxRows >= 1)) throw new RangeError('maxRows must be a positive integer');
    this.maxEnds = opts.maxEnds ?? Math.max(4 * this.maxRows, 65_536);
    this.#conv = opts.conversations === true;
    // Conversations need protocol and server port per row; the pairs get them masked off at drain.
    this.#dimProto = this.dimensions.protocol === true || this.#conv;
    this.#dimPort = this.dimensions.serverPort === true || this.#conv;
    this.#dimsMask = 3 | (this.dimensions.protocol === true ? 255 << 2 : 0) | (this.dimensions.serverPort === true ? 0xffff << 10 : 0);
    // At most half full, so probe chains stay short.
    let cap = 16;
    while (cap < this.maxRows * 2) cap *= 2;
    this.#slots = new Int32Array(cap);
    this.#mask = cap - 1;
    this.#shift = 32 - Math.log2(cap);
    this.#row8 = new Float64Array(this.maxRows * ROW);
  }

  /**
   * Rises each time the end numbering starts over (at a drain): end numbers from endOf() before
   * that mean nothing now.
   */
  dictionary = 0;

  /** Counts one flow record (the pipeline's PairSink). `nowMs` is the caller's clock. */
  add(src: Endpoint, dst: Endpoint, role: Role, rec: FlowRecord, nowMs: number): void {
    this.addEnds(this.endOf(src), this.endOf(dst), role, rec, nowMs);
  }

  /** This table's number for an endpoint's end, valid until `dictionary` moves. */
  endOf(ep: Endpoint): number {
    const c = this.#cache;
    const i = (ep.id & CACHE_MASK) << 1;
    return c[i] === ep.id ? c[i + 1] : this.#endOfSlow(ep, i);
  }

  /** add() for ends already numbered by endOf(). */
  addEnds(s: number, d: number, role: Role, rec: FlowRecord, nowMs: number): void {
    const r = role === 'src-client' ? 1 : role === 'src-server' ? 2 : 0;
    const proto = this.#dimProto ? rec.proto & 255 : 0;
    const port = this.#dimPort ? (r === 1 ? rec.dstPort : r === 2 ? rec.srcPort : 0) : 0;
    const dims = (r | (proto << 2) | (port << 10)) >>> 0;
    const at = this.#row(s, d, dims, nowMs);
    if (at < 0) {
      this.#ofFlows += 1;
      this.#ofBytes += rec.bytes;
      this.#ofPackets += rec.packets;
      if (nowMs > this.#ofLastMs) this.#ofLastMs = nowMs;
      this.#overflowedFlows += 1;
      return;
    }
    const r8 = this.#row8;
    r8[at + FLOWS] += 1;
    r8[at + BYTES] += rec.bytes;
    r8[at + PACKETS] += rec.packets;
    if (nowMs > r8[at + LAST]) r8[at + LAST] = nowMs;
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
    if (this.#conv) b.conversations = this.#conversations(rows, this.#ofFlows);
    const r8 = this.#row8;
    for (let i = 0, at = 0; i < rows; i++, at += ROW) {
      b.src[i] = r8[at + SRC];
      b.dst[i] = r8[at + DST];
      b.dims[i] = r8[at + DIMS] & this.#dimsMask;
      b.flows[i] = r8[at + FLOWS];
      b.bytes[i] = r8[at + BYTES];
      b.packets[i] = r8[at + PACKETS];
      b.lastMs[i] = r8[at + LAST];
    }
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

  /** The rows as conversations: client and server by the role, undecided ones as source and destination. */
  #conversations(rows: number, dropped: number): ConversationBatch {
    const c: ConversationBatch = {
      client: new Int32Array(rows), server: new Int32Array(rows), key: new Uint32Array(rows),
      flows: new Float64Array(rows), bytes: new Float64Array(rows), firstMs: new Float64Array(rows), lastMs: new Float64Array(rows),
      dropped,
    };
    const r8 = this.#row8;
    for (let i = 0, at = 0; i < rows; i++, at += ROW) {
      const dims = r8[at + DIMS];
      const role = dims & 3;
      const proto = (dims >>> 2) & 255;
      c.client[i] = role === 2 ? r8[at + DST] : r8[at + SRC];
      c.server[i] = role === 2 ? r8[at + SRC] : r8[at + DST];
      c.key[i] = role === 0 ? UNDECIDED | (proto << 16) : (proto << 16) | (dims >>> 10);
      c.flows[i] = r8[at + FLOWS];
      c.bytes[i] = r8[at + BYTES];
      c.firstMs[i] = r8[at + FIRST];
      c.lastMs[i] = r8[at + LAST];
    }
    return c;
  }

  /** The offset in #row8 of (s, d, dims)'s row, made if new (first seen at `nowMs`); -1 when the table is full. */
  #row(s: number, d: number, dims: number, nowMs: number): number {
    let h = Math.imul(s, 0x9e3779b1) ^ Math.imul(d, 0x85ebca77) ^ Math.imul(dims, 0xc2b2ae3d);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    const slots = this.#slots;
    const mask = this.#mask;
    const r8 = this.#row8;
    for (let i = h >>> this.#shift; ; i = (i + 1) & mask) {
      const row = slots[i] - 1;
      if (row < 0) {
        const fresh = this.#rows;
        if (fresh >= this.maxRows) return -1;
        this.#rows = fresh + 1;
        slots[i] = fresh + 1;
        const at = fresh * ROW;
        r8[at + SRC] = s;
        r8[at + DST] = d;
        r8[at + DIMS] = dims;
        r8[at + FIRST] = nowMs;
        return at;
      }
      const at = row * ROW;
      if (r8[at + SRC] === s && r8[at + DST] === d && r8[at + DIMS] === dims) return at;
    }
  }

  /** The end number of an endpoint the cache does not hold at slot `at`; it then does. */
  #endOfSlow(ep: Endpoint, at: number): number {
    const n = this.#endOf.get(ep) ?? this.#bind(ep);
    this.#cache[at] = ep.id;
    this.#cache[at + 1] = n;
    return n;
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
      this.#row8.fill(0, 0, rows * ROW);
    }
    this.#rows = 0;
    this.#ofFlows = 0;
    this.#ofBytes = 0;
    this.#ofPackets = 0;
    this.#ofLastMs = 0;
  }

  #restartDictionary(): void {
    this.dictionary++;
    this.#endOf = new WeakMap();
    this.#cache.fill(0);
    this.#endByKey.clear();
    this.#labels = [];
    this.#shipped = 0;
    this.#reset = true;
  }
}
