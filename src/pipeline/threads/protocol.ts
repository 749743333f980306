/**
 * Messages between the main thread and the receiving threads, all of them in one union,
 * ThreadMessage, discriminated by `t`. Down go inventory changes, DNS answers, shared decoder
 * state and the requests (flush, get-templates, stop); up come counts as exact delta batches with
 * the thread's report, templates, logs and the answers. ToThread and FromThread are cut from the
 * union by direction, so each side's switch covers exactly what it can receive. A request carries
 * a `seq` and its answer the same one; the pool matches them in one place (replies.ts).
 */
import type { RunConfig } from '../../config/run-options.ts';
import type { InventoryListener, SlimNode, SlimPod, SlimService } from '../../identify/inventory.ts';
import type { DeltaBatch } from '../../aggregate/delta-batch.ts';
import type { DecoderStats } from '../../decode/stats.ts';
import type { SharedSet } from '../../decode/saved-state.ts';
import type { ExporterCounts } from '../../ingest/udp-receiver.ts';
import type { UdpBackend } from '../../config/udp-choices.ts';
import type { PipelineCounters } from '../record-pipeline.ts';
import type { LearnOp } from '../../dns/dns-names.ts';
import { resharePod } from '../../identify/slim-share.ts';

export interface WorkerInit {
  readonly index: number;
  readonly config: RunConfig;
  /** The port to bind: the configured one for the first worker, the first worker's for the rest. */
  readonly port: number;
  /** Saved templates to start from (the merged file), or undefined. */
  readonly templates: unknown;
  /** The stop flag and loop-turn time shared with the main thread (see thread-control.ts). */
  readonly control: SharedArrayBuffer;
}

/** One inventory change as it crosses to a receiving thread: an InventoryListener call as data. */
export type InventoryChange =
  | { readonly op: 'upsertPod'; readonly pod: SlimPod }
  | { readonly op: 'deletePod'; readonly uid: string; readonly atMs: number }
  | { readonly op: 'upsertNode'; readonly node: SlimNode }
  | { readonly op: 'deleteNode'; readonly name: string }
  | { readonly op: 'upsertService'; readonly service: SlimService }
  | { readonly op: 'deleteService'; readonly uid: string };

/**
 * The one place a change becomes a call, so the listener's methods are never looked up by name.
 * A pod arrives as a structured clone, every string its own copy: it is kept shared (slim-share.ts).
 */
export function applyInventoryChange(to: InventoryListener, c: InventoryChange): void {
  switch (c.op) {
    case 'upsertPod':
      to.upsertPod(resharePod(c.pod));
      break;
    case 'deletePod':
      to.deletePod(c.uid, c.atMs);
      break;
    case 'upsertNode':
      to.upsertNode(c.node);
      break;
    case 'deleteNode':
      to.deleteNode(c.name);
      break;
    case 'upsertService':
      to.upsertService(c.service);
      break;
    case 'deleteService':
      to.deleteService(c.uid);
      break;
  }
}

/** An exporter as it crosses between threads (each thread has its own Exporter objects). */
export interface SharedExporter {
  readonly address: string;
  readonly port: number;
}

export interface WorkerReport {
  /** The receiving thread's index. */
  readonly thread: number;
  readonly receiver: {
    datagrams: number;
    bytes: number;
    denied: number;
    perExporter: [string, ExporterCounts][];
    /** Sources (address|port) this thread let through since its last report, the first SOURCES_KEPT of them. */
    sources: string[];
    /** The receive path this thread took (--udp-backend). */
    backend: UdpBackend;
    /** Datagrams longer than the native path's slot, dropped undecoded. */
    truncated: number;
    /** How datagrams reach this thread (see udp-spread.ts). */
    spread: 'exporter' | 'datagram';
    /** Batches the native path read (datagrams over batches is their size); absent on the dgram path. */
    batches?: number;
  };
  readonly decoder: DecoderStats;
  readonly pipeline: PipelineCounters;
  /** The thread's delta table as of the report (just before its drain). */
  readonly counts: { rows: number; ends: number; overflowedFlows: number };
  /**
   * When dnstap is on: DNS answers this thread's name table has applied (relayed from the main
   * thread), and the flows it counted with an end named by DNS.
   */
  readonly dns?: { learned: number; namedFlows: number };
  readonly elu: number;
  /** This thread's own V8 heap and memory outside it (ArrayBuffers, the native receive buffers). */
  readonly memory?: { heapUsed: number; heapTotal: number; external: number };
  /** Bytes of decoder state (templates, options state, held data), as the decoder estimates them. */
  readonly decoderStateBytes?: number;
  /** The thread's longest task of the last 15 to 30 s, and its tasks over LONG_TASK_MS so far (see task-clock.ts). */
  readonly tasks?: { longestMs: number; long: number };
}

