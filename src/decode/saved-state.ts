/**
 * The decoder's state as it leaves a decoder: a set handed to the other receiving threads
 * (SharedSet), and the JSON snapshot of templates and options state written to disk
 * (SavedTemplates): checked, restored, taken and merged without a decoder.
 */
import { DEFAULT_DECODER_OPTIONS } from './decoder-options.ts';
import { domainKey, MAX_DOMAINS_PER_EXPORTER, sourceIdOfDomain, versionOfDomain } from './exporter-state.ts';
import { MAX_OPTION_ENTRIES } from './options-data.ts';
import { type TemplateField, templateSignature } from './template.ts';

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

/** One domain of a snapshot, checked: what loading it needs, in the snapshot's order. */
export interface CheckedDomain {
  /** The exporter's key (`address|port`). */
  key: string;
  version: 9 | 10;
  sourceId: number;
  templates: { id: number; options: boolean; fields: TemplateField[] }[];
  /** Options state as saved: restoreOptions() takes what is usable. */
  defaultRate: unknown;
  initMs: unknown;
  samplers: [number, unknown][];
  ifNames: [number, unknown][];
}

/**
 * Checks a snapshot from saveTemplates() whole, before any of it is used, so a bad snapshot
 * changes nothing. Throws on a snapshot that is not one of ours.
 */
export function checkSnapshot(saved: SavedTemplates): CheckedDomain[] {
  if (saved?.format !== 'netflow-k8s-templates' || saved.formatVersion !== 1 || !Array.isArray(saved.exporters)) {
    throw new Error('not a netflow-k8s template snapshot (format netflow-k8s-templates, formatVersion 1)');
  }
  const out: CheckedDomain[] = [];
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
      out.push({
        key: se.key,
        version: sd.version,
        sourceId: sd.sourceId,
        templates,
        defaultRate: sd.defaultRate,
        initMs: sd.initMs,
        samplers,
        ifNames,
      });
    }
  }
  return out;
}

/** Options state as a domain keeps it (DomainState's shape). */
export interface OptionsState {
  defaultRate: number;
  initMs: number;
  readonly samplers: Map<number, number>;
  readonly ifNames: Map<number, string>;
}

/** Puts a checked domain's usable options state into `dom`, within MAX_OPTION_ENTRIES. */
export function restoreOptions(dom: OptionsState, saved: CheckedDomain): void {
  if (typeof saved.defaultRate === 'number' && saved.defaultRate > 0) dom.defaultRate = saved.defaultRate;
  if (typeof saved.initMs === 'number' && saved.initMs >= 0) dom.initMs = saved.initMs;
  for (const [id, rate] of saved.samplers)
    if (typeof rate === 'number' && rate > 0 && dom.samplers.size < MAX_OPTION_ENTRIES) dom.samplers.set(id, rate);
  for (const [ifIndex, name] of saved.ifNames) if (dom.ifNames.size < MAX_OPTION_ENTRIES) dom.ifNames.set(ifIndex, String(name));
}

/** What a snapshot is taken of: an exporter's domains by domain key (ExporterState's shape). */
export interface SnapshotSource {
  readonly key: string;
  readonly domains: ReadonlyMap<number, SnapshotDomain>;
}

interface SnapshotDomain extends Readonly<OptionsState> {
  readonly templates: ReadonlyMap<number, { readonly id: number; readonly options: boolean; readonly fields: readonly TemplateField[] }>;
}

/** The JSON snapshot of exporters' templates and options state; an exporter without a domain is left out. */
export function snapshotOf(exporters: Iterable<SnapshotSource>): SavedTemplates {
  const out: SavedExporter[] = [];
  for (const { key, domains: live } of exporters) {
    const domains: SavedDomain[] = [];
    for (const [dk, dom] of live) {
      domains.push({
        version: versionOfDomain(dk),
        sourceId: sourceIdOfDomain(dk),
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
    if (domains.length > 0) out.push({ key, domains });
  }
  return { format: 'netflow-k8s-templates', formatVersion: 1, exporters: out };
}

/** A domain as a merge keeps it: a template by ID, with its signature to tell a refresh from a change. */
class MergedDomain implements SnapshotDomain {
  readonly templates = new Map<number, { id: number; options: boolean; fields: readonly TemplateField[]; signature: string }>();
  readonly samplers = new Map<number, number>();
  readonly ifNames = new Map<number, string>();
  defaultRate = 1;
  initMs = 0;
}

/**
 * The union of several snapshots, later ones winning where two hold the same template: what a
 * decoder without a state budget would save after loading them in order (the same caps on fields,
 * domains and options entries, the same order). Throws on a snapshot that is not one of ours.
 */
export function mergeSavedTemplates(
  snapshots: readonly unknown[],
  maxTemplateFields = DEFAULT_DECODER_OPTIONS.maxTemplateFields,
): SavedTemplates {
  const exporters = new Map<string, { key: string; domains: Map<number, MergedDomain> }>();
  for (const snapshot of snapshots) {
    if (snapshot === undefined) continue;
    for (const saved of checkSnapshot(snapshot as SavedTemplates)) {
      let e = exporters.get(saved.key);
      if (e === undefined) exporters.set(saved.key, (e = { key: saved.key, domains: new Map() }));
      const dk = domainKey(saved.version, saved.sourceId);
      for (const t of saved.templates) {
        let dom = e.domains.get(dk);
        if (t.fields.length > maxTemplateFields || (dom === undefined && e.domains.size >= MAX_DOMAINS_PER_EXPORTER)) continue;
        const signature = templateSignature(saved.version, t.options, t.fields);
        if (dom?.templates.get(t.id)?.signature === signature) continue;
        if (dom === undefined) e.domains.set(dk, (dom = new MergedDomain()));
        dom.templates.set(t.id, { ...t, signature });
      }
      const dom = e.domains.get(dk);
      if (dom !== undefined) restoreOptions(dom, saved);
      else if (e.domains.size === 0) exporters.delete(saved.key);
    }
  }
  return snapshotOf(exporters.values());
}
