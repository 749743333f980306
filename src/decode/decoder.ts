/**
 * The decoder: NetFlow v5, v9 (RFC 3954) and IPFIX (RFC 7011) datagrams in, flow records out.
 * Pure: no I/O and no clock; the caller passes the time with every call.
 *
 * Templates are keyed by (exporter address|port, version, source ID / observation domain,
 * template ID); on a miss, the same address's template of another port may serve
 * (templateScope). Every set in a datagram is decoded, whatever the header's count says (as
 * nfdump does). Data that arrives before its template is held per exporter and decoded when the
 * template comes. Every length is checked before it is read; what cannot be read is counted in
 * `stats.errors` by reason and skipped, and every data set that gives no record is counted. See
 * stats.ts for how the counters add up.
 *
 * State is bounded against hostile exporters: a byte budget with a per-exporter share, caps on
 * exporters (least recently seen evicted), templates per exporter, fields per template, and work
 * per datagram; each cap hit is counted in `stats.limits`. Expiry costs what is due, not what is
 * kept.
 */
import { FlowRecord, type Exporter, type RecordSink } from './record.ts';
import { newStats, totalErrors, type DecoderStats } from './stats.ts';
import { DeadlineWheel } from './deadline-wheel.ts';
import { HeldPool } from './held-pool.ts';
import { cachedReader, compileReader } from './compile.ts';
import { ReadContext } from './read-context.ts';
import { interpretSet, makePlan } from './interpret.ts';
import { DomainState, MAX_OPTION_ENTRIES, readOptionsData } from './options-data.ts';
import { layoutOf, templateSignature, type TemplateField } from './template.ts';
import { decodeV5 } from './v5.ts';
import {
  AddressState,
  addressKey,
  addressOf,
  DOMAIN_BYTES,
  domainKey,
  ExporterState,
  type Held,
  heldWeight,
  type LiveTemplate,
  MAX_DOMAINS_PER_EXPORTER,
  OPTION_ENTRY_BYTES,
  templateCost,
  VACANT,
} from './exporter-state.ts';
import { checkSnapshot, restoreOptions, type SavedTemplates, type SharedSet, snapshotOf } from './saved-state.ts';
import { type DecoderOptions, withDefaults } from './decoder-options.ts';

export { DEFAULT_DECODER_OPTIONS, type DecoderOptions } from './decoder-options.ts';

/** Template layouts by signature, shared by every decoder of the thread (templates never change their fields). */
const layouts = new Map<string, { signature: string; fields: readonly TemplateField[] }>();
const MAX_SHARED_LAYOUTS = 4096;

/** Padding is zeros (RFC 7011 section 3.3.1; v9 pads to 4 bytes): anything else after the last record is a record cut short. */
function allZero(u: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (u[i] !== 0) return false;
  return true;
}

/** Siblings whose held data a new template is tried on (an address with thousands of ports must not make each template cost thousands). */
const MAX_SIBLING_REPLAYS = 64;
/** Held sets looked at for a newly arrived template, per datagram (an exporter's held share is about 1,000). */
const MAX_REPLAY_PER_DATAGRAM = 4096;
/** The budget evicts an exporter only after this long without a datagram from it. */
export const IDLE_EVICTABLE_MS = 60_000;

export class Decoder {
  readonly stats: DecoderStats = newStats();
  readonly options: DecoderOptions;
  /** The last exception caught (a bug or a sink that threw), for debugging. */
  lastException: unknown = undefined;

  private readonly sink: RecordSink;
  private readonly rec = new FlowRecord();
  private readonly ctx = new ReadContext();
  private readonly exporters = new Map<string, ExporterState>();
  /** Eviction order (CLOCK, see ExporterState.referenced): oldest first. */
  private oldest: ExporterState | undefined = undefined;
  private newest: ExporterState | undefined = undefined;
  private readonly addresses = new Map<string, AddressState>();
  /** Held sets of every exporter in arrival order, for age expiry and the global budget. */
  private heldQueue: Held[] = [];
  /** The seq each queue slot was given: a slot whose entry has been reused since is dead. */
  private heldQueueSeq: number[] = [];
  private heldHead = 0;
  private heldLive = 0;
  private readonly heldPool = new HeldPool<ExporterState>(VACANT, 8 * 1024 * 1024);
  private readonly wheel = new DeadlineWheel<ExporterState>();
  private bytes = 0;
  private readonly exporterShare: number;
  private readonly heldShare: number;
  private readonly scopeAddress: boolean;
  /** The exporter whose datagram (or shared set) is being decoded: never forgotten from under it. */
  private current: ExporterState | undefined = undefined;
  private compileBudget = 0;
  private heldBudget = 0;
  private templateRecordBudget = 0;
  private replayBudget = 0;
  /** Told of every set that changed this decoder's state (see SharedSet); unset, nothing is shared. */
  onShare: ((exporter: Exporter, set: SharedSet) => void) | undefined = undefined;
  /** Templates added, changed or withdrawn, ever: tells a template set that changed state from a refresh. */
  private templateChanges = 0;
  /** Inside applyShared: what another thread shared is not shared back. */
  private applying = false;

