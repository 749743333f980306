/**
 * The main thread's observed conversations: who connected to whom, as (client end, server end,
 * server port, protocol) with first and last seen, flows and bytes. Receiving threads count them
 * per interval in their delta tables and ship them with their batches; this store keeps the
 * totals, bounded and expiring like the pair store, for NetworkPolicy suggestions and checks.
 *
 * Flows whose ports did not say which end is the client are kept apart as "undecided": they are
 * shown, never turned into permissions.
 */
import type { End } from '../aggregate/pair-store.ts';
import { endKey, type EndLabels } from '../aggregate/aggregation-level.ts';
import { type ConversationBatch, convPort, convProto, convUndecided, UNDECIDED } from '../aggregate/conversation-batch.ts';
import { NumberSlots } from '../aggregate/number-slots.ts';

export interface Conversation {
  readonly client: EndLabels;
  readonly server: EndLabels;
  /** IP protocol number (6 TCP, 17 UDP, 132 SCTP, ...). */
  readonly proto: number;
  /** The server's port; 0 when undecided. */
  readonly port: number;
  /** The ports did not tell the client from the server: `client` is the source, `server` the destination of the first record. */
  readonly undecided: boolean;
  flows: number;
  bytes: number;
  firstMs: number;
  lastMs: number;
}

export interface ConversationStoreOptions {
  /** Conversations kept at most; new ones past it are refused and counted. Default 20,000. */
  max?: number;
  /** A conversation not seen for this long is dropped. Default 1 h. */
  ttlMs?: number;
}

export interface ConversationStats {
  conversations: number;
  undecided: number;
  /** Flows not kept because a thread's table or this store was full, ever. */
  droppedFlows: number;
  /** Conversations removed by idle expiry, ever. */
  expired: number;
}

/** Numbers per conversation in the counts: flows, bytes, first and last seen (ms). */
const COUNTS = 4;

/**
 * The numbers of the kept conversations, COUNTS each at a slot a conversation holds while kept.
 * As a conversation's own fields they were four boxed doubles, 64 bytes of heap each.
 */
type Counts = NumberSlots;

/** A kept conversation: chained to the others of the same two ends (other ports or protocols). */
class Kept implements Conversation {
  readonly client: EndLabels;
  readonly server: EndLabels;
  /** (undecided, protocol, port) as conversation-batch.ts packs them. */
  readonly key: number;
  /** Where its numbers are in `counts`. */
  readonly at: number;
  readonly #counts: Counts;
  next: Kept | undefined = undefined;
  constructor(client: EndLabels, server: EndLabels, key: number, counts: Counts) {
    this.client = client;
    this.server = server;
    this.key = key;
    this.#counts = counts;
    this.at = counts.take();
  }
  get proto(): number {
    return convProto(this.key);
  }
  get port(): number {
    return convPort(this.key);
  }
  get undecided(): boolean {
    return convUndecided(this.key);
  }
  get flows(): number {
    return this.#counts.a[this.at];
  }
  get bytes(): number {
    return this.#counts.a[this.at + 1];
  }
  get firstMs(): number {
    return this.#counts.a[this.at + 2];
  }
  get lastMs(): number {
    return this.#counts.a[this.at + 3];
  }
}

/**
 * Conversations of one client end, by the server end's key: the first of a chain. Two ends
 * mostly talk on one port, and a Map per pair of ends for its few ports was 3.7 MiB of the
 * 7.5 that 20,000 conversations took.
 */
type ByServer = Map<string, Kept>;

export class ConversationStore {
  readonly max: number;
  readonly ttlMs: number;
  /**
   * Keyed by the ends' own key strings, one level each, so a merge looks up strings that already
   * exist (their hashes cached) instead of joining a key per conversation per batch: the joined
   * key made a quarter of the main thread's garbage under load.
   */
  readonly #byClient = new Map<string, ByServer>();
  readonly #counts: Counts = new NumberSlots(COUNTS, 256);
  #size = 0;
  #undecided = 0;
  #dropped = 0;
  #expired = 0;

