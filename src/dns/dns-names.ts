/**
 * What each external address meant by DNS, over time: the time-aware name table.
 *
 * An answer makes an address mean a name from the answer's time until its TTL runs out plus a
 * grace period (connections outlive TTLs). Every answer is kept as an observation (client,
 * name, from, to), so a flow reported late gets the name valid when it ended, and the client
 * that asked is remembered: when several names share an address (CDNs), the name the flow's own
 * client resolved wins, else the latest answer valid then.
 *
 * Memory is bounded by addresses (`maxAddresses`): past it the address answered longest ago is
 * dropped, counted. Each address keeps at most MAX_OBSERVATIONS answers. Lookups allocate
 * nothing: v4 through the project's open-addressing table, names as shared refs holding their
 * interned Endpoint.
 */
import type { Endpoint } from '../identify/endpoint.ts';
import { externalEndpoint } from '../identify/intern.ts';
import { V4Table, V6Table } from '../identify/ip-table.ts';

/** Times are whole seconds after this instant (2017-07-14), small integers in plain arrays. */
const BASE_MS = 1_500_000_000_000;
/** Answers kept per address; a CDN address answered for more names keeps the freshest. */
const MAX_OBSERVATIONS = 8;
const STRIDE = 4;
const CLIENT = 0,
  NAME = 1,
  FROM = 2,
  TO = 3;

export const secondsOf = (ms: number): number => (ms - BASE_MS) / 1000;
const msOf = (s: number): number => s * 1000 + BASE_MS;

/**
 * Names the tables made with `publishNames` hold now (with how many hold each), so exports can
 * tell a DNS name from a network's name: OTLP gives it `server.address` semantics.
 */
const heldNames = new Map<string, number>();
export const isDnsName = (name: string): boolean => heldNames.has(name);

/** A name as observations share it: its text and, once a flow needed it, the Endpoint that names an end by it. */
interface NameRef {
  readonly name: string;
  endpoint: Endpoint | null;
  refs: number;
}

class AddressEntry {
  readonly family: 4 | 6;
  readonly v4: number;
  readonly v6: Uint8Array | null;
  /** Flat observations: client key, NameRef, from, to (seconds). */
  obs: (number | NameRef)[] = [];

  constructor(family: 4 | 6, v4: number, v6: Uint8Array | null) {
    this.family = family;
    this.v4 = v4;
    this.v6 = v6;
  }
}

/**
 * A client address as a number: IPv4 as int32; IPv6 folded to a 32-bit hash above the v4 range
 * (a collision only costs the per-client preference between two v6 clients).
 */
export function clientKey4(ip: number): number {
  return ip | 0;
}
export function clientKey6(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return 2 ** 32 + (h >>> 0);
}
/** No client known (the flow's other end is not an address we can match). */
export const NO_CLIENT = -(2 ** 33);

export interface DnsNamesOptions {
  /** Addresses kept at most. Default 100,000. */
  readonly maxAddresses?: number;
  /** Added to every TTL. Default 600,000 (10 min). */
  readonly graceMs?: number;
  /**
   * An answer also names flows that seem to end this much before it: the DNS server's clock and
   * the exporters' differ, and NetFlow v9 times are whole seconds. Default 5000, like the index's.
   */
  readonly clockSkewMs?: number;
  /** How long an answer stays after it ran out, for late flows. Default 3,600,000. */
  readonly retentionMs?: number;
  /** The names held answer isDnsName() (the main thread's table, which the exports read). */
  readonly publishNames?: boolean;
}

export interface DnsNamesStats {
  /** Answers (address, name) learnt. */
  learned: number;
  /** Addresses known now. */
  addresses: number;
  /** Addresses dropped to stay under the cap. */
  evictions: number;
  /** Addresses dropped because all their answers ran out long ago. */
  expired: number;
}

/** One answer as it crosses threads: [family, v4 (or 0), v6 (or null), client key, name, atMs, ttlSeconds]. */
export type LearnOp = readonly [4 | 6, number, Uint8Array | null, number, string, number, number];

/** Interned on first use: most names learnt never name a flow, and an Endpoint costs more than the answer. */
function endpointOf(r: NameRef): Endpoint {
  let ep = r.endpoint;
  if (ep === null) {
    ep = externalEndpoint(r.name);
    r.endpoint = ep;
  }
  return ep;
}

