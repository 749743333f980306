/**
 * Export costs for 20,000 series (pod level, realistic names): the seed's Prometheus text page,
 * one OTel collection by the store's MetricProducer, the /metrics/otel page (our renderer and the
 * official exporter it replaced, with the heap each adds), the CPU of an OTLP encoding of all
 * 60,000 points, and a whole OTLP/gRPC export (serialization and sending) with its CPU and the
 * longest event-loop stall it causes, into a sink that does not decode.
 */
import assert from 'node:assert/strict';
import { startOtlpSink } from './otlp-sink.ts';
import { PairStore } from '../src/aggregate/pair-store.ts';
import { PrometheusTextRenderer } from '../src/export/prometheus/text.ts';
import { StoreMetricProducer } from '../src/export/otel/producer.ts';
import { OtelPrometheus } from '../test/support/otel-prometheus-reference.ts';
import { OtelPrometheusText } from '../src/export/otel/prometheus-text.ts';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { OtlpMetricsEncoder } from '../src/export/otel/otlp-encode.ts';
import { emptyResource } from '@opentelemetry/resources';
import { OtlpMetrics } from '../src/export/otel/otlp.ts';
import { buildResource } from '../src/export/otel/resource.ts';
import { FlowRecord } from '../src/decode/record.ts';
import type { Endpoint } from '../src/identify/endpoint.ts';

const SERIES = 20_000;

/** 20,000 pod-level pairs with realistic names; `appOf` names pod i's app (default: 97 apps). */
export function fill(appOf: (i: number) => string = (i) => `checkout-${i % 97}`): PairStore {
  const s = new PairStore({ level: 'pod', dims: { protocol: true, serverPort: true } });
  const mk = (id: number, i: number): Endpoint => ({
    id,
    kind: 'pod',
    namespace: `team-${i % 40}-namespace`,
    name: `checkout-service-7d9f8c6b5-${i}`,
    app: appOf(i),
    ownerKind: 'Deployment',
    ownerName: `checkout-service-${i % 97}`,
    nodeName: `ip-10-0-${i % 200}-1.eu-west-1.compute.internal`,
  });
  const db: Endpoint = {
    id: 1,
    kind: 'pod',
    namespace: 'payments',
    name: 'postgres-0',
    app: 'postgres',
    ownerKind: 'StatefulSet',
    ownerName: 'postgres',
    nodeName: 'n1',
  };
  const r = new FlowRecord();
  r.proto = 6;
  r.dstPort = 5432;
  r.bytes = 123_456_789;
  r.packets = 4242;
  for (let i = 0; i < SERIES; i++) s.add(mk(i + 2, i), db, 'src-client', r, Date.now());
  return s;
}

function timeIt(runs: number, fn: () => void): { min: number; median: number } {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    fn();
    t.push(performance.now() - a);
  }
  t.sort((x, y) => x - y);
  return { min: t[0], median: t[Math.floor(runs / 2)] };
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

/** Longest gap between 1 ms timer ticks while `fn` runs: how long the event loop was blocked at once. */
async function longestStall(fn: () => Promise<void>): Promise<{ took: number; stall: number }> {
  let last = performance.now();
  let stall = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 1);
  const t = performance.now();
  last = t;
  await fn();
  const took = performance.now() - t;
  stall = Math.max(stall, performance.now() - last);
  clearInterval(tick);
  return { took, stall };
}

/**
 * OTLP encoding alone: one cumulative collection of the store, serialized by the SDK in the
 * reader's 1,000-point requests, as the gRPC exporter does before sending.
 */