  constructor(opts: ConversationStoreOptions = {}) {
    this.max = opts.max ?? 20_000;
    this.ttlMs = opts.ttlMs ?? 3_600_000;
  }

  /** A thread's conversations in its end numbers, `ends` being what those numbers stand for after its batch merged. */
  merge(b: ConversationBatch, ends: readonly End[]): void {
    this.#dropped += b.dropped;
    for (let i = 0; i < b.flows.length; i++) {
      const c = ends[b.client[i]];
      const s = ends[b.server[i]];
      if (c === undefined || s === undefined) continue;
      this.#add(c.labels, c.key, s.labels, s.key, b.key[i], b.flows[i], b.bytes[i], b.firstMs[i], b.lastMs[i]);
    }
  }

  /** One conversation's counts by labels (tests, single-threaded callers). */
  add(
    client: EndLabels,
    server: EndLabels,
    proto: number,
    port: number,
    undecided: boolean,
    flows: number,
    bytes: number,
    firstMs: number,
    lastMs = firstMs,
  ): void {
    const key = (undecided ? UNDECIDED : 0) | ((proto & 255) << 16) | (undecided ? 0 : port & 0xffff);
    this.#add(client, endKey(client), server, endKey(server), key, flows, bytes, firstMs, lastMs);
  }

  #add(
    cl: EndLabels,
    ck: string,
    sl: EndLabels,
    sk: string,
    key: number,
    flows: number,
    bytes: number,
    firstMs: number,
    lastMs: number,
  ): void {
    let byServer = this.#byClient.get(ck);
    let c = byServer?.get(sk);
    let last: Kept | undefined;
    for (; c !== undefined && c.key !== key; c = c.next) last = c;
    if (c === undefined) {
      if (this.#size >= this.max) {
        this.#dropped += flows;
        return;
      }
      if (byServer === undefined) this.#byClient.set(ck, (byServer = new Map()));
      c = new Kept(cl, sl, key, this.#counts);
      const a = this.#counts.a;
      a[c.at] = 0;
      a[c.at + 1] = 0;
      a[c.at + 2] = firstMs;
      a[c.at + 3] = lastMs;
      // Last in its chain, so conversations are listed in the order they came.
      if (last === undefined) byServer.set(sk, c);
      else last.next = c;
      this.#size++;
      if (c.undecided) this.#undecided++;
    }
    const a = this.#counts.a;
    const at = c.at;
    a[at] += flows;
    a[at + 1] += bytes;
    if (firstMs < a[at + 2]) a[at + 2] = firstMs;
    if (lastMs > a[at + 3]) a[at + 3] = lastMs;
  }

  /** Drops conversations idle for longer than the TTL; returns how many. */
  expire(nowMs: number): number {
    const cutoff = nowMs - this.ttlMs;
    let n = 0;
    for (const [ck, byServer] of this.#byClient) {
      for (const [sk, first] of byServer) {
        let head: Kept | undefined;
        let tail: Kept | undefined;
        for (let c: Kept | undefined = first; c !== undefined; ) {
          const next: Kept | undefined = c.next;
          if (c.lastMs >= cutoff) {
            c.next = undefined;
            if (tail === undefined) head = c;
            else tail.next = c;
            tail = c;
          } else {
            if (c.undecided) this.#undecided--;
            this.#counts.give(c.at);
            n++;
          }
          c = next;
        }
        if (head === undefined) byServer.delete(sk);
        else if (head !== first) byServer.set(sk, head);
      }
      if (byServer.size === 0) this.#byClient.delete(ck);
    }
    this.#size -= n;
    this.#expired += n;
    return n;
  }

  /** Every conversation last seen at or after `sinceMs`. */
  list(sinceMs = -Infinity): Conversation[] {
    const out: Conversation[] = [];
    for (const byServer of this.#byClient.values())
      for (const first of byServer.values())
        for (let c: Kept | undefined = first; c !== undefined; c = c.next) if (c.lastMs >= sinceMs) out.push(c);
    return out;
  }

  stats(): ConversationStats {
    return { conversations: this.#size, undecided: this.#undecided, droppedFlows: this.#dropped, expired: this.#expired };
  }
}
