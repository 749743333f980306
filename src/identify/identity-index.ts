/**
 * The identity index: flow addresses to interned Endpoints, time-aware through pod churn.
 *
 * Every address the inventory knows has one IpEntry in an open-addressing table (v4 by uint32,
 * v6 by 16 bytes). An entry lists the pods that held the address, each with its own interval
 * (start → completion or deletion), the hostNetwork pods sharing it, the node that owns it and
 * the Service whose ClusterIP it is. A flow goes to the pod that held the address at the flow's
 * end time, so flows reported late (ipt-netflow: up to its 1800 s active timeout) still land on
 * the pod that sent them. Pods are only ever removed by UID, and only `retentionMs` after they
 * were deleted, so history stays bounded under churn.
 *
 * Lookups (resolveSrc / resolveDst / role) allocate nothing: addresses outside the inventory
 * are named once (named CIDR, then ASN, then unknown) and cached per address.
 */
import type { FlowRecord } from '../decode/record.ts';
import { ipv4ToString, ipv6ToString } from '../decode/record.ts';
import type { Endpoint, Role } from './endpoint.ts';
import type { InventoryListener, SlimNode, SlimPod, SlimService } from './inventory.ts';
import type { AsnDatabase } from './asn.ts';
import type { NamedNetworks } from './networks.ts';
import type { DnsNames } from '../dns/dns-names.ts';
import { clientKey4, clientKey6, NO_CLIENT } from '../dns/dns-names.ts';
import { UNKNOWN_ENDPOINT, externalEndpoint, internEndpoint, internedCount, nodeEndpoint, serviceEndpoint } from './intern.ts';
import { V4Table, V6Table } from './ip-table.ts';
import { mappedIPv4, parseAddress } from './ip.ts';
import type { ParsedAddress } from './ip.ts';
import { EXTERNAL, INTERNET, NOWHERE, internPlace, type Place } from '../aggregate/zone-class.ts';
import { scope4, scope6 } from './zones.ts';
import { hasPort, makePortSet, NO_PORTS, portKey, type PortSet } from './server-ports.ts';
import { IpEntry, listWithout, PodState } from './address-history.ts';

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

/** Changed addresses listed between two takeChanges(); past this, the caller forgets everything. */
const MAX_LISTED_CHANGES = 4096;

interface NodeState {
  readonly endpoint: Endpoint;
  readonly addrs: ParsedAddress[];
  /** Its zone and region (NOWHERE when unlabelled). */
  readonly place: Place;
}

interface ServiceState {
  readonly slim: SlimService;
  readonly endpoint: Endpoint;
  readonly addrs: ParsedAddress[];
  readonly ports: PortSet;
}

export class IdentityIndex implements InventoryListener {
  /** Set by the inventory source once every kind has been listed in full; never serve a half-synced index as ready. */
  ready = false;
  /**
   * Rises with every change to what an address means; takeChanges() says which IPv4 addresses
   * changed, so a caller that remembers answers (the receiving thread's AddressMemo) can forget
   * just those.
   */
  generation = 0;
  /**
   * What the last lookup found beyond the endpoint: the server ports that decide roles, and the
   * span of flow end times over which the same address gives the same answer at any port
   * (empty, from > to, when the answer depends on the port or on time within the entry). A
   * caller may remember the answer for that span, until takeChanges() lists the address.
   */
  hitPorts: PortSet = NO_PORTS;
  hitFrom = -Infinity;
  hitTo = Infinity;

  private readonly v4 = new V4Table<IpEntry>(1024);
  private readonly v6 = new V6Table<IpEntry>(64);
  private readonly ext4 = new V4Table<Endpoint>(1024);
  private readonly ext6 = new V6Table<Endpoint>(64);
  private readonly pods = new Map<string, PodState>();
  private readonly podsByNs = new Map<string, Set<PodState>>();
  /** Pods (deleted ones too, until pruned) by node: their addresses change meaning with the node's zone. */
  private readonly podsByNode = new Map<string, Set<PodState>>();
  private readonly nodes = new Map<string, NodeState>();
  private readonly services = new Map<string, ServiceState>();
  private readonly servicesByNs = new Map<string, Set<ServiceState>>();
  /** Endpoint id → the ports that make that endpoint the server of a flow. */
  private readonly serverPortsById = new Map<number, { ports: PortSet; refs: number }>();
  /** Deleted pods in deletion order (goneAt rises), pruned from the front. */
  private gone: PodState[] = [];
  private goneHead = 0;
  private changed4: number[] | null = [];
  private pruned = 0;
  private presentPods = 0;
  /** Server ports of the last resolved source and destination. */
  private srcEp: Endpoint | null = null;
  private srcPorts: PortSet = NO_PORTS;
  private dstEp: Endpoint | null = null;
  private dstPorts: PortSet = NO_PORTS;

