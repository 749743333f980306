/**
 * Byte strings kept for a page's lines from page to page, in one buffer: each is found by a slot
 * number, which its owner (any object: a series' label array) holds. A Buffer per line was 100
 * bytes of heap each, 1.6 MiB for 16,000 zone series. A line not written on a page is dropped
 * after it (`sweep`), and its bytes are reclaimed once the dead bytes outweigh the live ones.
 */
import type { ByteWriter } from './byte-writer.ts';

export class ByteArena {
  #buf = Buffer.allocUnsafe(64 * 1024);
  #end = 0;
  #live = 0;
  /** Per slot: where its bytes are, how many, the page that last wrote it, whose it is. */
  #start = new Int32Array(256);
  #len = new Int32Array(256);
  #page = new Int32Array(256);
  #owner: (object | undefined)[] = [];
  readonly #free: number[] = [];
  #slots = 0;
  #pageNo = 1;

  /** Whether `slot` still holds `owner`'s bytes (a dropped slot may have been given to another). */
  holds(slot: number, owner: object): boolean {
    return this.#owner[slot] === owner;
  }

  /** Keeps `text` (ASCII or not, as UTF-8) for `owner`; its slot. */
  add(owner: object, text: string): number {
    const n = Buffer.byteLength(text);
    if (this.#end + n > this.#buf.length) this.#reclaim(n);
    const slot = this.#free.pop() ?? this.#slots++;
    if (slot >= this.#start.length) this.#growSlots();
    this.#start[slot] = this.#end;
    this.#len[slot] = this.#buf.write(text, this.#end);
    this.#end += n;
    this.#live += n;
    this.#owner[slot] = owner;
    return slot;
  }

  /** Writes the slot's bytes; the slot is then kept past this page's sweep. */
  writeTo(w: ByteWriter, slot: number): void {
    this.#page[slot] = this.#pageNo;
    const s = this.#start[slot];
    w.range(this.#buf, s, s + this.#len[slot]);
  }

  /** Drops the slots this page did not write; call once a page is written. */
  sweep(): void {
    const page = this.#pageNo++;
    for (let slot = 0; slot < this.#slots; slot++) {
      if (this.#owner[slot] === undefined || this.#page[slot] === page) continue;
      this.#owner[slot] = undefined;
      this.#live -= this.#len[slot];
      this.#free.push(slot);
    }
  }

  /** Bytes held, live or dead (tests). */
  get bytes(): number {
    return this.#buf.length;
  }

  /** Room for `n` more bytes: the live bytes moved together when the dead ones are as many, else a buffer twice the size. */
  #reclaim(n: number): void {
    const size = Math.max(64 * 1024, this.#end - this.#live >= this.#live ? 2 * (this.#live + n) : 2 * (this.#buf.length + n));
    const next = Buffer.allocUnsafe(size);
    let end = 0;
    for (let slot = 0; slot < this.#slots; slot++) {
      if (this.#owner[slot] === undefined) continue;
      const s = this.#start[slot];
      this.#buf.copy(next, end, s, s + this.#len[slot]);
      this.#start[slot] = end;
      end += this.#len[slot];
    }
    this.#buf = next;
    this.#end = end;
  }

  #growSlots(): void {
    this.#start = grown(this.#start);
    this.#len = grown(this.#len);
    this.#page = grown(this.#page);
  }
}

const grown = (a: Int32Array): Int32Array<ArrayBuffer> => {
  const b = new Int32Array(2 * a.length);
  b.set(a);
  return b;
};
