/**
 * Just enough of the DNS wire format (RFC 1035 §4) to learn names from a response: the question
 * name and the A / AAAA answers that name reaches through CNAMEs in the answer section, each with
 * the shortest TTL along its chain (a client's cache lets go of the chain at its weakest link).
 * Names may be compressed (§4.1.4); pointers are followed with a hop limit, so a looping or
 * out-of-range pointer is a malformed message, not a hang.
 */

export class DnsMessageError extends Error {}

export interface LearnedAddress {
  readonly family: 4 | 6;
  /** IPv4 as uint32 (family 4). */
  readonly v4: number;
  /** 16 bytes (family 6). */
  readonly v6: Uint8Array | null;
  /** Seconds. */
  readonly ttl: number;
}

export interface DnsAnswer {
  /** Lower case, no trailing dot. */
  readonly qname: string;
  readonly addresses: LearnedAddress[];
}

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const MAX_HOPS = 64;
/** A CNAME chain longer than this is not followed further (resolvers stop near 8 to 16). */
const MAX_CHAIN = 16;

/** Reads a possibly compressed name at `at`; returns it and the offset just past it in place. */
function readName(m: Uint8Array, at: number): { name: string; next: number } {
  const labels: string[] = [];
  let next = -1;
  let hops = 0;
  let total = 0;
  for (;;) {
    if (at >= m.length) throw new DnsMessageError('name runs past the message');
    const len = m[at];
    if (len === 0) {
      if (next < 0) next = at + 1;
      break;
    }
    const top = len & 0xc0;
    if (top === 0xc0) {
      if (at + 1 >= m.length) throw new DnsMessageError('truncated compression pointer');
      if (++hops > MAX_HOPS) throw new DnsMessageError('compression pointer loop');
      if (next < 0) next = at + 2;
      at = ((len & 0x3f) << 8) | m[at + 1];
      continue;
    }
    if (top !== 0) throw new DnsMessageError(`label type 0x${top.toString(16)}`);
    if (at + 1 + len > m.length) throw new DnsMessageError('label runs past the message');
    total += len + 1;
    if (total > 255) throw new DnsMessageError('name longer than 255 bytes');
    let s = '';
    for (let i = at + 1; i <= at + len; i++) {
      const c = m[i];
      // Names are case-insensitive; bytes outside printable ASCII are kept escaped, never raw.
      s +=
        c >= 0x41 && c <= 0x5a
          ? String.fromCharCode(c + 32)
          : c > 0x20 && c < 0x7f && c !== 0x2e
            ? String.fromCharCode(c)
            : `\\${c.toString().padStart(3, '0')}`;
    }
    labels.push(s);
    at += 1 + len;
  }
  return { name: labels.join('.'), next };
}

/** Skips a name without building it. */
function skipName(m: Uint8Array, at: number): number {
  for (;;) {
    if (at >= m.length) throw new DnsMessageError('name runs past the message');
    const len = m[at];
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) return at + 2;
    if ((len & 0xc0) !== 0) throw new DnsMessageError('bad label type');
    at += 1 + len;
  }
}

/**
 * The question name and the addresses it resolved to, or null for a message that teaches
 * nothing (a query, an error rcode, no question). Throws DnsMessageError when malformed.
 */
