/**
 * Exports yield the CPU to the receiving threads. On Linux a nice value belongs to one thread, so
 * every thread of the process except the receiving ones and libuv's pool (THREAD_POOL_NAME) is
 * lowered once the receiving threads run: the main thread with scrapes, merges and OTLP
 * serialisation, and V8's helper threads, busy marking the main thread's large heap. When the
 * cores are busy the scheduler serves the sockets first, and a collection of 20,000 series runs
 * in the gaps instead of starving them into kernel drops. Raising a nice value needs no
 * privilege; threads started later by a lowered thread inherit its value (a receiving thread
 * restarted after a crash, or started for another exporter, still receives, only without the
 * head start; the receiving threads' pool logs it).
 */
import { access, readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { setFlagsFromString } from 'node:v8';

/**
 * libuv's thread pool keeps its priority: it gzips every scrape (about 10 ms for 20,000 series, a
 * few tens for /metrics/otel), work a scraper waits for, short and bounded by the scrapes. Ten
 * nice steps down (EXPORT_NICE_STEPS then) it waited behind the receiving threads: under the
 * footprint bench's load the median /metrics scrape went from 124-142 to 87-93 ms and the 90th
 * percentile from 259-364 to 128-137, with no more datagrams lost. The pool must run before the
 * exports are lowered (see startThreadPool), or its threads are made by a lowered thread and
 * inherit that.
 */
export const THREAD_POOL_NAME = 'libuv-worker';

/** Starts libuv's pool now (all its threads at once, at its first task), so they exist before the lowering. */
export function startThreadPool(): Promise<void> {
  return new Promise((resolve) => access('/', () => resolve()));
}

function threadName(tid: number): string {
  try {
    return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * How far below the receiving threads everything else runs, in nice steps: at 5 a lowered thread
 * weighs about a third of a receiving one when they share a core (at 10, a ninth). With the
 * exports level with the receiving threads a run lost 21,668 records where 10 steps lost none.
 * Five, turn about with 10 on a busy host, four runs each under the footprint bench's load:
 * /metrics median 84-102 ms against 90-134, slowest 248-395 against 287-950, peak RSS 212-249 MiB
 * against 234-287 (a main thread that gets the CPU collects its garbage before its heap grows),
 * and records lost 219,000-444,000 against 169,000-365,000 (the host's noise is larger than that).
 */
export const EXPORT_NICE_STEPS = 5;

/**
 * Every isolate's scavenges (young-generation collections) on the thread that allocated, not
 * shared out to V8's helper threads. A parallel scavenge waits until every helper that took a
 * share is done; once the helpers run nice steps down, a busy node leaves them waiting for the
 * CPU while the receiving thread waits for them: measured on 2 shared cores, the receiving
 * thread's scavenges took up to 57 ms and blocked on the helpers (voluntary context switches in
 * the pause); alone they took at most 12 ms there (a 2 MiB semi-space takes about a millisecond
 * on an idle core). V8 reads the flag at each scavenge, so it holds for threads already running.
 */
export const SCAVENGE_ALONE = '--no-parallel-scavenge';

/**
 * Lowers every thread of this process except `receivers` (kernel thread ids) by `steps`, and has
 * no scavenge wait on the lowered helpers (SCAVENGE_ALONE). Returns the main thread's nice value
 * now in force, or undefined where unsupported.
 */
export function yieldToReceivers(
  receivers: readonly number[],
  steps = EXPORT_NICE_STEPS,
  setFlags: (flags: string) => void = setFlagsFromString,
): number | undefined {
  if (process.platform !== 'linux') return undefined;
  setFlags(SCAVENGE_ALONE);
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    return undefined;
  }
  const keep = new Set(receivers);
  for (const tid of tids) {
    if (keep.has(tid) || threadName(tid) === THREAD_POOL_NAME) continue;
    try {
      // setpriority(PRIO_PROCESS, tid) acts on that one thread on Linux.
      const now = getPriority(tid);
      const want = Math.min(19, now + steps);
      if (want !== now) setPriority(tid, want);
    } catch {
      // The thread ended meanwhile, or the kernel refused: it keeps its priority.
    }
  }
  try {
    return getPriority(process.pid);
  } catch {
    return undefined;
  }
}
