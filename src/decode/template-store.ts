/**
 * The template store: templates per (exporter address|port, version, source ID / observation
 * domain, template ID), with the same address's template as a fallback (templateScope), and all
 * the state kept per exporter within one byte budget: caps, eviction, expiry, save and load. Held
 * data (held-data.ts) is weighed against the same budget, so the store keeps it and makes room
 * for it.
 *
 * One seam, after goflow2's NetFlowTemplateSystem (get, add and remove a template by version,
 * domain and ID, here one domain key): the set walker finds templates with lookup(), and template
 * sets change them only through roomForTemplate(), addTemplate() and withdraw().
 */
import { DeadlineWheel } from './deadline-wheel.ts';
import type { DecoderOptions } from './decoder-options.ts';
import { EvictionClock } from './eviction-clock.ts';
import {
  AddressState,
  addressKey,
  addressOf,
  DOMAIN_BYTES,
  domainKey,
  ExporterState,
  type LiveTemplate,
  MAX_DOMAINS_PER_EXPORTER,
  OPTION_ENTRY_BYTES,
  templateCost,
  versionOfDomain,
} from './exporter-state.ts';
import { type HeldLedger, HeldData } from './held-data.ts';
import { cachedReader } from './compile.ts';
import { DomainState, MAX_OPTION_ENTRIES } from './options-data.ts';
import type { Exporter } from './record.ts';
import { checkSnapshot, restoreOptions, type SavedTemplates, snapshotOf } from './saved-state.ts';
import type { DecoderStats } from './stats.ts';
import { layoutOf, sharedLayout, type TemplateField, templateSignature } from './template.ts';

/** Siblings whose held data a new template is tried on (an address with thousands of ports must not make each template cost thousands). */
const MAX_SIBLING_REPLAYS = 64;
/** The budget evicts an exporter only after this long without a datagram from it. */
const IDLE_EVICTABLE_MS = 60_000;

export class TemplateStore implements HeldLedger {
  /** Data sets waiting for their templates, weighed against this store's budget. */
  readonly held: HeldData;
  /** The exporter whose datagram (or shared set) is being decoded: never forgotten from under it. */
  inUse: ExporterState | undefined = undefined;
  readonly #options: DecoderOptions;
  readonly #stats: DecoderStats;
  readonly #exporters = new Map<string, ExporterState>();
  readonly #addresses = new Map<string, AddressState>();
  readonly #clock = new EvictionClock();
  readonly #wheel = new DeadlineWheel<ExporterState>();
  #bytes = 0;
  readonly #exporterShare: number;
  readonly #scopeAddress: boolean;
  #changes = 0;

  constructor(options: DecoderOptions, stats: DecoderStats) {
    this.#options = options;
    this.#stats = stats;
    this.#exporterShare = options.exporterShareBytes ?? Math.floor(options.stateBudgetBytes / 16);
    this.#scopeAddress = options.templateScope === 'address';
    this.held = new HeldData(this, options, stats);
  }

  /** Bytes of state kept now, as the budget weighs them. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Templates added, changed or withdrawn, ever: tells a template set that changed state from a refresh. */
  get changes(): number {
    return this.#changes;
  }

  /** The exporter's state, made if new (evicting one past maxExporters); marks it seen. */
  exporter(exporter: Exporter, nowMs: number): ExporterState {
    const { key, address } = exporter;
    let es = this.#exporters.get(key);
    if (es !== undefined) {
      es.touchedMs = nowMs;
      es.referenced = true;
      return es;
    }
    if (this.#exporters.size >= this.#options.maxExporters) {
      const lru = this.#clock.candidate();
      if (lru !== undefined) {
        this.#evict(lru);
        this.#stats.limits.exporters++;
      }
    }
    es = new ExporterState(key, address, exporter);
    es.touchedMs = nowMs;
    this.#exporters.set(key, es);
    this.#clock.append(es);
    let a = this.#addresses.get(address);
    if (a === undefined) {
      a = new AddressState();
      this.#addresses.set(address, a);
    }
    a.sessions.add(es);
    this.#bytes += es.bytes;
    this.#stats.exporters = this.#exporters.size;
    return es;
  }

