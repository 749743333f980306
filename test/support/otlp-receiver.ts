/**
 * A real OTLP/gRPC metrics receiver for tests: a @grpc/grpc-js server that decodes requests with
 * the OTLP protobuf definitions (test/support/otlp-proto, upstream field numbers) and keeps what
 * arrived. It can go down and come back on the same port, to test exporters against an outage.
 *
 *   const rx = await OtlpReceiver.start();           // 127.0.0.1, a free port
 *   ... point the exporter at rx.url ...
 *   await rx.waitFor(() => rx.latest('netflow.connection.bytes').size > 0);
 *   await rx.stop();
 */
import { fileURLToPath } from 'node:url';
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
}

export interface ReceiverOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Largest request accepted; default 4 MiB like an OpenTelemetry Collector. */
  maxReceiveMessageLength?: number;
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
interface PKeyValue { key: string; value?: PAnyValue }
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
    case 'string_value': return v.string_value ?? '';
    case 'bool_value': return v.bool_value ?? false;
    case 'int_value': return Number(v.int_value);
    case 'double_value': return v.double_value ?? 0;
    default: return '';
  }
}

export function attrs(kvs: PKeyValue[] | undefined): Attrs {
  const out: Attrs = {};
  for (const kv of kvs ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** A stable key for an attribute set (sorted keys). */
export function seriesKey(a: Attrs): string {
  return JSON.stringify(Object.keys(a).sort().map((k) => [k, a[k]]));
}

const TEMPORALITY: Record<string, ReceivedPoint['temporality']> = {
  AGGREGATION_TEMPORALITY_CUMULATIVE: 'cumulative',
  AGGREGATION_TEMPORALITY_DELTA: 'delta',
};

export class OtlpReceiver {
  readonly host: string;
  readonly requests: ReceivedRequest[] = [];
  /** Set to make every Export fail with this gRPC status (e.g. grpc.status.UNAVAILABLE). */
  failWith: grpc.status | undefined;
  private server: grpc.Server | undefined;
  private boundPort = 0;
  private readonly maxLen: number;
  private readonly waiters = new Set<() => void>();

  private constructor(host: string, maxLen: number) {
    this.host = host;
    this.maxLen = maxLen;
  }

  static async start(opts: ReceiverOptions = {}): Promise<OtlpReceiver> {
    const rx = new OtlpReceiver(opts.host ?? '127.0.0.1', opts.maxReceiveMessageLength ?? 4 * 1024 * 1024);
    await rx.listen(opts.port ?? 0);
    return rx;
  }

  get port(): number { return this.boundPort; }
  /** What an OTLP gRPC exporter takes as its endpoint. */
  get url(): string { return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.boundPort}`; }
  get running(): boolean { return this.server !== undefined; }

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
    s.forceShutdown();
  }

  /** Comes back on the same port. */
  async restart(): Promise<void> {
    if (this.server) return;
    await this.listen(this.boundPort);
  }

  private async listen(port: number): Promise<void> {
    const def = protoLoader.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', {
      includeDirs: [PROTO_ROOT], longs: String, enums: String, defaults: true, oneofs: true, keepCase: true,
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
        this.record(call.request, lastSize);
        cb(null, {});
      },
    });
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${this.host.includes(':') ? `[${this.host}]` : this.host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
        if (err) reject(err); else resolve(p);
      });
    });
    this.boundPort = bound;
    this.server = server;
  }

  private record(req: PRequest, bytes: number): void {
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
              temporality: kind === 'sum' ? TEMPORALITY[m.sum!.aggregation_temporality] ?? 'unspecified' : 'unspecified',
              monotonic: kind === 'sum' ? m.sum!.is_monotonic : false,
              attributes: attrs(dp.attributes),
              resource,
              scope: sm.scope?.name ?? '',
              value: dp.value === 'as_int' ? Number(dp.as_int) : dp.as_double ?? 0,
              startTimeUnixNano: BigInt(dp.start_time_unix_nano),
              timeUnixNano: BigInt(dp.time_unix_nano),
              request: index,
            });
          }
        }
      }
    }
    this.requests.push({ bytes, points, raw: req });
    for (const w of [...this.waiters]) w();
  }
}
