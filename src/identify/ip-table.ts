/**
 * Open-addressing hash tables keyed by raw addresses, so a lookup per flow record is a multiply,
 * a shift and a few typed-array reads: no strings, no boxed numbers, no allocation. Linear
 * probing with backward-shift deletion keeps probe chains short without tombstones under churn.
 */

const EMPTY = undefined;

function capacityFor(n: number): number {
  let cap = 16;
  while (cap < n * 2) cap *= 2;
  return cap;
}

/** IPv4 (unsigned 32-bit) → V. */
export class V4Table<V> {
  #keys: Int32Array;
  #vals: (V | undefined)[];
  #mask: number;
  #shift: number;
  size = 0;

  constructor(initial = 16) {
    const cap = capacityFor(initial);
    this.#keys = new Int32Array(cap);
    this.#vals = new Array<V | undefined>(cap).fill(EMPTY);
    this.#mask = cap - 1;
    this.#shift = 32 - Math.log2(cap);
  }

  #slot(ip: number): number {
    return Math.imul(ip | 0, 0x9e3779b1) >>> this.#shift;
  }

  get(ip: number): V | undefined {
    const key = ip | 0;
    const keys = this.#keys;
    const vals = this.#vals;
    const mask = this.#mask;
    for (let i = this.#slot(key); ; i = (i + 1) & mask) {
      const v = vals[i];
      if (v === EMPTY) return undefined;
      if (keys[i] === key) return v;
    }
  }

  set(ip: number, value: V): void {
    const key = ip | 0;
    for (let i = this.#slot(key); ; i = (i + 1) & this.#mask) {
      if (this.#vals[i] === EMPTY) {
        this.#keys[i] = key;
        this.#vals[i] = value;
        if (++this.size * 2 > this.#vals.length) this.#resize(this.#vals.length * 2);
        return;
      }
      if (this.#keys[i] === key) {
        this.#vals[i] = value;
        return;
      }
    }
  }

  delete(ip: number): boolean {
    const key = ip | 0;
    const mask = this.#mask;
    let i = this.#slot(key);
    for (; ; i = (i + 1) & mask) {
      if (this.#vals[i] === EMPTY) return false;
      if (this.#keys[i] === key) break;
    }
    // Backward shift: pull later members of the probe chain into the hole.
    let hole = i;
    for (let j = (i + 1) & mask; this.#vals[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.#slot(this.#keys[j]);
      const dist = (j - home) & mask;
      const holeDist = (j - hole) & mask;
      if (dist >= holeDist) {
        this.#keys[hole] = this.#keys[j];
        this.#vals[hole] = this.#vals[j];
        hole = j;
      }
    }
    this.#vals[hole] = EMPTY;
    this.#keys[hole] = 0;
    this.size--;
    if (this.#vals.length > 64 && this.size * 8 < this.#vals.length) this.#resize(this.#vals.length / 2);
    return true;
  }

  clear(): void {
    this.#vals.fill(EMPTY);
    this.#keys.fill(0);
    this.size = 0;
  }

  *entries(): IterableIterator<[number, V]> {
    for (let i = 0; i < this.#vals.length; i++) {
      const v = this.#vals[i];
      if (v !== EMPTY) yield [this.#keys[i] >>> 0, v];
    }
  }

  /** Bytes held by the table's arrays (8 per value slot for the reference, 4 for the key). */
  get bytes(): number {
    return this.#keys.byteLength + this.#vals.length * 8;
  }

  #resize(cap: number): void {
    const oldKeys = this.#keys;
    const oldVals = this.#vals;
    this.#keys = new Int32Array(cap);
    this.#vals = new Array<V | undefined>(cap).fill(EMPTY);
    this.#mask = cap - 1;
    this.#shift = 32 - Math.log2(cap);
    this.size = 0;
    for (let i = 0; i < oldVals.length; i++) {
      const v = oldVals[i];
      if (v !== EMPTY) this.set(oldKeys[i], v);
    }
  }
}

function word(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** IPv6 (16 bytes) → V. Keys live in one Int32Array, four words a slot. */
export class V6Table<V> {
  #keys: Int32Array;
  #vals: (V | undefined)[];
  #mask: number;
  #shift: number;
  size = 0;

  constructor(initial = 16) {
    const cap = capacityFor(initial);
    this.#keys = new Int32Array(cap * 4);
    this.#vals = new Array<V | undefined>(cap).fill(EMPTY);
    this.#mask = cap - 1;
    this.#shift = 32 - Math.log2(cap);
  }

  #slotOf(w0: number, w1: number, w2: number, w3: number): number {
    let h = Math.imul(w0 ^ 0x7f4a7c15, 0x9e3779b1);
    h = Math.imul(h ^ w1, 0x85ebca6b);
    h = Math.imul(h ^ w2, 0xc2b2ae35);
    h = Math.imul(h ^ w3, 0x9e3779b1);
    h ^= h >>> 15;
    return Math.imul(h, 0x27d4eb2f) >>> this.#shift;
  }

  get(b: Uint8Array): V | undefined {
    const w0 = word(b, 0),
      w1 = word(b, 4),
      w2 = word(b, 8),
      w3 = word(b, 12);
    const keys = this.#keys;
    const vals = this.#vals;
    const mask = this.#mask;
    for (let i = this.#slotOf(w0, w1, w2, w3); ; i = (i + 1) & mask) {
      const v = vals[i];
      if (v === EMPTY) return undefined;
      const k = i * 4;
      if (keys[k + 3] === w3 && keys[k + 2] === w2 && keys[k + 1] === w1 && keys[k] === w0) return v;
    }
  }

  set(b: Uint8Array, value: V): void {
    this.#setWords(word(b, 0), word(b, 4), word(b, 8), word(b, 12), value);
  }

  #setWords(w0: number, w1: number, w2: number, w3: number, value: V): void {
    for (let i = this.#slotOf(w0, w1, w2, w3); ; i = (i + 1) & this.#mask) {
      const k = i * 4;
      if (this.#vals[i] === EMPTY) {
        this.#keys[k] = w0;
        this.#keys[k + 1] = w1;
        this.#keys[k + 2] = w2;
        this.#keys[k + 3] = w3;
        this.#vals[i] = value;
        if (++this.size * 2 > this.#vals.length) this.#resize(this.#vals.length * 2);
        return;
      }
      if (this.#keys[k] === w0 && this.#keys[k + 1] === w1 && this.#keys[k + 2] === w2 && this.#keys[k + 3] === w3) {
        this.#vals[i] = value;
        return;
      }
    }
  }

  delete(b: Uint8Array): boolean {
    const w0 = word(b, 0),
      w1 = word(b, 4),
      w2 = word(b, 8),
      w3 = word(b, 12);
    const mask = this.#mask;
    const keys = this.#keys;
    let i = this.#slotOf(w0, w1, w2, w3);
    for (; ; i = (i + 1) & mask) {
      if (this.#vals[i] === EMPTY) return false;
      const k = i * 4;
      if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) break;
    }
    let hole = i;
    for (let j = (i + 1) & mask; this.#vals[j] !== EMPTY; j = (j + 1) & mask) {
      const kj = j * 4;
      const home = this.#slotOf(keys[kj], keys[kj + 1], keys[kj + 2], keys[kj + 3]);
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        const kh = hole * 4;
        keys[kh] = keys[kj];
        keys[kh + 1] = keys[kj + 1];
        keys[kh + 2] = keys[kj + 2];
        keys[kh + 3] = keys[kj + 3];
        this.#vals[hole] = this.#vals[j];
        hole = j;
      }
    }
    this.#vals[hole] = EMPTY;
    this.size--;
    if (this.#vals.length > 64 && this.size * 8 < this.#vals.length) this.#resize(this.#vals.length / 2);
    return true;
  }

  clear(): void {
    this.#vals.fill(EMPTY);
    this.#keys.fill(0);
    this.size = 0;
  }

  get bytes(): number {
    return this.#keys.byteLength + this.#vals.length * 8;
  }

  #resize(cap: number): void {
    const oldKeys = this.#keys;
    const oldVals = this.#vals;
    this.#keys = new Int32Array(cap * 4);
    this.#vals = new Array<V | undefined>(cap).fill(EMPTY);
    this.#mask = cap - 1;
    this.#shift = 32 - Math.log2(cap);
    this.size = 0;
    for (let i = 0; i < oldVals.length; i++) {
      const v = oldVals[i];
      const k = i * 4;
      if (v !== EMPTY) this.#setWords(oldKeys[k], oldKeys[k + 1], oldKeys[k + 2], oldKeys[k + 3], v);
    }
  }
}
