/**
 * Networks as settings name them (--allow-exporters, policies' ipBlocks): parsed once, then tested
 * against a sender's address bytes. Apart from run-options.ts so the receiving threads' socket
 * layer tests senders without loading the option tables and their parsers.
 */
import { isIP } from 'node:net';
import { ConfigError } from './config-error.ts';
import { parseIPv4, parseIPv6 } from '../identify/ip.ts';

export interface Cidr {
  readonly family: 4 | 6;
  /** Network address bytes (4 or 16) with host bits cleared. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
  readonly text: string;
}

/** Text `10.0.0.0/8`, `fd00::/8` or a bare address (a /32 or /128). */
export function parseCidr(text: string, field: string): Cidr {
  const [addr, len, extra] = text.trim().split('/');
  const family = isIP(addr ?? '');
  if (extra !== undefined || (family !== 4 && family !== 6)) throw new ConfigError(field, `${JSON.stringify(text)} is not a CIDR`);
  const max = family === 4 ? 32 : 128;
  const prefix = len === undefined ? max : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (len !== undefined && !/^\d+$/.test(len))) {
    throw new ConfigError(field, `${JSON.stringify(text)} has a bad prefix length`);
  }
  const bytes = addressBytes(addr)!;
  // An IPv4-mapped network (::ffff:a.b.c.d/p) is the IPv4 network /p-96, since senders' mapped
  // addresses are unwrapped to 4 bytes too; a prefix under 96 would also cover IPv6 addresses.
  const mapped = family === 6 && bytes.length === 4;
  if (mapped && prefix < 96) throw new ConfigError(field, `${JSON.stringify(text)}: an IPv4-mapped CIDR needs a prefix of 96 or more`);
  const v4prefix = mapped ? prefix - 96 : prefix;
  for (let bit = v4prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { family: mapped ? 4 : family, bytes, prefix: v4prefix, text: text.trim() };
}

/** 4 or 16 bytes of an address, with IPv4-mapped IPv6 unwrapped; undefined when not an address. */
export function addressBytes(addr: string): Uint8Array | undefined {
  const a = addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
  const v4 = parseIPv4(a);
  if (v4 >= 0) return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  return parseIPv6(a);
}

export function cidrContains(c: Cidr, bytes: Uint8Array): boolean {
  if (bytes.length !== c.bytes.length) return false;
  const full = c.prefix >> 3;
  for (let i = 0; i < full; i++) if (bytes[i] !== c.bytes[i]) return false;
  const rest = c.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[full] & mask) === c.bytes[full];
}
