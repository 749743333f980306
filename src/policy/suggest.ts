/**
 * NetworkPolicies proposed from observed conversations: one Ingress policy per workload seen in
 * a namespace, admitting exactly the clients seen, on the server ports and protocols seen; a
 * workload nobody connected to gets a policy that admits nothing. With `egress`, one Egress
 * policy per workload too, admitting the servers it reached and DNS to kube-dns.
 *
 * Every rule keeps the conversations that justified it (flows, bytes, last seen), rendered as
 * comments by policy-render.ts. Clients that no selector or named CIDR can describe (addresses
 * named by ASN or not at all) are never admitted by a guessed /32: they are listed as notes.
 */
import type { Conversation } from './conversations.ts';
import type { PolicyEnd, PolicyInventory } from './inventory.ts';
import { hostCidr } from './policy-yaml.ts';
import { chooseSelector } from './selector-labels.ts';
import { throughServices } from './services.ts';
import { PROTOCOL_OF_NUMBER, type NetworkPolicy, type NetworkPolicyPeer, type NetworkPolicyPort } from './types.ts';
import { protocolName } from '../aggregate/aggregation-level.ts';

export interface SuggestOptions {
  /** Namespaces to write policies for; empty: every namespace with a workload seen. */
  namespaces?: readonly string[];
  /** Only conversations last seen at or after this time (ms). */
  sinceMs?: number;
  egress?: boolean;
  /** --label-precedence: the label that names an app is the preferred selector. */
  labelPrecedence: readonly string[];
  nowMs?: number;
}

export interface Evidence {
  flows: number;
  bytes: number;
  firstMs: number;
  lastMs: number;
}

export interface SuggestedRule {
  /** `namespace/name` of the peer, or the network's name. */
  readonly peer: string;
  readonly peers: NetworkPolicyPeer[];
  readonly ports: NetworkPolicyPort[];
  /** Per `PROTO/port`, what was seen. */
  readonly byPort: ReadonlyMap<string, Evidence>;
  readonly evidence: Evidence;
  readonly conversations: readonly Conversation[];
  /** Why the rule is shaped as it is ('' usually). */
  readonly note: string;
}

export interface SuggestedPolicy {
  readonly policy: NetworkPolicy;
  readonly direction: 'Ingress' | 'Egress';
  readonly workload: string;
  readonly rules: readonly SuggestedRule[];
  /** About the policy's selector, and peers left out. */
  readonly notes: readonly string[];
  /** Peers seen but not admitted (no selector or CIDR names them). */
  readonly leftOut: number;
}

export interface Suggestion {
  readonly policies: SuggestedPolicy[];
  /** About conversations no policy covers (undecided, unattributable). */
  readonly notes: string[];
  readonly namespaces: string[];
  readonly conversations: number;
}

const evidenceOf = (cs: readonly Conversation[]): Evidence => ({
  flows: cs.reduce((a, c) => a + c.flows, 0),
  bytes: cs.reduce((a, c) => a + c.bytes, 0),
  firstMs: Math.min(...cs.map((c) => c.firstMs)),
  lastMs: Math.max(...cs.map((c) => c.lastMs)),
});

export const portLabel = (proto: number, port: number): string =>
  `${PROTOCOL_OF_NUMBER[proto] ?? protocolName(proto).toUpperCase()}/${port}`;
export const endLabel = (e: PolicyEnd): string =>
  e.type === 'workload' || e.type === 'service' ? `${e.namespace}/${e.name}` : `${e.type} ${e.name}`;

/** A policy name from a workload name: a DNS subdomain. */
export function policyName(prefix: string, workload: string): string {
  const clean =
    workload
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'workload';
  return `${prefix}${clean}`.slice(0, 253).replace(/[^a-z0-9]+$/, '');
}

const NS_LABEL = 'kubernetes.io/metadata.name';
const MAX_UNDECIDED_NOTES = 10;
const KUBE_DNS = { namespace: 'kube-system', service: 'kube-dns', fallback: { 'k8s-app': 'kube-dns' } };

