/**
 * The pair store: flows, bytes and packets per pair of endpoints. It is the single source of
 * truth for the numbers; every export reads it when collected and nothing else counts.
 *
 * In `run`, receiving threads count into their own DeltaTables and the main thread merges their
 * batches here (`mergeBatch`); `add()` is the single-threaded path (replay, tests). It finds each
 * Endpoint's end in a WeakMap, then the pair in the source end's Map keyed by the destination
 * end's small-integer id, and walks a short chain on the packed dimensions. Once a pair exists a
 * record costs no allocation and no string work.
 */
import type { FlowRecord } from '../decode/record.ts';
import type { Endpoint, Role } from '../identify/endpoint.ts';
import {
  type AggregationLevel,
  type Dimensions,
  type EndLabels,
  endKey,
  packDims,
  projectEndpoint,
  ROLE_CODE,
} from './aggregation-level.ts';
import { whereDst, whereSameNode, whereSrc, type DeltaBatch } from './delta-batch.ts';
import { NOWHERE, classOf, internPlace, zoneLabel, type Place } from './zone-class.ts';
import { ZoneTraffic, type ZoneRow } from './zone-traffic.ts';
import { End, Pair, PairCounts } from './pair.ts';

// The store's shapes, where every export imports them from.
export { End, Pair } from './pair.ts';

export interface PairStoreOptions {
  level?: AggregationLevel;
  dims?: Dimensions;
  /** Pairs before new ones go to the overflow pair. Default 20,000. */
  maxSeries?: number;
  /** Idle time after which a pair is removed. Default 1 h. */
  seriesTtlMs?: number;
}

export interface PairStoreStats {
  pairs: number;
  ends: number;
  /** Pairs removed by idle expiry, ever. */
  evictions: number;
  /** Flows that went to the overflow pair, ever. */
  overflowedFlows: number;
}

/** End ids are reused from a free list, so they stay small (V8 small-integer keys). */
const MAX_END_ID = 2 ** 30;

export const OVERFLOW_LABELS: EndLabels = Object.freeze({
  host: 'overflow',
  namespace: 'overflow',
  kind: '',
  name: 'overflow',
  ownerKind: '',
  ownerName: '',
  nodeName: '',
});

export class PairStore {
  readonly level: AggregationLevel;
  readonly dimensions: Dimensions;
  readonly maxSeries: number;
  readonly seriesTtlMs: number;
  /** Every live pair, the overflow pair included once it exists. Exports iterate this. */
  readonly pairs: Pair[] = [];
  /** The pairs' counts (pair.ts). */
  readonly #counts = new PairCounts();

  readonly #dimProto: boolean;
  readonly #dimPort: boolean;
  readonly #endsByKey = new Map<string, End>();
  /**
   * Endpoint → end. Weak, because the identity index interns endpoints weakly and never reuses
   * ids: an array by id would grow with every pod ever seen, a WeakMap forgets collected ones.
   */
  readonly #byEndpoint = new WeakMap<Endpoint, End>();
  readonly #freeEndIds: number[] = [];
  #nextEndId = 0;
  #overflowPair: Pair | undefined;
  readonly #evictListeners: ((p: Pair) => void)[] = [];
  #evictions = 0;
  #overflowedFlows = 0;
  /** Traffic per zone pair and class, counted alongside the pairs. */
  readonly zones = new ZoneTraffic();
  readonly #dimZone: boolean;
  /** Zone pairs numbered for the zone dimension: 0 is none; the labels of number n at n. */
  readonly #zonePairLabels: (readonly [string, string])[] = [['', '']];
  readonly #zonePairIds = new Map<Place, Map<Place, number>>();
  /**
   * Zone pair numbers by their labels: places that differ only where the labels do not show
   * (a region, an outside class) share a number, so a pair is never split into two series that
   * carry the same labels (two OTLP points with one attribute set).
   */
  readonly #zonePairByLabels = new Map<string, number>();
  /** What each sender's place numbers stand for (see mergeBatch), beside its ends. */
  readonly #senderPlaces = new WeakMap<End[], Place[]>();