export function parseDnsResponse(m: Uint8Array): DnsAnswer | null {
  if (m.length < 12) throw new DnsMessageError('shorter than a DNS header');
  const flags = (m[2] << 8) | m[3];
  if ((flags & 0x8000) === 0) return null;
  if ((flags & 0x000f) !== 0) return null;
  const qd = (m[4] << 8) | m[5];
  const an = (m[6] << 8) | m[7];
  if (qd === 0) return null;
  let at = 12;
  const q = readName(m, at);
  at = q.next + 4;
  for (let i = 1; i < qd; i++) at = skipName(m, at) + 4;
  if (at > m.length) throw new DnsMessageError('question runs past the message');

  // Owner → CNAME target (with TTL), and owner → addresses.
  const cnames = new Map<string, { target: string; ttl: number }>();
  const owned = new Map<string, LearnedAddress[]>();
  for (let i = 0; i < an; i++) {
    const owner = readName(m, at);
    at = owner.next;
    if (at + 10 > m.length) throw new DnsMessageError('record header runs past the message');
    const type = (m[at] << 8) | m[at + 1];
    const cls = (m[at + 2] << 8) | m[at + 3];
    const ttl = ((m[at + 4] << 24) | (m[at + 5] << 16) | (m[at + 6] << 8) | m[at + 7]) >>> 0;
    const rdlen = (m[at + 8] << 8) | m[at + 9];
    const rd = at + 10;
    if (rd + rdlen > m.length) throw new DnsMessageError('record data runs past the message');
    at = rd + rdlen;
    if (cls !== CLASS_IN) continue;
    // RFC 2181 §8: a TTL with the top bit set means zero.
    const t = ttl > 0x7fffffff ? 0 : ttl;
    if (type === TYPE_A && rdlen === 4) {
      const v4 = ((m[rd] << 24) | (m[rd + 1] << 16) | (m[rd + 2] << 8) | m[rd + 3]) >>> 0;
      push(owned, owner.name, { family: 4, v4, v6: null, ttl: t });
    } else if (type === TYPE_AAAA && rdlen === 16) {
      push(owned, owner.name, { family: 6, v4: 0, v6: m.slice(rd, rd + 16), ttl: t });
    } else if (type === TYPE_CNAME) {
      cnames.set(owner.name, { target: readName(m, rd).name, ttl: t });
    }
  }
  const addresses: LearnedAddress[] = [];
  let name = q.name;
  let chainTtl = Infinity;
  for (let hop = 0; hop <= MAX_CHAIN; hop++) {
    for (const a of owned.get(name) ?? []) addresses.push(a.ttl <= chainTtl ? a : { ...a, ttl: chainTtl });
    const c = cnames.get(name);
    if (c === undefined) break;
    chainTtl = Math.min(chainTtl, c.ttl);
    name = c.target;
  }
  return { qname: q.name, addresses };
}

function push(map: Map<string, LearnedAddress[]>, k: string, v: LearnedAddress): void {
  const l = map.get(k);
  if (l === undefined) map.set(k, [v]);
  else l.push(v);
}

// ---- building messages (tests, the demo's own dnstap stream) --------------------------------

export interface BuildRecord {
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'CNAME';
  readonly ttl: number;
  /** Address text for A / AAAA, target name for CNAME. */
  readonly data: string;
}

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const l of name.split('.').filter(Boolean)) {
    const b = new TextEncoder().encode(l);
    out.push(b.length, ...b);
  }
  out.push(0);
  return out;
}

/**
 * A response to `qname` (type A) with these answers. Owner names equal to the question are
 * compressed to a pointer at it, as real servers do, so the parser's pointer path is exercised.
 */
export function buildDnsResponse(qname: string, answers: readonly BuildRecord[], id = 0x1234): Uint8Array {
  const b: number[] = [id >> 8, id & 255, 0x81, 0x80, 0, 1, answers.length >> 8, answers.length & 255, 0, 0, 0, 0];
  b.push(...encodeName(qname), 0, 1, 0, 1);
  const qkey = qname.toLowerCase().replace(/\.$/, '');
  for (const r of answers) {
    if (r.name.toLowerCase().replace(/\.$/, '') === qkey) b.push(0xc0, 12);
    else b.push(...encodeName(r.name));
    const type = r.type === 'A' ? TYPE_A : r.type === 'AAAA' ? TYPE_AAAA : TYPE_CNAME;
    let rdata: number[];
    if (r.type === 'A') rdata = r.data.split('.').map(Number);
    else if (r.type === 'AAAA') rdata = [...v6Bytes(r.data)];
    else rdata = encodeName(r.data);
    b.push(
      type >> 8,
      type & 255,
      0,
      1,
      (r.ttl >>> 24) & 255,
      (r.ttl >>> 16) & 255,
      (r.ttl >>> 8) & 255,
      r.ttl & 255,
      rdata.length >> 8,
      rdata.length & 255,
      ...rdata,
    );
  }
  return Uint8Array.from(b);
}

function v6Bytes(text: string): Uint8Array {
  const [head, tail] = text.split('::');
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 255;
  });
  return out;
}
