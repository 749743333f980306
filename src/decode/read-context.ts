/**
 * What a template's reader works with: the per-set context, the compiled reader's signature, the
 * roles fields play and the interpreter's plan. Types only (and the context's class), so the
 * template, the compiler (compile.ts) and the interpreter (interpret.ts) share them without
 * importing one another in a circle.
 */
import type { Exporter, FlowRecord, RecordSink } from './record.ts';
import { NO_EXPORTER } from './record.ts';
import { DOUBLE_ZERO } from '../observe/double-zero.ts';

/** Per-set state the reader needs: set by the decoder before each call, never per record. */
export class ReadContext {
  version = 9;
  exporter: Exporter = NO_EXPORTER;
  sourceId = DOUBLE_ZERO;
  /** Sampling interval for records without a sampler ID (or with an unknown one). */
  rate = 1;
  /** Sampler ID → interval, from options data. */
  samplers: Map<number, number> = new Map();
  /** v9: header unix_secs × 1000; IPFIX: export time × 1000. */
  baseMs = DOUBLE_ZERO;
  /** v9 header sysUptime (ms). */
  uptime = DOUBLE_ZERO;
  /** IPFIX systemInitTimeMilliseconds of this observation domain, 0 when unknown. */
  initMs = DOUBLE_ZERO;
  /** Set by a reader that met a variable-length field running past the set. */
  truncated = false;
  /** Where the reader stopped: the bytes from here to the set's end were not a whole record. */
  stop = 0;
}

/** Decodes the records in u[p, end) and returns how many flow records went to the sink. */
export type FlowReader = (v: DataView, u: Uint8Array, p: number, end: number, r: FlowRecord, sink: RecordSink, c: ReadContext) => number;

export type Role =
  | 'B'
  | 'P'
  | 'RB'
  | 'RP'
  | 'S4'
  | 'D4'
  | 'S6'
  | 'D6'
  | 'SP'
  | 'DP'
  | 'PR'
  | 'FL'
  | 'II'
  | 'OI'
  | 'IC'
  | 'SID'
  | 'INIT'
  | 'SU'
  | 'EU'
  | 'SS'
  | 'ES'
  | 'SM'
  | 'EM'
  | 'SN'
  | 'EN'
  | 'SD'
  | 'ED';

/** What a template's fields mean, ready for interpretation (interpret.ts). */
export interface ReadPlan {
  readonly version: 9 | 10;
  /** Field lengths; -1 for variable length. */
  readonly lengths: Int32Array;
  readonly roles: readonly (Role | undefined)[];
  readonly has: ReadonlySet<Role>;
  readonly minLength: number;
}
