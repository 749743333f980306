/**
 * Rates from the live store when no Prometheus is configured. The store only holds cumulative
 * counts, so a ring of snapshots (every 5 s for the last 2 minutes, then one a minute up to
 * 15 minutes) gives the counts at the start of any recent window. Snapshots are packed typed
 * arrays keyed by endpoint ids, so 20,000 pairs cost about 40 snapshots × 32 bytes × 20,000 =
 * 26 MB at most, and nothing per pair is allocated between queries.
 *
 * The ring runs only while someone reads it: snapshots start at the first query and stop once
 * none has come for `idleMs`, when the ring shrinks to its last snapshot. A per-node collector
 * that nobody maps costs neither the 26 MB nor a snapshot's garbage every 5 s (about 14 MiB at
 * 20,000 pairs); the first query after a pause gets rates averaged since the pause, and
 * /api/health's historySeconds says so.
 */
import { ROLE_CODE, ROLES } from '../../aggregate/aggregation-level.ts';
import { CLASS_COUNT } from '../../aggregate/class-bytes.ts';
import type { Role } from '../../identify/endpoint.ts';
import type { PairRate } from './graph.ts';
import { matchesFilters, type GraphQuery } from './query.ts';

/** One end as the map draws it (an Endpoint fits; so does a store's projected end, adapted). */
export interface PairEnd {
  readonly namespace: string;
  readonly app: string;
  readonly kind?: string;
}

/**
 * Called once per stored pair with its cumulative counts since the pair appeared in the store.
 * Several stored pairs may name the same two ends (extra dimensions such as port): they are summed.
 */
export type PairVisitor = (
  src: PairEnd,
  dst: PairEnd,
  role: Role,
  flows: number,
  bytes: number,
  packets: number,
  classBytes?: readonly number[],
) => void;

/**
 * What the live window reads: anything that can walk its pairs (the pair store, adapted). Handing
 * in the same PairEnd object for the same end each time makes a snapshot much cheaper.
 */
export interface PairSource {
  forEachPair(visit: PairVisitor): void;
}

const DST_SPAN = 2 ** 24;

/** (src id, dst id, role) packed into one exact double; end ids are reused, so they stay below 2^24. */
const packKey = (src: number, dst: number, role: Role): number => (src * DST_SPAN + dst) * 4 + ROLE_CODE[role];

interface Snapshot {
  readonly t: number;
  readonly n: number;
  readonly keys: Float64Array;
  /** flows, bytes, packets per key. */
  readonly vals: Float64Array;
}

export interface LiveWindowOptions {
  fineIntervalMs?: number;
  fineKeepMs?: number;
  coarseIntervalMs?: number;
  keepMs?: number;
  /** With no query for this long the ring pauses (default: keepMs). */
  idleMs?: number;
  now?: () => number;
}

export class LiveWindow {
  readonly #source: PairSource;
  readonly #now: () => number;
  readonly fineIntervalMs: number;
  readonly fineKeepMs: number;
  readonly coarseIntervalMs: number;
  readonly keepMs: number;
  readonly idleMs: number;
  #ring: Snapshot[] = [];
  /** Ends seen in the ring, interned to small ids that are reused once no snapshot holds them. */
  #ends: (PairEnd | undefined)[] = [];
  #endIds = new Map<string, number>();
  #freeIds: number[] = [];
  /**
   * Ends handed in as the same object every time skip the string key; a freed id bumps its
   * generation. The id and its generation packed in one number (gen * DST_SPAN + id), a small
   * integer while the generation is below 128: no object per end.
   */
  #byObject = new WeakMap<PairEnd, number>();
  #gen: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** start() was called: queries may set the ring running. */
  #armed = false;
  #lastQuery = -Infinity;
  #lastPrune = 0;

  constructor(source: PairSource, opts: LiveWindowOptions = {}) {
    this.#source = source;
    this.#now = opts.now ?? Date.now;
    this.fineIntervalMs = opts.fineIntervalMs ?? 5_000;
    this.fineKeepMs = opts.fineKeepMs ?? 120_000;
    this.coarseIntervalMs = opts.coarseIntervalMs ?? 60_000;
    this.keepMs = opts.keepMs ?? 15 * 60_000;
    this.idleMs = opts.idleMs ?? this.keepMs;
    // The store starts empty: counts at start-up are zero, so the first window has a baseline.
    this.#ring.push({ t: this.#now(), n: 0, keys: new Float64Array(0), vals: new Float64Array(0) });
  }

