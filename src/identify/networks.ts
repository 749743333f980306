/**
 * Named CIDRs for external addresses (`office=192.0.2.0/24`). The narrowest matching network
 * wins, so `corp=10.0.0.0/8` and `lab=10.1.0.0/16` can overlap. Looked up only when an address
 * is not in the inventory and not yet in the index's external cache.
 *
 * A network may also say where it is, for zone classes: `vpc-b=10.1.0.0/16;zone=use1-az2;region=us-east-1`
 * compares it with the cluster's zones like a node; `;class=internet` or `;class=external` fixes
 * the class of every flow that reaches it. A network that says neither is `external`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseAddress } from './ip.ts';
import { EXTERNAL, internPlace, type Place } from '../aggregate/zone-class.ts';

export class NetworksError extends Error {}

/**
 * The YAML parser, loaded when a networks file is read: every receiving thread builds its networks
 * from the option, and most runs name none in a file (the parser is about 1 MiB of each thread's heap).
 */
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

/** Where a named network is (see the file comment). */
export type NetworkPlace = Place;

export const NETWORK_CLASSES = ['internet', 'external'] as const;
const DEFAULT_PLACE: NetworkPlace = EXTERNAL;

/** zone / region / class as given (any may be absent) to a NetworkPlace; throws NetworksError naming the bad field. */
export function networkPlace(name: string, attrs: { zone?: unknown; region?: unknown; class?: unknown }): NetworkPlace {
  for (const k of ['zone', 'region', 'class'] as const) {
    const v = attrs[k];
    if (v !== undefined && (typeof v !== 'string' || v.trim() === '')) throw new NetworksError(`${name}: ${k} must be a non-empty string`);
  }
  const cls = attrs.class as string | undefined;
  if (cls !== undefined && !(NETWORK_CLASSES as readonly string[]).includes(cls)) {
    throw new NetworksError(`${name}: class ${JSON.stringify(cls)} is not one of ${NETWORK_CLASSES.join(', ')}`);
  }
  const zone = (attrs.zone as string | undefined)?.trim() ?? '';
  const region = (attrs.region as string | undefined)?.trim() ?? '';
  if (zone === '' && region === '' && cls === undefined) return DEFAULT_PLACE;
  // Placed by zone: compared with the cluster's zones unless a class says otherwise.
  return internPlace(zone, region, (cls as NetworkPlace['outside'] | undefined) ?? (zone === '' ? 'external' : ''));
}

interface Net6 {
  readonly bytes: Uint8Array;
  readonly bits: number;
  readonly name: string;
}

function mask4(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export class NamedNetworks {
  /** Per prefix length present, masked network → name; lengths kept longest first. */
  readonly #v4 = new Map<number, Map<number, string>>();
  #v4Lengths: number[] = [];
  #v6: Net6[] = [];
  #count = 0;
  readonly #places = new Map<string, NetworkPlace>();

  /** Where the network of this name is (`external` unless it said otherwise); undefined for a name no network has. */
  placeOf(name: string): NetworkPlace | undefined {
    return this.#places.get(name);
  }

  get size(): number {
    return this.#count;
  }

  /** Add `cidr` (v4 or v6; a bare address is a /32 or /128) under `name`. Throws NetworksError on bad input. */
  add(name: string, cidr: string, place?: NetworkPlace): void {
    const n = name.trim();
    if (n === '') throw new NetworksError(`network ${JSON.stringify(cidr)} needs a name`);
    this.#places.set(n, place ?? this.#places.get(n) ?? DEFAULT_PLACE);
    const [addrText, bitsText, extra] = cidr.trim().split('/');
    const addr = parseAddress(addrText ?? '');
    if (!addr || extra !== undefined) throw new NetworksError(`${n}: ${JSON.stringify(cidr)} is not a CIDR`);
    const max = addr.family === 4 ? 32 : 128;
    const bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
    if (!(bits >= 0 && bits <= max)) throw new NetworksError(`${n}: ${JSON.stringify(cidr)} has a bad prefix length`);
    if (addr.family === 4) {
      let byNet = this.#v4.get(bits);
      if (!byNet) {
        byNet = new Map();
        this.#v4.set(bits, byNet);
        this.#v4Lengths = [...this.#v4.keys()].sort((a, b) => b - a);
      }
      byNet.set((addr.v4 & mask4(bits)) >>> 0, n);
    } else {
      const bytes = new Uint8Array(16);
      for (let i = 0; i < 16; i++) {
        const keep = Math.max(0, Math.min(8, bits - i * 8));
        bytes[i] = addr.v6[i] & ((0xff << (8 - keep)) & 0xff);
      }
      this.#v6.push({ bytes, bits, name: n });
      this.#v6.sort((a, b) => b.bits - a.bits);
    }
    this.#count++;
  }

  lookup4(ip: number): string | undefined {
    for (const bits of this.#v4Lengths) {
      const name = this.#v4.get(bits)?.get((ip & mask4(bits)) >>> 0);
      if (name !== undefined) return name;
    }
    return undefined;
  }

  lookup6(b: Uint8Array): string | undefined {
    outer: for (const net of this.#v6) {
      for (let i = 0; i < 16; i++) {
        const keep = Math.max(0, Math.min(8, net.bits - i * 8));
        if (keep === 0) break;
        if ((b[i] & ((0xff << (8 - keep)) & 0xff)) !== net.bytes[i]) continue outer;
      }
      return net.name;
    }
    return undefined;
  }
}

/** Entries as `name=cidr`, optionally followed by `;zone=Z`, `;region=R`, `;class=C`. */
export function addNetworkList(nets: NamedNetworks, entries: readonly string[]): void {
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq < 0) throw new NetworksError(`${JSON.stringify(e)}: expected name=cidr`);
    const name = e.slice(0, eq);
    const [cidr, ...rest] = e.slice(eq + 1).split(';');
    const attrs: Record<string, string> = {};
    for (const kv of rest) {
      const at = kv.indexOf('=');
      const key = at < 0 ? kv.trim() : kv.slice(0, at).trim();
      if (key !== 'zone' && key !== 'region' && key !== 'class')
        throw new NetworksError(`${name.trim()}: ${JSON.stringify(key)} is not zone, region or class`);
      attrs[key] = at < 0 ? '' : kv.slice(at + 1);
    }
    nets.add(name, cidr ?? '', networkPlace(name.trim(), attrs));
  }
}

