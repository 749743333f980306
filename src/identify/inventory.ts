/**
 * The slim inventory: only what the identity index needs, never whole API objects (5,000 full
 * pods cost 35-50 MB; slim they cost about 2 MB). Both inventory sources, the static file and the
 * live informers, turn API objects into these and feed them to an InventoryListener.
 */

export interface SlimPort {
  readonly port: number;
  readonly name?: string;
  /** TCP, UDP or SCTP. */
  readonly protocol: string;
}

export interface SlimPod {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  readonly hostNetwork: boolean;
  /** status.podIPs (v4 and v6), or status.podIP. */
  readonly ips: readonly string[];
  /** Pending, Running, Succeeded, Failed, Unknown. */
  readonly phase: string;
  /** When the pod began to hold its IPs (status.startTime, else creationTimestamp), epoch ms. */
  readonly startMs: number;
  /** When it stopped: completion (Succeeded/Failed: latest container finishedAt) or deletion; undefined while live. */
  readonly endMs?: number;
  /** The app name already resolved by label precedence, or '' when no label in the list is set. */
  readonly appLabel: string;
  /** The owner workload, already resolved (ReplicaSet to Deployment, Job to CronJob where one owns it). */
  readonly ownerKind: string;
  readonly ownerName: string;
  /** Pod labels, kept for Service selectors (a Service's ports make its pods servers). */
  readonly labels: Readonly<Record<string, string>>;
  /** containerPorts declared by the pod's containers, with their names for named targetPorts. */
  readonly ports: readonly SlimPort[];
}

export interface SlimNode {
  readonly name: string;
  /** InternalIP and ExternalIP addresses (and pod CIDR gateway addresses are not included). */
  readonly addresses: readonly string[];
  /** topology.kubernetes.io/zone and /region (failure-domain.beta.* as fallback); absent when unlabelled. */
  readonly zone?: string;
  readonly region?: string;
}

export interface SlimService {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly clusterIPs: readonly string[];
  readonly ports: readonly SlimPort[];
  /** Target ports: a number, or a container port name resolved through the selected pods' ports. */
  readonly targetPorts: readonly (number | string)[];
  readonly selector: Readonly<Record<string, string>>;
}

/** What an inventory source drives. Deletions are by UID (pods, services) or name (nodes), never by IP. */
export interface InventoryListener {
  upsertPod(pod: SlimPod): void;
  deletePod(uid: string, atMs: number): void;
  upsertNode(node: SlimNode): void;
  deleteNode(name: string): void;
  upsertService(svc: SlimService): void;
  deleteService(uid: string): void;
}
