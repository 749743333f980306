/**
 * Ends outside the inventory. An address no pod, node or Service holds is named once (a named
 * network, then its autonomous system, then unknown) and cached per address, so lookups allocate
 * nothing. DNS names (dnstap) rank between named networks and the ASN; their answers depend on
 * time and client, so they are never cached here.
 */
import { INTERNET, type Place } from '../aggregate/zone-class.ts';
import { ipv4ToString, ipv6ToString } from '../decode/record.ts';
import { clientKey4, clientKey6, type DnsNames, NO_CLIENT } from '../dns/dns-names.ts';
import type { Hit } from './address-history.ts';
import type { AsnDatabase } from './asn.ts';
import type { Endpoint } from './endpoint.ts';
import { externalEndpoint, UNKNOWN_ENDPOINT } from './intern.ts';
import { V4Table, V6Table } from './ip-table.ts';
import type { NamedNetworks } from './networks.ts';

export interface ExternalsOptions {
  readonly networks?: NamedNetworks;
  readonly asn?: AsnDatabase;
  readonly dnsNames?: DnsNames;
  /** DNS names above named networks. */
  readonly dnsOverNetworks?: boolean;
  /** Most addresses remembered per family; the cache starts over when full. Default 65,536. */
  readonly externalCacheSize?: number;
}

export class Externals {
  readonly #ext4 = new V4Table<Endpoint>(1024);
  readonly #ext6 = new V6Table<Endpoint>(64);
  readonly #networks: NamedNetworks | undefined;
  readonly #asn: AsnDatabase | undefined;
  readonly #dnsNames: DnsNames | undefined;
  readonly #dnsOverNetworks: boolean;
  readonly #cacheMax: number;
  /** Endpoints named by --networks, which keep their precedence over DNS names unless flipped. */
  readonly #networkEps = new Set<Endpoint>();

  constructor(opts: ExternalsOptions) {
    this.#networks = opts.networks;
    this.#asn = opts.asn;
    this.#dnsNames = opts.dnsNames;
    this.#dnsOverNetworks = opts.dnsOverNetworks ?? false;
    this.#cacheMax = opts.externalCacheSize ?? 65_536;
  }

  /** An IPv4 address at time `t`; `peer` is the other end's address (the DNS client), -1 when not known. */
  name4(ip: number, peer: number, t: number, hit: Hit): Endpoint {
    const ext = this.#ext4.get(ip) ?? this.#cache4(ip);
    const dns = this.#dnsNames;
    if (dns === undefined || (!this.#dnsOverNetworks && this.#networkEps.has(ext))) return ext;
    return this.#dnsName(dns, dns.name4(ip, peer < 0 ? NO_CLIENT : clientKey4(peer), t), ext, hit);
  }

  name6(b: Uint8Array, peer: Uint8Array | null, t: number, hit: Hit): Endpoint {
    const ext = this.#ext6.get(b) ?? this.#cache6(b);
    const dns = this.#dnsNames;
    if (dns === undefined || (!this.#dnsOverNetworks && this.#networkEps.has(ext))) return ext;
    return this.#dnsName(dns, dns.name6(b, peer === null ? NO_CLIENT : clientKey6(peer), t), ext, hit);
  }

  /** Where an external end is: where its named network says, else (named by its ASN) the internet. */
  placeOf(ep: Endpoint): Place {
    return this.#networks?.placeOf(ep.name) ?? INTERNET;
  }

  /** Addresses named and cached. */
  get size(): number {
    return this.#ext4.size + this.#ext6.size;
  }

  /** Bytes held by the caches' own arrays. */
  get bytes(): number {
    return this.#ext4.bytes + this.#ext6.bytes;
  }

  /** A DNS answer (or none) for an external address; what it holds for narrows the hit span. */
  #dnsName(dns: DnsNames, named: Endpoint | null, ext: Endpoint, hit: Hit): Endpoint {
    if (dns.spanFrom > hit.hitFrom) hit.hitFrom = dns.spanFrom;
    if (dns.spanTo < hit.hitTo) hit.hitTo = dns.spanTo;
    return named ?? ext;
  }

  #cache4(ip: number): Endpoint {
    const ext = this.#external(ip, null);
    if (this.#ext4.size >= this.#cacheMax) this.#ext4.clear();
    this.#ext4.set(ip, ext);
    return ext;
  }

  #cache6(b: Uint8Array): Endpoint {
    const ext = this.#external(0, b);
    if (this.#ext6.size >= this.#cacheMax) this.#ext6.clear();
    this.#ext6.set(b, ext);
    return ext;
  }

  #external(ip4: number, ip6: Uint8Array | null): Endpoint {
    const named = ip6 === null ? this.#networks?.lookup4(ip4) : this.#networks?.lookup6(ip6);
    if (named !== undefined) {
      const ep = externalEndpoint(named);
      if (this.#dnsNames !== undefined) this.#networkEps.add(ep);
      return ep;
    }
    if (this.#asn !== undefined) {
      const as = this.#asn.lookup(ip6 === null ? ipv4ToString(ip4) : ipv6ToString(ip6));
      if (as !== undefined) return externalEndpoint(as);
    }
    return UNKNOWN_ENDPOINT;
  }
}
