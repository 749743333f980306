/**
 * What the set walker, the template set reader and held data share about the datagram being
 * decoded: its bytes, who sent it, its header's values and the work it may still cost, in one
 * object instead of ten positional parameters.
 */
import { DOUBLE_ZERO } from '../observe/double-zero.ts';
import type { DecoderOptions } from './decoder-options.ts';
import { type ExporterState, VACANT } from './exporter-state.ts';
import { type Exporter, NO_EXPORTER } from './record.ts';

/** Held sets looked at for a newly arrived template, per datagram (an exporter's held share is about 1,000). */
const MAX_REPLAY_PER_DATAGRAM = 4096;

const NO_BYTES = new Uint8Array(0);
const NO_VIEW = new DataView(NO_BYTES.buffer);

/**
 * Work a datagram may still cost: a hostile one costs bounded time. One per decoder, as every
 * context of it draws on the same datagram's budget.
 */
export class DatagramWork {
  /** Readers that may still be compiled (compilesPerDatagram). */
  compiles = 0;
  /** Data sets that may still be held (maxHeldPerDatagram). */
  heldSets = 0;
  /** Template records that may still be read (maxTemplateRecordsPerDatagram). */
  templateRecords = 0;
  /** Held sets that may still be looked at for a newly arrived template. */
  replays = 0;

  startDatagram(o: DecoderOptions): void {
    this.compiles = o.compilesPerDatagram;
    this.heldSets = o.maxHeldPerDatagram;
    this.templateRecords = o.maxTemplateRecordsPerDatagram;
    this.replays = MAX_REPLAY_PER_DATAGRAM;
  }

  /** A shared set holds nothing, and its replays may compile what the last datagram left to compile. */
  startShared(o: DecoderOptions): void {
    this.templateRecords = o.maxTemplateRecordsPerDatagram;
    this.replays = MAX_REPLAY_PER_DATAGRAM;
  }
}

/**
 * The datagram, shared set or held set being read, and from whom. Reused: a decoder keeps one per
 * nesting depth (a shared set may be taken in while a datagram is walked, when threads share
 * synchronously), so nothing is allocated per datagram or per set.
 */
export class DatagramContext {
  /** The bytes being read: a datagram, a shared set's body or a held set's copy. */
  bytes: Uint8Array = NO_BYTES;
  /** The same bytes, for reads of more than one byte. */
  view: DataView = NO_VIEW;
  /** Who sent them, and what the decoder keeps for it. */
  exporter: Exporter = NO_EXPORTER;
  state: ExporterState = VACANT;
  version: 9 | 10 = 9;
  /** v9 source ID or IPFIX observation domain. */
  sourceId = DOUBLE_ZERO;
  /** v9: header unix_secs × 1000; IPFIX: export time × 1000. */
  baseMs = DOUBLE_ZERO;
  /** v9 header sysUptime (ms); 0 for IPFIX. */
  uptime = DOUBLE_ZERO;
  nowMs = DOUBLE_ZERO;
  readonly work: DatagramWork;

  constructor(work: DatagramWork) {
    this.work = work;
  }

  /** Points the context at `bytes` (and `view` on them) from `exporter`, received at nowMs. */
  read(bytes: Uint8Array, view: DataView, exporter: Exporter, nowMs: number): void {
    this.bytes = bytes;
    this.view = view;
    this.exporter = exporter;
    this.nowMs = nowMs;
  }
}
