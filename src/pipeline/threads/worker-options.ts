/**
 * How a receiving thread's Worker is started: the Node flags it inherits and the V8 limits it
 * runs under.
 */

/**
 * The parent's Node flags for a worker: inherited as they are (Node leaves out the per-process
 * ones itself; an explicit list containing them is refused), except that an inline script
 * (`-e CODE`, `--input-type`) is taken out, which a worker file cannot take.
 */
export function workerExecArgv(): string[] | undefined {
  const a = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '-e' || a[i] === '--eval' || a[i] === '-p' || a[i] === '--print') {
      i++;
      continue;
    }
    if (a[i].startsWith('--input-type') || a[i].startsWith('--eval=') || a[i].startsWith('--print=')) continue;
    out.push(a[i]);
  }
  return out.length === a.length ? undefined : out;
}

/**
 * V8 limits of each receiving thread. The receive path allocates little per datagram, yet V8's
 * default young generation lets each isolate commit 16 to 32 MiB of new space that the thread
 * never needs (measured: new space committed 16 MiB idle, 32 MiB after load, per thread). Six MiB
 * (two 2-MiB semi-spaces and V8's overhead) keeps scavenges well under a millisecond and saves
 * about 25 MiB of RSS per thread. The old generation is left to V8: its tables are bounded by the
 * flags (--max-series, the memo's cap), and a hard cap would turn a spike into a thread restart.
 */
export const WORKER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 6 } as const;
