/**
 * Observed conversations against NetworkPolicies: every decided conversation is evaluated for
 * each distinct kind of pod at both ends (replicas usually share their labels; StatefulSet pods
 * differ by their pod-name label), and is denied when any of those would be, since the collector
 * counts a workload's pods together and cannot say which one talked.
 */
import type { Conversation } from './conversations.ts';
import type { PolicyEnd, PolicyInventory } from './inventory.ts';
import { PolicySet, type Party, type SideVerdict, type NamespaceLabels, defaultNamespaceLabels } from './evaluate.ts';
import { hostCidr, parseCidr } from './policy-yaml.ts';
import { selectorKeys } from './label-selector.ts';
import type { NetworkPolicy } from './types.ts';
import { endLabel, portLabel } from './suggest.ts';
import { throughServices } from './services.ts';

export interface DeniedConversation {
  readonly client: string;
  readonly server: string;
  /** `TCP/8080`. */
  readonly port: string;
  readonly flows: number;
  readonly bytes: number;
  readonly lastSeen: string;
  /** Where it is stopped: the server's ingress, the client's egress, or both. */
  readonly ingress: SideVerdict;
  readonly egress: SideVerdict;
  /** Namespaces and names as the map page keys its nodes. */
  readonly clientEnd: { namespace: string; name: string };
  readonly serverEnd: { namespace: string; name: string };
}

export interface CheckResult {
  readonly policies: number;
  readonly evaluated: number;
  readonly denied: DeniedConversation[];
  /** Conversations the check could not judge, and why (counted). */
  readonly notEvaluated: Record<string, number>;
  readonly undecided: number;
  readonly notes: string[];
}

export interface CheckOptions {
  sinceMs?: number;
  nsLabels?: NamespaceLabels;
}

export function checkPolicies(
  policies: readonly NetworkPolicy[],
  all: readonly Conversation[],
  inv: PolicyInventory,
  opts: CheckOptions = {},
): CheckResult {
  const set = new PolicySet(policies, opts.nsLabels ?? defaultNamespaceLabels);
  const since = opts.sinceMs ?? -Infinity;
  const notes: string[] = [];
  const unknownNsKeys = new Set<string>();
  for (const p of policies)
    for (const r of [...(p.spec.ingress ?? []).flatMap((x) => x.from ?? []), ...(p.spec.egress ?? []).flatMap((x) => x.to ?? [])]) {
      if (r.namespaceSelector)
        for (const k of selectorKeys(r.namespaceSelector)) if (k !== 'kubernetes.io/metadata.name') unknownNsKeys.add(k);
    }
  if (unknownNsKeys.size > 0)
    notes.push(
      `namespaceSelector reads ${[...unknownNsKeys].sort().join(', ')}: the collector knows only ` +
        'kubernetes.io/metadata.name of each namespace, so other namespace labels count as absent',
    );
  // The inventory hands out one PolicyEnd per end until it changes: its parties are worked out once.
  const parties = new Map<PolicyEnd, Party[] | string>();
  const partiesOf = (c: Conversation['client']): Party[] | string => {
    const end = inv.resolve(c);
    let p = parties.get(end);
    if (p === undefined) {
      p = toParties(end);
      parties.set(end, p);
    }
    return p;
  };
  const denied: DeniedConversation[] = [];
  const notEvaluated: Record<string, number> = {};
  let evaluated = 0;
  let undecided = 0;
  for (const c of throughServices(
    all.filter((x) => x.lastMs >= since),
    inv,
  )) {
    if (c.undecided) {
      undecided++;
      continue;
    }
    const cp = partiesOf(c.client);
    const sp = partiesOf(c.server);
    if (typeof cp === 'string' || typeof sp === 'string') {
      const why = typeof cp === 'string' ? `client: ${cp}` : `server: ${sp as string}`;
      notEvaluated[why] = (notEvaluated[why] ?? 0) + 1;
      continue;
    }
    evaluated++;
    let bad: { ingress: SideVerdict; egress: SideVerdict } | undefined;
    for (const client of cp) {
      for (const server of sp) {
        const v = set.evaluate({ client, server, proto: c.proto, port: c.port });
        if (!v.allowed) {
          bad = v;
          break;
        }
      }
      if (bad) break;
    }
    if (!bad) continue;
    const ce = inv.resolve(c.client);
    const se = inv.resolve(c.server);
    denied.push({
      client: endLabel(ce),
      server: endLabel(se),
      port: portLabel(c.proto, c.port),
      flows: c.flows,
      bytes: c.bytes,
      lastSeen: new Date(c.lastMs).toISOString(),
      ingress: bad.ingress,
      egress: bad.egress,
      clientEnd: { namespace: c.client.namespace, name: c.client.host },
      serverEnd: { namespace: c.server.namespace, name: c.server.host },
    });
  }
  denied.sort((a, b) => a.server.localeCompare(b.server) || a.client.localeCompare(b.client) || a.port.localeCompare(b.port));
  return { policies: policies.length, evaluated, denied, notEvaluated, undecided, notes };
}

/** The distinct kinds of party an end stands for, or why it cannot be judged. */
function toParties(e: PolicyEnd): Party[] | string {
  switch (e.type) {
    case 'workload': {
      if (e.pods.length === 0) return 'workload with no pods in the inventory now';
      const seen = new Map<string, Party>();
      for (const p of e.pods) {
        const k = `${JSON.stringify(p.labels)}|${p.nodeName}|${JSON.stringify(p.ports)}`;
        if (!seen.has(k))
          seen.set(k, { type: 'pod', pod: { namespace: p.namespace, labels: p.labels, ports: p.ports, ips: p.ips, nodeName: p.nodeName } });
      }
      return [...seen.values()];
    }
    case 'external':
      if (e.cidrs.length === 0) return [{ type: 'opaque' }];
      return [{ type: 'addresses', cidrs: e.cidrs.map((c) => parseCidr(c)!).filter((c) => c !== undefined) }];
    case 'node': {
      const cidrs = e.addresses.map((a) => parseCidr(hostCidr(a))).filter((c) => c !== undefined);
      return [{ type: 'addresses', cidrs, node: e.name }];
    }
    case 'unknown':
      return [{ type: 'opaque' }];
    case 'service':
      return 'Service ClusterIP seen before DNAT that selects no known pods on that port';
  }
}
