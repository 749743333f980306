/**
 * The identity index: flow addresses to interned Endpoints, time-aware through pod churn. This
 * class is the facade; the parts it drives are:
 *
 * - address-table.ts: one IpEntry per address the inventory knows, and the log of changed ones;
 * - address-history.ts: what an address meant over time (the pods that held it, each with its
 *   own interval, its hostNetwork pods, node and Service) and which of them a flow's end time
 *   picks, so flows reported late (ipt-netflow: up to its 1800 s active timeout) still land on
 *   the pod that sent them;
 * - pod-registry.ts: the pods by UID, namespace and node; deleted ones are removed only
 *   `retentionMs` after their deletion, so history stays bounded under churn;
 * - server-ports.ts: the Services and the ports that make an end the server of a flow;
 * - externals.ts: addresses outside the inventory (named networks, DNS names, ASN).
 *
 * Lookups (resolveSrc / resolveDst / role) allocate nothing.
 */
import { internPlace, NOWHERE, type Place } from '../aggregate/zone-class.ts';
import type { FlowRecord } from '../decode/record.ts';
import type { DnsNames } from '../dns/dns-names.ts';
import { endpointAt, type IpEntry, noPorts, PodState } from './address-history.ts';
import { AddressTable } from './address-table.ts';
import type { AsnDatabase } from './asn.ts';
import type { Endpoint, Role } from './endpoint.ts';
import { Externals } from './externals.ts';
import { internedCount, internEndpoint, nodeEndpoint, UNKNOWN_ENDPOINT } from './intern.ts';
import type { InventoryListener, SlimNode, SlimPod, SlimService } from './inventory.ts';
import { mappedIPv4, type ParsedAddress, parseAddress, parseAddresses } from './ip.ts';
import type { NamedNetworks } from './networks.ts';
import { PodRegistry } from './pod-registry.ts';
import { makePortSet, NO_PORTS, PortRoles, type PortSet, portKey, type ServiceState, ServerPorts, selects } from './server-ports.ts';
import { appOf } from './workload-names.ts';
import { unnamedPlace } from './zones.ts';

export { UNKNOWN_ENDPOINT } from './intern.ts';

export interface IdentityIndexOptions {
  /** The ephemeral (client) port range, inclusive. Default 32768–60999 (Linux). */
  readonly ephemeralPorts?: readonly [number, number];
  /** How long a deleted pod's history is kept for late flows. Default 3,600,000 (2 × ipt-netflow's 1800 s active timeout). */
  readonly retentionMs?: number;
  /**
   * A flow whose end time falls just outside every interval of an address still goes to the
   * nearest holder within this margin (API timestamps have 1 s resolution; clocks drift). Default 5000.
   */
  readonly clockSkewMs?: number;
  /** Named CIDRs for external addresses (narrowest wins). */
  readonly networks?: NamedNetworks;
  /** ASN database for external addresses not in a named CIDR. */
  readonly asn?: AsnDatabase;
  /** Names the pods resolved (dnstap): external ends get them below named networks and above the ASN. */
  readonly dnsNames?: DnsNames;
  /** DNS names above named networks. */
  readonly dnsOverNetworks?: boolean;
  /** Most external addresses remembered; the cache starts over when full. Default 65,536 per family. */
  readonly externalCacheSize?: number;
  /** Clock for flows without times and for deletion bookkeeping. Default Date.now. */
  readonly now?: () => number;
}

export interface IdentityStats {
  /** Pods present in the inventory (any phase). */
  readonly pods: number;
  /** Deleted pods still kept for late flows. */
  readonly podsRetained: number;
  /** Deleted pods whose history was dropped after the retention time. */
  readonly podsPruned: number;
  readonly nodes: number;
  readonly services: number;
  /** Addresses in the inventory tables. */
  readonly ipv4Addresses: number;
  readonly ipv6Addresses: number;
  /** Addresses outside the inventory, named and cached. */
  readonly externalCached: number;
  /** Interned endpoint identities alive in this thread. */
  readonly endpoints: number;
  /** Bytes held by the address tables' own arrays (not the objects they point to). */
  readonly tableBytes: number;
}

interface NodeState {
  readonly endpoint: Endpoint;
  readonly addrs: readonly ParsedAddress[];
  /** Its zone and region (NOWHERE when unlabelled). */
  readonly place: Place;
}

