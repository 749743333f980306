/**
 * Address text to the binary keys the index uses: IPv4 as an unsigned 32-bit number, IPv6 as 16
 * bytes. Parsing happens only when the inventory changes, never per flow record.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Unsigned 32-bit value of dotted IPv4 text, or -1 when the text is not IPv4. */
export function parseIPv4(text: string): number {
  if (!isIPv4(text)) return -1;
  const p = text.split('.');
  return ((+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3]) >>> 0;
}

/** 16 bytes of IPv6 text (zone ids stripped), or undefined when the text is not IPv6. */
export function parseIPv6(text: string): Uint8Array | undefined {
  const t = text.replace(/%.*$/, '');
  if (!isIPv6(t)) return undefined;
  const out = new Uint8Array(16);
  let head = t;
  let tail = '';
  const dbl = t.indexOf('::');
  if (dbl >= 0) {
    head = t.slice(0, dbl);
    tail = t.slice(dbl + 2);
  }
  const words = (s: string): number[] => {
    if (s === '') return [];
    const res: number[] = [];
    for (const part of s.split(':')) {
      if (part.includes('.')) {
        const v4 = parseIPv4(part);
        res.push(v4 >>> 16, v4 & 0xffff);
      } else {
        res.push(parseInt(part, 16));
      }
    }
    return res;
  };
  const h = words(head);
  const tl = words(tail);
  const all = dbl >= 0 ? [...h, ...new Array<number>(8 - h.length - tl.length).fill(0), ...tl] : h;
  for (let i = 0; i < 8; i++) {
    out[i * 2] = all[i] >>> 8;
    out[i * 2 + 1] = all[i] & 255;
  }
  return out;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), or -1. */
export function mappedIPv4(b: Uint8Array): number {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return -1;
  if (b[10] !== 0xff || b[11] !== 0xff) return -1;
  return ((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0;
}

export type ParsedAddress = { family: 4; v4: number } | { family: 6; v6: Uint8Array };

/** Either family; IPv4-mapped IPv6 text is treated as the IPv4 address it carries. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const v4 = parseIPv4(text.trim());
  if (v4 >= 0) return { family: 4, v4 };
  const v6 = parseIPv6(text.trim());
  if (!v6) return undefined;
  const m = mappedIPv4(v6);
  return m >= 0 ? { family: 4, v4: m } : { family: 6, v6 };
}

/** The addresses of a list that parse, in order (a node's or a Service's). */
export function parseAddresses(texts: readonly string[]): ParsedAddress[] {
  const out: ParsedAddress[] = [];
  for (const t of texts) {
    const a = parseAddress(t);
    if (a) out.push(a);
  }
  return out;
}