  private readonly ephLo: number;
  private readonly ephHi: number;
  private readonly retentionMs: number;
  private readonly skewMs: number;
  private readonly networks: NamedNetworks | undefined;
  private readonly asn: AsnDatabase | undefined;
  private readonly extCacheMax: number;
  private readonly now: () => number;
  /** The DNS name table (dnstap), when on; its answers depend on time and client, so they are never cached here. */
  readonly dnsNames: DnsNames | undefined;
  private readonly dnsOverNetworks: boolean;
  /** Endpoints named by --networks, which keep their precedence over DNS names unless flipped. */
  private readonly networkEps = new Set<Endpoint>();

  constructor(opts: IdentityIndexOptions = {}) {
    const [lo, hi] = opts.ephemeralPorts ?? [32768, 60999];
    if (!(lo >= 1 && hi <= 65535 && lo <= hi)) throw new RangeError(`ephemeral port range ${lo}-${hi} is not within 1-65535`);
    this.ephLo = lo;
    this.ephHi = hi;
    this.retentionMs = opts.retentionMs ?? 3_600_000;
    this.skewMs = opts.clockSkewMs ?? 5000;
    this.networks = opts.networks;
    this.asn = opts.asn;
    this.extCacheMax = opts.externalCacheSize ?? 65_536;
    this.now = opts.now ?? Date.now;
    this.dnsNames = opts.dnsNames;
    this.dnsOverNetworks = opts.dnsOverNetworks ?? false;
    if (this.dnsNames !== undefined)
      this.dnsNames.onChange = (family, v4, v6) => this.changed(family === 4 ? { family, v4 } : { family, v6: v6! });
  }

  // ---- the hot path -------------------------------------------------------------------------

  /** The flow's source, as it was at the flow's end time. */
  resolveSrc(rec: FlowRecord): Endpoint {
    const t = rec.endMs > 0 ? rec.endMs : this.now();
    const ep =
      rec.family === 4
        ? this.lookup4(rec.src4, rec.proto, rec.srcPort, t, rec.dst4)
        : this.lookup6(rec.src6, rec.proto, rec.srcPort, t, rec.dst6);
    this.srcEp = ep;
    this.srcPorts = this.hitPorts;
    return ep;
  }

  /** The flow's destination, as it was at the flow's end time. */
  resolveDst(rec: FlowRecord): Endpoint {
    const t = rec.endMs > 0 ? rec.endMs : this.now();
    const ep =
      rec.family === 4
        ? this.lookup4(rec.dst4, rec.proto, rec.dstPort, t, rec.src4)
        : this.lookup6(rec.dst6, rec.proto, rec.dstPort, t, rec.src6);
    this.dstEp = ep;
    this.dstPorts = this.hitPorts;
    return ep;
  }

  /**
   * Which side is the client, from ports only: a port one side declares (containerPort, or a
   * port of a Service selecting it) makes it the server; else a well-known port (< 1024) on one
   * side only; else the ephemeral range on one side only; else unknown.
   */
  role(rec: FlowRecord, src: Endpoint, dst: Endpoint): Role {
    // The ports of the endpoints just resolved are at hand; others are looked up by id.
    const srcPorts = src === this.srcEp ? this.srcPorts : this.portsOf(src);
    const dstPorts = dst === this.dstEp ? this.dstPorts : this.portsOf(dst);
    return this.roleOfPorts(rec, srcPorts, dstPorts);
  }

