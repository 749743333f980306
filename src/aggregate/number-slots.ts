/**
 * Records of a few doubles each in one growing Float64Array, by slot: what a store keeps per entry
 * (a pair's counts and times, a conversation's) without a boxed double per field on each object
 * (16 bytes of heap and a pointer each, and a new box whenever V8 cannot update one in place).
 */
export class NumberSlots {
  readonly width: number;
  /** The numbers; replaced by a larger array when the slots outgrow it, so read it afresh. */
  a: Float64Array;
  readonly #free: number[] = [];
  #slots = 0;

  constructor(width: number, slots: number) {
    this.width = width;
    this.a = new Float64Array(width * slots);
  }

  /** A free record, its numbers zero: the index of its first number in `a`. */
  take(): number {
    const slot = this.#free.pop() ?? this.#slots++;
    const w = this.width;
    if (w * this.#slots > this.a.length) {
      const grown = new Float64Array(2 * this.a.length);
      grown.set(this.a);
      this.a = grown;
    }
    this.a.fill(0, w * slot, w * slot + w);
    return w * slot;
  }

  /** Frees the record whose first number is at `at`. */
  give(at: number): void {
    this.#free.push(at / this.width);
  }
}
