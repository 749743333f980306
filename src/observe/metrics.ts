/**
 * The collector's own metrics: a small registry of counters and gauges with label sets, plus
 * callback metrics read at scrape time. It renders the Prometheus text format and exposes its
 * families so the OTel producer can export the same numbers. Every name gets the `netflow_k8s_`
 * prefix; counters end in `_total` so promtool has nothing to say about them.
 *
 * Hot path: keep the child (`counter.labels('v9')`) and call `inc()` on it; that is one add.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SELF_METRICS, type SelfCounterName, type SelfMetricDefinition, type SelfMetricName } from './self-metric-table.ts';

export const SELF_PREFIX = 'netflow_k8s_';

export type MetricType = 'counter' | 'gauge';
export type Sample = readonly [labelValues: readonly string[], value: number];

export interface MetricFamily {
  /** Full Prometheus name (prefix included, `_total` on counters). */
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  /** Current samples; each label-value array has one entry per label name. */
  samples(): Iterable<Sample>;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class MetricChild {
  readonly labelValues: readonly string[];
  value = 0;
  constructor(labelValues: readonly string[]) {
    this.labelValues = labelValues;
  }
  inc(n = 1): void {
    this.value += n;
  }
  /** Gauges only (counters never go down; the registry does not police children). */
  set(v: number): void {
    this.value = v;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

abstract class Instrument implements MetricFamily {
  readonly name: string;
  readonly help: string;
  abstract readonly type: MetricType;
  readonly labelNames: readonly string[];
  readonly #children = new Map<string, MetricChild>();
  constructor(name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    // Unlabelled: its one series exists from the start (see unlabelledChild).
    if (labelNames.length === 0) this.#children.set('', new MetricChild([]));
  }
  /** The series for these label values (created once, then cached: keep it on hot paths). */
  labels(...values: string[]): MetricChild {
    if (values.length !== this.labelNames.length) {
      throw new RangeError(`${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
    }
    const key = values.join('\u0000');
    let c = this.#children.get(key);
    if (c === undefined) {
      c = new MetricChild(values.slice());
      this.#children.set(key, c);
    }
    return c;
  }
  /** Drops a series (e.g. an exporter that went away). */
  remove(...values: string[]): void {
    this.#children.delete(values.join('\u0000'));
  }

  value(...values: string[]): number {
    return this.#children.get(values.join('\u0000'))?.value ?? 0;
  }
  *samples(): Iterable<Sample> {
    for (const c of this.#children.values()) yield [c.labelValues, c.value];
  }
}

/** The one series of an instrument without labels, made with it; undefined when it has labels. */
function unlabelledChild(i: Instrument): MetricChild | undefined {
  return i.labelNames.length === 0 ? i.labels() : undefined;
}

function hasLabels(i: Instrument): never {
  throw new Error(`${i.name} has labels: use labels(...)`);
}

export class Counter extends Instrument {
  readonly type = 'counter' as const;
  readonly #self = unlabelledChild(this);
  inc(n = 1): void {
    (this.#self ?? hasLabels(this)).inc(n);
  }
}

export class Gauge extends Instrument {
  readonly type = 'gauge' as const;
  readonly #self = unlabelledChild(this);
  inc(n = 1): void {
    (this.#self ?? hasLabels(this)).inc(n);
  }
  dec(n = 1): void {
    (this.#self ?? hasLabels(this)).dec(n);
  }
  set(v: number): void {
    (this.#self ?? hasLabels(this)).set(v);
  }
}

/** What a callback metric returns: one value (no labels) or samples. */
export type CallbackResult = number | undefined | Iterable<Sample>;

class CallbackFamily implements MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  readonly #fn: () => CallbackResult;
  constructor(name: string, help: string, type: MetricType, labelNames: readonly string[], fn: () => CallbackResult) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.labelNames = labelNames;
    this.#fn = fn;
  }
  *samples(): Iterable<Sample> {
    const r = this.#fn();
    if (r === undefined) return;
    if (typeof r === 'number') {
      yield [[], r];
      return;
    }
    yield* r;
  }
}

export class MetricsRegistry {
  readonly #families = new Map<string, MetricFamily>();

  /** `name` without the prefix and `_total` (both are added): `counter('datagrams', ...)` is `netflow_k8s_datagrams_total`. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#register(new Counter(fullName(name, 'counter'), help, checkLabels(labelNames)));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#register(new Gauge(fullName(name, 'gauge'), help, checkLabels(labelNames)));
  }

  /** A metric read at scrape time, e.g. a store's size or a counter kept elsewhere. */
  callback(name: string, help: string, type: MetricType, fn: () => CallbackResult, labelNames: readonly string[] = []): MetricFamily {
    return this.#register(new CallbackFamily(fullName(name, type), help, type, checkLabels(labelNames), fn));
  }

  /** A self-metric of SELF_METRICS, read at scrape time: `fn` gives the value, the table says the rest. */
  report(name: SelfMetricName, fn: () => CallbackResult): MetricFamily {
    const d: SelfMetricDefinition = SELF_METRICS[name];
    return this.callback(name, d.help, d.type, fn, d.labels);
  }

  /** A counter of SELF_METRICS, counted as things happen. */
  selfCounter(name: SelfCounterName): Counter {
    const d: SelfMetricDefinition = SELF_METRICS[name];
    return this.counter(name, d.help, d.labels);
  }

  get(fullNameOrShort: string): MetricFamily | undefined {
    return (
      this.#families.get(fullNameOrShort) ??
      this.#families.get(fullName(fullNameOrShort, 'gauge')) ??
      this.#families.get(fullName(fullNameOrShort, 'counter'))
    );
  }

  all(): Iterable<MetricFamily> {
    return this.#families.values();
  }

  /** Prometheus text format 0.0.4. A failing callback leaves its family out rather than failing the page. */
  render(): string {
    let out = '';
    for (const f of this.#families.values()) {
      let body = '';
      try {
        for (const [values, v] of f.samples()) body += `${f.name}${labelText(f.labelNames, values)} ${formatNumber(v)}\n`;
      } catch {
        continue;
      }
      out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n${body}`;
    }
    return out;
  }

  #register<T extends MetricFamily>(f: T): T {
    if (this.#families.has(f.name)) throw new Error(`metric ${f.name} is already registered`);
    this.#families.set(f.name, f);
    return f;
  }
}

function fullName(name: string, type: MetricType): string {
  let n = name.startsWith(SELF_PREFIX) ? name : SELF_PREFIX + name;
  if (type === 'counter' && !n.endsWith('_total')) n += '_total';
  if (!NAME_RE.test(n)) throw new Error(`bad metric name ${JSON.stringify(n)}`);
  return n;
}

function checkLabels(names: readonly string[]): readonly string[] {
  for (const n of names) if (!LABEL_RE.test(n) || n.startsWith('__')) throw new Error(`bad label name ${JSON.stringify(n)}`);
  return names.slice();
}

/** Label value escaping of the text format: backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `{a="x",b="y"}`, or '' with no labels. */
export function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  let s = '{';
  for (let i = 0; i < names.length; i++) s += `${i ? ',' : ''}${names[i]}="${escapeLabelValue(values[i] ?? '')}"`;
  return `${s}}`;
}

/**
 * Numbers as Prometheus client libraries print them: integers in full digits (past 2^53 the exact
 * value of the double, never rounded to an exponent form), other values in the shortest form that
 * reads back the same, and NaN / +Inf / -Inf.
 */
export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return Math.abs(v) <= Number.MAX_SAFE_INTEGER ? v.toString() : BigInt(v).toString();
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return v.toString();
}

export interface ProcessMetrics {
  stop(): void;
}

/**
 * Process CPU seconds, resident memory, heap and event-loop lag. The lag is the histogram of the
 * last `windowMs` (it restarts each window), so a stall shows while it matters.
 */
export function registerProcessMetrics(reg: MetricsRegistry, windowMs = 60_000): ProcessMetrics {
  reg.report('process_cpu_seconds', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  reg.report('process_resident_memory_bytes', () => process.memoryUsage.rss());
  reg.report('process_heap_bytes', () => {
    const m = process.memoryUsage();
    return [
      [['used'], m.heapUsed],
      [['total'], m.heapTotal],
      [['external'], m.external + m.arrayBuffers],
    ];
  });
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let last = { p50: 0, p99: 0, max: 0 };
  const roll = setInterval(() => {
    last = snapshot();
    h.reset();
  }, windowMs);
  roll.unref();
  const snapshot = () => (h.count === 0 ? last : { p50: h.percentile(50) / 1e9, p99: h.percentile(99) / 1e9, max: h.max / 1e9 });
  reg.report('event_loop_lag_seconds', () => {
    const s = snapshot();
    return [
      [['p50'], s.p50],
      [['p99'], s.p99],
      [['max'], s.max],
    ];
  });
  return {
    stop() {
      clearInterval(roll);
      h.disable();
    },
  };
}
