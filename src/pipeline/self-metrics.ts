/**
 * The values of the collector's self-metrics, read at scrape time from the receiving threads'
 * latest reports, the store, the inventory and the kernel; what each metric is (name, type, help,
 * labels) is defined in observe/self-metric-table.ts. Counters from threads are cumulative per
 * thread, so summing the latest report of each is exact. (The inventory source, dnstap, policy and
 * the HTTP server report theirs into the same registry where they are started.)
 */
import { MetricsRegistry, registerProcessMetrics, type Sample, type ProcessMetrics } from '../observe/metrics.ts';
import { snmpUdp, socketDrops } from '../observe/udp-drops.ts';
import { ERROR_REASONS, LIMITS } from '../decode/stats.ts';
import type { RunConfig } from '../config/run-options.ts';
import type { PairStore } from '../aggregate/pair-store.ts';
import type { WorkerPool } from './threads/pool.ts';
import type { InventoryHandle } from './inventory.ts';
import type { WorkerReport } from './threads/protocol.ts';
import { getHeapStatistics } from 'node:v8';

export class SelfMetrics {
  readonly registry = new MetricsRegistry();
  readonly #process: ProcessMetrics;

  constructor(config: RunConfig, store: PairStore, pool: WorkerPool, inventory: InventoryHandle, udpPort: number, recvBufferBytes: number) {
    const r = this.registry;
    const reports = (): WorkerReport[] => pool.reports();
    const sum = (f: (w: WorkerReport) => number) => () => reports().reduce((a, w) => a + f(w), 0);
    const perExporter = (field: 'datagrams' | 'bytes' | 'denied') => (): Sample[] => {
      const m = new Map<string, number>();
      for (const w of reports())
        for (const [addr, c] of w.receiver.perExporter) if (c[field] > 0 || field !== 'denied') m.set(addr, (m.get(addr) ?? 0) + c[field]);
      return [...m].map(([a, v]) => [[a], v] as const);
    };
    /**
     * One sample per receiving thread (labelled by its number): the sum over its reports (a
     * restarted thread's earlier incarnations keep counting) or the latest; undefined is skipped.
     */
    const perThread = (f: (w: WorkerReport) => number | undefined, combine: 'sum' | 'latest') => (): Sample[] => {
      const by = new Map<number, number>();
      for (const w of reports()) {
        const v = f(w);
        if (v !== undefined) by.set(w.thread, combine === 'sum' ? (by.get(w.thread) ?? 0) + v : v);
      }
      return [...by].map(([i, v]) => [[String(i)], v] as const);
    };

    r.report('datagrams', perExporter('datagrams'));
    r.report('datagram_bytes', perExporter('bytes'));
    r.report('datagrams_denied', perExporter('denied'));
    r.report('records', () => {
      let v5 = 0,
        v9 = 0,
        ipfix = 0;
      for (const w of reports()) {
        v5 += w.decoder.records.v5;
        v9 += w.decoder.records.v9;
        ipfix += w.decoder.records.ipfix;
      }
      return [
        [['5'], v5],
        [['9'], v9],
        [['10'], ipfix],
      ];
    });
    r.report(
      'options_records',
      sum((w) => w.decoder.optionsRecords),
    );
    r.report('decode_errors', () => {
      const ws = reports();
      return ERROR_REASONS.map((reason) => [[reason], ws.reduce((a, w) => a + (w.decoder.errors[reason] ?? 0), 0)] as const);
    });
    r.report(
      'template_misses',
      sum((w) => w.decoder.templateMisses),
    );
    // Threads that share templates (--udp-spread datagram) each hold all of them: count them once.
    r.report('templates', () => {
      const ws = reports();
      return ws.some((w) => w.receiver.spread === 'datagram')
        ? Math.max(0, ...ws.map((w) => w.decoder.templates))
        : ws.reduce((a, w) => a + w.decoder.templates, 0);
    });
    r.report('held_sets', () => {
      const ws = reports();
      return [
        [['held'], ws.reduce((a, w) => a + w.decoder.held, 0)],
        [['decoded'], ws.reduce((a, w) => a + w.decoder.heldDecoded, 0)],
        [['dropped'], ws.reduce((a, w) => a + w.decoder.heldDropped, 0)],
      ];
    });
    r.report(
      'held_sets_pending',
      sum((w) => w.decoder.pending),
    );
    // Decoder state bounds and template scope (issue 12).
    r.report(
      'data_sets_refused',
      sum((w) => w.decoder.setsRefused ?? 0),
    );
    r.report(
      'template_scope_fallbacks',
      sum((w) => w.decoder.templateScopeFallbacks ?? 0),
    );
    r.report('decoder_limit_hits', () => {
      const ws = reports();
      return LIMITS.map((l) => [[l], ws.reduce((a, w) => a + (w.decoder.limits?.[l] ?? 0), 0)] as const);
    });
    r.report(
      'decoder_exporters',
      sum((w) => w.decoder.exporters ?? 0),
    );
    r.report(
      'flow_records',
      sum((w) => w.pipeline.records),
    );
    r.report('unknown_ends', () => {
      const ws = reports();
      return [
        [['src'], ws.reduce((a, w) => a + w.pipeline.unknownSrc, 0)],
        [['dst'], ws.reduce((a, w) => a + w.pipeline.unknownDst, 0)],
      ];
    });
    r.report(
      'address_memo_hits',
      sum((w) => w.pipeline.remembered),
    );
    r.report(
      'dedup_skipped',
      sum((w) => w.pipeline.dedupSkipped),
    );

    r.report('pairs', () => store.stats().pairs);
    r.report('pairs_max', () => config.maxSeries);
    r.report('pair_evictions', () => store.stats().evictions);
    r.report('overflow_flows', () => store.stats().overflowedFlows);

    r.report('inventory_ready', () => (inventory.ready() ? 1 : 0));
    r.report('inventory_objects', () => {
      const c = pool.inventoryCounts;
      return [
        [['pods'], c.pods],
        [['nodes'], c.nodes],
        [['services'], c.services],
      ];
    });
    inventory.registerMetrics(r);

    r.report('receive_threads', () => pool.size);
    r.report('receive_thread_restarts', () => pool.restarts);
    r.report(
      'receive_thread_datagrams',
      perThread((w) => w.receiver.datagrams, 'sum'),
    );
    r.report(
      'receive_thread_batches',
      perThread((w) => w.receiver.batches, 'sum'),
    );
    r.report(
      'receive_thread_utilization',
      perThread((w) => w.elu, 'latest'),
    );
    r.report(
      'receive_thread_longest_task_seconds',
      perThread((w) => (w.tasks === undefined ? undefined : w.tasks.longestMs / 1000), 'latest'),
    );
    r.report(
      'receive_thread_long_tasks',
      perThread((w) => w.tasks?.long, 'sum'),
    );
    registerUdpBackendMetrics(r, reports);
    r.report('udp_receive_buffer_bytes', () => recvBufferBytes);
    r.report('udp_socket_drops', () => socketDrops(udpPort)?.drops);
    r.report('udp_socket_queue_bytes', () => socketDrops(udpPort)?.rxQueue);
    r.report('udp_host_receive_errors', () => {
      const s = snmpUdp();
      return s
        ? [
            [['RcvbufErrors'], s.rcvbufErrors],
            [['InErrors'], s.inErrors],
          ]
        : undefined;
    });
    this.#process = registerProcessMetrics(r);

    // Where the memory is, thread by thread (issue 13): the process heap above is the main thread's
    // alone, while the receiving threads' decoder state can be most of the resident memory.
    const latest = (): Map<number, WorkerReport> => {
      const by = new Map<number, WorkerReport>();
      for (const w of reports()) by.set(w.thread, w);
      return by;
    };
    r.report('thread_memory_bytes', () => {
      const h = getHeapStatistics();
      const out: Sample[] = [
        [['main', 'heap_used'], h.used_heap_size],
        [['main', 'heap_total'], h.total_heap_size],
        [['main', 'external'], h.external_memory],
      ];
      for (const [i, w] of latest()) {
        if (!w.memory) continue;
        out.push(
          [[String(i), 'heap_used'], w.memory.heapUsed],
          [[String(i), 'heap_total'], w.memory.heapTotal],
          [[String(i), 'external'], w.memory.external],
        );
      }
      return out;
    });
    r.report('decoder_state_bytes', () => {
      const out: Sample[] = [];
      for (const [i, w] of latest()) if (w.decoderStateBytes !== undefined) out.push([[String(i)], w.decoderStateBytes]);
      return out;
    });
  }