export class DnsNames {
  readonly maxAddresses: number;
  readonly graceMs: number;
  readonly retentionMs: number;
  readonly clockSkewMs: number;
  readonly #publish: boolean;
  readonly stats: DnsNamesStats = { learned: 0, addresses: 0, evictions: 0, expired: 0 };
  /** Called with every address whose answers changed (learnt, evicted, expired): what cached them must forget. */
  onChange: ((family: 4 | 6, v4: number, v6: Uint8Array | null) => void) | undefined;
  /** The flow end times (ms) around the last lookup over which its answer is the same for every client; empty when from > to. */
  spanFrom = 0;
  spanTo = 0;

  readonly #v4 = new V4Table<AddressEntry>(1024);
  readonly #v6 = new V6Table<AddressEntry>(64);
  /** Entries by last answer, oldest first: what the cap evicts. */
  readonly #order = new Set<AddressEntry>();
  readonly #names = new Map<string, NameRef>();

  constructor(opts: DnsNamesOptions = {}) {
    this.maxAddresses = opts.maxAddresses ?? 100_000;
    this.graceMs = opts.graceMs ?? 600_000;
    this.retentionMs = opts.retentionMs ?? 3_600_000;
    this.#publish = opts.publishNames ?? false;
    this.clockSkewMs = opts.clockSkewMs ?? 5000;
  }

  get size(): number {
    return this.#order.size;
  }

  /** Distinct names held. */
  get names(): number {
    return this.#names.size;
  }

  /** Whether some answer held now names an address `name`. */
  hasName(name: string): boolean {
    return this.#names.has(name);
  }

  has4(ip: number): boolean {
    return this.#v4.get(ip) !== undefined;
  }

  /** An answer: `name` for the address from `atMs` for `ttl` seconds plus the grace. */
  learn(op: LearnOp): void {
    const [family, v4, v6, client, name, atMs, ttl] = op;
    let e = family === 4 ? this.#v4.get(v4) : this.#v6.get(v6!);
    if (e === undefined) {
      e = new AddressEntry(family, v4, family === 6 ? v6!.slice() : null);
      if (family === 4) this.#v4.set(v4, e);
      else this.#v6.set(e.v6!, e);
    } else {
      this.#order.delete(e);
    }
    this.#order.add(e);
    const from = Math.floor(secondsOf(atMs - this.clockSkewMs));
    const to = Math.ceil(secondsOf(atMs + ttl * 1000 + this.graceMs));
    this.#observe(e, client, name, from, to, atMs);
    this.stats.learned++;
    while (this.#order.size > this.maxAddresses) {
      this.#drop(this.#order.values().next().value!);
      this.stats.evictions++;
    }
    this.stats.addresses = this.#order.size;
    this.onChange?.(family, v4, e.v6);
  }

  #observe(e: AddressEntry, client: number, name: string, from: number, to: number, atMs: number): void {
    const o = e.obs;
    const dropBefore = Math.floor(secondsOf(atMs - this.retentionMs));
    // The same client renewing the same name extends its answer; answers long run out go.
    for (let i = 0; i < o.length; ) {
      const ref = o[i + NAME] as NameRef;
      if (o[i + CLIENT] === client && ref.name === name && (o[i + TO] as number) >= from && (o[i + FROM] as number) <= to) {
        o[i + FROM] = Math.min(o[i + FROM] as number, from);
        o[i + TO] = Math.max(o[i + TO] as number, to);
        return;
      }
      if ((o[i + TO] as number) < dropBefore) this.#removeAt(o, i);
      else i += STRIDE;
    }
    if (o.length >= MAX_OBSERVATIONS * STRIDE) {
      let oldest = 0;
      for (let i = STRIDE; i < o.length; i += STRIDE) if ((o[i + TO] as number) < (o[oldest + TO] as number)) oldest = i;
      this.#removeAt(o, oldest);
    }
    // A literal holds exactly one answer, the common case; more grow the array.
    if (o.length === 0) e.obs = [client, this.#ref(name), from, to];
    else o.push(client, this.#ref(name), from, to);
  }

  #ref(name: string): NameRef {
    let r = this.#names.get(name);
    if (r === undefined) {
      r = { name, endpoint: null, refs: 0 };
      if (this.#publish) heldNames.set(name, (heldNames.get(name) ?? 0) + 1);
      this.#names.set(name, r);
    }
    r.refs++;
    return r;
  }

  #removeAt(o: (number | NameRef)[], i: number): void {
    const r = o[i + NAME] as NameRef;
    if (--r.refs === 0) {
      this.#names.delete(r.name);
      if (this.#publish) {
        const held = heldNames.get(r.name)! - 1;
        if (held === 0) heldNames.delete(r.name);
        else heldNames.set(r.name, held);
      }
    }
    o.splice(i, STRIDE);
  }

