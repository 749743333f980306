/**
 * A real OTLP metrics receiver for tests: a @grpc/grpc-js server, or an HTTP server taking
 * OTLP/HTTP protobuf and JSON at /v1/metrics (gzip too), either of them over TLS or mTLS when
 * given certificates. It decodes requests with the OTLP protobuf definitions
 * (test/support/otlp-proto, upstream field numbers) and keeps what arrived, with the headers
 * each request came with. It can go down and come back on the same port, to test exporters
 * against an outage.
 *
 *   const rx = await OtlpReceiver.start();           // 127.0.0.1, a free port
 *   ... point the exporter at rx.url ...
 *   await rx.waitFor(() => rx.latest('netflow.connection.bytes').size > 0);
 *   await rx.stop();
 */
import { fileURLToPath } from 'node:url';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export type AttrValue = string | number | boolean;
export type Attrs = Record<string, AttrValue>;

export interface ReceivedPoint {
  metric: string;
  unit: string;
  kind: 'sum' | 'gauge';
  temporality: 'cumulative' | 'delta' | 'unspecified';
  monotonic: boolean;
  attributes: Attrs;
  resource: Attrs;
  scope: string;
  value: number;
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  /** Index of the request it came in. */
  request: number;
}

export interface ReceivedRequest {
  /** Size of the serialized request in bytes. */
  bytes: number;
  points: ReceivedPoint[];
  /** The decoded ExportMetricsServiceRequest as proto-loader gives it. */
  raw: unknown;
  /** Request headers (gRPC: metadata), names in lower case. */
  headers: Record<string, string>;
  /** How it came: grpc, or the HTTP content type (application/x-protobuf, application/json). */
  format: string;
  /** Content-Encoding (HTTP); 'identity' when none, and always for gRPC (grpc-js hides grpc-encoding). */
  encoding: string;
}

export interface ReceiverTls {
  cert: Buffer;
  key: Buffer;
  /** Require a client certificate signed by this CA (mTLS). */
  clientCa?: Buffer;
}

export interface ReceiverOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Largest request accepted; default 4 MiB like an OpenTelemetry Collector. */
  maxReceiveMessageLength?: number;
  /** gRPC (default) or OTLP/HTTP (protobuf and JSON at /v1/metrics). */
  transport?: 'grpc' | 'http';
  tls?: ReceiverTls;
}

const PROTO_ROOT = fileURLToPath(new URL('./otlp-proto/', import.meta.url));

/* The decoded shapes (proto-loader with longs and enums as strings, oneofs named). */
interface PAnyValue {
  value?: string;
  string_value?: string;
  bool_value?: boolean;
  int_value?: string;
  double_value?: number;
}
interface PKeyValue {
  key: string;
  value?: PAnyValue;
}
interface PNumberDataPoint {
  attributes: PKeyValue[];
  start_time_unix_nano: string;
  time_unix_nano: string;
  value?: 'as_double' | 'as_int';
  as_double?: number;
  as_int?: string;
}
interface PMetric {
  name: string;
  unit: string;
  data?: 'sum' | 'gauge';
  sum?: { data_points: PNumberDataPoint[]; aggregation_temporality: string; is_monotonic: boolean };
  gauge?: { data_points: PNumberDataPoint[] };
}
interface PRequest {
  resource_metrics: { resource?: { attributes: PKeyValue[] }; scope_metrics: { scope?: { name: string }; metrics: PMetric[] }[] }[];
}

function anyValue(v: PAnyValue | undefined): AttrValue {
  switch (v?.value) {
    case 'string_value':
      return v.string_value ?? '';
    case 'bool_value':
      return v.bool_value ?? false;
    case 'int_value':
      return Number(v.int_value);
    case 'double_value':
      return v.double_value ?? 0;
    default:
      return '';
  }
}

