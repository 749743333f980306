/**
 * Server ports as the identity index keeps them: a pod's declared container ports and the ports
 * of the Services selecting it, as sorted sets of proto << 16 | port shared between the pods of
 * one workload. They decide which end of a flow is the server (PortRoles).
 */
import type { FlowRecord } from '../decode/record.ts';
import type { Endpoint, Role } from './endpoint.ts';
import { serviceEndpoint } from './intern.ts';
import type { SlimPod, SlimService } from './inventory.ts';
import { type ParsedAddress, parseAddresses } from './ip.ts';
import { deleteIn, setIn } from './set-map.ts';

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

/**
 * Which side of a flow is the client, from ports only: a port one side declares (containerPort, or
 * a port of a Service selecting it) makes it the server; else a well-known port (< 1024) on one
 * side only; else the ephemeral range on one side only; else unknown.
 */
export class PortRoles {
  readonly #ephLo: number;
  readonly #ephHi: number;

  /** `ephemeral`: the client port range, inclusive. */
  constructor(ephemeral: readonly [number, number]) {
    const [lo, hi] = ephemeral;
    if (!(lo >= 1 && hi <= 65535 && lo <= hi)) throw new RangeError(`ephemeral port range ${lo}-${hi} is not within 1-65535`);
    this.#ephLo = lo;
    this.#ephHi = hi;
  }

  roleOf(rec: FlowRecord, srcPorts: PortSet, dstPorts: PortSet): Role {
    const proto = rec.proto;
    if (proto !== 6 && proto !== 17 && proto !== 132) return 'unknown';
    const sp = rec.srcPort;
    const dp = rec.dstPort;
    const srcServes = sp !== 0 && hasPort(srcPorts, proto, sp);
    const dstServes = dp !== 0 && hasPort(dstPorts, proto, dp);
    if (dstServes !== srcServes) return dstServes ? 'src-client' : 'src-server';
    const srcWell = sp > 0 && sp < 1024;
    const dstWell = dp > 0 && dp < 1024;
    if (dstWell !== srcWell) return dstWell ? 'src-client' : 'src-server';
    const srcEph = sp >= this.#ephLo && sp <= this.#ephHi;
    const dstEph = dp >= this.#ephLo && dp <= this.#ephHi;
    if (srcEph !== dstEph) return srcEph ? 'src-client' : 'src-server';
    return 'unknown';
  }
}

export interface ServiceState {
  readonly slim: SlimService;
  readonly endpoint: Endpoint;
  /** Its ClusterIPs. */
  readonly addrs: readonly ParsedAddress[];
  /** Its ports and numeric targetPorts; named targetPorts depend on the pod (forPod). */
  readonly ports: PortSet;
}

/** What holds server ports: a pod's state in the index. */
export interface PortHolder {
  readonly endpoint: Endpoint;
  serverPorts: PortSet;
}

/** Whether a Service's selector picks the pod (an empty selector picks none: its endpoints are managed by hand). */
export function selects(svc: SlimService, pod: SlimPod): boolean {
  const keys = Object.keys(svc.selector);
  if (keys.length === 0) return false;
  for (const k of keys) if (pod.labels[k] !== svc.selector[k]) return false;
  return true;
}

/** The Services by namespace, and the server ports of every endpoint that has some. */
export class ServerPorts {
  /** Endpoint id → the ports that make that endpoint the server of a flow. */
  readonly #byId = new Map<number, { ports: PortSet; refs: number }>();
  readonly #services = new Map<string, ServiceState>();
  readonly #servicesByNs = new Map<string, Set<ServiceState>>();

  get services(): number {
    return this.#services.size;
  }

  service(uid: string): ServiceState | undefined {
    return this.#services.get(uid);
  }

  /** The ports that make this endpoint the server side of a flow. */
  of(ep: Endpoint): PortSet {
    const s = this.#byId.get(ep.id);
    return s === undefined ? NO_PORTS : s.ports;
  }

  /** of() as `PROTO/port` text. */
  describe(ep: Endpoint): string[] {
    const names: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };
    return this.of(ep).map((k) => `${names[k >>> 16] ?? k >>> 16}/${k & 0xffff}`);
  }

  addService(svc: SlimService): ServiceState {
    const keys: number[] = [];
    svc.ports.forEach((p, i) => {
      keys.push(portKey(p.protocol, p.port));
      const tp = svc.targetPorts[i];
      if (typeof tp === 'number') keys.push(portKey(p.protocol, tp));
    });
    const st: ServiceState = {
      slim: svc,
      endpoint: serviceEndpoint(svc.namespace, svc.name),
      addrs: parseAddresses(svc.clusterIPs),
      ports: makePortSet(keys),
    };
    this.#services.set(svc.uid, st);
    setIn(this.#servicesByNs, svc.namespace).add(st);
    this.#addRef(st.endpoint, st.ports);
    return st;
  }

  removeService(st: ServiceState): void {
    this.#services.delete(st.slim.uid);
    deleteIn(this.#servicesByNs, st.slim.namespace, st);
    this.#releaseRef(st.endpoint);
  }

  /** A pod's server ports: its container ports, and the ports of the Services selecting it. */
  forPod(pod: SlimPod, containerPorts: PortSet): PortSet {
    const svcs = this.#servicesByNs.get(pod.namespace);
    if (!svcs) return containerPorts;
    const keys: number[] = [];
    for (const svc of svcs) {
      if (!selects(svc.slim, pod)) continue;
      // The service's ports and numeric targetPorts are in svc.ports already; only named
      // targetPorts depend on the pod.
      keys.push(...svc.ports);
      for (const tp of svc.slim.targetPorts) {
        if (typeof tp !== 'string') continue;
        const named = pod.ports.find((cp) => cp.name === tp);
        if (named) keys.push(portKey(named.protocol, named.port));
      }
    }
    // Pods of one workload mostly declare the same ports: share the container ports' array then.
    return keys.length === 0 ? containerPorts : makePortSet([...containerPorts, ...keys]);
  }

  /** One pod's server ports, refcounted per endpoint (a StatefulSet pod recreated under the same name shares the identity). */
  setPod(st: PortHolder, ports: PortSet): void {
    if (st.serverPorts !== NO_PORTS) this.#releaseRef(st.endpoint);
    st.serverPorts = ports;
    if (ports !== NO_PORTS) this.#addRef(st.endpoint, ports);
  }

  #addRef(ep: Endpoint, ports: PortSet): void {
    const cur = this.#byId.get(ep.id);
    if (cur === undefined) this.#byId.set(ep.id, { ports, refs: 1 });
    else {
      cur.ports = ports;
      cur.refs++;
    }
  }

  #releaseRef(ep: Endpoint): void {
    const cur = this.#byId.get(ep.id);
    if (cur !== undefined && --cur.refs <= 0) this.#byId.delete(ep.id);
  }
}
