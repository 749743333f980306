/**
 * What an address has meant over time: each pod that held it with its interval (start to
 * completion or deletion), the hostNetwork pods sharing it, the node that owns it and the Service
 * whose ClusterIP it is. One IpEntry per address the inventory knows; the identity index keeps
 * them in its open-addressing tables and picks the holder at a flow's end time.
 */
import type { Endpoint } from './endpoint.ts';
import type { SlimPod } from './inventory.ts';
import { nodeEndpoint } from './intern.ts';
import { NO_PORTS, type PortSet } from './server-ports.ts';

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
  soleStart = 0;
  soleEnd = 0;
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