  constructor(sink: RecordSink, options?: Partial<DecoderOptions>) {
    this.sink = sink;
    const o = withDefaults(options);
    this.options = o;
    this.exporterShare = o.exporterShareBytes ?? Math.floor(o.stateBudgetBytes / 16);
    this.heldShare = o.pendingMaxBytes ?? Math.floor(o.stateBudgetBytes / 64);
    this.scopeAddress = o.templateScope === 'address';
  }

  /** Bytes of decoder state now, as the budget weighs them (also stats.stateBytes). */
  stateBytes(): number {
    return this.bytes;
  }

  /** Decodes one datagram. Never throws, whatever the bytes. */
  decode(datagram: Uint8Array, exporter: Exporter, nowMs: number): void {
    const s = this.stats;
    s.datagrams++;
    const o = this.options;
    this.compileBudget = o.compilesPerDatagram;
    this.heldBudget = o.maxHeldPerDatagram;
    this.templateRecordBudget = o.maxTemplateRecordsPerDatagram;
    this.replayBudget = MAX_REPLAY_PER_DATAGRAM;
    const decodedBefore = s.datagramsDecoded;
    try {
      if (datagram.length < 4) {
        s.errors.short_header++;
      } else {
        const v = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
        const version = v.getUint16(0);
        if (version === 9) this.decodeV9(v, datagram, exporter, nowMs);
        else if (version === 10) this.decodeIpfix(v, datagram, exporter, nowMs);
        else if (version === 5) {
          if (decodeV5(v, datagram, exporter, this.rec, this.sink, s)) s.datagramsDecoded++;
        } else s.errors.unknown_version++;
      }
      if (s.datagramsDecoded === decodedBefore) s.datagramsRefused++;
    } catch (err) {
      this.current = undefined;
      if (s.datagramsDecoded === decodedBefore) s.datagramsRefused++;
      s.errors.exception++;
      this.lastException = err;
    }
  }

  private decodeV9(v: DataView, u: Uint8Array, exporter: Exporter, nowMs: number): void {
    if (u.length < 20) {
      this.stats.errors.short_header++;
      return;
    }
    this.stats.datagramsDecoded++;
    const uptime = v.getUint32(4);
    const baseMs = v.getUint32(8) * 1000;
    const sourceId = v.getUint32(16);
    this.walkSets(v, u, 20, u.length, 9, exporter, sourceId, baseMs, uptime, nowMs);
  }

  private decodeIpfix(v: DataView, u: Uint8Array, exporter: Exporter, nowMs: number): void {
    if (u.length < 16) {
      this.stats.errors.short_header++;
      return;
    }
    const length = v.getUint16(2);
    if (length < 16 || length > u.length) {
      this.stats.errors.bad_message_length++;
      return;
    }
    this.stats.datagramsDecoded++;
    const baseMs = v.getUint32(4) * 1000;
    const domain = v.getUint32(12);
    this.walkSets(v, u, 16, length, 10, exporter, domain, baseMs, 0, nowMs);
  }

  /** The exporter's state, made if new (evicting one past maxExporters); marks it seen. */
  private exporterState(exporter: Exporter, nowMs: number): ExporterState {
    const { key, address } = exporter;
    let es = this.exporters.get(key);
    if (es !== undefined) {
      es.touchedMs = nowMs;
      es.referenced = true;
      return es;
    }
    if (this.exporters.size >= this.options.maxExporters) {
      const lru = this.evictionCandidate();
      if (lru !== undefined) {
        this.evict(lru);
        this.stats.limits.exporters++;
      }
    }
    es = new ExporterState(key, address, exporter);
    es.touchedMs = nowMs;
    this.exporters.set(key, es);
    this.appendLru(es);
    let a = this.addresses.get(address);
    if (a === undefined) {
      a = new AddressState();
      this.addresses.set(address, a);
    }
    a.sessions.add(es);
    this.bytes += es.bytes;
    this.stats.exporters = this.exporters.size;
    return es;
  }

  /**
   * The exporter to evict: the oldest not seen since the hand last passed; those seen since go to
   * the end with their flag cleared (one pass at most, so bounded by the exporters kept).
   */
  private evictionCandidate(): ExporterState | undefined {
    for (let es = this.oldest; es !== undefined; es = this.oldest) {
      if (!es.referenced) return es;
      es.referenced = false;
      if (es === this.newest) return es;
      this.unlinkLru(es);
      this.appendLru(es);
    }
    return undefined;
  }

  private appendLru(es: ExporterState): void {
    es.older = this.newest;
    es.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = es;
    else this.oldest = es;
    this.newest = es;
  }

  private unlinkLru(es: ExporterState): void {
    if (es.older !== undefined) es.older.newer = es.newer;
    else this.oldest = es.newer;
    if (es.newer !== undefined) es.newer.older = es.older;
    else this.newest = es.older;
    es.older = es.newer = undefined;
  }

  /** Adds `delta` bytes to an exporter's and the global tally. */
  private charge(es: ExporterState, delta: number): void {
    es.bytes += delta;
    this.bytes += delta;
    this.stats.stateBytes = this.bytes;
  }

