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
import { buildWorkerParts, decoderOptions, deltaTableFor, identityFor, type WorkerParts } from '../build-parts.ts';
import { settleMemory } from '../settle-memory.ts';
import { RecordPipeline } from '../record-pipeline.ts';
import { Decoder } from '../../decode/decoder.ts';
import type { DeltaTable } from '../../aggregate/delta-table.ts';
import type { IdentityIndex } from '../../identify/identity-index.ts';

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
  /** Sets of scratch parts the passes ran on (a fresh set every ROUNDS_PER_SET passes). */
  scratchSets: number;
  ms: number;
}

export interface WarmUpOptions {
  /** Passes over the synthetic stream. Default 12 (about 80,000 records). */
  rounds?: number;
  /** Start no further pass after this much time (the first always runs). Default 500 ms. */
  budgetMs?: number;
  /** Collect the scratch parts at the end (default true; tests compare without). */
  settle?: boolean;
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
/**
 * Apps the pods belong to, so ends. More than the delta table's first 1,024 slots of drain
 * bookkeeping: with 64, the first live drain (a node's pods are thousands of ends) grew them for
 * the first time and deoptimised drain.
 */
const APPS = 1536;

/**
 * The stream's k-th address. V8 keeps integers below 2^30 apart from larger ones, and code that
 * has only seen the small ones is thrown away at the first large one (--trace-deopt: "not a Smi",
 * "insufficient type feedback for binary operation" in the address memo, the zone scope and the
 * role lookup). Pod networks are often 10/8 (small), but CGNAT and 172.16/12 pod networks, nodes
 * in 192.168/16 and most of the internet are above 2^30: half the pods and every outside end are.
 */
export function warmUpAddress(k: number): number {
  if (k < PODS / 2) return podAddress(k);
  // 100.64.0.0/10 (CGNAT): above 2^30, still below 2^31.
  if (k < PODS) return (0x64400000 + k) >>> 0;
  // Outside ends: public (93.184.0.0/16, above 2^30) and private (192.168.0.0/16, above 2^31).
  return (k % 2 === 0 ? 0x5db80000 + k : 0xc0a80000 + k) >>> 0;
}

/** Exporters of the stream: the nodes first (small and large addresses), then one that is not a node. */
const EXPORTER_ADDRESSES = ['10.1.0.1', '192.168.0.2', '10.1.0.3', '172.20.0.4', '203.0.113.5'];
/** Small enough that the scratch table overflows within a drain (see DRAIN_AT). */
const ROWS = 400;
const BATCH = 64;
/**
 * Passes before the next set of scratch parts. Fresh instances meet optimised code on paths a
 * long-lived one never takes again: the decoder's first context in an empty array, the delta
 * table's first end label, the receiver's own clock callback, the pipeline's first exporter, an
 * exporter new to the receiver. Each of those threw the optimised code away once (--trace-deopt:
 * "wrong map", "wrong call target", "insufficient type feedback") when it was the thread's own
 * parts, at their first live datagram; a second set takes those deopts here.
 */
const ROUNDS_PER_SET = 4;
/**
 * The scratch address memo's starting slots: few enough that the stream's addresses make it grow,
 * as the thread's own grows past a node's first 8,192 addresses (its growth first ran there, and
 * deoptimised remember, in the first burst of a node with random outside addresses).
 */
const MEMO_SLOTS = 1024;
/**
 * Where in a pass the scratch delta table is drained (datagram indices). Several drains a pass:
 * V8 keeps no type feedback for a function's first few calls, and drain, once a pass, was
 * compiled without it and deoptimised at the thread's first live drain. The first slice is too
 * short to overflow the table, the others overflow it, as live intervals may or may not.
 */
const DRAIN_AT = [8, 64, 128, 192, DATAGRAMS];
const SLOT = 2048;

/**
 * Runs the thread's receive path over synthetic traffic into scratch parts (see the module
 * comment), then collects them: kept, they are 4 to 5 MiB of old generation until traffic drives
 * a collection. That collection also drops the optimised code whose hidden classes died with the
 * scratch, which is why a receiving thread uses warmUpThenBuild instead.
 */
export async function warmUp(cfg: RunConfig, backend: UdpBackend, opts: WarmUpOptions = {}): Promise<WarmUpReport> {
  const t0 = performance.now();
  // The scratch parts live in warmPasses' frame only, so they are unreachable here; the task
  // that ran the last pass still pins some of them (measured: 3.5 MiB more is freed a task later).
  const passes = await warmPasses(cfg, backend, t0, opts);
  await new Promise((resolve) => setImmediate(resolve));
  const s = opts.settle === false ? { gc: false, ms: 0 } : settleMemory();
  return { ...passes, settled: s.gc, settleMs: s.ms, ms: performance.now() - t0 };
}

async function warmPasses(
  cfg: RunConfig,
  backend: UdpBackend,
  t0: number,
  opts: WarmUpOptions,
  /** Given, it keeps the scratch parts (see warmUpThenBuild); else they are unreachable on return. */
  holder?: { scratch?: unknown },
): Promise<Omit<WarmUpReport, 'settled' | 'settleMs' | 'ms'>> {
  const rounds = opts.rounds ?? 12;
  const budgetMs = opts.budgetMs ?? 500;
  // No ASN database: its lookups are cached per address and never hot, and a second copy per thread is not worth it.
  // Conversation rows are capped as small as the pair rows, so the scratch table still overflows
  // while keyed by server port the way the live one is.
  const maxConversations = Math.min(cfg.maxConversations, ROWS);
  const scratch: RunConfig = { ...cfg, asnDb: undefined, maxSeries: ROWS, maxConversations };
  const identity = identityFor(scratch);
  const t0Ms = Date.now();
  const exporters = EXPORTER_ADDRESSES.slice(0, EXPORTERS);
  for (let i = 0; i < EXPORTERS - 1; i++) identity.upsertNode({ name: `warm-up-node-${i}`, addresses: [exporters[i]] });
  for (let k = 0; k < PODS; k++) {
    identity.upsertPod({
      uid: `warm-up-${k}`,
      namespace: 'warm-up',
      name: `warm-up-${k}`,
      nodeName: `warm-up-node-${k % (EXPORTERS - 1)}`,
      hostNetwork: false,
      ips: [ipv4ToString(warmUpAddress(k))],
      phase: 'Running',
      // A real start time (past 2^30, so a double to V8) as the live pods have.
      startMs: t0Ms - 86_400_000 - k * 1000,
      // Shaped like the live inventory's pods (owners, labels, declared ports on half of them),
      // so the index's objects and the server-port sets that decide roles have the live shapes:
      // with none, the first live traffic deoptimised the role and pod code ("wrong map").
      appLabel: `warm-up-${k % APPS}`,
      ownerKind: 'Deployment',
      ownerName: `warm-up-${k % APPS}`,
      labels: { app: `warm-up-${k % APPS}` },
      ports: k % 2 === 0 ? [{ port: 8080 + (k % 3), protocol: 'TCP' }] : [],
    });
  }
  const stream = [
    ...iptNetflowStream({
      exporters,
      recordsPerDatagram: 27,
      addresses: ADDRESSES,
      addressOf: warmUpAddress,
      // Neither TCP nor UDP: the role code's other branch (its first live ping deoptimised it).
      icmpShare: 0.02,
      count: DATAGRAMS,
      seed: 7,
    }),
  ];

  const otherPerPass = stream.reduce((a, d) => a + (d.exporterIndex === EXPORTERS - 1 ? d.records : 0), 0);
  const sets: CountingParts[] = [];
  let set: CountingParts | undefined;
  let deliver: Delivery = () => {};
  let passes = 0;
  for (let r = 0; r < rounds; r++) {
    if (r > 0 && performance.now() - t0 >= budgetMs) break;
    if (r % ROUNDS_PER_SET === 0) {
      set = countingParts(scratch, identity);
      sets.push(set);
      deliver = backend === 'native' ? nativeDelivery(set.receiver, stream) : dgramDelivery(set.receiver, stream);
    }
    passes++;
    for (let i = 0; i < DRAIN_AT.length; i++) {
      deliver(i === 0 ? 0 : DRAIN_AT[i - 1], DRAIN_AT[i]);
      set!.counts.drain();
    }
    // Lets the thread's loop turn, as between real batches (timers, compiled code coming in).
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (holder) holder.scratch = { sets, identity };
  const total = (f: (p: CountingParts) => number): number => sets.reduce((a, p) => a + f(p), 0);
  return {
    records: total((p) => p.pipeline.counters.records),
    overflowed: total((p) => p.counts.stats().overflowedFlows),
    unknownEnds: total((p) => p.pipeline.counters.unknownSrc + p.pipeline.counters.unknownDst),
    dedupSkipped: total((p) => p.pipeline.counters.dedupSkipped),
    fromOtherExporters: passes * otherPerPass,
    remembered: total((p) => p.pipeline.counters.remembered),
    decodeErrors: total((p) => totalErrors(p.decoder.stats)),
    scratchSets: sets.length,
  };
}

/**
 * The warm-up, then the thread's own parts. In that order: objects made before the warm-up keep
 * the hidden classes of before it (an array that held only numbers, a field that held only small
 * integers), and the code it optimised threw itself away on them at the first live records
 * (--trace-deopt: "wrong map" in the delta table's end numbering and the pipeline's memo).
 *
 * And with the scratch parts still alive, uncollected: V8's hidden classes die with the last
 * object that has them, and so does the optimised code that embeds them. Collected first (the
 * warm-up's own collection), the scratch took nearly all of the warm-up's code with it, about 90
 * functions a thread (--trace-opt: "embedded weak objects cleared"), and the first live traffic
 * ran baseline code while it compiled them again: its first batches took 10 to 30 ms. Made now,
 * the thread's parts share the classes, and so do the pods the inventory replays into them. So
 * nothing is collected here: the thread holds `scratch` until its settle (the pool's, once the
 * collector has started), which takes it and keeps the code.
 */
export async function warmUpThenBuild(
  cfg: RunConfig,
  backend: UdpBackend,
  opts: Omit<WarmUpOptions, 'settle'> = {},
): Promise<{ warm: WarmUpReport; parts: WorkerParts; scratch: unknown }> {
  const t0 = performance.now();
  const holder: { scratch?: unknown } = {};
  const passes = await warmPasses(cfg, backend, t0, opts, holder);
  const parts = await buildWorkerParts(cfg);
  return { warm: { ...passes, settled: false, settleMs: 0, ms: performance.now() - t0 }, parts, scratch: holder.scratch };
}

interface CountingParts {
  decoder: Decoder;
  counts: DeltaTable;
  pipeline: RecordPipeline;
  receiver: UdpReceiver;
}

/** A decoder, delta table, pipeline and receiver as buildWorkerParts makes them, over a shared identity index. */
function countingParts(cfg: RunConfig, identity: IdentityIndex): CountingParts {
  const counts = deltaTableFor(cfg);
  const pipeline = new RecordPipeline(identity, counts, cfg.dedup, { memoSlots: MEMO_SLOTS });
  const decoder = new Decoder(pipeline.sink, decoderOptions(cfg));
  const receiver = new UdpReceiver(decoder, undefined, (now) => (pipeline.nowMs = now));
  return { decoder, counts, pipeline, receiver };
}

type Datagram = { exporterIndex: number; exporter: string; payload: Uint8Array };
/** Delivers datagrams [from, to) of the stream. */
type Delivery = (from: number, to: number) => void;

/** The native path's shape: batches of slots in one buffer, with the metadata words the addon writes. */
function nativeDelivery(receiver: UdpReceiver, stream: readonly Datagram[]): Delivery {
  const bytes = new Uint8Array(BATCH * SLOT);
  const meta = new Uint32Array(BATCH * META_WORDS);
  const batch: DatagramBatch = { bytes, meta, slotSize: SLOT };
  const addresses = stream.map((d) => parseIPv4(d.exporter));
  return (from, to) => {
    for (let i = from; i < to; i += BATCH) {
      const n = Math.min(BATCH, to - i);
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
function dgramDelivery(receiver: UdpReceiver, stream: readonly Datagram[]): Delivery {
  const msgs = stream.map((d) => Buffer.from(d.payload));
  const infos: RemoteInfo[] = stream.map((d) => ({
    address: d.exporter,
    family: 'IPv4',
    port: 40_000 + d.exporterIndex,
    size: d.payload.length,
  }));
  return (from, to) => {
    for (let i = from; i < to; i++) receiver.receive(msgs[i], infos[i]);
  };
}
