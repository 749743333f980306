/**
 * The set walker: a v9 or IPFIX message's sets one after another (every set, whatever the
 * header's count says, as nfdump does), each data set decoded with its template or held until it
 * comes, each template set read into the template store; then held data the new templates made
 * decodable. What is being read, and from whom, travels in one reused DatagramContext.
 */
import { cachedReader, compileReader } from './compile.ts';
import { DatagramContext, DatagramWork } from './datagram-context.ts';
import type { DecoderOptions } from './decoder-options.ts';
import { domainKey, type ExporterState, type LiveTemplate } from './exporter-state.ts';
import type { DecodeHeld, HeldData } from './held-data.ts';
import { interpretSet, makePlan } from './interpret.ts';
import { readOptionsData } from './options-data.ts';
import { ReadContext } from './read-context.ts';
import { type Exporter, FlowRecord, type RecordSink } from './record.ts';
import type { SharedSet } from './saved-state.ts';
import { type DecoderStats, totalErrors } from './stats.ts';
import { TemplateSetReader } from './template-sets.ts';
import type { TemplateStore } from './template-store.ts';
import { decodeV5 } from './v5.ts';

/** Padding is zeros (RFC 7011 section 3.3.1; v9 pads to 4 bytes): anything else after the last record is a record cut short. */
function allZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

export class SetWalker {
  /** Told of every set that changed the decoder's state (see SharedSet); unset, nothing is shared. */
  onShare: ((exporter: Exporter, set: SharedSet) => void) | undefined = undefined;
  readonly #store: TemplateStore;
  readonly #held: HeldData;
  readonly #templateSets: TemplateSetReader;
  readonly #sink: RecordSink;
  readonly #options: DecoderOptions;
  readonly #stats: DecoderStats;
  readonly #record = new FlowRecord();
  readonly #read = new ReadContext();
  readonly #work = new DatagramWork();
  /** Contexts by nesting depth (see DatagramContext), made once each. */
  readonly #contexts: DatagramContext[] = [];
  #depth = 0;
  /** Inside shared(): what another thread shared is not shared back. */
  #applying = false;

  constructor(store: TemplateStore, sink: RecordSink, options: DecoderOptions, stats: DecoderStats) {
    this.#store = store;
    this.#held = store.held;
    this.#templateSets = new TemplateSetReader(store, options, stats);
    this.#sink = sink;
    this.#options = options;
    this.#stats = stats;
  }

  /** One datagram, any version; throws only on a bug or a sink that threw. */
  datagram(bytes: Uint8Array, exporter: Exporter, nowMs: number): void {
    const s = this.#stats;
    this.#work.startDatagram(this.#options);
    if (bytes.length < 4) {
      s.errors.short_header++;
      return;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint16(0);
    if (version === 5) {
      if (decodeV5(view, bytes, exporter, this.#record, this.#sink, s)) s.datagramsDecoded++;
    } else if (version === 9 || version === 10) {
      const ctx = this.#enter();
      try {
        ctx.read(bytes, view, exporter, nowMs);
        if (version === 9) this.#v9(ctx);
        else this.#ipfix(ctx);
      } finally {
        this.#depth--;
      }
    } else s.errors.unknown_version++;
  }

  /** This depth's context. */
  #enter(): DatagramContext {
    const depth = this.#depth++;
    return this.#contexts[depth] ?? (this.#contexts[depth] = new DatagramContext(this.#work));
  }

  /** The v9 header (RFC 3954 section 5.1), then the flowsets. */
  #v9(ctx: DatagramContext): void {
    if (ctx.bytes.length < 20) {
      this.#stats.errors.short_header++;
      return;
    }
    this.#stats.datagramsDecoded++;
    ctx.version = 9;
    ctx.uptime = ctx.view.getUint32(4);
    ctx.baseMs = ctx.view.getUint32(8) * 1000;
    ctx.sourceId = ctx.view.getUint32(16);
    this.#walk(ctx, 20, ctx.bytes.length);
  }

  /** The IPFIX message header (RFC 7011 section 3.1), then the sets within its length. */
  #ipfix(ctx: DatagramContext): void {
    if (ctx.bytes.length < 16) {
      this.#stats.errors.short_header++;
      return;
    }
    const length = ctx.view.getUint16(2);
    if (length < 16 || length > ctx.bytes.length) {
      this.#stats.errors.bad_message_length++;
      return;
    }
    this.#stats.datagramsDecoded++;
    ctx.version = 10;
    ctx.uptime = 0;
    ctx.baseMs = ctx.view.getUint32(4) * 1000;
    ctx.sourceId = ctx.view.getUint32(12);
    this.#walk(ctx, 16, length);
  }

