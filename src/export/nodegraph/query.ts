/**
 * The query half of /api/graph/data: the time window (the seed's semantics) and the namespace
 * filters, validated here so that nothing a caller sends reaches PromQL unchecked.
 */
import type { Role } from '../../identify/endpoint.ts';

export class QueryError extends Error {}

export interface GraphWindow {
  /** Length of the window in seconds: to − from, never under 60 s (rates over less are noise). */
  readonly windowS: number;
  /** How far in the past the window ends, in seconds (0 when `to` is now or in the future). */
  readonly offsetS: number;
  /** End of the window, epoch ms (= now − offset). */
  readonly endMs: number;
}

export const MIN_WINDOW_S = 60;

/** Grafana sends epoch milliseconds; seconds (10 digits) are accepted too, as curl users type them. */
function parseTime(text: string | null, name: string): number | undefined {
  if (text === null || text.trim() === '') return undefined;
  const t = text.trim();
  if (!/^\d+(\.\d+)?$/.test(t)) throw new QueryError(`${name} must be epoch milliseconds, got ${JSON.stringify(text)}`);
  const n = Number(t);
  // Digits alone can still overflow a double (400 nines is Infinity), and an endless window
  // would reach PromQL as `Infinity`: refuse it like any other bad time.
  if (!Number.isFinite(n * 1000)) throw new QueryError(`${name} must be a finite time in epoch milliseconds`);
  return n < 1e11 ? n * 1000 : n;
}

export function parseWindow(params: URLSearchParams, nowMs: number): GraphWindow {
  const to = parseTime(params.get('to'), 'to') ?? nowMs;
  const from = parseTime(params.get('from'), 'from') ?? to - MIN_WINDOW_S * 1000;
  if (from > to) throw new QueryError('from must not be after to');
  const windowS = Math.max(MIN_WINDOW_S, Math.round((to - from) / 1000));
  const offsetS = Math.max(0, Math.round((nowMs - to) / 1000));
  return { windowS, offsetS, endMs: nowMs - offsetS * 1000 };
}

/** Values Grafana sends for "All" (depending on the variable's settings and the datasource). */
const ALL_VALUES = new Set(['', 'all', '*', '.*', '.+', '$__all', '__all']);

/**
 * Kubernetes namespaces are DNS-1123 labels; our pseudo namespaces (node, external, unknown) are
 * too. Anything else is refused rather than escaped into a regex: a filter value is a name, not a
 * pattern.
 */
const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * A namespace filter: undefined for "all", else the list of namespaces. Several values may come as
 * repeated parameters, comma-separated (`${var:csv}`), pipe-separated or in braces (`{a,b}`, the
 * default multi-value format of Grafana's URL interpolation).
 */
export function parseNamespaces(params: URLSearchParams, name: string): string[] | undefined {
  const raw = params.getAll(name);
  if (raw.length === 0) return undefined;
  const values: string[] = [];
  for (const r of raw) {
    const t = r
      .trim()
      .replace(/^\{(.*)\}$/s, '$1')
      .replace(/^\((.*)\)$/s, '$1');
    for (const part of t.split(/[,|]/)) {
      const v = part.trim();
      if (ALL_VALUES.has(v.toLowerCase())) return undefined;
      if (!NAMESPACE_RE.test(v)) throw new QueryError(`${name}: ${JSON.stringify(v)} is not a namespace name`);
      values.push(v);
    }
  }
  return values.length === 0 ? undefined : [...new Set(values)];
}

export interface GraphQuery {
  readonly window: GraphWindow;
  readonly srcNamespaces?: readonly string[];
  readonly dstNamespaces?: readonly string[];
}

export function parseGraphQuery(params: URLSearchParams, nowMs: number): GraphQuery {
  return {
    window: parseWindow(params, nowMs),
    srcNamespaces: parseNamespaces(params, 'srcnamespace'),
    dstNamespaces: parseNamespaces(params, 'dstnamespace'),
  };
}

/**
 * The filters apply to the edge as drawn: `srcnamespace` is the client's side (or the source's where
 * the role is unknown), `dstnamespace` the server's. A response (role src-server) therefore counts
 * towards the edge from its destination to its source.
 */
export function matchesFilters(q: GraphQuery, srcNamespace: string, dstNamespace: string, role: Role): boolean {
  const [from, to] = role === 'src-server' ? [dstNamespace, srcNamespace] : [srcNamespace, dstNamespace];
  if (q.srcNamespaces && !q.srcNamespaces.includes(from)) return false;
  if (q.dstNamespaces && !q.dstNamespaces.includes(to)) return false;
  return true;
}
