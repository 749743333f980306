/**
 * A receiving thread's warm-up, before it binds its socket. V8 optimises a function for the
 * types and branches it has seen run; a branch it has not seen (the delta table's overflow row, a
 * dedup decision, an unknown address, a drain) deoptimises the code the first time it is taken,
 * and the thread runs slower code until the function is compiled again. When that first time is
 * the first heavy burst, the socket's buffer fills meanwhile: measured on 2 cores, a collector
 * started on light traffic dropped 2,000 to 3,300 datagrams in its first 3 s at 100,000 datagrams/s,
 * and none in the same 3 s once it had seen heavier traffic. A restart during a traffic peak is
 * just that case.
 *
 * So each thread first runs its own code (the same classes, configured from the same run
 * config, through the receive path it is about to use) over a synthetic ipt-netflow stream, into
 * scratch instances that are then dropped: nothing of it is counted or exported. The stream takes
 * every branch the hot path can take on ipt-netflow's IPv4 traffic: known pods, unknown ends,
 * exporters that are nodes, a delta table that overflows and drains. Other layouts (IPFIX, IPv6,
 * other exporters' templates) get their reader compiled on first use as before.
 */
import type { RunConfig } from '../../config/run-options.ts';
import { iptNetflowStream, podAddress } from '../../generate/ipt-netflow-stream.ts';
import { ipv4ToString } from '../../decode/record.ts';
import { totalErrors } from '../../decode/stats.ts';
import { parseIPv4 } from '../../identify/ip.ts';
import { UdpReceiver } from '../../ingest/udp-receiver.ts';
import { META_ADDRESS, META_FAMILY, META_LENGTH, META_PORT, META_WORDS, type DatagramBatch } from '../../ingest/native-udp.ts';
import type { UdpBackend } from '../../config/udp-choices.ts';
import type { RemoteInfo } from 'node:dgram';
import { buildWorkerParts } from '../build-parts.ts';
import { settleMemory } from '../settle-memory.ts';

export interface WarmUpReport {
  /** Flow records that went through the scratch pipeline. */
  records: number;
  /** Flows that took the scratch delta table's overflow row. */
  overflowed: number;
  /** Records whose source or destination was unknown. */
  unknownEnds: number;
  /** Records counted once only because their exporter is a node (dedup took a decision). */
  dedupSkipped: number;
  /** Records from an exporter that is not a node (dedup's other branch). */
  fromOtherExporters: number;
  /** Records named from the address memo. */
  remembered: number;
  decodeErrors: number;
  /** Whether the scratch parts were collected at the end (settle-memory.ts), and what that took. */
  settled: boolean;
  settleMs: number;
  ms: number;
}

export interface WarmUpOptions {
  /** Passes over the synthetic stream. Default 12 (about 80,000 records). */
  rounds?: number;
  /** Start no further pass after this much time (the first always runs). Default 500 ms. */
  budgetMs?: number;
}

/**
 * Exporters of the stream; all but the last are nodes. Collectors are fed both ways (ipt-netflow
 * on the nodes, and routers or softflowd that are not nodes), and a dedup branch first taken by
 * live traffic deoptimised the pipeline at the first burst (--trace-deopt: "wrong instance type").
 */
const EXPORTERS = 5;
const DATAGRAMS = 256;
/**
 * As many addresses as a busy node's pods, so the address memo and the delta table grow and probe
 * past their first slots here. With 512, the first real traffic (4,000 pods) still deoptimised the
 * memo's find/remember and the table's slot search ("insufficient type feedback for binary
 * operation", --trace-deopt); with 4,096 those are gone and the warm-up takes no longer.
 */
const ADDRESSES = 4096;
/** Pods for this many of the stream's addresses; the rest resolve as unknown ends. */
const PODS = 3072;
/** Small enough that every pass overflows the scratch table. */
const ROWS = 1000;
const BATCH = 64;
const SLOT = 2048;

/**
 * Runs the thread's receive path over synthetic traffic into scratch parts (see the module
 * comment), then collects them: a thread that idles after its start would otherwise keep them,
 * 4 to 5 MiB of its old generation, until traffic drives a collection. Code V8 optimised during
 * the passes stays: one full collection does not discard it.
 */
export async function warmUp(cfg: RunConfig, backend: UdpBackend, opts: WarmUpOptions = {}): Promise<WarmUpReport> {
  const t0 = performance.now();
  // The scratch parts live in warmPasses' frame only, so they are unreachable here; the task
  // that ran the last pass still pins some of them (measured: 3.5 MiB more is freed a task later).
  const passes = await warmPasses(cfg, backend, t0, opts);
  await new Promise((resolve) => setImmediate(resolve));
  const s = settleMemory();
  return { ...passes, settled: s.gc, settleMs: s.ms, ms: performance.now() - t0 };
}

