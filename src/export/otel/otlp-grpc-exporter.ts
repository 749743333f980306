/**
 * The official OTLP/gRPC metric exporter (transport, retries, timeouts, headers, TLS and the
 * OTEL_EXPORTER_OTLP_* variables, all as `@opentelemetry/exporter-metrics-otlp-grpc` builds them),
 * with our protobuf encoder (otlp-encode.ts) in place of the SDK's serializer: the same bytes,
 * 2 to 6 times less CPU per export of the store.
 */
import { OTLPMetricExporterBase, type OTLPMetricExporterOptions } from '@opentelemetry/exporter-metrics-otlp-http';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExportDelegate,
  type OTLPGRPCExporterConfigNode,
} from '@opentelemetry/otlp-grpc-exporter-base';
import { MetricsExporterMetricsHelper, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { OtlpMetricsEncoder } from './otlp-encode.ts';

export function otlpGrpcMetricExporter(config: OTLPGRPCExporterConfigNode & OTLPMetricExporterOptions = {}): OTLPMetricExporterBase {
  const encoder = new OtlpMetricsEncoder();
  const serializer = {
    serializeRequest: (rm: ResourceMetrics) => encoder.encode(rm),
    deserializeResponse: (b: Uint8Array) => ProtobufMetricsSerializer.deserializeResponse(b),
  };
  return new OTLPMetricExporterBase(
    createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions(config, 'METRICS'),
      serializer,
      'otlp_grpc_metric_exporter',
      MetricsExporterMetricsHelper,
      undefined,
      'MetricsExportService',
      '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
    ),
    config,
  );
}
