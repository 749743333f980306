/**
 * What policy work needs to know about the cluster, on the main thread: the pods with their
 * labels and container ports (selectors, named ports), nodes and Services, fed by the same
 * inventory source as the receiving threads. It also tells what a conversation's end is, since
 * an end is named at the store's level (`--level`) and selectors need the pods behind it.
 */
import { existsSync } from 'node:fs';
import type { InventoryListener, SlimNode, SlimPod, SlimService } from '../identify/inventory.ts';
import { addNetworkList, addNetworksFile, NamedNetworks } from '../identify/networks.ts';
import type { AggregationLevel, EndLabels } from '../aggregate/aggregation-level.ts';
import { appOf, workloadOf } from '../identify/workload-names.ts';
import { hostCidr } from './policy-yaml.ts';

/** A conversation end, as policies see it. */
export type PolicyEnd =
  /** The pods the end stands for (empty when none is in the inventory now). */
  | { readonly type: 'workload'; readonly namespace: string; readonly name: string; readonly pods: readonly SlimPod[] }
  /** An external network; `cidrs` empty when it was named by ASN rather than by --networks. */
  | { readonly type: 'external'; readonly name: string; readonly cidrs: readonly string[] }
  | { readonly type: 'node'; readonly name: string; readonly addresses: readonly string[] }
  /** A Service's ClusterIP, not resolved to its pods (the exporter saw the flow before DNAT). */
  | { readonly type: 'service'; readonly namespace: string; readonly name: string }
  | { readonly type: 'unknown'; readonly name: string };

/** --networks with the CIDRs of each name remembered (NamedNetworks only answers address → name). */
class ListedNetworks extends NamedNetworks {
  readonly byName = new Map<string, string[]>();
  override add(name: string, cidr: string): void {
    super.add(name, cidr);
    const n = name.trim();
    const c = cidr.trim();
    const list = this.byName.get(n) ?? [];
    // A bare address is a host route, as NamedNetworks reads it.
    list.push(c.includes('/') ? c : hostCidr(c));
    this.byName.set(n, list);
  }
}

/** The CIDRs of each network --networks names (same syntax as the identity index reads). */
export function networkCidrs(value: string | readonly string[] | undefined): Map<string, string[]> {
  const nets = new ListedNetworks();
  const entries =
    value === undefined
      ? []
      : typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value;
  for (const e of entries) {
    if (!e.includes('=') && existsSync(e)) addNetworksFile(nets, e);
    else addNetworkList(nets, [e]);
  }
  return nets.byName;
}

export class PolicyInventory implements InventoryListener {
  readonly level: AggregationLevel;
  readonly networks: ReadonlyMap<string, readonly string[]>;
  readonly #pods = new Map<string, SlimPod>();
  readonly #nodes = new Map<string, SlimNode>();
  readonly #services = new Map<string, SlimService>();

  constructor(level: AggregationLevel, networks: ReadonlyMap<string, readonly string[]> = new Map()) {
    this.level = level;
    this.networks = networks;
  }

  upsertPod(pod: SlimPod): void {
    this.#pods.set(pod.uid, pod);
  }
  deletePod(uid: string): void {
    this.#pods.delete(uid);
  }
  upsertNode(node: SlimNode): void {
    this.#nodes.set(node.name, node);
  }
  deleteNode(name: string): void {
    this.#nodes.delete(name);
  }
  upsertService(svc: SlimService): void {
    this.#services.set(svc.uid, svc);
  }
  deleteService(uid: string): void {
    this.#services.delete(uid);
  }

  /** Pods still running (or pending) in a namespace. */
  podsIn(namespace: string): SlimPod[] {
    const out: SlimPod[] = [];
    for (const p of this.#pods.values()) if (p.namespace === namespace && p.endMs === undefined && !p.hostNetwork) out.push(p);
    return out;
  }

  /** Whether the workload's running pods are all on the host network, where NetworkPolicies do not apply. */
  onHostNetwork(namespace: string, name: string): boolean {
    let any = false;
    for (const p of this.#pods.values()) {
      if (p.namespace !== namespace || p.endMs !== undefined || this.workloadAtLevel(p) !== name) continue;
      if (!p.hostNetwork) return false;
      any = true;
    }
    return any;
  }

  service(namespace: string, name: string): SlimService | undefined {
    for (const s of this.#services.values()) if (s.namespace === namespace && s.name === name) return s;
    return undefined;
  }

  node(name: string): SlimNode | undefined {
    return this.#nodes.get(name);
  }

  /** The workload name a pod belongs to, as the store's level groups pods. */
  workloadAtLevel(p: SlimPod): string {
    return this.level === 'workload' ? workloadOf(p) : appOf(p);
  }

  /**
   * What an end stands for. Ends at the app level carry no kind unless --extra-labels has it, so
   * the seed's namespace conventions (`external`, `node`, `unknown`) and the inventory decide.
   */
  resolve(l: EndLabels): PolicyEnd {
    const kind = l.kind;
    if (kind === 'external' || (kind === '' && l.namespace === 'external')) {
      return { type: 'external', name: l.name, cidrs: this.networks.get(l.name) ?? [] };
    }
    if (kind === 'node' || (kind === '' && l.namespace === 'node')) {
      return { type: 'node', name: l.name, addresses: this.#nodes.get(l.name)?.addresses ?? [] };
    }
    if (kind === 'unknown' || (kind === '' && l.namespace === 'unknown')) return { type: 'unknown', name: l.name };
    if (kind === 'service') return { type: 'service', namespace: l.namespace, name: l.name };
    let name = l.name;
    if (this.level === 'pod') {
      // Pod-level ends still make policies per workload: the pod's app groups them.
      const pod = [...this.#pods.values()].find((p) => p.namespace === l.namespace && p.name === l.name);
      name = pod ? appOf(pod) : workloadOf(l);
      const pods = this.podsIn(l.namespace).filter((p) => appOf(p) === name);
      return { type: 'workload', namespace: l.namespace, name, pods };
    }
    const pods = this.podsIn(l.namespace).filter((p) => this.workloadAtLevel(p) === name);
    if (pods.length === 0 && kind === '' && this.service(l.namespace, l.name))
      return { type: 'service', namespace: l.namespace, name: l.name };
    return { type: 'workload', namespace: l.namespace, name, pods };
  }
}

/** An InventoryListener that hands every change to each of `listeners`. */
export function teeInventory(...listeners: InventoryListener[]): InventoryListener {
  return {
    upsertPod: (p) => {
      for (const l of listeners) l.upsertPod(p);
    },
    deletePod: (uid, at) => {
      for (const l of listeners) l.deletePod(uid, at);
    },
    upsertNode: (n) => {
      for (const l of listeners) l.upsertNode(n);
    },
    deleteNode: (name) => {
      for (const l of listeners) l.deleteNode(name);
    },
    upsertService: (s) => {
      for (const l of listeners) l.upsertService(s);
    },
    deleteService: (uid) => {
      for (const l of listeners) l.deleteService(uid);
    },
  };
}