export function suggestPolicies(all: readonly Conversation[], inv: PolicyInventory, opts: SuggestOptions): Suggestion {
  const since = opts.sinceMs ?? -Infinity;
  const convs = throughServices(
    all.filter((c) => c.lastMs >= since),
    inv,
  );
  const seen = new Map<string, Map<string, PolicyEnd & { type: 'workload' }>>();
  for (const c of convs)
    for (const e of [inv.resolve(c.client), inv.resolve(c.server)]) {
      if (e.type !== 'workload') continue;
      let m = seen.get(e.namespace);
      if (m === undefined) {
        m = new Map();
        seen.set(e.namespace, m);
      }
      m.set(e.name, e);
    }
  const namespaces = opts.namespaces && opts.namespaces.length > 0 ? [...new Set(opts.namespaces)].sort() : [...seen.keys()].sort();
  const out: SuggestedPolicy[] = [];
  const notes: string[] = [];
  const selectorCache = new Map<string, ReturnType<typeof chooseSelector>>();
  const selectorFor = (w: PolicyEnd & { type: 'workload' }) => {
    const k = `${w.namespace}/${w.name}`;
    if (!selectorCache.has(k)) {
      const others = inv.podsIn(w.namespace).filter((p) => !w.pods.includes(p));
      selectorCache.set(k, w.pods.length === 0 ? undefined : chooseSelector(w.pods, others, opts.labelPrecedence));
    }
    return selectorCache.get(k);
  };
  const dns = dnsPeer(inv, opts.labelPrecedence);
  // Distinct prefixes keep ingress and egress names apart; workload names that clean up alike get a number.
  const names = new Set<string>();
  const uniqueName = (nsName: string): string => {
    let n = nsName;
    for (let i = 2; names.has(n); i++) n = `${nsName.slice(0, 249)}-${i}`;
    names.add(n);
    return n;
  };

  for (const ns of namespaces) {
    const workloads = [...(seen.get(ns)?.values() ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    if (workloads.length === 0) notes.push(`namespace ${ns}: no workload seen${Number.isFinite(since) ? ' in that time' : ''}`);
    for (const w of workloads) {
      const sel = selectorFor(w);
      if (sel === undefined) {
        notes.push(
          inv.onHostNetwork(ns, w.name)
            ? `${ns}/${w.name}: runs on the host network, which NetworkPolicies do not apply to; no policy`
            : `${ns}/${w.name}: ${w.pods.length === 0 ? 'no pods in the inventory now' : 'its pods share no label'}, ` +
                'so no selector can name it; no policy',
        );
        continue;
      }
      const selNotes = sel.note ? [`selector: ${sel.note}`] : [];
      for (const dir of opts.egress ? (['Ingress', 'Egress'] as const) : (['Ingress'] as const)) {
        const mine = convs.filter((c) => !c.undecided && sameWorkload(inv.resolve(dir === 'Ingress' ? c.server : c.client), w));
        const byPeer = new Map<string, { end: PolicyEnd; convs: Conversation[] }>();
        for (const c of mine) {
          const end = inv.resolve(dir === 'Ingress' ? c.client : c.server);
          // Egress to kube-dns on port 53 is the DNS rule's.
          if (dir === 'Egress' && dns.covers(end, c)) {
            dns.seen.push(c);
            continue;
          }
          const k = endLabel(end);
          let g = byPeer.get(k);
          if (g === undefined) {
            g = { end, convs: [] };
            byPeer.set(k, g);
          }
          g.convs.push(c);
        }
        const rules: SuggestedRule[] = [];
        const policyNotes = [...selNotes];
        let leftOut = 0;
        for (const [label, g] of [...byPeer].sort(([a], [b]) => a.localeCompare(b))) {
          const peers = peersFor(g.end, ns, selectorFor, inv);
          if (typeof peers === 'string') {
            policyNotes.push(`${dir === 'Ingress' ? 'from' : 'to'} ${label} (${evidenceText(evidenceOf(g.convs))}): ${peers}`);
            leftOut++;
            continue;
          }
          rules.push(ruleOf(label, peers.peers, g.convs, peers.note));
        }
        if (dir === 'Egress') {
          const dnsConvs = dns.seen.splice(0);
          rules.push({
            ...ruleOf('kube-dns', [dns.peer], dnsConvs, dns.note),
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          });
        }
        const all = rules.flatMap((r) => r.conversations);
        const policy: NetworkPolicy = {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: {
            name: uniqueName(`${ns}/${policyName(dir === 'Ingress' ? 'netflow-k8s-ingress-' : 'netflow-k8s-egress-', w.name)}`).split(
              '/',
            )[1],
            namespace: ns,
            labels: { 'app.kubernetes.io/created-by': 'netflow-k8s' },
            annotations: { 'netflow-k8s.io/observed': observedText(dir, rules.length, all, leftOut) },
          },
          spec: {
            podSelector: { matchLabels: sel.matchLabels },
            policyTypes: [dir],
            ...(dir === 'Ingress'
              ? { ingress: rules.map((r) => ({ from: r.peers, ports: r.ports })) }
              : { egress: rules.map((r) => ({ to: r.peers, ...(r.ports.length > 0 ? { ports: r.ports } : {}) })) }),
          },
        };
        out.push({ policy, direction: dir, workload: `${ns}/${w.name}`, rules, notes: policyNotes, leftOut });
      }
    }
    const undecided = convs
      .filter((c) => {
        if (!c.undecided) return false;
        const a = inv.resolve(c.client);
        const b = inv.resolve(c.server);
        return (a.type === 'workload' && a.namespace === ns) || (b.type === 'workload' && b.namespace === ns);
      })
      .sort((x, y) => y.flows - x.flows);
    // The busiest few are worth reading; a long tail of them would bury the other notes.
    for (const c of undecided.slice(0, MAX_UNDECIDED_NOTES)) {
      notes.push(
        `undecided: ${endLabel(inv.resolve(c.client))} <-> ${endLabel(inv.resolve(c.server))} ${protocolName(c.proto)} ` +
          `(${evidenceText(evidenceOf([c]))}): the ports did not tell the client, so nothing was admitted for it`,
      );
    }
    if (undecided.length > MAX_UNDECIDED_NOTES)
      notes.push(
        `undecided: ${undecided.length - MAX_UNDECIDED_NOTES} more conversations involving ${ns} (see /api/policies/conversations)`,
      );
    for (const c of convs) {
      const s = inv.resolve(c.server);
      if (!c.undecided && s.type === 'service' && s.namespace === ns)
        notes.push(
          `${endLabel(inv.resolve(c.client))} -> Service ${s.namespace}/${s.name} ${portLabel(c.proto, c.port)}: ` +
            'seen before DNAT, and it selects no known pods on that port; not admitted',
        );
    }
  }
  return { policies: out, notes: [...new Set(notes)], namespaces, conversations: convs.length };
}

function sameWorkload(e: PolicyEnd, w: PolicyEnd & { type: 'workload' }): boolean {
  return e.type === 'workload' && e.namespace === w.namespace && e.name === w.name;
}

function ruleOf(peer: string, peers: NetworkPolicyPeer[], convs: Conversation[], note: string): SuggestedRule {
  const byPort = new Map<string, Evidence>();
  const ports: NetworkPolicyPort[] = [];
  const keys = [...new Set(convs.map((c) => `${c.proto}/${c.port}`))].sort((a, b) => {
    const [pa, na] = a.split('/').map(Number);
    const [pb, nb] = b.split('/').map(Number);
    return pa - pb || na - nb;
  });
  for (const k of keys) {
    const [proto, port] = k.split('/').map(Number);
    const cs = convs.filter((c) => c.proto === proto && c.port === port);
    byPort.set(portLabel(proto, port), evidenceOf(cs));
    const p = PROTOCOL_OF_NUMBER[proto];
    if (p !== undefined) ports.push({ protocol: p, port });
  }
  return {
    peer,
    peers,
    ports,
    byPort,
    evidence: convs.length > 0 ? evidenceOf(convs) : { flows: 0, bytes: 0, firstMs: 0, lastMs: 0 },
    conversations: convs,
    note,
  };
}

/** The peers that describe an end in a policy of namespace `ns`, or why there are none. */
function peersFor(
  e: PolicyEnd,
  ns: string,
  selectorFor: (w: PolicyEnd & { type: 'workload' }) => ReturnType<typeof chooseSelector>,
  inv: PolicyInventory,
): { peers: NetworkPolicyPeer[]; note: string } | string {
  switch (e.type) {
    case 'workload': {
      const sel = selectorFor(e);
      if (sel === undefined)
        return e.pods.length === 0
          ? 'no pods in the inventory now, so no selector can name them; not admitted'
          : 'its pods share no label; not admitted';
      const podSelector = { matchLabels: sel.matchLabels };
      const peer: NetworkPolicyPeer =
        e.namespace === ns ? { podSelector } : { namespaceSelector: { matchLabels: { [NS_LABEL]: e.namespace } }, podSelector };
      return { peers: [peer], note: sel.note ? `selector: ${sel.note}` : '' };
    }
    case 'external':
      if (e.cidrs.length === 0)
        return `named by its ASN, whose address ranges the collector does not list; name them with --networks to admit them by ipBlock`;
      return { peers: e.cidrs.map((cidr) => ({ ipBlock: { cidr } })), note: `the network ${e.name} from --networks` };
    case 'node': {
      const node = inv.node(e.name);
      if (!node || node.addresses.length === 0) return 'a node whose addresses are not in the inventory; not admitted';
      return {
        peers: node.addresses.map((a) => ({ ipBlock: { cidr: hostCidr(a) } })),
        note: `node ${e.name}'s addresses from the API (traffic from a pod's own node is always allowed)`,
      };
    }
    case 'service':
      return 'a Service ClusterIP seen before DNAT, whose pods are not known; not admitted';
    case 'unknown':
      return 'addresses outside every named network; name them with --networks to admit them by ipBlock';
  }
}

interface DnsPeer {
  peer: NetworkPolicyPeer;
  note: string;
  covers(e: PolicyEnd, c: Conversation): boolean;
  seen: Conversation[];
}

/** Egress to cluster DNS: the pods behind Service kube-system/kube-dns, else the usual k8s-app label. */
function dnsPeer(inv: PolicyInventory, precedence: readonly string[]): DnsPeer {
  const svc = inv.service(KUBE_DNS.namespace, KUBE_DNS.service);
  const all = inv.podsIn(KUBE_DNS.namespace);
  const pods =
    svc && Object.keys(svc.selector).length > 0 ? all.filter((p) => Object.entries(svc.selector).every(([k, v]) => p.labels[k] === v)) : [];
  const sel =
    pods.length > 0
      ? chooseSelector(
          pods,
          all.filter((p) => !pods.includes(p)),
          precedence,
        )
      : undefined;
  const matchLabels = sel?.matchLabels ?? KUBE_DNS.fallback;
  return {
    peer: { namespaceSelector: { matchLabels: { [NS_LABEL]: KUBE_DNS.namespace } }, podSelector: { matchLabels } },
    note:
      pods.length > 0
        ? 'cluster DNS: the pods of Service kube-system/kube-dns'
        : 'cluster DNS (Service kube-system/kube-dns not in the inventory: the usual k8s-app=kube-dns label)',
    covers: (e, c) =>
      e.type === 'workload' &&
      e.namespace === KUBE_DNS.namespace &&
      c.port === 53 &&
      e.pods.some((p) => Object.entries(matchLabels).every(([k, v]) => p.labels[k] === v)),
    seen: [],
  };
}

export function evidenceText(e: Evidence): string {
  const last = e.lastMs > 0 ? new Date(e.lastMs).toISOString() : 'never';
  return `${e.flows} flow${e.flows === 1 ? '' : 's'}, ${e.bytes} bytes, last seen ${last}`;
}

function observedText(dir: 'Ingress' | 'Egress', rules: number, convs: readonly Conversation[], leftOut: number): string {
  const cut = leftOut > 0 ? `; ${leftOut} peer${leftOut === 1 ? '' : 's'} seen but not nameable, not admitted` : '';
  if (convs.length === 0) return (dir === 'Ingress' ? 'no client admitted' : 'no server admitted but DNS') + cut;
  const e = evidenceOf(convs);
  return `${rules} rule${rules === 1 ? '' : 's'} from ${evidenceText(e)}; first seen ${new Date(e.firstMs).toISOString()}${cut}`;
}
