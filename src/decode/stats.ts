/**
 * The decoder's counters: one plain object, updated in place, so self-metrics can read it at any
 * time without the decoder knowing who watches.
 *
 * Invariants (checked by test/decode/fuzz.test.ts after every datagram):
 *   - templateMisses === held: a v9/IPFIX data set whose template is unknown on arrival is always
 *     put on hold first (if the hold is full, the oldest held set is dropped to make room).
 *   - held === heldDecoded + heldDropped + pending: every held set is eventually decoded when its
 *     template arrives, or dropped (too old, hold over its bound, template never came), or is
 *     still waiting.
 *   - dataSets + heldDecoded === setsDecoded + templateMisses + setsRefused: every data set found
 *     in a datagram, and every held set taken up again, gives at least one record (setsDecoded),
 *     or (on arrival only) waits for its template, or gives none and is refused, counted under
 *     one of DATA_SET_REASONS. Nothing is dropped without a counter.
 *   - datagrams === datagramsDecoded + datagramsRefused (refused whole: short_header,
 *     unknown_version, bad_message_length, or a v5 first header with bad_count / truncated_v5).
 *     Inside a datagram decoding goes on after a bad set where the set boundary is still known;
 *     once a length can no longer be trusted the rest of that datagram is skipped and counted.
 *   - records.v5 + records.v9 + records.ipfix === sink calls.
 * Records: records.* counts flow records handed to the sink (an RFC 5103 biflow with reverse
 * counters yields two); optionsRecords counts options data records kept as state, never sunk.
 */
import { DOUBLE_ZERO } from '../observe/double-zero.ts';

/** Reasons a part of a datagram was refused. Every reason starts at 0 so the shape never changes. */
export const ERROR_REASONS = [
  /** Fewer bytes than the version's header. */
  'short_header',
  /** Version field is not 5, 9 or 10. */
  'unknown_version',
  /** IPFIX header length below 16 or beyond the datagram. */
  'bad_message_length',
  /** v5 header count above 30 (nfdump drops such datagrams). */
  'bad_count',
  /** v5 header count needs more bytes than the datagram has. */
  'truncated_v5',
  /** Set length below 4 or beyond the end of the message: the rest of the message is skipped. */
  'bad_set_length',
  /** Set length 0 (e.g. zero fill after the last set): the rest of the message is skipped. */
  'zero_length_set',
  /** Set ID reserved by the RFC (v9 2..255, IPFIX 0, 1, 4..255): the set is skipped. */
  'reserved_set_id',
  /** A template record that claims more fields than its set holds: rest of that set skipped. */
  'template_overflow',
  /** A template record that cannot be valid (ID below 256, scope lengths not a multiple of 4). */
  'bad_template',
  /** A data set whose template gives records of length 0: the set is skipped. */
  'zero_length_record',
  /** A variable-length field that runs past the end of its set: rest of that set skipped. */
  'truncated_record',
  /** A data set with fewer bytes than one record of its template (an empty set included). */
  'short_data_set',
  /**
   * Bytes after a data set's last record that are not padding (4 or more, not all zero): a record
   * cut short. The records before it are kept; the set counts as decoded.
   */
  'short_record',
  /** A template with more fields than the decoder keeps (maxTemplateFields): not kept. */
  'template_too_large',
  /** An exception escaped (a bug, or a sink that threw): the rest of the datagram is skipped. */
  'exception',
] as const;

export type ErrorReason = (typeof ERROR_REASONS)[number];

/** The reasons a data set can give no record for (each such set also counts in setsRefused). */
export const DATA_SET_REASONS = ['short_data_set', 'zero_length_record', 'truncated_record'] as const satisfies readonly ErrorReason[];

/**
 * Caps on the decoder's state and work (see DecoderOptions). Each counts the times it refused or
 * evicted something, so an operator sees which one bites.
 */
