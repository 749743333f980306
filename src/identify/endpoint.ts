/**
 * What one end of a flow is, in Kubernetes terms. Endpoints are interned and immutable: the index
 * hands out the same object for the same identity, so the aggregate can key pairs by reference
 * (or by `id`) without building strings per record.
 */
export type EndpointKind = 'pod' | 'node' | 'service' | 'external' | 'unknown';

export interface Endpoint {
  /** Small integer, unique per interned endpoint for the life of the process. */
  readonly id: number;
  readonly kind: EndpointKind;
  /** Namespace; for nodes and external networks the seed's conventions apply (see identify/). */
  readonly namespace: string;
  /** Pod, node or service name; CIDR name or `AS15169 Google Inc.` for external; `unknown`. */
  readonly name: string;
  /** The seed's `srchost` / `dsthost` value: label precedence, then owner workload, then pod name. */
  readonly app: string;
  /** Owner workload kind and name (Deployment, StatefulSet, DaemonSet, CronJob, Job, custom kind), or ''. */
  readonly ownerKind: string;
  readonly ownerName: string;
  /** Node the pod runs on, or the node itself; '' when not known. */
  readonly nodeName: string;
}

/**
 * Which side of a flow is the client. Decided from ports (containerPorts, Service ports,
 * well-known ports, the ephemeral range); never from "the larger port" alone.
 */
export type Role = 'unknown' | 'src-client' | 'src-server';
