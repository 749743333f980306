/**
 * `/metrics/otel`: the store and the self-metrics in OpenTelemetry conventions, rendered in the
 * text of the official `@opentelemetry/exporter-prometheus` (0.301, default options: target_info,
 * otel_scope_* labels, `_total` on monotonic sums, dots as underscores, `# UNIT` lines) but
 * straight from the store. The official path builds three data-point objects per pair, then an
 * attribute string per data point on every scrape: 1.2 to 3.9 s and +125 MiB for 20,000 pairs.
 * Here each end's label text is built once (flat), a pair's line is joined from its ends' text and
 * a tail shared by its dimensions, written to the socket in pieces. It loads no OpenTelemetry package.
 * test/export/otel-prometheus-text.test.ts keeps the official exporter as the reference and checks
 * the two pages byte for byte.
 */
import type { ServerResponse } from 'node:http';
import type { End, Pair, PairStore } from '../../aggregate/pair-store.ts';
import type { MetricsRegistry } from '../../observe/metrics.ts';
import { CONNECTION_METRICS, SCOPE, ownAttributes, pairAttributes, type PairAttributes } from './attributes.ts';
import type { Prices } from '../../config/prices.ts';
import { zoneSeries } from './zone-series.ts';

/** The official exporter's content type (no version, no charset). */
export const OTEL_PAGE_CONTENT_TYPE = 'text/plain';

