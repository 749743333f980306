/**
 * The options of `netflow-k8s run`, declared once (flag, environment variable, YAML key, help),
 * and their checked, typed form. Cross-field checks live here too, so a bad setting fails at
 * start with the field's name instead of deep inside a worker.
 */
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { ConfigError, parseConfig, formatHelp, type OptionSpec, type ConfigValues } from './options.ts';
import { parseIPv4, parseIPv6 } from '../identify/ip.ts';

// The aggregation stage owns its levels and dedup modes; the options only offer them.
import { AGGREGATION_LEVELS, type AggregationLevel } from '../aggregate/aggregation-level.ts';
import { DEDUP_MODES, type DedupMode } from '../aggregate/dedup.ts';
// Likewise the ingest stage owns its receive paths.
import { UDP_BACKENDS, UDP_SPREADS, type UdpBackendChoice, type UdpSpread } from './udp-choices.ts';
// The dnstap receiver (src/dns) owns its options.
import { DNSTAP_OPTIONS, toDnstapConfig, type DnstapConfig } from '../dns/dnstap-options.ts';
import { OTLP_PROTOCOLS, otlpFromEnv, type OtlpProtocol } from './otlp-env.ts';
export const TEMPLATE_SCOPES = ['session', 'address'] as const;
export type TemplateScope = (typeof TEMPLATE_SCOPES)[number];
import { loadPrices, type Prices } from './prices.ts';
export const EXTRA_LABELS = ['kind', 'role', 'protocol', 'port', 'zone'] as const;
export type ExtraLabel = (typeof EXTRA_LABELS)[number];
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const RUN_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'listen',
    kind: 'hostport',
    default: '0.0.0.0:2055',
    group: 'Input',
    help: 'UDP address for NetFlow v5/v9 and IPFIX; use [::]:PORT for IPv4 and IPv6',
  },
  {
    key: 'recvBuffer',
    kind: 'int',
    default: 8_388_608,
    min: 65_536,
    group: 'Input',
    help: 'socket receive buffer in bytes (the kernel caps it at 2 x net.core.rmem_max)',
  },
  {
    key: 'workers',
    kind: 'string',
    default: '1',
    group: 'Input',
    help: 'receiving threads on the same port (SO_REUSEPORT), a number or auto (one per core)',
  },
  {
    key: 'allowExporters',
    kind: 'list',
    group: 'Input',
    help: 'CIDRs of exporters to accept; datagrams from others are counted and dropped (default: all)',
  },
  { key: 'templatesFile', kind: 'path', group: 'Input', help: 'keep NetFlow v9/IPFIX templates in this file across restarts' },
  {
    key: 'templateTtl',
    kind: 'duration',
    default: '2h',
    min: 1000,
    group: 'Input',
    help: 'a template not refreshed for this long expires',
  },
  {
    key: 'udpBackend',
    kind: 'enum',
    choices: UDP_BACKENDS,
    default: 'auto',
    group: 'Input',
    help: "receive path: native (batched recvmmsg, Linux), dgram (Node's), or auto (native when its addon loads, else dgram)",
  },
  {
    key: 'udpSpread',
    kind: 'enum',
    choices: UDP_SPREADS,
    default: 'auto',
    group: 'Input',
    help: "how datagrams are dealt to the receiving threads: exporter (the kernel keeps each exporter on one thread; few exporters load threads unevenly), datagram (each datagram to a thread at random, templates and sampling shared between threads; native backend), or auto (exporter: the cheapest, and what a DaemonSet's one exporter per collector needs)",
  },
  // Decoder state and template scope (issue 12): one block, so parallel edits merge cleanly.
  {
    key: 'templateScope',
    kind: 'enum',
    choices: TEMPLATE_SCOPES,
    default: 'address',
    group: 'Input',
    help: "where data finds its template: session (address and source port, as RFC 7011 scopes templates) or address (the session first, then the same address's template from another port: exporters that change source port on restart lose nothing)",
  },
  {
    key: 'maxExporters',
    kind: 'int',
    default: 10_000,
    min: 1,
    group: 'Input',
    help: 'exporters (address and port) each receiving thread keeps templates and held data for; past it the least recently seen is evicted',
  },
  {
    key: 'decoderStateBudget',
    kind: 'int',
    default: 33_554_432,
    min: 1_048_576,
    group: 'Input',
    help: 'bytes of decoder state (templates, held data, options state) per receiving thread; one exporter may take a sixteenth, its held data a sixty-fourth',
  },
  {
    key: 'maxTemplatesPerExporter',
    kind: 'int',
    default: 1024,
    min: 1,
    max: 65_536,
    group: 'Input',
    help: 'templates and options templates kept per exporter, all its source IDs / domains together',
  },
  {
    key: 'maxTemplateFields',
    kind: 'int',
    default: 512,
    min: 1,
    max: 16_383,
    group: 'Input',
    help: 'fields per template; a longer template is refused and counted',
  },
  {
    key: 'mergeInterval',
    kind: 'duration',
    default: '250ms',
    min: 10,
    max: 10_000,
    group: 'Input',
    help: 'how often receiving threads hand their counts to the store',
  },

  {
    key: 'inventory',
    kind: 'path',
    group: 'Identity',
    help: 'static inventory file (kubectl get pods,nodes,services,jobs -A -o json), reloaded on change',
  },
  {
    key: 'kubeconfig',
    kind: 'path',
    group: 'Identity',
    help: 'kubeconfig for live watches (else KUBECONFIG, ~/.kube/config, then in-cluster)',
  },
  {
    key: 'labelPrecedence',
    kind: 'list',
    default: ['app.kubernetes.io/name', 'app', 'k8s-app', 'name', 'component'],
    group: 'Identity',
    help: 'pod labels that name the app, first non-empty wins',
  },
  { key: 'networks', kind: 'string', group: 'Identity', help: 'named CIDRs for external ends: name=cidr,... or a YAML/JSON file' },
  { key: 'asnDb', kind: 'path', group: 'Identity', help: 'MaxMind GeoLite2-ASN database naming external addresses' },
  {
    key: 'ephemeralPorts',
    kind: 'string',
    default: '32768-60999',
    group: 'Identity',
    help: 'client port range LO-HI used to tell clients from servers',
  },
  ...DNSTAP_OPTIONS,

  { key: 'level', kind: 'enum', choices: AGGREGATION_LEVELS, default: 'app', group: 'Aggregation', help: 'what one end of a pair is' },
  {
    key: 'maxSeries',
    kind: 'int',
    default: 20_000,
    min: 1,
    group: 'Aggregation',
    help: 'pairs kept at most; flows past the cap go to one overflow pair',
  },
  {
    key: 'seriesTtl',
    kind: 'duration',
    default: '1h',
    min: 1000,
    group: 'Aggregation',
    help: 'a pair with no flows for this long is dropped',
  },
  {
    key: 'dedup',
    kind: 'enum',
    choices: DEDUP_MODES,
    default: 'auto',
    group: 'Aggregation',
    help: 'count a flow reported by both nodes once, from the source node',
  },
  {
    key: 'maxConversations',
    kind: 'int',
    default: 20_000,
    min: 0,
    group: 'Aggregation',
    help: 'conversations (client, server, server port, protocol) kept for /api/policies, expiring with --series-ttl; 0: none',
  },
  { key: 'extraLabels', kind: 'list', group: 'Aggregation', help: `extra pair dimensions and labels, any of ${EXTRA_LABELS.join(',')}` },
  {
    key: 'prices',
    kind: 'string',
    group: 'Aggregation',
    help: 'traffic prices per GiB by zone class: aws, gcp, azure (list prices) or a YAML file {currency, perGiB: {cross-zone: 0.02, ...}}',
  },

  {
    key: 'http',
    kind: 'hostport',
    default: '0.0.0.0:8080',
    group: 'Output',
    help: 'HTTP address: /metrics, /metrics/otel, /healthz, /readyz, /api/*, the map page',
  },
  {
    key: 'otlpEndpoint',
    kind: 'string',
    group: 'Output',
    help: 'OTLP endpoint (else OTEL_EXPORTER_OTLP_METRICS_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT; off when none); for http/* an endpoint with no path gets /v1/metrics',
  },
  // Issue 19: the standard exporter conventions (OTLP protocols; TLS and basic auth on our HTTP).
  {
    key: 'otlpProtocol',
    kind: 'enum',
    choices: OTLP_PROTOCOLS,
    group: 'Output',
    help: 'OTLP protocol (else OTEL_EXPORTER_OTLP_METRICS_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL, else grpc); headers, CA, client certificate, compression, timeout and temporality come from the standard OTEL_EXPORTER_OTLP_* variables',
  },
  {
    key: 'webConfigFile',
    kind: 'path',
    group: 'Output',
    help: 'Prometheus exporter-toolkit web configuration (tls_server_config, basic_auth_users, http_server_config.headers) for every HTTP endpoint',
  },
  { key: 'otlpInterval', kind: 'duration', default: '30s', min: 100, group: 'Output', help: 'OTLP export interval' },
  { key: 'clusterName', kind: 'string', group: 'Output', help: 'k8s.cluster.name on the OTLP resource' },
  { key: 'prometheusUrl', kind: 'string', group: 'Output', help: 'Prometheus that scrapes us, for Node Graph history' },
  { key: 'prometheusBearerTokenFile', kind: 'path', group: 'Output', help: 'bearer token file for --prometheus-url' },
  { key: 'prometheusCaFile', kind: 'path', group: 'Output', help: 'CA bundle for --prometheus-url' },
  // HTTP server limits (issue 13).
  {
    key: 'httpMaxConnections',
    kind: 'int',
    default: 256,
    min: 1,
    group: 'Output',
    help: 'HTTP connections open at once; more are closed as they arrive (counted)',
  },
  {
    key: 'httpHeadersTimeout',
    kind: 'duration',
    default: '10s',
    min: 100,
    group: 'Output',
    help: 'an HTTP client has this long to send its request headers',
  },
  {
    key: 'httpRequestTimeout',
    kind: 'duration',
    default: '30s',
    min: 100,
    group: 'Output',
    help: 'an HTTP client has this long to send its whole request (at least --http-headers-timeout)',
  },

  { key: 'logLevel', kind: 'enum', choices: LOG_LEVELS, default: 'info', group: 'Operation', help: 'log level' },
];

