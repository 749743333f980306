/**
 * The `run` options of the dnstap receiver, declared here and spliced into RUN_OPTIONS, and
 * their checked form. Checked at start like every option: a bad one stops the start naming it.
 */
import type { ConfigValues, OptionSpec } from '../config/options.ts';
import { ConfigError } from '../config/config-error.ts';
import { dnsSuffixesFromOption, DnsSuffixError } from './dns-suffixes.ts';
import { DnsNames } from './dns-names.ts';

export const DNSTAP_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'dnstapListen',
    kind: 'hostport',
    group: 'Identity',
    help:
      'TCP address for dnstap (Frame Streams) from DNS servers, e.g. CoreDNS `dnstap tcp://collector:6000 full`; ' +
      'names external ends by the names pods resolved',
  },
  { key: 'dnstapSocket', kind: 'path', group: 'Identity', help: 'unix socket path for dnstap from DNS servers on the same host' },
  {
    key: 'dnstapMaxNames',
    kind: 'int',
    default: 100_000,
    min: 1,
    max: 10_000_000,
    group: 'Identity',
    help: 'addresses kept named by DNS at most; past it the oldest answers go (counted)',
  },
  {
    key: 'dnsGrace',
    kind: 'duration',
    default: '10m',
    min: 0,
    group: 'Identity',
    help: 'how long past its TTL a DNS answer still names its address (connections outlive TTLs)',
  },
  {
    key: 'dnsOverNetworks',
    kind: 'bool',
    default: false,
    group: 'Identity',
    help: 'DNS names win over --networks names (by default a named network wins)',
  },
  {
    key: 'dnsNameSuffixes',
    kind: 'list',
    default: ['default'],
    group: 'Identity',
    help:
      'group names under a suffix against cardinality: *.SUFFIX or *.SUFFIX=GROUP (* inside matches one label); ' +
      'default = the big clouds and CDNs; none = no grouping',
  },
];

export interface DnstapConfig {
  listen: { host: string; port: number } | undefined;
  socket: string | undefined;
  maxNames: number;
  graceMs: number;
  overNetworks: boolean;
  nameSuffixes: string[];
}

export function toDnstapConfig(v: ConfigValues): DnstapConfig | undefined {
  const suffixes = (v.dnsNameSuffixes as string[] | undefined) ?? ['default'];
  try {
    dnsSuffixesFromOption(suffixes);
  } catch (err) {
    if (err instanceof DnsSuffixError) throw new ConfigError('dnsNameSuffixes', err.message);
    throw err;
  }
  const listen = v.dnstapListen as DnstapConfig['listen'];
  const socket = v.dnstapSocket as string | undefined;
  if (listen === undefined && socket === undefined) return undefined;
  if (socket !== undefined && socket.trim() === '') throw new ConfigError('dnstapSocket', 'empty path');
  return {
    listen,
    socket,
    maxNames: v.dnstapMaxNames as number,
    graceMs: v.dnsGrace as number,
    overNetworks: v.dnsOverNetworks as boolean,
    nameSuffixes: suffixes,
  };
}

/** A name table as the config describes it (each receiving thread and the main thread hold one). */
export function dnsNamesFor(cfg: DnstapConfig | undefined, more: { publishNames?: boolean } = {}): DnsNames | undefined {
  return cfg === undefined ? undefined : new DnsNames({ maxAddresses: cfg.maxNames, graceMs: cfg.graceMs, ...more });
}