/**
 * A YAML or JSON file of named networks, in any of these shapes:
 *   { office: 192.0.2.0/24, cloud: [203.0.113.0/24, 2001:db8::/32] }
 *   [ { name: office, cidr: 192.0.2.0/24 }, { name: cloud, cidrs: [...] } ]
 *   { networks: <either of the above> }
 */
export function addNetworksFile(nets: NamedNetworks, path: string): void {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new NetworksError(`networks file ${path}: ${(err as Error).message}`);
  }
  if (doc && typeof doc === 'object' && !Array.isArray(doc) && 'networks' in doc) doc = (doc as { networks: unknown }).networks;
  const cidrsOf = (v: unknown, where: string): string[] => {
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    throw new NetworksError(`networks file ${path}: ${where}: expected a CIDR or a list of CIDRs`);
  };
  try {
    if (Array.isArray(doc)) {
      doc.forEach((item: unknown, i) => {
        if (!item || typeof item !== 'object') throw new NetworksError(`networks file ${path}: entry ${i}: expected {name, cidr}`);
        const o = item as Record<string, unknown>;
        if (typeof o.name !== 'string') throw new NetworksError(`networks file ${path}: entry ${i}: missing name`);
        const place = networkPlace(o.name, o);
        for (const c of cidrsOf(o.cidrs ?? o.cidr, `entry ${i}`)) nets.add(o.name, c, place);
      });
    } else if (doc && typeof doc === 'object') {
      for (const [name, v] of Object.entries(doc)) {
        // { name: { cidrs: [...], zone, region, class } } as well as { name: cidr(s) }.
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          const o = v as Record<string, unknown>;
          const place = networkPlace(name, o);
          for (const c of cidrsOf(o.cidrs ?? o.cidr, name)) nets.add(name, c, place);
        } else for (const c of cidrsOf(v, name)) nets.add(name, c);
      }
    } else if (doc !== null && doc !== undefined) {
      throw new NetworksError(`networks file ${path}: expected a mapping or a list`);
    }
  } catch (err) {
    if (err instanceof NetworksError && !err.message.startsWith('networks file')) {
      throw new NetworksError(`networks file ${path}: ${err.message}`);
    }
    throw err;
  }
}

/**
 * The `--networks` option: each entry is `name=cidr`, or the path of a YAML/JSON file of networks.
 * Read into `nets`, which may remember more than NamedNetworks does (the policy side keeps each name's CIDRs).
 */
export function addNetworksOption<T extends NamedNetworks>(nets: T, value: string | readonly string[] | undefined): T {
  const entries =
    value === undefined
      ? []
      : typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value;
  for (const e of entries) {
    if (!e.includes('=') && existsSync(e)) addNetworksFile(nets, e);
    else addNetworkList(nets, [e]);
  }
  return nets;
}

/** The `--networks` option as the identity index looks addresses up in it. */
export function networksFromOption(value: string | readonly string[] | undefined): NamedNetworks {
  return addNetworksOption(new NamedNetworks(), value);
}
