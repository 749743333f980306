/**
 * Requests to the receiving threads and their answers, matched by `seq`: the one place the pool
 * pairs an answer with its question (see protocol.ts for which kind answers which). A request
 * waits for the threads it was sent to; a thread that exits is struck off, and one that has not
 * answered in time is answered for by a fallback, so a request never hangs on a thread.
 */

interface Waiting<T> {
  readonly owing: Set<T>;
  readonly got: unknown[];
  readonly resolve: (answers: unknown[]) => void;
}

export interface AskOptions<T> {
  readonly timeoutMs: number;
  /** The answer of a thread still owing one when the time is up. */
  readonly late: (from: T) => unknown;
  /** Keep the process alive while waiting (a stop must not be cut short); else the timer is unref'd. */
  readonly keepAlive?: boolean;
}

export class Replies<T> {
  #seq = 0;
  readonly #waiting = new Map<number, Waiting<T>>();

  /** Sends a request numbered `seq` to each of `to`; resolves with their answers in arrival order. */
  ask(to: readonly T[], send: (to: T, seq: number) => void, opts: AskOptions<T>): Promise<unknown[]> {
    const seq = ++this.#seq;
    if (to.length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const w = this.#waiting.get(seq);
        if (!w) return;
        for (const t of to) if (w.owing.has(t)) this.answer(t, seq, opts.late(t));
      }, opts.timeoutMs);
      if (opts.keepAlive !== true) timer.unref();
      this.#waiting.set(seq, {
        owing: new Set(to),
        got: [],
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      });
      for (const t of to) send(t, seq);
    });
  }

  /** `from` answered request `seq` (an answer nobody waits for, or a second one, is dropped). */
  answer(from: T, seq: number, value: unknown): void {
    const w = this.#waiting.get(seq);
    if (!w?.owing.delete(from)) return;
    w.got.push(value);
    if (w.owing.size === 0) {
      this.#waiting.delete(seq);
      w.resolve(w.got);
    }
  }

  /** `from` exited: every request it still owes counts it as answered, with undefined. */
  gone(from: T): void {
    for (const seq of [...this.#waiting.keys()]) this.answer(from, seq, undefined);
  }
}
