/**
 * The backend self-metrics render from the threads' reports: one info series per thread (a
 * restarted thread's latest backend), and the truncated datagrams summed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry } from '../../src/observe/metrics.ts';
import { registerUdpBackendMetrics } from '../../src/pipeline/self-metrics.ts';
import type { WorkerReport } from '../../src/pipeline/threads/protocol.ts';

const report = (thread: number, backend: 'native' | 'dgram', truncated: number) =>
  ({
    thread,
    receiver: {
      datagrams: 0,
      bytes: 0,
      denied: 0,
      perExporter: [],
      backend,
      truncated,
      spread: backend === 'native' ? 'datagram' : 'exporter',
    },
  }) as unknown as WorkerReport;

test("netflow_k8s_udp_backend names each thread's backend; truncated datagrams are summed", () => {
  const r = new MetricsRegistry();
  registerUdpBackendMetrics(r, () => [report(0, 'dgram', 1), report(0, 'native', 2), report(1, 'native', 0)]);
  const text = r.render();
  assert.match(text, /^# TYPE netflow_k8s_udp_backend gauge$/m);
  assert.match(text, /^netflow_k8s_udp_backend\{thread="0",backend="native"\} 1$/m);
  assert.match(text, /^netflow_k8s_udp_backend\{thread="1",backend="native"\} 1$/m);
  assert.doesNotMatch(text, /backend="dgram"/);
  assert.match(text, /^netflow_k8s_udp_truncated_datagrams_total 3$/m);
  assert.match(text, /^netflow_k8s_udp_spread\{thread="0",spread="datagram"\} 1$/m);
  assert.match(text, /^netflow_k8s_udp_spread\{thread="1",spread="datagram"\} 1$/m);
  assert.doesNotMatch(text, /spread="exporter"/);
});