export const LIMITS = [
  /** The global byte budget for decoder state (templates, held data, options state). */
  'state_budget',
  /** One exporter's share of the budget. */
  'exporter_share',
  /** One exporter's share of held data (the oldest of its held sets went). */
  'held_exporter_share',
  /** Fields per template. */
  'template_fields',
  /** Templates per exporter. */
  'templates_per_exporter',
  /** Exporters tracked: the least recently seen one was evicted. */
  'exporters',
  /** Work per datagram (held sets, template records): the rest was dropped and counted. */
  'datagram_work',
] as const;

export type Limit = (typeof LIMITS)[number];

export interface DecoderStats {
  /** decode() calls. */
  datagrams: number;
  /** Datagrams whose header was accepted (some of their sets may still have been refused). */
  datagramsDecoded: number;
  /** Datagrams refused whole (see the error reasons). */
  datagramsRefused: number;
  /** Flow records handed to the sink, by version. */
  records: { v5: number; v9: number; ipfix: number };
  /** Options data records (sampling, interface names, system init time): state, not flows. */
  optionsRecords: number;
  /** Data sets (v9/IPFIX) found in datagrams, whatever became of them. */
  dataSets: number;
  /** Data sets (at once, or held and taken up again) that gave at least one record. */
  setsDecoded: number;
  /** Data sets that gave no record: each is counted under one of DATA_SET_REASONS too. */
  setsRefused: number;
  /** Data sets decoded with a template another session (source port) of the same exporter address sent. */
  templateScopeFallbacks: number;
  /** Templates and options templates alive now (a gauge). */
  templates: number;
  /** Template (and options template) records accepted, including refreshes. */
  templatesReceived: number;
  /** Template layouts compiled into readers (the rest of the time a compiled one is reused). */
  readersCompiled: number;
  /** Data sets read by the interpreter because the datagram's compile budget was spent. */
  setsInterpreted: number;
  /** Templates withdrawn (IPFIX) or expired for not being refreshed. */
  templatesWithdrawn: number;
  templatesExpired: number;
  /** Data sets that arrived before their template. */
  templateMisses: number;
  /** Data sets put on hold; decoded later, dropped, or still pending. */
  held: number;
  heldDecoded: number;
  heldDropped: number;
  /** Data sets on hold now (a gauge). */
  pending: number;
  /** Templates dropped with their exporter (--max-exporters, the state budget). */
  templatesEvicted: number;
  /** Exporters (address and port) with state now (a gauge). */
  exporters: number;
  /** Bytes of decoder state now, as the budget weighs them (a gauge). */
  stateBytes: number;
  /** Refused input by reason. */
  errors: Record<ErrorReason, number>;
  /** Times each cap on state or work was hit. */
  limits: Record<Limit, number>;
}

/** Every counter starts as a double zero, so passing 2^31 never changes the object's class (see DOUBLE_ZERO). */
export function newStats(): DecoderStats {
  const Z = DOUBLE_ZERO;
  const errors = {} as Record<ErrorReason, number>;
  for (const r of ERROR_REASONS) errors[r] = Z;
  const limits = {} as Record<Limit, number>;
  for (const l of LIMITS) limits[l] = Z;
  return {
    datagrams: Z,
    datagramsDecoded: Z,
    datagramsRefused: Z,
    records: { v5: Z, v9: Z, ipfix: Z },
    optionsRecords: Z,
    dataSets: Z,
    setsDecoded: Z,
    setsRefused: Z,
    templateScopeFallbacks: Z,
    templates: Z,
    templatesReceived: Z,
    readersCompiled: Z,
    setsInterpreted: Z,
    templatesWithdrawn: Z,
    templatesExpired: Z,
    templateMisses: Z,
    held: Z,
    heldDecoded: Z,
    heldDropped: Z,
    pending: Z,
    templatesEvicted: Z,
    exporters: Z,
    stateBytes: Z,
    errors,
    limits,
  };
}

/** Sum of every error counter. */
export function totalErrors(stats: DecoderStats): number {
  let n = 0;
  for (const r of ERROR_REASONS) n += stats.errors[r];
  return n;
}
