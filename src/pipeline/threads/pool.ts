/**
 * The main thread's side of the receiving threads: starts them on one port (the first binds, the
 * rest join it with SO_REUSEPORT, at once or as exporters arrive), broadcasts inventory changes
 * to every one of them, merges their exact deltas into the one PairStore, and keeps their latest
 * reports for self-metrics.
 * A thread that dies is restarted with the current inventory replayed and the templates the live
 * threads hold, so its first datagrams decode without waiting for the exporters' next refresh.
 */
import { Worker } from 'node:worker_threads';
import type { RunConfig } from '../../config/run-options.ts';
import type { InventoryListener, SlimNode, SlimPod, SlimService } from '../../identify/inventory.ts';
import type { End, PairStore } from '../../aggregate/pair-store.ts';
import type { FromThread, ToThread, WorkerInit, WorkerReport } from './protocol.ts';
import { mergeTemplates } from '../templates.ts';
import type { DnsNames, LearnOp } from '../../dns/dns-names.ts';
import { Replies } from './replies.ts';
import { InventoryRelay } from './inventory-relay.ts';
import type { ConversationBatch } from '../../aggregate/conversation-batch.ts';
import { ThreadControl } from './thread-control.ts';
import { probePort } from '../../ingest/port-owner.ts';
import { ConfigError } from '../../config/options.ts';
import { WORKER_RESOURCE_LIMITS, workerExecArgv } from './worker-options.ts';

/** A receiving thread whose loop has not turned for this long is stuck (/healthz says so). */
export const STUCK_AFTER_MS = 10_000;
/** This many restarts within RESTART_WINDOW_MS is a thread that keeps dying (/healthz says so). */
export const RESTARTS_UNHEALTHY = 3;
export const RESTART_WINDOW_MS = 5 * 60_000;
/** How long a thread has to answer a stop before it is terminated. */
const STOP_TIMEOUT_MS = 10_000;
/**
 * A source heard this recently counts as sending (#growForExporters): exporters flush on their
 * active and inactive timeouts, so a quiet one is heard every few seconds or less.
 */
export const SOURCE_ACTIVE_MS = 30_000;
/** A settle takes 50 to 100 ms; a thread that has not answered by then does not hold readiness back. */
const SETTLE_TIMEOUT_MS = 5_000;

export interface PoolHealth {
  ok: boolean;
  /** Threads (by index) whose loop has not turned for STUCK_AFTER_MS. */
  stuck: number[];
  /** Restarts within RESTART_WINDOW_MS. */
  recentRestarts: number;
}

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const WORKER_URL = new URL(`./receiver-thread${EXT}`, import.meta.url);

export interface PoolLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  /** Per-datagram complaints from workers, rate-limited by the caller. */
  limited(key: string, fields: Record<string, unknown>, msg: string): void;
}

export interface BoundAddress {
  address: string;
  port: number;
  family: 4 | 6;
  recvBufferBytes: number;
}

interface Slot {
  index: number;
  worker: Worker;
  /** What this incarnation's end numbers stand for in the store (see PairStore.mergeBatch). */
  ends: End[];
  report: WorkerReport | undefined;
  /** The kernel thread id the thread reported, when known. */
  tid: number | undefined;
  /** The nice value the thread reported, when known. */
  nice: number | undefined;
  /** Reports of earlier incarnations of this slot, so counters never go backwards after a restart. */
  base: WorkerReport[];
  stopping: boolean;
  /** Exited; a restart takes the slot over. */
  dead: boolean;
  /** Answered 'ready'. */
  ready: boolean;
  control: ThreadControl;
  /** The thread's last template snapshot (at first, what it started from): what is saved for it if it cannot answer. */
  templates: unknown;
  exited: Promise<void>;
}

