/**
 * The seed's drop-in: `netflow_connection_count`, `_bytes` and `_packets`, labelled `srchost`,
 * `srcnamespace`, `dsthost`, `dstnamespace` (plus opt-in extra labels), in the classic text
 * format 0.0.4, rendered straight from the pair store.
 *
 * Each pair's label string is built once and cached on the pair. Pairs whose labels coincide
 * (direction is always in the store's key, but only an opt-in label) share one output row; when
 * such a pair expires its counts stay in the row so the row's counter never goes down.
 */
import type { Pair, PairStore } from '../../aggregate/pair-store.ts';
import { directionOf, protocolName, type Dimensions } from '../../aggregate/aggregation-level.ts';
import { escapeHelp, escapeLabelValue, type MetricsRegistry } from '../../observe/metrics.ts';
import { ByteWriter } from '../../observe/byte-writer.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export const SEED_FAMILIES = [
  { name: 'netflow_connection_count', help: 'Flows seen between the source and destination (one per flow record)' },
  { name: 'netflow_connection_bytes', help: 'Bytes sent from the source to the destination' },
  { name: 'netflow_connection_packets', help: 'Packets sent from the source to the destination' },
] as const;

export interface PrometheusTextOptions {
  /** Extra labels: `srckind`/`dstkind`, `direction`, `protocol`, `serverport`. Default none (the seed's four). */
  labels?: Dimensions;
  /** Self-metrics appended to the same page. */
  selfMetrics?: MetricsRegistry;
}

const CLOSE = Buffer.from('} ');
const NEWLINE = 0x0a;
/** Numbers per row in the counts: what expired pairs left (flows, bytes, packets), then this page's. */
const COUNTS = 6;

/**
 * A distinct label set on the page. Its counts live in the renderer's typed array at its index
 * (a Row's own number fields were boxed doubles, some 100 bytes a row), and its label bytes are
 * not kept: each page writes them once and copies them for the other families (a Buffer per row
 * was 100 bytes of heap and as many outside).
 */
class Row {
  readonly labels: string;
  /** All of `labels` is ASCII: its bytes are its characters. */
  readonly ascii: boolean;
  index = -1;
  /** Live pairs rendered into this row. */
  pairs = 0;
  constructor(labels: string) {
    this.labels = labels;
    this.ascii = Buffer.byteLength(labels) === labels.length;
  }
}

export class PrometheusTextRenderer {
  readonly #store: PairStore;
  readonly #labelDims: Dimensions;
  readonly #selfMetrics: MetricsRegistry | undefined;
  readonly #rowsByLabels = new Map<string, Row>();
  readonly #rows: Row[] = [];
  /** COUNTS numbers per row, by its index. */
  #counts = new Float64Array(COUNTS * 64);
  /** Where the first family put each row's `labels} ` on the page being written: start, end. */
  #labelsAt = new Int32Array(2 * 64);
  readonly #heads: Buffer[];
  /** `<family>{` per family. */
  readonly #opens: Buffer[];

