/**
 * The OBI-style attributes of a pair, without any OpenTelemetry package: the OTLP producer and the
 * /metrics/otel page both name pairs this way, and the page must not load the SDK to do it.
 */
import type { Pair, PairStore } from '../../aggregate/pair-store.ts';
import { directionOf, protocolName, type EndLabels } from '../../aggregate/aggregation-level.ts';
import { isDnsName } from '../../dns/dns-names.ts';

export const SCOPE = { name: 'netflow-k8s', version: '0.1.0' } as const;

export const CONNECTION_METRICS = [
  { name: 'netflow.connection.count', unit: '{flow}', description: 'Flows seen between the source and destination (one per flow record)' },
  { name: 'netflow.connection.bytes', unit: 'By', description: 'Bytes sent from the source to the destination' },
  { name: 'netflow.connection.packets', unit: '{packet}', description: 'Packets sent from the source to the destination' },
] as const;

const KIND_TYPE: Readonly<Record<string, string>> = {
  pod: 'Pod',
  node: 'Node',
  service: 'Service',
  external: 'External',
  unknown: 'Unknown',
};

export type PairAttributes = Record<string, string | number>;

function endAttributes(a: PairAttributes, side: 'src' | 'dst', l: EndLabels): void {
  if (l.namespace) a[`k8s.${side}.namespace`] = l.namespace;
  if (l.name) a[`k8s.${side}.name`] = l.name;
  if (l.kind) a[`k8s.${side}.type`] = KIND_TYPE[l.kind] ?? l.kind;
  if (l.ownerName) a[`k8s.${side}.owner.name`] = l.ownerName;
  if (l.ownerKind) a[`k8s.${side}.owner.type`] = l.ownerKind;
  if (l.nodeName) a[`k8s.${side}.node.name`] = l.nodeName;
}

/**
 * The OBI-style attributes of a pair: `k8s.src.*`, `k8s.dst.*`, then the pair's own (see
 * ownAttributes).
 */
export function pairAttributes(store: PairStore, p: Pair): PairAttributes {
  const a: PairAttributes = {};
  endAttributes(a, 'src', p.src.labels);
  endAttributes(a, 'dst', p.dst.labels);
  if (p.overflow) {
    a['netflow.overflow'] = 'true';
    return a;
  }
  ownAttributes(a, store, p);
  return a;
}

/**
 * What a pair adds to its ends' attributes: `direction` (request or response where known),
 * `server.address` for an external server named by DNS, `network.transport`, `server.port` and
 * `src.zone`/`dst.zone` when those dimensions are on. Returns whether any of it depends on more
 * than the pair's dimensions (so /metrics/otel can share the text between pairs when it does not).
 */
export function ownAttributes(a: PairAttributes, store: PairStore, p: Pair): boolean {
  const dir = directionOf(p.dims);
  if (dir !== 'unknown') a.direction = dir;
  // An external server named by DNS (dnstap) is the host name the client connected to.
  const server = dir === 'request' ? p.dst.labels : dir === 'response' ? p.src.labels : undefined;
  const named = server !== undefined && server.namespace === 'external' && isDnsName(server.name);
  if (named) a['server.address'] = server.name;
  if (store.dimensions.protocol) a['network.transport'] = protocolName(p.proto);
  if (store.dimensions.serverPort && p.serverPort !== 0) a['server.port'] = p.serverPort;
  if (store.dimensions.zone) [a['src.zone'], a['dst.zone']] = store.zonesOf(p);
  return named || store.dimensions.zone === true;
}
