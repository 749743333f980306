/**
 * A receiving thread's memory of what an IPv4 address means to its counts: the delta table's end
 * number, the server ports that decide roles, the node facts dedup needs and whether the end is
 * unknown, each valid for a span of flow end times. A record whose two addresses are remembered
 * never reaches the identity index: two reads of one flat array replace a walk through the
 * address table, its entry, the endpoint and the end cache, which perf put at a third of a
 * receiving thread's time.
 *
 * Slots are 8 int32 (32 bytes, two to a cache line) behind linear probing on the address. The
 * pipeline forgets the addresses an inventory change touched one by one, and everything at once
 * (a new epoch: a slot whose epoch is not the current one is empty) when the delta table numbers
 * its ends anew or too much changed to list.
 *
 * Spans are kept in whole seconds, rounded inwards, so a remembered span never covers a time its
 * answer does not: a flow that ends in the rounded-off part just takes the identity index.
 */
import type { PortSet } from '../identify/server-ports.ts';
import { MAX_PLACES } from '../aggregate/delta-batch.ts';

const STRIDE = 8;
const EPOCH = 0,
  ADDR = 1,
  END = 2,
  FLAGS = 3,
  NODE = 4,
  POD_NODE = 5,
  FROM = 6,
  TO = 7;
/** Spans are seconds after this instant (2017-07-14), so int32 reaches 2085. */
const BASE_MS = 1_500_000_000_000;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
// FLAGS: bit 0 unknown, bits 1-17 the port set's number (up to MAX_NUMBERED), bits 18-30 the place number (MAX_PLACES), bit 31 MOVED.
const UNKNOWN = 1;
const PORTS_MASK = (1 << 17) - 1;
const PLACE_SHIFT = 18;
/**
 * 16,384 slots (512 KiB): a node's pods and the addresses they talk to fit before any growth.
 * Starting at 4,096, the memo grew twice in the first burst after a start, rehashing while the
 * socket filled.
 */
const MIN_SLOTS = 1 << 14;
/** 8 MiB: 131,072 addresses, twice the identity index's cache of external ones. Past it, the memo starts empty again. */
const MAX_SLOTS = 1 << 18;
/** Port sets and node names numbered before remember() refuses, until forget() starts the numbering over. */
const MAX_NUMBERED = 1 << 16;
/** FLAGS bit 31: the entry of an old slot array already moved to the new one (see #grow). */
const MOVED = 1 << 31;
/**
 * Old slots looked at per remember() while the memo grows. The next growth comes after half the
 * old slot count in new addresses, so any count above 2 finishes a move before the next one.
 */
const MOVES_PER_REMEMBER = 16;

/** What the memo keeps about one address. */
export interface AddressFacts {
  /** The delta table's end number. */
  end: number;
  /** The server ports of the end, for role(). */
  ports: PortSet;
  unknown: boolean;
  /** The delta table's number for where the end is (zone classes), at most MAX_PLACES; 0 when not given. */
  place?: number;
  /** The end's node name ('' for none), and the same only when the end is a pod. */
  node: string;
  podNode: string;
  /** Flow end times (ms) over which these facts hold; nothing is kept when from > to. */
  from: number;
  to: number;
}

export class AddressMemo {
  #slots: Int32Array;
  #mask: number;
  #shift: number;
  #epoch = 1;
  /** Distinct addresses held, in both slot arrays while growing. */
  #used = 0;
  /** While growing: the slot array being emptied into #slots, its mask and shift, and the next slot to move. */
  #old: Int32Array | null = null;
  #oldMask = 0;
  #oldShift = 0;
  #next = 0;
  #portSets: PortSet[] = [[]];
  readonly #portIds = new Map<PortSet, number>();
  readonly #nodeIds = new Map<string, number>();

  /** `slots`: a power of two, the starting size (it doubles as addresses come). */
  constructor(slots = MIN_SLOTS) {
    if (!(Number.isInteger(Math.log2(slots)) && slots >= 2 && slots <= MAX_SLOTS))
      throw new RangeError(`slots must be a power of two up to ${MAX_SLOTS}`);
    this.#slots = new Int32Array(slots * STRIDE);
    this.#mask = slots - 1;
    this.#shift = 32 - Math.log2(slots);
  }