  private walkSets(
    v: DataView,
    u: Uint8Array,
    start: number,
    end: number,
    version: 9 | 10,
    exporter: Exporter,
    sourceId: number,
    baseMs: number,
    uptime: number,
    nowMs: number,
  ): void {
    const s = this.stats;
    const es = this.exporterState(exporter, nowMs);
    this.current = es;
    const tplSet = version === 9 ? 0 : 2;
    const optSet = version === 9 ? 1 : 3;
    const dk = domainKey(version, sourceId);
    let p = start;
    // Fewer than 4 bytes after the last set is padding.
    while (p + 4 <= end) {
      const setId = v.getUint16(p);
      const setLen = v.getUint16(p + 2);
      if (setLen === 0) {
        s.errors.zero_length_set++;
        break;
      }
      if (setLen < 4 || p + setLen > end) {
        s.errors.bad_set_length++;
        break;
      }
      const body = p + 4;
      const setEnd = p + setLen;
      if (setId >= 256) {
        s.dataSets++;
        let tpl = es.domains.get(dk)?.templates.get(setId) as LiveTemplate | undefined;
        if (tpl === undefined && setLen > 4 && this.scopeAddress) {
          tpl = this.addressTemplate(es, dk, setId);
          if (tpl !== undefined) s.templateScopeFallbacks++;
        }
        if (tpl !== undefined) {
          this.decodeData(tpl, v, u, body, setEnd, version, exporter, sourceId, baseMs, uptime);
        } else if (setLen === 4) {
          // No records whatever the template: nothing to wait for.
          s.errors.short_data_set++;
          s.setsRefused++;
        } else {
          s.templateMisses++;
          this.hold(es, version, sourceId, setId, u, body, setEnd, baseMs, uptime, nowMs);
        }
      } else if (setId === tplSet || setId === optSet) {
        const changes = this.templateChanges;
        const errors = this.onShare === undefined ? 0 : totalErrors(s);
        this.readTemplateSet(es, v, body, setEnd, version, setId === optSet, sourceId, nowMs);
        if (this.onShare !== undefined && !this.applying && this.templateChanges !== changes && totalErrors(s) === errors) {
          this.onShare(exporter, { version, sourceId, setId, body: Uint8Array.prototype.slice.call(u, body, setEnd), baseMs, uptime });
        }
      } else {
        s.errors.reserved_set_id++;
      }
      p = setEnd;
    }
    this.current = undefined;
    this.afterSets(es, exporter, nowMs);
  }

  /** After a datagram's sets: held data its templates made decodable, and an exporter left with nothing. */
  private afterSets(es: ExporterState, exporter: Exporter, nowMs: number): void {
    if (es.newTemplate) {
      es.newTemplate = false;
      if (es.pending.length > 0) this.replayHeld(es, exporter, nowMs);
      if (this.scopeAddress) {
        const a = this.addresses.get(es.address);
        if (a !== undefined && a.sessions.size > 1 && a.sessions.size <= MAX_SIBLING_REPLAYS) {
          for (const sib of a.sessions) if (sib !== es && sib.pending.length > 0) this.replayHeld(sib, sib.exporter, nowMs);
        }
      }
    }
    this.forgetIfEmpty(es);
  }

  /** The template another session of this address sent last for (version, domain, ID), if any. */
  private addressTemplate(es: ExporterState, dk: number, id: number): LiveTemplate | undefined {
    const t = this.addresses.get(es.address)?.templates.get(addressKey(dk, id));
    return t !== undefined && t.es !== es && this.isLive(t) ? t : undefined;
  }

  private isLive(t: LiveTemplate): boolean {
    return !t.es.gone && t.es.domains.get(t.dk)?.templates.get(t.id) === t;
  }

