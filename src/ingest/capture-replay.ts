/**
 * Feeds capture files through a Decoder the way the live collector would see them: files in
 * the order given, the exporter taken from each packet's source address and port (the fixed
 * pretend exporter for `.dat` files), and the clock taken from the capture, so held data and
 * template lifetimes age as they did on the wire. Shared by `replay` and the conformance tests.
 */
import type { Decoder } from '../decode/decoder.ts';
import type { SavedTemplates } from '../decode/saved-state.ts';
import type { Exporter } from '../decode/record.ts';
import { newCaptureStats, readCapture } from './capture.ts';
import type { CaptureProgress, CaptureStats } from './capture.ts';

/** How often (capture time) held data and templates are aged, like the live collector's timer. */
const EXPIRE_EVERY_MS = 1000;

export class CaptureFeeder {
  readonly decoder: Decoder;
  readonly captureStats: CaptureStats = newCaptureStats();
  /** Bytes of the files read so far, all files together. */
  readonly progress: CaptureProgress = { bytes: 0 };
  /** The capture clock: the latest packet timestamp seen (files without times keep it). */
  nowMs = 0;
  #lastExpireMs = 0;
  readonly #exporters = new Map<string, Exporter>();
  #templates: SavedTemplates | undefined;

  /** `templates`, if given, is loaded just before the first datagram, with that datagram's time. */
  constructor(decoder: Decoder, templates?: SavedTemplates) {
    this.decoder = decoder;
    this.#templates = templates;
  }

  /** One shared Exporter object per address and port. */
  exporterFor(address: string, port: number): Exporter {
    const key = `${address}|${port}`;
    let e = this.#exporters.get(key);
    if (!e) {
      e = Object.freeze({ address, port, key });
      this.#exporters.set(key, e);
    }
    return e;
  }

  /**
   * Decode every datagram of one file; yields after each, so a caller can pause (for output
   * backpressure) between datagrams. Throws CaptureError for a file that is not a capture.
   */
  *feed(path: string): Generator<void, void, undefined> {
    const d = this.decoder;
    for (const p of readCapture(path, this.captureStats, this.progress)) {
      if (p.tsMs > this.nowMs) this.nowMs = p.tsMs;
      if (this.#templates) {
        d.loadTemplates(this.#templates, this.nowMs);
        this.#templates = undefined;
      }
      if (this.nowMs - this.#lastExpireMs >= EXPIRE_EVERY_MS) {
        d.expire(this.nowMs);
        this.#lastExpireMs = this.nowMs;
      }
      d.decode(p.payload, this.exporterFor(p.srcAddr, p.srcPort), this.nowMs);
      yield;
    }
  }

  /** Decode whole files, in order. */
  feedAll(paths: readonly string[]): void {
    for (const path of paths) for (const _ of this.feed(path));
  }

  /**
   * The end of input: held data whose template never came is dropped and counted, as the live
   * collector would once it aged out.
   */
  finish(): void {
    this.decoder.expire(this.nowMs + this.decoder.options.pendingMaxAgeMs + 1);
  }
}