  /** role() with each side's server ports given (as hitPorts reported them). */
  roleOfPorts(rec: FlowRecord, srcPorts: PortSet, dstPorts: PortSet): Role {
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
    const srcEph = sp >= this.ephLo && sp <= this.ephHi;
    const dstEph = dp >= this.ephLo && dp <= this.ephHi;
    if (srcEph !== dstEph) return srcEph ? 'src-client' : 'src-server';
    return 'unknown';
  }

  private portsOf(ep: Endpoint): PortSet {
    const s = this.serverPortsById.get(ep.id);
    return s === undefined ? NO_PORTS : s.ports;
  }

  /** IPv4 address (uint32) with the flow's protocol, this side's port and time; `peer` is the other end's address (for DNS names). */
  lookup4(ip: number, proto: number, port: number, t: number, peer = -1): Endpoint {
    const e = this.v4.get(ip);
    if (e !== undefined) {
      const ep = this.fromEntry(e, proto, port, t);
      if (ep !== null) return ep;
    }
    this.noPorts(e === undefined);
    const ext = this.ext4.get(ip) ?? this.cacheExternal4(ip);
    const dns = this.dnsNames;
    if (dns === undefined || (!this.dnsOverNetworks && this.networkEps.has(ext))) return ext;
    return this.dnsName(dns.name4(ip, peer < 0 ? NO_CLIENT : clientKey4(peer), t), ext);
  }

  lookup6(b: Uint8Array, proto: number, port: number, t: number, peer: Uint8Array | null = null): Endpoint {
    const mapped = mappedIPv4(b);
    if (mapped >= 0) return this.lookup4(mapped, proto, port, t, peer === null ? -1 : mappedIPv4(peer));
    const e = this.v6.get(b);
    if (e !== undefined) {
      const ep = this.fromEntry(e, proto, port, t);
      if (ep !== null) return ep;
    }
    this.noPorts(e === undefined);
    const ext = this.ext6.get(b) ?? this.cacheExternal6(b);
    const dns = this.dnsNames;
    if (dns === undefined || (!this.dnsOverNetworks && this.networkEps.has(ext))) return ext;
    return this.dnsName(dns.name6(b, peer === null ? NO_CLIENT : clientKey6(peer), t), ext);
  }

  /** A DNS answer (or none) for an external address; what it holds for narrows the hit span. */
  private dnsName(named: Endpoint | null, ext: Endpoint): Endpoint {
    const dns = this.dnsNames!;
    if (dns.spanFrom > this.hitFrom) this.hitFrom = dns.spanFrom;
    if (dns.spanTo < this.hitTo) this.hitTo = dns.spanTo;
    return named ?? ext;
  }

  private fromEntry(e: IpEntry, proto: number, port: number, t: number): Endpoint | null {
    const sole = e.sole;
    if (sole !== null && e.soleStart <= t && t <= e.soleEnd) {
      this.hitPorts = e.solePorts;
      this.hitFrom = e.soleStart;
      this.hitTo = e.soleEnd;
      return sole;
    }
    return this.resolveEntry(e, proto, port, t);
  }

  /** A hit without server ports; its answer holds at any time when `timeless`, else only now. */
  private noPorts(timeless: boolean): void {
    this.hitPorts = NO_PORTS;
    this.hitFrom = timeless ? -Infinity : Infinity;
    this.hitTo = timeless ? Infinity : -Infinity;
  }

  private cacheExternal4(ip: number): Endpoint {
    const ext = this.external(ip, null);
    if (this.ext4.size >= this.extCacheMax) this.ext4.clear();
    this.ext4.set(ip, ext);
    return ext;
  }

  private cacheExternal6(b: Uint8Array): Endpoint {
    const ext = this.external(0, b);
    if (this.ext6.size >= this.extCacheMax) this.ext6.clear();
    this.ext6.set(b, ext);
    return ext;
  }