  /** Decodes one data set with its template; a set that gives no record is counted with its reason. */
  private decodeData(
    tpl: LiveTemplate,
    v: DataView,
    u: Uint8Array,
    body: number,
    setEnd: number,
    version: 9 | 10,
    exporter: Exporter,
    sourceId: number,
    baseMs: number,
    uptime: number,
  ): void {
    const s = this.stats;
    const dom = tpl.dom;
    if (tpl.minLength === 0) {
      s.errors.zero_length_record++;
      s.setsRefused++;
      return;
    }
    if (setEnd - body < tpl.minLength) {
      s.errors.short_data_set++;
      s.setsRefused++;
      return;
    }
    if (tpl.options) {
      const changes = dom.changes;
      const res = readOptionsData(tpl, dom, v, u, body, setEnd, this.options.sampling === 'nfdump', this.optionEntriesAllowed(tpl.es, dom));
      this.chargeOptions(tpl.es, dom);
      s.optionsRecords += res.records;
      if (res.truncated) s.errors.truncated_record++;
      if (res.records === 0) {
        if (!res.truncated) s.errors.short_data_set++;
        s.setsRefused++;
        return;
      }
      s.setsDecoded++;
      if (!res.truncated && this.onShare !== undefined && !this.applying && dom.changes !== changes) {
        this.onShare(exporter, {
          version,
          sourceId,
          setId: tpl.id,
          body: Uint8Array.prototype.slice.call(u, body, setEnd),
          baseMs,
          uptime,
        });
      }
      return;
    }
    const c = this.ctx;
    c.version = version;
    c.exporter = exporter;
    c.sourceId = sourceId;
    c.rate = dom.defaultRate;
    c.samplers = dom.samplers;
    c.baseMs = baseMs;
    c.uptime = uptime;
    c.initMs = dom.initMs;
    c.truncated = false;
    let reader = tpl.reader;
    if (!reader) reader = tpl.reader = cachedReader(tpl.signature);
    if (!reader && this.compileBudget > 0) {
      this.compileBudget--;
      s.readersCompiled++;
      reader = tpl.reader = compileReader(tpl.version, tpl.signature, tpl.fields);
    }
    let n: number;
    if (reader) n = reader(v, u, body, setEnd, this.rec, this.sink, c);
    else {
      s.setsInterpreted++;
      n = interpretSet((tpl.plan ??= makePlan(tpl.version, tpl.fields)), v, u, body, setEnd, this.rec, this.sink, c);
    }
    if (version === 9) s.records.v9 += n;
    else s.records.ipfix += n;
    if (c.truncated) s.errors.truncated_record++;
    else if (setEnd - c.stop >= 4 && !allZero(u, c.stop, setEnd)) s.errors.short_record++;
    if (n > 0) s.setsDecoded++;
    else {
      if (!c.truncated) s.errors.short_data_set++;
      s.setsRefused++;
    }
  }

  /** Sampler / interface-name entries a domain may reach within its exporter's share and the budget. */
  private optionEntriesAllowed(es: ExporterState, dom: DomainState): number {
    const room = Math.min(this.exporterShare - es.bytes, this.options.stateBudgetBytes - this.bytes);
    const more = Math.max(0, Math.floor(room / OPTION_ENTRY_BYTES / 2));
    return Math.min(MAX_OPTION_ENTRIES, Math.max(dom.samplers.size, dom.ifNames.size) + more);
  }

  private chargeOptions(es: ExporterState, dom: DomainState): void {
    const bytes = (dom.samplers.size + dom.ifNames.size) * OPTION_ENTRY_BYTES;
    if (bytes !== dom.optionBytes) {
      this.charge(es, bytes - dom.optionBytes);
      dom.optionBytes = bytes;
    }
  }

  private readTemplateSet(
    es: ExporterState,
    v: DataView,
    body: number,
    setEnd: number,
    version: 9 | 10,
    options: boolean,
    sourceId: number,
    nowMs: number,
  ): void {
    if (version === 9 && options) this.readV9OptionTemplates(es, v, body, setEnd, sourceId, nowMs);
    else this.readTemplates(es, v, body, setEnd, version, sourceId, nowMs, options);
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
    const s = this.stats;
    const received = s.templatesReceived;
    const optionsRecords = s.optionsRecords;
    const setsDecoded = s.setsDecoded;
    const setsRefused = s.setsRefused;
    const es = this.exporterState(exporter, nowMs);
    this.current = es;
    this.applying = true;
    this.templateRecordBudget = this.options.maxTemplateRecordsPerDatagram;
    this.replayBudget = MAX_REPLAY_PER_DATAGRAM;
    try {
      const v = new DataView(set.body.buffer, set.body.byteOffset, set.body.byteLength);
      const tplSet = set.version === 9 ? 0 : 2;
      const optSet = set.version === 9 ? 1 : 3;
      if (set.setId === tplSet || set.setId === optSet) {
        this.readTemplateSet(es, v, 0, set.body.length, set.version, set.setId === optSet, set.sourceId, nowMs);
      } else {
        const tpl = es.domains.get(domainKey(set.version, set.sourceId))?.templates.get(set.setId) as LiveTemplate | undefined;
        if (tpl?.options)
          this.decodeData(tpl, v, set.body, 0, set.body.length, set.version, exporter, set.sourceId, set.baseMs, set.uptime);
      }
    } finally {
      this.applying = false;
      this.current = undefined;
      s.templatesReceived = received;
      s.optionsRecords = optionsRecords;
      s.setsDecoded = setsDecoded;
      s.setsRefused = setsRefused;
    }
    // Held data is this thread's own: counted here, and options it teaches are shared as usual.
    this.afterSets(es, exporter, nowMs);
  }