/** The kinds the main thread sends; every other kind of ThreadMessage comes up from a thread. */
type DownKind = 'inv-batch' | 'dns' | 'shared' | 'flush' | 'get-templates' | 'settle' | 'stop';

export type ThreadMessage =
  // Down, to a receiving thread.
  /** Inventory changes; `generation` numbers the batches, and the thread says which it applied (ThreadControl). */
  | { readonly t: 'inv-batch'; readonly ops: readonly InventoryChange[]; readonly generation: number }
  /** DNS answers the main thread's dnstap receiver learnt: apply them to this thread's name table. */
  | { readonly t: 'dns'; readonly ops: readonly LearnOp[] }
  /** A set another thread's decoder shared (any thread may get any exporter): apply it. */
  | { readonly t: 'shared'; readonly exporter: SharedExporter; readonly set: SharedSet }
  /** Ship counts now (tests, shutdown): answered by 'delta' with the same `seq`. */
  | { readonly t: 'flush'; readonly seq: number }
  /** Answered by 'templates' with the same `seq`. */
  | { readonly t: 'get-templates'; readonly seq: number }
  /**
   * The start is over and the inventory applied: give back what it left (settle-memory.ts). With a
   * `seq`, answered by 'settled' once done (or skipped), so the collector says ready only after.
   */
  | { readonly t: 'settle'; readonly seq?: number }
  /** Stop receiving, ship the last counts: answered by 'stopped' with the same `seq`. */
  | { readonly t: 'stop'; readonly seq: number }
  // Up, from a receiving thread.
  | {
      readonly t: 'ready';
      readonly address: string;
      readonly port: number;
      readonly family: 4 | 6;
      readonly recvBufferBytes: number;
      readonly templatesLoaded: number;
      readonly tid: number | undefined;
      /** The thread's nice value, inherited from the main thread that started it. */
      readonly nice: number | undefined;
    }
  /** Counts since the last delta; `seq` when it answers a flush. */
  | { readonly t: 'delta'; readonly batch: DeltaBatch; readonly report: WorkerReport; readonly seq?: number }
  /** The thread's template snapshot. */
  | { readonly t: 'templates'; readonly seq: number; readonly saved: unknown }
  /** This thread's decoder learnt something every thread needs (see SharedSet); the pool hands it to the others. */
  | { readonly t: 'share'; readonly exporter: SharedExporter; readonly set: SharedSet }
  | {
      readonly t: 'log';
      readonly level: 'warn' | 'error' | 'info';
      readonly key: string;
      readonly fields: Record<string, unknown>;
      readonly msg: string;
    }
  /** The settle asked with this `seq` is over (done or skipped). */
  | { readonly t: 'settled'; readonly seq: number }
  /** The last counts are shipped (a 'delta' before it); the thread's templates as it stops. */
  | { readonly t: 'stopped'; readonly seq: number; readonly saved: unknown }
  | { readonly t: 'fatal'; readonly message: string };

/** What the main thread sends a receiving thread. */
export type ToThread = Extract<ThreadMessage, { readonly t: DownKind }>;
/** What a receiving thread sends the main thread. */
export type FromThread = Exclude<ThreadMessage, { readonly t: DownKind }>;
