/**
 * The protobuf writing under otlp-encode.ts: a growing buffer with the encodings of the SDK's
 * writer (varints, little-endian fixed64, UTF-8), so the bytes come out the same.
 */
export const textEncoder = new TextEncoder();

/** A growing buffer with the SDK writer's encodings (varints, little-endian fixed64, UTF-8). */
export class Out {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(size = 1 << 16) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  varint(value: number): void {
    this.ensure(10);
    const b = this.buf;
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 127) {
        b[this.pos++] = (v & 127) | 128;
        v >>>= 7;
      }
      b[this.pos++] = v;
      return;
    }
    let [low, high] = split64(value);
    while (high > 0 || low > 127) {
      b[this.pos++] = (low & 127) | 128;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    b[this.pos++] = low & 127;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  fixed64(low: number, high: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, low >>> 0, true);
    this.view.setUint32(this.pos + 4, high >>> 0, true);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  string(s: string): void {
    if (!isAscii(s)) {
      const bytes = textEncoder.encode(s);
      this.varint(bytes.length);
      this.raw(bytes);
      return;
    }
    this.varint(s.length);
    this.ascii(s);
  }

  /** The bytes of a string isAscii() holds for (one byte a character), without its length. */
  ascii(s: string): void {
    this.ensure(s.length);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** A length-delimited message: its body is written by `body`, then its length put before it. */
  nested(body: () => void): void {
    const at = this.pos;
    this.ensure(1);
    this.pos += 1;
    body();
    const len = this.pos - at - 1;
    const size = varintSize(len);
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(at + size, at + 1, this.pos);
      this.pos += size - 1;
    }
    let v = len,
      p = at;
    while (v > 127) {
      this.buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  take(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Two's complement halves of an integer-valued double, as the SDK's writer computes them. */
export function split64(value: number): [number, number] {
  if (value >= 0) return [value >>> 0, (value / 4294967296) >>> 0];
  const abs = Math.abs(value);
  let low = ~(abs >>> 0) >>> 0;
  let high = ~((abs / 4294967296) >>> 0) >>> 0;
  low = (low + 1) >>> 0;
  if (low === 0) high = (high + 1) >>> 0;
  return [low, high];
}

/** Whether every character of `s` is ASCII, so its UTF-8 is one byte a character. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

/** The bytes of `v` (below 2^32) as a varint. */
export function varintSize(v: number): number {
  return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : v < 268435456 ? 4 : 5;
}
