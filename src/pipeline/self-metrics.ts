/**
 * The collector's self-metrics (prefix netflow_k8s_), read at scrape time from the receiving
 * threads' latest reports, the store, the inventory source and the kernel. Counters from threads
 * are cumulative per thread, so summing the latest report of each is exact. (The inventory source,
 * dnstap and the HTTP server add theirs to the same registry where they are started.)
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

    r.callback('datagrams', 'UDP datagrams received, by exporter address', 'counter', perExporter('datagrams'), ['exporter']);
    r.callback('datagram_bytes', 'UDP payload bytes received, by exporter address', 'counter', perExporter('bytes'), ['exporter']);
    r.callback('datagrams_denied', 'Datagrams dropped because the exporter is not in --allow-exporters', 'counter', perExporter('denied'), [
      'exporter',
    ]);
    r.callback(
      'records',
      'Flow records decoded, by NetFlow version',
      'counter',
      () => {
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
      },
      ['version'],
    );
    r.callback(
      'options_records',
      'Options data records (sampling, interface names) kept as state',
      'counter',
      sum((w) => w.decoder.optionsRecords),
    );
    r.callback(
      'decode_errors',
      'Malformed input refused by the decoder, by reason',
      'counter',
      () => {
        const ws = reports();
        return ERROR_REASONS.map((reason) => [[reason], ws.reduce((a, w) => a + (w.decoder.errors[reason] ?? 0), 0)] as const);
      },
      ['reason'],
    );
    r.callback(
      'template_misses',
      'Data sets that arrived before their template',
      'counter',
      sum((w) => w.decoder.templateMisses),
    );
    // Threads that share templates (--udp-spread datagram) each hold all of them: count them once.
    r.callback('templates', 'Templates and options templates alive', 'gauge', () => {
      const ws = reports();
      return ws.some((w) => w.receiver.spread === 'datagram')
        ? Math.max(0, ...ws.map((w) => w.decoder.templates))
        : ws.reduce((a, w) => a + w.decoder.templates, 0);
    });
    r.callback(
      'held_sets',
      'Data sets held for a template, by what became of them',
      'counter',
      () => {
        const ws = reports();
        return [
          [['held'], ws.reduce((a, w) => a + w.decoder.held, 0)],
          [['decoded'], ws.reduce((a, w) => a + w.decoder.heldDecoded, 0)],
          [['dropped'], ws.reduce((a, w) => a + w.decoder.heldDropped, 0)],
        ];
      },
      ['outcome'],
    );
    r.callback(
      'held_sets_pending',
      'Data sets waiting for their template now',
      'gauge',
      sum((w) => w.decoder.pending),
    );
    // Decoder state bounds and template scope (issue 12).
    r.callback(
      'data_sets_refused',
      'Data sets that gave no record (their reason is in netflow_k8s_decode_errors_total)',
      'counter',
      sum((w) => w.decoder.setsRefused ?? 0),
    );
    r.callback(
      'template_scope_fallbacks',
      'Data sets decoded with the template another source port of the same exporter address sent (--template-scope address)',
      'counter',
      sum((w) => w.decoder.templateScopeFallbacks ?? 0),
    );
    r.callback(
      'decoder_limit_hits',
      'Times a cap on decoder state or work refused or evicted something, by cap',
      'counter',
      () => {
        const ws = reports();
        return LIMITS.map((l) => [[l], ws.reduce((a, w) => a + (w.decoder.limits?.[l] ?? 0), 0)] as const);
      },
      ['limit'],
    );
    r.callback(
      'decoder_exporters',
      'Exporters (address and port) the receiving threads keep decoder state for',
      'gauge',
      sum((w) => w.decoder.exporters ?? 0),
    );
    r.callback(
      'flow_records',
      'Flow records seen by the identify stage',
      'counter',
      sum((w) => w.pipeline.records),
    );
    r.callback(
      'unknown_ends',
      'Flow record ends that no pod, node, service or network names',
      'counter',
      () => {
        const ws = reports();
        return [
          [['src'], ws.reduce((a, w) => a + w.pipeline.unknownSrc, 0)],
          [['dst'], ws.reduce((a, w) => a + w.pipeline.unknownDst, 0)],
        ];
      },
      ['end'],
    );
    r.callback(
      'address_memo_hits',
      'Flow records whose two addresses the receiving thread remembered, so the identity index was not asked',
      'counter',
      sum((w) => w.pipeline.remembered),
    );
    r.callback(
      'dedup_skipped',
      'Flow records not counted because the source node reports the same flow',
      'counter',
      sum((w) => w.pipeline.dedupSkipped),
    );

    r.callback('pairs', 'Pairs in the store', 'gauge', () => store.stats().pairs);
    r.callback('pairs_max', 'The --max-series cap', 'gauge', () => config.maxSeries);
    r.callback('pair_evictions', 'Pairs removed after --series-ttl without flows', 'counter', () => store.stats().evictions);
    r.callback(
      'overflow_flows',
      'Flows counted into the overflow pair because the store was full',
      'counter',
      () => store.stats().overflowedFlows,
    );

    r.callback('inventory_ready', 'Inventory synced (1) or not (0)', 'gauge', () => (inventory.ready() ? 1 : 0));
    r.callback(
      'inventory_objects',
      'Inventory objects known, by kind',
      'gauge',
      () => {
        const c = pool.inventoryCounts;
        return [
          [['pods'], c.pods],
          [['nodes'], c.nodes],
          [['services'], c.services],
        ];
      },
      ['kind'],
    );
    inventory.registerMetrics(r);

    r.callback('receive_threads', 'Receiving threads', 'gauge', () => pool.size);
    r.callback('receive_thread_restarts', 'Receiving threads restarted after they died', 'counter', () => pool.restarts);
    r.callback(
      'receive_thread_datagrams',
      'Datagrams received by each receiving thread (restarted threads keep their number)',
      'counter',
      () => {
        const by = new Map<number, number>();
        for (const w of reports()) by.set(w.thread, (by.get(w.thread) ?? 0) + w.receiver.datagrams);
        return [...by].map(([i, v]) => [[String(i)], v] as const);
      },
      ['thread'],
    );
    r.callback(
      'receive_thread_utilization',
      'Event-loop utilization of each receiving thread over its last merge interval',
      'gauge',
      () => {
        const latest = new Map<number, number>();
        for (const w of reports()) latest.set(w.thread, w.elu);
        return [...latest].map(([i, v]) => [[String(i)], v] as const);
      },
      ['thread'],
    );
    registerUdpBackendMetrics(r, reports);
    r.callback('udp_receive_buffer_bytes', 'Receive buffer the kernel granted each socket', 'gauge', () => recvBufferBytes);
    r.callback(
      'udp_socket_drops',
      'Datagrams the kernel dropped on our sockets (receive buffer full), from /proc/net/udp',
      'counter',
      () => socketDrops(udpPort)?.drops,
    );
    r.callback('udp_socket_queue_bytes', 'Bytes waiting in our sockets receive queues', 'gauge', () => socketDrops(udpPort)?.rxQueue);
    r.callback(
      'udp_host_receive_errors',
      'Host-wide UDP receive errors from /proc/net/snmp, by counter',
      'counter',
      () => {
        const s = snmpUdp();
        return s
          ? [
              [['RcvbufErrors'], s.rcvbufErrors],
              [['InErrors'], s.inErrors],
            ]
          : undefined;
      },
      ['counter'],
    );
    this.#process = registerProcessMetrics(r);

    // Where the memory is, thread by thread (issue 13): the process heap above is the main thread's
    // alone, while the receiving threads' decoder state can be most of the resident memory.
    const latest = (): Map<number, WorkerReport> => {
      const by = new Map<number, WorkerReport>();
      for (const w of reports()) by.set(w.thread, w);
      return by;
    };
    r.callback(
      'thread_memory_bytes',
      'V8 heap (used, total) and memory outside it (external: buffers) of each thread, main and receiving',
      'gauge',
      () => {
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
      },
      ['thread', 'kind'],
    );
    r.callback(
      'decoder_state_bytes',
      'Decoder state (templates, options state, held data) of each receiving thread, in bytes as the decoder weighs it',
      'gauge',
      () => {
        const out: Sample[] = [];
        for (const [i, w] of latest()) if (w.decoderStateBytes !== undefined) out.push([[String(i)], w.decoderStateBytes]);
        return out;
      },
      ['thread'],
    );
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
  r.callback(
    'udp_backend',
    "The UDP receive path of each receiving thread (native: batched recvmmsg; dgram: Node's); always 1",
    'gauge',
    perThread((w) => w.receiver.backend),
    ['thread', 'backend'],
  );
  r.callback(
    'udp_spread',
    "How datagrams reach each receiving thread (exporter: the kernel's per-exporter hash; datagram: dealt at random, templates shared); always 1",
    'gauge',
    perThread((w) => w.receiver.spread),
    ['thread', 'spread'],
  );
  r.callback('udp_truncated_datagrams', 'Datagrams longer than the native receive slot, counted and dropped undecoded', 'counter', () =>
    reports().reduce((a, w) => a + w.receiver.truncated, 0),
  );
}

/** The pair store's own numbers, for a registry beside a bare store (the export tests and benches). */
export function registerStoreMetrics(reg: MetricsRegistry, store: PairStore): void {
  reg.callback('store_pairs', 'Pairs in the store (series per counter family)', 'gauge', () => store.pairs.length);
  reg.callback('store_ends', 'Distinct endpoint identities the store keys pairs by', 'gauge', () => store.stats().ends);
  reg.callback('store_max_pairs', 'The cardinality cap (--max-series)', 'gauge', () => store.maxSeries);
  reg.callback('store_evictions', 'Pairs removed after being idle for the series TTL', 'counter', () => store.stats().evictions);
  reg.callback(
    'store_overflow_flows',
    'Flows counted in the overflow pair because the cap was reached',
    'counter',
    () => store.stats().overflowedFlows,
  );
}
