/**
 * OTLP out of the real program: softflowd's NetFlow reaches `netflow-k8s run`, whose OTLP gRPC
 * export lands in a test receiver decoding the OTLP protobuf: the same per-pair totals as the
 * ground truth, with the k8s.src.* / k8s.dst.* attributes and the resource. The receiver then
 * goes away while more traffic arrives and comes back: the cumulative totals arrive whole.
 * On SIGTERM the final totals are exported even when the interval has not come round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startCollectorProcess, parsePromText, pollUntil, type CollectorProcess } from '../support/run-collector.ts';
import { runSoftflowd, softflowdAvailable } from '../support/softflowd.ts';
import { OtlpReceiver, type ReceivedPoint } from '../support/otlp-receiver.ts';
import { expectedPairs, PCAP } from './fixtures/k8s-basic.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));
const skip = softflowdAvailable() ? false : 'softflowd is not installed (scripts/setup-debian.sh installs it)';

/** Latest value per pair (namespace/name -> namespace/name) of one metric. */
function otlpPairs(rx: OtlpReceiver, metric: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of rx.latest(metric).values()) {
    const a = p.attributes;
    const k = `${a['k8s.src.namespace']}/${a['k8s.src.name']} -> ${a['k8s.dst.namespace']}/${a['k8s.dst.name']}`;
    out.set(k, (out.get(k) ?? 0) + p.value);
  }
  return out;
}

function want(field: 'flows' | 'bytes' | 'packets', times: number): Map<string, number> {
  return new Map([...expectedPairs()].map(([k, t]) => [k, t[field] * times]));
}
const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => a.localeCompare(b));
const equalMaps = (a: Map<string, number>, b: Map<string, number>) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

test('OTLP carries the ground-truth totals with k8s attributes; a receiver outage loses nothing', { skip, timeout: 180_000 }, async (t) => {
  const rx = await OtlpReceiver.start();
  let c: CollectorProcess | undefined;
  t.after(async () => {
    if (c) await c.stop('SIGKILL');
    await rx.stop();
  });
  c = await startCollectorProcess(
    [
      '--inventory',
      INVENTORY,
      '--merge-interval',
      '100ms',
      '--otlp-endpoint',
      rx.url,
      '--otlp-interval',
      '1s',
      '--cluster-name',
      'e2e-cluster',
    ],
    { env: { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test' } },
  );
  const col = c;

  const v9 = await runSoftflowd({ pcap: PCAP, host: '127.0.0.1', port: col.udpPort, version: 9 });
  assert.equal(v9.code, 0, v9.log);
  await rx.waitFor(() => equalMaps(otlpPairs(rx, 'netflow.connection.bytes'), want('bytes', 1)), 30_000);
  await rx.waitFor(
    () =>
      equalMaps(otlpPairs(rx, 'netflow.connection.count'), want('flows', 1)) &&
      equalMaps(otlpPairs(rx, 'netflow.connection.packets'), want('packets', 1)),
    30_000,
  );

  const bytes = [...rx.latest('netflow.connection.bytes').values()];
  const one = bytes.find((p) => p.attributes['k8s.src.name'] === 'web' && p.attributes['k8s.dst.name'] === 'svc1') as ReceivedPoint;
  assert.ok(one, 'the web -> svc1 series is there');
  assert.equal(one.unit, 'By');
  assert.equal(one.kind, 'sum');
  assert.equal(one.temporality, 'cumulative');
  assert.equal(one.monotonic, true);
  assert.equal(one.attributes['k8s.src.namespace'], 'shop');
  assert.equal(one.attributes['k8s.dst.namespace'], 'backend');
  assert.equal(one.resource['service.name'], 'netflow-k8s');
  assert.equal(one.resource['k8s.cluster.name'], 'e2e-cluster');
  assert.equal(one.resource['deployment.environment'], 'test');
  assert.ok(one.resource['service.instance.id'], 'service.instance.id is set');
  assert.ok(one.resource['host.name'], 'host.name is set');
  assert.equal(rx.latest('netflow.connection.count').values().next().value?.unit, '{flow}');

  // The receiver goes away; more traffic (IPFIX of the same capture) arrives meanwhile.
  await rx.stop();
  const v10 = await runSoftflowd({ pcap: PCAP, host: '127.0.0.1', port: col.udpPort, version: 10 });
  assert.equal(v10.code, 0, v10.log);
  await pollUntil(async () => {
    const m = parsePromText((await col.get('/metrics')).body);
    const failures = m.find((s) => s.name === 'netflow_k8s_otlp_exports_total' && s.labels.result === 'failure')?.value ?? 0;
    const flows = m.filter((s) => s.name === 'netflow_connection_count').reduce((a, s) => a + s.value, 0);
    return failures >= 1 && flows === 38;
  }, 60_000);
  // Back again: the next interval's cumulative totals are the whole of both runs.
  await rx.restart();
  await rx.waitFor(() => equalMaps(otlpPairs(rx, 'netflow.connection.bytes'), want('bytes', 2)), 60_000);
  await rx.waitFor(() => equalMaps(otlpPairs(rx, 'netflow.connection.count'), want('flows', 2)), 30_000);

  // The same store on the OpenTelemetry-convention Prometheus page.
  const otelPage = await col.get('/metrics/otel');
  assert.equal(otelPage.status, 200);
  const otelBytes = parsePromText(otelPage.body).filter((s) => s.name.startsWith('netflow_connection_bytes'));
  assert.ok(otelBytes.length > 0, '/metrics/otel shows netflow_connection_bytes*');
  assert.equal(
    otelBytes.reduce((a, s) => a + s.value, 0),
    2 * 412219,
  );
  assert.ok(
    otelBytes.every((s) => s.labels.k8s_src_namespace !== undefined),
    'labels come from the OTel attributes',
  );

  const exit = await col.stop('SIGTERM');
  c = undefined;
  assert.equal(exit.code, 0);
});

test('SIGTERM exports the final totals over OTLP before exiting', { skip, timeout: 120_000 }, async (t) => {
  const rx = await OtlpReceiver.start();
  let c: CollectorProcess | undefined;
  t.after(async () => {
    if (c) await c.stop('SIGKILL');
    await rx.stop();
  });
  // An interval far longer than the test: only the shutdown export can deliver.
  c = await startCollectorProcess([
    '--inventory',
    INVENTORY,
    '--merge-interval',
    '100ms',
    '--otlp-endpoint',
    rx.url,
    '--otlp-interval',
    '1h',
  ]);
  const col = c;
  const v9 = await runSoftflowd({ pcap: PCAP, host: '127.0.0.1', port: col.udpPort, version: 9 });
  assert.equal(v9.code, 0, v9.log);
  await pollUntil(
    async () =>
      parsePromText((await col.get('/metrics')).body)
        .filter((s) => s.name === 'netflow_connection_count')
        .reduce((a, s) => a + s.value, 0) === 19,
    30_000,
  );
  assert.equal(rx.requests.length, 0, 'nothing exported before the interval');
  const exit = await col.stop('SIGTERM');
  c = undefined;
  assert.equal(exit.code, 0);
  assert.ok(
    equalMaps(otlpPairs(rx, 'netflow.connection.bytes'), want('bytes', 1)),
    `final export carries the totals: ${JSON.stringify(sorted(otlpPairs(rx, 'netflow.connection.bytes')))}`,
  );
});