export interface Cidr {
  readonly family: 4 | 6;
  /** Network address bytes (4 or 16) with host bits cleared. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
  readonly text: string;
}

export interface RunConfig {
  listen: { host: string; port: number };
  recvBuffer: number;
  workers: number;
  allowExporters: Cidr[] | undefined;
  templatesFile: string | undefined;
  templateTtlMs: number;
  templateScope: TemplateScope;
  maxExporters: number;
  decoderStateBudget: number;
  maxTemplatesPerExporter: number;
  maxTemplateFields: number;
  mergeIntervalMs: number;
  udpBackend: UdpBackendChoice;
  udpSpread: UdpSpread;
  inventory: string | undefined;
  kubeconfig: string | undefined;
  labelPrecedence: string[];
  networks: string | undefined;
  asnDb: string | undefined;
  ephemeralPorts: { lo: number; hi: number };
  /** Names from DNS answers (--dnstap-*); undefined when no dnstap input is configured. */
  dnstap: DnstapConfig | undefined;
  level: AggregationLevel;
  maxSeries: number;
  seriesTtlMs: number;
  dedup: DedupMode;
  extraLabels: ExtraLabel[];
  maxConversations: number;
  /** Prices per zone class (--prices); undefined: no cost series. */
  prices: Prices | undefined;
  http: { host: string; port: number };
  otlpEndpoint: string | undefined;
  otlpIntervalMs: number;
  otlpProtocol: OtlpProtocol;
  /** From OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT; undefined: min(interval, 30 s). */
  otlpTimeoutMs: number | undefined;
  webConfigFile: string | undefined;
  clusterName: string | undefined;
  prometheusUrl: string | undefined;
  prometheusBearerTokenFile: string | undefined;
  prometheusCaFile: string | undefined;
  // HTTP server limits (issue 13).
  httpMaxConnections: number;
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  logLevel: LogLevel;
}

