/**
 * Self-metrics of the receive path each receiving thread took (--udp-backend, --udp-spread):
 * info-style gauges, 1 per thread labelled with its backend and its spread, and the datagrams the native path dropped for
 * being longer than a slot. Read at scrape time from the threads' latest reports, like the rest
 * of the self-metrics (src/pipeline/self-metrics.ts registers them).
 */
import type { MetricsRegistry, Sample } from './metrics.ts';
import type { WorkerReport } from '../pipeline/threads/protocol.ts';

export function registerUdpBackendMetrics(r: MetricsRegistry, reports: () => readonly WorkerReport[]): void {
  /** 1 per thread, labelled with what its latest report says (a restarted thread's earlier reports come first). */
  const perThread = (label: (w: WorkerReport) => string) => (): Sample[] => {
    const latest = new Map<number, string>();
    for (const w of reports()) latest.set(w.thread, label(w));
    return [...latest].map(([thread, value]): Sample => [[String(thread), value], 1]);
  };
  r.callback('udp_backend', 'The UDP receive path of each receiving thread (native: batched recvmmsg; dgram: Node\'s); always 1', 'gauge', perThread((w) => w.receiver.backend), ['thread', 'backend']);
  r.callback('udp_spread', 'How datagrams reach each receiving thread (exporter: the kernel\'s per-exporter hash; datagram: dealt at random, templates shared); always 1', 'gauge', perThread((w) => w.receiver.spread), ['thread', 'spread']);
  r.callback('udp_truncated_datagrams', 'Datagrams longer than the native receive slot, counted and dropped undecoded', 'counter', () => reports().reduce((a, w) => a + w.receiver.truncated, 0));
}
