/**
 * Turns per-pair rates into the Node Graph shape that Grafana's Node Graph panel, the Infinity
 * datasource, the archived hamedkarbasi93-nodegraphapi-datasource plugin and our own map page read.
 *
 * Nodes are keyed by (namespace, app): the seed keyed them by app alone, so `api` in `shop` and
 * `api` in `billing` collapsed into one node. Where a pair's role is known, both directions of a
 * conversation become one edge from client to server with request and response bytes; where it is
 * not, the edge runs from source to destination.
 */
import type { Role } from '../../identify/endpoint.ts';
import type { Prices } from '../../config/prices.ts';
import { CLASS_COLOURS, costPerHour, dominantClass, summarize, type ZoneSummary } from './zones.ts';

/** One pair's rates over the asked window (per second). */
export interface PairRate {
  readonly srcNamespace: string;
  readonly srcApp: string;
  readonly dstNamespace: string;
  readonly dstApp: string;
  readonly role: Role;
  readonly bytesPerS: number;
  readonly packetsPerS: number;
  readonly flowsPerS: number;
  /** Endpoint kinds when the source knows them (the live store does; Prometheus does not). */
  readonly srcKind?: string;
  readonly dstKind?: string;
  /** Bytes per second per zone class code (see zone-class.ts), when the source knows them (the live store). */
  readonly classBytesPerS?: readonly number[];
}

export interface GraphNode {
  id: string;
  title: string;
  subtitle: string;
  mainstat: number;
  secondarystat: number;
  arc__sent: number;
  arc__received: number;
  detail__namespace: string;
  detail__app: string;
  detail__kind: string;
  detail__sent_bytes_per_s: number;
  detail__received_bytes_per_s: number;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  mainstat: number;
  secondarystat: number;
  detail__direction: 'client-server' | 'source-destination';
  detail__request_bytes_per_s: number;
  detail__response_bytes_per_s: number;
  detail__packets_per_s: number;
  detail__flows_per_s: number;
  /** The zone class most of the edge's bytes have, and what the edge costs per hour under --prices. */
  detail__class: string;
  detail__cost_per_hour: number;
  /** Grafana's edge colour: set for cross-zone, cross-region and internet edges. */
  color: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Totals per zone class for the map page's header (Grafana ignores it). */
  zones?: ZoneSummary;
}

export interface FieldSpec {
  field_name: string;
  type: 'string' | 'number';
  displayName?: string;
  color?: string;
}

/** The plugin reads `nodes_fields` / `edges_fields`; field names follow Grafana's lower-case node graph names. */
export const NODE_FIELDS: readonly FieldSpec[] = [
  { field_name: 'id', type: 'string' },
  { field_name: 'title', type: 'string', displayName: 'App' },
  { field_name: 'subtitle', type: 'string', displayName: 'Namespace' },
  { field_name: 'mainstat', type: 'number', displayName: 'Bytes/s (sent + received)' },
  { field_name: 'secondarystat', type: 'number', displayName: 'Flows/s' },
  { field_name: 'arc__sent', type: 'number', displayName: 'Share sent', color: '#3d7dd8' },
  { field_name: 'arc__received', type: 'number', displayName: 'Share received', color: '#2fa37a' },
  { field_name: 'detail__namespace', type: 'string', displayName: 'Namespace' },
  { field_name: 'detail__app', type: 'string', displayName: 'App' },
  { field_name: 'detail__kind', type: 'string', displayName: 'Kind' },
  { field_name: 'detail__sent_bytes_per_s', type: 'number', displayName: 'Sent bytes/s' },
  { field_name: 'detail__received_bytes_per_s', type: 'number', displayName: 'Received bytes/s' },
];

export const EDGE_FIELDS: readonly FieldSpec[] = [
  { field_name: 'id', type: 'string' },
  { field_name: 'source', type: 'string' },
  { field_name: 'target', type: 'string' },
  { field_name: 'mainstat', type: 'number', displayName: 'Bytes/s' },
  { field_name: 'secondarystat', type: 'number', displayName: 'Flows/s' },
  { field_name: 'detail__direction', type: 'string', displayName: 'Direction' },
  { field_name: 'detail__request_bytes_per_s', type: 'number', displayName: 'Request bytes/s' },
  { field_name: 'detail__response_bytes_per_s', type: 'number', displayName: 'Response bytes/s' },
  { field_name: 'detail__packets_per_s', type: 'number', displayName: 'Packets/s' },
  { field_name: 'detail__flows_per_s', type: 'number', displayName: 'Flows/s' },
  { field_name: 'detail__class', type: 'string', displayName: 'Zone class' },
  { field_name: 'detail__cost_per_hour', type: 'number', displayName: 'Cost/h' },
  { field_name: 'color', type: 'string' },
];

/** Namespace and app cannot hold a `/` (namespaces are DNS labels), so the id is unambiguous. */
export const nodeId = (namespace: string, app: string): string => `${namespace}/${app}`;
export const edgeId = (source: string, target: string): string => `${source}->${target}`;

/** The seed's pseudo namespaces: a node in one of them is that kind of thing, whatever else is known. */
const PSEUDO_NAMESPACES: ReadonlySet<string> = new Set(['external', 'unknown', 'node']);

/** What kind of thing a node is, when the source did not say. */
export function kindOf(namespace: string, known?: string): string {
  if (known) return known;
  if (PSEUDO_NAMESPACES.has(namespace)) return namespace;
  return 'workload';
}

/** Rounds rates for the wire: enough digits for a graph, no 17-digit noise. */
const round = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : 0);