  /** v9 template sets, and IPFIX template and options template sets (RFC 7011 section 3.4). */
  private readTemplates(
    es: ExporterState,
    v: DataView,
    p: number,
    end: number,
    version: 9 | 10,
    sourceId: number,
    nowMs: number,
    options = false,
  ): void {
    const s = this.stats;
    const maxFields = this.options.maxTemplateFields;
    while (p + 4 <= end) {
      const id = v.getUint16(p);
      const count = v.getUint16(p + 2);
      if (id === 0 && count === 0) break; // padding
      if (--this.templateRecordBudget < 0) {
        s.limits.datagram_work++;
        return;
      }
      p += 4;
      if (version === 10 && count === 0) {
        this.withdraw(es, sourceId, id, options);
        continue;
      }
      let scopeCount = 0;
      if (options) {
        if (p + 2 > end) {
          s.errors.template_overflow++;
          return;
        }
        scopeCount = v.getUint16(p);
        p += 2;
      }
      // A template that cannot be kept is walked over, never built: a hostile one costs its bytes only.
      const keep = count <= maxFields && (id < 256 || this.roomForTemplate(es, version, sourceId, id, count, nowMs));
      const fields: TemplateField[] | undefined = keep ? [] : undefined;
      for (let i = 0; i < count; i++) {
        if (p + 4 > end) {
          s.errors.template_overflow++;
          return;
        }
        let type = v.getUint16(p);
        const length = v.getUint16(p + 2);
        p += 4;
        let enterprise = 0;
        if (version === 10 && type & 0x8000) {
          if (p + 4 > end) {
            s.errors.template_overflow++;
            return;
          }
          enterprise = v.getUint32(p);
          p += 4;
          type &= 0x7fff;
        }
        fields?.push({ type, length, enterprise, scope: i < scopeCount });
      }
      if (id < 256 || scopeCount > count) {
        s.errors.bad_template++;
        continue;
      }
      if (fields === undefined) {
        if (count > maxFields) {
          s.errors.template_too_large++;
          s.limits.template_fields++;
        }
        continue;
      }
      this.addTemplate(es, version, sourceId, id, options, fields, nowMs);
    }
  }

  /** v9 options template: scope and option field lists given as byte lengths (RFC 3954 6.1). */
  private readV9OptionTemplates(es: ExporterState, v: DataView, p: number, end: number, sourceId: number, nowMs: number): void {
    const s = this.stats;
    while (p + 6 <= end) {
      const id = v.getUint16(p);
      const scopeLen = v.getUint16(p + 2);
      const optLen = v.getUint16(p + 4);
      if (id === 0 && scopeLen === 0 && optLen === 0) break; // padding
      if (--this.templateRecordBudget < 0) {
        s.limits.datagram_work++;
        return;
      }
      p += 6;
      if (scopeLen % 4 !== 0 || optLen % 4 !== 0) {
        s.errors.bad_template++;
        return;
      }
      if (p + scopeLen + optLen > end) {
        s.errors.template_overflow++;
        return;
      }
      const nScope = scopeLen / 4;
      const n = nScope + optLen / 4;
      if (n > this.options.maxTemplateFields || (id >= 256 && !this.roomForTemplate(es, 9, sourceId, id, n, nowMs))) {
        p += scopeLen + optLen;
        if (n > this.options.maxTemplateFields) {
          s.errors.template_too_large++;
          s.limits.template_fields++;
        }
        continue;
      }
      const fields: TemplateField[] = [];
      for (let i = 0; i < n; i++, p += 4) {
        fields.push({ type: v.getUint16(p), length: v.getUint16(p + 2), enterprise: 0, scope: i < nScope });
      }
      if (id < 256) {
        s.errors.bad_template++;
        continue;
      }
      this.addTemplate(es, 9, sourceId, id, true, fields, nowMs);
    }
  }

  /**
   * Whether a template of `count` fields could be kept, asked before its fields are read: a flood
   * of templates we would refuse then makes no garbage. A template this exporter has already is
   * left to addTemplate (a refresh needs no room).
   */
  private roomForTemplate(es: ExporterState, version: 9 | 10, sourceId: number, id: number, count: number, nowMs: number): boolean {
    const dom = es.domains.get(domainKey(version, sourceId));
    if (dom?.templates.has(id)) return true;
    if (es.templateCount >= this.options.maxTemplatesPerExporter) {
      this.stats.limits.templates_per_exporter++;
      return false;
    }
    return this.makeRoom(es, templateCost(count) + (dom === undefined ? DOMAIN_BYTES : 0), nowMs);
  }