export function attrs(kvs: PKeyValue[] | undefined): Attrs {
  const out: Attrs = {};
  for (const kv of kvs ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** A stable key for an attribute set (sorted keys). */
export function seriesKey(a: Attrs): string {
  return JSON.stringify(
    Object.keys(a)
      .sort()
      .map((k) => [k, a[k]]),
  );
}

const TEMPORALITY: Record<string, ReceivedPoint['temporality']> = {
  AGGREGATION_TEMPORALITY_CUMULATIVE: 'cumulative',
  AGGREGATION_TEMPORALITY_DELTA: 'delta',
};

export class OtlpReceiver {
  readonly host: string;
  readonly requests: ReceivedRequest[] = [];
  /** Set to make every Export fail with this gRPC status (e.g. grpc.status.UNAVAILABLE); over HTTP, a 503. */
  failWith: grpc.status | undefined;
  /** OTLP/HTTP: hold every answer this long (to test exporters' timeouts). */
  delayMs = 0;
  /** TLS handshakes the server refused (e.g. a client without a certificate under mTLS). */
  readonly tlsErrors: string[] = [];
  private server: grpc.Server | HttpServer | undefined;
  private boundPort = 0;
  private readonly maxLen: number;
  private readonly transport: 'grpc' | 'http';
  private readonly tls: ReceiverTls | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(host: string, maxLen: number, transport: 'grpc' | 'http', tls: ReceiverTls | undefined) {
    this.host = host;
    this.maxLen = maxLen;
    this.transport = transport;
    this.tls = tls;
  }

  static async start(opts: ReceiverOptions = {}): Promise<OtlpReceiver> {
    const rx = new OtlpReceiver(
      opts.host ?? '127.0.0.1',
      opts.maxReceiveMessageLength ?? 4 * 1024 * 1024,
      opts.transport ?? 'grpc',
      opts.tls,
    );
    await rx.listen(opts.port ?? 0);
    return rx;
  }

  get port(): number {
    return this.boundPort;
  }
  /** What an OTLP gRPC exporter takes as its endpoint; for HTTP, the base (OTEL_EXPORTER_OTLP_ENDPOINT). */
  get url(): string {
    return `${this.tls ? 'https' : 'http'}://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.boundPort}`;
  }
  /** The full OTLP/HTTP metrics URL (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT). */
  get metricsUrl(): string {
    return `${this.url}/v1/metrics`;
  }
  get running(): boolean {
    return this.server !== undefined;
  }

  /** Every point received, in arrival order. */
  points(): ReceivedPoint[] {
    return this.requests.flatMap((r) => r.points);
  }

  /** The last value per attribute set of one metric (for cumulative sums: the current totals). */
  latest(metric: string): Map<string, ReceivedPoint> {
    const m = new Map<string, ReceivedPoint>();
    for (const p of this.points()) if (p.metric === metric) m.set(seriesKey(p.attributes), p);
    return m;
  }

  /** Sum of the latest values of one metric over all its series. */
  latestTotal(metric: string): number {
    let t = 0;
    for (const p of this.latest(metric).values()) t += p.value;
    return t;
  }

  /** Resolves once `pred()` holds (checked on every request), rejects after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`OTLP receiver: condition not met within ${timeoutMs} ms (${this.requests.length} requests so far)`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  clear(): void {
    this.requests.length = 0;
  }

  /** Goes away: the port closes and open connections are cut. */
  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    if (s instanceof grpc.Server) s.forceShutdown();
    else {
      s.close();
      s.closeAllConnections();
    }
  }

  /** Comes back on the same port. */
  async restart(): Promise<void> {
    if (this.server) return;
    await this.listen(this.boundPort);
  }

  private async listen(port: number): Promise<void> {
    if (this.transport === 'http') return this.listenHttp(port);
    const def = protoLoader.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', {
      includeDirs: [PROTO_ROOT],
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      keepCase: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      opentelemetry: { proto: { collector: { metrics: { v1: { MetricsService: grpc.ServiceClientConstructor } } } } };
    };
    const service = pkg.opentelemetry.proto.collector.metrics.v1.MetricsService.service;
    // Wrap the deserializer to learn each request's size on the wire.
    let lastSize = 0;
    const exportDef = service.Export;
    const sized = {
      ...service,
      Export: {
        ...exportDef,
        requestDeserialize: (buf: Buffer) => {
          lastSize = buf.length;
          return exportDef.requestDeserialize(buf);
        },
      },
    } as grpc.ServiceDefinition;
    const server = new grpc.Server({ 'grpc.max_receive_message_length': this.maxLen });
    server.addService(sized, {
      Export: (call: grpc.ServerUnaryCall<PRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (this.failWith !== undefined) {
          cb({ code: this.failWith, details: 'test receiver told to fail' });
          return;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k.toLowerCase()] = String(v);
        this.record(call.request, lastSize, headers, 'grpc', headers['grpc-encoding'] ?? 'identity');
        cb(null, {});
      },
    });
    const creds = this.tls
      ? grpc.ServerCredentials.createSsl(
          this.tls.clientCa ?? null,
          [{ private_key: this.tls.key, cert_chain: this.tls.cert }],
          this.tls.clientCa !== undefined,
        )
      : grpc.ServerCredentials.createInsecure();
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${this.host.includes(':') ? `[${this.host}]` : this.host}:${port}`, creds, (err, p) => {
        if (err) reject(err);
        else resolve(p);
      });
    });
    this.boundPort = bound;
    this.server = server;
  }

  /** OTLP/HTTP: POST /v1/metrics, protobuf or JSON, maybe gzipped; answers as the Collector does. */
  private async listenHttp(port: number): Promise<void> {
    const decodeProto = exportRequestDecoder();
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/metrics') {
          res.writeHead(404).end();
          return;
        }
        if (this.failWith !== undefined) {
          res.writeHead(503, { 'content-type': 'text/plain' }).end('test receiver told to fail');
          return;
        }
        const encoding = String(req.headers['content-encoding'] ?? 'identity');
        const wire = Buffer.concat(chunks);
        const body = encoding === 'gzip' ? gunzipSync(wire) : wire;
        const type = String(req.headers['content-type'] ?? '')
          .split(';')[0]
          .trim();
        const json = type === 'application/json';
        const decoded = json ? fromOtlpJson(JSON.parse(body.toString('utf8'))) : decodeProto(body);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
        const answer = () => {
          this.record(decoded, wire.length, headers, type, encoding);
          res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : Buffer.alloc(0));
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    };
    const server = this.tls
      ? createHttpsServer(
          {
            cert: this.tls.cert,
            key: this.tls.key,
            ...(this.tls.clientCa ? { ca: this.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
          },
          handle,
        )
      : createHttpServer(handle);
    server.on('tlsClientError', (err: Error) => this.tlsErrors.push(err.message));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => resolve());
    });
    this.boundPort = (server.address() as { port: number }).port;
    this.server = server;
  }

  private record(req: PRequest, bytes: number, headers: Record<string, string>, format: string, encoding: string): void {
    const index = this.requests.length;
    const points: ReceivedPoint[] = [];
    for (const rm of req.resource_metrics) {
      const resource = attrs(rm.resource?.attributes);
      for (const sm of rm.scope_metrics) {
        for (const m of sm.metrics) {
          const kind = m.data;
          if (kind !== 'sum' && kind !== 'gauge') continue;
          const data = kind === 'sum' ? m.sum! : m.gauge!;
          for (const dp of data.data_points) {
            points.push({
              metric: m.name,
              unit: m.unit,
              kind,
              temporality: kind === 'sum' ? (TEMPORALITY[m.sum!.aggregation_temporality] ?? 'unspecified') : 'unspecified',
              monotonic: kind === 'sum' ? m.sum!.is_monotonic : false,
              attributes: attrs(dp.attributes),
              resource,
              scope: sm.scope?.name ?? '',
              value: dp.value === 'as_int' ? Number(dp.as_int) : (dp.as_double ?? 0),
              startTimeUnixNano: BigInt(dp.start_time_unix_nano),
              timeUnixNano: BigInt(dp.time_unix_nano),
              request: index,
            });
          }
        }
      }
    }
    this.requests.push({ bytes, points, raw: req, headers, format, encoding });
    for (const w of [...this.waiters]) w();
  }
}

/** The protobuf decoder of ExportMetricsServiceRequest, from the same definitions the gRPC server uses. */
function exportRequestDecoder(): (buf: Buffer) => PRequest {
  const def = protoLoader.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', {
    includeDirs: [PROTO_ROOT],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    keepCase: true,
  });
  const svc = def['opentelemetry.proto.collector.metrics.v1.MetricsService'] as unknown as Record<
    string,
    { requestDeserialize(b: Buffer): PRequest }
  >;
  return (buf) => svc.Export.requestDeserialize(buf);
}

/* OTLP/JSON (the protobuf JSON mapping: lowerCamelCase keys, enums as numbers, 64-bit integers as strings). */
type J = Record<string, unknown>;
const arr = (v: unknown): J[] => (Array.isArray(v) ? (v as J[]) : []);
const TEMPORALITY_JSON: Record<string, string> = {
  '1': 'AGGREGATION_TEMPORALITY_DELTA',
  '2': 'AGGREGATION_TEMPORALITY_CUMULATIVE',
  AGGREGATION_TEMPORALITY_DELTA: 'AGGREGATION_TEMPORALITY_DELTA',
  AGGREGATION_TEMPORALITY_CUMULATIVE: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
};

function jsonAttrs(v: unknown): PKeyValue[] {
  return arr(v).map((kv) => {
    const val = (kv.value ?? {}) as J;
    const value: PAnyValue =
      'stringValue' in val
        ? { value: 'string_value', string_value: String(val.stringValue) }
        : 'boolValue' in val
          ? { value: 'bool_value', bool_value: Boolean(val.boolValue) }
          : 'intValue' in val
            ? { value: 'int_value', int_value: String(val.intValue) }
            : 'doubleValue' in val
              ? { value: 'double_value', double_value: Number(val.doubleValue) }
              : {};
    return { key: String(kv.key), value };
  });
}

function jsonPoints(v: unknown): PNumberDataPoint[] {
  return arr(v).map((dp) => ({
    attributes: jsonAttrs(dp.attributes),
    start_time_unix_nano: String(dp.startTimeUnixNano ?? '0'),
    time_unix_nano: String(dp.timeUnixNano ?? '0'),
    ...('asInt' in dp
      ? { value: 'as_int' as const, as_int: String(dp.asInt) }
      : { value: 'as_double' as const, as_double: Number(dp.asDouble ?? 0) }),
  }));
}

export function fromOtlpJson(doc: J): PRequest {
  return {
    resource_metrics: arr(doc.resourceMetrics).map((rm) => ({
      resource: { attributes: jsonAttrs((rm.resource as J | undefined)?.attributes) },
      scope_metrics: arr(rm.scopeMetrics).map((sm) => ({
        scope: { name: String((sm.scope as J | undefined)?.name ?? '') },
        metrics: arr(sm.metrics).map((m): PMetric => {
          const base = { name: String(m.name), unit: String(m.unit ?? '') };
          if (m.sum) {
            const sum = m.sum as J;
            return {
              ...base,
              data: 'sum',
              sum: {
                data_points: jsonPoints(sum.dataPoints),
                aggregation_temporality: TEMPORALITY_JSON[String(sum.aggregationTemporality)] ?? 'unspecified',
                is_monotonic: Boolean(sum.isMonotonic),
              },
            };
          }
          if (m.gauge) return { ...base, data: 'gauge', gauge: { data_points: jsonPoints((m.gauge as J).dataPoints) } };
          return base;
        }),
      })),
    })),
  };
}