export class IdentityIndex implements InventoryListener {
  /** Set by the inventory source once every kind has been listed in full; never serve a half-synced index as ready. */
  ready = false;
  /**
   * What the last lookup found beyond the endpoint: the server ports that decide roles, and the
   * span of flow end times over which the same address gives the same answer at any port
   * (empty, from > to, when the answer depends on the port or on time within the entry). A
   * caller may remember the answer for that span, until takeChanges() lists the address.
   */
  hitPorts: PortSet = NO_PORTS;
  hitFrom = -Infinity;
  hitTo = Infinity;
  /** The DNS name table (dnstap), when on; its answers depend on time and client, so they are never cached here. */
  readonly dnsNames: DnsNames | undefined;

  readonly #addrs = new AddressTable();
  readonly #ports = new ServerPorts();
  readonly #externals: Externals;
  readonly #roles: PortRoles;
  readonly #pods = new PodRegistry();
  readonly #nodes = new Map<string, NodeState>();
  /** Server ports of the last resolved source and destination. */
  #srcEp: Endpoint | null = null;
  #srcPorts: PortSet = NO_PORTS;
  #dstEp: Endpoint | null = null;
  #dstPorts: PortSet = NO_PORTS;
  readonly #retentionMs: number;
  readonly #skewMs: number;
  readonly #now: () => number;

  constructor(opts: IdentityIndexOptions = {}) {
    this.#roles = new PortRoles(opts.ephemeralPorts ?? [32768, 60999]);
    this.#retentionMs = opts.retentionMs ?? 3_600_000;
    this.#skewMs = opts.clockSkewMs ?? 5000;
    this.#now = opts.now ?? Date.now;
    this.dnsNames = opts.dnsNames;
    this.#externals = new Externals(opts);
    if (this.dnsNames !== undefined)
      this.dnsNames.onChange = (family, v4, v6) => this.#addrs.changed(family === 4 ? { family, v4 } : { family, v6: v6! });
  }

  /**
   * Rises with every change to what an address means; takeChanges() says which IPv4 addresses
   * changed, so a caller that remembers answers (the receiving thread's AddressMemo) can forget
   * just those.
   */
  get generation(): number {
    return this.#addrs.generation;
  }

  // ---- the hot path -------------------------------------------------------------------------

  /** The flow's source, as it was at the flow's end time. */
  resolveSrc(rec: FlowRecord): Endpoint {
    const t = rec.endMs > 0 ? rec.endMs : this.#now();
    const ep =
      rec.family === 4
        ? this.lookup4(rec.src4, rec.proto, rec.srcPort, t, rec.dst4)
        : this.lookup6(rec.src6, rec.proto, rec.srcPort, t, rec.dst6);
    this.#srcEp = ep;
    this.#srcPorts = this.hitPorts;
    return ep;
  }

  /** The flow's destination, as it was at the flow's end time. */
  resolveDst(rec: FlowRecord): Endpoint {
    const t = rec.endMs > 0 ? rec.endMs : this.#now();
    const ep =
      rec.family === 4
        ? this.lookup4(rec.dst4, rec.proto, rec.dstPort, t, rec.src4)
        : this.lookup6(rec.dst6, rec.proto, rec.dstPort, t, rec.src6);
    this.#dstEp = ep;
    this.#dstPorts = this.hitPorts;
    return ep;
  }

  /** Which side is the client, from ports only (PortRoles). */
  role(rec: FlowRecord, src: Endpoint, dst: Endpoint): Role {
    // The ports of the endpoints just resolved are at hand; others are looked up by id.
    const srcPorts = src === this.#srcEp ? this.#srcPorts : this.#ports.of(src);
    const dstPorts = dst === this.#dstEp ? this.#dstPorts : this.#ports.of(dst);
    return this.#roles.roleOf(rec, srcPorts, dstPorts);
  }

  /** role() with each side's server ports given (as hitPorts reported them). */
  roleOfPorts(rec: FlowRecord, srcPorts: PortSet, dstPorts: PortSet): Role {
    return this.#roles.roleOf(rec, srcPorts, dstPorts);
  }