  private addTemplate(
    es: ExporterState,
    version: 9 | 10,
    sourceId: number,
    id: number,
    options: boolean,
    fields: TemplateField[],
    nowMs: number,
  ): void {
    const s = this.stats;
    const o = this.options;
    if (fields.length > o.maxTemplateFields) {
      s.errors.template_too_large++;
      s.limits.template_fields++;
      return;
    }
    const dk = domainKey(version, sourceId);
    let dom = es.domains.get(dk);
    if (dom === undefined && es.domains.size >= MAX_DOMAINS_PER_EXPORTER) {
      s.errors.bad_template++;
      return;
    }
    const signature = templateSignature(version, options, fields);
    const old = dom?.templates.get(id) as LiveTemplate | undefined;
    if (old && old.signature === signature) {
      // A refresh: keep the compiled reader, just extend its life.
      old.lastSeenMs = nowMs;
      s.templatesReceived++;
      // The address index only matters once the address has a second session; a refresh keeps it pointing at the latest.
      if (this.scopeAddress) {
        const a = this.addresses.get(es.address);
        if (a !== undefined && a.sessions.size > 1) a.templates.set(addressKey(dk, id), old);
      }
      return;
    }
    if (!old && es.templateCount >= o.maxTemplatesPerExporter) {
      s.limits.templates_per_exporter++;
      return;
    }
    const bytes = templateCost(fields.length);
    if (!this.makeRoom(es, bytes - (old?.bytes ?? 0) + (dom === undefined ? DOMAIN_BYTES : 0), nowMs)) return;
    if (dom === undefined) {
      dom = new DomainState();
      es.domains.set(dk, dom);
      this.charge(es, DOMAIN_BYTES);
    }
    // Exporters of one kind send the same layouts: one fields array and signature serve them all
    // (50,000 exporters x 8 templates otherwise hold 400,000 copies).
    let layout = layouts.get(signature);
    if (layout === undefined) {
      if (layouts.size >= MAX_SHARED_LAYOUTS) layouts.clear();
      layout = { signature, fields };
      layouts.set(signature, layout);
    }
    const { fixedLength, minLength } = layoutOf(version, fields);
    // Compiled on first use (see decodeData), unless this layout was compiled already.
    const reader = options || minLength === 0 ? undefined : cachedReader(signature);
    const tpl: LiveTemplate = {
      version,
      id,
      options,
      fields: layout.fields,
      fixedLength,
      minLength,
      signature: layout.signature,
      lastSeenMs: nowMs,
      reader,
      plan: undefined,
      es,
      dk,
      dom,
      bytes,
    };
    dom.templates.set(id, tpl);
    if (old) this.charge(es, -old.bytes);
    else es.templateCount++;
    this.charge(es, bytes);
    this.addresses.get(es.address)?.templates.set(addressKey(dk, id), tpl);
    this.wheel.schedule(es, nowMs + o.templateTtlMs);
    this.templateChanges++;
    if (!old) s.templates++;
    s.templatesReceived++;
    es.newTemplate = true;
  }

  /**
   * Makes room for `need` more bytes of `es`'s state: within its share, then within the budget by
   * dropping the oldest held data of anyone, then by evicting the least recently seen exporters
   * (a few at most, never `es`). False when there is still no room: the caller refuses.
   */
  private makeRoom(es: ExporterState, need: number, nowMs: number): boolean {
    if (need <= 0) return true;
    const s = this.stats;
    if (es.bytes + need > this.exporterShare) {
      s.limits.exporter_share++;
      return false;
    }
    const budget = this.options.stateBudgetBytes;
    if (this.bytes + need <= budget) return true;
    s.limits.state_budget++;
    while (this.bytes + need > budget && this.dropOldestHeld()) {}
    // Only exporters silent for a while: under a flood, active ones (the good ones among them) keep
    // what they have, and newcomers are refused until the flood's state expires or goes idle.
    for (let evictions = 0; this.bytes + need > budget && evictions < 4; evictions++) {
      const lru = this.evictionCandidate();
      if (lru === undefined || lru === es || nowMs - lru.touchedMs < IDLE_EVICTABLE_MS) break;
      this.evict(lru);
    }
    return this.bytes + need <= budget;
  }

  /** IPFIX withdrawal: template ID 2 (or 3 in an options set) withdraws all of that kind. */
  private withdraw(es: ExporterState, sourceId: number, id: number, options: boolean): void {
    const dk = domainKey(10, sourceId);
    const dom = es.domains.get(dk);
    if (!dom) return;
    const all = id === (options ? 3 : 2);
    for (const [tid, tpl] of dom.templates) {
      if (all ? tpl.options === options : tid === id) {
        this.removeTemplate(tpl as LiveTemplate, dom);
        this.templateChanges++;
        this.stats.templatesWithdrawn++;
      }
    }
    this.forgetDomainIfEmpty(es, dk, dom);
  }

  /** Takes a template out of its domain and the address index; the caller counts why. */
  private removeTemplate(tpl: LiveTemplate, dom: DomainState): void {
    const es = tpl.es;
    dom.templates.delete(tpl.id);
    es.templateCount--;
    this.charge(es, -tpl.bytes);
    this.stats.templates--;
    const a = this.addresses.get(es.address);
    const k = addressKey(tpl.dk, tpl.id);
    if (a !== undefined && a.templates.get(k) === tpl) a.templates.delete(k);
  }

  private forgetDomainIfEmpty(es: ExporterState, dk: number, dom: DomainState): void {
    if (dom.templates.size === 0 && dom.ifNames.size === 0 && dom.samplers.size === 0 && dom.defaultRate === 1 && dom.initMs === 0) {
      es.domains.delete(dk);
      this.charge(es, -DOMAIN_BYTES - dom.optionBytes);
    }
  }

  /** An exporter with no templates, options state or held data costs nothing to forget. */
  private forgetIfEmpty(es: ExporterState): void {
    if (es.domains.size === 0 && es.pending.length === 0 && !es.gone) this.forget(es);
  }

  private forget(es: ExporterState): void {
    es.gone = true;
    this.exporters.delete(es.key);
    this.unlinkLru(es);
    this.wheel.remove(es);
    const a = this.addresses.get(es.address);
    if (a !== undefined) {
      a.sessions.delete(es);
      if (a.sessions.size === 0) this.addresses.delete(es.address);
    }
    this.bytes -= es.bytes;
    es.bytes = 0;
    this.stats.stateBytes = this.bytes;
    this.stats.exporters = this.exporters.size;
  }

