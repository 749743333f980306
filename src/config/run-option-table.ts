/**
 * Every setting of `netflow-k8s run` declared once (flag, environment variable, YAML key, type,
 * default, help), and the values its own enums offer. run-options.ts checks and types what they
 * parse to (RunConfig).
 */
import type { OptionSpec } from './options.ts';
// The aggregation stage owns its levels and dedup modes; the options only offer them.
import { AGGREGATION_LEVELS } from '../aggregate/aggregation-level.ts';
import { DEDUP_MODES } from '../aggregate/dedup.ts';
// Likewise the ingest stage owns its receive paths.
import { UDP_BACKENDS, UDP_SPREADS } from './udp-choices.ts';
// The dnstap receiver (src/dns) owns its options.
import { DNSTAP_OPTIONS } from '../dns/dnstap-options.ts';
import { OTLP_PROTOCOLS } from './otlp-env.ts';

export const TEMPLATE_SCOPES = ['session', 'address'] as const;
export type TemplateScope = (typeof TEMPLATE_SCOPES)[number];
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
    help: 'receiving threads on the same port (SO_REUSEPORT), a number or auto (one per core); under --udp-spread auto they start as exporters arrive',
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
    help:
      'how datagrams are dealt to the receiving threads: exporter (the kernel keeps each exporter ' +
      'on one thread; few exporters load threads unevenly), datagram (each datagram to a ' +
      'thread at random, templates and sampling shared between threads; native backend), or ' +
      "auto (exporter: the cheapest, and what a DaemonSet's one exporter per collector needs)",
  },
  // Decoder state and template scope (issue 12): one block, so parallel edits merge cleanly.
  {
    key: 'templateScope',
    kind: 'enum',
    choices: TEMPLATE_SCOPES,
    default: 'address',
    group: 'Input',
    help:
      'where data finds its template: session (address and source port, as RFC 7011 scopes templates) or address (the session ' +
      "first, then the same address's template from another port: exporters that change source port on restart lose nothing)",
  },
  {
    key: 'maxExporters',
    kind: 'int',
    default: 10_000,
    min: 1,
    group: 'Input',
    help:
      'exporters (address and port) each receiving thread keeps templates ' +
      'and held data for; past it the least recently seen is evicted',
  },
  {
    key: 'decoderStateBudget',
    kind: 'int',
    default: 33_554_432,
    min: 1_048_576,
    group: 'Input',
    help:
      'bytes of decoder state (templates, held data, options state) per receiving ' +
      'thread; one exporter may take a sixteenth, its held data a sixty-fourth',
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
    // Under load every pair is in every drain, so the main thread's merge work (and its garbage)
    // goes with the rate of drains, not with traffic: at 20,000 pairs, 250ms made merges 40% of
    // the main thread's CPU, 1s about a sixth. A scrape is at most this much behind.
    default: '1s',
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
    help:
      'OTLP endpoint (else OTEL_EXPORTER_OTLP_METRICS_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT; ' +
      'off when none); for http/* an endpoint with no path gets /v1/metrics',
  },
  // Issue 19: the standard exporter conventions (OTLP protocols; TLS and basic auth on our HTTP).
  {
    key: 'otlpProtocol',
    kind: 'enum',
    choices: OTLP_PROTOCOLS,
    group: 'Output',
    help:
      'OTLP protocol (else OTEL_EXPORTER_OTLP_METRICS_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL, else grpc); headers, CA, ' +
      'client certificate, compression, timeout and temporality come from the standard OTEL_EXPORTER_OTLP_* variables',
  },
  {
    key: 'webConfigFile',
    kind: 'path',
    group: 'Output',
    help:
      'Prometheus exporter-toolkit web configuration (tls_server_config, ' +
      'basic_auth_users, http_server_config.headers) for every HTTP endpoint',
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
