/**
 * Endpoint interning: one frozen object per identity in this thread, so pair stores can key by
 * reference or by `id`. The table holds its endpoints weakly: an identity nobody holds any more
 * (a pod deleted an hour ago whose pairs have expired) is collected, and memory stays flat under
 * pod churn. An identity interned again later gets a fresh id; ids are never reused.
 */
import type { Endpoint, EndpointKind } from './endpoint.ts';

export interface EndpointFields {
  readonly kind: EndpointKind;
  readonly namespace: string;
  readonly name: string;
  readonly app: string;
  readonly ownerKind?: string;
  readonly ownerName?: string;
  readonly nodeName?: string;
}

/**
 * Keyed by name only: the name string is already held by the inventory, so the table adds no
 * key strings of its own; the few identities sharing a name are told apart field by field. A
 * name held by one identity, nearly all of them, maps to its WeakRef alone, not to a list of one
 * (about 50 bytes an identity).
 */
type Refs = WeakRef<Endpoint> | WeakRef<Endpoint>[];
const table = new Map<string, Refs>();
let live = 0;
const registry = new FinalizationRegistry<string>((name) => {
  const refs = table.get(name);
  if (refs === undefined) return;
  const list = Array.isArray(refs) ? refs : [refs];
  const kept = list.filter((r) => r.deref() !== undefined);
  live -= list.length - kept.length;
  if (kept.length === 0) table.delete(name);
  else table.set(name, kept.length === 1 ? kept[0] : kept);
});
let nextId = 1;

function same(ep: Endpoint, f: EndpointFields): boolean {
  return (
    ep.kind === f.kind &&
    ep.namespace === f.namespace &&
    ep.app === f.app &&
    ep.ownerKind === (f.ownerKind ?? '') &&
    ep.ownerName === (f.ownerName ?? '') &&
    ep.nodeName === (f.nodeName ?? '')
  );
}

/** The one Endpoint object for these fields in this thread (re-intern identities shipped from workers here). */
export function internEndpoint(fields: EndpointFields): Endpoint {
  const refs = table.get(fields.name);
  if (refs !== undefined) {
    for (const r of Array.isArray(refs) ? refs : [refs]) {
      const ep = r.deref();
      if (ep !== undefined && same(ep, fields)) return ep;
    }
  }
  const ep: Endpoint = Object.freeze({
    id: nextId++,
    kind: fields.kind,
    namespace: fields.namespace,
    name: fields.name,
    app: fields.app,
    ownerKind: fields.ownerKind ?? '',
    ownerName: fields.ownerName ?? '',
    nodeName: fields.nodeName ?? '',
  });
  const ref = new WeakRef(ep);
  if (refs === undefined) table.set(fields.name, ref);
  else if (Array.isArray(refs)) refs.push(ref);
  else table.set(fields.name, [refs, ref]);
  live++;
  registry.register(ep, fields.name);
  return ep;
}

/** Interned identities still reachable or not yet collected. */
export function internedCount(): number {
  return live;
}

/** Both ends unknown: the seed's `unknown` host and namespace. Held for the life of the process. */
export const UNKNOWN_ENDPOINT: Endpoint = internEndpoint({ kind: 'unknown', namespace: 'unknown', name: 'unknown', app: 'unknown' });

export function nodeEndpoint(name: string): Endpoint {
  return internEndpoint({ kind: 'node', namespace: 'node', name, app: name, nodeName: name });
}

export function serviceEndpoint(namespace: string, name: string): Endpoint {
  return internEndpoint({ kind: 'service', namespace, name, app: name });
}

export function externalEndpoint(name: string): Endpoint {
  return internEndpoint({ kind: 'external', namespace: 'external', name, app: name });
}
