/**
 * The two shapes of the pair store: an End (one end of a pair at the store's level, shared by
 * every pair that names it) and a Pair (the counts between two ends with the same dimensions).
 * Both keep their bytes per zone class for the traffic and cost families.
 */
import type { Role } from '../identify/endpoint.ts';
import { DOUBLE_ZERO } from '../observe/double-zero.ts';
import { type EndLabels, dimsPort, dimsProto, dimsRole, ROLES } from './aggregation-level.ts';
import { addClassBytes, addClassSums, CLASS_COUNT, type ClassSide, zeros } from './class-bytes.ts';

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

  /** Sent bytes per class code at [0, CLASS_COUNT), received after them; undefined when none yet. */
  traffic(): readonly number[] | undefined {
    const t = zeros(2 * CLASS_COUNT);
    const sent = addClassSums(this.#sent, this.#sentBytes, t, 0);
    const received = addClassSums(this.#received, this.#receivedBytes, t, CLASS_COUNT);
    return sent || received ? t : undefined;
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

/** The counts between two ends with the same dimensions. */
export class Pair {
  readonly src: End;
  readonly dst: End;
  /** Packed role | protocol | server port (see aggregation-level.ts). */
  readonly dims: number;
  readonly overflow: boolean;
  /** Cumulative for the life of the pair. Exact up to 2^53. Doubles from the start (see DOUBLE_ZERO): totals pass 2^31. */
  flows = DOUBLE_ZERO;
  bytes = DOUBLE_ZERO;
  packets = DOUBLE_ZERO;
  readonly createdMs: number;
  lastMs: number;
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
  constructor(src: End, dst: End, dims: number, overflow: boolean, nowMs: number) {
    this.src = src;
    this.dst = dst;
    this.dims = dims;
    this.overflow = overflow;
    this.createdMs = nowMs;
    this.lastMs = nowMs;
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
