/**
 * What happens to one decoded flow record: name both ends, drop the copy the other node also
 * reports (dedup), count it into the pair store. Runs once per record on the receive path, so it
 * allocates nothing: endpoints are interned, the exporter's node is cached per Exporter object.
 */
import type { Exporter, FlowRecord, RecordSink } from '../decode/record.ts';
import type { Endpoint, Role } from '../identify/endpoint.ts';
import { DOUBLE_ZERO } from '../observe/double-zero.ts';

/** The identity index as the pipeline uses it (engineer C1's IdentityIndex fits). */
export interface Identity {
  resolveSrc(rec: FlowRecord): Endpoint;
  resolveDst(rec: FlowRecord): Endpoint;
  role(rec: FlowRecord, src: Endpoint, dst: Endpoint): Role;
  nodeByAddress(address: string): string | undefined;
}

/** The pair store's hot-path entry (engineer D's PairStore fits). */
export interface PairSink {
  add(src: Endpoint, dst: Endpoint, role: Role, rec: FlowRecord, nowMs: number): void;
}

/** count (true) or skip (false) a record reported by an exporter on `exporterNode`. */
export type DedupDecision = (exporterNode: string | undefined, src: Endpoint, dst: Endpoint) => boolean;

export interface PipelineCounters {
  records: number;
  unknownSrc: number;
  unknownDst: number;
  dedupSkipped: number;
}

export class RecordPipeline {
  /** Doubles from the start: `records` passes 2^31 within minutes at line rate (see DOUBLE_ZERO). */
  readonly counters: PipelineCounters = { records: DOUBLE_ZERO, unknownSrc: DOUBLE_ZERO, unknownDst: DOUBLE_ZERO, dedupSkipped: DOUBLE_ZERO };
  /** Milliseconds for the store's idle clock; set once per datagram by the receiver. */
  nowMs = 0;
  readonly sink: RecordSink;
  readonly #identity: Identity;
  readonly #store: PairSink;
  readonly #dedup: DedupDecision | undefined;
  // Exporter objects are cached per (address, port) by ingest, so identity works as a key.
  #exporterNodes = new WeakMap<Exporter, string | null>();

  constructor(identity: Identity, store: PairSink, dedup: DedupDecision | undefined) {
    this.#identity = identity;
    this.#store = store;
    this.#dedup = dedup;
    this.sink = (rec) => this.#onRecord(rec);
  }

  /** Nodes changed: exporter → node answers must be looked up again. */
  nodesChanged(): void {
    this.#exporterNodes = new WeakMap();
    this.#lastExporter = undefined;
  }

  // Every record of a datagram has the same exporter: remember the last answer.
  #lastExporter: Exporter | undefined;
  #lastNode: string | undefined;

  #exporterNode(exp: Exporter): string | undefined {
    if (exp === this.#lastExporter) return this.#lastNode;
    let n = this.#exporterNodes.get(exp);
    if (n === undefined) {
      n = this.#identity.nodeByAddress(exp.address) ?? null;
      this.#exporterNodes.set(exp, n);
    }
    this.#lastExporter = exp;
    this.#lastNode = n ?? undefined;
    return this.#lastNode;
  }

  #onRecord(rec: FlowRecord): void {
    const c = this.counters;
    c.records++;
    const id = this.#identity;
    const src = id.resolveSrc(rec);
    const dst = id.resolveDst(rec);
    if (src.kind === 'unknown') c.unknownSrc++;
    if (dst.kind === 'unknown') c.unknownDst++;
    if (this.#dedup !== undefined) {
      // Only an exporter that is a known node can report a flow twice.
      const node = this.#exporterNode(rec.exporter);
      if (node !== undefined && !this.#dedup(node, src, dst)) {
        c.dedupSkipped++;
        return;
      }
    }
    this.#store.add(src, dst, id.role(rec, src, dst), rec, this.nowMs);
  }
}
