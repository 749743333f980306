/**
 * Bytes per zone class code (see zone-class.ts), the one way a pair and an end keep them. A side
 * (a pair's bytes; an end's sent bytes, or its received bytes) is kept as its one class code while
 * it has had one class, beside the side's total the owner keeps anyway, and as an array of sums per
 * class once it has had two. Most pairs and ends keep one class for life, so most never allocate
 * the array, and a side costs one field: a store holds many thousands of pairs and ends.
 */
import { ZONE_CLASSES } from './zone-class.ts';

/** Class codes, and so the length of a side's per-class array. */
export const CLASS_COUNT = ZONE_CLASSES.length;

/** One side: its one class code (-1 before any), or its sums per class code. */
export type ClassSide = number | number[];

/** An array of `n` zeros that V8 keeps packed (`new Array(n)` would stay holey). */
export function zeros(n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(0);
  return a;
}

/** The side after `bytes` of class `cls` are added to it; `before` is the side's total before them. */
export function addClassBytes(side: ClassSide, before: number, cls: number, bytes: number): ClassSide {
  if (typeof side !== 'number') {
    side[cls] += bytes;
    return side;
  }
  if (side === cls || side < 0) return cls;
  const sums = zeros(CLASS_COUNT);
  sums[side] = before;
  sums[cls] += bytes;
  return sums;
}

/** Adds the side's sums per class code into `out` from index `at`; false before its first count. */
export function addClassSums(side: ClassSide, total: number, out: number[] | Float64Array, at: number): boolean {
  if (typeof side !== 'number') {
    for (let c = 0; c < CLASS_COUNT; c++) out[at + c] += side[c];
    return true;
  }
  if (side < 0) return false;
  out[at + side] += total;
  return true;
}
