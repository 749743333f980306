/**
 * The aggregation level decides which parts of an Endpoint name one end of a pair. Everything a
 * level does not keep is dropped from the key, so two pods of one app count into one pair at
 * the `app` level. The projected parts (an EndLabels) are also what crosses threads in deltas,
 * so a worker and the main thread must run the same level and dimensions.
 */
import type { Endpoint, EndpointKind, Role } from '../identify/endpoint.ts';
import { workloadOf } from '../identify/workload-names.ts';

export type AggregationLevel = 'app' | 'workload' | 'pod' | 'namespace';
export const AGGREGATION_LEVELS: readonly AggregationLevel[] = ['app', 'workload', 'pod', 'namespace'];

/** Opt-in extra dimensions. Direction (the role) is always part of the key; `role` only adds the Prometheus label. */
export interface Dimensions {
  readonly kind?: boolean;
  readonly role?: boolean;
  readonly protocol?: boolean;
  readonly serverPort?: boolean;
  /** Main store only: pairs split by source and destination zone (`--extra-labels zone`: srczone/dstzone). */
  readonly zone?: boolean;
}

/** One end of a pair as the level sees it. Fields the level does not determine are ''. */
export interface EndLabels {
  /** The seed's `srchost` / `dsthost` value at this level. */
  readonly host: string;
  readonly namespace: string;
  /** '' unless the level or the `kind` dimension keeps it. */
  readonly kind: EndpointKind | '';
  /** Pod, workload or app name (OTel `k8s.*.name`); '' at the namespace level. */
  readonly name: string;
  readonly ownerKind: string;
  readonly ownerName: string;
  readonly nodeName: string;
}

export function projectEndpoint(ep: Omit<Endpoint, 'id'>, level: AggregationLevel, dims: Dimensions): EndLabels {
  const keepKind = dims.kind === true;
  switch (level) {
    case 'namespace':
      return {
        host: ep.namespace,
        namespace: ep.namespace,
        kind: keepKind ? ep.kind : '',
        name: '',
        ownerKind: '',
        ownerName: '',
        nodeName: '',
      };
    case 'app':
      return {
        host: ep.app,
        namespace: ep.namespace,
        kind: keepKind ? ep.kind : '',
        name: ep.app,
        ownerKind: '',
        ownerName: '',
        nodeName: '',
      };
    case 'workload': {
      // A pod without an owner is its own workload.
      const name = workloadOf(ep);
      return { host: name, namespace: ep.namespace, kind: ep.kind, name, ownerKind: ep.ownerKind, ownerName: ep.ownerName, nodeName: '' };
    }
    case 'pod':
      return {
        host: ep.name,
        namespace: ep.namespace,
        kind: ep.kind,
        name: ep.name,
        ownerKind: ep.ownerKind,
        ownerName: ep.ownerName,
        nodeName: ep.nodeName,
      };
  }
}

/** The identity of an EndLabels; equal keys mean the same end. */
export function endKey(l: EndLabels): string {
  // \u0000 cannot occur in Kubernetes names, so the join is unambiguous. Joined from an array, the
  // key is one flat string; a template literal made a rope of a dozen nodes (240 bytes an end),
  // kept as long as the end by every Map it keys.
  return [l.host, l.namespace, l.kind, l.name, l.ownerKind, l.ownerName, l.nodeName].join('\u0000');
}

export const ROLE_CODE: Readonly<Record<Role, number>> = { unknown: 0, 'src-client': 1, 'src-server': 2 };
export const ROLES: readonly Role[] = ['unknown', 'src-client', 'src-server'];

/**
 * Packs role, protocol and server port into one number (role 2 bits, protocol 8, port 16).
 * Protocol and port are 0 unless their dimension is on.
 */
export function packDims(role: number, proto: number, port: number): number {
  return role | (proto << 2) | (port << 10);
}
export const dimsRole = (d: number): number => d & 3;
export const dimsProto = (d: number): number => (d >>> 2) & 255;
export const dimsPort = (d: number): number => (d >>> 10) & 0xffff;

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp' };

/** `tcp`, `udp`, ... or the IP protocol number as text. */
export function protocolName(proto: number): string {
  return PROTOCOL_NAMES[proto] ?? String(proto);
}

/** `request` when the source is the client, `response` when it is the server, `unknown` otherwise. */
export function directionOf(dims: number): 'request' | 'response' | 'unknown' {
  const r = dimsRole(dims);
  return r === 1 ? 'request' : r === 2 ? 'response' : 'unknown';
}