  /** Drops everything an exporter holds, counted, then forgets it. */
  private evict(es: ExporterState): void {
    const s = this.stats;
    for (const h of es.pending) this.settle(h, false);
    es.pending = [];
    for (const dom of es.domains.values()) {
      for (const tpl of dom.templates.values()) {
        this.removeTemplate(tpl as LiveTemplate, dom);
        s.templatesEvicted++;
      }
    }
    es.domains.clear();
    this.forget(es);
  }

  private hold(
    es: ExporterState,
    version: 9 | 10,
    sourceId: number,
    setId: number,
    u: Uint8Array,
    body: number,
    setEnd: number,
    baseMs: number,
    uptime: number,
    nowMs: number,
  ): void {
    const s = this.stats;
    s.held++;
    s.pending++;
    // Its real bytes (the pooled buffer), the set header and the entry: an empty or tiny set is never free.
    const weight = heldWeight(setEnd - body);
    if (--this.heldBudget < 0) {
      s.limits.datagram_work++;
      this.dropUnheld();
      return;
    }
    this.dropOld(es, nowMs);
    if (weight > this.heldShare) {
      s.limits.held_exporter_share++;
      this.dropUnheld();
      return;
    }
    while (es.heldBytes + weight > this.heldShare && es.pending.length > 0) {
      s.limits.held_exporter_share++;
      this.settle(es.pending.shift()!, false);
    }
    while (es.bytes + weight > this.exporterShare && es.pending.length > 0) {
      s.limits.exporter_share++;
      this.settle(es.pending.shift()!, false);
    }
    if (es.bytes + weight > this.exporterShare) {
      s.limits.exporter_share++;
      this.dropUnheld();
      return;
    }
    const budget = this.options.stateBudgetBytes;
    if (this.bytes + weight > budget) {
      s.limits.state_budget++;
      while (this.bytes + weight > budget && this.dropOldestHeld()) {}
      if (this.bytes + weight > budget) {
        this.dropUnheld();
        return;
      }
    }
    // A copy: the caller may reuse its buffer.
    const h = this.heldPool.acquire(es, u, body, setEnd);
    h.version = version;
    h.sourceId = sourceId;
    h.setId = setId;
    h.baseMs = baseMs;
    h.uptime = uptime;
    h.arrivedMs = nowMs;
    h.weight = weight;
    this.compactHeld();
    es.pending.push(h);
    es.heldBytes += weight;
    this.charge(es, weight);
    this.heldQueue.push(h);
    this.heldQueueSeq.push(h.seq);
    this.heldLive++;
  }

  /** A set counted as held that could not be kept: dropped at once. */
  private dropUnheld(): void {
    this.stats.pending--;
    this.stats.heldDropped++;
  }

  /** A held set leaves: decoded (counted by the caller) or dropped. The caller takes it out of es.pending. */
  private settle(h: Held, decoded: boolean): void {
    const s = this.stats;
    h.owner.heldBytes -= h.weight;
    this.charge(h.owner, -h.weight);
    this.heldPool.release(h);
    s.pending--;
    if (decoded) s.heldDecoded++;
    else s.heldDropped++;
    this.heldLive--;
  }

  /** The held entry in queue slot i, unless it has been settled (and maybe reused) since. */
  private queued(i: number): Held | undefined {
    const h = this.heldQueue[i];
    return !h.done && h.seq === this.heldQueueSeq[i] ? h : undefined;
  }

  /** Settled sets leave the global queue lazily; once they are most of it, it is rebuilt. */
  private compactHeld(): void {
    const q = this.heldQueue;
    const dead = q.length - this.heldHead - this.heldLive;
    if (dead > 1024 && dead > this.heldLive / 4) {
      const live: Held[] = [];
      const seqs: number[] = [];
      for (let i = this.heldHead; i < q.length; i++) {
        const h = this.queued(i);
        if (h !== undefined) {
          live.push(h);
          seqs.push(h.seq);
        }
      }
      this.heldQueue = live;
      this.heldQueueSeq = seqs;
      this.heldHead = 0;
    }
  }

  /** Drops the oldest held set of any exporter; false when nothing is held. */
  private dropOldestHeld(): boolean {
    while (this.heldHead < this.heldQueue.length) {
      const h = this.queued(this.heldHead++);
      if (h === undefined) continue;
      const es = h.owner;
      this.unlink(h);
      this.settle(h, false);
      if (es !== this.current) this.forgetIfEmpty(es);
      return true;
    }
    return false;
  }

  private unlink(h: Held): void {
    const p = h.owner.pending;
    if (p[0] === h) p.shift();
    else {
      const i = p.indexOf(h);
      if (i >= 0) p.splice(i, 1);
    }
  }

  private dropOld(es: ExporterState, nowMs: number): void {
    const maxAge = this.options.pendingMaxAgeMs;
    while (es.pending.length > 0 && nowMs - es.pending[0].arrivedMs > maxAge) this.settle(es.pending.shift()!, false);
  }