export function otlpEncoding(
  store: PairStore,
  encoder?: OtlpMetricsEncoder,
): { wallMs: number; cpuMs: number; bytes: number; points: number } {
  const enc = new StoreMetricProducer(store);
  const serialize = encoder
    ? (rm: Parameters<OtlpMetricsEncoder['encode']>[0]) => encoder.encode(rm)
    : (rm: Parameters<OtlpMetricsEncoder['encode']>[0]) => ProtobufMetricsSerializer.serializeRequest(rm);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const scope = enc.collectScope();
  let bytes = 0,
    points = 0;
  for (const metric of scope.metrics) {
    points += metric.dataPoints.length;
    for (let i = 0; i < metric.dataPoints.length; i += 1000) {
      const part = { ...metric, dataPoints: metric.dataPoints.slice(i, i + 1000) } as typeof metric;
      bytes += serialize({ resource: emptyResource(), scopeMetrics: [{ scope: scope.scope, metrics: [part] }] })?.length ?? 0;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, bytes, points };
}

export async function main(): Promise<void> {
  const store = fill();
  const prom = new PrometheusTextRenderer(store);
  const first = timeIt(1, () => prom.render());
  const page = prom.render();
  const p = timeIt(15, () => prom.render());
  // What a scrape really pays: the rope flattened into bytes for the socket.
  const pb = timeIt(15, () => {
    Buffer.from(prom.render());
  });
  console.log(
    `prometheus text: ${SERIES} series x 3 families, ${(page.length / 1e6).toFixed(1)} MB: first render ${ms(first.min)} (builds label cache), then median ${ms(p.median)} (min ${ms(p.min)}); with flattening to bytes median ${ms(pb.median)}`,
  );

  const producer = new StoreMetricProducer(store);
  const c0 = timeIt(1, () => producer.collectScope());
  const c = timeIt(15, () => producer.collectScope());
  console.log(
    `otel producer: ${SERIES * 3} data points per collection: first ${ms(c0.min)} (builds attribute cache), then median ${ms(c.median)}, min ${ms(c.min)}`,
  );

  const resource = buildResource({ clusterName: 'bench' });
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const heapMiB = () => {
    gc();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };
  const ownPage = new OtelPrometheusText({ store, resourceAttributes: resource.attributes });
  const o0 = timeIt(1, () => Buffer.from(ownPage.render()));
  const h0 = heapMiB();
  let kept = ownPage.render();
  const ownHeap = heapMiB() - h0;
  const oo = timeIt(15, () => {
    Buffer.from(ownPage.render());
  });
  console.log(
    `/metrics/otel (own renderer): ${(kept.length / 1e6).toFixed(1)} MB, first ${ms(o0.min)} (builds label text), then median ${ms(oo.median)} (min ${ms(oo.min)}) with flattening to bytes; one page adds ${ownHeap.toFixed(0)} MiB of heap until collected`,
  );
  const otel = new OtelPrometheus({ store, resource });
  const fakeRes = () => {
    let body = '';
    return {
      statusCode: 0,
      setHeader() {},
      end(b: string) {
        body = b;
      },
      get body() {
        return body;
      },
    };
  };
  const scrape = () =>
    new Promise<void>((r) => {
      const res = fakeRes();
      res.end = (b: string) => {
        kept = b;
        r();
      };
      otel.handler({} as never, res as never);
    });
  await scrape();
  const o = await longestStall(scrape);
  console.log(
    `/metrics/otel (official @opentelemetry/exporter-prometheus, the reference): ${ms(o.took)} per scrape, longest event-loop stall ${ms(o.stall)}`,
  );
  assert.equal(kept, ownPage.render(), 'the two pages are equal');
  await otel.shutdown();

  const ours = new OtlpMetricsEncoder();
  for (let round = 0; round < 3; round++) {
    const r = otlpEncoding(store);
    const o = otlpEncoding(store, ours);
    console.log(
      `otlp encoding of ${SERIES * 3} points (collection and 1,000-point requests), run ${round + 1}: the SDK's ProtobufMetricsSerializer ${ms(r.cpuMs)} CPU, ours (same bytes) ${ms(o.cpuMs)} CPU, ${(o.bytes / 1e6).toFixed(1)} MB`,
    );
  }

  const sink = await startOtlpSink(4 * 2 ** 20);
  for (const batch of [4000, 1000]) {
    const otlp = new OtlpMetrics({ store, resource, endpoint: sink.url, intervalMs: 600_000, timeoutMs: 60_000, maxBatchPoints: batch });
    await otlp.forceFlush(); // connect and warm up
    sink.stats.requests = sink.stats.bytes = sink.stats.largest = 0;
    const cpu0 = process.cpuUsage();
    const { took, stall } = await longestStall(() => otlp.forceFlush());
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `otlp grpc export, batches of ${batch} points: ${ms(took)} (${ms((cpu.user + cpu.system) / 1000)} CPU, the sink's receiving included) for ${SERIES * 3} points in ${sink.stats.requests} requests (${(sink.stats.bytes / 1e6).toFixed(1)} MB, largest ${(sink.stats.largest / 1048576).toFixed(2)} MiB), longest event-loop stall ${ms(stall)}`,
    );
    await otlp.shutdown();
  }
  await sink.stop();
}

if (import.meta.main) await main();
