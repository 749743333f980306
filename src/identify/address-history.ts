/**
 * What an address has meant over time: each pod that held it with its interval (start to
 * completion or deletion), the hostNetwork pods sharing it, the node that owns it and the Service
 * whose ClusterIP it is. One IpEntry per address the inventory knows (address-table.ts keeps
 * them); endpointAt picks what the address meant at a flow's end time, so flows reported late
 * (ipt-netflow: up to its 1800 s active timeout) still land on the pod that sent them.
 */
import { DOUBLE_ZERO } from '../observe/double-zero.ts';
import type { Endpoint } from './endpoint.ts';
import type { SlimPod } from './inventory.ts';
import { nodeEndpoint } from './intern.ts';
import { hasPort, NO_PORTS, type PortSet } from './server-ports.ts';

export class PodState {
  readonly uid: string;
  slim: SlimPod;
  endpoint: Endpoint;
  /** The pod's node as an endpoint (what a hostNetwork pod's address means when no port matches). */
  nodeEp: Endpoint;
  host: boolean;
  startMs: number;
  /** Infinity while the pod holds its addresses. */
  endMs: number;
  /** The end is a completion time (finishedAt), which is exact; a deletion is observed late. */
  completed: boolean;
  /** containerPorts only: what makes a hostNetwork pod, rather than its node, the endpoint. */
  containerPorts: PortSet = NO_PORTS;
  /** containerPorts plus the ports and targetPorts of Services selecting the pod. */
  serverPorts: PortSet = NO_PORTS;
  /** Clock time of deletion, or -1 while present. */
  goneAt = -1;

  constructor(slim: SlimPod, endpoint: Endpoint) {
    this.uid = slim.uid;
    this.slim = slim;
    this.endpoint = endpoint;
    this.nodeEp = nodeEndpoint(slim.nodeName);
    this.host = slim.hostNetwork;
    this.startMs = slim.startMs;
    this.endMs = slim.endMs ?? Infinity;
    this.completed = slim.endMs !== undefined;
  }
}

export const NO_PODS: readonly PodState[] = Object.freeze([]);

export class IpEntry {
  /** Pods (not hostNetwork) that held the address, each with its interval. */
  pods: readonly PodState[] = NO_PODS;
  /** hostNetwork pods on the node that owns the address. */
  hosts: readonly PodState[] = NO_PODS;
  node: Endpoint | null = null;
  service: Endpoint | null = null;
  servicePorts: PortSet = NO_PORTS;
  /**
   * The common case copied inline (one pod ever held the address), so a lookup reads this
   * object and nothing else: the pod's endpoint, interval and server ports, or null.
   */
  sole: Endpoint | null = null;
  // Times in ms are past 2^30: doubles from the start (see DOUBLE_ZERO), so the first pod with a
  // real start time does not change the entry's hidden class under optimised lookups.
  soleStart = DOUBLE_ZERO;
  soleEnd = DOUBLE_ZERO;
  solePorts: PortSet = NO_PORTS;

  refresh(): void {
    if (this.pods.length === 1) {
      const p = this.pods[0];
      this.sole = p.endpoint;
      this.soleStart = p.startMs;
      this.soleEnd = p.endMs;
      this.solePorts = p.serverPorts;
    } else {
      this.sole = null;
      this.soleStart = 0;
      this.soleEnd = 0;
      this.solePorts = NO_PORTS;
    }
  }

  get empty(): boolean {
    return this.pods.length === 0 && this.hosts.length === 0 && this.node === null && this.service === null;
  }
}

export function listWithout(list: readonly PodState[], st: PodState): readonly PodState[] {
  const out = list.filter((p) => p !== st);
  return out.length === 0 ? NO_PODS : out;
}

/**
 * What a lookup found beyond the endpoint (IdentityIndex's public fields of the same names): the
 * server ports that decide roles, and the span of flow end times over which the same address
 * gives the same answer at any port (empty, from > to, when the answer depends on the port or on
 * time within the entry).
 */
