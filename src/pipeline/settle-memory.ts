/**
 * What a thread does when it has just dropped its start-up work and is about to wait for traffic
 * (a receiving thread after its warm-up, the main thread once the collector is ready): one full
 * collection of its heap (observe/full-gc.ts), then the pages malloc holds free, V8's compiler
 * zones mostly, back to the system (the native addon's trim, every thread's arena at once).
 * Otherwise both stay resident while the collector idles: V8 collects the old generation when
 * allocation drives it, and glibc keeps freed memory for reuse.
 */
import { fullGc } from '../observe/full-gc.ts';
import { trimNativeHeap } from '../ingest/native-udp.ts';
import { setFlagsFromString } from 'node:v8';

export interface Settled {
  /** A full collection ran. */
  gc: boolean;
  /** malloc returned pages to the system. */
  trimmed: boolean;
  ms: number;
}

/** `compact`: see fullGc (not for a thread whose warm code must stay). */
export function settleMemory(compact = false): Settled {
  const t0 = performance.now();
  const gc = fullGc(compact);
  const trimmed = trimNativeHeap();
  return { gc, trimmed, ms: performance.now() - t0 };
}

/**
 * The settle of a thread whose warm-up's code must stay (a receiving thread's, and the main
 * thread's once its exports are warm, both before the collector says ready): V8's compacting
 * collection, which also gives back the young generation the start grew (4 to 1 MiB), and a
 * malloc trim. A collection that reduces memory may also flush the bytecode of functions not run
 * lately, and the warm-up's have not run since it ended: bytecode flushing is off while it runs
 * (the flag is the process's, so it is put back at once). test/pipeline/warm-up-deopt.test.ts
 * runs this between the warm-up and the live traffic.
 */
export function settleKeepingCode(): Settled {
  setFlagsFromString('--no-flush-bytecode');
  try {
    return settleMemory(true);
  } finally {
    setFlagsFromString('--flush-bytecode');
  }
}
