/**
 * Information element numbers (RFC 3954 section 8, IANA IPFIX registry) used by the encoders,
 * and a writer that encodes one record's fields from plain values.
 */

export const IE = {
  IN_BYTES: 1,
  IN_PKTS: 2,
  FLOWS: 3,
  PROTOCOL: 4,
  TOS: 5,
  TCP_FLAGS: 6,
  L4_SRC_PORT: 7,
  IPV4_SRC_ADDR: 8,
  SRC_MASK: 9,
  INPUT_SNMP: 10,
  L4_DST_PORT: 11,
  IPV4_DST_ADDR: 12,
  DST_MASK: 13,
  OUTPUT_SNMP: 14,
  IPV4_NEXT_HOP: 15,
  LAST_SWITCHED: 21,
  FIRST_SWITCHED: 22,
  OUT_BYTES: 23,
  OUT_PKTS: 24,
  IPV6_SRC_ADDR: 27,
  IPV6_DST_ADDR: 28,
  ICMP_TYPE: 32,
  SAMPLING_INTERVAL: 34,
  SAMPLING_ALGORITHM: 35,
  FLOW_SAMPLER_ID: 48,
  FLOW_SAMPLER_MODE: 49,
  FLOW_SAMPLER_RANDOM_INTERVAL: 50,
  SRC_MAC: 56,
  DIRECTION: 61,
  IPV6_NEXT_HOP: 62,
  IF_NAME: 82,
  IF_DESC: 83,
  OCTET_TOTAL: 85,
  PACKET_TOTAL: 86,
  FLOW_END_REASON: 136,
  ICMP_TYPE_CODE_IPV6: 139,
  OBSERVATION_DOMAIN_ID: 149,
  FLOW_START_SECONDS: 150,
  FLOW_END_SECONDS: 151,
  FLOW_START_MILLISECONDS: 152,
  FLOW_END_MILLISECONDS: 153,
  FLOW_START_MICROSECONDS: 154,
  FLOW_END_MICROSECONDS: 155,
  SYSTEM_INIT_TIME_MILLISECONDS: 160,
  INGRESS_PHYSICAL_INTERFACE: 252,
  EGRESS_PHYSICAL_INTERFACE: 253,
  SAMPLING_PACKET_INTERVAL: 305,
  SAMPLING_PACKET_SPACE: 306,
} as const;

/** v9 options template scope types (RFC 3954 section 6.1). */
export const SCOPE = { SYSTEM: 1, INTERFACE: 2, LINECARD: 3, CACHE: 4, TEMPLATE: 5 } as const;

/** IPFIX variable-length marker (RFC 7011 section 7). */
export const VARIABLE_LENGTH = 65535;

export interface FieldSpec {
  readonly id: number;
  /** Bytes, or VARIABLE_LENGTH (IPFIX only). */
  readonly length: number;
  /** IPFIX enterprise number (0 or absent: IETF). */
  readonly enterprise?: number;
}

export interface TemplateSpec {
  readonly id: number;
  readonly fields: readonly FieldSpec[];
  /** Present for options templates: the scope fields, which come first in each record. */
  readonly scopeFields?: readonly FieldSpec[];
}

/**
 * A field's value: a number or bigint (big-endian unsigned of the field's length), an IPv4,
 * IPv6 or MAC address as text (chosen by the field's length), any other text (UTF-8, zero
 * padded; length-prefixed when variable), or raw bytes.
 */
export type FieldValue = number | bigint | string | Uint8Array;

const utf8 = new TextEncoder();

/** All fields of a record, scope fields first; a field with no value is written as zeros. */
export function recordFields(t: TemplateSpec): readonly FieldSpec[] {
  return t.scopeFields ? [...t.scopeFields, ...t.fields] : t.fields;
}

/** Encode one data record of template `t`. `values` is keyed by field id (`${enterprise}/${id}` for enterprise fields). */
export function encodeRecord(t: TemplateSpec, values: Readonly<Record<string, FieldValue>>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of recordFields(t)) {
    const key = f.enterprise ? `${f.enterprise}/${f.id}` : String(f.id);
    parts.push(encodeField(f, values[key]));
  }
  return concatBytes(parts);
}

export function encodeField(f: FieldSpec, v: FieldValue | undefined): Uint8Array {
  if (f.length === VARIABLE_LENGTH) {
    const body =
      v === undefined ? new Uint8Array(0) : typeof v === 'string' ? utf8.encode(v) : v instanceof Uint8Array ? v : bigEndian(v, 8);
    const head = body.length < 255 ? Uint8Array.of(body.length) : Uint8Array.of(255, body.length >> 8, body.length & 255);
    return concatBytes([head, body]);
  }
  const out = new Uint8Array(f.length);
  if (v === undefined) return out;
  if (typeof v === 'number' || typeof v === 'bigint') return bigEndian(v, f.length);
  if (v instanceof Uint8Array) {
    out.set(v.subarray(0, f.length));
    return out;
  }
  if (f.length === 4 && /^\d+\.\d+\.\d+\.\d+$/.test(v)) {
    out.set(ipv4Bytes(v));
    return out;
  }
  if (f.length === 16 && v.includes(':')) {
    out.set(ipv6Bytes(v));
    return out;
  }
  if (f.length === 6 && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v)) {
    v.split(':').forEach((h, i) => {
      out[i] = parseInt(h, 16);
    });
    return out;
  }
  out.set(utf8.encode(v).subarray(0, f.length));
  return out;
}

export function bigEndian(v: number | bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let n = BigInt.asUintN(length * 8, BigInt(v));
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

export function ipv4Bytes(text: string): Uint8Array {
  const p = text.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`not an IPv4 address: ${text}`);
  return Uint8Array.from(p);
}

export function ipv4ToInt(text: string): number {
  const b = ipv4Bytes(text);
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

export function ipv6Bytes(text: string): Uint8Array {
  let t = text;
  const out = new Uint8Array(16);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  let tailV4: Uint8Array | undefined;
  if (v4) {
    tailV4 = ipv4Bytes(v4[1]);
    t = `${t.slice(0, -v4[1].length)}0:0`;
  }
  const halves = t.split('::');
  if (halves.length > 2) throw new Error(`not an IPv6 address: ${text}`);
  const [head, tail] = halves.length === 2 ? halves : [t, undefined];
  const hw = head ? head.split(':') : [];
  const tw = tail ? tail.split(':') : [];
  const words = tail === undefined ? hw : [...hw, ...Array(8 - hw.length - tw.length).fill('0'), ...tw];
  if (words.length !== 8) throw new Error(`not an IPv6 address: ${text}`);
  words.forEach((w, i) => {
    const n = parseInt(w, 16);
    if (!/^[0-9a-f]{1,4}$/i.test(w)) throw new Error(`not an IPv6 address: ${text}`);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 255;
  });
  if (tailV4) out.set(tailV4, 12);
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
