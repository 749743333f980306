/**
 * Every address the inventory knows, each with its IpEntry, in open-addressing tables (v4 by
 * uint32, v6 by 16 bytes), and the log of the addresses whose meaning changed, for the one caller
 * that remembers answers (the receiving thread's AddressMemo, through IdentityIndex.takeChanges).
 */
import type { Endpoint } from './endpoint.ts';
import { IpEntry, listWithout, type PodState } from './address-history.ts';
import { V4Table, V6Table } from './ip-table.ts';
import { parseAddress, type ParsedAddress } from './ip.ts';
import { NO_PORTS, type PortSet } from './server-ports.ts';

/** Changed addresses listed between two takeChanges(); past this, the caller forgets everything. */
const MAX_LISTED_CHANGES = 4096;

export class AddressTable {
  /** Read per record by the index's lookups. */
  readonly v4 = new V4Table<IpEntry>(1024);
  readonly v6 = new V6Table<IpEntry>(64);
  /** Rises with every change to what an address means (see IdentityIndex.generation). */
  generation = 0;
  #changed4: number[] | null = [];

  /** The IPv4 addresses changed since the last call, or null when more changed than are worth listing. */
  takeChanges(): readonly number[] | null {
    const c = this.#changed4;
    this.#changed4 = [];
    return c;
  }

  /** Every change to an address entry, or to a pod it lists, passes here (DNS names' changes too). */
  changed(a: ParsedAddress): void {
    this.generation++;
    if (a.family !== 4 || this.#changed4 === null) return;
    if (this.#changed4.length >= MAX_LISTED_CHANGES) this.#changed4 = null;
    else this.#changed4.push(a.v4);
  }

  // A pod's addresses are parsed again from its slim form when needed rather than kept parsed:
  // parsing happens only on inventory changes, and 16-byte arrays per pod would cost more memory.

  attachPod(st: PodState): void {
    for (const text of st.slim.ips) {
      const a = parseAddress(text);
      if (!a) continue;
      const e = this.#entryFor(a);
      if (st.host) {
        if (!e.hosts.includes(st)) e.hosts = [...e.hosts, st];
      } else if (!e.pods.includes(st)) e.pods = [...e.pods, st];
      e.refresh();
      this.changed(a);
    }
  }

  detachPod(st: PodState): void {
    for (const text of st.slim.ips) {
      const a = parseAddress(text);
      if (!a) continue;
      const e = this.#get(a);
      if (e === undefined) continue;
      if (e.pods.includes(st)) e.pods = listWithout(e.pods, st);
      if (e.hosts.includes(st)) e.hosts = listWithout(e.hosts, st);
      e.refresh();
      this.#dropIfEmpty(a, e);
      this.changed(a);
    }
  }

  /** After a pod's interval or ports changed: update the inline copies in its address entries. */
  refreshPod(st: PodState): void {
    for (const text of st.slim.ips) {
      const a = parseAddress(text);
      if (!a) continue;
      this.#get(a)?.refresh();
      this.changed(a);
    }
  }

  setNode(addrs: readonly ParsedAddress[], node: Endpoint): void {
    for (const a of addrs) {
      this.#entryFor(a).node = node;
      this.changed(a);
    }
  }

  /** Forget the node's addresses, where they still name it. */
  clearNode(addrs: readonly ParsedAddress[], node: Endpoint): void {
    for (const a of addrs) {
      const e = this.#get(a);
      if (e !== undefined && e.node === node) {
        e.node = null;
        this.#dropIfEmpty(a, e);
        this.changed(a);
      }
    }
  }

  setService(addrs: readonly ParsedAddress[], service: Endpoint, ports: PortSet): void {
    for (const a of addrs) {
      const e = this.#entryFor(a);
      e.service = service;
      e.servicePorts = ports;
      this.changed(a);
    }
  }

  /** Forget the Service's ClusterIPs, where they still name it. */
  clearService(addrs: readonly ParsedAddress[], service: Endpoint): void {
    for (const a of addrs) {
      const e = this.#get(a);
      if (e !== undefined && e.service === service) {
        e.service = null;
        e.servicePorts = NO_PORTS;
        this.#dropIfEmpty(a, e);
        this.changed(a);
      }
    }
  }

  /** The node that owns an address: its node object's, else a live hostNetwork pod's node. */
  nodeOf(a: ParsedAddress): string | undefined {
    const e = this.#get(a);
    if (e === undefined) return undefined;
    if (e.node !== null) return e.node.name;
    const host = e.hosts.find((h) => h.goneAt < 0 && h.slim.nodeName !== '');
    return host?.slim.nodeName;
  }

  /** Bytes held by the tables' own arrays (not the entries they point to). */
  get bytes(): number {
    return this.v4.bytes + this.v6.bytes;
  }

  #get(a: ParsedAddress): IpEntry | undefined {
    return a.family === 4 ? this.v4.get(a.v4) : this.v6.get(a.v6);
  }

  #entryFor(a: ParsedAddress): IpEntry {
    let e = this.#get(a);
    if (e === undefined) {
      e = new IpEntry();
      if (a.family === 4) this.v4.set(a.v4, e);
      else this.v6.set(a.v6, e);
    }
    return e;
  }

  #dropIfEmpty(a: ParsedAddress, e: IpEntry): void {
    if (!e.empty) return;
    if (a.family === 4) this.v4.delete(a.v4);
    else this.v6.delete(a.v6);
  }
}