  /** Lets queries run the ring; the snapshots begin with the first one. */
  start(): void {
    this.#armed = true;
  }

  stop(): void {
    this.#armed = false;
    this.#pause();
  }

  /** Whether snapshots are being taken (someone queried within idleMs). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  #queried(): void {
    this.#lastQuery = this.#now();
    if (!this.#armed || this.#timer) return;
    this.#timer = setInterval(() => this.tick(), this.fineIntervalMs);
    this.#timer.unref();
  }

  #pause(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** How far back the ring reaches, in seconds. */
  get historyS(): number {
    return Math.max(0, (this.#now() - this.#ring[0].t) / 1000);
  }

  get snapshotCount(): number {
    return this.#ring.length;
  }

  /** Take a snapshot now and thin the ring. Called by the timer; public for tests. */
  tick(): void {
    const t = this.#now();
    this.#ring.push(this.#take(t));
    this.#thin(t);
    if (this.#timer && t - this.#lastQuery > this.idleMs) {
      this.#pause();
      this.#ring = this.#ring.slice(-1);
    }
  }

  #endId(e: PairEnd): number {
    const cached = this.#byObject.get(e);
    if (cached !== undefined) {
      const id = cached % DST_SPAN;
      if (this.#gen[id] === (cached - id) / DST_SPAN) return id;
    }
    // Joined from an array: one flat string, kept as the Map's key (a template literal was a rope).
    const k = [e.namespace, e.app, e.kind ?? ''].join('\u0000');
    let id = this.#endIds.get(k);
    if (id === undefined) {
      id = this.#freeIds.pop() ?? this.#ends.length;
      if (id >= DST_SPAN) throw new RangeError('live window: more than 2^24 distinct ends');
      this.#ends[id] = { namespace: e.namespace, app: e.app, kind: e.kind };
      this.#gen[id] ??= 0;
      this.#endIds.set(k, id);
    }
    this.#byObject.set(e, this.#gen[id] * DST_SPAN + id);
    return id;
  }

  #take(t: number): Snapshot {
    let keys = new Float64Array(1024);
    let vals = new Float64Array(3072);
    let n = 0;
    const index = new Map<number, number>();
    // Zone classes: each key's bytes per class over its life (latest only), to split its rate by;
    // CLASS_COUNT numbers per key, beside vals, once a pair has any.
    let classes: Float64Array | undefined;
    this.#source.forEachPair((src, dst, role, flows, bytes, packets, classBytes) => {
      const key = packKey(this.#endId(src), this.#endId(dst), role);
      let i = index.get(key);
      if (i === undefined) {
        if (n === keys.length) {
          const k2 = new Float64Array(n * 2);
          k2.set(keys);
          keys = k2;
          const v2 = new Float64Array(n * 6);
          v2.set(vals);
          vals = v2;
          if (classes !== undefined) {
            const c2 = new Float64Array(n * 2 * CLASS_COUNT);
            c2.set(classes);
            classes = c2;
          }
        }
        i = n++;
        index.set(key, i);
        keys[i] = key;
        vals[3 * i] = 0;
        vals[3 * i + 1] = 0;
        vals[3 * i + 2] = 0;
      }
      vals[3 * i] += flows;
      vals[3 * i + 1] += bytes;
      vals[3 * i + 2] += packets;
      if (classBytes !== undefined) {
        classes ??= new Float64Array(keys.length * CLASS_COUNT);
        for (let c = 0; c < CLASS_COUNT; c++) classes[CLASS_COUNT * i + c] += classBytes[c] ?? 0;
      }
    });
    // The visitor may outlive the call (a call site's feedback can hold it, and the index with it).
    index.clear();
    const snapshot = { t, n, keys: keys.slice(0, n), vals: vals.slice(0, 3 * n) };
    this.#classKeys = snapshot.keys;
    this.#classes = classes?.slice(0, CLASS_COUNT * n);
    return snapshot;
  }

