/**
 * History for the Node Graph API from Prometheus: the seed families, summed per pair over the
 * asked window. Every label value is validated (see query.ts) and then escaped again
 * here, so no caller's text can change the shape of the query. TLS is verified; a CA file adds to
 * the system roots, it never turns checking off.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Role } from '../../identify/endpoint.ts';
import type { PairRate } from './graph.ts';
import { matchesFilters, type GraphQuery } from './query.ts';

/** A PromQL string literal's body: backslash, double quote and line breaks escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n\r]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\${c}`));
}

/** RE2 metacharacters, escaped so a value inside `=~` matches only itself. */
export function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `label="v"` for one value, `label=~"a|b"` for several. */
export function labelMatcher(label: string, values: readonly string[]): string {
  if (values.length === 1) return `${label}="${escapeLabelValue(values[0])}"`;
  return `${label}=~"${escapeLabelValue(values.map(escapeRegex).join('|'))}"`;
}

/** `direction` (request / response / unknown) is there when the collector runs with --extra-labels role. */
const BY = 'srcnamespace, srchost, dstnamespace, dsthost, direction';

/**
 * One PromQL expression per family. Responses (direction="response") are drawn from their destination
 * to their source, so a filter on the drawn edge needs a second selector with the namespaces
 * swapped; both halves are filtered again on the oriented edge after the answer comes back.
 */
export function buildPromQL(metric: string, q: GraphQuery): string {
  const range = `[${q.window.windowS}s]${q.window.offsetS > 0 ? ` offset ${q.window.offsetS}s` : ''}`;
  const sel = (extra: string[]): string => `${metric}{${extra.join(', ')}}`;
  const fwd: string[] = [];
  if (q.srcNamespaces) fwd.push(labelMatcher('srcnamespace', q.srcNamespaces));
  if (q.dstNamespaces) fwd.push(labelMatcher('dstnamespace', q.dstNamespaces));
  const a = `sum by (${BY}) (rate(${sel(fwd)}${range}))`;
  if (fwd.length === 0) return a;
  const rev = [labelMatcher('direction', ['response'])];
  if (q.srcNamespaces) rev.push(labelMatcher('dstnamespace', q.srcNamespaces));
  if (q.dstNamespaces) rev.push(labelMatcher('srcnamespace', q.dstNamespaces));
  return `${a} or sum by (${BY}) (rate(${sel(rev)}${range}))`;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusOptions {
  /** Base URL, e.g. http://prometheus:9090 or https://host/prometheus. */
  url: string;
  bearerTokenFile?: string;
  caFile?: string;
  timeoutMs?: number;
}

export class PrometheusError extends Error {}

export class PrometheusClient {
  readonly base: URL;
  readonly #tokenFile?: string;
  readonly #ca?: string[];
  readonly #timeoutMs: number;

  constructor(opts: PrometheusOptions) {
    let base: URL;
    try {
      base = new URL(opts.url);
    } catch {
      throw new PrometheusError(`not a URL: ${JSON.stringify(opts.url)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new PrometheusError(`unsupported scheme in ${opts.url}`);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
    this.#tokenFile = opts.bearerTokenFile;
    this.#ca = opts.caFile ? [...tls.rootCertificates, readFileSync(opts.caFile, 'utf8')] : undefined;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
  }

  /** An instant query evaluated at `timeS` (epoch seconds). */
  async query(promql: string, timeS: number): Promise<PromSample[]> {
    const body = new URLSearchParams({ query: promql, time: String(timeS) }).toString();
    const json = (await this.#post('api/v1/query', body)) as {
      status?: string;
      error?: string;
      data?: { resultType?: string; result?: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (json.status !== 'success') throw new PrometheusError(`query failed: ${json.error ?? 'unknown error'}`);
    if (json.data?.resultType !== 'vector') throw new PrometheusError(`expected a vector, got ${json.data?.resultType}`);
    return (json.data.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  async ready(): Promise<boolean> {
    try {
      await this.query('vector(1)', Date.now() / 1000);
      return true;
    } catch {
      return false;
    }
  }

  #post(path: string, body: string): Promise<unknown> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(Buffer.byteLength(body)),
      accept: 'application/json',
    };
    // Read per request: projected service-account tokens are rotated on disk.
    if (this.#tokenFile) headers.authorization = `Bearer ${readFileSync(this.#tokenFile, 'utf8').trim()}`;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method: 'POST', headers, ca: this.#ca, timeout: this.#timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new PrometheusError(`HTTP ${res.statusCode} from ${url.origin}: ${text.slice(0, 200)}`));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new PrometheusError(`no answer from ${url.origin} in ${this.#timeoutMs} ms`)));
      req.on('error', (err) => reject(err instanceof PrometheusError ? err : new PrometheusError(`${url.origin}: ${err.message}`)));
      req.end(body);
    });
  }
}

export const SEED_FAMILIES = {
  bytes: 'netflow_connection_bytes',
  packets: 'netflow_connection_packets',
  flows: 'netflow_connection_count',
} as const;

/** The exporter's `direction` label (request: the source is the client; response: it is the server). */
function roleOf(direction: string | undefined): Role {
  if (direction === 'request') return 'src-client';
  if (direction === 'response') return 'src-server';
  return 'unknown';
}

/** Rates per pair over the query's window, from the three seed families. */
export async function prometheusRates(client: PrometheusClient, q: GraphQuery, nowMs: number): Promise<PairRate[]> {
  const timeS = nowMs / 1000;
  const [bytes, packets, flows] = await Promise.all([
    client.query(buildPromQL(SEED_FAMILIES.bytes, q), timeS),
    client.query(buildPromQL(SEED_FAMILIES.packets, q), timeS),
    client.query(buildPromQL(SEED_FAMILIES.flows, q), timeS),
  ]);
  interface Acc {
    srcNamespace: string;
    srcApp: string;
    dstNamespace: string;
    dstApp: string;
    role: Role;
    bytesPerS: number;
    packetsPerS: number;
    flowsPerS: number;
  }
  const rows = new Map<string, Acc>();
  const add = (samples: PromSample[], field: 'bytesPerS' | 'packetsPerS' | 'flowsPerS'): void => {
    for (const s of samples) {
      const m = s.metric;
      const role = roleOf(m.direction);
      const key = JSON.stringify([m.srcnamespace, m.srchost, m.dstnamespace, m.dsthost, role]);
      let r = rows.get(key);
      if (!r) {
        r = {
          srcNamespace: m.srcnamespace ?? 'unknown',
          srcApp: m.srchost ?? 'unknown',
          dstNamespace: m.dstnamespace ?? 'unknown',
          dstApp: m.dsthost ?? 'unknown',
          role,
          bytesPerS: 0,
          packetsPerS: 0,
          flowsPerS: 0,
        };
        rows.set(key, r);
      }
      if (Number.isFinite(s.value)) r[field] += s.value;
    }
  };
  add(bytes, 'bytesPerS');
  add(packets, 'packetsPerS');
  add(flows, 'flowsPerS');
  return [...rows.values()].filter((r) => matchesFilters(q, r.srcNamespace, r.dstNamespace, r.role));
}