  /** The sets in ctx.bytes[start, end). */
  #walk(ctx: DatagramContext, start: number, end: number): void {
    const s = this.#stats;
    const store = this.#store;
    const es = store.exporter(ctx.exporter, ctx.nowMs);
    ctx.state = es;
    store.inUse = es;
    const view = ctx.view;
    const templateSet = ctx.version === 9 ? 0 : 2;
    const optionsTemplateSet = ctx.version === 9 ? 1 : 3;
    const dk = domainKey(ctx.version, ctx.sourceId);
    let p = start;
    // Fewer than 4 bytes after the last set is padding.
    while (p + 4 <= end) {
      const setId = view.getUint16(p);
      const setLength = view.getUint16(p + 2);
      if (setLength === 0) {
        s.errors.zero_length_set++;
        break;
      }
      if (setLength < 4 || p + setLength > end) {
        s.errors.bad_set_length++;
        break;
      }
      const body = p + 4;
      const setEnd = p + setLength;
      if (setId >= 256) {
        s.dataSets++;
        // An empty set is not worth another session's template: it has no records whatever the template.
        const tpl = store.lookup(es, dk, setId, setLength > 4);
        if (tpl !== undefined) {
          this.#decodeData(ctx, tpl, body, setEnd);
        } else if (setLength === 4) {
          s.errors.short_data_set++;
          s.setsRefused++;
        } else {
          s.templateMisses++;
          this.#held.hold(ctx, setId, body, setEnd);
        }
      } else if (setId === templateSet || setId === optionsTemplateSet) {
        this.#readTemplateSet(ctx, setId, body, setEnd, setId === optionsTemplateSet);
      } else {
        s.errors.reserved_set_id++;
      }
      p = setEnd;
    }
    store.inUse = undefined;
    this.#afterSets(ctx, es);
  }

  /** A template set, shared with the other threads when it changed the store and read without an error. */
  #readTemplateSet(ctx: DatagramContext, setId: number, body: number, end: number, options: boolean): void {
    const s = this.#stats;
    const changes = this.#store.changes;
    const errors = this.onShare === undefined ? 0 : totalErrors(s);
    this.#templateSets.read(ctx, body, end, options);
    if (this.onShare !== undefined && !this.#applying && this.#store.changes !== changes && totalErrors(s) === errors) {
      this.#share(ctx, setId, body, end);
    }
  }

  /** After a datagram's sets: held data its templates made decodable, and an exporter left with nothing. */
  #afterSets(ctx: DatagramContext, es: ExporterState): void {
    if (es.newTemplate) {
      es.newTemplate = false;
      if (es.pending.length > 0) this.#held.replay(es, ctx, this.#decodeHeld);
      const siblings = this.#store.siblings(es);
      if (siblings !== undefined) {
        for (const sib of siblings) {
          if (sib === es || sib.pending.length === 0) continue;
          // Their records name the session that sent them.
          ctx.exporter = sib.exporter;
          this.#held.replay(sib, ctx, this.#decodeHeld);
        }
      }
    }
    this.#store.forgetIfEmpty(es);
  }

  /** A held set, decoded in the context of the datagram whose template let it (one function for every replay). */
  readonly #decodeHeld: DecodeHeld = (ctx, h, tpl) => {
    ctx.bytes = h.buf;
    ctx.view = new DataView(h.buf.buffer, h.buf.byteOffset, h.len);
    ctx.version = h.version;
    ctx.sourceId = h.sourceId;
    ctx.baseMs = h.baseMs;
    ctx.uptime = h.uptime;
    this.#decodeData(ctx, tpl, 0, h.len);
  };

  /** Decodes the data set ctx.bytes[body, end) with its template; a set that gives no record is counted with its reason. */
  #decodeData(ctx: DatagramContext, tpl: LiveTemplate, body: number, end: number): void {
    const s = this.#stats;
    if (tpl.minLength === 0) {
      s.errors.zero_length_record++;
      s.setsRefused++;
      return;
    }
    if (end - body < tpl.minLength) {
      s.errors.short_data_set++;
      s.setsRefused++;
      return;
    }
    if (tpl.options) {
      this.#decodeOptions(ctx, tpl, body, end);
      return;
    }
    const dom = tpl.dom;
    const read = this.#read;
    read.version = ctx.version;
    read.exporter = ctx.exporter;
    read.sourceId = ctx.sourceId;
    read.rate = dom.defaultRate;
    read.samplers = dom.samplers;
    read.baseMs = ctx.baseMs;
    read.uptime = ctx.uptime;
    read.initMs = dom.initMs;
    read.truncated = false;
    let reader = tpl.reader;
    if (!reader) reader = tpl.reader = cachedReader(tpl.signature);
    if (!reader && ctx.work.compiles > 0) {
      ctx.work.compiles--;
      s.readersCompiled++;
      reader = tpl.reader = compileReader(tpl.version, tpl.signature, tpl.fields);
    }
    const bytes = ctx.bytes;
    let n: number;
    if (reader) n = reader(ctx.view, bytes, body, end, this.#record, this.#sink, read);
    else {
      s.setsInterpreted++;
      n = interpretSet((tpl.plan ??= makePlan(tpl.version, tpl.fields)), ctx.view, bytes, body, end, this.#record, this.#sink, read);
    }
    if (ctx.version === 9) s.records.v9 += n;
    else s.records.ipfix += n;
    if (read.truncated) s.errors.truncated_record++;
    else if (end - read.stop >= 4 && !allZero(bytes, read.stop, end)) s.errors.short_record++;
    if (n > 0) s.setsDecoded++;
    else {
      if (!read.truncated) s.errors.short_data_set++;
      s.setsRefused++;
    }
  }

  /** Options data: state, not flows; shared with the other threads when it changed anything. */
  #decodeOptions(ctx: DatagramContext, tpl: LiveTemplate, body: number, end: number): void {
    const s = this.#stats;
    const dom = tpl.dom;
    const changes = dom.changes;
    const allowed = this.#store.optionEntriesAllowed(tpl.es, dom);
    const res = readOptionsData(tpl, dom, ctx.view, ctx.bytes, body, end, this.#options.sampling === 'nfdump', allowed);
    this.#store.chargeOptions(tpl.es, dom);
    s.optionsRecords += res.records;
    if (res.truncated) s.errors.truncated_record++;
    if (res.records === 0) {
      if (!res.truncated) s.errors.short_data_set++;
      s.setsRefused++;
      return;
    }
    s.setsDecoded++;
    if (!res.truncated && this.onShare !== undefined && !this.#applying && dom.changes !== changes) this.#share(ctx, tpl.id, body, end);
  }

  /** Hands the set ctx.bytes[body, end) to onShare, as a copy. */
  #share(ctx: DatagramContext, setId: number, body: number, end: number): void {
    this.onShare?.(ctx.exporter, {
      version: ctx.version,
      sourceId: ctx.sourceId,
      setId,
      body: Uint8Array.prototype.slice.call(ctx.bytes, body, end),
      baseMs: ctx.baseMs,
      uptime: ctx.uptime,
    });
  }

  /**
   * A set another thread's decoder shared, taken in as if this exporter had sent it here (see
   * Decoder.applyShared). Counted where it arrived, not again here: only the `templates` gauge and
   * held data move.
   */
  shared(exporter: Exporter, set: SharedSet, nowMs: number): void {
    const ctx = this.#enter();
    try {
      const es = this.#applyShared(ctx, exporter, set, nowMs);
      // Held data is this thread's own: counted here, and options it teaches are shared as usual.
      this.#afterSets(ctx, es);
    } finally {
      this.#depth--;
    }
  }

  /** The shared set itself: the counters it moved are put back, and nothing it teaches is shared back. */
  #applyShared(ctx: DatagramContext, exporter: Exporter, set: SharedSet, nowMs: number): ExporterState {
    const s = this.#stats;
    const received = s.templatesReceived;
    const optionsRecords = s.optionsRecords;
    const setsDecoded = s.setsDecoded;
    const setsRefused = s.setsRefused;
    const es = this.#store.exporter(exporter, nowMs);
    this.#store.inUse = es;
    this.#applying = true;
    this.#work.startShared(this.#options);
    try {
      ctx.read(set.body, new DataView(set.body.buffer, set.body.byteOffset, set.body.byteLength), exporter, nowMs);
      ctx.state = es;
      ctx.version = set.version;
      ctx.sourceId = set.sourceId;
      ctx.baseMs = set.baseMs;
      ctx.uptime = set.uptime;
      const optionsTemplateSet = set.version === 9 ? 1 : 3;
      if (set.setId === (set.version === 9 ? 0 : 2) || set.setId === optionsTemplateSet) {
        this.#templateSets.read(ctx, 0, set.body.length, set.setId === optionsTemplateSet);
      } else {
        const tpl = this.#store.lookup(es, domainKey(set.version, set.sourceId), set.setId, false);
        if (tpl?.options) this.#decodeData(ctx, tpl, 0, set.body.length);
      }
    } finally {
      this.#applying = false;
      this.#store.inUse = undefined;
      s.templatesReceived = received;
      s.optionsRecords = optionsRecords;
      s.setsDecoded = setsDecoded;
      s.setsRefused = setsRefused;
    }
    return es;
  }
}
