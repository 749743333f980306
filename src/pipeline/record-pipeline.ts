/**
 * What happens to one decoded flow record: name both ends, drop the copy the other node also
 * reports (dedup), count it into the pair store. Runs once per record on the receive path, so it
 * allocates nothing: endpoints are interned, the exporter's node is cached per Exporter object.
 *
 * When the store numbers its ends (a receiving thread's delta table), IPv4 addresses are
 * remembered with what they mean to the counts (see AddressMemo), and a record whose two
 * addresses are remembered is counted without asking the identity index.
 */
import type { Exporter, FlowRecord, RecordSink } from '../decode/record.ts';
import type { Endpoint, Role } from '../identify/endpoint.ts';
import type { PortSet } from '../identify/server-ports.ts';
import type { Place } from '../aggregate/zone-class.ts';
import { whereOf } from '../aggregate/delta-batch.ts';
import { type DedupMode, shouldCount, shouldCountNumbered } from '../aggregate/dedup.ts';
import { DOUBLE_ZERO } from '../observe/double-zero.ts';
import { AddressMemo, type AddressFacts } from './address-memo.ts';

/** The identity index as the pipeline uses it (IdentityIndex). */
export interface Identity {
  resolveSrc(rec: FlowRecord): Endpoint;
  resolveDst(rec: FlowRecord): Endpoint;
  role(rec: FlowRecord, src: Endpoint, dst: Endpoint): Role;
  roleOfPorts(rec: FlowRecord, srcPorts: PortSet, dstPorts: PortSet): Role;
  nodeByAddress(address: string): string | undefined;
  /** Rises with every inventory change; takeChanges() lists the IPv4 addresses it touched (null: too many). */
  readonly generation: number;
  takeChanges(): readonly number[] | null;
  /** The last resolve's server ports, and the span of flow end times its answer holds for. */
  readonly hitPorts: PortSet;
  readonly hitFrom: number;
  readonly hitTo: number;
  /** Where a resolved end is (zone classes); not called per remembered record. */
  placeOf(ep: Endpoint, ip4: number, ip6: Uint8Array | null): Place;
}

/** The pair store's hot-path entry (PairStore, DeltaTable). */
export interface PairSink {
  add(src: Endpoint, dst: Endpoint, role: Role, rec: FlowRecord, nowMs: number, srcPlace?: Place, dstPlace?: Place): void;
}

/** A sink that numbers ends itself (DeltaTable), so addresses can be remembered by end number. */
export interface NumberedPairSink extends PairSink {
  /** Rises when the numbering starts over. */
  readonly dictionary: number;
  endOf(ep: Endpoint): number;
  placeNumber(p: Place): number;
  addEnds(s: number, d: number, role: Role, rec: FlowRecord, nowMs: number, where?: number): void;
}

export interface PipelineCounters {
  records: number;
  unknownSrc: number;
  unknownDst: number;
  dedupSkipped: number;
  /** Records whose two ends the memo named, without the identity index. */
  remembered: number;
}

export interface RecordPipelineOptions {
  /** Remember addresses when the store numbers its ends. Default true; off only to compare against. */
  memo?: boolean;
  /** The memo's starting slots (a power of two; AddressMemo's default when not given). */
  memoSlots?: number;
}

const isNumbered = (s: PairSink): s is NumberedPairSink => 'addEnds' in s && 'endOf' in s;

export class RecordPipeline {
  /** Doubles from the start: `records` passes 2^31 within minutes at line rate (see DOUBLE_ZERO). */
  readonly counters: PipelineCounters = {
    records: DOUBLE_ZERO,
    unknownSrc: DOUBLE_ZERO,
    unknownDst: DOUBLE_ZERO,
    dedupSkipped: DOUBLE_ZERO,
    remembered: DOUBLE_ZERO,
  };
  /** Milliseconds for the store's idle clock; set once per datagram by the receiver. */
  nowMs = 0;
  readonly sink: RecordSink;
  readonly #identity: Identity;
  readonly #store: PairSink;
  readonly #dedup: DedupMode;
  readonly #numbered: NumberedPairSink | undefined;
  readonly #memo: AddressMemo | undefined;
  /** What the memo's contents were learnt under. */
  #generation = -1;
  #dictionary = -1;
  readonly #facts: AddressFacts = { end: 0, ports: [], unknown: false, place: 0, node: '', podNode: '', from: 0, to: 0 };
  /** The end and place numbers of the record's source [0, 1] and destination [2, 3], so a record is numbered once. */
  readonly #numbers = new Int32Array(4);
  // Exporter objects are cached per (address, port) by ingest, so identity works as a key.
  #exporterNodes = new WeakMap<Exporter, string | null>();