// The exporter's own escaping and naming rules, copied so the output matches it exactly.
const escapeString = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeValue = (v: unknown): string => escapeString(typeof v === 'string' ? v : String(JSON.stringify(v))).replace(/"/g, '\\"');
/** What escapeValue changes in a string. */
const NEEDS_ESCAPE = /[\\\n"]/;
const sanitize = (name: string): string => name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');

/**
 * `k="v",...` without braces. Joined from an array, so the result is one flat string: built with
 * `+=` it was a rope of some thirty nodes (about 1 KiB of heap for 150 characters), and it is kept.
 */
function labelList(attributes: Readonly<Record<string, unknown>>, extra: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(attributes)) parts.push(`${sanitize(k)}="${escapeValue(v)}"`);
  for (const [k, v] of Object.entries(extra)) parts.push(`${sanitize(k)}="${escapeValue(v)}"`);
  return parts.join(',');
}

function labelText(attributes: Readonly<Record<string, unknown>>, extra: Readonly<Record<string, unknown>>): string {
  const list = labelList(attributes, extra);
  return list.length > 0 ? ['{', list, '}'].join('') : '';
}

function metricName(otelName: string, monotonicSum: boolean): string {
  let name = sanitize(escapeString(otelName));
  if (name[0] >= '0' && name[0] <= '9') name = `_${name}`;
  return monotonicSum && !name.endsWith('_total') ? `${name}_total` : name;
}

function head(name: string, help: string, unit: string, type: string): string {
  const unitLine = unit ? `# UNIT ${name} ${escapeString(unit)}\n` : '';
  return `# HELP ${name} ${escapeString(help || 'description missing')}\n${unitLine}# TYPE ${name} ${type}\n`;
}

const STORE_SCOPE_LABELS = { 'otel.scope.name': SCOPE.name, 'otel.scope.version': SCOPE.version };
const SELF_SCOPE_LABELS = { 'otel.scope.name': `${SCOPE.name}.self`, 'otel.scope.version': SCOPE.version };

export interface OtelPageOptions {
  store: PairStore;
  /** The resource's attributes, for target_info. */
  resourceAttributes: Readonly<Record<string, unknown>>;
  /** Self-metrics on the same page. */
  registry?: MetricsRegistry;
  /** Prices for the zone cost family (--prices); without, no cost family. */
  prices?: Prices;
}

/** About this many characters per piece written to the socket. */
const CHUNK_CHARS = 64 * 1024;

export class OtelPrometheusText {
  readonly #store: PairStore;
  readonly #registry: MetricsRegistry | undefined;
  readonly #prices: Prices | undefined;
  readonly #target: string;
  readonly #heads: string[];
  readonly #names: string[];
  /** Label text of each end, as source and as destination; many pairs share an end. */
  readonly #endText = new WeakMap<End, [src: string, dst: string]>();
  /** The text after the ends (direction, transport, port, scope), by packed dimensions; -1: the overflow pair's. */
  readonly #tails = new Map<number, string>();
  /** Attribute keys as label names (a handful: the zone families'). */
  readonly #labelNames = new Map<string, string>();
  /** `,otel_scope_name="...",otel_scope_version="..."`: what ends every store series' labels. */
  readonly #scopeTail = `,${labelList(STORE_SCOPE_LABELS, {})}`;

  constructor(opts: OtelPageOptions) {
    this.#store = opts.store;
    this.#registry = opts.registry;
    this.#prices = opts.prices;
    this.#target = `${head('target_info', 'Target metadata', '', 'gauge')}target_info${labelText(opts.resourceAttributes, {})} 1\n`;
    this.#names = CONNECTION_METRICS.map((m) => metricName(m.name, true));
    this.#heads = CONNECTION_METRICS.map((m, i) => head(this.#names[i], m.description, m.unit, 'counter'));
  }

  /** The whole page, as the official exporter would serve it for the same store and registry. */
  render(): string {
    let out = '';
    for (const c of this.chunks()) out += c;
    return out;
  }

  /**
   * Writes the page to an HTTP response piece by piece, waiting whenever the socket is behind, so
   * a page of 30 MB never sits in memory whole and merges and OTLP run between the pieces. The
   * pairs are the ones in the store when the scrape began; their counts are read as each line is
   * written.
   */
  async write(res: ServerResponse): Promise<void> {
    for (const c of this.chunks()) {
      if (res.destroyed) return;
      if (!res.write(c)) {
        await new Promise<void>((r) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            r();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    res.end();
  }

  /** The page in pieces of about CHUNK_CHARS characters. */
  *chunks(): Generator<string> {
    const pairs = this.#store.pairs.slice();
    let out = this.#target;
    for (let m = 0; m < 3; m++) {
      const name = this.#names[m];
      // The exporter trims each family and adds one newline: the same as head + lines, each line ending in one.
      out += this.#heads[m];
      for (let i = 0; i < pairs.length; i++) {
        const p = pairs[i];
        const v = m === 0 ? p.flows : m === 1 ? p.bytes : p.packets;
        const src = this.#ends(p.src)[0],
          dst = this.#ends(p.dst)[1];
        out += `${name}{${src}${src && dst ? ',' : ''}${dst}${src || dst ? ',' : ''}${this.#tail(p)}} ${v}\n`;
        if (out.length >= CHUNK_CHARS) {
          yield out;
          out = '';
        }
      }
    }
    const rest = this.#registry ? [this.#renderZones(), this.#renderSelf(this.#registry)] : [this.#renderZones()];
    for (const part of rest) {
      for (const text of part) {
        out += text;
        if (out.length >= CHUNK_CHARS) {
          yield out;
          out = '';
        }
      }
    }
    yield out;
  }

  /**
   * What follows a pair's ends in its `{...}`, in the attribute order of pairAttributes. Pairs of
   * the same dimensions share it, unless a DNS name or zones make it the pair's own: only then is
   * text kept on the pair (a rope of the whole `{...}` cached on every pair held 20 MiB at 20,000
   * pairs; joining the shared pieces per line costs little). Which of the two a pair is, is
   * decided at its first page and kept, as the OTLP producer keeps its attributes.
   */
  #tail(p: Pair): string {
    const own = p.otelTextCache as string | undefined;
    if (own) return own;
    const key = p.overflow ? -1 : p.dims;
    const shared = this.#tails.get(key);
    if (shared !== undefined && own === '') return shared;
    const a: PairAttributes = {};
    if (p.overflow) a['netflow.overflow'] = 'true';
    const personal = !p.overflow && ownAttributes(a, this.#store, p);
    const text = labelList(a, STORE_SCOPE_LABELS);
    // '' marks a pair whose tail is the shared one.
    p.otelTextCache = personal ? text : '';
    if (!personal && shared === undefined) this.#tails.set(key, text);
    return text;
  }

  #ends(e: End): [string, string] {
    let t = this.#endText.get(e);
    if (t === undefined) {
      const half = (side: 'src' | 'dst') => {
        const a = pairAttributes(this.#store, {
          src: side === 'src' ? e : BARE,
          dst: side === 'dst' ? e : BARE,
          overflow: true,
        } as unknown as Pair);
        delete a['netflow.overflow'];
        return labelList(a, {});
      };
      t = [half('src'), half('dst')];
      this.#endText.set(e, t);
    }
    return t;
  }

  /** The zone families, after the connection families as the official exporter orders its producers; a line at a time. */
  *#renderZones(): Generator<string> {
    for (const z of zoneSeries(this.#store, this.#prices)) {
      const name = metricName(z.name, true);
      yield head(name, z.description, z.unit, 'counter');
      for (const p of z.points) {
        yield `${name}{${this.#zoneLabelList(p.attributes)}${this.#scopeTail}} ${p.value}\n`;
      }
    }
  }

  /**
   * A zone series' labels (as labelList writes them), joined afresh for each line: kept, the text
   * of 16,000 workload series was 3.4 MiB. Values seldom need escaping, so they are tested first.
   */
  #zoneLabelList(attributes: Readonly<Record<string, string>>): string {
    let s = '';
    for (const k in attributes) {
      if (!Object.hasOwn(attributes, k)) continue;
      let name = this.#labelNames.get(k);
      if (name === undefined) this.#labelNames.set(k, (name = sanitize(k)));
      const v = attributes[k];
      s += `${s.length > 0 ? ',' : ''}${name}="${NEEDS_ESCAPE.test(v) ? escapeValue(v) : v}"`;
    }
    return s;
  }

  /** Counters as monotonic sums (`_total`), gauges as gauges, label names as attribute keys; a family at a time. */
  *#renderSelf(registry: MetricsRegistry): Generator<string> {
    for (const f of registry.all()) {
      let body = '';
      const name = metricName(f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name, f.type === 'counter');
      try {
        for (const [values, value] of f.samples()) {
          const attributes: Record<string, string> = {};
          for (let i = 0; i < f.labelNames.length; i++) attributes[f.labelNames[i]] = values[i];
          body += `${name}${labelText(attributes, SELF_SCOPE_LABELS)} ${value}\n`;
        }
      } catch {
        // The official producer drops a family whose callback throws; so does the page.
        continue;
      }
      yield head(name, f.help, '', f.type === 'counter' ? 'counter' : 'gauge') + body;
    }
  }
}

/** An end with no labels: stands in for the other side when one side's attributes are built. */
const BARE = { labels: { host: '', namespace: '', kind: '', name: '', ownerKind: '', ownerName: '', nodeName: '' } };
