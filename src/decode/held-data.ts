/**
 * Held data: data sets that arrived before their template, copied and kept per exporter until a
 * datagram (or a shared set) brings the template. Bounded by their age (pendingMaxAgeMs), the
 * exporter's held share (pendingMaxBytes), work per datagram and the state budget, which the
 * template store keeps (HeldLedger). Every exporter's held sets also wait in one queue in arrival
 * order, so expiry and the budget take the oldest first and cost what they take.
 */
import type { DatagramContext } from './datagram-context.ts';
import type { DecoderOptions } from './decoder-options.ts';
import { domainKey, type ExporterState, type Held, heldWeight, type LiveTemplate, VACANT } from './exporter-state.ts';
import { HeldPool } from './held-pool.ts';
import type { DecoderStats } from './stats.ts';

/** What held data asks of the template store, whose budget it is weighed against. */
export interface HeldLedger {
  /** Room for a held set of `weight` bytes: its exporter's share and the budget, its older held sets going first. */
  roomForHeld(es: ExporterState, weight: number, nowMs: number): boolean;
  charge(es: ExporterState, delta: number): void;
  forgetIfEmpty(es: ExporterState): void;
  lookup(es: ExporterState, dk: number, id: number, orAddress: boolean): LiveTemplate | undefined;
}

/** Decodes a held set with the template that came for it, in `ctx` (the one replay() was given). */
export type DecodeHeld = (ctx: DatagramContext, h: Held, tpl: LiveTemplate) => void;

export class HeldData {
  readonly #ledger: HeldLedger;
  readonly #stats: DecoderStats;
  readonly #maxAgeMs: number;
  /** One exporter's held data at most, in bytes as heldWeight() weighs it. */
  readonly #share: number;
  readonly #pool = new HeldPool<ExporterState>(VACANT, 8 * 1024 * 1024);
  /** Held sets of every exporter in arrival order, for age expiry and the global budget. */
  #queue: Held[] = [];
  /** The seq each queue slot was given: a slot whose entry has been reused since is dead. */
  #queueSeq: number[] = [];
  #head = 0;
  #live = 0;

  constructor(ledger: HeldLedger, options: DecoderOptions, stats: DecoderStats) {
    this.#ledger = ledger;
    this.#stats = stats;
    this.#maxAgeMs = options.pendingMaxAgeMs;
    this.#share = options.pendingMaxBytes ?? Math.floor(options.stateBudgetBytes / 64);
  }

  /** Holds the data set ctx.bytes[body, end) of template `setId`, or drops it, counted, when it cannot be kept. */
  hold(ctx: DatagramContext, setId: number, body: number, end: number): void {
    const s = this.#stats;
    const es = ctx.state;
    s.held++;
    s.pending++;
    // Its real bytes (the pooled buffer), the set header and the entry: an empty or tiny set is never free.
    const weight = heldWeight(end - body);
    if (--ctx.work.heldSets < 0) {
      s.limits.datagram_work++;
      this.#refuse();
      return;
    }
    this.#dropAged(es, ctx.nowMs);
    if (weight > this.#share) {
      s.limits.held_exporter_share++;
      this.#refuse();
      return;
    }
    while (es.heldBytes + weight > this.#share && es.pending.length > 0) {
      s.limits.held_exporter_share++;
      this.dropOwnOldest(es);
    }
    if (!this.#ledger.roomForHeld(es, weight, ctx.nowMs)) {
      this.#refuse();
      return;
    }
    // A copy: the caller may reuse its buffer.
    const h = this.#pool.acquire(es, ctx.bytes, body, end);
    h.version = ctx.version;
    h.sourceId = ctx.sourceId;
    h.setId = setId;
    h.baseMs = ctx.baseMs;
    h.uptime = ctx.uptime;
    h.arrivedMs = ctx.nowMs;
    h.weight = weight;
    this.#compact();
    es.pending.push(h);
    es.heldBytes += weight;
    this.#ledger.charge(es, weight);
    this.#queue.push(h);
    this.#queueSeq.push(h.seq);
    this.#live++;
  }

