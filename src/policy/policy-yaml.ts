/**
 * NetworkPolicies in, as YAML (one or many documents, each a NetworkPolicy or a List of them) or
 * JSON, checked whole before anything is evaluated: every problem is reported with its document
 * (1-based, as editors count `---` sections), the item within a List and the field, and one bad
 * document rejects the lot, so a check never runs on half of what the user meant to apply.
 */
import { isIP } from 'node:net';
import { parseAllDocuments } from 'yaml';
import { addressBytes, type Cidr, cidrContains } from '../config/run-options.ts';
import { parseIPv6 } from '../identify/ip.ts';
import { selectorErrors } from './label-selector.ts';
import type { NetworkPolicy } from './types.ts';

export class PolicyInputError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'PolicyInputError';
    this.problems = problems;
  }
}

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses and checks; throws PolicyInputError listing every problem. `source` prefixes the messages (a file name). */
export function parsePolicies(text: string, source = 'input'): NetworkPolicy[] {
  const problems: string[] = [];
  const out: NetworkPolicy[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = `${source}: document ${i + 1}`;
    if (doc.errors.length > 0) {
      problems.push(`${where}: not YAML: ${doc.errors[0].message.split('\n')[0]}`);
      return;
    }
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) return;
    if (isObject(v) && (v.kind === 'List' || v.kind === 'NetworkPolicyList')) {
      if (!Array.isArray(v.items)) {
        problems.push(`${where}: items: a ${String(v.kind)} needs a list of items`);
        return;
      }
      v.items.forEach((item: unknown, j: number) => check(item, `${where}, items[${j}]`, problems, out));
      return;
    }
    check(v, where, problems, out);
  });
  if (problems.length > 0) throw new PolicyInputError(problems);
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked field by field below before any is trusted
function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function check(v: unknown, where: string, problems: string[], out: NetworkPolicy[]): void {
  const bad = (field: string, msg: string) => problems.push(`${where}: ${field}: ${msg}`);
  const before = problems.length;
  if (!isObject(v)) {
    bad('(document)', 'not an object');
    return;
  }
  if (v.kind !== 'NetworkPolicy') {
    bad('kind', `${JSON.stringify(v.kind)} is not a NetworkPolicy`);
    return;
  }
  if (v.apiVersion !== 'networking.k8s.io/v1') bad('apiVersion', `${JSON.stringify(v.apiVersion)}: expected networking.k8s.io/v1`);
  const m = v.metadata;
  if (!isObject(m)) bad('metadata', 'required');
  else {
    if (typeof m.name !== 'string' || m.name.length > 253 || !DNS_SUBDOMAIN.test(m.name))
      bad('metadata.name', 'required, a DNS subdomain name');
    // kubectl would use the current context's namespace; a check cannot know it.
    if (typeof m.namespace !== 'string' || m.namespace.length > 63 || !DNS_LABEL.test(m.namespace))
      bad('metadata.namespace', 'required (the namespace the policy is applied in), a DNS label');
  }
  const s = v.spec;
  if (!isObject(s)) {
    bad('spec', 'required');
    return;
  }
  for (const k of Object.keys(s))
    if (!['podSelector', 'policyTypes', 'ingress', 'egress'].includes(k)) bad(`spec.${k}`, 'not a field of NetworkPolicySpec');
  if (s.podSelector === undefined || s.podSelector === null) bad('spec.podSelector', 'required ({} selects every pod of the namespace)');
  else for (const [f, msg] of selectorErrors(s.podSelector, 'spec.podSelector')) bad(f, msg);
  if (s.policyTypes !== undefined) {
    if (!Array.isArray(s.policyTypes) || s.policyTypes.some((t: unknown) => t !== 'Ingress' && t !== 'Egress'))
      bad('spec.policyTypes', 'must be a list of Ingress and Egress');
  }
  for (const dir of ['ingress', 'egress'] as const) {
    const rules = s[dir];
    if (rules === undefined || rules === null) continue;
    if (!Array.isArray(rules)) {
      bad(`spec.${dir}`, 'must be a list of rules');
      continue;
    }
    const peersKey = dir === 'ingress' ? 'from' : 'to';
    rules.forEach((r: unknown, i: number) => {
      const p = `spec.${dir}[${i}]`;
      if (!isObject(r)) {
        bad(p, 'must be an object');
        return;
      }
      for (const k of Object.keys(r)) if (k !== peersKey && k !== 'ports') bad(`${p}.${k}`, `not a field of a ${dir} rule`);
      const peers = r[peersKey];
      if (peers !== undefined && peers !== null) {
        if (!Array.isArray(peers)) bad(`${p}.${peersKey}`, 'must be a list of peers');
        else peers.forEach((peer: unknown, j: number) => checkPeer(peer, `${p}.${peersKey}[${j}]`, bad));
      }
      const ports = r.ports;
      if (ports !== undefined && ports !== null) {
        if (!Array.isArray(ports)) bad(`${p}.ports`, 'must be a list');
        else ports.forEach((port: unknown, j: number) => checkPort(port, `${p}.ports[${j}]`, bad));
      }
    });
  }
  if (problems.length === before) out.push(v as NetworkPolicy);
}

