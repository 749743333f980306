/**
 * What a decoder may be told: template lifetime, held data, sampling, compilation, template scope
 * and the caps that bound its state and its work per datagram.
 */

export interface DecoderOptions {
  /** A template not refreshed for this long expires (ipt-netflow refreshes every 30 min). */
  templateTtlMs: number;
  /**
   * Held data per exporter while waiting for its template, in bytes as held data is weighed: the
   * set's bytes with its header, plus HELD_ENTRY_BYTES per held set, so even an empty set costs
   * something. Default: stateBudgetBytes / 64. When full, the exporter's oldest held set goes.
   */
  pendingMaxBytes: number | undefined;
  /** Held data older than this is dropped and counted. */
  pendingMaxAgeMs: number;
  /**
   * 'rfc' (default): every options record that gives a sampling interval (fields 34, 50,
   * 305/306) counts, with a sampler ID (48, 302) for the records that name it, without one for
   * the rest of that exporter's records. 'nfdump': what nfdump 1.7 does, to compare counts with
   * it: only the first record of each options set, and only samplers that have an ID.
   */
  sampling: 'rfc' | 'nfdump';
  /**
   * New template layouts compiled per decode() call (about 0.1 ms each); sets of templates not
   * compiled yet are interpreted, slower but bounded. 0 interprets everything.
   */
  compilesPerDatagram: number;
  /**
   * 'address' (default): data whose template this session (address and source port) never sent
   * is decoded with the template of the same ID, version and source ID / domain that another
   * session of the same address sent last (counted in templateScopeFallbacks). Exporters that
   * change source port between template and data (a restart, several line cards, some IOS XR
   * builds) then lose nothing; nfdump keys exporters by address alone. 'session': RFC 7011's
   * scope only.
   */
  templateScope: 'session' | 'address';
  /** Bytes of decoder state at most: templates, held data, options state, per-exporter overhead. */
  stateBudgetBytes: number;
  /** One exporter's share of that budget. Default: stateBudgetBytes / 16. */
  exporterShareBytes: number | undefined;
  /** Exporters (address and port) tracked; past it the least recently seen one is evicted. */
  maxExporters: number;
  /** Templates and options templates per exporter (all its source IDs / domains together). */
  maxTemplatesPerExporter: number;
  /** Fields per template; a longer template is refused (nfdump and goflow2 cap them too). */
  maxTemplateFields: number;
  /** Data sets held per datagram; past it they are dropped and counted (a hostile datagram holds 16,000). */
  maxHeldPerDatagram: number;
  /** Template records read per datagram; past it the rest of the datagram's templates are skipped and counted. */
  maxTemplateRecordsPerDatagram: number;
}

export const DEFAULT_DECODER_OPTIONS: Readonly<DecoderOptions> = Object.freeze({
  templateTtlMs: 2 * 3600_000,
  pendingMaxBytes: undefined,
  pendingMaxAgeMs: 30_000,
  sampling: 'rfc',
  compilesPerDatagram: 8,
  templateScope: 'address',
  stateBudgetBytes: 32 * 1024 * 1024,
  exporterShareBytes: undefined,
  maxExporters: 10_000,
  maxTemplatesPerExporter: 1024,
  maxTemplateFields: 512,
  maxHeldPerDatagram: 64,
  maxTemplateRecordsPerDatagram: 1024,
});

/** The defaults, with every option given (and not undefined) over them. */
export function withDefaults(options?: Partial<DecoderOptions>): DecoderOptions {
  const o = { ...DEFAULT_DECODER_OPTIONS };
  for (const [k, v] of Object.entries(options ?? {})) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  return o;
}
