/**
 * The OTLP exporter settings that come from the standard OpenTelemetry environment, checked at
 * start. The official exporters read most of these variables themselves (headers, certificates,
 * compression, temporality); what they would only warn about at the first export (a protocol
 * they do not know, a certificate file that cannot be read, a timeout that is not a number) is
 * a config error here instead, naming the variable.
 *
 * Endpoint rules follow the exporter specification: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used
 * as given; OTEL_EXPORTER_OTLP_ENDPOINT is a base to which HTTP protocols append `v1/metrics`.
 * --otlp-endpoint (our flag) is taken as given, except that an HTTP endpoint with no path gets
 * `/v1/metrics`, so `--otlp-endpoint https://otlp.example.com` works for both protocols.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './options.ts';

export const OTLP_PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
/**
 * Ours stays grpc (the specification's default is http/protobuf): existing deployments point
 * --otlp-endpoint at a Collector's gRPC port 4317, and a silent switch would break them.
 */
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = 'grpc';

export interface OtlpEnvSettings {
  protocol: OtlpProtocol;
  /** The URL the exporter is given; undefined when OTLP is off. */
  endpoint: string | undefined;
  /** From OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT (milliseconds), else undefined. */
  timeoutMs: number | undefined;
}

/** The signal-specific variable, then the general one: [name, value] of the first one set. */
function pick(env: NodeJS.ProcessEnv, suffix: string): [string, string] | undefined {
  for (const name of [`OTEL_EXPORTER_OTLP_METRICS_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`]) {
    const v = env[name]?.trim();
    if (v) return [name, v];
  }
  return undefined;
}

function checkUrl(field: string, text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new ConfigError(
      field,
      `${JSON.stringify(text)} is not a URL (e.g. http://otel-collector:4317 for grpc, http://otel-collector:4318 for http/protobuf)`,
    );
  }
}

/** `flagProtocol` / `flagEndpoint`: the values of --otlp-protocol / --otlp-endpoint (flag, NETFLOW_K8S_* or YAML). */
export function otlpFromEnv(flagProtocol: string | undefined, flagEndpoint: string | undefined, env: NodeJS.ProcessEnv): OtlpEnvSettings {
  let protocol: OtlpProtocol = DEFAULT_OTLP_PROTOCOL;
  if (flagProtocol) protocol = flagProtocol as OtlpProtocol;
  else {
    const p = pick(env, 'PROTOCOL');
    if (p) {
      if (!(OTLP_PROTOCOLS as readonly string[]).includes(p[1])) {
        throw new ConfigError(p[0], `expected one of ${OTLP_PROTOCOLS.join(', ')}, got ${JSON.stringify(p[1])}`);
      }
      protocol = p[1] as OtlpProtocol;
    }
  }
  const http = protocol !== 'grpc';

  let endpoint: string | undefined;
  if (flagEndpoint) {
    const u = checkUrl('otlpEndpoint', flagEndpoint);
    endpoint = http && (u.pathname === '/' || u.pathname === '') ? new URL('/v1/metrics', u).toString() : flagEndpoint;
  } else if (env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim()) {
    endpoint = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT.trim();
    checkUrl('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', endpoint);
  } else if (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) {
    const base = env.OTEL_EXPORTER_OTLP_ENDPOINT.trim();
    checkUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base);
    endpoint = http ? `${base.endsWith('/') ? base : `${base}/`}v1/metrics` : base;
  }

  let timeoutMs: number | undefined;
  const t = pick(env, 'TIMEOUT');
  if (t) {
    timeoutMs = Number(t[1]);
    if (!/^\d+$/.test(t[1]) || timeoutMs <= 0)
      throw new ConfigError(t[0], `expected a positive number of milliseconds, got ${JSON.stringify(t[1])}`);
  }
  // The exporters drop a malformed entry with a diagnostic nobody sees, and the backend answers 401.
  for (const name of ['OTEL_EXPORTER_OTLP_METRICS_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS']) {
    const h = env[name]?.trim();
    if (!h) continue;
    for (const entry of h.split(',')) {
      if (!/^\s*[^=\s]+\s*=/.test(entry))
        throw new ConfigError(
          name,
          `expected key=value pairs separated by commas (e.g. Authorization=Bearer%20TOKEN), ` +
            `got an entry ${JSON.stringify(entry.trim().replace(/=.*/, '=...'))}`,
        );
    }
  }
  const c = pick(env, 'COMPRESSION');
  if (c && c[1] !== 'gzip' && c[1] !== 'none') throw new ConfigError(c[0], `expected gzip or none, got ${JSON.stringify(c[1])}`);
  const tp = env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE?.trim();
  if (tp && !/^(cumulative|delta|lowmemory)$/i.test(tp)) {
    throw new ConfigError(
      'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
      `expected cumulative, delta or lowmemory, got ${JSON.stringify(tp)}`,
    );
  }

  if (endpoint !== undefined) {
    // The exporters read these files themselves, but only warn when they cannot; a missing CA
    // would then look like a network fault at every interval.
    for (const suffix of ['CERTIFICATE', 'CLIENT_KEY', 'CLIENT_CERTIFICATE']) {
      const f = pick(env, suffix);
      if (!f) continue;
      try {
        readFileSync(f[1]);
      } catch (err) {
        throw new ConfigError(f[0], `cannot read ${JSON.stringify(f[1])}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
    if (!pick(env, 'CLIENT_KEY') !== !pick(env, 'CLIENT_CERTIFICATE')) {
      throw new ConfigError(
        pick(env, 'CLIENT_KEY')?.[0] ?? pick(env, 'CLIENT_CERTIFICATE')![0],
        'mTLS needs both OTEL_EXPORTER_OTLP_CLIENT_KEY and OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE',
      );
    }
  }
  return { protocol, endpoint, timeoutMs };
}
