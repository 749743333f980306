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

const table = new Map<string, WeakRef<Endpoint>>();
const registry = new FinalizationRegistry<string>((key) => {
  const ref = table.get(key);
  if (ref !== undefined && ref.deref() === undefined) table.delete(key);
});
let nextId = 1;

function identityKey(f: EndpointFields): string {
  // \u0000 cannot occur in Kubernetes names or labels, so the join is unambiguous.
  return `${f.kind}\u0000${f.namespace}\u0000${f.name}\u0000${f.app}\u0000${f.ownerKind ?? ''}\u0000${f.ownerName ?? ''}\u0000${f.nodeName ?? ''}`;
}

/** The one Endpoint object for these fields in this thread (re-intern identities shipped from workers here). */
export function internEndpoint(fields: EndpointFields): Endpoint {
  const key = identityKey(fields);
  const found = table.get(key)?.deref();
  if (found !== undefined) return found;
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
  table.set(key, new WeakRef(ep));
  registry.register(ep, key);
  return ep;
}

/** Interned identities still reachable or not yet collected. */
export function internedCount(): number {
  return table.size;
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
