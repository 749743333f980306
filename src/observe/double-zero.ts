/**
 * Zero, as V8 stores a double. V8 gives each object field a representation from the first value
 * stored there: a counter that starts at 0 is a small integer (Smi), and the first time it passes
 * 2^31 its object's hidden class is replaced. Every optimised function that touched such an object
 * is then thrown away and run slower until it is compiled again. On the receive path that moment
 * comes in the middle of a burst: a thread's byte counter passes 2^31 within a minute at 50,000
 * datagrams/s, the record counters within minutes, the delta table's overflow row within its first
 * busy second; each cost a burst of kernel drops. Counters there start from this zero instead: a
 * double from the first store, so their class never changes. (Stores of plain 0 later, as when a
 * table is emptied, keep the double representation.)
 *
 * test/observe/double-zero.test.ts checks, with V8's own %HaveSameMap, that the counters built
 * from it keep their hidden class past 2^31.
 */
export const DOUBLE_ZERO: number = new Float64Array(1)[0];