function checkPeer(peer: unknown, p: string, bad: (f: string, m: string) => void): void {
  if (!isObject(peer)) {
    bad(p, 'must be an object');
    return;
  }
  for (const k of Object.keys(peer))
    if (!['podSelector', 'namespaceSelector', 'ipBlock'].includes(k)) bad(`${p}.${k}`, 'not a field of NetworkPolicyPeer');
  const has = (k: string) => peer[k] !== undefined && peer[k] !== null;
  if (!has('podSelector') && !has('namespaceSelector') && !has('ipBlock')) bad(p, 'needs podSelector, namespaceSelector or ipBlock');
  if (has('ipBlock') && (has('podSelector') || has('namespaceSelector')))
    bad(`${p}.ipBlock`, 'may not be combined with podSelector or namespaceSelector');
  for (const k of ['podSelector', 'namespaceSelector'])
    if (has(k)) for (const [f, msg] of selectorErrors(peer[k], `${p}.${k}`)) bad(f, msg);
  if (has('ipBlock')) {
    const b = peer.ipBlock;
    if (!isObject(b)) {
      bad(`${p}.ipBlock`, 'must be an object');
      return;
    }
    const cidr = parseCidr(b.cidr);
    if (!cidr) {
      bad(`${p}.ipBlock.cidr`, `${JSON.stringify(b.cidr)} is not a CIDR`);
      return;
    }
    if (b.except !== undefined && b.except !== null) {
      if (!Array.isArray(b.except)) bad(`${p}.ipBlock.except`, 'must be a list of CIDRs');
      else
        b.except.forEach((e: unknown, k: number) => {
          const ec = parseCidr(e);
          if (!ec) bad(`${p}.ipBlock.except[${k}]`, `${JSON.stringify(e)} is not a CIDR`);
          else if (ec.family !== cidr.family || ec.prefix <= cidr.prefix || !cidrWithin(ec, cidr))
            bad(`${p}.ipBlock.except[${k}]`, `${String(e)} must be a strict subset of ${String(b.cidr)}`);
        });
    }
  }
}

function checkPort(port: unknown, p: string, bad: (f: string, m: string) => void): void {
  if (!isObject(port)) {
    bad(p, 'must be an object');
    return;
  }
  for (const k of Object.keys(port)) if (!['protocol', 'port', 'endPort'].includes(k)) bad(`${p}.${k}`, 'not a field of NetworkPolicyPort');
  if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) bad(`${p}.protocol`, `must be one of ${PROTOCOLS.join(', ')}`);
  const v = port.port;
  if (v !== undefined && v !== null) {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 1 || v > 65535) bad(`${p}.port`, 'must be 1-65535 or a port name');
    } else if (typeof v !== 'string' || v.length > 15 || !PORT_NAME.test(v) || !/[a-z]/.test(v))
      bad(`${p}.port`, `${JSON.stringify(v)} is neither a port number nor a port name`);
  }
  if (port.endPort !== undefined && port.endPort !== null) {
    if (typeof v !== 'number') bad(`${p}.endPort`, 'needs a numeric port');
    else if (!Number.isInteger(port.endPort) || port.endPort < v || port.endPort > 65535)
      bad(`${p}.endPort`, `must be from port (${v}) to 65535`);
  }
}

/** A CIDR as config reads one (`--allow-exporters`): family, network bytes with host bits cleared, prefix, text. */
export type ParsedCidr = Cidr;

/** `a.b.c.d/n` or an IPv6 CIDR; the prefix is required, as the API server requires it. */
export function parseCidr(text: unknown): ParsedCidr | undefined {
  if (typeof text !== 'string') return undefined;
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined || len === undefined || !/^\d+$/.test(len)) return undefined;
  const family = isIP(addr);
  if (family !== 4 && family !== 6) return undefined;
  const prefix = Number(len);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  // IPv6 text stays 16 bytes: addressBytes would unwrap an IPv4-mapped address to 4.
  const bytes = family === 4 ? addressBytes(addr) : parseIPv6(addr);
  if (bytes === undefined) return undefined;
  for (let bit = prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { family, bytes, prefix, text };
}

/** One address as a CIDR: a /32, or a /128 for IPv6. */
export function hostCidr(address: string): string {
  return `${address}/${address.includes(':') ? 128 : 32}`;
}

/** Whether every address of `inner` is in `outer`. */
export function cidrWithin(inner: ParsedCidr, outer: ParsedCidr): boolean {
  return inner.family === outer.family && inner.prefix >= outer.prefix && cidrContains(outer, inner.bytes);
}

/** Whether the two share any address. */
export function cidrsOverlap(a: ParsedCidr, b: ParsedCidr): boolean {
  return cidrWithin(a, b) || cidrWithin(b, a);
}
