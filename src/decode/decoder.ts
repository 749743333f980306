/**
 * The decoder: NetFlow v5, v9 (RFC 3954) and IPFIX (RFC 7011) datagrams in, flow records out.
 * Pure: no I/O and no clock; the caller passes the time with every call.
 *
 * A facade over three parts: the set walker (set-walker.ts) reads each datagram's sets, the
 * template store (template-store.ts) keeps templates per exporter within a byte budget, and held
 * data (held-data.ts) keeps data that arrived before its template. Every length is checked before
 * it is read; what cannot be read is counted in `stats.errors` by reason and skipped, and every
 * data set that gives no record is counted. See stats.ts for how the counters add up.
 *
 * State is bounded against hostile exporters: a byte budget with a per-exporter share, caps on
 * exporters (least recently seen evicted), templates per exporter, fields per template, and work
 * per datagram; each cap hit is counted in `stats.limits`. Expiry costs what is due, not what is
 * kept.
 */
import { type DecoderOptions, withDefaults } from './decoder-options.ts';
import type { Exporter, RecordSink } from './record.ts';
import type { SavedTemplates, SharedSet } from './saved-state.ts';
import { SetWalker } from './set-walker.ts';
import { newStats, type DecoderStats } from './stats.ts';
import { TemplateStore } from './template-store.ts';

export { DEFAULT_DECODER_OPTIONS, type DecoderOptions } from './decoder-options.ts';

export class Decoder {
  readonly stats: DecoderStats = newStats();
  readonly options: DecoderOptions;
  /** The last exception caught (a bug or a sink that threw), for debugging. */
  lastException: unknown = undefined;
  readonly #store: TemplateStore;
  readonly #walker: SetWalker;

  constructor(sink: RecordSink, options?: Partial<DecoderOptions>) {
    this.options = withDefaults(options);
    this.#store = new TemplateStore(this.options, this.stats);
    this.#walker = new SetWalker(this.#store, sink, this.options, this.stats);
  }

  /** Told of every set that changed this decoder's state (see SharedSet); unset, nothing is shared. */
  get onShare(): ((exporter: Exporter, set: SharedSet) => void) | undefined {
    return this.#walker.onShare;
  }

  set onShare(listener: ((exporter: Exporter, set: SharedSet) => void) | undefined) {
    this.#walker.onShare = listener;
  }

  /** Bytes of decoder state now, as the budget weighs them (also stats.stateBytes). */
  stateBytes(): number {
    return this.#store.bytes;
  }

  /** Decodes one datagram. Never throws, whatever the bytes. */
  decode(datagram: Uint8Array, exporter: Exporter, nowMs: number): void {
    const s = this.stats;
    s.datagrams++;
    const decodedBefore = s.datagramsDecoded;
    try {
      this.#walker.datagram(datagram, exporter, nowMs);
      if (s.datagramsDecoded === decodedBefore) s.datagramsRefused++;
    } catch (err) {
      this.#store.inUse = undefined;
      if (s.datagramsDecoded === decodedBefore) s.datagramsRefused++;
      s.errors.exception++;
      this.lastException = err;
    }
  }

  /**
   * Takes in a set another thread's decoder shared (see SharedSet), as if this exporter had sent
   * it here: its templates become known, its options data applies, and data held for them is
   * decoded. Counted where it arrived, not again here: only the `templates` gauge and held data
   * move. Options data is shared only by a thread that knew its template, and that template
   * reached this thread first (shares travel through one relay, in order), so options data for an
   * unknown template can only mean the template expired or was withdrawn meanwhile: it is ignored.
   */
  applyShared(exporter: Exporter, set: SharedSet, nowMs: number): void {
    this.#walker.shared(exporter, set, nowMs);
  }

  /**
   * Drops held data older than pendingMaxAgeMs and templates not refreshed within templateTtlMs.
   * Costs what is due, not what is kept.
   */
  expire(nowMs: number): void {
    this.#store.expire(nowMs);
  }

  /** Interface name (options field 82) an exporter gave for an ifIndex, v9 source ID or IPFIX domain. */
  interfaceName(exporter: Exporter, sourceId: number, ifIndex: number): string | undefined {
    return this.#store.interfaceName(exporter, sourceId, ifIndex);
  }

  /** Snapshot of templates and options state, JSON-serialisable. */
  saveTemplates(): SavedTemplates {
    return this.#store.save();
  }

  /**
   * Loads a snapshot from saveTemplates(). Loaded templates get a full lifetime from nowMs: the
   * exporter would have refreshed them while we were down had it changed its layout, it would
   * have sent the new one. Throws on a snapshot that is not one of ours.
   */
  loadTemplates(saved: SavedTemplates, nowMs: number): void {
    this.#store.load(saved, nowMs);
  }
}
