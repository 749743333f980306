/**
 * A receiving thread: its own SO_REUSEPORT socket on the shared port, its own decoder and identity
 * index, and a delta table whose exact counts it ships to the main thread every merge interval.
 * Nothing here waits on exports: the main thread serves scrapes and OTLP.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { UdpReceiver } from '../../ingest/udp-receiver.ts';
import { openReceiveSocket, plannedBackend } from '../../ingest/udp-backend.ts';
import { applyInventoryChange, type FromThread, type ToThread, type WorkerInit, type WorkerReport } from './protocol.ts';
import { warmUpThenBuild } from './warm-up.ts';
import { settleKeepingCode } from '../settle-memory.ts';
import { spreadFor } from '../../ingest/udp-spread.ts';
import { DnsFlowCount } from '../../dns/dns-flow-count.ts';
import { deltaBuffers } from '../../aggregate/delta-batch.ts';
import { ERROR_REASONS, LIMITS } from '../../decode/stats.ts';
import { ThreadControl } from './thread-control.ts';
import { TaskClock, timeReceiver } from './task-clock.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromThread, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);
const control = new ThreadControl(init.control);
control.turned();

/**
 * Fault tests only (NETFLOW_K8S_TEST_WEDGE_THREAD=INDEX): this thread spins forever on its first
 * datagram, as a thread stuck in a bug would, so shutdown and /healthz can be tried against it.
 */
function wedgeOnFirstDatagram(r: UdpReceiver): void {
  const spin = (): void => {
    for (;;) {
      // stuck
    }
  };
  r.receiveBatch = spin;
  r.receive = spin;
}

/** Fault tests only (NETFLOW_K8S_TEST_CRASH_THREAD=INDEX): this thread dies on its first datagram, every incarnation of it. */
function crashOnFirstDatagram(r: UdpReceiver): void {
  const crash = (): void => {
    throw new Error('NETFLOW_K8S_TEST_CRASH_THREAD: this receiving thread crashes on purpose');
  };
  r.receiveBatch = crash;
  r.receive = crash;
}

/** The kernel's id of this thread (Linux: /proc/thread-self is `PID/task/TID`), so the main thread can leave its priority alone. */
function threadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** This thread's nice value (Linux keeps one per thread; a thread starts with its creator's). */
function niceValue(): number | undefined {
  try {
    return getPriority();
  } catch {
    return undefined;
  }
}

