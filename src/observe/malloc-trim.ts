/**
 * Gives freed native memory back to the kernel now and then. Scrape pages, gzip buffers and the
 * receiving threads' merge batches are malloc'd; glibc keeps what they free in its arenas, so the
 * resident size only ever climbs to the worst moment and stays there. Measured under the issue-15
 * load: 38 MiB of a 331 MiB process was free malloc memory still resident, which one
 * malloc_trim(0) returned. The trim runs on libuv's pool (native/udp_recv.c), about a millisecond
 * each, so once a second costs nothing the receive path notices.
 */

/** How often the main thread asks for a trim. */
export const TRIM_INTERVAL_MS = 1000;

export interface MallocTrimmer {
  /** Trims done so far. */
  readonly trims: number;
  stop(): void;
}

/**
 * Calls `trim` every `intervalMs`, one at a time (a slow trim is not stacked), until stopped.
 * Without a trim function (no native addon, or not glibc) it does nothing.
 */
export function startMallocTrim(trim: (() => Promise<void>) | undefined, intervalMs = TRIM_INTERVAL_MS): MallocTrimmer {
  let trims = 0;
  let busy = false;
  const timer =
    trim === undefined
      ? undefined
      : setInterval(() => {
          if (busy) return;
          busy = true;
          trim().then(
            () => {
              trims++;
              busy = false;
            },
            () => {
              busy = false;
            },
          );
        }, intervalMs);
  timer?.unref();
  return {
    get trims() {
      return trims;
    },
    stop: () => clearInterval(timer),
  };
}
