/**
 * A receiving thread's counts between two merges: flows, bytes and packets per (source end,
 * destination end, dimensions). The main thread's PairStore keeps the totals; a thread only needs
 * what changed since its last shipment, so this table is emptied at every drain and stays small
 * and hot in cache.
 *
 * Rows live in the cells of one open-addressing hash (linear probing, no deletes: the table only
 * ever empties whole), 8 doubles (one 64-byte cache line) per cell. Traffic spreads over many
 * pairs, so a row is usually cold: one line per row instead of one per field halved the cache
 * misses of a record, and the row in the hash cell itself, not behind a slot array, halves them
 * again (one miss a record, not two: about 20-45% less time in the count, measured with 5,000 to
 * 30,000 rows an interval, for up to a third more memory at the table's fullest). A record costs
 * two reads of a direct-mapped cache (endpoint id → end number, in front of the WeakMap that owns
 * the mapping), one multiply-hash probe and three float adds, and allocates nothing. Ends are
 * numbered here and their labels cross to the main thread once, the first time a drain uses them
 * (see PairStore.mergeBatch); a drained batch is a handful of transferable arrays.
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
import { type AggregationLevel, type Dimensions, type EndLabels, endKey, projectEndpoint } from './aggregation-level.ts';
import { DOUBLE_ZERO } from '../observe/double-zero.ts';
import { UNDECIDED, type ConversationBatch } from './conversation-batch.ts';
import { NOWHERE, type Place } from './zone-class.ts';
import { MAX_PLACES, whereOf, type DeltaBatch } from './delta-batch.ts';

const ROW = 8;
const CACHE_MASK = 16383;
const SRC = 0,
  DST = 1,
  DIMS = 2,
  FLOWS = 3,
  BYTES = 4,
  PACKETS = 5,
  LAST = 6,
  WHERE = 7;

export interface DeltaTableOptions {
  level?: AggregationLevel;
  dims?: Dimensions;
  /** Distinct pairs per interval before new ones count into the overflow row. Default 40,000. */
  maxRows?: number;
  /** End numbers before the dictionary starts over (at the next drain). Default max(4 x maxRows, 65,536). */
  maxEnds?: number;
  /** Keep conversations for NetworkPolicy work (see conversation-batch.ts): rows are then keyed by protocol and server port too. */
  conversations?: boolean;
  /**
   * Ends numbered beyond twice the most the dictionary's drains have used, before it starts over
   * anyway (see #stale). Default 4,096.
   */
  staleSlack?: number;
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
  /** Drain number at which each end number last appeared in a row. */
  #seen = new Int32Array(1024);
  #drains = 0;
  /** The most distinct ends one drain of this dictionary carried. */
  #peakUsed = 0;
  readonly #staleSlack: number;
  // Place dictionary (zone classes): few entries, numbered per table like ends.
  #placeNo = new Map<Place, number>([[NOWHERE, 0]]);
  #places: Place[] = [NOWHERE];
  #placesShipped = 1;

  /**
   * The hash's cells, cell c at c * ROW: src, dst, dims, flows, bytes, packets, lastMs, where
   * (doubles hold the integers exactly). A cell is empty while its flows are 0: a row is made only
   * to count a flow.
   */
  readonly #row8: Float64Array;
  readonly #mask: number;
  readonly #shift: number;
  /** The cell of row r, rows numbered as they were made: drains ship them in that order. */
  readonly #order: Int32Array;
  /**
   * Row r's first-seen time, for conversations only. Apart from the rows because it is written
   * once when a row is made and read at drain, never on the per-record lookup, so the 64-byte row
   * keeps its one cache line.
   */
  readonly #firstMs: Float64Array;
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
    this.#staleSlack = opts.staleSlack ?? 4096;
    // Conversations need protocol and server port per row; the pairs get them masked off at drain.
    this.#dimProto = this.dimensions.protocol === true || this.#conv;
    this.#dimPort = this.dimensions.serverPort === true || this.#conv;
    this.#dimsMask = 3 | (this.dimensions.protocol === true ? 255 << 2 : 0) | (this.dimensions.serverPort === true ? 0xffff << 10 : 0);
    // At most three quarters full, so probe chains stay short (a probe's next cell is the next
    // cache line, which the hardware prefetches).
    let cap = 16;
    while (cap * 3 < this.maxRows * 4) cap *= 2;
    this.#mask = cap - 1;
    this.#shift = 32 - Math.log2(cap);
    this.#row8 = new Float64Array(cap * ROW);
    this.#order = new Int32Array(this.maxRows);
    this.#firstMs = new Float64Array(this.#conv ? this.maxRows : 0);
  }

  /**
   * Rises each time the end numbering starts over (at a drain): end numbers from endOf() before
   * that mean nothing now.
   */
  dictionary = 0;

  /** Counts one flow record (the pipeline's PairSink). `nowMs` is the caller's clock; places say where the ends are. */
  add(
    src: Endpoint,
    dst: Endpoint,
    role: Role,
    rec: FlowRecord,
    nowMs: number,
    srcPlace: Place = NOWHERE,
    dstPlace: Place = NOWHERE,
  ): void {
    const where = whereOf(this.placeNumber(srcPlace), this.placeNumber(dstPlace), src.nodeName !== '' && src.nodeName === dst.nodeName);
    this.addEnds(this.endOf(src), this.endOf(dst), role, rec, nowMs, where);
  }

  /** This table's number for a place, valid until `dictionary` moves (0, NOWHERE, past MAX_PLACES). */
  placeNumber(p: Place): number {
    let n = this.#placeNo.get(p);
    if (n === undefined) {
      if (this.#places.length > MAX_PLACES) return 0;
      n = this.#places.length;
      this.#places.push(p);
      this.#placeNo.set(p, n);
    }
    return n;
  }

  /** This table's number for an endpoint's end, valid until `dictionary` moves. */
  endOf(ep: Endpoint): number {
    const c = this.#cache;
    const i = (ep.id & CACHE_MASK) << 1;
    return c[i] === ep.id ? c[i + 1] : this.#endOfSlow(ep, i);
  }

  /** add() for ends already numbered by endOf(); `where` from whereOf() on placeNumber()s. */
  addEnds(s: number, d: number, role: Role, rec: FlowRecord, nowMs: number, where = 0): void {
    const r = role === 'src-client' ? 1 : role === 'src-server' ? 2 : 0;
    const proto = this.#dimProto ? rec.proto & 255 : 0;
    const port = this.#dimPort ? (r === 1 ? rec.dstPort : r === 2 ? rec.srcPort : 0) : 0;
    const dims = (r | (proto << 2) | (port << 10)) >>> 0;
    const at = this.#row(s, d, dims, where, nowMs);
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
      where: new Uint32Array(n),
      firstPlace: this.#placesShipped,
      places: this.#places.slice(this.#placesShipped),
    };
    if (this.#conv) b.conversations = this.#conversations(rows, this.#ofFlows);
    const r8 = this.#row8;
    const stamp = ++this.#drains;
    if (this.#seen.length < this.#labels.length) {
      const grown = new Int32Array(Math.max(this.#labels.length, this.#seen.length * 2));
      grown.set(this.#seen);
      this.#seen = grown;
    }
    const seen = this.#seen;
    const order = this.#order;
    let used = 0;
    for (let i = 0; i < rows; i++) {
      const at = order[i] * ROW;
      const s = r8[at + SRC],
        d = r8[at + DST];
      if (seen[s] !== stamp) {
        seen[s] = stamp;
        used++;
      }
      if (seen[d] !== stamp) {
        seen[d] = stamp;
        used++;
      }
      b.src[i] = s;
      b.dst[i] = d;
      b.dims[i] = r8[at + DIMS] & this.#dimsMask;
      b.flows[i] = r8[at + FLOWS];
      b.bytes[i] = r8[at + BYTES];
      b.packets[i] = r8[at + PACKETS];
      b.lastMs[i] = r8[at + LAST];
      b.where![i] = r8[at + WHERE];
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
    this.#placesShipped = this.#places.length;
    this.#reset = false;
    this.#clear();
    if (used > this.#peakUsed) this.#peakUsed = used;
    if (this.#labels.length > this.maxEnds || this.#stale()) this.#restartDictionary();
    return b;
  }

  stats(): DeltaTableStats {
    return { rows: this.#rows + (this.#ofFlows > 0 ? 1 : 0), ends: this.#labels.length, overflowedFlows: this.#overflowedFlows };
  }

  /** The rows as conversations: client and server by the role, undecided ones as source and destination. */
  #conversations(rows: number, dropped: number): ConversationBatch {
    const c: ConversationBatch = {
      client: new Int32Array(rows),
      server: new Int32Array(rows),
      key: new Uint32Array(rows),
      flows: new Float64Array(rows),
      bytes: new Float64Array(rows),
      firstMs: new Float64Array(rows),
      lastMs: new Float64Array(rows),
      dropped,
    };
    const r8 = this.#row8;
    const firstMs = this.#firstMs;
    const order = this.#order;
    for (let i = 0; i < rows; i++) {
      const at = order[i] * ROW;
      const dims = r8[at + DIMS];
      const role = dims & 3;
      const proto = (dims >>> 2) & 255;
      c.client[i] = role === 2 ? r8[at + DST] : r8[at + SRC];
      c.server[i] = role === 2 ? r8[at + SRC] : r8[at + DST];
      c.key[i] = role === 0 ? UNDECIDED | (proto << 16) : (proto << 16) | (dims >>> 10);
      c.flows[i] = r8[at + FLOWS];
      c.bytes[i] = r8[at + BYTES];
      c.firstMs[i] = firstMs[i];
      c.lastMs[i] = r8[at + LAST];
    }
    return c;
  }

  /** The offset in #row8 of (s, d, dims, where)'s row, made if new (first seen at `nowMs`); -1 when the table is full. */
  #row(s: number, d: number, dims: number, where: number, nowMs: number): number {
    let h = Math.imul(s, 0x9e3779b1) ^ Math.imul(d, 0x85ebca77) ^ Math.imul(dims ^ where, 0xc2b2ae3d);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    const mask = this.#mask;
    const r8 = this.#row8;
    for (let i = h >>> this.#shift; ; i = (i + 1) & mask) {
      const at = i * ROW;
      if (r8[at + FLOWS] === 0) {
        const fresh = this.#rows;
        if (fresh >= this.maxRows) return -1;
        this.#rows = fresh + 1;
        this.#order[fresh] = i;
        r8[at + SRC] = s;
        r8[at + DST] = d;
        r8[at + DIMS] = dims;
        r8[at + WHERE] = where;
        if (this.#conv) this.#firstMs[fresh] = nowMs;
        return at;
      }
      if (r8[at + SRC] === s && r8[at + DST] === d && r8[at + DIMS] === dims && r8[at + WHERE] === where) return at;
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
    const r8 = this.#row8;
    const order = this.#order;
    for (let i = 0; i < rows; i++) {
      const at = order[i] * ROW;
      for (let k = 0; k < ROW; k++) r8[at + k] = 0;
    }
    this.#rows = 0;
    this.#ofFlows = 0;
    this.#ofBytes = 0;
    this.#ofPackets = 0;
    this.#ofLastMs = 0;
  }

  /**
   * Most of the dictionary names ends no longer seen: pods replaced by others keep their numbers
   * (and, on the main thread, their End objects) until the numbering starts over. Under churn
   * that is about 2 KiB of heap per end on the two threads together, and with only maxEnds
   * (80,000 at --max-series 20,000) as the bound, an hour of churn grew the heap by 50 MiB and
   * more (bench/bounded.bench.ts). Starting over once the dictionary is more than twice what its
   * busiest drain used keeps it near the ends really in use; it costs one re-send of the live
   * ends' labels and a refill of the address memo.
   */
  #stale(): boolean {
    return this.#labels.length > 2 * this.#peakUsed + this.#staleSlack;
  }

  #restartDictionary(): void {
    this.#peakUsed = 0;
    this.dictionary++;
    this.#endOf = new WeakMap();
    this.#cache.fill(0);
    this.#endByKey.clear();
    this.#labels = [];
    this.#shipped = 0;
    this.#placeNo = new Map([[NOWHERE, 0]]);
    this.#places = [NOWHERE];
    this.#placesShipped = 1;
    this.#reset = true;
  }
}