  constructor(opts: PairStoreOptions = {}) {
    this.level = opts.level ?? 'app';
    this.dimensions = { ...opts.dims };
    this.maxSeries = opts.maxSeries ?? 20_000;
    this.seriesTtlMs = opts.seriesTtlMs ?? 3_600_000;
    this.#dimProto = this.dimensions.protocol === true;
    this.#dimPort = this.dimensions.serverPort === true;
    this.#dimZone = this.dimensions.zone === true;
    if (!(this.maxSeries >= 1)) throw new RangeError('maxSeries must be at least 1');
  }

  /** Counts one flow record. `nowMs` is the caller's clock (no Date.now per record); places say where the ends are. */
  add(
    src: Endpoint,
    dst: Endpoint,
    role: Role,
    rec: FlowRecord,
    nowMs: number,
    srcPlace: Place = NOWHERE,
    dstPlace: Place = NOWHERE,
  ): void {
    const s = this.#byEndpoint.get(src);
    const se = s === undefined || s.dead ? this.#bindEndpoint(src) : s;
    const d = this.#byEndpoint.get(dst);
    const de = d === undefined || d.dead ? this.#bindEndpoint(dst) : d;
    const r = role === 'src-client' ? 1 : role === 'src-server' ? 2 : 0;
    const proto = this.#dimProto ? rec.proto & 255 : 0;
    const port = this.#dimPort ? (r === 1 ? rec.dstPort : r === 2 ? rec.srcPort : 0) : 0;
    const cls = classOf(srcPlace, dstPlace, src.nodeName !== '' && src.nodeName === dst.nodeName);
    this.#count(se, de, r | (proto << 2) | (port << 10), 1, rec.bytes, rec.packets, nowMs, cls, this.#zonePairOf(srcPlace, dstPlace));
    this.zones.add(srcPlace, dstPlace, cls, 1, rec.bytes, rec.packets);
  }