  #thin(t: number): void {
    const kept: Snapshot[] = [];
    let lastBucket = -1;
    for (const s of this.#ring) {
      if (t - s.t > this.keepMs) continue;
      if (t - s.t > this.fineKeepMs) {
        const bucket = Math.floor(s.t / this.coarseIntervalMs);
        if (bucket === lastBucket) continue;
        lastBucket = bucket;
      }
      kept.push(s);
    }
    // Never drop the only baseline: an empty ring would make every window start at the end.
    this.#ring = kept.length > 0 ? kept : this.#ring.slice(-1);
    if (t - this.#lastPrune >= this.coarseIntervalMs) {
      this.#lastPrune = t;
      const live = new Set<number>();
      for (const s of this.#ring) {
        for (let i = 0; i < s.n; i++) {
          const k = s.keys[i];
          const pair = Math.floor(k / 4);
          live.add(Math.floor(pair / DST_SPAN));
          live.add(pair % DST_SPAN);
        }
      }
      for (const [k, id] of this.#endIds) {
        if (live.has(id)) continue;
        this.#endIds.delete(k);
        this.#ends[id] = undefined;
        this.#gen[id]++;
        this.#freeIds.push(id);
      }
    }
  }

  /**
   * The last snapshot's bytes per zone class, CLASS_COUNT numbers per key of `#classKeys` (none when no pair
   * had any). A Map of arrays by key was 3 MiB of heap at 20,000 pairs.
   */
  #classKeys = new Float64Array(0);
  #classes: Float64Array | undefined;

  /** Per-pair rates over the query's window, ending now or (with an offset) at a past snapshot. */
  rates(q: GraphQuery): PairRate[] {
    this.#queried();
    const now = this.#now();
    // A `to` within one snapshot interval of now (truncated to the second, as curl scripts and
    // some Grafana versions send it) is now: the last snapshot may predate the traffic.
    const end = q.window.offsetS * 1000 < this.fineIntervalMs ? this.#take(now) : this.#at(q.window.endMs);
    const start = this.#at(end.t - q.window.windowS * 1000);
    if (start.t >= end.t) return [];
    const seconds = (end.t - start.t) / 1000;
    const before = new Map<number, number>();
    for (let i = 0; i < start.n; i++) before.set(start.keys[i], i);
    const out: PairRate[] = [];
    const classAt = this.#classIndex();
    for (let i = 0; i < end.n; i++) {
      const key = end.keys[i];
      const pair = Math.floor(key / 4);
      const src = this.#ends[Math.floor(pair / DST_SPAN)];
      const dst = this.#ends[pair % DST_SPAN];
      if (!src || !dst) continue;
      const role = ROLES[key - pair * 4];
      if (!matchesFilters(q, src.namespace, dst.namespace, role)) continue;
      const j = before.get(key);
      // A count lower than before means the pair was expired and came back: count from zero, as
      // Prometheus does on a counter reset.
      const delta = (k: number): number => {
        const cur = end.vals[3 * i + k];
        const then = j === undefined ? 0 : start.vals[3 * j + k];
        return cur >= then ? cur - then : cur;
      };
      const flows = delta(0);
      const bytes = delta(1);
      const packets = delta(2);
      if (flows === 0 && bytes === 0 && packets === 0) continue;
      out.push({
        srcNamespace: src.namespace,
        srcApp: src.app,
        dstNamespace: dst.namespace,
        dstApp: dst.app,
        role,
        bytesPerS: bytes / seconds,
        packetsPerS: packets / seconds,
        flowsPerS: flows / seconds,
        srcKind: src.kind,
        dstKind: dst.kind,
        ...this.#classRates(classAt?.get(key), bytes / seconds),
      });
    }
    return out;
  }

  /** Where each key's classes are in `#classes`, for one query; none without classes. */
  #classIndex(): Map<number, number> | undefined {
    if (this.#classes === undefined) return undefined;
    const at = new Map<number, number>();
    for (let i = 0; i < this.#classKeys.length; i++) at.set(this.#classKeys[i], i);
    return at;
  }

  /** The pair's bytes per second split by its classes' shares of its bytes (none when not known). */
  #classRates(i: number | undefined, bytesPerS: number): { classBytesPerS?: number[] } {
    const cb = this.#classes;
    if (cb === undefined || i === undefined) return {};
    let total = 0;
    for (let c = 0; c < CLASS_COUNT; c++) total += cb[CLASS_COUNT * i + c];
    if (!(total > 0)) return {};
    const out: number[] = [];
    for (let c = 0; c < CLASS_COUNT; c++) out.push((bytesPerS * cb[CLASS_COUNT * i + c]) / total);
    return { classBytesPerS: out };
  }

  /** The latest snapshot at or before `t`, else the earliest (the oldest history there is). */
  #at(t: number): Snapshot {
    let best: Snapshot | undefined;
    for (const s of this.#ring) {
      if (s.t <= t) best = s;
      else break;
    }
    return best ?? this.#ring[0];
  }
}