  /**
   * The template `es` sent for (domain key, ID); else, when `orAddress` and templateScope is
   * 'address', the one another session of its address sent last (counted in templateScopeFallbacks).
   */
  lookup(es: ExporterState, dk: number, id: number, orAddress: boolean): LiveTemplate | undefined {
    const tpl = es.domains.get(dk)?.templates.get(id) as LiveTemplate | undefined;
    if (tpl !== undefined || !orAddress || !this.#scopeAddress) return tpl;
    const t = this.#addresses.get(es.address)?.templates.get(addressKey(dk, id));
    if (t === undefined || t.es === es || t.es.gone || t.es.domains.get(t.dk)?.templates.get(t.id) !== t) return undefined;
    this.#stats.templateScopeFallbacks++;
    return t;
  }

  /** The other sessions of `es`'s address whose held data its new templates may decode, if any. */
  siblings(es: ExporterState): ReadonlySet<ExporterState> | undefined {
    if (!this.#scopeAddress) return undefined;
    const a = this.#addresses.get(es.address);
    return a !== undefined && a.sessions.size > 1 && a.sessions.size <= MAX_SIBLING_REPLAYS ? a.sessions : undefined;
  }

  /** Adds `delta` bytes to an exporter's and the global tally. */
  charge(es: ExporterState, delta: number): void {
    es.bytes += delta;
    this.#bytes += delta;
    this.#stats.stateBytes = this.#bytes;
  }

  /** Sampler / interface-name entries a domain may reach within its exporter's share and the budget. */
  optionEntriesAllowed(es: ExporterState, dom: DomainState): number {
    const room = Math.min(this.#exporterShare - es.bytes, this.#options.stateBudgetBytes - this.#bytes);
    const more = Math.max(0, Math.floor(room / OPTION_ENTRY_BYTES / 2));
    return Math.min(MAX_OPTION_ENTRIES, Math.max(dom.samplers.size, dom.ifNames.size) + more);
  }

  /** Charges what a domain's options state weighs now. */
  chargeOptions(es: ExporterState, dom: DomainState): void {
    const bytes = (dom.samplers.size + dom.ifNames.size) * OPTION_ENTRY_BYTES;
    if (bytes !== dom.optionBytes) {
      this.charge(es, bytes - dom.optionBytes);
      dom.optionBytes = bytes;
    }
  }

  /**
   * Whether a template of `count` fields could be kept, asked before its fields are read: a flood
   * of templates we would refuse then makes no garbage. A template this exporter has already is
   * left to addTemplate (a refresh needs no room).
   */
  roomForTemplate(es: ExporterState, dk: number, id: number, count: number, nowMs: number): boolean {
    const dom = es.domains.get(dk);
    if (dom?.templates.has(id)) return true;
    if (es.templateCount >= this.#options.maxTemplatesPerExporter) {
      this.#stats.limits.templates_per_exporter++;
      return false;
    }
    return this.#makeRoom(es, templateCost(count) + (dom === undefined ? DOMAIN_BYTES : 0), nowMs, false);
  }

  /** A template record read: new, changed or refreshed (same layout: its compiled reader stays). */
  addTemplate(es: ExporterState, dk: number, id: number, options: boolean, fields: TemplateField[], nowMs: number): void {
    const s = this.#stats;
    const o = this.#options;
    if (fields.length > o.maxTemplateFields) {
      s.errors.template_too_large++;
      s.limits.template_fields++;
      return;
    }
    const version = versionOfDomain(dk);
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
      if (this.#scopeAddress) {
        const a = this.#addresses.get(es.address);
        if (a !== undefined && a.sessions.size > 1) a.templates.set(addressKey(dk, id), old);
      }
      return;
    }
    if (!old && es.templateCount >= o.maxTemplatesPerExporter) {
      s.limits.templates_per_exporter++;
      return;
    }
    const bytes = templateCost(fields.length);
    if (!this.#makeRoom(es, bytes - (old?.bytes ?? 0) + (dom === undefined ? DOMAIN_BYTES : 0), nowMs, false)) return;
    if (dom === undefined) {
      dom = new DomainState();
      es.domains.set(dk, dom);
      this.charge(es, DOMAIN_BYTES);
    }
    const layout = sharedLayout(signature, fields);
    const { fixedLength, minLength } = layoutOf(fields);
    // Compiled on first use (see SetWalker), unless this layout was compiled already.
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
    this.#addresses.get(es.address)?.templates.set(addressKey(dk, id), tpl);
    this.#wheel.schedule(es, nowMs + o.templateTtlMs);
    this.#changes++;
    if (!old) s.templates++;
    s.templatesReceived++;
    es.newTemplate = true;
  }

  /** IPFIX withdrawal: template ID 2 (or 3 in an options set) withdraws all of that kind. */
  withdraw(es: ExporterState, dk: number, id: number, options: boolean): void {
    const dom = es.domains.get(dk);
    if (!dom) return;
    const all = id === (options ? 3 : 2);
    for (const [tid, tpl] of dom.templates) {
      if (all ? tpl.options === options : tid === id) {
        this.#removeTemplate(tpl as LiveTemplate, dom);
        this.#changes++;
        this.#stats.templatesWithdrawn++;
      }
    }
    if (dom.templates.size === 0 && dom.ifNames.size === 0 && dom.samplers.size === 0 && dom.defaultRate === 1 && dom.initMs === 0) {
      es.domains.delete(dk);
      this.charge(es, -DOMAIN_BYTES - dom.optionBytes);
    }
  }

  /** Room for a held set: see #makeRoom. */
  roomForHeld(es: ExporterState, weight: number, nowMs: number): boolean {
    return this.#makeRoom(es, weight, nowMs, true);
  }

  /**
   * Makes room for `need` more bytes of `es`'s state: within its share (for a held set, by
   * dropping its own older held sets first), then within the budget by dropping the oldest held
   * data of anyone, then, for a template, by evicting exporters idle for IDLE_EVICTABLE_MS (a few
   * at most, never `es`; held data never evicts anyone). False when there is still no room: the
   * caller refuses.
   */
  #makeRoom(es: ExporterState, need: number, nowMs: number, forHeld: boolean): boolean {
    if (need <= 0) return true;
    const s = this.#stats;
    if (forHeld) {
      while (es.bytes + need > this.#exporterShare && es.pending.length > 0) {
        s.limits.exporter_share++;
        this.held.dropOwnOldest(es);
      }
    }
    if (es.bytes + need > this.#exporterShare) {
      s.limits.exporter_share++;
      return false;
    }
    const budget = this.#options.stateBudgetBytes;
    if (this.#bytes + need <= budget) return true;
    s.limits.state_budget++;
    while (this.#bytes + need > budget && this.held.dropOldest()) {}
    // Only exporters silent for a while: under a flood, active ones (the good ones among them) keep
    // what they have, and newcomers are refused until the flood's state expires or goes idle.
    for (let evictions = 0; !forHeld && this.#bytes + need > budget && evictions < 4; evictions++) {
      const lru = this.#clock.candidate();
      if (lru === undefined || lru === es || nowMs - lru.touchedMs < IDLE_EVICTABLE_MS) break;
      this.#evict(lru);
    }
    return this.#bytes + need <= budget;
  }

  /** An exporter with no templates, options state or held data costs nothing to forget. */
  forgetIfEmpty(es: ExporterState): void {
    if (es.domains.size === 0 && es.pending.length === 0 && !es.gone && es !== this.inUse) this.#forget(es);
  }

  /**
   * Drops held data older than pendingMaxAgeMs and templates not refreshed within templateTtlMs.
   * Costs what is due, not what is kept: held data waits in one queue in arrival order, and each
   * exporter in the deadline wheel at its earliest template deadline.
   */
  expire(nowMs: number): void {
    this.held.expire(nowMs);
    const s = this.#stats;
    const ttl = this.#options.templateTtlMs;
    this.#wheel.take(nowMs, (es) => {
      if (es.gone) return;
      let next = Infinity;
      for (const [dk, dom] of es.domains) {
        for (const tpl of dom.templates.values()) {
          if (nowMs - tpl.lastSeenMs > ttl) {
            this.#removeTemplate(tpl as LiveTemplate, dom);
            s.templatesExpired++;
          } else if (tpl.lastSeenMs < next) next = tpl.lastSeenMs;
        }
        // Options state outlives no template: an exporter silent for a whole TTL resends it with its templates.
        if (dom.templates.size === 0) {
          es.domains.delete(dk);
          this.charge(es, -DOMAIN_BYTES - dom.optionBytes);
        }
      }
      if (next !== Infinity) this.#wheel.schedule(es, next + ttl);
      this.forgetIfEmpty(es);
    });
  }

  /** Interface name (options field 82) an exporter gave for an ifIndex, v9 source ID or IPFIX domain. */
  interfaceName(exporter: Exporter, sourceId: number, ifIndex: number): string | undefined {
    const es = this.#exporters.get(exporter.key);
    if (!es) return undefined;
    return es.domains.get(domainKey(9, sourceId))?.ifNames.get(ifIndex) ?? es.domains.get(domainKey(10, sourceId))?.ifNames.get(ifIndex);
  }

  save(): SavedTemplates {
    return snapshotOf(this.#exporters.values());
  }

  /** Loads a snapshot, checked whole first; its templates get a full lifetime from nowMs. */
  load(saved: SavedTemplates, nowMs: number): void {
    for (const sd of checkSnapshot(saved)) {
      const address = addressOf(sd.key);
      const es = this.exporter({ address, port: Number(sd.key.slice(address.length + 1)) || 0, key: sd.key }, nowMs);
      const dk = domainKey(sd.version, sd.sourceId);
      for (const t of sd.templates) this.addTemplate(es, dk, t.id, t.options, t.fields, nowMs);
      es.newTemplate = false;
      const dom = es.domains.get(dk);
      if (!dom) {
        this.forgetIfEmpty(es);
        continue;
      }
      restoreOptions(dom, sd);
      this.chargeOptions(es, dom);
    }
  }

  /** Takes a template out of its domain and the address index; the caller counts why. */
  #removeTemplate(tpl: LiveTemplate, dom: DomainState): void {
    const es = tpl.es;
    dom.templates.delete(tpl.id);
    es.templateCount--;
    this.charge(es, -tpl.bytes);
    this.#stats.templates--;
    const a = this.#addresses.get(es.address);
    const k = addressKey(tpl.dk, tpl.id);
    if (a !== undefined && a.templates.get(k) === tpl) a.templates.delete(k);
  }

  #forget(es: ExporterState): void {
    es.gone = true;
    this.#exporters.delete(es.key);
    this.#clock.remove(es);
    this.#wheel.remove(es);
    const a = this.#addresses.get(es.address);
    if (a !== undefined) {
      a.sessions.delete(es);
      if (a.sessions.size === 0) this.#addresses.delete(es.address);
    }
    this.#bytes -= es.bytes;
    es.bytes = 0;
    this.#stats.stateBytes = this.#bytes;
    this.#stats.exporters = this.#exporters.size;
  }

  /** Drops everything an exporter holds, counted, then forgets it. */
  #evict(es: ExporterState): void {
    this.held.dropAll(es);
    for (const dom of es.domains.values()) {
      for (const tpl of dom.templates.values()) {
        this.#removeTemplate(tpl as LiveTemplate, dom);
        this.#stats.templatesEvicted++;
      }
    }
    es.domains.clear();
    this.#forget(es);
  }
}