  private replayHeld(es: ExporterState, exporter: Exporter, nowMs: number): void {
    const s = this.stats;
    this.dropOld(es, nowMs);
    const waiting: Held[] = [];
    const ready: [Held, LiveTemplate][] = [];
    for (const h of es.pending) {
      // Held sets looked at per datagram are bounded too: the rest wait for the next template.
      if (--this.replayBudget < 0) {
        if (this.replayBudget === -1) s.limits.datagram_work++;
        waiting.push(h);
        continue;
      }
      const dk = domainKey(h.version, h.sourceId);
      let tpl = es.domains.get(dk)?.templates.get(h.setId) as LiveTemplate | undefined;
      if (tpl === undefined && this.scopeAddress) {
        tpl = this.addressTemplate(es, dk, h.setId);
        if (tpl !== undefined) s.templateScopeFallbacks++;
      }
      if (tpl) ready.push([h, tpl]);
      else waiting.push(h);
    }
    if (ready.length === 0) return;
    es.pending = waiting;
    for (const [h, tpl] of ready) {
      // Settled after decoding: its buffer goes back to the pool only then.
      try {
        const v = new DataView(h.buf.buffer, h.buf.byteOffset, h.len);
        this.decodeData(tpl, v, h.buf, 0, h.len, h.version, exporter, h.sourceId, h.baseMs, h.uptime);
      } finally {
        this.settle(h, true);
      }
    }
  }

  /**
   * Drops held data older than pendingMaxAgeMs and templates not refreshed within templateTtlMs.
   * Costs what is due, not what is kept: held data waits in one queue in arrival order, and each
   * exporter in the deadline wheel at its earliest template deadline.
   */
  expire(nowMs: number): void {
    const s = this.stats;
    const maxAge = this.options.pendingMaxAgeMs;
    while (this.heldHead < this.heldQueue.length) {
      const h = this.queued(this.heldHead);
      if (h !== undefined) {
        if (nowMs - h.arrivedMs <= maxAge) break;
        const es = h.owner;
        this.unlink(h);
        this.settle(h, false);
        this.forgetIfEmpty(es);
      }
      this.heldHead++;
    }
    if (this.heldHead > 1024 && this.heldHead > this.heldQueue.length / 2) {
      this.heldQueue = this.heldQueue.slice(this.heldHead);
      this.heldQueueSeq = this.heldQueueSeq.slice(this.heldHead);
      this.heldHead = 0;
    }
    // Shrink what a flood left behind: V8 arrays keep their capacity, and the pool its entries.
    if (this.heldLive === 0 && this.heldQueue.length > 0) {
      this.heldQueue = [];
      this.heldQueueSeq = [];
      this.heldHead = 0;
      this.heldPool.trim();
    }
    const ttl = this.options.templateTtlMs;
    this.wheel.take(nowMs, (es) => {
      if (es.gone) return;
      let next = Infinity;
      for (const [dk, dom] of es.domains) {
        for (const tpl of dom.templates.values()) {
          if (nowMs - tpl.lastSeenMs > ttl) {
            this.removeTemplate(tpl as LiveTemplate, dom);
            s.templatesExpired++;
          } else if (tpl.lastSeenMs < next) next = tpl.lastSeenMs;
        }
        // Options state outlives no template: an exporter silent for a whole TTL resends it with its templates.
        if (dom.templates.size === 0) {
          es.domains.delete(dk);
          this.charge(es, -DOMAIN_BYTES - dom.optionBytes);
        }
      }
      if (next !== Infinity) this.wheel.schedule(es, next + ttl);
      this.forgetIfEmpty(es);
    });
  }

  /** Interface name (options field 82) an exporter gave for an ifIndex, v9 source ID or IPFIX domain. */
  interfaceName(exporter: Exporter, sourceId: number, ifIndex: number): string | undefined {
    const es = this.exporters.get(exporter.key);
    if (!es) return undefined;
    return es.domains.get(domainKey(9, sourceId))?.ifNames.get(ifIndex) ?? es.domains.get(domainKey(10, sourceId))?.ifNames.get(ifIndex);
  }

  /** Snapshot of templates and options state, JSON-serialisable. */
  saveTemplates(): SavedTemplates {
    return snapshotOf(this.exporters.values());
  }

  /**
   * Loads a snapshot from saveTemplates(). Loaded templates get a full lifetime from nowMs: the
   * exporter would have refreshed them while we were down had it changed its layout, it would
   * have sent the new one. Throws on a snapshot that is not one of ours.
   */
  loadTemplates(saved: SavedTemplates, nowMs: number): void {
    for (const sd of checkSnapshot(saved)) {
      const address = addressOf(sd.key);
      const es = this.exporterState({ address, port: Number(sd.key.slice(address.length + 1)) || 0, key: sd.key }, nowMs);
      for (const t of sd.templates) this.addTemplate(es, sd.version, sd.sourceId, t.id, t.options, t.fields, nowMs);
      es.newTemplate = false;
      const dom = es.domains.get(domainKey(sd.version, sd.sourceId));
      if (!dom) {
        this.forgetIfEmpty(es);
        continue;
      }
      restoreOptions(dom, sd);
      this.chargeOptions(es, dom);
    }
  }
}
