/**
 * Where an address outside the inventory is, when no named network claims it: a public address
 * is the internet; a private one (RFC 1918, CGNAT, IPv6 ULA) is some network outside the cluster
 * (a peered VPC, a VPN, on-prem); loopback, link-local, multicast and reserved addresses are
 * nowhere we can bill, so unknown. The documentation ranges (TEST-NET-1/2/3, 2001:db8::/32) count
 * as public: examples and tests use them to stand for the internet.
 */
import { EXTERNAL, INTERNET, NOWHERE, type Place } from '../aggregate/zone-class.ts';

export type AddressScope = 'public' | 'private' | 'special';

const V4_RANGES: readonly (readonly [number, number, AddressScope])[] = [
  [0x00000000, 8, 'special'], // 0.0.0.0/8
  [0x0a000000, 8, 'private'], // 10.0.0.0/8
  [0x64400000, 10, 'private'], // 100.64.0.0/10 (CGNAT)
  [0x7f000000, 8, 'special'], // 127.0.0.0/8
  [0xa9fe0000, 16, 'special'], // 169.254.0.0/16 (link-local, cloud metadata)
  [0xac100000, 12, 'private'], // 172.16.0.0/12
  [0xc0000000, 24, 'special'], // 192.0.0.0/24
  [0xc0a80000, 16, 'private'], // 192.168.0.0/16
  [0xc6120000, 15, 'private'], // 198.18.0.0/15
  [0xe0000000, 3, 'special'], // 224.0.0.0/3: multicast and reserved
];

export function scope4(ip: number): AddressScope {
  for (const [net, bits, scope] of V4_RANGES) {
    const mask = (0xffffffff << (32 - bits)) >>> 0;
    if ((ip & mask) >>> 0 === net) return scope;
  }
  return 'public';
}

export function scope6(b: Uint8Array): AddressScope {
  // ::ffff:a.b.c.d is an IPv4 address.
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
  if (mapped) return scope4(((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0);
  if ((b[0] & 0xfe) === 0xfc) return 'private'; // fc00::/7
  if ((b[0] & 0xe0) === 0x20) return 'public'; // 2000::/3, global unicast
  return 'special'; // ::, ::1, fe80::/10, ff00::/8 and the rest of the unassigned space
}

/** Where an address nobody names is, for zone classes: the internet, outside the cluster, or nowhere. */
export function unnamedPlace(ip4: number, ip6: Uint8Array | null): Place {
  const scope = ip6 === null ? scope4(ip4) : scope6(ip6);
  return scope === 'public' ? INTERNET : scope === 'private' ? EXTERNAL : NOWHERE;
}
