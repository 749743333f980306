/**
 * A receiving thread's conversations between two merges: flows, bytes, first and last seen per
 * (client end, server end, server port, protocol), the server side of every connection that
 * NetworkPolicy suggestions and checks need. Flows whose role the ports did not decide are kept
 * apart, keyed (source end, destination end, 0, protocol) with the UNDECIDED bit, because they
 * must never count as permissions.
 *
 * It shares the delta table's end numbers and drains with its batch, so a conversation costs
 * one more probe of a table like the delta table's (one 64-byte row, no allocation), and none
 * of the seed's series change: conversations are kept whatever --extra-labels says.
 *
 * Past `maxRows` distinct conversations in one interval, new ones are counted as dropped, not
 * merged into a catch-all: a permission that was never seen must not appear.
 */
import type { FlowRecord } from '../decode/record.ts';
import { DOUBLE_ZERO } from '../observe/double-zero.ts';

/** Set in a conversation's key when the ports did not say which end is the client. */
export const UNDECIDED = 1 << 24;

/** key = UNDECIDED? | protocol << 16 | server port. */
export const convProto = (key: number): number => (key >>> 16) & 255;
export const convPort = (key: number): number => key & 0xffff;
export const convUndecided = (key: number): boolean => (key & UNDECIDED) !== 0;

/** One drain, in the end numbers of the delta batch it travels with. */
export interface ConversationBatch {
  client: Int32Array;
  server: Int32Array;
  key: Uint32Array;
  flows: Float64Array;
  bytes: Float64Array;
  firstMs: Float64Array;
  lastMs: Float64Array;
  /** Flows of conversations that found the table full this interval. */
  dropped: number;
}

export function conversationBuffers(b: ConversationBatch): ArrayBuffer[] {
  return [b.client.buffer, b.server.buffer, b.key.buffer, b.flows.buffer, b.bytes.buffer, b.firstMs.buffer, b.lastMs.buffer] as ArrayBuffer[];
}

const ROW = 8;
/** Slots hold row + 1 in their low 16 bits and 16 bits of the key's hash above, so a probe past another key's slot reads no row. */
const MAX_ROWS = 0xffff;
const CLIENT = 0, SERVER = 1, KEY = 2, FLOWS = 3, BYTES = 4, FIRST = 5, LAST = 6;

export class ConversationTable {
  readonly maxRows: number;
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #shift: number;
  readonly #row8: Float64Array;
  #rows = 0;
  #dropped = DOUBLE_ZERO;

  constructor(maxRows: number) {
    if (!(Number.isInteger(maxRows) && maxRows >= 1)) throw new RangeError('maxRows must be a positive integer');
    this.maxRows = Math.min(maxRows, MAX_ROWS);
    let cap = 16;
    while (cap < this.maxRows * 2) cap *= 2;
    this.#slots = new Int32Array(cap);
    this.#mask = cap - 1;
    this.#shift = 32 - Math.log2(cap);
    this.#row8 = new Float64Array(this.maxRows * ROW);
  }

  /** One record between ends `s` (source) and `d`; `r` is the role code (1 src-client, 2 src-server, 0 unknown). */
  add(s: number, d: number, r: number, rec: FlowRecord, nowMs: number): void {
    let client = s, server = d, key: number;
    if (r === 1) key = ((rec.proto & 255) << 16) | rec.dstPort;
    else if (r === 2) { client = d; server = s; key = ((rec.proto & 255) << 16) | rec.srcPort; }
    else key = UNDECIDED | ((rec.proto & 255) << 16);
    const at = this.#row(client, server, key, nowMs);
    if (at < 0) {
      this.#dropped += 1;
      return;
    }
    const r8 = this.#row8;
    r8[at + FLOWS] += 1;
    r8[at + BYTES] += rec.bytes;
    if (nowMs > r8[at + LAST]) r8[at + LAST] = nowMs;
  }

  get rows(): number {
    return this.#rows;
  }

  drain(): ConversationBatch {
    const n = this.#rows;
    const b: ConversationBatch = {
      client: new Int32Array(n), server: new Int32Array(n), key: new Uint32Array(n),
      flows: new Float64Array(n), bytes: new Float64Array(n), firstMs: new Float64Array(n), lastMs: new Float64Array(n),
      dropped: this.#dropped,
    };
    const r8 = this.#row8;
    for (let i = 0, at = 0; i < n; i++, at += ROW) {
      b.client[i] = r8[at + CLIENT];
      b.server[i] = r8[at + SERVER];
      b.key[i] = r8[at + KEY];
      b.flows[i] = r8[at + FLOWS];
      b.bytes[i] = r8[at + BYTES];
      b.firstMs[i] = r8[at + FIRST];
      b.lastMs[i] = r8[at + LAST];
    }
    if (n > 0) {
      this.#slots.fill(0);
      r8.fill(0, 0, n * ROW);
    }
    this.#rows = 0;
    this.#dropped = 0;
    return b;
  }

  #row(c: number, s: number, key: number, nowMs: number): number {
    let h = Math.imul(c, 0x9e3779b1) ^ Math.imul(s, 0x85ebca77) ^ Math.imul(key, 0xc2b2ae3d);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    const tag = h & 0xffff0000;
    const slots = this.#slots;
    const mask = this.#mask;
    const r8 = this.#row8;
    for (let i = (h << 16) >>> this.#shift; ; i = (i + 1) & mask) {
      const slot = slots[i];
      if (slot === 0) {
        const fresh = this.#rows;
        if (fresh >= this.maxRows) return -1;
        this.#rows = fresh + 1;
        slots[i] = tag | (fresh + 1);
        const at = fresh * ROW;
        r8[at + CLIENT] = c;
        r8[at + SERVER] = s;
        r8[at + KEY] = key;
        r8[at + FIRST] = nowMs;
        return at;
      }
      if ((slot & 0xffff0000) !== tag) continue;
      const at = ((slot & 0xffff) - 1) * ROW;
      if (r8[at + CLIENT] === c && r8[at + SERVER] === s && r8[at + KEY] === key) return at;
    }
  }
}
