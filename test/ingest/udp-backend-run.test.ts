/**
 * The real program with each receive path forced: softflowd exports the k8s-basic capture as
 * NetFlow v9 and IPFIX to two receiving threads sharing a dual-stack port, and /metrics holds the
 * capture's ground truth either way. The default (auto) backend is covered by test/e2e, which on
 * Linux takes the native path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startCollectorProcess, parsePromText, pollUntil, type CollectorProcess } from '../support/run-collector.ts';
import { runSoftflowd, softflowdAvailable } from '../support/softflowd.ts';
import { expectedPairs, pairsFromMetrics, PCAP, type Totals } from '../e2e/fixtures/k8s-basic.ts';

const INVENTORY = fileURLToPath(new URL('../e2e/fixtures/k8s-basic-inventory.json', import.meta.url));

const sorted = (m: Map<string, Totals>) => [...m].sort(([a], [b]) => a.localeCompare(b));
const doubled = (m: Map<string, Totals>) =>
  new Map([...m].map(([k, t]) => [k, { flows: 2 * t.flows, bytes: 2 * t.bytes, packets: 2 * t.packets }]));

const skip = !softflowdAvailable() ? 'softflowd is not installed (scripts/setup-debian.sh installs it)' : false;

// `datagram` spreads each exporter's datagrams over both threads, which only counts right if the
// threads share templates; auto keeps the kernel's per-exporter hash (the cheaper default).
const RUNS = [
  { backend: 'native', spread: 'datagram', expect: 'datagram' },
  { backend: 'native', spread: 'auto', expect: 'exporter' },
  { backend: 'dgram', spread: 'auto', expect: 'exporter' },
] as const;

for (const { backend, spread, expect } of RUNS) {
  const why = backend === 'native' && process.platform !== 'linux' ? `the native receive path is Linux-only (${process.platform})` : skip;
  test(`--udp-backend ${backend} --udp-spread ${spread}: softflowd v9 and IPFIX match the ground truth`, {
    skip: why,
    timeout: 120_000,
  }, async (t) => {
    let collector: CollectorProcess | undefined = await startCollectorProcess([
      '--inventory',
      INVENTORY,
      '--listen',
      '[::]:0',
      '--workers',
      '2',
      '--udp-backend',
      backend,
      '--udp-spread',
      spread,
      '--merge-interval',
      '100ms',
      '--log-level',
      'info',
    ]);
    t.after(async () => {
      if (collector) await collector.stop('SIGKILL');
    });
    const c = collector;
    // Datagram spread starts both threads; under the per-exporter hash the second waits for a second exporter.
    const started = spread === 'datagram' ? [0, 1] : [0];
    const chosen = c.logs().filter((l) => typeof l.backend === 'string');
    assert.deepEqual(
      chosen.map((l) => [l.worker, l.backend]).sort(),
      started.map((w) => [w, backend]),
      'each thread says which backend it uses',
    );
    assert.match(String(chosen[0].reason), new RegExp(`asked for with --udp-backend ${backend}`));
    assert.deepEqual(
      chosen.map((l) => l.spread),
      started.map(() => expect),
      'each thread says how datagrams reach it',
    );
    // Each thread ran its receive path over synthetic traffic first; the exact totals below show none of it was counted.
    const warm = c.logs().filter((l) => l.msg === 'receive path warmed up');
    assert.deepEqual(
      warm.map((l) => [l.worker, l.decodeErrors, Number(l.records) > 0, Number(l.overflowed) > 0]).sort(),
      started.map((w) => [w, 0, true, true]),
    );

    const expected = expectedPairs();
    for (const [version, times] of [
      [9, 1],
      [10, 2],
    ] as const) {
      const run = await runSoftflowd({ pcap: PCAP, host: '127.0.0.1', port: c.udpPort, version });
      assert.equal(run.code, 0, run.log);
      const pairs = await pollUntil(async () => {
        const p = pairsFromMetrics((await c.get('/metrics')).body);
        return [...p.values()].reduce((a, x) => a + x.flows, 0) >= 19 * times ? p : undefined;
      }, 30_000);
      assert.deepEqual(sorted(pairs), sorted(times === 1 ? expected : doubled(expected)), `after NetFlow v${version}`);
    }
    const self = parsePromText((await c.get('/metrics')).body);
    const rec = (v: string) => self.find((s) => s.name === 'netflow_k8s_records_total' && s.labels.version === v)?.value;
    assert.deepEqual([rec('9'), rec('10')], [19, 19]);
    // softflowd's datagrams arrived from 127.0.0.1 on a dual-stack socket: named as IPv4 by both paths.
    assert.ok((self.find((s) => s.name === 'netflow_k8s_datagrams_total' && s.labels.exporter === '127.0.0.1')?.value ?? 0) > 0);
    if (started.length === 1) {
      // The two softflowd runs were two sources (two ephemeral ports): the second brought the second thread.
      await pollUntil(async () => {
        const threads = parsePromText((await c.get('/metrics')).body).find((s) => s.name === 'netflow_k8s_receive_threads');
        return threads?.value === 2 || undefined;
      }, 30_000);
      assert.ok(c.logs().some((l) => l.msg === 'more exporters than receiving threads: starting another' && l.worker === 1));
    }

    const exit = await c.stop('SIGTERM');
    collector = undefined;
    assert.equal(exit.code, 0, c.stderr());
    assert.ok(c.logs().some((l) => l.msg === 'stopped'));
  });
}