  /**
   * Decodes the held sets of `es` whose templates are known now (with `decode`); the rest wait for
   * the next template. Looks at ctx.work.replays held sets at most.
   */
  replay(es: ExporterState, ctx: DatagramContext, decode: DecodeHeld): void {
    const s = this.#stats;
    this.#dropAged(es, ctx.nowMs);
    const waiting: Held[] = [];
    const ready: [Held, LiveTemplate][] = [];
    for (const h of es.pending) {
      // Held sets looked at per datagram are bounded too: the rest wait for the next template.
      if (--ctx.work.replays < 0) {
        if (ctx.work.replays === -1) s.limits.datagram_work++;
        waiting.push(h);
        continue;
      }
      const tpl = this.#ledger.lookup(es, domainKey(h.version, h.sourceId), h.setId, true);
      if (tpl) ready.push([h, tpl]);
      else waiting.push(h);
    }
    if (ready.length === 0) return;
    es.pending = waiting;
    for (const [h, tpl] of ready) {
      // Settled after decoding: its buffer goes back to the pool only then.
      try {
        decode(ctx, h, tpl);
      } finally {
        this.#settle(h, true);
      }
    }
  }

  /** Drops the oldest held set of `es` (which has one) to make room for a newer one. */
  dropOwnOldest(es: ExporterState): void {
    this.#settle(es.pending.shift()!, false);
  }

  /** Drops the oldest held set of any exporter; false when nothing is held. */
  dropOldest(): boolean {
    while (this.#head < this.#queue.length) {
      const h = this.#queued(this.#head++);
      if (h === undefined) continue;
      const es = h.owner;
      this.#unlink(h);
      this.#settle(h, false);
      this.#ledger.forgetIfEmpty(es);
      return true;
    }
    return false;
  }

  /** Drops everything `es` holds (it is being evicted). */
  dropAll(es: ExporterState): void {
    for (const h of es.pending) this.#settle(h, false);
    es.pending = [];
  }

  /** Drops held data older than pendingMaxAgeMs, oldest first, and what a flood left behind. */
  expire(nowMs: number): void {
    while (this.#head < this.#queue.length) {
      const h = this.#queued(this.#head);
      if (h !== undefined) {
        if (nowMs - h.arrivedMs <= this.#maxAgeMs) break;
        const es = h.owner;
        this.#unlink(h);
        this.#settle(h, false);
        this.#ledger.forgetIfEmpty(es);
      }
      this.#head++;
    }
    if (this.#head > 1024 && this.#head > this.#queue.length / 2) {
      this.#queue = this.#queue.slice(this.#head);
      this.#queueSeq = this.#queueSeq.slice(this.#head);
      this.#head = 0;
    }
    // Shrink what a flood left behind: V8 arrays keep their capacity, and the pool its entries.
    if (this.#live === 0 && this.#queue.length > 0) {
      this.#queue = [];
      this.#queueSeq = [];
      this.#head = 0;
      this.#pool.trim();
    }
  }

  /** A set counted as held that could not be kept: dropped at once. */
  #refuse(): void {
    this.#stats.pending--;
    this.#stats.heldDropped++;
  }

  /** A held set leaves: decoded (counted by the caller) or dropped. The caller takes it out of its exporter's pending. */
  #settle(h: Held, decoded: boolean): void {
    const s = this.#stats;
    h.owner.heldBytes -= h.weight;
    this.#ledger.charge(h.owner, -h.weight);
    this.#pool.release(h);
    s.pending--;
    if (decoded) s.heldDecoded++;
    else s.heldDropped++;
    this.#live--;
  }

  #dropAged(es: ExporterState, nowMs: number): void {
    while (es.pending.length > 0 && nowMs - es.pending[0].arrivedMs > this.#maxAgeMs) this.dropOwnOldest(es);
  }

  /** The held entry in queue slot i, unless it has been settled (and maybe reused) since. */
  #queued(i: number): Held | undefined {
    const h = this.#queue[i];
    return !h.done && h.seq === this.#queueSeq[i] ? h : undefined;
  }

  /** Takes a held set out of its exporter's pending (the queue forgets it lazily). */
  #unlink(h: Held): void {
    const p = h.owner.pending;
    if (p[0] === h) p.shift();
    else {
      const i = p.indexOf(h);
      if (i >= 0) p.splice(i, 1);
    }
  }

  /** Settled sets leave the global queue lazily; once they are most of it, it is rebuilt. */
  #compact(): void {
    const q = this.#queue;
    const dead = q.length - this.#head - this.#live;
    if (dead > 1024 && dead > this.#live / 4) {
      const live: Held[] = [];
      const seqs: number[] = [];
      for (let i = this.#head; i < q.length; i++) {
        const h = this.#queued(i);
        if (h !== undefined) {
          live.push(h);
          seqs.push(h.seq);
        }
      }
      this.#queue = live;
      this.#queueSeq = seqs;
      this.#head = 0;
    }
  }
}