async function start(): Promise<void> {
  const cfg = init.config;
  const backend = plannedBackend(cfg.udpBackend);
  const spread = spreadFor(cfg.udpSpread, backend, cfg.workers);
  // Before the socket exists, so datagrams never wait in its buffer for the warm-up; and before
  // the thread's own parts are made (see warmUpThenBuild).
  const { warm, parts, scratch } = await warmUpThenBuild(cfg, backend);
  // Held until this thread's settle, so the warm-up's code outlives it (see warmUpThenBuild).
  const warmScratch: { held: unknown } = { held: scratch };
  const { decoder, identity, counts, pipeline } = parts;
  let templatesLoaded = 0;
  if (init.templates !== undefined) {
    try {
      decoder.loadTemplates(init.templates as never, Date.now());
      templatesLoaded = decoder.stats.templates;
    } catch (err) {
      post({ t: 'log', level: 'warn', key: 'templates', fields: { err: String(err) }, msg: 'saved templates not loaded' });
    }
  }
  post({
    t: 'log',
    level: 'info',
    key: 'warm-up',
    fields: { worker: init.index, ...warm, ms: Math.round(warm.ms), settleMs: Math.round(warm.settleMs) },
    msg: 'receive path warmed up',
  });
  const receiver = new UdpReceiver(decoder, cfg.allowExporters, (now) => (pipeline.nowMs = now));
  // Every task of this thread timed (see task-clock.ts): the receive callbacks here, the timers and messages below.
  const clock = new TaskClock();
  timeReceiver(receiver, clock);
  if (process.env.NETFLOW_K8S_TEST_WEDGE_THREAD === String(init.index)) wedgeOnFirstDatagram(receiver);
  if (process.env.NETFLOW_K8S_TEST_CRASH_THREAD === String(init.index)) crashOnFirstDatagram(receiver);
  if (cfg.workers > 1) {
    // Any thread may get any exporter's datagrams: dealt at random, or moved by the kernel's hash
    // when a thread joins the group (the pool starts threads as exporters arrive, and restarts
    // them). What one decoder learns, all must know; only changes cross, not refreshes.
    decoder.onShare = (exp, set) =>
      post({ t: 'share', exporter: { address: exp.address, port: exp.port }, set }, [set.body.buffer as ArrayBuffer]);
  }
  const bound = await openReceiveSocket(
    cfg.udpBackend,
    {
      host: cfg.listen.host,
      port: init.port,
      recvBuffer: cfg.recvBuffer,
      reusePort: true,
      spread: spread.mode === 'datagram' ? cfg.workers : 0,
      stop: control.flags,
    },
    receiver,
    (err) => post({ t: 'log', level: 'error', key: 'socket', fields: { err: String(err) }, msg: 'socket error' }),
  );
  post({
    t: 'log',
    level: 'info',
    key: 'udp-backend',
    fields: { worker: init.index, backend: bound.backend, reason: bound.reason, spread: spread.mode, spreadReason: spread.reason },
    msg: `receiving thread uses the ${bound.backend} UDP backend`,
  });

  const names = identity.dnsNames;
  const dnsFlows = names === undefined ? undefined : new DnsFlowCount((n) => names.hasName(n));
  let elu = performance.eventLoopUtilization();
  const lastErrors: Record<string, number> = {};
  const report = (): WorkerReport => {
    const now = performance.eventLoopUtilization();
    const d = performance.eventLoopUtilization(now, elu);
    elu = now;
    const s = counts.stats();
    const heap = getHeapStatistics();
    return {
      thread: init.index,
      receiver: {
        datagrams: receiver.datagrams,
        bytes: receiver.bytes,
        denied: receiver.denied,
        perExporter: [...receiver.perExporter],
        sources: receiver.takeHeard(),
        backend: bound.backend,
        truncated: receiver.truncated,
        spread: spread.mode,
        batches: bound.batches(),
      },
      decoder: decoder.stats,
      pipeline: { ...pipeline.counters },
      counts: { rows: s.rows, ends: s.ends, overflowedFlows: s.overflowedFlows },
      dns: names === undefined ? undefined : { learned: names.stats.learned, namedFlows: dnsFlows!.total },
      elu: d.utilization,
      memory: { heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size, external: heap.external_memory },
      // The decoder's own weighing where it keeps one (its state budget), else its estimate.
      decoderStateBytes: decoder.stateBytes(),
      tasks: { longestMs: clock.longestMs, long: clock.long },
    };
  };
  const ship = (seq?: number) => {
    control.turned();
    const rep = report();
    const batch = counts.drain();
    if (dnsFlows !== undefined && rep.dns !== undefined) {
      dnsFlows.add(batch);
      rep.dns.namedFlows = dnsFlows.total;
    }
    // Decode errors are counted per datagram; the log hears about them once per interval, and
    // the main thread rate-limits those lines again.
    for (const r of ERROR_REASONS) {
      const n = decoder.stats.errors[r];
      const before = lastErrors[r] ?? 0;
      if (n > before)
        post({
          t: 'log',
          level: 'warn',
          key: `decode:${r}`,
          fields: { reason: r, count: n - before, worker: init.index },
          msg: 'malformed NetFlow input',
        });
      lastErrors[r] = n;
    }
    logLimits();
    post({ t: 'delta', batch, report: rep, seq }, deltaBuffers(batch));
  };
  // A cap on decoder state or work that bites is logged at most once a minute per cap, with the hits since the last line.
  const limitsLogged: Record<string, { n: number; at: number }> = {};
  const logLimits = (): void => {
    const now = Date.now();
    for (const l of LIMITS) {
      const n = decoder.stats.limits[l];
      const last = (limitsLogged[l] ??= { n: 0, at: -Infinity });
      if (n > last.n && now - last.at >= 60_000) {
        post({
          t: 'log',
          level: 'warn',
          key: `decoder-limit:${l}`,
          fields: { limit: l, hits: n - last.n, worker: init.index, stateBytes: decoder.stateBytes(), exporters: decoder.stats.exporters },
          msg: 'decoder state limit reached',
        });
        last.n = n;
        last.at = now;
      }
    }
  };
  const shipTimer = setInterval(() => {
    const t = clock.start();
    ship();
    clock.done(t);
  }, cfg.mergeIntervalMs);
  // When datagrams last came (to the second): a thread with traffic does not settle (see 'settle').
  let seenDatagrams = 0;
  let trafficMs = -Infinity;
  const expireTimer = setInterval(() => {
    const t = clock.start();
    const now = Date.now();
    if (receiver.datagrams !== seenDatagrams) {
      seenDatagrams = receiver.datagrams;
      trafficMs = now;
    }
    control.turned(now);
    decoder.expire(now);
    identity.prune(now);
    identity.dnsNames?.prune(now);
    clock.done(t);
  }, 1000);

  let stopping = false;
  const onMessage = (m: ToThread): void => {
    switch (m.t) {
      case 'inv-batch': {
        let nodes = false;
        for (const o of m.ops) {
          applyInventoryChange(identity, o);
          nodes ||= o.op === 'upsertNode' || o.op === 'deleteNode';
        }
        if (nodes) pipeline.nodesChanged();
        control.inventoryApplied(m.generation);
        break;
      }
      case 'dns':
        for (const op of m.ops) identity.dnsNames?.learn(op);
        break;
      case 'flush':
        ship(m.seq);
        break;
      case 'shared':
        decoder.applyShared(
          receiver.exporters.get({
            address: m.exporter.address,
            port: m.exporter.port,
            family: m.exporter.address.includes(':') ? 'IPv6' : 'IPv4',
            size: 0,
          }),
          m.set,
          Date.now(),
        );
        break;
      case 'get-templates':
        post({ t: 'templates', seq: m.seq, saved: decoder.saveTemplates() });
        break;
      case 'settle': {
        warmScratch.held = undefined;
        // A collector that becomes ready under load (a rolling update) would stall its busy thread
        // 50 to 70 ms for this, while the socket buffer holds about 100 ms: its garbage goes with
        // the load's own collections instead.
        if (receiver.datagrams !== seenDatagrams || Date.now() - trafficMs < 2000) {
          post({ t: 'log', level: 'info', key: 'settle', fields: { worker: init.index }, msg: 'settle skipped: traffic is flowing' });
        } else {
          const s = settleKeepingCode();
          const heapMiB = Math.round(getHeapStatistics().total_heap_size / 2 ** 17) / 8;
          post({
            t: 'log',
            level: 'info',
            key: 'settle',
            fields: { worker: init.index, ...s, ms: Math.round(s.ms), heapMiB },
            msg: 'memory settled',
          });
        }
        if (m.seq !== undefined) post({ t: 'settled', seq: m.seq });
        break;
      }
      case 'stop':
        if (stopping) return;
        stopping = true;
        clearInterval(shipTimer);
        clearInterval(expireTimer);
        bound.close(() => {
          // Datagrams already read are decoded; held data still waiting for a template stays in
          // the saved state only as templates, like any collector restart, and is counted dropped.
          const pending = decoder.stats.pending;
          if (pending > 0) {
            decoder.stats.heldDropped += pending;
            decoder.stats.pending = 0;
            post({
              t: 'log',
              level: 'warn',
              key: 'held-at-stop',
              fields: { worker: init.index, sets: pending },
              msg: 'data sets still waiting for their template dropped at shutdown',
            });
          }
          ship();
          post({ t: 'stopped', seq: m.seq, saved: decoder.saveTemplates() });
          port.close();
        });
        break;
      default:
        m satisfies never;
    }
  };
  port.on('message', (m: ToThread) => {
    const t = clock.start();
    try {
      onMessage(m);
    } finally {
      clock.done(t);
    }
  });
  post({
    t: 'ready',
    address: bound.address,
    port: bound.port,
    family: bound.family,
    recvBufferBytes: bound.recvBufferBytes,
    templatesLoaded,
    tid: threadId(),
    nice: niceValue(),
  });
}

start().catch((err: unknown) => {
  post({ t: 'fatal', message: err instanceof Error ? `${err.message}` : String(err) });
  port.close();
});
