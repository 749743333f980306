/**
 * Kubernetes label selectors: matching (matchLabels and matchExpressions AND-ed; an empty
 * selector matches everything) and the API server's validity checks on keys, values and
 * operators, so a policy the API server would refuse is refused here too, naming the field.
 */
import type { LabelSelector } from './types.ts';

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** Why `key` is not a label key, or undefined. */
export function badLabelKey(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'must be a string';
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return `${JSON.stringify(key)}: the prefix must be a DNS subdomain`;
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) return `${JSON.stringify(key)} is not a valid label key`;
  return undefined;
}

export function badLabelValue(v: unknown): string | undefined {
  if (typeof v !== 'string') return 'must be a string';
  if (v.length > 63 || !VALUE.test(v)) return `${JSON.stringify(v)} is not a valid label value`;
  return undefined;
}

/** Problems with a selector as [field path, message]; `path` is where it sits. */
export function selectorErrors(sel: unknown, path: string): [string, string][] {
  const out: [string, string][] = [];
  if (sel === null || typeof sel !== 'object' || Array.isArray(sel)) return [[path, 'must be a label selector object']];
  for (const k of Object.keys(sel))
    if (k !== 'matchLabels' && k !== 'matchExpressions') out.push([`${path}.${k}`, 'not a field of LabelSelector']);
  const s = sel as Record<string, unknown>;
  if (s.matchLabels !== undefined && s.matchLabels !== null) {
    if (typeof s.matchLabels !== 'object' || Array.isArray(s.matchLabels))
      out.push([`${path}.matchLabels`, 'must be a map of label keys to values']);
    else
      for (const [k, v] of Object.entries(s.matchLabels)) {
        const bk = badLabelKey(k);
        if (bk) out.push([`${path}.matchLabels`, bk]);
        const bv = badLabelValue(v);
        if (bv) out.push([`${path}.matchLabels.${k}`, bv]);
      }
  }
  if (s.matchExpressions !== undefined && s.matchExpressions !== null) {
    if (!Array.isArray(s.matchExpressions)) out.push([`${path}.matchExpressions`, 'must be a list']);
    else
      s.matchExpressions.forEach((e: unknown, i: number) => {
        const p = `${path}.matchExpressions[${i}]`;
        if (e === null || typeof e !== 'object') {
          out.push([p, 'must be an object']);
          return;
        }
        const r = e as Record<string, unknown>;
        const bk = badLabelKey(r.key);
        if (bk) out.push([`${p}.key`, bk]);
        if (typeof r.operator !== 'string' || !OPERATORS.includes(r.operator)) {
          out.push([`${p}.operator`, `must be one of ${OPERATORS.join(', ')}`]);
          return;
        }
        const values = r.values;
        if (values !== undefined && values !== null && (!Array.isArray(values) || values.some((v) => badLabelValue(v) !== undefined)))
          out.push([`${p}.values`, 'must be a list of label values']);
        const n = Array.isArray(values) ? values.length : 0;
        if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0)
          out.push([`${p}.values`, `must be non-empty when operator is ${r.operator}`]);
        if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0)
          out.push([`${p}.values`, `must be empty when operator is ${r.operator}`]);
      });
  }
  return out;
}

/** Whether `labels` satisfy the (valid) selector. */
export function matches(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  if (sel.matchLabels) for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  if (sel.matchExpressions)
    for (const e of sel.matchExpressions) {
      const has = Object.hasOwn(labels, e.key);
      switch (e.operator) {
        case 'In':
          if (!has || !e.values!.includes(labels[e.key])) return false;
          break;
        case 'NotIn':
          if (has && e.values!.includes(labels[e.key])) return false;
          break;
        case 'Exists':
          if (!has) return false;
          break;
        case 'DoesNotExist':
          if (has) return false;
          break;
      }
    }
  return true;
}

/** The keys a selector reads. */
export function selectorKeys(sel: LabelSelector): string[] {
  return [...Object.keys(sel.matchLabels ?? {}), ...(sel.matchExpressions ?? []).map((e) => e.key)];
}
