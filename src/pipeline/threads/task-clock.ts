/**
 * How long a receiving thread's tasks run: a batch of datagrams (or one, on the dgram path), a
 * shipment, the per-second expiry, a message from the main thread. While one runs, nothing reads
 * the socket, whose buffer holds about 100 ms at 60,000 datagrams/s: a task longer than that is
 * a burst of kernel drops however fast the rest is. The thread reports the longest task of the
 * last half minute and counts those over LONG_TASK_MS, so a drop can be told from a stall of the
 * thread (long tasks) or from a thread that did not get the CPU (no long task, drops anyway).
 */

import type { UdpReceiver } from '../../ingest/udp-receiver.ts';

/** A task longer than this counts as long: half the socket buffer's slack at 60,000 datagrams/s. */
export const LONG_TASK_MS = 50;
/** The longest task is kept per window; the report gives the longer of this window and the previous one. */
const WINDOW_MS = 15_000;

export class TaskClock {
  /** Tasks that ran LONG_TASK_MS or longer, since the thread started. */
  long = 0;
  #current = 0;
  #previous = 0;
  #windowEnd: number;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#windowEnd = now() + WINDOW_MS;
  }

  /** The clock's time, to pass back to done() when the task ends. */
  start(): number {
    return this.#now();
  }

  /** A task that began at `start` (from start()) has ended. */
  done(start: number): void {
    const end = this.#now();
    this.took(end - start, end);
  }

  /** A task took `ms`, ending at `end`. */
  took(ms: number, end = this.#now()): void {
    if (end >= this.#windowEnd) {
      // A window with no task at all leaves nothing to carry over.
      this.#previous = end >= this.#windowEnd + WINDOW_MS ? 0 : this.#current;
      this.#current = 0;
      this.#windowEnd = end + WINDOW_MS;
    }
    if (ms > this.#current) this.#current = ms;
    if (ms >= LONG_TASK_MS) this.long++;
  }

  /** The longest task of the current and the previous window (15 to 30 s), in ms. */
  get longestMs(): number {
    return Math.max(this.#current, this.#previous);
  }

  /** `fn` with its calls timed as tasks. */
  timed<A, B>(fn: (a: A, b: B) => void): (a: A, b: B) => void {
    return (a, b) => {
      const t = this.start();
      try {
        fn(a, b);
      } finally {
        this.done(t);
      }
    };
  }
}

/** Times the receiver's callbacks (a native batch, a dgram datagram) as tasks of `clock`. */
export function timeReceiver(receiver: UdpReceiver, clock: TaskClock): void {
  receiver.receiveBatch = clock.timed(receiver.receiveBatch.bind(receiver));
  receiver.receive = clock.timed(receiver.receive.bind(receiver));
}
