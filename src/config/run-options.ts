/**
 * The options of `netflow-k8s run` in their checked, typed form (RunConfig), from what the
 * declarations in run-option-table.ts parse to. Cross-field checks live here too, so a bad setting
 * fails at start with the field's name instead of deep inside a worker.
 */
import { availableParallelism } from 'node:os';
import { ConfigError, parseConfig, formatHelp, type ConfigValues } from './options.ts';
import { type Cidr, parseCidr } from './cidr.ts';
import type { AggregationLevel } from '../aggregate/aggregation-level.ts';
import type { DedupMode } from '../aggregate/dedup.ts';
import type { UdpBackendChoice, UdpSpread } from './udp-choices.ts';
import { toDnstapConfig, type DnstapConfig } from '../dns/dnstap-options.ts';
import { otlpFromEnv, type OtlpProtocol } from './otlp-env.ts';
import { loadPrices, type Prices } from './prices.ts';
import { EXTRA_LABELS, RUN_OPTIONS, type ExtraLabel, type LogLevel, type TemplateScope } from './run-option-table.ts';

export { addressBytes, type Cidr, cidrContains, parseCidr } from './cidr.ts';

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
  'usage: netflow-k8s run [OPTIONS]\n\nReceive NetFlow v5/v9 and IPFIX over UDP, name ' +
  'both ends by Kubernetes identity, aggregate per pair and export Prometheus and OTLP.';

export function runHelp(): string {
  return formatHelp(RUN_USAGE, RUN_OPTIONS);
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
      "datagram needs the native UDP backend (Node's dgram sockets cannot steer " +
        'datagrams): use --udp-backend native or auto, or --udp-spread exporter',
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
