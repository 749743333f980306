/**
 * Server ports as the identity index keeps them: a pod's declared container ports and the ports
 * of the Services selecting it, as sorted sets of proto << 16 | port shared between the pods of
 * one workload. They decide which end of a flow is the server (IdentityIndex.roleOfPorts).
 */

const PROTO_NUM: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

/** proto << 16 | port, sorted and unique. Plain arrays of small integers: a typed array costs 3× the memory. */
export type PortSet = readonly number[];
export const NO_PORTS: PortSet = Object.freeze([]) as PortSet;

export function portKey(protocol: string, port: number): number {
  return ((PROTO_NUM[protocol.toUpperCase()] ?? 6) << 16) | (port & 0xffff);
}

/** Port sets are shared: the pods of one workload declare the same ports. Distinct sets are few. */
const portSets = new Map<string, PortSet>();

export function makePortSet(keys: number[]): PortSet {
  if (keys.length === 0) return NO_PORTS;
  const set = [...new Set(keys)].sort((a, b) => a - b);
  const key = set.join(',');
  const found = portSets.get(key);
  if (found !== undefined) return found;
  if (portSets.size >= 10_000) portSets.clear();
  const frozen = Object.freeze(set);
  portSets.set(key, frozen);
  return frozen;
}

export function hasPort(set: PortSet, proto: number, port: number): boolean {
  const key = (proto << 16) | port;
  for (let i = 0; i < set.length; i++) if (set[i] === key) return true;
  return false;
}