export class WorkerPool implements InventoryListener {
  readonly #config: RunConfig;
  readonly #store: PairStore;
  readonly #log: PoolLog;
  readonly #slots: Slot[] = [];
  readonly #relay = new InventoryRelay((m) => {
    for (const s of this.#slots) if (!s.stopping) s.worker.postMessage(m);
  });
  readonly #replies = new Replies<Slot>();
  #port = 0;
  /** The main thread's DNS name table: what a late or restarted thread starts from. */
  dnsNames: DnsNames | undefined;
  #templates: unknown;
  #bound: BoundAddress | undefined;
  #stopped = false;
  restarts = 0;
  /** Hears each thread's conversations after its batch is merged, with that thread's ends (see ConversationStore). */
  onConversations: ((b: ConversationBatch, ends: readonly End[]) => void) | undefined;
  readonly #restartTimes: number[] = [];
  /** Set by settle(): a thread started later settles after its inventory replay too. */
  #settling = false;
  /** A thread is being started for the exporters (#growForExporters): one at a time. */
  #growing = false;
  /** When each source was last heard, by the threads' reports (#activeSources). */
  readonly #heardAt = new Map<string, number>();

  constructor(config: RunConfig, store: PairStore, log: PoolLog) {
    this.#config = config;
    this.#store = store;
    this.#log = log;
  }

  get bound(): BoundAddress | undefined {
    return this.#bound;
  }

  /** Kernel thread ids of the receiving threads (Linux; empty elsewhere). */
  get threadIds(): number[] {
    return this.#slots.flatMap((s) => (s.tid === undefined ? [] : [s.tid]));
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Latest report per thread plus everything earlier incarnations counted. */
  reports(): WorkerReport[] {
    const out: WorkerReport[] = [];
    for (const s of this.#slots) {
      out.push(...s.base);
      if (s.report) out.push(s.report);
    }
    return out;
  }

  async start(templates: unknown): Promise<BoundAddress> {
    this.#templates = templates;
    // Our own SO_REUSEPORT group is opened only once nobody else holds the port.
    this.#port = await probePort(this.#config.listen.host, this.#config.listen.port);
    const first = await this.#spawn(0).catch((err: unknown) => {
      // Taken between the probe and the bind: the same config error as the probe's.
      if (/EADDRINUSE/.test(String(err))) throw new ConfigError('listen', String(err instanceof Error ? err.message : err));
      throw err;
    });
    this.#bound = first;
    this.#port = first.port;
    await Promise.all(Array.from({ length: this.#startingThreads() - 1 }, (_, i) => this.#spawn(i + 1)));
    return first;
  }

  /**
   * Under exporter spread the kernel hashes each exporter to one socket of the group, so a thread
   * beyond the exporters never reads a datagram and only costs its isolate (about 15 MiB idle):
   * a DaemonSet's collector has one exporter, its node. The first thread starts alone and another
   * joins each time the exporters' sources outnumber the threads (#growForExporters), up to
   * --workers. Datagram spread deals every datagram over all of them, so all start at once.
   */
  #startingThreads(): number {
    return this.#config.udpSpread === 'datagram' ? this.#config.workers : 1;
  }

  /**
   * Sources (address and port) the threads heard within SOURCE_ACTIVE_MS, from what each report
   * says it heard since the one before. A restarted exporter comes back from a new port: its old
   * source leaves the count once the window has passed it.
   */
  #activeSources(report: WorkerReport, nowMs: number): number {
    for (const s of report.receiver.sources) this.#heardAt.set(s, nowMs);
    for (const [s, at] of this.#heardAt) if (nowMs - at > SOURCE_ACTIVE_MS) this.#heardAt.delete(s);
    return this.#heardAt.size;
  }

  /**
   * One more thread when the sources sending now outnumber the threads. It starts like a
   * restarted one (the inventory replayed, the live templates), so the exporters the kernel
   * hashes to it once it joins decode from their first datagram there; until then the running
   * threads take them. A thread started after the exports were lowered below the receiving
   * threads (priority.ts) inherits their nice value, which only a privileged process can lower
   * again: that is logged.
   */
  #growForExporters(report: WorkerReport): void {
    const running = this.#slots.length;
    if (running >= this.#config.workers) return;
    const sources = this.#activeSources(report, Date.now());
    if (this.#growing || this.#stopped || sources <= running) return;
    this.#growing = true;
    this.#log.info(
      { worker: running, sources, maxThreads: this.#config.workers },
      'more exporters than receiving threads: starting another',
    );
    this.#startWithLiveTemplates(running, [])
      .catch((err) => this.#log.error({ worker: running, err: String(err) }, 'receiving thread not started'))
      .finally(() => {
        this.#growing = false;
      });
  }

  #spawn(index: number, base: WorkerReport[] = [], templates: unknown = this.#templates): Promise<BoundAddress> {
    const control = new ThreadControl();
    const init: WorkerInit = { index, config: this.#config, port: this.#port, templates, control: control.buffer };
    const worker = new Worker(WORKER_URL, {
      workerData: init,
      name: `netflow-k8s-recv-${index}`,
      execArgv: workerExecArgv(),
      resourceLimits: { ...WORKER_RESOURCE_LIMITS },
    });
    const slot: Slot = {
      index,
      worker,
      ends: [],
      report: undefined,
      tid: undefined,
      nice: undefined,
      base,
      stopping: false,
      dead: false,
      ready: false,
      control,
      templates,
      exited: new Promise<void>((r) => worker.once('exit', () => r())),
    };
    this.#slots[index] = slot;
    // The inventory as it is now, so a late or restarted thread names ends like the others.
    this.#relay.replayTo((m) => worker.postMessage(m), control, this.dnsNames);
    if (this.#settling) worker.postMessage({ t: 'settle' } satisfies ToThread);

    return new Promise<BoundAddress>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromThread) => {
        switch (m.t) {
          case 'ready':
            ready = true;
            slot.ready = true;
            slot.tid = m.tid;
            slot.nice = m.nice;
            this.#log.info(
              { worker: index, port: m.port, recvBufferBytes: m.recvBufferBytes, templatesLoaded: m.templatesLoaded, nice: m.nice },
              'receiving thread ready',
            );
            this.#warnIfLowered(slot);
            resolve({ address: m.address, port: m.port, family: m.family, recvBufferBytes: m.recvBufferBytes });
            break;
          case 'delta':
            try {
              this.#store.mergeBatch(m.batch, slot.ends);
              if (m.batch.conversations) this.onConversations?.(m.batch.conversations, slot.ends);
            } catch (err) {
              // Only a bug can get here (batches arrive in order); keep the process and its other counts.
              this.#log.error({ worker: index, err: String(err) }, 'batch from a receiving thread not merged');
            }
            slot.report = m.report;
            if (m.seq !== undefined) this.#replies.answer(slot, m.seq, undefined);
            this.#growForExporters(m.report);
            break;
          case 'settled':
            this.#replies.answer(slot, m.seq, undefined);
            break;
          case 'templates':
            if (m.saved !== undefined) slot.templates = m.saved;
            this.#replies.answer(slot, m.seq, m.saved);
            break;
          case 'share':
            // In arrival order, through this one relay: a template always reaches a thread before options data that needs it.
            for (const other of this.#slots)
              if (other !== slot && !other.stopping)
                other.worker.postMessage({ t: 'shared', exporter: m.exporter, set: m.set } satisfies ToThread);
            break;
          case 'log':
            if (m.level === 'warn') this.#log.limited(m.key, m.fields, m.msg);
            else this.#log[m.level](m.fields, m.msg);
            break;
          case 'stopped':
            if (m.saved !== undefined) slot.templates = m.saved;
            this.#replies.answer(slot, m.seq, m.saved);
            break;
          case 'fatal':
            this.#log.error({ worker: index, err: m.message }, 'receiving thread failed');
            if (!ready) reject(new Error(m.message));
            break;
          default:
            m satisfies never;
        }
      });
      worker.on('error', (err) => {
        this.#log.error({ worker: index, err: String(err) }, 'receiving thread crashed');
        if (!ready) reject(err);
      });
      worker.on('exit', (code) => {
        slot.dead = true;
        this.#replies.gone(slot);
        if (slot.stopping || this.#stopped) return;
        if (!ready) {
          reject(new Error(`receiving thread ${index} exited (${code}) before it was ready`));
          return;
        }
        // Keep what the dead thread counted (its last delta is lost with it; the store already holds the rest).
        const keep = slot.report ? [...slot.base, slot.report] : slot.base;
        this.restarts++;
        this.#restartTimes.push(Date.now());
        if (this.#restartTimes.length > RESTARTS_UNHEALTHY) this.#restartTimes.shift();
        this.#log.warn({ worker: index, code }, 'receiving thread exited; restarting');
        setTimeout(() => {
          if (!this.#stopped)
            this.#startWithLiveTemplates(index, keep).catch((err) =>
              this.#log.error({ worker: index, err: String(err) }, 'restart failed'),
            );
        }, 1000).unref();
      });
    });
  }

  /** A thread started after the exports were lowered (priority.ts) runs at their nice value, not the first thread's. */
  #warnIfLowered(slot: Slot): void {
    const first = this.#slots[0]?.nice;
    if (slot.index === 0 || first === undefined || slot.nice === undefined || slot.nice <= first) return;
    this.#log.warn(
      { worker: slot.index, nice: slot.nice, firstThreadNice: first },
      "receiving thread runs at the exports' lower priority (raising it needs CAP_SYS_NICE); " +
        'under --udp-spread datagram every thread starts before the exports are lowered',
    );
  }

  /** The templates at start, then what the live threads hold now (newer wins), as a restarted or late thread's start. */
  async #startWithLiveTemplates(index: number, base: WorkerReport[]): Promise<void> {
    const live = await this.templates();
    let templates = this.#templates;
    try {
      templates = mergeTemplates([this.#templates, ...live]);
    } catch (err) {
      this.#log.warn({ worker: index, err: String(err) }, 'live templates not merged; the restarted thread starts from the saved ones');
    }
    if (!this.#stopped) await this.#spawn(index, base, templates);
  }

  /** Ask every live thread; one that has not answered after `timeoutMs` is answered for by `late`. */
  #ask(msg: (seq: number) => ToThread, timeoutMs: number, late: (s: Slot) => unknown = () => undefined): Promise<unknown[]> {
    const live = this.#slots.filter((s) => !s.stopping && !s.dead);
    return this.#replies.ask(live, (s, seq) => s.worker.postMessage(msg(seq)), { timeoutMs, late });
  }

  /**
   * Every thread gives back what its start left (settle-memory.ts), resolving once each has (or
   * skipped it, or SETTLE_TIMEOUT_MS passed); a thread started later settles once replayed to.
   */
  async settle(): Promise<void> {
    this.#settling = true;
    await this.#ask((seq) => ({ t: 'settle', seq }), SETTLE_TIMEOUT_MS);
  }

  /** Every thread ships its counts now; resolves once they are merged. */
  async flush(): Promise<void> {
    await this.#ask((seq) => ({ t: 'flush', seq }), STOP_TIMEOUT_MS);
  }

  /** Each thread's template snapshot; a thread that does not answer in time is represented by its last one. */
  templates(): Promise<unknown[]> {
    return this.#ask(
      (seq) => ({ t: 'get-templates', seq }),
      5000,
      (s) => s.templates,
    );
  }

  /**
   * Stop receiving, merge the last deltas; resolves with each thread's final template snapshot. A
   * thread that cannot answer in time is terminated, and its last snapshot stands for it.
   */
  async stop(): Promise<unknown[]> {
    this.#stopped = true;
    this.#relay.sendQueued();
    // Every receive loop stops reading at once, so the stop messages do not queue behind datagrams.
    for (const s of this.#slots) s.control.requestStop();
    const saved = await Promise.all(
      this.#slots.map((s) => {
        s.stopping = true;
        if (s.dead) return s.templates;
        const late = (): unknown => {
          this.#log.warn(
            {
              worker: s.index,
              waitedMs: STOP_TIMEOUT_MS,
              lastTurnMsAgo: s.control.lastTurnMs ? Date.now() - s.control.lastTurnMs : null,
            },
            'receiving thread did not stop in time and is terminated: its counts since ' +
              'its last merge are lost, and its templates are saved from its last snapshot',
          );
          // The stop flag is set: the native receive path raises nothing while the thread unwinds.
          void s.worker.terminate();
          return s.templates;
        };
        return this.#replies
          .ask([s], (_, seq) => s.worker.postMessage({ t: 'stop', seq } satisfies ToThread), {
            timeoutMs: STOP_TIMEOUT_MS,
            late,
            keepAlive: true,
          })
          .then((v) => v[0] ?? s.templates);
      }),
    );
    await Promise.all(this.#slots.map((s) => s.exited));
    return saved;
  }

  /** Stuck threads (no loop turn for STUCK_AFTER_MS) and threads that keep restarting. */
  health(nowMs = Date.now()): PoolHealth {
    const stuck = this.#slots
      .filter((s) => s.ready && !s.dead && !s.stopping && nowMs - s.control.lastTurnMs > STUCK_AFTER_MS)
      .map((s) => s.index);
    const recentRestarts = this.#restartTimes.filter((t) => nowMs - t <= RESTART_WINDOW_MS).length;
    return { ok: stuck.length === 0 && recentRestarts < RESTARTS_UNHEALTHY, stuck, recentRestarts };
  }

  // InventoryListener: the relay keeps the current inventory and passes each change to every thread in batches.
  upsertPod(pod: SlimPod): void {
    this.#relay.upsertPod(pod);
  }
  deletePod(uid: string, atMs: number): void {
    this.#relay.deletePod(uid, atMs);
  }
  upsertNode(node: SlimNode): void {
    this.#relay.upsertNode(node);
  }
  deleteNode(name: string): void {
    this.#relay.deleteNode(name);
  }
  upsertService(svc: SlimService): void {
    this.#relay.upsertService(svc);
  }
  deleteService(uid: string): void {
    this.#relay.deleteService(uid);
  }

  /** How many pods, nodes and services the inventory holds now. */
  get inventoryCounts(): { pods: number; nodes: number; services: number } {
    return this.#relay.counts;
  }

  /** DNS answers for every thread, batched like inventory changes. */
  learnNames(ops: readonly LearnOp[]): void {
    this.#relay.learnNames(ops);
  }

  /**
   * Receiving threads that have not yet applied every inventory change sent or queued: until they
   * have, a flow may be named from an older inventory than the main thread's.
   */
  threadsBehindInventory(): number {
    let behind = 0;
    for (const s of this.#slots) {
      if (s === undefined || s.dead || s.stopping) continue;
      if (this.#relay.isBehind(s.control)) behind++;
    }
    return behind;
  }
}
