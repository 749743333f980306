/**
 * The real program over real UDP: Debian's softflowd reads the k8s-basic traffic capture and
 * exports NetFlow v9, then IPFIX, to `netflow-k8s run`; a static inventory names the 10.244.x
 * addresses as pods. The per-pair counts on /metrics equal the capture's ground truth, and a real
 * Prometheus scraping every second reads the same totals back through its query API.
 */
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startCollectorProcess, parsePromText, pollUntil, type CollectorProcess } from '../support/run-collector.ts';
import { runSoftflowd, softflowdAvailable } from '../support/softflowd.ts';
import { prometheusAvailable, startPrometheus, type Prometheus } from '../support/prometheus.ts';
import { expectedPairs, pairKey, pairsFromMetrics, PCAP, type Totals } from './fixtures/k8s-basic.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));

const scaled = (m: Map<string, Totals>, n: number) =>
  new Map([...m].map(([k, t]) => [k, { flows: t.flows * n, bytes: t.bytes * n, packets: t.packets * n }]));
const sorted = (m: Map<string, Totals>) => [...m].sort(([a], [b]) => a.localeCompare(b));

const skip = !softflowdAvailable()
  ? 'softflowd is not installed (scripts/setup-debian.sh installs it)'
  : !prometheusAvailable()
    ? 'prometheus is not installed'
    : false;

test('softflowd v9 and IPFIX through the real collector match the ground truth, on /metrics and through Prometheus', {
  skip,
  timeout: 180_000,
}, async (t) => {
  const expected = expectedPairs();
  assert.equal(expected.size, 13, 'the capture has 13 directed pairs of apps');
  let collector: CollectorProcess | undefined;
  let prom: Prometheus | undefined;
  t.after(async () => {
    await prom?.stop();
    if (collector) await collector.stop('SIGKILL');
  });
  collector = await startCollectorProcess(['--inventory', INVENTORY, '--merge-interval', '100ms', '--log-level', 'info']);
  const c = collector;
  const host = new URL(c.httpUrl).host;
  prom = await startPrometheus({ targets: [host] });

  const health = await c.get('/healthz');
  assert.equal(health.status, 200);
  await pollUntil(async () => (await c.get('/readyz')).status === 200, 30_000);

  // NetFlow v9.
  const v9 = await runSoftflowd({ pcap: PCAP, host: '127.0.0.1', port: c.udpPort, version: 9 });
  assert.equal(v9.code, 0, v9.log);
  const afterV9 = await pollUntil(async () => {
    const m = await c.get('/metrics');
    const pairs = pairsFromMetrics(m.body);
    return [...pairs.values()].reduce((a, p) => a + p.flows, 0) >= 19 ? { m, pairs } : undefined;
  }, 30_000);
  assert.equal(afterV9.m.type, 'text/plain; version=0.0.4; charset=utf-8');
  assert.deepEqual(sorted(afterV9.pairs), sorted(expected));
  assert.match(afterV9.m.body, /^# TYPE netflow_connection_count counter$/m);
  // promtool's only complaints are about the seed's own names (no _total; `_count` read as a summary's).
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: afterV9.m.body, encoding: 'utf8' });
  if (!lint.error) {
    const complaints = (lint.stdout + lint.stderr).split('\n').filter(Boolean);
    assert.ok(
      complaints.every((l) => /^netflow_connection_(count|bytes|packets) /.test(l)),
      complaints.join('\n'),
    );
  }
  const self9 = parsePromText(afterV9.m.body);
  const rec = (v: string) => self9.find((s) => s.name === 'netflow_k8s_records_total' && s.labels.version === v)?.value;
  assert.equal(rec('9'), 19);
  assert.equal(self9.find((s) => s.name === 'netflow_k8s_datagrams_total' && s.labels.exporter === '127.0.0.1')?.value, v9Datagrams(self9));
  assert.equal(
    self9.filter((s) => s.name === 'netflow_k8s_unknown_ends_total').reduce((a, s) => a + s.value, 0),
    0,
  );

  // IPFIX of the same traffic: every pair doubles exactly.
  const v10 = await runSoftflowd({ pcap: PCAP, host: '127.0.0.1', port: c.udpPort, version: 10 });
  assert.equal(v10.code, 0, v10.log);
  const afterV10 = await pollUntil(async () => {
    const pairs = pairsFromMetrics((await c.get('/metrics')).body);
    return [...pairs.values()].reduce((a, p) => a + p.flows, 0) >= 38 ? pairs : undefined;
  }, 30_000);
  assert.deepEqual(sorted(afterV10), sorted(scaled(expected, 2)));

  // Prometheus scraped the same numbers.
  const want = scaled(expected, 2);
  const wantBytes = [...want.values()].reduce((a, p) => a + p.bytes, 0);
  const byPair = await prom.waitFor(
    'sum by (srchost, srcnamespace, dsthost, dstnamespace) (netflow_connection_bytes)',
    (s) => s.reduce((a, x) => a + x.value, 0) === wantBytes,
    60_000,
  );
  const fromProm = new Map(
    byPair.map((s) => [pairKey(s.metric.srcnamespace, s.metric.srchost, s.metric.dstnamespace, s.metric.dsthost), s.value]),
  );
  assert.deepEqual(
    [...fromProm].sort(([a], [b]) => a.localeCompare(b)),
    sorted(want).map(([k, v]) => [k, v.bytes]),
  );
  const flows = await prom.waitFor('sum(netflow_connection_count)', (s) => s[0]?.value === 38, 30_000);
  assert.equal(flows[0]?.value, 38);
  const packets = await prom.waitFor('sum(netflow_connection_packets)', (s) => s[0]?.value === 2 * 498, 30_000);
  assert.equal(packets[0]?.value, 996);
  const up = await prom.query('up');
  assert.equal(up[0]?.value, 1);
  const ipfix = await prom.waitFor('netflow_k8s_records_total{version="10"}', (s) => s[0]?.value === 19, 30_000);
  assert.equal(ipfix[0]?.value, 19);

  // SIGTERM: a clean exit.
  const exit = await c.stop('SIGTERM');
  collector = undefined;
  assert.equal(exit.code, 0);
  assert.ok(
    c.logs().some((l) => l.msg === 'stopped'),
    'logs say stopped',
  );
});

/** softflowd's datagram count as the collector saw it (the same number must appear per exporter). */
function v9Datagrams(samples: ReturnType<typeof parsePromText>): number {
  return samples.filter((s) => s.name === 'netflow_k8s_datagrams_total').reduce((a, s) => a + s.value, 0);
}