  stop(): void {
    this.#process.stop();
  }
}

/**
 * The receive path each receiving thread took (--udp-backend, --udp-spread): info-style gauges,
 * 1 per thread labelled with its backend and its spread, and the datagrams the native path
 * dropped for being longer than a slot.
 */
export function registerUdpBackendMetrics(r: MetricsRegistry, reports: () => readonly WorkerReport[]): void {
  /** 1 per thread, labelled with what its latest report says (a restarted thread's earlier reports come first). */
  const perThread = (label: (w: WorkerReport) => string) => (): Sample[] => {
    const latest = new Map<number, string>();
    for (const w of reports()) latest.set(w.thread, label(w));
    return [...latest].map(([thread, value]): Sample => [[String(thread), value], 1]);
  };
  r.report(
    'udp_backend',
    perThread((w) => w.receiver.backend),
  );
  r.report(
    'udp_spread',
    perThread((w) => w.receiver.spread),
  );
  r.report('udp_truncated_datagrams', () => reports().reduce((a, w) => a + w.receiver.truncated, 0));
}

/** The pair store's own numbers, for a registry beside a bare store (the export tests and benches). */
export function registerStoreMetrics(reg: MetricsRegistry, store: PairStore): void {
  reg.report('store_pairs', () => store.pairs.length);
  reg.report('store_ends', () => store.stats().ends);
  reg.report('store_max_pairs', () => store.maxSeries);
  reg.report('store_evictions', () => store.stats().evictions);
  reg.report('store_overflow_flows', () => store.stats().overflowedFlows);
}
