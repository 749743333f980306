/**
 * A growable byte buffer that a page is written into and that is kept for the next page. A
 * /metrics page of 20,000 series is 9 MiB: built as a string and then encoded, each scrape left
 * two such objects for the old generation to collect (young space is 2 MiB, so they are born
 * there), and the main thread's heap grew by tens of MiB under load. Written into a reused
 * buffer, a scrape leaves almost nothing behind.
 */
import { formatNumber } from './metrics.ts';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class ByteWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Start a new page; the buffer (and its capacity) is kept. */
  reset(): void {
    this.#pos = 0;
  }

  get length(): number {
    return this.#pos;
  }

  /** Bytes held, written or not (the largest page so far). */
  get capacity(): number {
    return this.#buf.length;
  }

  /** The page so far: a view, valid until the next reset or write. */
  view(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }

  toString(): string {
    return this.#buf.toString('utf8', 0, this.#pos);
  }

  byte(c: number): void {
    this.#room(1);
    this.#buf[this.#pos++] = c;
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /** A copy of what was written at [start, end) of this page. */
  again(start: number, end: number): void {
    this.#room(end - start);
    this.#buf.copyWithin(this.#pos, start, end);
    this.#pos += end - start;
  }

  /** Bytes [start, end) of `src`. */
  range(src: Buffer, start: number, end: number): void {
    this.#room(end - start);
    this.#pos += src.copy(this.#buf, this.#pos, start, end);
  }

  /** A string of ASCII characters only (the caller knows), one byte each. */
  ascii(s: string): void {
    this.#room(s.length);
    this.#pos += this.#buf.write(s, this.#pos, 'latin1');
  }

  /** Any string, as UTF-8. */
  text(s: string): void {
    this.#room(s.length * 3);
    this.#pos += this.#buf.write(s, this.#pos, 'utf8');
  }

  /**
   * A sample value as the Prometheus text formats write it (see observe/metrics.ts formatNumber):
   * digits written in place for the non-negative safe integers counters are, text otherwise.
   */
  sampleValue(v: number): void {
    if (!(v >= 0 && v <= MAX_SAFE && Math.floor(v) === v)) {
      this.text(formatNumber(v));
      return;
    }
    this.#room(16);
    const buf = this.#buf;
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    let at = this.#pos + digits;
    this.#pos = at;
    let n = v;
    do {
      const q = Math.floor(n / 10);
      buf[--at] = 48 + (n - q * 10);
      n = q;
    } while (n > 0);
  }

  /**
   * Grows by a quarter, not twice: the buffer is kept, so what a growth overshoots stays resident
   * (a 8.7 MiB page kept 16 MiB). The extra copies happen while a page first grows, not after.
   */
  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(Math.ceil(this.#buf.length * 1.25), this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }
}