  constructor(identity: Identity, store: PairSink, dedup: DedupMode = 'off', opts: RecordPipelineOptions = {}) {
    this.#identity = identity;
    this.#store = store;
    this.#dedup = dedup;
    if (isNumbered(store) && opts.memo !== false) {
      this.#numbered = store;
      this.#memo = new AddressMemo(opts.memoSlots);
    }
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
  #lastNodeId = 0;

  #exporterNode(exp: Exporter): string | undefined {
    if (exp === this.#lastExporter) return this.#lastNode;
    let n = this.#exporterNodes.get(exp);
    if (n === undefined) {
      n = this.#identity.nodeByAddress(exp.address) ?? null;
      this.#exporterNodes.set(exp, n);
    }
    this.#lastExporter = exp;
    this.#lastNode = n ?? undefined;
    this.#lastNodeId = this.#memo?.nodeId(n ?? '') ?? 0;
    return this.#lastNode;
  }

  #onRecord(rec: FlowRecord): void {
    this.counters.records++;
    const memo = this.#memo;
    if (memo === undefined || rec.family !== 4 || rec.endMs <= 0) {
      this.#count(rec, undefined);
      return;
    }
    if (this.#identity.generation !== this.#generation || this.#numbered!.dictionary !== this.#dictionary) this.#catchUp(memo);
    const ts = AddressMemo.time(rec.endMs);
    const s = memo.find(rec.src4, ts);
    const d = s < 0 ? -1 : memo.find(rec.dst4, ts);
    if (d < 0) this.#count(rec, memo);
    else this.#countRemembered(rec, memo, s, d);
  }

  /**
   * Through the identity index; what it answers is remembered when `memo` is given, and the end
   * and place numbers that took are the ones the record is counted with (numbered once).
   */
  #count(rec: FlowRecord, memo: AddressMemo | undefined): void {
    const c = this.counters;
    const id = this.#identity;
    const v6 = rec.family === 6;
    const src = id.resolveSrc(rec);
    const srcPlace = id.placeOf(src, rec.src4, v6 ? rec.src6 : null);
    if (memo !== undefined) this.#remember(memo, rec.src4, src, srcPlace, 0);
    const dst = id.resolveDst(rec);
    const dstPlace = id.placeOf(dst, rec.dst4, v6 ? rec.dst6 : null);
    if (memo !== undefined) this.#remember(memo, rec.dst4, dst, dstPlace, 2);
    if (src.kind === 'unknown') c.unknownSrc++;
    if (dst.kind === 'unknown') c.unknownDst++;
    if (this.#dedup !== 'off') {
      // Only an exporter that is a known node can report a flow twice.
      const node = this.#exporterNode(rec.exporter);
      if (node !== undefined && !shouldCount(this.#dedup, node, src, dst)) {
        c.dedupSkipped++;
        return;
      }
    }
    const role = id.role(rec, src, dst);
    if (memo === undefined) {
      this.#store.add(src, dst, role, rec, this.nowMs, srcPlace, dstPlace);
      return;
    }
    // Numbered as DeltaTable.add numbers them (places first, then ends) where #remember did not.
    const t = this.#numbered!;
    const n = this.#numbers;
    const srcPlaceNo = n[1] >= 0 ? n[1] : t.placeNumber(srcPlace);
    const dstPlaceNo = n[3] >= 0 ? n[3] : t.placeNumber(dstPlace);
    const srcEnd = n[0] >= 0 ? n[0] : t.endOf(src);
    const dstEnd = n[2] >= 0 ? n[2] : t.endOf(dst);
    const where = whereOf(srcPlaceNo, dstPlaceNo, src.nodeName !== '' && src.nodeName === dst.nodeName);
    t.addEnds(srcEnd, dstEnd, role, rec, this.nowMs, where);
  }

  #countRemembered(rec: FlowRecord, memo: AddressMemo, s: number, d: number): void {
    const c = this.counters;
    c.remembered++;
    if (memo.unknown(s)) c.unknownSrc++;
    if (memo.unknown(d)) c.unknownDst++;
    if (this.#dedup !== 'off') {
      this.#exporterNode(rec.exporter);
      if (!shouldCountNumbered(this.#lastNodeId, memo.podNode(s), memo.node(d))) {
        c.dedupSkipped++;
        return;
      }
    }
    const role = this.#identity.roleOfPorts(rec, memo.ports(s), memo.ports(d));
    const sn = memo.node(s);
    const where = whereOf(memo.place(s), memo.place(d), sn !== 0 && sn === memo.node(d));
    this.#numbered!.addEnds(memo.end(s), memo.end(d), role, rec, this.nowMs, where);
  }

  /**
   * Right after a resolve, while the identity's hit fields describe it. The end and place numbers
   * it takes go to #numbers from `at` (-1 when the answer holds for no span and nothing is kept).
   */
  #remember(memo: AddressMemo, ip: number, ep: Endpoint, place: Place, at: 0 | 2): void {
    const id = this.#identity;
    const n = this.#numbers;
    if (id.hitFrom > id.hitTo) {
      n[at] = -1;
      n[at + 1] = -1;
      return;
    }
    const f = this.#facts;
    f.end = n[at] = this.#numbered!.endOf(ep);
    f.place = n[at + 1] = this.#numbered!.placeNumber(place);
    f.ports = id.hitPorts;
    f.unknown = ep.kind === 'unknown';
    f.node = ep.nodeName;
    f.podNode = ep.kind === 'pod' ? ep.nodeName : '';
    f.from = id.hitFrom;
    f.to = id.hitTo;
    if (!memo.remember(ip, f)) this.#forgetAll(memo);
  }

  /** After inventory changes, the addresses they touched are forgotten; after a new end numbering, all of them. */
  #catchUp(memo: AddressMemo): void {
    const changed = this.#identity.takeChanges();
    if (changed === null || this.#numbered!.dictionary !== this.#dictionary) this.#forgetAll(memo);
    else for (let i = 0; i < changed.length; i++) memo.forgetAddress(changed[i]);
    this.#generation = this.#identity.generation;
    this.#dictionary = this.#numbered!.dictionary;
  }

  #forgetAll(memo: AddressMemo): void {
    memo.forget();
    // Node numbers may have started over.
    this.#lastExporter = undefined;
  }
}