  /** Everything but the one-pod fast path; sets hitPorts for role(). */
  private resolveEntry(e: IpEntry, proto: number, port: number, t: number): Endpoint | null {
    const pods = e.pods;
    // Node and Service addresses mean the same at any time and port; pod history does not.
    this.noPorts(pods.length === 0 && e.hosts.length === 0);
    if (pods.length > 0) {
      const p = this.holderAt(pods, t);
      if (p !== null) {
        this.hitPorts = p.serverPorts;
        // Held at t (not only within the clock-skew margin): the answer holds while p alone held the address.
        if (p.startMs <= t && t <= p.endMs) this.onlyHolderSpan(pods, p, t);
        return p.endpoint;
      }
    }
    const hosts = e.hosts;
    // A hostNetwork pod that held the address then: the node's (known from the pod when the
    // node object is not), unless the pod declares the flow's port.
    let hostNode: Endpoint | null = null;
    for (let i = 0; i < hosts.length; i++) {
      const h = hosts[i];
      if (h.startMs - this.skewMs <= t && t <= h.endMs + this.skewMs) {
        if (hasPort(h.containerPorts, proto, port)) {
          this.hitPorts = h.serverPorts;
          return h.endpoint;
        }
        hostNode = h.nodeEp;
      }
    }
    if (e.node !== null) return e.node;
    if (hostNode !== null) return hostNode;
    if (e.service !== null) this.hitPorts = e.servicePorts;
    return e.service;
  }

  /**
   * Sets hitFrom/hitTo to the span around `t` in which `p`, which held the address at `t`, was the
   * only pod of `pods` that held it (an address reused by pod after pod is still remembered for
   * the current one); empty when another pod held it at `t` too.
   */
  private onlyHolderSpan(pods: readonly PodState[], p: PodState, t: number): void {
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
    this.hitFrom = from;
    this.hitTo = to;
  }

  /**
   * The pod that held the address at `t`. When intervals overlap (API times are coarse), a
   * pod that completed covers its own run to the end, otherwise the later start is the newer
   * holder. When no interval covers `t`, the nearest holder within the clock-skew margin.
   */
  private holderAt(pods: readonly PodState[], t: number): PodState | null {
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
    let bestDist = this.skewMs;
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

  private external(ip4: number, ip6: Uint8Array | null): Endpoint {
    const named = ip6 === null ? this.networks?.lookup4(ip4) : this.networks?.lookup6(ip6);
    if (named !== undefined) {
      const ep = externalEndpoint(named);
      if (this.dnsNames !== undefined) this.networkEps.add(ep);
      return ep;
    }
    if (this.asn !== undefined) {
      const as = this.asn.lookup(ip6 === null ? ipv4ToString(ip4) : ipv6ToString(ip6));
      if (as !== undefined) return externalEndpoint(as);
    }
    return UNKNOWN_ENDPOINT;
  }

  // ---- convenience (allocates: not for the per-record path) ---------------------------------

  /** Endpoint of an address given as text, at time `t` (default now), with an optional port/protocol. */
  lookup(address: string, opts: { port?: number; proto?: number; t?: number } = {}): Endpoint {
    const a = parseAddress(address);
    if (!a) return UNKNOWN_ENDPOINT;
    const t = opts.t ?? this.now();
    return a.family === 4 ? this.lookup4(a.v4, opts.proto ?? 6, opts.port ?? 0, t) : this.lookup6(a.v6, opts.proto ?? 6, opts.port ?? 0, t);
  }

  /** The node that owns an address (an exporter's address), for counting each flow once. */
  nodeByAddress(address: string): string | undefined {
    const a = parseAddress(address);
    if (!a) return undefined;
    const e = a.family === 4 ? this.v4.get(a.v4) : this.v6.get(a.v6);
    if (e === undefined) return undefined;
    if (e.node !== null) return e.node.name;
    const host = e.hosts.find((h) => h.goneAt < 0 && h.slim.nodeName !== '');
    return host?.slim.nodeName;
  }

  /** The ports that make this endpoint the server side of a flow, as `PROTO/port` text (for tests and debugging). */
  serverPortsOf(ep: Endpoint): string[] {
    const names: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };
    return [...this.portsOf(ep)].map((k) => `${names[k >>> 16] ?? k >>> 16}/${k & 0xffff}`);
  }

  get stats(): IdentityStats {
    return {
      pods: this.presentPods,
      podsRetained: this.gone.length - this.goneHead,
      podsPruned: this.pruned,
      nodes: this.nodes.size,
      services: this.services.size,
      ipv4Addresses: this.v4.size,
      ipv6Addresses: this.v6.size,
      externalCached: this.ext4.size + this.ext6.size,
      endpoints: internedCount(),
      tableBytes: this.v4.bytes + this.v6.bytes + this.ext4.bytes + this.ext6.bytes,
    };
  }