  /** IPv4 address (uint32) with the flow's protocol, this side's port and time; `peer` is the other end's address (for DNS names). */
  lookup4(ip: number, proto: number, port: number, t: number, peer = -1): Endpoint {
    const e = this.#addrs.v4.get(ip);
    if (e !== undefined) {
      const ep = this.#fromEntry(e, proto, port, t);
      if (ep !== null) return ep;
    }
    noPorts(this, e === undefined);
    return this.#externals.name4(ip, peer, t, this);
  }

  lookup6(b: Uint8Array, proto: number, port: number, t: number, peer: Uint8Array | null = null): Endpoint {
    const mapped = mappedIPv4(b);
    if (mapped >= 0) return this.lookup4(mapped, proto, port, t, peer === null ? -1 : mappedIPv4(peer));
    const e = this.#addrs.v6.get(b);
    if (e !== undefined) {
      const ep = this.#fromEntry(e, proto, port, t);
      if (ep !== null) return ep;
    }
    noPorts(this, e === undefined);
    return this.#externals.name6(b, peer, t, this);
  }

  /** The common case inline (one pod ever held the address, and held it at t), else the entry's history. */
  #fromEntry(e: IpEntry, proto: number, port: number, t: number): Endpoint | null {
    const sole = e.sole;
    if (sole !== null && e.soleStart <= t && t <= e.soleEnd) {
      this.hitPorts = e.solePorts;
      this.hitFrom = e.soleStart;
      this.hitTo = e.soleEnd;
      return sole;
    }
    return endpointAt(e, proto, port, t, this.#skewMs, this);
  }

  // ---- convenience (allocates: not for the per-record path) ---------------------------------

  /** Endpoint of an address given as text, at time `t` (default now), with an optional port/protocol. */
  lookup(address: string, opts: { port?: number; proto?: number; t?: number } = {}): Endpoint {
    const a = parseAddress(address);
    if (!a) return UNKNOWN_ENDPOINT;
    const t = opts.t ?? this.#now();
    return a.family === 4 ? this.lookup4(a.v4, opts.proto ?? 6, opts.port ?? 0, t) : this.lookup6(a.v6, opts.proto ?? 6, opts.port ?? 0, t);
  }

  /** The node that owns an address (an exporter's address), for counting each flow once. */
  nodeByAddress(address: string): string | undefined {
    const a = parseAddress(address);
    return a ? this.#addrs.nodeOf(a) : undefined;
  }

  /** The ports that make this endpoint the server side of a flow, as `PROTO/port` text (for tests and debugging). */
  serverPortsOf(ep: Endpoint): string[] {
    return this.#ports.describe(ep);
  }

  get stats(): IdentityStats {
    return {
      pods: this.#pods.present,
      podsRetained: this.#pods.retained,
      podsPruned: this.#pods.pruned,
      nodes: this.#nodes.size,
      services: this.#ports.services,
      ipv4Addresses: this.#addrs.v4.size,
      ipv6Addresses: this.#addrs.v6.size,
      externalCached: this.#externals.size,
      endpoints: internedCount(),
      tableBytes: this.#addrs.bytes + this.#externals.bytes,
    };
  }

  /**
   * The IPv4 addresses whose answer may have changed since the last call, or null when more
   * changed than are worth listing (forget everything). For the one caller that remembers answers.
   */
  takeChanges(): readonly number[] | null {
    return this.#addrs.takeChanges();
  }

  /**
   * Where a resolved end is, for zone classes (allocates nothing; not for every record: callers
   * remember it per address). Pods, hostNetwork pods and node addresses are where their node is;
   * a named network where it says; an ASN-named address is on the internet; an address nobody
   * names is the internet when public, outside the cluster when private, else nowhere. A Service
   * ClusterIP is nowhere: its backends may be in any zone.
   */
  placeOf(ep: Endpoint, ip4: number, ip6: Uint8Array | null): Place {
    switch (ep.kind) {
      case 'pod':
      case 'node':
        return this.nodePlace(ep.nodeName);
      case 'external':
        return this.#externals.placeOf(ep);
      case 'unknown':
        return unnamedPlace(ip4, ip6);
      default:
        return NOWHERE;
    }
  }

  /** The zone and region of a node (NOWHERE while the node is not known or not labelled). */
  nodePlace(name: string): Place {
    return this.#nodes.get(name)?.place ?? NOWHERE;
  }

  // ---- inventory ----------------------------------------------------------------------------

