/**
 * The two shapes of the pair store: an End (one end of a pair at the store's level, shared by
 * every pair that names it) and a Pair (the counts between two ends with the same dimensions).
 * Both keep their bytes per zone class for the traffic and cost families.
 */
import type { Role } from '../identify/endpoint.ts';
import { type EndLabels, dimsPort, dimsProto, dimsRole, ROLES } from './aggregation-level.ts';
import { addClassBytes, addClassSums, CLASS_COUNT, type ClassSide, zeros } from './class-bytes.ts';
import { NumberSlots } from './number-slots.ts';

/**
 * One end of a pair at the store's level, shared by every pair that names it. Its bytes per zone
 * class, sent and received over the end's life, are the workload traffic and cost families; like a
 * seed row, they go when the end's last pair expires.
 */
export class End {
  readonly id: number;
  readonly key: string;
  readonly labels: EndLabels;
  /** Pairs that use this end; at zero the end is freed at the next expiry sweep. */
  refs = 0;
  dead = false;
  #sent: ClassSide = -1;
  #sentBytes = 0;
  #received: ClassSide = -1;
  #receivedBytes = 0;

  /**
   * Sent bytes per class code into `out` at [at, at + CLASS_COUNT), received after them; false,
   * with nothing written, when none yet. (Into the caller's array: the workload families read
   * every end at every scrape.)
   */
  trafficInto(out: Float64Array, at: number): boolean {
    if (this.#sent === -1 && this.#received === -1) return false;
    out.fill(0, at, at + 2 * CLASS_COUNT);
    addClassSums(this.#sent, this.#sentBytes, out, at);
    addClassSums(this.#received, this.#receivedBytes, out, at + CLASS_COUNT);
    return true;
  }

  addSent(cls: number, bytes: number): void {
    this.#sent = addClassBytes(this.#sent, this.#sentBytes, cls, bytes);
    this.#sentBytes += bytes;
  }

  addReceived(cls: number, bytes: number): void {
    this.#received = addClassBytes(this.#received, this.#receivedBytes, cls, bytes);
    this.#receivedBytes += bytes;
  }

  /** Pairs from this end, by destination end id (small integers: no boxed keys on the hot path). */
  readonly out = new Map<number, Pair>();
  constructor(id: number, key: string, labels: EndLabels) {
    this.id = id;
    this.key = key;
    this.labels = labels;
  }
}

/** Numbers per pair in PairCounts: flows, bytes, packets, created and last counted (ms). */
const COUNTS = 5;

/**
 * The counts of a store's pairs, COUNTS numbers each at a slot a pair holds while in the store.
 * As a pair's own fields they were five boxed doubles, 80 bytes of heap a pair.
 */
export class PairCounts extends NumberSlots {
  constructor(slots = 1024) {
    super(COUNTS, slots);
  }
}

/** The counts between two ends with the same dimensions. */
export class Pair {
  readonly src: End;
  readonly dst: End;
  /** Packed role | protocol | server port (see aggregation-level.ts). */
  readonly dims: number;
  readonly overflow: boolean;
  /** Where the pair's numbers are: its store's counts while it is in the store, its own once it left. */
  #counts: PairCounts;
  #at: number;
  /** With the zone dimension, the pair's (source zone, destination zone) number in its store; else 0. */
  zonePair = 0;
  /** Next pair with the same ends and other dimensions. */
  next: Pair | undefined = undefined;
  /** Position in `PairStore.pairs`. */
  index = -1;
  /** The pair's bytes per zone class code, beside `bytes` (see class-bytes.ts). */
  #classes: ClassSide = -1;
  /** Slots the exporters fill once per pair: its /metrics row, its OTLP attributes object. */
  promCache: unknown = undefined;
  otelCache: unknown = undefined;
  /** The /metrics/otel page's text for the pair's own attributes, when they are its own (src/export/otel/prometheus-text.ts). */
  otelTextCache: unknown = undefined;
  /** `counts`: its store's (a pair made alone keeps its own). */
  constructor(src: End, dst: End, dims: number, overflow: boolean, nowMs: number, counts = new PairCounts(1)) {
    this.src = src;
    this.dst = dst;
    this.dims = dims;
    this.overflow = overflow;
    this.#counts = counts;
    this.#at = counts.take();
    counts.a[this.#at + 3] = nowMs;
    counts.a[this.#at + 4] = nowMs;
  }
  /** Cumulative for the life of the pair. Exact up to 2^53. */
  get flows(): number {
    return this.#counts.a[this.#at];
  }
  get bytes(): number {
    return this.#counts.a[this.#at + 1];
  }
  get packets(): number {
    return this.#counts.a[this.#at + 2];
  }
  get createdMs(): number {
    return this.#counts.a[this.#at + 3];
  }
  get lastMs(): number {
    return this.#counts.a[this.#at + 4];
  }
  /** Counts added at `nowMs`. */
  count(flows: number, bytes: number, packets: number, nowMs: number): void {
    const a = this.#counts.a;
    const k = this.#at;
    a[k] += flows;
    a[k + 1] += bytes;
    a[k + 2] += packets;
    if (nowMs > a[k + 4]) a[k + 4] = nowMs;
  }
  /**
   * The pair leaves its store: its numbers move to a store of its own, and its slot is free.
   * Readers that still hold it (a page being written) keep reading its last counts.
   */
  leave(): void {
    const own = new PairCounts(1);
    const k = own.take();
    own.a.set(this.#counts.a.subarray(this.#at, this.#at + COUNTS), k);
    this.#counts.give(this.#at);
    this.#counts = own;
    this.#at = k;
  }
  get role(): Role {
    return ROLES[dimsRole(this.dims)];
  }
  /** Bytes per zone class code, or undefined before the first count. */
  get classBytes(): readonly number[] | undefined {
    const out = zeros(CLASS_COUNT);
    return addClassSums(this.#classes, this.bytes, out, 0) ? out : undefined;
  }
  /** `bytes` of the pair's (already in `bytes`) were of class `cls`: for the pair, as sent by src and received by dst. */
  addClassBytes(cls: number, bytes: number): void {
    this.#classes = addClassBytes(this.#classes, this.bytes - bytes, cls, bytes);
    this.src.addSent(cls, bytes);
    this.dst.addReceived(cls, bytes);
  }
  get proto(): number {
    return dimsProto(this.dims);
  }
  get serverPort(): number {
    return dimsPort(this.dims);
  }
}