  /**
   * The IPv4 addresses whose answer may have changed since the last call, or null when more
   * changed than are worth listing (forget everything). For the one caller that remembers answers.
   */
  takeChanges(): readonly number[] | null {
    const c = this.changed4;
    this.changed4 = [];
    return c;
  }

  // ---- inventory ----------------------------------------------------------------------------

  upsertPod(slim: SlimPod): void {
    this.prune();
    const existing = this.pods.get(slim.uid);
    // A deletion is final for a UID: a late or replayed update must not bring the pod back.
    if (existing !== undefined && existing.goneAt >= 0) return;
    const endpoint = internEndpoint({
      kind: 'pod',
      namespace: slim.namespace,
      name: slim.name,
      app: slim.appLabel || slim.ownerName || slim.name,
      ownerKind: slim.ownerKind,
      ownerName: slim.ownerName,
      nodeName: slim.nodeName,
    });
    if (existing === undefined) {
      this.presentPods++;
    } else {
      // Unhooked everywhere it was referenced, so a fresh state can take its place.
      this.detachAddrs(existing);
      this.setServerPorts(existing, NO_PORTS);
      this.nsRemove(this.podsByNs, existing.slim.namespace, existing);
      this.nsRemove(this.podsByNode, existing.slim.nodeName, existing);
    }
    const st = new PodState(slim, endpoint);
    this.pods.set(slim.uid, st);
    this.nsSet(this.podsByNode, slim.nodeName).add(st);
    st.containerPorts = makePortSet(slim.ports.map((p) => portKey(p.protocol, p.port)));
    this.nsSet(this.podsByNs, slim.namespace).add(st);
    this.setServerPorts(st, this.computeServerPorts(st));
    this.attachAddrs(st);
  }

  deletePod(uid: string, atMs: number): void {
    this.prune();
    const st = this.pods.get(uid);
    if (st === undefined || st.goneAt >= 0) return;
    if (atMs < st.endMs) st.endMs = Math.max(atMs, st.startMs);
    st.goneAt = this.now();
    this.presentPods--;
    this.nsRemove(this.podsByNs, st.slim.namespace, st);
    this.gone.push(st);
    this.refreshAddrs(st);
  }

  upsertNode(node: SlimNode): void {
    const before = this.nodePlace(node.name);
    this.removeNode(node.name);
    const place = internPlace(node.zone ?? '', node.region ?? '', '');
    const st: NodeState = { endpoint: nodeEndpoint(node.name), addrs: parseAll(node.addresses), place };
    this.nodes.set(node.name, st);
    for (const a of st.addrs) {
      this.entryFor(a).node = st.endpoint;
      this.changed(a);
    }
    if (place !== before) this.replacePods(node.name);
  }

  deleteNode(name: string): void {
    const before = this.nodePlace(name);
    this.removeNode(name);
    if (before !== NOWHERE) this.replacePods(name);
  }