  #drop(e: AddressEntry): void {
    this.#order.delete(e);
    if (e.family === 4) this.#v4.delete(e.v4);
    else this.#v6.delete(e.v6!);
    while (e.obs.length > 0) this.#removeAt(e.obs, 0);
    this.onChange?.(e.family, e.v4, e.v6);
  }

  /** Drops addresses whose every answer ran out more than the retention ago (the oldest first; stops at one still in use). */
  prune(nowMs: number): void {
    const limit = secondsOf(nowMs - this.retentionMs);
    for (const e of this.#order) {
      let live = false;
      for (let i = 0; i < e.obs.length; i += STRIDE)
        if ((e.obs[i + TO] as number) >= limit) {
          live = true;
          break;
        }
      if (live) break;
      this.#drop(e);
      this.stats.expired++;
    }
    this.stats.addresses = this.#order.size;
  }

  // ---- lookups (the receive path; allocate nothing) -----------------------------------------

  /** The name of IPv4 `ip` for a flow with the other end `client` that ended at `tMs`, or null; sets spanFrom/spanTo. */
  name4(ip: number, client: number, tMs: number): Endpoint | null {
    const e = this.#v4.get(ip);
    if (e === undefined) {
      this.spanFrom = -Infinity;
      this.spanTo = Infinity;
      return null;
    }
    return this.#nameAt(e, client, secondsOf(tMs));
  }

  name6(b: Uint8Array, client: number, tMs: number): Endpoint | null {
    const e = this.#v6.get(b);
    if (e === undefined) {
      this.spanFrom = -Infinity;
      this.spanTo = Infinity;
      return null;
    }
    return this.#nameAt(e, client, secondsOf(tMs));
  }

  #nameAt(e: AddressEntry, client: number, t: number): Endpoint | null {
    const o = e.obs;
    let own = -1;
    let latest = -1;
    let mixed = false;
    for (let i = 0; i < o.length; i += STRIDE) {
      if ((o[i + FROM] as number) > t || t > (o[i + TO] as number)) continue;
      if (latest >= 0 && o[i + NAME] !== o[latest + NAME]) mixed = true;
      if (latest < 0 || (o[i + FROM] as number) >= (o[latest + FROM] as number)) latest = i;
      if (o[i + CLIENT] === client && (own < 0 || (o[i + FROM] as number) >= (o[own + FROM] as number))) own = i;
    }
    const pick = own >= 0 ? own : latest;
    if (mixed) {
      // The answer depends on who asks: nothing may be remembered for every client.
      this.spanFrom = Infinity;
      this.spanTo = -Infinity;
    } else {
      this.#span(o, pick, t);
    }
    return pick < 0 ? null : endpointOf(o[pick + NAME] as NameRef);
  }

  /**
   * The span around `t` over which the answer stays the one found: within the picked answer's
   * own validity (or the gap between answers when none held), cut wherever another name begins or ends.
   */
  #span(o: (number | NameRef)[], pick: number, t: number): void {
    let from = pick < 0 ? -Infinity : (o[pick + FROM] as number);
    let to = pick < 0 ? Infinity : (o[pick + TO] as number);
    const ref = pick < 0 ? null : o[pick + NAME];
    for (let i = 0; i < o.length; i += STRIDE) {
      if (o[i + NAME] === ref) continue;
      const f = o[i + FROM] as number;
      const u = o[i + TO] as number;
      if (u < t) {
        if (u >= from) from = u + 1;
      } else if (f > t) {
        if (f <= to) to = f - 1;
      }
    }
    this.spanFrom = from === -Infinity ? from : msOf(from);
    this.spanTo = to === Infinity ? to : msOf(to);
  }

  /** Every answer held, oldest address first, as learn ops (to bring a restarted thread level). */
  snapshot(): LearnOp[] {
    const out: LearnOp[] = [];
    for (const e of this.#order) {
      const o = e.obs;
      for (let i = 0; i < o.length; i += STRIDE) {
        const fromMs = msOf(o[i + FROM] as number) + this.clockSkewMs;
        const ttl = Math.max(0, (msOf(o[i + TO] as number) - fromMs - this.graceMs) / 1000);
        out.push([e.family, e.v4, e.v6, o[i + CLIENT] as number, (o[i + NAME] as NameRef).name, fromMs, ttl]);
      }
    }
    return out;
  }
}