  /** A flow end time (ms) as the memo compares it. */
  static time(ms: number): number {
    return (ms - BASE_MS) / 1000;
  }

  /** The slot remembering `ip` (uint32) at time `ts` (from time()), or -1. */
  find(ip: number, ts: number): number {
    let at = this.#slotOf(ip | 0);
    if (at < 0 && this.#old !== null) at = this.#fromOld(ip | 0);
    const s = this.#slots;
    return at >= 0 && s[at + FROM] <= ts && ts <= s[at + TO] ? at : -1;
  }

  /** Forgets one address: its slot stays, with a span that holds nowhere, until remembered again. */
  forgetAddress(ip: number): void {
    let at = this.#slotOf(ip | 0);
    if (at < 0 && this.#old !== null) at = this.#fromOld(ip | 0);
    if (at < 0) return;
    this.#slots[at + FROM] = INT32_MAX;
    this.#slots[at + TO] = INT32_MIN;
  }

  #slotOf(key: number): number {
    const s = this.#slots;
    const mask = this.#mask;
    for (let i = Math.imul(key, 0x9e3779b1) >>> this.#shift; ; i = (i + 1) & mask) {
      const at = i * STRIDE;
      if (s[at + EPOCH] !== this.#epoch) return -1;
      if (s[at + ADDR] === key) return at;
    }
  }

  end(at: number): number {
    return this.#slots[at + END];
  }

  unknown(at: number): boolean {
    return (this.#slots[at + FLAGS] & UNKNOWN) !== 0;
  }

  ports(at: number): PortSet {
    return this.#portSets[(this.#slots[at + FLAGS] >>> 1) & PORTS_MASK];
  }

  /** The end's place number (AddressFacts.place). */
  place(at: number): number {
    return (this.#slots[at + FLAGS] >>> PLACE_SHIFT) & MAX_PLACES;
  }

  /** The end's node, numbered as nodeId() numbers names (0: none). */
  node(at: number): number {
    return this.#slots[at + NODE];
  }

  podNode(at: number): number {
    return this.#slots[at + POD_NODE];
  }

  /** A node name's number in this memo (0 for ''), stable until the next forget(). */
  nodeId(name: string): number {
    if (name === '') return 0;
    let n = this.#nodeIds.get(name);
    if (n === undefined) {
      n = this.#nodeIds.size + 1;
      this.#nodeIds.set(name, n);
    }
    return n;
  }

  /**
   * Remembers `ip` (uint32). Spans too short to survive the rounding to seconds are not kept.
   * False when port sets or node names have been numbered too many: then nothing more is kept
   * until forget() starts the numbering over.
   */
  remember(ip: number, f: AddressFacts): boolean {
    if (this.#portIds.size >= MAX_NUMBERED || this.#nodeIds.size >= MAX_NUMBERED) return false;
    const from = f.from === -Infinity ? INT32_MIN : Math.ceil(AddressMemo.time(f.from));
    const to = f.to === Infinity ? INT32_MAX : Math.floor(AddressMemo.time(f.to));
    if (!(from <= to && from >= INT32_MIN && to <= INT32_MAX)) return true;
    const key = ip | 0;
    if (this.#old !== null) this.#takeOld(key);
    if ((this.#used + 1) * 2 > this.#mask + 1) this.#grow();
    const s = this.#slots;
    const mask = this.#mask;
    let at = 0;
    for (let i = Math.imul(key, 0x9e3779b1) >>> this.#shift; ; i = (i + 1) & mask) {
      at = i * STRIDE;
      if (s[at + EPOCH] !== this.#epoch) {
        this.#used++;
        break;
      }
      if (s[at + ADDR] === key) break;
    }
    s[at + EPOCH] = this.#epoch;
    s[at + ADDR] = key;
    s[at + END] = f.end;
    s[at + FLAGS] = (((f.place ?? 0) & MAX_PLACES) << PLACE_SHIFT) | (this.#portId(f.ports) << 1) | (f.unknown ? UNKNOWN : 0);
    s[at + NODE] = this.nodeId(f.node);
    s[at + POD_NODE] = this.nodeId(f.podNode);
    s[at + FROM] = from;
    s[at + TO] = to;
    return true;
  }

  /** Forgets every address at once; node and port-set numbers start over too when they grew too many. */
  forget(): void {
    if (this.#portIds.size >= MAX_NUMBERED || this.#nodeIds.size >= MAX_NUMBERED) {
      this.#portIds.clear();
      this.#portSets = [[]];
      this.#nodeIds.clear();
    }
    this.#emptySlots();
  }

  /** Slots in use: addresses remembered, and those forgotten one by one and not learnt again yet. */
  get size(): number {
    return this.#used;
  }

  #portId(ports: PortSet): number {
    if (ports.length === 0) return 0;
    let n = this.#portIds.get(ports);
    if (n === undefined) {
      n = this.#portSets.length;
      this.#portSets.push(ports);
      this.#portIds.set(ports, n);
    }
    return n;
  }

  /**
   * More addresses than half the slots: twice the slots (up to MAX_SLOTS, then empty again). The
   * entries move over the next remember() calls, a few slots each, not all at once: a growth
   * came in the first burst after a start, and moving 8,192 to 65,536 addresses at once took 1 to
   * 17 ms of the receiving thread (measured; up to 27 ms before the code was optimised).
   */
  #grow(): void {
    if (this.#old !== null) this.#moveOld(Infinity);
    const slots = this.#mask + 1;
    if (slots >= MAX_SLOTS) {
      this.#emptySlots();
      return;
    }
    this.#old = this.#slots;
    this.#oldMask = this.#mask;
    this.#oldShift = this.#shift;
    this.#next = 0;
    this.#slots = new Int32Array(slots * 2 * STRIDE);
    this.#mask = slots * 2 - 1;
    this.#shift--;
  }

  /** Old slots still to look at while the memo grows (0 when it is not growing). */
  get growing(): number {
    return this.#old === null ? 0 : this.#oldMask + 1 - this.#next;
  }

  /** Before remembering `key`: a step of the move, and `key`'s old entry marked moved (it is about to be written anew). */
  #takeOld(key: number): void {
    this.#moveOld(MOVES_PER_REMEMBER);
    const old = this.#old;
    if (old === null) return;
    const at = this.#oldSlotOf(key);
    if (at < 0) return;
    old[at + FLAGS] |= MOVED;
    this.#used--;
  }

  /** `key`'s entry moved from the old slots, or -1 when they do not hold it. */
  #fromOld(key: number): number {
    const at = this.#oldSlotOf(key);
    return at < 0 ? -1 : this.#move(at);
  }

  #oldSlotOf(key: number): number {
    const s = this.#old!;
    const mask = this.#oldMask;
    for (let i = Math.imul(key, 0x9e3779b1) >>> this.#oldShift; ; i = (i + 1) & mask) {
      const at = i * STRIDE;
      if (s[at + EPOCH] !== this.#epoch) return -1;
      if (s[at + ADDR] === key) return (s[at + FLAGS] & MOVED) === 0 ? at : -1;
    }
  }

  /** Moves up to `n` more old slots; the old array is dropped once every slot has been looked at. */
  #moveOld(n: number): void {
    const old = this.#old!;
    const end = Math.min(this.#oldMask + 1, this.#next + n);
    for (let i = this.#next; i < end; i++) {
      const at = i * STRIDE;
      if (old[at + EPOCH] === this.#epoch && (old[at + FLAGS] & MOVED) === 0) this.#move(at);
    }
    this.#next = end;
    if (end > this.#oldMask) this.#old = null;
  }

  /** Copies the old slot at `from` into the new slots (where its address is not: see #takeOld) and returns its offset there. */
  #move(from: number): number {
    const old = this.#old!;
    const s = this.#slots;
    const mask = this.#mask;
    let i = Math.imul(old[from + ADDR], 0x9e3779b1) >>> this.#shift;
    while (s[i * STRIDE + EPOCH] === this.#epoch) i = (i + 1) & mask;
    const at = i * STRIDE;
    for (let k = 0; k < STRIDE; k++) s[at + k] = old[from + k];
    old[from + FLAGS] |= MOVED;
    return at;
  }

  #emptySlots(): void {
    this.#used = 0;
    this.#old = null;
    if (this.#epoch === INT32_MAX) {
      this.#slots.fill(0);
      this.#epoch = 1;
    } else {
      this.#epoch++;
    }
  }
}
