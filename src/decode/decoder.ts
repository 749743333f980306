/**
 * The decoder: NetFlow v5, v9 (RFC 3954) and IPFIX (RFC 7011) datagrams in, flow records out.
 * Pure: no I/O and no clock; the caller passes the time with every call.
 *
 * Templates are keyed by (exporter address|port, version, source ID / observation domain,
 * template ID). Every set in a datagram is decoded, whatever the header's count says (as nfdump
 * does). Data that arrives before its template is held per exporter and decoded when the
 * template comes. Every length is checked before it is read; what cannot be read is counted in
 * `stats.errors` by reason and skipped. See stats.ts for how the counters add up.
 */
import { FlowRecord, type Exporter, type RecordSink } from './record.ts';
import { newStats, totalErrors, type DecoderStats } from './stats.ts';
import { cachedReader, compileReader, ReadContext } from './compile.ts';
import { interpretSet, makePlan } from './interpret.ts';
import { DomainState, MAX_OPTION_ENTRIES, readOptionsData } from './options-data.ts';
import { layoutOf, templateSignature, type Template, type TemplateField } from './template.ts';
import { decodeV5 } from './v5.ts';

export interface DecoderOptions {
  /** A template not refreshed for this long expires (ipt-netflow refreshes every 30 min). */
  templateTtlMs: number;
  /**
   * Held data per exporter while waiting for its template, in records. The record length is
   * unknown until the template arrives, so a held set counts as ceil(bytes / 40) records
   * (40 bytes: ipt-netflow's IPv4 record); that also bounds held memory to about 40 × this.
   */
  pendingMaxRecords: number;
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
}

export const DEFAULT_DECODER_OPTIONS: Readonly<DecoderOptions> = Object.freeze({
  templateTtlMs: 2 * 3600_000,
  pendingMaxRecords: 10_000,
  pendingMaxAgeMs: 30_000,
  sampling: 'rfc',
  compilesPerDatagram: 8,
});

/** Bytes a held set counts as one record towards pendingMaxRecords. */
export const HELD_RECORD_BYTES = 40;

/**
 * A set that changed a decoder's state: templates and options templates (new, changed or
 * withdrawn) and options data that changed a sampling rate, an interface name or the init time.
 * When one exporter's datagrams are spread over several receiving threads, each thread hands
 * these to the others (Decoder.onShare → Decoder.applyShared), so every thread can decode every
 * datagram of the exporter and applies the same sampling. Only sets read without an error are
 * shared, so nothing is counted twice as malformed.
 */
export interface SharedSet {
  version: 9 | 10;
  sourceId: number;
  /** As sent: 0/1 (v9) or 2/3 (IPFIX) for template sets; an options template's ID for options data. */
  setId: number;
  /** The set's body, after its 4-byte header (a copy). */
  body: Uint8Array;
  baseMs: number;
  uptime: number;
}

/** JSON form of the decoder's state: templates plus what options data taught us. */
export interface SavedTemplates {
  format: 'netflow-k8s-templates';
  formatVersion: 1;
  exporters: SavedExporter[];
}

export interface SavedExporter {
  key: string;
  domains: SavedDomain[];
}

export interface SavedDomain {
  version: 9 | 10;
  sourceId: number;
  templates: { id: number; options: boolean; fields: [type: number, length: number, enterprise: number, scope: 0 | 1][] }[];
  defaultRate: number;
  samplers: [id: number, rate: number][];
  initMs: number;
  ifNames: [ifIndex: number, name: string][];
}

interface Held {
  version: 9 | 10;
  sourceId: number;
  setId: number;
  data: Uint8Array;
  baseMs: number;
  uptime: number;
  arrivedMs: number;
  weight: number;
}

class ExporterState {
  readonly domains = new Map<number, DomainState>();
  pending: Held[] = [];
  pendingWeight = 0;
  /** A template arrived in the current datagram: held data may now be decodable. */
  newTemplate = false;
}

/** v9 and IPFIX domains with the same number are different scopes. */
const domainKey = (version: number, sourceId: number): number => sourceId * 2 + (version === 10 ? 1 : 0);

