/**
 * Progress of a long replay, for a person watching a terminal: one stderr line rewritten in place
 * with how far it is through the files, bytes and records per second, and an ETA. Only on a
 * terminal: in a pipe or a log file, lines rewritten with carriage returns are noise, so replay
 * creates none there (see `wantsProgress`).
 */

/** What the line is written to: stderr, or a stand-in in tests. */
export interface ProgressOut {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * Whether replay shows progress: stderr is a terminal, and stdout is not the same screen
 * receiving records, where the line would land between them.
 */
export function wantsProgress(stderr: { isTTY?: boolean }, stdout: { isTTY?: boolean }, printsRecords: boolean): boolean {
  return stderr.isTTY === true && !(stdout.isTTY === true && printsRecords);
}

/** The clock is read only every this many ticks: a tick comes per datagram. */
const TICKS_PER_CLOCK_READ = 64;
/** Before this much time the rates say more about start-up than about the files. */
const MIN_RATE_MS = 200;
// Carriage return, then erase to the end of the line (ECMA-48 EL): the line is redrawn in place.
const REDRAW = '\r\x1b[K';

export class ReplayProgress {
  readonly #out: ProgressOut;
  readonly #totalBytes: number;
  readonly #now: () => number;
  readonly #everyMs: number;
  readonly #startMs: number;
  #lastDrawMs = Number.NEGATIVE_INFINITY;
  #ticks = 0;
  #drawn = false;

  /** `now` in milliseconds (injected by tests); the line is redrawn at most every `everyMs`. */
  constructor(out: ProgressOut, totalBytes: number, opts: { now?: () => number; everyMs?: number } = {}) {
    this.#out = out;
    this.#totalBytes = totalBytes;
    this.#now = opts.now ?? (() => performance.now());
    this.#everyMs = opts.everyMs ?? 250;
    this.#startMs = this.#now();
  }

  /** After each datagram: bytes of the files read so far, records decoded so far. */
  tick(bytes: number, records: number): void {
    // The first tick draws at once, so even a short replay shows what it is doing.
    if (this.#drawn && ++this.#ticks % TICKS_PER_CLOCK_READ !== 0) return;
    const t = this.#now();
    if (t - this.#lastDrawMs < this.#everyMs) return;
    this.#lastDrawMs = t;
    this.#drawn = true;
    this.#draw(this.line(bytes, records, t - this.#startMs));
  }

  /** The end (or an error): the line is erased, so what follows on stderr starts clean. */
  done(): void {
    if (this.#drawn) this.#out.write(REDRAW);
    this.#drawn = false;
  }

  /** The text of the progress line. */
  line(bytes: number, records: number, elapsedMs: number): string {
    const total = this.#totalBytes;
    const pct = total > 0 ? Math.min(100, Math.floor((bytes / total) * 100)) : 100;
    const parts = [`replay: ${formatBytes(bytes)} of ${formatBytes(total)} (${pct}%)`, `${formatCount(records)} records`];
    if (elapsedMs >= MIN_RATE_MS && bytes > 0) {
      const s = elapsedMs / 1000;
      const bytesPerS = bytes / s;
      parts.push(
        `${formatBytes(bytesPerS)}/s`,
        `${formatCount(records / s)} records/s`,
        `ETA ${formatDuration(Math.max(0, total - bytes) / bytesPerS)}`,
      );
    }
    return parts.join(', ');
  }

  #draw(text: string): void {
    // A line longer than the terminal wraps, and \r then rewrites only its last row.
    const width = this.#out.columns;
    const fitted = width !== undefined && width > 1 && text.length > width - 1 ? text.slice(0, width - 1) : text;
    this.#out.write(REDRAW + fitted);
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

/** Seconds as m:ss, or h:mm:ss from an hour on. */
export function formatDuration(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