export interface Hit {
  hitPorts: PortSet;
  hitFrom: number;
  hitTo: number;
}

/** A hit without server ports; its answer holds at any time when `timeless`, else only now. */
export function noPorts(hit: Hit, timeless: boolean): void {
  hit.hitPorts = NO_PORTS;
  hit.hitFrom = timeless ? -Infinity : Infinity;
  hit.hitTo = timeless ? Infinity : -Infinity;
}

/**
 * What the address meant at `t` for a flow on this protocol and port, or null when nothing held
 * it then; sets `hit`. Everything but the one-pod fast path, which the index reads inline.
 */
export function endpointAt(e: IpEntry, proto: number, port: number, t: number, skewMs: number, hit: Hit): Endpoint | null {
  const pods = e.pods;
  // Node and Service addresses mean the same at any time and port; pod history does not.
  noPorts(hit, pods.length === 0 && e.hosts.length === 0);
  if (pods.length > 0) {
    const p = holderAt(pods, t, skewMs);
    if (p !== null) {
      hit.hitPorts = p.serverPorts;
      // Held at t (not only within the clock-skew margin): the answer holds while p alone held the address.
      if (p.startMs <= t && t <= p.endMs) onlyHolderSpan(pods, p, t, hit);
      return p.endpoint;
    }
  }
  const hosts = e.hosts;
  // A hostNetwork pod that held the address then: the node's (known from the pod when the
  // node object is not), unless the pod declares the flow's port.
  let hostNode: Endpoint | null = null;
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i];
    if (h.startMs - skewMs <= t && t <= h.endMs + skewMs) {
      if (hasPort(h.containerPorts, proto, port)) {
        hit.hitPorts = h.serverPorts;
        return h.endpoint;
      }
      hostNode = h.nodeEp;
    }
  }
  if (e.node !== null) return e.node;
  if (hostNode !== null) return hostNode;
  if (e.service !== null) hit.hitPorts = e.servicePorts;
  return e.service;
}

/**
 * Sets hitFrom/hitTo to the span around `t` in which `p`, which held the address at `t`, was the
 * only pod of `pods` that held it (an address reused by pod after pod is still remembered for
 * the current one); empty when another pod held it at `t` too.
 */
function onlyHolderSpan(pods: readonly PodState[], p: PodState, t: number, hit: Hit): void {
  let from = p.startMs;
  let to = p.endMs;
  for (let i = 0; i < pods.length; i++) {
    const q = pods[i];
    if (q === p) continue;
    if (q.endMs < t) {
      if (q.endMs >= from) from = q.endMs + 1;
    } else if (q.startMs > t) {
      if (q.startMs <= to) to = q.startMs - 1;
    } else {
      from = Infinity;
      to = -Infinity;
      break;
    }
  }
  hit.hitFrom = from;
  hit.hitTo = to;
}

/**
 * The pod that held the address at `t`. When intervals overlap (API times are coarse), a
 * pod that completed covers its own run to the end, otherwise the later start is the newer
 * holder. When no interval covers `t`, the nearest holder within the clock-skew margin.
 */
function holderAt(pods: readonly PodState[], t: number, skewMs: number): PodState | null {
  let best: PodState | null = null;
  for (let i = 0; i < pods.length; i++) {
    const p = pods[i];
    if (p.startMs <= t && t <= p.endMs) {
      if (best === null) {
        best = p;
        continue;
      }
      if (p.completed !== best.completed) {
        if (p.completed) best = p;
        continue;
      }
      if (p.startMs > best.startMs) best = p;
    }
  }
  if (best !== null) return best;
  let bestDist = skewMs;
  for (let i = 0; i < pods.length; i++) {
    const p = pods[i];
    const d = t < p.startMs ? p.startMs - t : t - p.endMs;
    if (d <= bestDist) {
      bestDist = d;
      best = p;
    }
  }
  return best;
}
