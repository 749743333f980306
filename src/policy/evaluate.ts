/**
 * What a set of NetworkPolicies admits, with the semantics of the Kubernetes documentation
 * (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
 * - a pod is isolated for ingress (egress) only when some policy in its namespace selects it
 *   and has Ingress (Egress) in its policyTypes; policyTypes defaults to Ingress, plus Egress
 *   when the policy has egress rules;
 * - an isolated pod admits what at least one rule of at least one selecting policy admits
 *   (policies and rules are OR-ed); a connection needs both the client's egress and the server's
 *   ingress to allow it;
 * - within one peer, namespaceSelector and podSelector are AND-ed; a podSelector alone means the
 *   policy's own namespace; an empty or missing `from`/`to` or `ports` matches everything;
 * - ports: protocol defaults to TCP, `endPort` makes a range, a port name is looked up in the
 *   destination pod's container ports;
 * - ipBlock admits addresses in `cidr` and outside every `except`;
 * - traffic between a pod and the node it runs on is always allowed.
 */
import { matches } from './label-selector.ts';
import { cidrsOverlap, cidrWithin, hostCidr, parseCidr, type ParsedCidr } from './policy-yaml.ts';
import { PROTOCOL_NUMBERS, type NetworkPolicy, type NetworkPolicyPeer, type NetworkPolicyPort } from './types.ts';

export interface PodInfo {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Container ports, with names for named policy ports. */
  readonly ports: readonly { readonly port: number; readonly name?: string; readonly protocol: string }[];
  readonly ips: readonly string[];
  readonly nodeName: string;
}

/** One end of a connection as policies see it. */
export type Party =
  | { readonly type: 'pod'; readonly pod: PodInfo }
  /** Addresses known by network: an external network's CIDRs, or a node's addresses (then `node` is its name). */
  | { readonly type: 'addresses'; readonly cidrs: readonly ParsedCidr[]; readonly node?: string }
  /** Addresses nothing places in a CIDR (an ASN, unknown): only a peer admitting every address matches. */
  | { readonly type: 'opaque' };

export interface Connection {
  readonly client: Party;
  readonly server: Party;
  readonly proto: number;
  readonly port: number;
}

export type SideVerdict = 'not-isolated' | 'allowed' | 'denied' | 'not-applicable';

export interface Verdict {
  readonly allowed: boolean;
  readonly ingress: SideVerdict;
  readonly egress: SideVerdict;
}

/** Labels of a namespace; only `kubernetes.io/metadata.name` is known unless the caller knows more. */
export type NamespaceLabels = (namespace: string) => Readonly<Record<string, string>>;
export const defaultNamespaceLabels: NamespaceLabels = (ns) => ({ 'kubernetes.io/metadata.name': ns });

export function policyTypes(p: NetworkPolicy): ('Ingress' | 'Egress')[] {
  if (p.spec.policyTypes && p.spec.policyTypes.length > 0) return p.spec.policyTypes;
  return p.spec.egress && p.spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Policies with their CIDRs parsed once, for many evaluations. */
export class PolicySet {
  readonly policies: readonly NetworkPolicy[];
  readonly #cidrs = new Map<string, ParsedCidr>();
  readonly nsLabels: NamespaceLabels;

  constructor(policies: readonly NetworkPolicy[], nsLabels: NamespaceLabels = defaultNamespaceLabels) {
    this.policies = policies;
    this.nsLabels = nsLabels;
  }

  #cidr(text: string): ParsedCidr {
    let c = this.#cidrs.get(text);
    if (c === undefined) {
      c = parseCidr(text);
      if (c === undefined) throw new RangeError(`${text} is not a CIDR (policies must be checked by parsePolicies first)`);
      this.#cidrs.set(text, c);
    }
    return c;
  }

  evaluate(conn: Connection): Verdict {
    const ingress = conn.server.type === 'pod' ? this.#side('Ingress', conn.server.pod, conn.client, conn) : 'not-applicable';
    const egress = conn.client.type === 'pod' ? this.#side('Egress', conn.client.pod, conn.server, conn) : 'not-applicable';
    return { allowed: ingress !== 'denied' && egress !== 'denied', ingress, egress };
  }

  /** The verdict at `self` for traffic with `other`, in one direction. */
  #side(dir: 'Ingress' | 'Egress', self: PodInfo, other: Party, conn: Connection): SideVerdict {
    let isolated = false;
    // The documentation: traffic to and from the node where a pod is running is always allowed.
    const ownNode = other.type === 'addresses' && other.node !== undefined && other.node === self.nodeName;
    for (const p of this.policies) {
      if (p.metadata.namespace !== self.namespace || !policyTypes(p).includes(dir) || !matches(p.spec.podSelector, self.labels)) continue;
      isolated = true;
      if (ownNode) return 'allowed';
      const rules =
        dir === 'Ingress'
          ? (p.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))
          : (p.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
      for (const r of rules) {
        const peerOk =
          r.peers === undefined ||
          r.peers === null ||
          r.peers.length === 0 ||
          r.peers.some((peer) => this.#peerMatches(peer, p.metadata.namespace, other));
        if (peerOk && this.#portsMatch(r.ports, conn)) return 'allowed';
      }
    }
    return isolated ? 'denied' : 'not-isolated';
  }

  #peerMatches(peer: NetworkPolicyPeer, policyNs: string, other: Party): boolean {
    if (peer.ipBlock) {
      const block = this.#cidr(peer.ipBlock.cidr);
      const except = (peer.ipBlock.except ?? []).map((e) => this.#cidr(e));
      const admits = (c: ParsedCidr) => cidrWithin(c, block) && !except.some((e) => cidrsOverlap(e, c));
      if (other.type === 'addresses') return other.cidrs.length > 0 && other.cidrs.every(admits);
      if (other.type === 'pod')
        return other.pod.ips.some((ip) => {
          const c = parseCidr(hostCidr(ip));
          return c !== undefined && admits(c);
        });
      return block.prefix === 0 && except.length === 0;
    }
    if (other.type !== 'pod') return false;
    const pod = other.pod;
    if (peer.namespaceSelector) {
      if (!matches(peer.namespaceSelector, this.nsLabels(pod.namespace))) return false;
    } else if (pod.namespace !== policyNs) {
      return false;
    }
    return peer.podSelector === undefined || matches(peer.podSelector, pod.labels);
  }

  #portsMatch(ports: NetworkPolicyPort[] | undefined | null, conn: Connection): boolean {
    if (ports === undefined || ports === null || ports.length === 0) return true;
    return ports.some((pp) => {
      if (PROTOCOL_NUMBERS[pp.protocol ?? 'TCP'] !== conn.proto) return false;
      if (pp.port === undefined || pp.port === null) return true;
      if (typeof pp.port === 'number') return conn.port >= pp.port && conn.port <= (pp.endPort ?? pp.port);
      // A named port is the destination pod's container port of that name and protocol.
      if (conn.server.type !== 'pod') return false;
      const proto = pp.protocol ?? 'TCP';
      return conn.server.pod.ports.some(
        (cp) => cp.name === pp.port && cp.port === conn.port && (cp.protocol || 'TCP').toUpperCase() === proto,
      );
    });
  }
}
