/**
 * A full garbage collection on demand, for the few moments a thread knows it has just dropped a
 * lot and is about to go quiet (a receiving thread's warm-up, the start-up's parsing). V8 collects
 * the old generation when allocation drives it; a thread that then idles keeps that garbage, and
 * the pages under it, until traffic comes (measured: 4 to 5 MiB per receiving thread after its
 * warm-up, never collected while idle).
 *
 * Node offers no collection without --expose-gc. V8's gc extension is installed in the contexts
 * created while that flag is on, so the flag is turned on for the creation of one throw-away
 * context only: `globalThis.gc` stays undefined in every other context, and a process started
 * with --expose-gc uses its own `gc`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's gc extension: no options is one full collection; 'last-resort' repeats it, compacting, until nothing more is freed. */
type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'regular' | 'last-resort' }) => void;

function gcFunction(): Gc | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as Gc;
  // The flag is the process's: another thread doing the same may turn it off while this one
  // creates its context (two receiving threads end their warm-ups together), hence the retries.
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as unknown;
      if (typeof gc === 'function') return gc as Gc;
    } catch {
      return undefined;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  return undefined;
}

/**
 * Runs one full (mark-compact) collection of this thread's heap; false when V8 would not give a
 * way to. With `compact`, V8's last-resort series instead: collections until nothing more is freed,
 * moving objects out of sparse pages so the pages go back to the system. That one also drops the
 * compiled code of functions not run lately, which a receiving thread's warm-up has just compiled
 * on purpose: for threads that have no such code.
 */
export function fullGc(compact = false): boolean {
  const gc = gcFunction();
  if (gc === undefined) return false;
  if (compact) gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  else gc();
  return true;
}
