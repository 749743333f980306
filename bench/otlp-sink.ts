/**
 * An OTLP gRPC endpoint for the benches that accepts Export requests without decoding them (an
 * empty reply is a valid ExportMetricsServiceResponse), so the bench's own CPU does not compete
 * with what it measures. It counts requests and bytes; test/support/otlp-receiver.ts is the one
 * that decodes, for tests.
 */
import * as grpc from '@grpc/grpc-js';

export interface OtlpSink {
  url: string;
  /** What arrived since the start (or since the caller last zeroed them). */
  stats: { requests: number; bytes: number; largest: number };
  stop(): Promise<void>;
}

/** `maxReceiveBytes`: the largest request accepted (an OpenTelemetry Collector's default is 4 MiB). */
export async function startOtlpSink(maxReceiveBytes = 16 * 2 ** 20): Promise<OtlpSink> {
  const stats = { requests: 0, bytes: 0, largest: 0 };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': maxReceiveBytes });
  const raw = (b: Buffer) => b;
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        stats.requests++;
        stats.bytes += call.request.length;
        stats.largest = Math.max(stats.largest, call.request.length);
        cb(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { url: `http://127.0.0.1:${port}`, stats, stop: () => new Promise((r) => server.tryShutdown(() => r())) };
}