  upsertPod(slim: SlimPod): void {
    this.prune();
    const existing = this.#pods.get(slim.uid);
    // A deletion is final for a UID: a late or replayed update must not bring the pod back.
    if (existing !== undefined && existing.goneAt >= 0) return;
    const endpoint = internEndpoint({
      kind: 'pod',
      namespace: slim.namespace,
      name: slim.name,
      app: appOf(slim),
      ownerKind: slim.ownerKind,
      ownerName: slim.ownerName,
      nodeName: slim.nodeName,
    });
    if (existing !== undefined) {
      // Unhooked everywhere it was referenced, so a fresh state can take its place.
      this.#addrs.detachPod(existing);
      this.#ports.setPod(existing, NO_PORTS);
    }
    const st = new PodState(slim, endpoint);
    st.containerPorts = makePortSet(slim.ports.map((p) => portKey(p.protocol, p.port)));
    this.#pods.put(st, existing);
    this.#ports.setPod(st, this.#ports.forPod(st.slim, st.containerPorts));
    this.#addrs.attachPod(st);
  }

  deletePod(uid: string, atMs: number): void {
    this.prune();
    const st = this.#pods.get(uid);
    if (st === undefined || st.goneAt >= 0) return;
    if (atMs < st.endMs) st.endMs = Math.max(atMs, st.startMs);
    this.#pods.markGone(st, this.#now());
    this.#addrs.refreshPod(st);
  }

  upsertNode(node: SlimNode): void {
    const before = this.nodePlace(node.name);
    this.#removeNode(node.name);
    const place = internPlace(node.zone ?? '', node.region ?? '', '');
    const st: NodeState = { endpoint: nodeEndpoint(node.name), addrs: parseAddresses(node.addresses), place };
    this.#nodes.set(node.name, st);
    this.#addrs.setNode(st.addrs, st.endpoint);
    if (place !== before) this.#replacePods(node.name);
  }

  deleteNode(name: string): void {
    const before = this.nodePlace(name);
    this.#removeNode(name);
    if (before !== NOWHERE) this.#replacePods(name);
  }

  upsertService(svc: SlimService): void {
    const old = this.#ports.service(svc.uid);
    if (old !== undefined) this.#removeService(old);
    const st = this.#ports.addService(svc);
    this.#addrs.setService(st.addrs, st.endpoint, st.ports);
    this.#refreshPodsFor(svc, old?.slim);
  }

  deleteService(uid: string): void {
    const st = this.#ports.service(uid);
    if (st === undefined) return;
    this.#removeService(st);
    this.#refreshPodsFor(undefined, st.slim);
  }

  /** Drop the history of pods deleted more than `retentionMs` ago. Runs on every inventory change too. */
  prune(nowMs: number = this.#now()): void {
    this.#pods.prune(nowMs - this.#retentionMs, (st) => {
      this.#addrs.detachPod(st);
      this.#ports.setPod(st, NO_PORTS);
    });
  }

  // ---- internals ----------------------------------------------------------------------------

  #removeNode(name: string): void {
    const st = this.#nodes.get(name);
    if (st === undefined) return;
    this.#nodes.delete(name);
    this.#addrs.clearNode(st.addrs, st.endpoint);
  }

  /**
   * A node's zone or region changed (or the node came or went): its pods' addresses, deleted
   * pods kept for late flows too, are listed as changed, so a caller that remembers what an
   * address means (and where it is) learns it again. Their flows move to the new class from now
   * on; counts already made stay where they were.
   */
  #replacePods(nodeName: string): void {
    const pods = this.#pods.onNode(nodeName);
    if (pods === undefined) return;
    for (const st of pods) this.#addrs.refreshPod(st);
  }

  #removeService(st: ServiceState): void {
    this.#ports.removeService(st);
    this.#addrs.clearService(st.addrs, st.endpoint);
  }

  /** Recompute the server ports of live pods in the service's namespace that either selector matched. */
  #refreshPodsFor(now: SlimService | undefined, before: SlimService | undefined): void {
    const ns = (now ?? before)?.namespace;
    if (ns === undefined) return;
    const pods = this.#pods.inNamespace(ns);
    if (!pods) return;
    for (const st of pods) {
      if ((now && selects(now, st.slim)) || (before && selects(before, st.slim))) {
        this.#ports.setPod(st, this.#ports.forPod(st.slim, st.containerPorts));
        this.#addrs.refreshPod(st);
      }
    }
  }
}
