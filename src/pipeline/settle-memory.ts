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