export const RUN_USAGE =
  'usage: netflow-k8s run [OPTIONS]\n\nReceive NetFlow v5/v9 and IPFIX over UDP, name both ends by Kubernetes identity, aggregate per pair and export Prometheus and OTLP.';

export function runHelp(): string {
  return formatHelp(RUN_USAGE, RUN_OPTIONS);
}

/** Text `10.0.0.0/8`, `fd00::/8` or a bare address (a /32 or /128). */
export function parseCidr(text: string, field: string): Cidr {
  const [addr, len, extra] = text.trim().split('/');
  const family = isIP(addr ?? '');
  if (extra !== undefined || (family !== 4 && family !== 6)) throw new ConfigError(field, `${JSON.stringify(text)} is not a CIDR`);
  const max = family === 4 ? 32 : 128;
  const prefix = len === undefined ? max : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (len !== undefined && !/^\d+$/.test(len))) {
    throw new ConfigError(field, `${JSON.stringify(text)} has a bad prefix length`);
  }
  const bytes = addressBytes(addr)!;
  for (let bit = prefix; bit < max; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { family, bytes, prefix, text: text.trim() };
}

/** 4 or 16 bytes of an address, with IPv4-mapped IPv6 unwrapped; undefined when not an address. */
export function addressBytes(addr: string): Uint8Array | undefined {
  const a = addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
  const v4 = parseIPv4(a);
  if (v4 >= 0) return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  return parseIPv6(a);
}

