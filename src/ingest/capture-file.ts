/**
 * A window over a file read in chunks, so a capture of any size is read with bounded memory.
 * Views into `buffer` stay valid only until the next `ensure()`: the window may be compacted
 * or regrown to make room.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK = 1 << 20;

export class ChunkedFile {
  readonly name: string;
  #fd: number;
  #buf: Uint8Array;
  /** Start of unread data in `buf`. */
  pos = 0;
  /** End of valid data in `buf`. */
  #end = 0;
  #eof = false;
  /** File offset of `buf[0]`, for error messages. */
  #base = 0;

  constructor(name: string) {
    this.name = name;
    this.#fd = openSync(name, 'r');
    this.#buf = new Uint8Array(CHUNK);
  }

  /** The bytes available from `pos` (valid until the next ensure). */
  get available(): number {
    return this.#end - this.pos;
  }

  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** File offset of the read position. */
  get offset(): number {
    return this.#base + this.pos;
  }

  /** Make at least `n` bytes available from `pos`; false when the file ends first. */
  ensure(n: number): boolean {
    if (this.#end - this.pos >= n) return true;
    if (this.#eof) return false;
    if (this.pos > 0) {
      this.#buf.copyWithin(0, this.pos, this.#end);
      this.#base += this.pos;
      this.#end -= this.pos;
      this.pos = 0;
    }
    if (n > this.#buf.length) {
      const bigger = new Uint8Array(Math.max(n, this.#buf.length * 2));
      bigger.set(this.#buf.subarray(0, this.#end));
      this.#buf = bigger;
    }
    while (this.#end < n && !this.#eof) {
      const got = readSync(this.#fd, this.#buf, this.#end, this.#buf.length - this.#end, null);
      if (got === 0) this.#eof = true;
      this.#end += got;
    }
    return this.#end - this.pos >= n;
  }

  close(): void {
    if (this.#fd >= 0) {
      closeSync(this.#fd);
      this.#fd = -1;
    }
  }
}