  /**
   * Adds counts for a pair given by endpoint identities (no interned id needed): the merge API
   * for callers that aggregate elsewhere. `proto` and `serverPort` are ignored unless their
   * dimension is on.
   */
  addCounts(
    src: Omit<Endpoint, 'id'>,
    dst: Omit<Endpoint, 'id'>,
    role: Role,
    proto: number,
    serverPort: number,
    flows: number,
    bytes: number,
    packets: number,
    nowMs: number,
  ): void {
    const se = this.#endFor(projectEndpoint(src, this.level, this.dimensions));
    const de = this.#endFor(projectEndpoint(dst, this.level, this.dimensions));
    const dims = packDims(ROLE_CODE[role], this.#dimProto ? proto & 255 : 0, this.#dimPort ? serverPort & 0xffff : 0);
    this.#count(se, de, dims, flows, bytes, packets, nowMs);
  }

  /**
   * Adds a receiving thread's batch (a DeltaTable drain at this store's level and dimensions).
   * `sender` is what that thread's end numbers stand for here; keep one per thread, empty at
   * first. Exact.
   */
  mergeBatch(b: DeltaBatch, sender: End[]): void {
    if (b.reset) sender.length = 0;
    if (b.firstEnd !== sender.length) throw new RangeError(`batch ends start at ${b.firstEnd}, ${sender.length} known`);
    for (const l of b.ends) sender.push(this.#endFor(l));
    let places = this.#senderPlaces.get(sender);
    if (places === undefined || b.reset) this.#senderPlaces.set(sender, (places = [NOWHERE]));
    if (b.places !== undefined) {
      if (b.firstPlace !== places.length) throw new RangeError(`batch places start at ${b.firstPlace}, ${places.length} known`);
      // Re-interned: a place crossed the thread boundary as a copy.
      for (const p of b.places) places.push(internPlace(p.zone, p.region, p.outside));
    }
    const where = b.where;
    // A batch has few distinct place keys: decide each one's class, zone row and zone pair once.
    const byWhere = new Map<number, { cls: number; row: ZoneRow; zonePair: number }>();
    for (let i = 0; i < b.flows.length; i++) {
      const w = where === undefined ? 0 : where[i];
      let at = byWhere.get(w);
      if (at === undefined) {
        const sp = places[whereSrc(w)] ?? NOWHERE;
        const dp = places[whereDst(w)] ?? NOWHERE;
        const cls = classOf(sp, dp, whereSameNode(w));
        byWhere.set(w, (at = { cls, row: this.zones.rowFor(sp, dp, cls), zonePair: this.#zonePairOf(sp, dp) }));
      }
      const cls = at.cls;
      at.row.flows += b.flows[i];
      at.row.bytes += b.bytes[i];
      at.row.packets += b.packets[i];
      const si = b.src[i];
      if (si < 0) {
        const o = this.#getOverflowPair(b.lastMs[i]);
        this.#bump(o, b.flows[i], b.bytes[i], b.packets[i], b.lastMs[i]);
        o.addClassBytes(cls, b.bytes[i]);
        continue;
      }
      const di = b.dst[i];
      let s = sender[si];
      // An end this store freed after expiry is found (or made) again by its labels.
      if (s.dead) s = sender[si] = this.#endFor(s.labels);
      let d = sender[di];
      if (d.dead) d = sender[di] = this.#endFor(d.labels);
      this.#count(s, d, b.dims[i], b.flows[i], b.bytes[i], b.packets[i], b.lastMs[i], cls, at.zonePair);
    }
  }

  /** Removes pairs idle for longer than the TTL, and ends no pair uses. Returns the pairs removed. */
  expire(nowMs: number): number {
    const cutoff = nowMs - this.seriesTtlMs;
    let removed = 0;
    for (let i = this.pairs.length - 1; i >= 0; i--) {
      const p = this.pairs[i];
      if (p.lastMs >= cutoff || p.overflow) continue;
      this.#removePair(p);
      removed++;
    }
    for (const e of this.#endsByKey.values()) if (e.refs === 0) this.#freeEnd(e);
    this.#evictions += removed;
    return removed;
  }

  /** Called with each pair that expiry removes, before it goes (exporters retire their caches). */
  onEvict(fn: (p: Pair) => void): void {
    this.#evictListeners.push(fn);
  }

  stats(): PairStoreStats {
    return { pairs: this.pairs.length, ends: this.#endsByKey.size, evictions: this.#evictions, overflowedFlows: this.#overflowedFlows };
  }

  /** Every live end, the overflow pair's included once it exists (the workload families read them). */
  *ends(): IterableIterator<End> {
    yield* this.#endsByKey.values();
    if (this.#overflowPair) yield this.#overflowPair.src;
  }

  /** Sum of every pair's counters (tests and self-checks). */
  totals(): { flows: number; bytes: number; packets: number } {
    let flows = 0,
      bytes = 0,
      packets = 0;
    for (const p of this.pairs) {
      flows += p.flows;
      bytes += p.bytes;
      packets += p.packets;
    }
    return { flows, bytes, packets };
  }

  /** The pair's ends at this store's level, for lookups by identity (tests, APIs). */
  find(src: Omit<Endpoint, 'id'>, dst: Omit<Endpoint, 'id'>, role: Role = 'unknown', proto = 0, serverPort = 0): Pair | undefined {
    const se = this.#endsByKey.get(endKey(projectEndpoint(src, this.level, this.dimensions)));
    const de = this.#endsByKey.get(endKey(projectEndpoint(dst, this.level, this.dimensions)));
    if (!se || !de) return undefined;
    const dims = packDims(ROLE_CODE[role], this.#dimProto ? proto : 0, this.#dimPort ? serverPort : 0);
    return this.#lookup(se, de, dims);
  }

  /** The pair from `s` to `d` with these packed dimensions, if it exists. */
  #lookup(s: End, d: End, dims: number, zonePair = 0): Pair | undefined {
    let p = s.out.get(d.id);
    while (p !== undefined && (p.dims !== dims || p.zonePair !== zonePair)) p = p.next;
    return p;
  }

  /** The (source zone, destination zone) labels of a pair: ['', ''] without the zone dimension. */
  zonesOf(p: Pair): readonly [string, string] {
    return this.#zonePairLabels[p.zonePair] ?? ['', ''];
  }

  #zonePairOf(sp: Place, dp: Place): number {
    if (!this.#dimZone) return 0;
    let byDst = this.#zonePairIds.get(sp);
    if (byDst === undefined) this.#zonePairIds.set(sp, (byDst = new Map()));
    let id = byDst.get(dp);
    if (id === undefined) {
      const src = zoneLabel(sp);
      const dst = zoneLabel(dp);
      const key = `${src}\u0000${dst}`;
      id = this.#zonePairByLabels.get(key);
      if (id === undefined) {
        id = this.#zonePairLabels.length;
        this.#zonePairLabels.push([src, dst]);
        this.#zonePairByLabels.set(key, id);
      }
      byDst.set(dp, id);
    }
    return id;
  }

  #count(s: End, d: End, dims: number, flows: number, bytes: number, packets: number, nowMs: number, cls = 0, zonePair = 0): void {
    let p = this.#lookup(s, d, dims, zonePair);
    if (p === undefined) {
      p = this.#createPair(s, d, dims, nowMs);
      if (!p.overflow) p.zonePair = zonePair;
    }
    this.#bump(p, flows, bytes, packets, nowMs);
    p.addClassBytes(cls, bytes);
  }

  #bump(p: Pair, flows: number, bytes: number, packets: number, nowMs: number): void {
    p.count(flows, bytes, packets, nowMs);
    if (p.overflow) this.#overflowedFlows += flows;
  }

  #createPair(s: End, d: End, dims: number, nowMs: number): Pair {
    const live = this.pairs.length - (this.#overflowPair ? 1 : 0);
    if (live >= this.maxSeries) return this.#getOverflowPair(nowMs);
    const p = new Pair(s, d, dims, false, nowMs, this.#counts);
    p.next = s.out.get(d.id);
    s.out.set(d.id, p);
    s.refs++;
    d.refs++;
    p.index = this.pairs.length;
    this.pairs.push(p);
    return p;
  }

  #getOverflowPair(nowMs: number): Pair {
    if (this.#overflowPair) return this.#overflowPair;
    const e = new End(-1, endKey(OVERFLOW_LABELS), OVERFLOW_LABELS);
    const p = new Pair(e, e, 0, true, nowMs, this.#counts);
    p.index = this.pairs.length;
    this.pairs.push(p);
    this.#overflowPair = p;
    return p;
  }

  #removePair(p: Pair): void {
    for (const fn of this.#evictListeners) fn(p);
    const out = p.src.out;
    const head = out.get(p.dst.id);
    if (head === p) {
      if (p.next) out.set(p.dst.id, p.next);
      else out.delete(p.dst.id);
    } else {
      let q = head;
      while (q !== undefined && q.next !== p) q = q.next;
      if (q) q.next = p.next;
    }
    p.next = undefined;
    const last = this.pairs.pop()!;
    if (last !== p) {
      last.index = p.index;
      this.pairs[p.index] = last;
    }
    p.index = -1;
    p.leave();
    p.src.refs--;
    p.dst.refs--;
  }

  #bindEndpoint(ep: Endpoint): End {
    const e = this.#endFor(projectEndpoint(ep, this.level, this.dimensions));
    this.#byEndpoint.set(ep, e);
    return e;
  }

  #endFor(labels: EndLabels): End {
    const key = endKey(labels);
    let e = this.#endsByKey.get(key);
    if (e === undefined) {
      const id = this.#freeEndIds.pop() ?? this.#nextEndId++;
      if (id >= MAX_END_ID) throw new RangeError('too many distinct endpoints');
      e = new End(id, key, labels);
      this.#endsByKey.set(key, e);
    }
    return e;
  }

  #freeEnd(e: End): void {
    e.dead = true;
    this.#endsByKey.delete(e.key);
    this.#freeEndIds.push(e.id);
  }
}