  private removeNode(name: string): void {
    const st = this.nodes.get(name);
    if (st === undefined) return;
    this.nodes.delete(name);
    for (const a of st.addrs) {
      const e = this.getEntry(a);
      if (e !== undefined && e.node === st.endpoint) {
        e.node = null;
        this.dropIfEmpty(a, e);
        this.changed(a);
      }
    }
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
        return this.networks?.placeOf(ep.name) ?? INTERNET;
      case 'unknown': {
        const scope = ip6 === null ? scope4(ip4) : scope6(ip6);
        return scope === 'public' ? INTERNET : scope === 'private' ? EXTERNAL : NOWHERE;
      }
      default:
        return NOWHERE;
    }
  }

  /** The zone and region of a node (NOWHERE while the node is not known or not labelled). */
  nodePlace(name: string): Place {
    return this.nodes.get(name)?.place ?? NOWHERE;
  }

  /**
   * A node's zone or region changed (or the node came or went): its pods' addresses, deleted
   * pods kept for late flows too, are listed as changed, so a caller that remembers what an
   * address means (and where it is) learns it again. Their flows move to the new class from now
   * on; counts already made stay where they were.
   */
  private replacePods(nodeName: string): void {
    const pods = this.podsByNode.get(nodeName);
    if (pods === undefined) return;
    for (const st of pods) this.refreshAddrs(st);
  }

  upsertService(svc: SlimService): void {
    const old = this.services.get(svc.uid);
    if (old !== undefined) this.removeService(old);
    const keys: number[] = [];
    svc.ports.forEach((p, i) => {
      keys.push(portKey(p.protocol, p.port));
      const tp = svc.targetPorts[i];
      if (typeof tp === 'number') keys.push(portKey(p.protocol, tp));
    });
    const st: ServiceState = {
      slim: svc,
      endpoint: serviceEndpoint(svc.namespace, svc.name),
      addrs: parseAll(svc.clusterIPs),
      ports: makePortSet(keys),
    };
    this.services.set(svc.uid, st);
    this.nsSet(this.servicesByNs, svc.namespace).add(st);
    for (const a of st.addrs) {
      const e = this.entryFor(a);
      e.service = st.endpoint;
      e.servicePorts = st.ports;
      this.changed(a);
    }
    this.addServerPortRef(st.endpoint, st.ports);
    this.refreshPodsFor(svc, old?.slim);
  }

  deleteService(uid: string): void {
    const st = this.services.get(uid);
    if (st === undefined) return;
    this.removeService(st);
    this.refreshPodsFor(undefined, st.slim);
  }

  /** Drop the history of pods deleted more than `retentionMs` ago. Runs on every inventory change too. */
  prune(nowMs: number = this.now()): void {
    const limit = nowMs - this.retentionMs;
    let head = this.goneHead;
    while (head < this.gone.length && this.gone[head].goneAt <= limit) {
      const st = this.gone[head++];
      this.detachAddrs(st);
      this.setServerPorts(st, NO_PORTS);
      this.pods.delete(st.uid);
      this.nsRemove(this.podsByNode, st.slim.nodeName, st);
      this.pruned++;
    }
    if (head > 1024 && head * 2 > this.gone.length) {
      this.gone = this.gone.slice(head);
      head = 0;
    }
    this.goneHead = head;
  }

  // ---- internals ----------------------------------------------------------------------------

  private removeService(st: ServiceState): void {
    this.services.delete(st.slim.uid);
    this.nsRemove(this.servicesByNs, st.slim.namespace, st);
    for (const a of st.addrs) {
      const e = this.getEntry(a);
      if (e !== undefined && e.service === st.endpoint) {
        e.service = null;
        e.servicePorts = NO_PORTS;
        this.dropIfEmpty(a, e);
        this.changed(a);
      }
    }
    this.releaseServerPortRef(st.endpoint);
  }

  /** Recompute the server ports of live pods in the service's namespace that either selector matched. */
  private refreshPodsFor(now: SlimService | undefined, before: SlimService | undefined): void {
    const ns = (now ?? before)?.namespace;
    if (ns === undefined) return;
    const pods = this.podsByNs.get(ns);
    if (!pods) return;
    for (const st of pods) {
      if ((now && selects(now, st.slim)) || (before && selects(before, st.slim))) {
        this.setServerPorts(st, this.computeServerPorts(st));
        this.refreshAddrs(st);
      }
    }
  }

  private computeServerPorts(st: PodState): PortSet {
    const svcs = this.servicesByNs.get(st.slim.namespace);
    if (!svcs) return st.containerPorts;
    const keys: number[] = [];
    for (const svc of svcs) {
      if (!selects(svc.slim, st.slim)) continue;
      // The service's ports and numeric targetPorts are in svc.ports already; only named
      // targetPorts depend on the pod.
      keys.push(...svc.ports);
      for (const tp of svc.slim.targetPorts) {
        if (typeof tp !== 'string') continue;
        const named = st.slim.ports.find((cp) => cp.name === tp);
        if (named) keys.push(portKey(named.protocol, named.port));
      }
    }
    // Pods of one workload mostly declare the same ports: share the container ports' array then.
    return keys.length === 0 ? st.containerPorts : makePortSet([...st.containerPorts, ...keys]);
  }

  /** One pod's server ports, refcounted per endpoint (a StatefulSet pod recreated under the same name shares the identity). */
  private setServerPorts(st: PodState, ports: PortSet): void {
    if (st.serverPorts !== NO_PORTS) this.releaseServerPortRef(st.endpoint);
    st.serverPorts = ports;
    if (ports !== NO_PORTS) this.addServerPortRef(st.endpoint, ports);
  }

  private addServerPortRef(ep: Endpoint, ports: PortSet): void {
    const cur = this.serverPortsById.get(ep.id);
    if (cur === undefined) this.serverPortsById.set(ep.id, { ports, refs: 1 });
    else {
      cur.ports = ports;
      cur.refs++;
    }
  }

  private releaseServerPortRef(ep: Endpoint): void {
    const cur = this.serverPortsById.get(ep.id);
    if (cur !== undefined && --cur.refs <= 0) this.serverPortsById.delete(ep.id);
  }

  // A pod's addresses are parsed again from its slim form when needed rather than kept parsed:
  // parsing happens only on inventory changes, and 16-byte arrays per pod would cost more memory.

  private attachAddrs(st: PodState): void {
    for (const text of st.slim.ips) {
      const a = parseAddress(text);
      if (!a) continue;
      const e = this.entryFor(a);
      if (st.host) {
        if (!e.hosts.includes(st)) e.hosts = [...e.hosts, st];
      } else if (!e.pods.includes(st)) e.pods = [...e.pods, st];
      e.refresh();
      this.changed(a);
    }
  }

  private detachAddrs(st: PodState): void {
    for (const text of st.slim.ips) {
      const a = parseAddress(text);
      if (!a) continue;
      const e = this.getEntry(a);
      if (e === undefined) continue;
      if (e.pods.includes(st)) e.pods = listWithout(e.pods, st);
      if (e.hosts.includes(st)) e.hosts = listWithout(e.hosts, st);
      e.refresh();
      this.dropIfEmpty(a, e);
      this.changed(a);
    }
  }

  /** After a pod's interval or ports changed: update the inline copies in its address entries. */
  private refreshAddrs(st: PodState): void {
    for (const text of st.slim.ips) {
      const a = parseAddress(text);
      if (!a) continue;
      this.getEntry(a)?.refresh();
      this.changed(a);
    }
  }

  /** Every change to an address entry, or to a pod it lists, passes here. */
  private changed(a: ParsedAddress): void {
    this.generation++;
    if (a.family !== 4 || this.changed4 === null) return;
    if (this.changed4.length >= MAX_LISTED_CHANGES) this.changed4 = null;
    else this.changed4.push(a.v4);
  }

  private getEntry(a: ParsedAddress): IpEntry | undefined {
    return a.family === 4 ? this.v4.get(a.v4) : this.v6.get(a.v6);
  }

  private entryFor(a: ParsedAddress): IpEntry {
    let e = this.getEntry(a);
    if (e === undefined) {
      e = new IpEntry();
      if (a.family === 4) this.v4.set(a.v4, e);
      else this.v6.set(a.v6, e);
    }
    return e;
  }

  private dropIfEmpty(a: ParsedAddress, e: IpEntry): void {
    if (!e.empty) return;
    if (a.family === 4) this.v4.delete(a.v4);
    else this.v6.delete(a.v6);
  }

  private nsSet<T>(map: Map<string, Set<T>>, ns: string): Set<T> {
    let s = map.get(ns);
    if (s === undefined) {
      s = new Set();
      map.set(ns, s);
    }
    return s;
  }

  private nsRemove<T>(map: Map<string, Set<T>>, ns: string, item: T): void {
    const s = map.get(ns);
    if (s === undefined) return;
    s.delete(item);
    if (s.size === 0) map.delete(ns);
  }
}

function selects(svc: SlimService, pod: SlimPod): boolean {
  const keys = Object.keys(svc.selector);
  if (keys.length === 0) return false;
  for (const k of keys) if (pod.labels[k] !== svc.selector[k]) return false;
  return true;
}

function parseAll(texts: readonly string[]): ParsedAddress[] {
  const out: ParsedAddress[] = [];
  for (const t of texts) {
    const a = parseAddress(t);
    if (a) out.push(a);
  }
  return out;
}
