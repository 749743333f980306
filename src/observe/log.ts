/**
 * Structured JSON logs (pino). Errors that can happen once per datagram go through a rate limiter:
 * a flood of bad datagrams must not turn into a flood of log lines (or a logging bottleneck).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = 'info', destination?: NodeJS.WritableStream): Logger {
  const opts = { level, base: { name: 'netflow-k8s', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(opts, destination as never) : pino(opts);
}

/**
 * Logs at most `burst` lines per key per window, then one summary line with how many were
 * suppressed when the window ends and another arrives. Keys are bounded (error reasons, not addresses).
 */
export class RateLimitedLog {
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #burst: number;
  readonly #state = new Map<string, { start: number; logged: number; suppressed: number }>();
  readonly #maxKeys: number;

  constructor(log: Logger, windowMs = 10_000, burst = 5, maxKeys = 1000) {
    this.#log = log;
    this.#windowMs = windowMs;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** Returns true when the line was written. */
  warn(key: string, fields: Record<string, unknown>, msg: string, nowMs = Date.now()): boolean {
    let s = this.#state.get(key);
    if (!s) {
      if (this.#state.size >= this.#maxKeys) this.#state.clear();
      s = { start: nowMs, logged: 0, suppressed: 0 };
      this.#state.set(key, s);
    }
    if (nowMs - s.start >= this.#windowMs) {
      if (s.suppressed > 0) this.#log.warn({ key, suppressed: s.suppressed, windowMs: this.#windowMs }, 'similar messages suppressed');
      s.start = nowMs;
      s.logged = 0;
      s.suppressed = 0;
    }
    if (s.logged < this.#burst) {
      s.logged++;
      this.#log.warn({ key, ...fields }, msg);
      return true;
    }
    s.suppressed++;
    return false;
  }
}