/** Caps on state an exporter can make us keep (a hostile one must not exhaust memory). */
const MAX_TEMPLATES_PER_DOMAIN = 4096;
const MAX_DOMAINS_PER_EXPORTER = 1024;

export class Decoder {
  readonly stats: DecoderStats = newStats();
  readonly options: DecoderOptions;
  /** The last exception caught (a bug or a sink that threw), for debugging. */
  lastException: unknown = undefined;

  private readonly sink: RecordSink;
  private readonly rec = new FlowRecord();
  private readonly ctx = new ReadContext();
  private readonly exporters = new Map<string, ExporterState>();
  private compileBudget = 0;
  /** Told of every set that changed this decoder's state (see SharedSet); unset, nothing is shared. */
  onShare: ((exporter: Exporter, set: SharedSet) => void) | undefined = undefined;
  /** Templates added, changed or withdrawn, ever: tells a template set that changed state from a refresh. */
  private templateChanges = 0;
  /** Inside applyShared: what another thread shared is not shared back. */
  private applying = false;

  constructor(sink: RecordSink, options?: Partial<DecoderOptions>) {
    this.sink = sink;
    this.options = { ...DEFAULT_DECODER_OPTIONS, ...options };
  }

  /** Decodes one datagram. Never throws, whatever the bytes. */
  decode(datagram: Uint8Array, exporter: Exporter, nowMs: number): void {
    const s = this.stats;
    s.datagrams++;
    this.compileBudget = this.options.compilesPerDatagram;
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

  private exporterState(key: string): ExporterState {
    let es = this.exporters.get(key);
    if (!es) {
      es = new ExporterState();
      this.exporters.set(key, es);
    }
    return es;
  }

  private domain(es: ExporterState, version: 9 | 10, sourceId: number): DomainState | undefined {
    const key = domainKey(version, sourceId);
    let d = es.domains.get(key);
    if (!d && es.domains.size < MAX_DOMAINS_PER_EXPORTER) {
      d = new DomainState();
      es.domains.set(key, d);
    }
    return d;
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
    const es = this.exporterState(exporter.key);
    const tplSet = version === 9 ? 0 : 2;
    const optSet = version === 9 ? 1 : 3;
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
        const dom = es.domains.get(domainKey(version, sourceId));
        const tpl = dom?.templates.get(setId);
        if (dom && tpl) {
          if (this.decodeData(tpl, dom, v, u, body, setEnd, version, exporter, sourceId, baseMs, uptime)) s.setsDecoded++;
        } else {
          s.templateMisses++;
          // A copy (Buffer#slice would be a view): the caller may reuse its buffer.
          this.hold(es, { version, sourceId, setId, data: Uint8Array.prototype.slice.call(u, body, setEnd), baseMs, uptime, arrivedMs: nowMs, weight: 0 });
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
    if (es.newTemplate) {
      es.newTemplate = false;
      if (es.pending.length > 0) this.replayHeld(es, exporter, nowMs);
    }
  }

  /** Decodes one data set with its template. False when the template cannot give records. */
  private decodeData(
    tpl: Template,
    dom: DomainState,
    v: DataView,
    u: Uint8Array,
    body: number,
    setEnd: number,
    version: 9 | 10,
    exporter: Exporter,
    sourceId: number,
    baseMs: number,
    uptime: number,
  ): boolean {
    const s = this.stats;
    if (tpl.minLength === 0) {
      s.errors.zero_length_record++;
      return false;
    }
    if (tpl.options) {
      const changes = dom.changes;
      const res = readOptionsData(tpl, dom, v, u, body, setEnd, this.options.sampling === 'nfdump');
      s.optionsRecords += res.records;
      if (res.truncated) s.errors.truncated_record++;
      else if (this.onShare !== undefined && !this.applying && dom.changes !== changes) {
        this.onShare(exporter, { version, sourceId, setId: tpl.id, body: Uint8Array.prototype.slice.call(u, body, setEnd), baseMs, uptime });
      }
      return true;
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
      reader = tpl.reader = compileReader(version, tpl.signature, tpl.fields);
    }
    let n: number;
    if (reader) n = reader(v, u, body, setEnd, this.rec, this.sink, c);
    else {
      s.setsInterpreted++;
      n = interpretSet((tpl.plan ??= makePlan(version, tpl.fields)), v, u, body, setEnd, this.rec, this.sink, c);
    }
    if (version === 9) s.records.v9 += n;
    else s.records.ipfix += n;
    if (c.truncated) s.errors.truncated_record++;
    return true;
  }

  private readTemplateSet(es: ExporterState, v: DataView, body: number, setEnd: number, version: 9 | 10, options: boolean, sourceId: number, nowMs: number): void {
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
    const es = this.exporterState(exporter.key);
    this.applying = true;
    try {
      const v = new DataView(set.body.buffer, set.body.byteOffset, set.body.byteLength);
      const tplSet = set.version === 9 ? 0 : 2;
      const optSet = set.version === 9 ? 1 : 3;
      if (set.setId === tplSet || set.setId === optSet) {
        this.readTemplateSet(es, v, 0, set.body.length, set.version, set.setId === optSet, set.sourceId, nowMs);
      } else {
        const dom = es.domains.get(domainKey(set.version, set.sourceId));
        const tpl = dom?.templates.get(set.setId);
        if (dom && tpl?.options) this.decodeData(tpl, dom, v, set.body, 0, set.body.length, set.version, exporter, set.sourceId, set.baseMs, set.uptime);
      }
    } finally {
      this.applying = false;
      s.templatesReceived = received;
      s.optionsRecords = optionsRecords;
    }
    // Held data is this thread's own: counted here, and options it teaches are shared as usual.
    if (es.newTemplate) {
      es.newTemplate = false;
      if (es.pending.length > 0) this.replayHeld(es, exporter, nowMs);
    }
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
    while (p + 4 <= end) {
      const id = v.getUint16(p);
      const count = v.getUint16(p + 2);
      if (id === 0 && count === 0) break; // padding
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
      const fields: TemplateField[] = [];
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
        fields.push({ type, length, enterprise, scope: i < scopeCount });
      }
      if (id < 256 || scopeCount > count) {
        s.errors.bad_template++;
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
      p += 6;
      if (scopeLen % 4 !== 0 || optLen % 4 !== 0) {
        s.errors.bad_template++;
        return;
      }
      if (p + scopeLen + optLen > end) {
        s.errors.template_overflow++;
        return;
      }
      const fields: TemplateField[] = [];
      const nScope = scopeLen / 4;
      const n = nScope + optLen / 4;
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
    const dom = this.domain(es, version, sourceId);
    if (!dom) {
      s.errors.bad_template++;
      return;
    }
    const signature = templateSignature(version, options, fields);
    const old = dom.templates.get(id);
    if (old && old.signature === signature) {
      // A refresh: keep the compiled reader, just extend its life.
      old.lastSeenMs = nowMs;
      s.templatesReceived++;
      return;
    }
    if (!old && dom.templates.size >= MAX_TEMPLATES_PER_DOMAIN) {
      s.errors.bad_template++;
      return;
    }
    const { fixedLength, minLength } = layoutOf(version, fields);
    // Compiled on first use (see decodeData), unless this layout was compiled already.
    const reader = options || minLength === 0 ? undefined : cachedReader(signature);
    dom.templates.set(id, { version, id, options, fields, fixedLength, minLength, signature, lastSeenMs: nowMs, reader, plan: undefined });
    this.templateChanges++;
    if (!old) s.templates++;
    s.templatesReceived++;
    es.newTemplate = true;
  }

  /** IPFIX withdrawal: template ID 2 (or 3 in an options set) withdraws all of that kind. */
  private withdraw(es: ExporterState, sourceId: number, id: number, options: boolean): void {
    const dom = es.domains.get(domainKey(10, sourceId));
    if (!dom) return;
    const all = id === (options ? 3 : 2);
    for (const [tid, tpl] of dom.templates) {
      if (all ? tpl.options === options : tid === id) {
        dom.templates.delete(tid);
        this.templateChanges++;
        this.stats.templates--;
        this.stats.templatesWithdrawn++;
      }
    }
  }

  private hold(es: ExporterState, h: Held): void {
    const s = this.stats;
    const o = this.options;
    h.weight = Math.max(1, Math.ceil(h.data.length / HELD_RECORD_BYTES));
    s.held++;
    s.pending++;
    this.dropOld(es, h.arrivedMs);
    es.pending.push(h);
    es.pendingWeight += h.weight;
    while (es.pendingWeight > o.pendingMaxRecords && es.pending.length > 0) this.dropFirst(es);
  }

  private dropFirst(es: ExporterState): void {
    const h = es.pending.shift()!;
    es.pendingWeight -= h.weight;
    this.stats.pending--;
    this.stats.heldDropped++;
  }

  private dropOld(es: ExporterState, nowMs: number): void {
    const maxAge = this.options.pendingMaxAgeMs;
    while (es.pending.length > 0 && nowMs - es.pending[0].arrivedMs > maxAge) this.dropFirst(es);
  }

  private replayHeld(es: ExporterState, exporter: Exporter, nowMs: number): void {
    const s = this.stats;
    this.dropOld(es, nowMs);
    const waiting: Held[] = [];
    const ready: [Held, Template, DomainState][] = [];
    for (const h of es.pending) {
      const dom = es.domains.get(domainKey(h.version, h.sourceId));
      const tpl = dom?.templates.get(h.setId);
      if (dom && tpl) ready.push([h, tpl, dom]);
      else waiting.push(h);
    }
    if (ready.length === 0) return;
    es.pending = waiting;
    for (const [h, tpl, dom] of ready) {
      es.pendingWeight -= h.weight;
      s.pending--;
      s.heldDecoded++;
      const v = new DataView(h.data.buffer, h.data.byteOffset, h.data.byteLength);
      if (this.decodeData(tpl, dom, v, h.data, 0, h.data.length, h.version, exporter, h.sourceId, h.baseMs, h.uptime)) s.setsDecoded++;
    }
  }

  /** Drops held data older than pendingMaxAgeMs and templates not refreshed within templateTtlMs. */
  expire(nowMs: number): void {
    const s = this.stats;
    const ttl = this.options.templateTtlMs;
    for (const [key, es] of this.exporters) {
      this.dropOld(es, nowMs);
      for (const [dk, dom] of es.domains) {
        for (const [id, tpl] of dom.templates) {
          if (nowMs - tpl.lastSeenMs > ttl) {
            dom.templates.delete(id);
            s.templates--;
            s.templatesExpired++;
          }
        }
        if (dom.templates.size === 0 && dom.ifNames.size === 0 && dom.samplers.size === 0 && dom.defaultRate === 1 && dom.initMs === 0) {
          es.domains.delete(dk);
        }
      }
      if (es.domains.size === 0 && es.pending.length === 0) this.exporters.delete(key);
    }
  }

  /** Interface name (options field 82) an exporter gave for an ifIndex, v9 source ID or IPFIX domain. */
  interfaceName(exporter: Exporter, sourceId: number, ifIndex: number): string | undefined {
    const es = this.exporters.get(exporter.key);
    if (!es) return undefined;
    return es.domains.get(domainKey(9, sourceId))?.ifNames.get(ifIndex) ?? es.domains.get(domainKey(10, sourceId))?.ifNames.get(ifIndex);
  }

  /**
   * A rough size of the state exporters made this decoder keep (templates, options state, held
   * data), for self-metrics: what one thread's memory is spent on. An estimate, not a count.
   */
  stateBytes(): number {
    let n = 0;
    for (const es of this.exporters.values()) {
      n += 200;
      for (const h of es.pending) n += 100 + h.data.byteLength;
      for (const dom of es.domains.values()) {
        n += 200 + 64 * (dom.ifNames.size + dom.samplers.size);
        for (const t of dom.templates.values()) n += 500 + 100 * t.fields.length;
      }
    }
    return n;
  }

  /** Snapshot of templates and options state, JSON-serialisable. */
  saveTemplates(): SavedTemplates {
    const exporters: SavedExporter[] = [];
    for (const [key, es] of this.exporters) {
      const domains: SavedDomain[] = [];
      for (const [dk, dom] of es.domains) {
        domains.push({
          version: dk % 2 === 1 ? 10 : 9,
          sourceId: Math.floor(dk / 2),
          templates: [...dom.templates.values()].map((t) => ({
            id: t.id,
            options: t.options,
            fields: t.fields.map((f) => [f.type, f.length, f.enterprise, f.scope ? 1 : 0] as [number, number, number, 0 | 1]),
          })),
          defaultRate: dom.defaultRate,
          samplers: [...dom.samplers],
          initMs: dom.initMs,
          ifNames: [...dom.ifNames],
        });
      }
      if (domains.length > 0) exporters.push({ key, domains });
    }
    return { format: 'netflow-k8s-templates', formatVersion: 1, exporters };
  }

  /**
   * Loads a snapshot from saveTemplates(). Loaded templates get a full lifetime from nowMs: the
   * exporter would have refreshed them while we were down had it changed its layout, it would
   * have sent the new one. Throws on a snapshot that is not one of ours.
   */
  loadTemplates(saved: SavedTemplates, nowMs: number): void {
    // Check everything first, so a bad snapshot changes nothing.
    const apply: (() => void)[] = [];
    if (!saved || saved.format !== 'netflow-k8s-templates' || saved.formatVersion !== 1 || !Array.isArray(saved.exporters)) {
      throw new Error('not a netflow-k8s template snapshot (format netflow-k8s-templates, formatVersion 1)');
    }
    const isUint = (x: unknown, max: number): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= max;
    for (const se of saved.exporters) {
      if (!se || typeof se.key !== 'string' || !Array.isArray(se.domains)) throw new Error('template snapshot: bad exporter entry');
      for (const sd of se.domains) {
        if (!sd || (sd.version !== 9 && sd.version !== 10) || !isUint(sd.sourceId, 0xffffffff) || !Array.isArray(sd.templates)) {
          throw new Error(`template snapshot: bad domain entry for exporter ${se.key}`);
        }
        const templates = sd.templates.map((t) => {
          if (!t || !isUint(t.id, 0xffff) || t.id < 256 || !Array.isArray(t.fields)) {
            throw new Error(`template snapshot: bad template entry for exporter ${se.key}`);
          }
          const fields: TemplateField[] = t.fields.map((f) => {
            if (!Array.isArray(f) || !isUint(f[0], 0xffff) || !isUint(f[1], 0xffff) || !isUint(f[2], 0xffffffff)) {
              throw new Error(`template snapshot: bad field in template ${t.id} of exporter ${se.key}`);
            }
            return { type: f[0], length: f[1], enterprise: f[2], scope: f[3] === 1 };
          });
          return { id: t.id, options: t.options === true, fields };
        });
        const pairs = (list: unknown, what: string): [number, unknown][] => {
          if (list === undefined) return [];
          if (!Array.isArray(list) || !list.every((x) => Array.isArray(x) && isUint(x[0], 0xffffffff))) {
            throw new Error(`template snapshot: bad ${what} for exporter ${se.key}`);
          }
          return list as [number, unknown][];
        };
        const samplers = pairs(sd.samplers, 'samplers');
        const ifNames = pairs(sd.ifNames, 'interface names');
        apply.push(() => {
          const es = this.exporterState(se.key);
          const dom = this.domain(es, sd.version, sd.sourceId);
          if (!dom) return;
          for (const t of templates) this.addTemplate(es, sd.version, sd.sourceId, t.id, t.options, t.fields, nowMs);
          es.newTemplate = false;
          if (typeof sd.defaultRate === 'number' && sd.defaultRate > 0) dom.defaultRate = sd.defaultRate;
          if (typeof sd.initMs === 'number' && sd.initMs >= 0) dom.initMs = sd.initMs;
          for (const [id, rate] of samplers) if (typeof rate === 'number' && rate > 0 && dom.samplers.size < MAX_OPTION_ENTRIES) dom.samplers.set(id, rate);
          for (const [ifIndex, name] of ifNames) if (dom.ifNames.size < MAX_OPTION_ENTRIES) dom.ifNames.set(ifIndex, String(name));
        });
      }
    }
    for (const f of apply) f();
  }
}