export function cidrContains(c: Cidr, bytes: Uint8Array): boolean {
  if (bytes.length !== c.bytes.length) return false;
  const full = c.prefix >> 3;
  for (let i = 0; i < full; i++) if (bytes[i] !== c.bytes[i]) return false;
  const rest = c.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[full] & mask) === c.bytes[full];
}

/** Validate and type the parsed values. Errors name the field. */
export function toRunConfig(v: ConfigValues, env: NodeJS.ProcessEnv = process.env): RunConfig {
  const workersText = String(v.workers).trim();
  let workers: number;
  if (workersText === 'auto') workers = Math.max(1, availableParallelism());
  else if (/^\d+$/.test(workersText) && Number(workersText) >= 1 && Number(workersText) <= 64) workers = Number(workersText);
  else throw new ConfigError('workers', `expected a number from 1 to 64 or auto, got ${JSON.stringify(v.workers)}`);

  const eph = /^(\d{1,5})-(\d{1,5})$/.exec(String(v.ephemeralPorts).trim());
  if (!eph || Number(eph[1]) > Number(eph[2]) || Number(eph[2]) > 65535) {
    throw new ConfigError('ephemeralPorts', `expected LO-HI within 0-65535, got ${JSON.stringify(v.ephemeralPorts)}`);
  }
  const extra = (v.extraLabels as string[] | undefined) ?? [];
  for (const e of extra) {
    if (!(EXTRA_LABELS as readonly string[]).includes(e)) {
      throw new ConfigError('extraLabels', `unknown label ${JSON.stringify(e)}; expected some of ${EXTRA_LABELS.join(', ')}`);
    }
  }
  const allow = v.allowExporters as string[] | undefined;
  const otlpEnv = otlpFromEnv(v.otlpProtocol as string | undefined, v.otlpEndpoint as string | undefined, env);
  const otlp = otlpEnv.endpoint;
  const promUrl = v.prometheusUrl as string | undefined;
  if (promUrl !== undefined) {
    try {
      new URL(promUrl);
    } catch {
      throw new ConfigError('prometheusUrl', `${JSON.stringify(promUrl)} is not a URL`);
    }
  }
  if (v.udpSpread === 'datagram' && v.udpBackend === 'dgram') {
    throw new ConfigError(
      'udpSpread',
      "datagram needs the native UDP backend (Node's dgram sockets cannot steer datagrams): use --udp-backend native or auto, or --udp-spread exporter",
    );
  }
  if ((v.httpRequestTimeout as number) < (v.httpHeadersTimeout as number)) {
    throw new ConfigError('httpRequestTimeout', 'must be at least --http-headers-timeout (the headers are part of the request)');
  }
  if (v.inventory !== undefined && v.kubeconfig !== undefined) {
    throw new ConfigError('inventory', 'give either --inventory or --kubeconfig, not both');
  }
  return {
    listen: v.listen as RunConfig['listen'],
    recvBuffer: v.recvBuffer as number,
    workers,
    allowExporters: allow && allow.length > 0 ? allow.map((c) => parseCidr(c, 'allowExporters')) : undefined,
    templatesFile: v.templatesFile as string | undefined,
    templateTtlMs: v.templateTtl as number,
    templateScope: v.templateScope as TemplateScope,
    maxExporters: v.maxExporters as number,
    decoderStateBudget: v.decoderStateBudget as number,
    maxTemplatesPerExporter: v.maxTemplatesPerExporter as number,
    maxTemplateFields: v.maxTemplateFields as number,
    mergeIntervalMs: v.mergeInterval as number,
    udpBackend: v.udpBackend as UdpBackendChoice,
    udpSpread: v.udpSpread as UdpSpread,
    inventory: v.inventory as string | undefined,
    kubeconfig: v.kubeconfig as string | undefined,
    labelPrecedence: v.labelPrecedence as string[],
    networks: v.networks as string | undefined,
    asnDb: v.asnDb as string | undefined,
    ephemeralPorts: { lo: Number(eph[1]), hi: Number(eph[2]) },
    dnstap: toDnstapConfig(v),
    level: v.level as AggregationLevel,
    maxSeries: v.maxSeries as number,
    seriesTtlMs: v.seriesTtl as number,
    dedup: v.dedup as DedupMode,
    extraLabels: extra as ExtraLabel[],
    maxConversations: v.maxConversations as number,
    prices: v.prices === undefined ? undefined : loadPrices(String(v.prices).trim()),
    http: v.http as RunConfig['http'],
    otlpEndpoint: otlp,
    otlpIntervalMs: v.otlpInterval as number,
    otlpProtocol: otlpEnv.protocol,
    otlpTimeoutMs: otlpEnv.timeoutMs,
    webConfigFile: v.webConfigFile as string | undefined,
    clusterName: v.clusterName as string | undefined,
    prometheusUrl: promUrl,
    prometheusBearerTokenFile: v.prometheusBearerTokenFile as string | undefined,
    prometheusCaFile: v.prometheusCaFile as string | undefined,
    httpMaxConnections: v.httpMaxConnections as number,
    httpHeadersTimeoutMs: v.httpHeadersTimeout as number,
    httpRequestTimeoutMs: v.httpRequestTimeout as number,
    logLevel: v.logLevel as LogLevel,
  };
}

/** Flags, environment and YAML to a checked RunConfig; `help` when --help was asked. */
export function parseRunConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { config: RunConfig | undefined; help: boolean } {
  const parsed = parseConfig(RUN_OPTIONS, argv, env);
  if (parsed.help) return { config: undefined, help: true };
  if (parsed.positionals.length > 0) throw new ConfigError(parsed.positionals[0], 'unexpected argument (run takes only options)');
  return { config: toRunConfig(parsed.values, env), help: false };
}

/** Defaults for in-process use (the demo, tests): every field filled, then overridden. */
export function defaultRunConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  const parsed = parseConfig(RUN_OPTIONS, [], {});
  return { ...toRunConfig(parsed.values, {}), ...overrides };
}
