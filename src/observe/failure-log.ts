/**
 * Says at warn when something that runs again and again (an export every interval) starts
 * failing, and when it recovers, instead of a line per attempt or none at all. Changes closer
 * together than `minIntervalMs` to the last line wait for the next attempt after it, so a flapping
 * endpoint logs at most one line per interval and the log still ends on the current state.
 */
export interface WarnLog {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export class FailureLog {
  readonly #log: WarnLog;
  readonly #what: string;
  readonly #minIntervalMs: number;
  #ok = true;
  #unsaid = false;
  #lastLineMs = -Infinity;
  #failures = 0;
  #failingSinceMs = 0;
  #lastError = '';

  constructor(log: WarnLog, what: string, minIntervalMs = 10_000) {
    this.#log = log;
    this.#what = what;
    this.#minIntervalMs = minIntervalMs;
  }

  get ok(): boolean {
    return this.#ok;
  }

  result(ok: boolean, error?: unknown, nowMs = Date.now()): void {
    if (!ok) {
      this.#failures++;
      this.#lastError = error === undefined ? 'unknown error' : String(error instanceof Error ? error.message : error);
    }
    if (ok !== this.#ok) {
      this.#ok = ok;
      this.#unsaid = !this.#unsaid;
      if (!ok) {
        this.#failingSinceMs = nowMs;
        this.#failures = 1;
      }
    }
    if (!this.#unsaid || nowMs - this.#lastLineMs < this.#minIntervalMs) return;
    this.#unsaid = false;
    this.#lastLineMs = nowMs;
    if (ok) this.#log.warn({ failures: this.#failures, failingMs: nowMs - this.#failingSinceMs }, `${this.#what} recovered`);
    else this.#log.warn({ err: this.#lastError }, `${this.#what} failing`);
  }
}
