/**
 * Exports yield the CPU to the receiving threads. On Linux a nice value belongs to one thread, so
 * raising the main thread's (scrapes, OTLP serialisation, merges) after the receiving threads
 * exist leaves theirs alone: when the cores are busy the scheduler serves the sockets first, and
 * a collection of 20,000 series runs in the gaps instead of starving them into kernel drops.
 * Raising one's own nice value needs no privilege; a thread restarted later inherits the raised
 * value (it still receives, only without the head start).
 */
import { getPriority, setPriority } from 'node:os';

/** How far below the receiving threads the main thread runs (nice steps; weight ~1/9 at 10). */
export const EXPORT_NICE_STEPS = 10;

/** Lowers the calling thread's priority; returns the nice value now in force, or undefined if unsupported. */
export function yieldToReceivers(steps = EXPORT_NICE_STEPS): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // pid 0 is the calling thread on Linux (setpriority(2): nice is per thread there).
    const now = getPriority(0);
    const want = Math.min(19, now + steps);
    if (want !== now) setPriority(0, want);
    return getPriority(0);
  } catch {
    return undefined;
  }
}
