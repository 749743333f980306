/**
 * The two shapes of the pair store: an End (one end of a pair at the store's level, shared by
 * every pair that names it) and a Pair (the counts between two ends with the same dimensions).
 * Both keep their bytes per zone class for the traffic and cost families.
 */
import type { Role } from '../identify/endpoint.ts';
import { DOUBLE_ZERO } from '../observe/double-zero.ts';
import { type EndLabels, dimsPort, dimsProto, dimsRole, ROLES } from './aggregation-level.ts';

/** One end of a pair at the store's level, shared by every pair that names it. */
export class End {
  readonly id: number;
  readonly key: string;
  readonly labels: EndLabels;
  /** Pairs that use this end; at zero the end is freed at the next expiry sweep. */
  refs = 0;
  dead = false;
  /**
   * Bytes this end sent and received per zone class code, over the end's life: the workload
   * traffic and cost families. Like a seed row, they go when the end's last pair expires. While
   * each direction has had one class, a class and a sum; after that an array (see traffic()).
   */
  sentCls = -1;
  sentBytes = 0;
  recvCls = -1;
  recvBytes = 0;
  mixed: number[] | undefined = undefined;

  /** Sent bytes per class code at [0, 7), received at [7, 14); undefined when none yet. */
  traffic(): readonly number[] | undefined {
    if (this.mixed !== undefined) return this.mixed;
    if (this.sentCls < 0 && this.recvCls < 0) return undefined;
    const t = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    if (this.sentCls >= 0) t[this.sentCls] = this.sentBytes;
    if (this.recvCls >= 0) t[7 + this.recvCls] = this.recvBytes;
    return t;
  }

  /** `at` 0: sent, 7: received. */
  addTraffic(at: number, cls: number, bytes: number): void {
    if (this.mixed === undefined) {
      if (at === 0 && (this.sentCls === cls || this.sentCls < 0)) {
        this.sentCls = cls;
        this.sentBytes += bytes;
        return;
      }
      if (at === 7 && (this.recvCls === cls || this.recvCls < 0)) {
        this.recvCls = cls;
        this.recvBytes += bytes;
        return;
      }
      this.mixed = this.traffic() as number[];
    }
    this.mixed[at + cls] += bytes;
  }
  /** Pairs from this end, by destination end id (small integers: no boxed keys on the hot path). */
  readonly out = new Map<number, Pair>();
  constructor(id: number, key: string, labels: EndLabels) {
    this.id = id;
    this.key = key;
    this.labels = labels;
  }
}

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
  /**
   * The zone class code (see zone-class.ts) of all the pair's bytes while it has had one class
   * (-1 before any), MIXED once it has had two; then `mixed` holds the bytes per class. Most pairs
   * keep one class for life, so most never allocate the array.
   */
  cls = -1;
  mixed: number[] | undefined = undefined;
  /** Slots the exporters fill once per pair (rendered labels, attribute objects). */
  promCache: unknown = undefined;
  otelCache: unknown = undefined;
  /** The /metrics/otel page's label text (src/export/otel/prometheus-text.ts). */
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
  /** Bytes per zone class code, or undefined before the first count (allocates unless mixed). */
  get classBytes(): readonly number[] | undefined {
    if (this.cls === MIXED) return this.mixed;
    if (this.cls < 0) return undefined;
    const out = [0, 0, 0, 0, 0, 0, 0];
    out[this.cls] = this.bytes;
    return out;
  }
  get proto(): number {
    return dimsProto(this.dims);
  }
  get serverPort(): number {
    return dimsPort(this.dims);
  }
}

/** A pair's `cls` once its bytes have had more than one class. */
const MIXED = 7;

/** After bump(): `bytes` of class `cls` are already in p.bytes. */
export function addClassBytes(p: Pair, cls: number, bytes: number): void {
  if (p.cls !== cls) {
    if (p.cls < 0) p.cls = cls;
    else {
      if (p.cls !== MIXED) {
        const m = [0, 0, 0, 0, 0, 0, 0];
        m[p.cls] = p.bytes - bytes;
        p.cls = MIXED;
        p.mixed = m;
      }
      p.mixed![cls] += bytes;
    }
  }
  p.src.addTraffic(0, cls, bytes);
  p.dst.addTraffic(7, cls, bytes);
}
