/**
 * The whole count path of one receiving thread plus the main thread's store and both pages, in
 * one process, driven round by round: a series explosion (every record a new pod pair, far past
 * --max-series) and compressed pod churn (pods replaced by new ones on the same addresses, pairs
 * expiring, deleted pods pruned). After each round it reports the sizes of every table that could
 * grow, and the heap when --expose-gc lets it measure one. The bench (bench/bounded.bench.ts)
 * prints these at full scale; test/pipeline/bounded-memory.test.ts checks the bounds at a small one.
 */
import { defaultRunConfig, type RunConfig } from '../../src/config/run-options.ts';
import { buildWorkerParts } from '../../src/pipeline/build-parts.ts';
import { storeFor } from '../../src/pipeline/store.ts';
import { UdpReceiver } from '../../src/ingest/udp-receiver.ts';
import { iptNetflowStream, podAddress } from '../../src/generate/ipt-netflow-stream.ts';
import { ipv4ToString } from '../../src/decode/record.ts';
import type { End } from '../../src/aggregate/pair-store.ts';
import { PrometheusTextRenderer } from '../../src/export/prometheus/text.ts';
import { OtelPrometheusText } from '../../src/export/otel/prometheus-text.ts';
import type { SlimPod } from '../../src/identify/inventory.ts';

export interface BoundedRunOptions {
  pods: number;
  maxSeries: number;
  rounds: number;
  recordsPerRound: number;
  /** Pods replaced by new ones (same address, new uid and name) each round; 0 for none. */
  churnPerRound: number;
}

export interface Checkpoint {
  round: number;
  /** heapUsed after a full collection, MiB; NaN without --expose-gc. */
  heapMiB: number;
  storePairs: number;
  storeEnds: number;
  tableEnds: number;
  pageRows: number;
  pods: number;
  podsRetained: number;
  endpoints: number;
  /** Entries of the thread's end-number map (the pool's `ends` array), live ones only. */
  endMap: number;
}

const DAY = 86_400_000;

function pod(k: number, gen: number, startMs: number): SlimPod {
  return {
    uid: `uid-${k}-${gen}`,
    namespace: `ns-${k % 16}`,
    name: `app-${k}-${gen}`,
    nodeName: `node-${k % 4}`,
    hostNetwork: false,
    ips: [ipv4ToString(podAddress(k))],
    phase: 'Running',
    startMs,
    appLabel: `app-${k}`,
    ownerKind: 'Deployment',
    ownerName: `app-${k}`,
    labels: { app: `app-${k}` },
    ports: [],
  };
}

export async function* boundedRun(o: BoundedRunOptions): AsyncGenerator<Checkpoint> {
  const cfg: RunConfig = { ...defaultRunConfig(), level: 'pod', maxSeries: o.maxSeries, workers: 1 };
  const { decoder, identity, counts, pipeline } = await buildWorkerParts(cfg);
  const store = storeFor(cfg);
  const prom = new PrometheusTextRenderer(store);
  const otel = new OtelPrometheusText({ store, resourceAttributes: { 'service.name': 'bounded' } });
  const gen = new Array<number>(o.pods).fill(0);
  const t0 = Date.now() - DAY;
  for (let k = 0; k < o.pods; k++) identity.upsertPod(pod(k, 0, t0));
  // The run's clock moves a TTL a round; the pipeline reads it instead of the wall clock.
  let clock = Date.now();
  const receiver = new UdpReceiver(decoder, undefined, () => (pipeline.nowMs = clock));
  const ends: End[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  const perDatagram = 27;
  let seed = 1;
  for (let round = 1; round <= o.rounds; round++) {
    // Each round is a TTL later than the last, so the pairs of earlier rounds expire.
    const now = Date.now() + (round - 1) * (cfg.seriesTtlMs + 1000);
    clock = now;
    for (let i = 0; i < o.churnPerRound; i++) {
      const k = (round * o.churnPerRound + i) % o.pods;
      identity.deletePod(`uid-${k}-${gen[k]}`, now - 1000);
      gen[k]++;
      identity.upsertPod(pod(k, gen[k], now - 500));
    }
    const stream = iptNetflowStream({
      exporters: ['10.1.0.1'],
      recordsPerDatagram: perDatagram,
      addresses: o.pods,
      count: Math.ceil(o.recordsPerRound / perDatagram),
      seed: seed++,
      startMs: now,
      datagramIntervalMs: 0,
    });
    for (const d of stream)
      receiver.receive(Buffer.from(d.payload), { address: d.exporter, family: 'IPv4', port: 40_000, size: d.payload.length });
    // The sweep first, as the collector's timer does between merges: last round's pairs are a TTL old.
    store.expire(now);
    store.mergeBatch(counts.drain(), ends);
    identity.prune(now + 2 * DAY);
    prom.render();
    otel.render();
    // Turns of the event loop, as between real batches: WeakRef targets stay alive until the
    // current job ends, and finalizers (the intern table's cleanup) run as tasks after a collection.
    await new Promise((r) => setImmediate(r));
    gc?.();
    await new Promise((r) => setImmediate(r));
    gc?.();
    const s = store.stats();
    const id = identity.stats;
    yield {
      round,
      heapMiB: gc ? process.memoryUsage().heapUsed / 2 ** 20 : NaN,
      storePairs: s.pairs,
      storeEnds: s.ends,
      tableEnds: counts.stats().ends,
      pageRows: prom.series,
      pods: id.pods,
      podsRetained: id.podsRetained,
      endpoints: id.endpoints,
      endMap: ends.filter((e) => e !== undefined && !e.dead).length,
    };
  }
}
