/**
 * Where an exporter reports a connection before kube-proxy's DNAT, its server is a Service's
 * ClusterIP. NetworkPolicies apply after DNAT, to the pods behind it on the target port, so such a
 * conversation is read as one to each workload the Service selects, on its target port (a named
 * target port is looked up in those pods' container ports). A Service that selects nothing known
 * stays as it is, and suggestions list it apart.
 */
import type { Conversation } from './conversations.ts';
import type { PolicyInventory } from './inventory.ts';
import type { EndLabels } from '../aggregate/aggregation-level.ts';
import { selects } from '../identify/server-ports.ts';
import { PROTOCOL_NUMBERS, type PolicyProtocol } from './types.ts';

export function throughServices(convs: readonly Conversation[], inv: PolicyInventory): Conversation[] {
  const out: Conversation[] = [];
  for (const c of convs) {
    const end = c.undecided ? undefined : inv.resolve(c.server);
    const svc = end?.type === 'service' ? inv.service(end.namespace, end.name) : undefined;
    const i = svc
      ? svc.ports.findIndex((p) => p.port === c.port && PROTOCOL_NUMBERS[(p.protocol || 'TCP').toUpperCase() as PolicyProtocol] === c.proto)
      : -1;
    if (svc === undefined || i < 0) {
      out.push(c);
      continue;
    }
    const target = svc.targetPorts[i] ?? svc.ports[i].port;
    // An empty selector picks no pod, so such a Service stays as it is below.
    const pods = inv.podsIn(svc.namespace).filter((p) => selects(svc, p));
    const byWorkload = new Map<string, number>();
    for (const p of pods) {
      const port = typeof target === 'number' ? target : p.ports.find((cp) => cp.name === target)?.port;
      const w = inv.workloadAtLevel(p);
      if (port !== undefined && !byWorkload.has(w)) byWorkload.set(w, port);
    }
    if (byWorkload.size === 0) {
      out.push(c);
      continue;
    }
    for (const [w, port] of byWorkload) {
      const server: EndLabels = { host: w, namespace: svc.namespace, kind: '', name: w, ownerKind: '', ownerName: '', nodeName: '' };
      // Field by field: a kept conversation's numbers are getters, which a spread would leave behind.
      const { client, proto, undecided, flows, bytes, firstMs, lastMs } = c;
      out.push({ client, server, proto, port, undecided, flows, bytes, firstMs, lastMs });
    }
  }
  return out;
}