async function warmPasses(
  cfg: RunConfig,
  backend: UdpBackend,
  t0: number,
  opts: WarmUpOptions,
): Promise<Omit<WarmUpReport, 'settled' | 'settleMs' | 'ms'>> {
  const rounds = opts.rounds ?? 12;
  const budgetMs = opts.budgetMs ?? 500;
  // No ASN database: its lookups are cached per address and never hot, and a second copy per thread is not worth it.
  // Conversation rows are capped as small as the pair rows, so the scratch table still overflows
  // while keyed by server port the way the live one is.
  const maxConversations = Math.min(cfg.maxConversations, ROWS);
  const { decoder, identity, counts, pipeline } = await buildWorkerParts({ ...cfg, asnDb: undefined, maxSeries: ROWS, maxConversations });
  const exporters = Array.from({ length: EXPORTERS }, (_, i) => `10.1.0.${i + 1}`);
  for (let i = 0; i < EXPORTERS - 1; i++) identity.upsertNode({ name: `warm-up-node-${i}`, addresses: [exporters[i]] });
  for (let k = 0; k < PODS; k++) {
    identity.upsertPod({
      uid: `warm-up-${k}`,
      namespace: 'warm-up',
      name: `warm-up-${k}`,
      nodeName: `warm-up-node-${k % (EXPORTERS - 1)}`,
      hostNetwork: false,
      ips: [ipv4ToString(podAddress(k))],
      phase: 'Running',
      startMs: 0,
      // Shaped like the live inventory's pods (owners, labels, declared ports on half of them),
      // so the index's objects and the server-port sets that decide roles have the live shapes:
      // with none, the first live traffic deoptimised the role and pod code ("wrong map").
      appLabel: `warm-up-${k % 64}`,
      ownerKind: 'Deployment',
      ownerName: `warm-up-${k % 64}`,
      labels: { app: `warm-up-${k % 64}` },
      ports: k % 2 === 0 ? [{ port: 8080 + (k % 3), protocol: 'TCP' }] : [],
    });
  }
  const receiver = new UdpReceiver(decoder, undefined, (now) => (pipeline.nowMs = now));
  const stream = [...iptNetflowStream({ exporters, recordsPerDatagram: 27, addresses: ADDRESSES, count: DATAGRAMS, seed: 7 })];
  const deliver = backend === 'native' ? nativeDelivery(receiver, stream) : dgramDelivery(receiver, stream);

  const otherPerPass = stream.reduce((a, d) => a + (d.exporterIndex === EXPORTERS - 1 ? d.records : 0), 0);
  let passes = 0;
  for (let r = 0; r < rounds; r++) {
    if (r > 0 && performance.now() - t0 >= budgetMs) break;
    passes++;
    deliver();
    counts.drain();
    // Lets the thread's loop turn, as between real batches (timers, compiled code coming in).
    await new Promise((resolve) => setImmediate(resolve));
  }
  const c = pipeline.counters;
  return {
    records: c.records,
    overflowed: counts.stats().overflowedFlows,
    unknownEnds: c.unknownSrc + c.unknownDst,
    dedupSkipped: c.dedupSkipped,
    fromOtherExporters: passes * otherPerPass,
    remembered: c.remembered,
    decodeErrors: totalErrors(decoder.stats),
  };
}

type Datagram = { exporterIndex: number; exporter: string; payload: Uint8Array };

/** The native path's shape: batches of slots in one buffer, with the metadata words the addon writes. */
function nativeDelivery(receiver: UdpReceiver, stream: readonly Datagram[]): () => void {
  const bytes = new Uint8Array(BATCH * SLOT);
  const meta = new Uint32Array(BATCH * META_WORDS);
  const batch: DatagramBatch = { bytes, meta, slotSize: SLOT };
  const addresses = stream.map((d) => parseIPv4(d.exporter));
  return () => {
    for (let i = 0; i < stream.length; i += BATCH) {
      const n = Math.min(BATCH, stream.length - i);
      for (let j = 0; j < n; j++) {
        const d = stream[i + j];
        bytes.set(d.payload, j * SLOT);
        const o = j * META_WORDS;
        meta[o + META_LENGTH] = d.payload.length;
        meta[o + META_FAMILY] = 4;
        meta[o + META_PORT] = 40_000 + d.exporterIndex;
        meta[o + META_ADDRESS] = addresses[i + j];
      }
      receiver.receiveBatch(batch, n);
    }
  };
}

/** Node's dgram shape: one Buffer and one RemoteInfo per datagram. */
function dgramDelivery(receiver: UdpReceiver, stream: readonly Datagram[]): () => void {
  const msgs = stream.map((d) => Buffer.from(d.payload));
  const infos: RemoteInfo[] = stream.map((d) => ({
    address: d.exporter,
    family: 'IPv4',
    port: 40_000 + d.exporterIndex,
    size: d.payload.length,
  }));
  return () => {
    for (let i = 0; i < msgs.length; i++) receiver.receive(msgs[i], infos[i]);
  };
}
