/**
 * What policy work needs to know about the cluster, on the main thread: the pods with their
 * labels and container ports (selectors, named ports), nodes and Services, fed by the same
 * inventory source as the receiving threads. It also tells what a conversation's end is, since
 * an end is named at the store's level (`--level`) and selectors need the pods behind it.
 */
import type { InventoryListener, SlimNode, SlimPod, SlimService } from '../identify/inventory.ts';
import { addNetworksOption, NamedNetworks, type NetworkPlace } from '../identify/networks.ts';
import { type AggregationLevel, type EndLabels, endKey } from '../aggregate/aggregation-level.ts';
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
  override add(name: string, cidr: string, place?: NetworkPlace): void {
    super.add(name, cidr, place);
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
  return addNetworksOption(new ListedNetworks(), value).byName;
}

/** The inventory arranged for lookups: built on the first lookup after a change, and used until the next change. */
interface Index {
  /** Pods still running (or pending) by namespace, in the order they arrived; `live` leaves out the host network's. */
  readonly running: Map<string, SlimPod[]>;
  readonly live: Map<string, SlimPod[]>;
  /** The first pod of each namespace and name, any phase. */
  readonly podByName: Map<string, SlimPod>;
  /** The first Service of each namespace and name. */
  readonly services: Map<string, SlimService>;
  /** What each end stands for, by endKey, as resolve() found it. */
  readonly ends: Map<string, PolicyEnd>;
}

const NO_PODS: readonly SlimPod[] = Object.freeze([]);

/** Namespace and name as one key (\u0000 cannot occur in Kubernetes names). */
const nsKey = (namespace: string, name: string): string => `${namespace}\u0000${name}`;

export class PolicyInventory implements InventoryListener {
  readonly level: AggregationLevel;
  readonly networks: ReadonlyMap<string, readonly string[]>;
  readonly #pods = new Map<string, SlimPod>();
  readonly #nodes = new Map<string, SlimNode>();
  readonly #services = new Map<string, SlimService>();
  /** Undefined after any change: suggestions and checks resolve every end again, never a stale one. */
  #index: Index | undefined;

  constructor(level: AggregationLevel, networks: ReadonlyMap<string, readonly string[]> = new Map()) {
    this.level = level;
    this.networks = networks;
  }

  upsertPod(pod: SlimPod): void {
    this.#pods.set(pod.uid, pod);
    this.#index = undefined;
  }
  deletePod(uid: string): void {
    this.#pods.delete(uid);
    this.#index = undefined;
  }
  upsertNode(node: SlimNode): void {
    this.#nodes.set(node.name, node);
    this.#index = undefined;
  }
  deleteNode(name: string): void {
    this.#nodes.delete(name);
    this.#index = undefined;
  }
  upsertService(svc: SlimService): void {
    this.#services.set(svc.uid, svc);
    this.#index = undefined;
  }
  deleteService(uid: string): void {
    this.#services.delete(uid);
    this.#index = undefined;
  }

  /** Pods still running (or pending) in a namespace, not on the host network. */
  podsIn(namespace: string): readonly SlimPod[] {
    return this.#indexed().live.get(namespace) ?? NO_PODS;
  }

  /** Whether the workload's running pods are all on the host network, where NetworkPolicies do not apply. */
  onHostNetwork(namespace: string, name: string): boolean {
    let any = false;
    for (const p of this.#indexed().running.get(namespace) ?? NO_PODS) {
      if (this.workloadAtLevel(p) !== name) continue;
      if (!p.hostNetwork) return false;
      any = true;
    }
    return any;
  }

  service(namespace: string, name: string): SlimService | undefined {
    return this.#indexed().services.get(nsKey(namespace, name));
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
   * Remembered per end until the inventory changes.
   */
  resolve(l: EndLabels): PolicyEnd {
    const ends = this.#indexed().ends;
    const k = endKey(l);
    let e = ends.get(k);
    if (e === undefined) {
      e = this.#resolve(l);
      ends.set(k, e);
    }
    return e;
  }

  #resolve(l: EndLabels): PolicyEnd {
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
      const pod = this.#indexed().podByName.get(nsKey(l.namespace, l.name));
      name = pod ? appOf(pod) : workloadOf(l);
      const pods = this.podsIn(l.namespace).filter((p) => appOf(p) === name);
      return { type: 'workload', namespace: l.namespace, name, pods };
    }
    const pods = this.podsIn(l.namespace).filter((p) => this.workloadAtLevel(p) === name);
    if (pods.length === 0 && kind === '' && this.service(l.namespace, l.name))
      return { type: 'service', namespace: l.namespace, name: l.name };
    return { type: 'workload', namespace: l.namespace, name, pods };
  }

  #indexed(): Index {
    if (this.#index !== undefined) return this.#index;
    const index: Index = { running: new Map(), live: new Map(), podByName: new Map(), services: new Map(), ends: new Map() };
    const add = (m: Map<string, SlimPod[]>, p: SlimPod): void => {
      const list = m.get(p.namespace);
      if (list === undefined) m.set(p.namespace, [p]);
      else list.push(p);
    };
    for (const p of this.#pods.values()) {
      const k = nsKey(p.namespace, p.name);
      if (!index.podByName.has(k)) index.podByName.set(k, p);
      if (p.endMs !== undefined) continue;
      add(index.running, p);
      if (!p.hostNetwork) add(index.live, p);
    }
    for (const s of this.#services.values()) {
      const k = nsKey(s.namespace, s.name);
      if (!index.services.has(k)) index.services.set(k, s);
    }
    this.#index = index;
    return index;
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