export function buildGraph(rates: Iterable<PairRate>, prices?: Prices): Graph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const edgeClassBytes = new Map<GraphEdge, number[]>();
  // What an edge costs: the bytes its in-cluster ends sent (inbound traffic is not billed).
  const edgeBilled = new Map<GraphEdge, number[]>();
  // The sender pays: each rate's bytes are its source's, whatever the edge's direction.
  const senderClassBytes = new Map<string, number[]>();

  const node = (namespace: string, app: string, kind: string | undefined): GraphNode => {
    const id = nodeId(namespace, app);
    let n = nodes.get(id);
    if (!n) {
      n = {
        id,
        title: app,
        subtitle: namespace,
        mainstat: 0,
        secondarystat: 0,
        arc__sent: 0,
        arc__received: 0,
        detail__namespace: namespace,
        detail__app: app,
        detail__kind: kindOf(namespace, kind),
        detail__sent_bytes_per_s: 0,
        detail__received_bytes_per_s: 0,
      };
      nodes.set(id, n);
    } else if (kind && n.detail__kind !== kind && !PSEUDO_NAMESPACES.has(n.detail__kind)) {
      // One app can be reached as its pods and as its Service: say both.
      if (!n.detail__kind.split('+').includes(kind)) n.detail__kind = `${n.detail__kind}+${kind}`;
    }
    return n;
  };

  for (const r of rates) {
    if (!(r.bytesPerS > 0 || r.packetsPerS > 0 || r.flowsPerS > 0)) continue;
    const src = node(r.srcNamespace, r.srcApp, r.srcKind);
    const dst = node(r.dstNamespace, r.dstApp, r.dstKind);
    // The sender of these bytes is always the record's source, whatever the role.
    src.detail__sent_bytes_per_s += r.bytesPerS;
    dst.detail__received_bytes_per_s += r.bytesPerS;
    src.secondarystat += r.flowsPerS;
    if (dst !== src) dst.secondarystat += r.flowsPerS;

    const known = r.role === 'src-client' || r.role === 'src-server';
    const [from, to] = r.role === 'src-server' ? [dst, src] : [src, dst];
    const id = edgeId(from.id, to.id);
    let e = edges.get(id);
    if (!e) {
      e = {
        id,
        source: from.id,
        target: to.id,
        mainstat: 0,
        secondarystat: 0,
        detail__direction: known ? 'client-server' : 'source-destination',
        detail__request_bytes_per_s: 0,
        detail__response_bytes_per_s: 0,
        detail__packets_per_s: 0,
        detail__flows_per_s: 0,
        detail__class: 'unknown',
        detail__cost_per_hour: 0,
        color: '',
      };
      edges.set(id, e);
    } else if (known) {
      e.detail__direction = 'client-server';
    }
    if (r.role === 'src-server') e.detail__response_bytes_per_s += r.bytesPerS;
    else e.detail__request_bytes_per_s += r.bytesPerS;
    e.mainstat += r.bytesPerS;
    e.detail__packets_per_s += r.packetsPerS;
    e.detail__flows_per_s += r.flowsPerS;
    e.secondarystat += r.flowsPerS;
    if (r.classBytesPerS !== undefined) {
      let cb = edgeClassBytes.get(e);
      if (cb === undefined) edgeClassBytes.set(e, (cb = [0, 0, 0, 0, 0, 0, 0]));
      for (let c = 0; c < cb.length; c++) cb[c] += r.classBytesPerS[c] ?? 0;
      if (src.detail__kind !== 'external' && src.detail__kind !== 'unknown') {
        let bb = edgeBilled.get(e);
        if (bb === undefined) edgeBilled.set(e, (bb = [0, 0, 0, 0, 0, 0, 0]));
        let sb = senderClassBytes.get(src.id);
        if (sb === undefined) senderClassBytes.set(src.id, (sb = [0, 0, 0, 0, 0, 0, 0]));
        for (let c = 0; c < bb.length; c++) {
          bb[c] += r.classBytesPerS[c] ?? 0;
          sb[c] += r.classBytesPerS[c] ?? 0;
        }
      }
    }
  }
  for (const [e, cb] of edgeClassBytes) {
    const cls = dominantClass(cb);
    e.detail__class = cls;
    e.color = CLASS_COLOURS[cls] ?? '';
    e.detail__cost_per_hour = Math.round(costPerHour(edgeBilled.get(e), prices) * 1e6) / 1e6;
  }

  for (const n of nodes.values()) {
    const total = n.detail__sent_bytes_per_s + n.detail__received_bytes_per_s;
    n.mainstat = round(total);
    n.secondarystat = round(n.secondarystat);
    n.arc__sent = total > 0 ? round(n.detail__sent_bytes_per_s / total) : 0;
    n.arc__received = total > 0 ? round(1 - n.arc__sent) : 0;
    n.detail__sent_bytes_per_s = round(n.detail__sent_bytes_per_s);
    n.detail__received_bytes_per_s = round(n.detail__received_bytes_per_s);
  }
  for (const e of edges.values()) {
    e.mainstat = round(e.mainstat);
    e.secondarystat = round(e.secondarystat);
    e.detail__request_bytes_per_s = round(e.detail__request_bytes_per_s);
    e.detail__response_bytes_per_s = round(e.detail__response_bytes_per_s);
    e.detail__packets_per_s = round(e.detail__packets_per_s);
    e.detail__flows_per_s = round(e.detail__flows_per_s);
  }
  const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const graph: Graph = { nodes: [...nodes.values()].sort(byId), edges: [...edges.values()].sort(byId) };
  if (edgeClassBytes.size > 0) graph.zones = summarize(edgeClassBytes.values(), prices, senderClassBytes, edgeBilled.values());
  return graph;
}