  constructor(store: PairStore, opts: PrometheusTextOptions = {}) {
    this.#store = store;
    this.#labelDims = { ...opts.labels };
    this.#selfMetrics = opts.selfMetrics;
    this.#heads = SEED_FAMILIES.map((f) => Buffer.from(`# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} counter\n`));
    this.#opens = SEED_FAMILIES.map((f) => Buffer.from(`${f.name}{`));
    store.onEvict((p) => this.#retire(p));
  }

  /** The whole page: the seed families, then the self-metrics. */
  render(): string {
    const w = new ByteWriter();
    this.renderInto(w);
    return w.toString();
  }

  /** The page written into `w` (appended: the caller resets it). */
  renderInto(w: ByteWriter): void {
    const rows = this.#rows;
    const c = this.#counts;
    for (let i = 0; i < rows.length; i++) {
      const k = COUNTS * i;
      c[k + 3] = c[k];
      c[k + 4] = c[k + 1];
      c[k + 5] = c[k + 2];
    }
    const pairs = this.#store.pairs;
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i];
      const k = COUNTS * ((p.promCache as Row | undefined) ?? this.#attach(p)).index;
      // Attaching may have grown the counts.
      const counts = this.#counts;
      counts[k + 3] += p.flows;
      counts[k + 4] += p.bytes;
      counts[k + 5] += p.packets;
    }
    const counts = this.#counts;
    if (this.#labelsAt.length < 2 * rows.length) this.#labelsAt = new Int32Array((2 * this.#counts.length) / COUNTS);
    const at = this.#labelsAt;
    for (let f = 0; f < 3; f++) {
      w.bytes(this.#heads[f]);
      const open = this.#opens[f];
      for (let i = 0; i < rows.length; i++) {
        w.bytes(open);
        if (f === 0) {
          at[2 * i] = w.length;
          const r = rows[i];
          if (r.ascii) w.ascii(r.labels);
          else w.text(r.labels);
          w.bytes(CLOSE);
          at[2 * i + 1] = w.length;
        } else {
          w.again(at[2 * i], at[2 * i + 1]);
        }
        w.sampleValue(counts[COUNTS * i + 3 + f]);
        w.byte(NEWLINE);
      }
    }
    if (this.#selfMetrics) w.text(this.#selfMetrics.render());
  }

  /** Rows on the page (distinct label sets). */
  get series(): number {
    return this.#rows.length;
  }

  /** The label string of a pair, without braces, names in alphabetical order like client libraries. */
  pairLabels(p: Pair): string {
    const s = p.src.labels,
      d = p.dst.labels,
      x = this.#labelDims;
    const parts: string[] = [];
    if (x.role) parts.push(`direction="${p.overflow ? 'unknown' : directionOf(p.dims)}"`);
    if (x.kind) parts.push(`dstkind="${escapeLabelValue(d.kind || 'unknown')}"`);
    parts.push(`dsthost="${escapeLabelValue(d.host)}"`, `dstnamespace="${escapeLabelValue(d.namespace)}"`);
    if (x.zone) parts.push(`dstzone="${escapeLabelValue(this.#store.zonesOf(p)[1] || 'unknown')}"`);
    if (x.protocol) parts.push(`protocol="${p.overflow ? 'unknown' : protocolName(p.proto)}"`);
    if (x.serverPort) parts.push(`serverport="${p.overflow ? 'unknown' : String(p.serverPort)}"`);
    if (x.kind) parts.push(`srckind="${escapeLabelValue(s.kind || 'unknown')}"`);
    parts.push(`srchost="${escapeLabelValue(s.host)}"`, `srcnamespace="${escapeLabelValue(s.namespace)}"`);
    if (x.zone) parts.push(`srczone="${escapeLabelValue(this.#store.zonesOf(p)[0] || 'unknown')}"`);
    return parts.join(',');
  }

  #attach(p: Pair): Row {
    const labels = this.pairLabels(p);
    let r = this.#rowsByLabels.get(labels);
    if (r === undefined) {
      r = new Row(labels);
      r.index = this.#rows.length;
      this.#rows.push(r);
      this.#rowsByLabels.set(labels, r);
      if (this.#counts.length < COUNTS * this.#rows.length) {
        const grown = new Float64Array(2 * this.#counts.length);
        grown.set(this.#counts);
        this.#counts = grown;
      }
      this.#counts.fill(0, COUNTS * r.index, COUNTS * r.index + COUNTS);
    }
    r.pairs++;
    p.promCache = r;
    return r;
  }

  #retire(p: Pair): void {
    const r = p.promCache as Row | undefined;
    if (r === undefined) return;
    p.promCache = undefined;
    r.pairs--;
    const c = this.#counts;
    if (r.pairs > 0) {
      const k = COUNTS * r.index;
      c[k] += p.flows;
      c[k + 1] += p.bytes;
      c[k + 2] += p.packets;
      return;
    }
    this.#rowsByLabels.delete(r.labels);
    const last = this.#rows.pop()!;
    if (last !== r) {
      c.copyWithin(COUNTS * r.index, COUNTS * last.index, COUNTS * last.index + COUNTS);
      last.index = r.index;
      this.#rows[r.index] = last;
    }
  }
}
