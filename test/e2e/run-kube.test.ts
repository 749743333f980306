/**
 * Live inventory through the real program: `netflow-k8s run --kubeconfig` watches a fake API
 * server that speaks the real list/watch protocol over TLS. The API drops mid-run (watches cut,
 * then the server gone): flows keep being counted under the names already known, readiness
 * holds, the informers restart, and a pod created during the outage is named once the API is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { startCollectorProcess, pollUntil, type CollectorProcess, metricSum } from '../support/run-collector.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import { node, pod } from '../support/kube-objects.ts';
import { IptNetflowExporter, type IptFlow } from '../../src/generate/ipt-netflow.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';

const metric = metricSum;

test('the Kubernetes API drops mid-run: nothing counted is lost and new pods are named after it returns', {
  timeout: 180_000,
}, async (t) => {
  const api = await FakeApiServer.start();
  let c: CollectorProcess | undefined;
  const sock: Socket = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  t.after(async () => {
    sock.close();
    if (c) await c.stop('SIGKILL');
    await api.close();
  });
  api.create('nodes', node({ name: 'node-a', internalIP: '10.0.0.1' }));
  api.create('nodes', node({ name: 'node-b', internalIP: '10.0.0.2' }));
  api.create(
    'pods',
    pod({
      name: 'web-0',
      namespace: 'shop',
      ip: '10.244.1.10',
      node: 'node-a',
      labels: { app: 'web' },
      startTime: new Date(Date.now() - 60_000),
    }),
  );
  api.create(
    'pods',
    pod({
      name: 'svc1-0',
      namespace: 'backend',
      ip: '10.244.2.20',
      node: 'node-b',
      labels: { app: 'svc1' },
      ports: [8080],
      startTime: new Date(Date.now() - 60_000),
    }),
  );

  c = await startCollectorProcess(['--kubeconfig', api.writeKubeconfig(), '--merge-interval', '100ms'], {
    env: { NETFLOW_K8S_TEST_KUBE_BACKOFF_MS: '200' },
  });
  const col = c;
  await pollUntil(async () => (await col.get('/readyz')).status === 200, 30_000);

  const exporter = new IptNetflowExporter({ protocol: 9 });
  let sent = 0;
  const send = async (src: string, dst: string, n: number) => {
    const now = Date.now();
    const flows: IptFlow[] = Array.from({ length: n }, (_, i) => ({
      src4: parseIPv4(src),
      dst4: parseIPv4(dst),
      srcPort: 40000 + i,
      dstPort: 8080,
      proto: 6,
      packets: 2,
      bytes: 300,
      startMs: now - 2000,
      endMs: now - 500,
    }));
    for (let from = 0; from < flows.length; ) {
      const { payload, taken } = exporter.pack(flows, from, now, 27);
      await new Promise<void>((res, rej) => sock.send(payload, col.udpPort, '127.0.0.1', (e) => (e ? rej(e) : res())));
      from += taken;
    }
    sent += n;
  };
  const counted = async (want: number) =>
    pollUntil(async () => {
      const body = (await col.get('/metrics')).body;
      return metric(body, 'netflow_connection_count') === want ? body : undefined;
    }, 30_000);

  await send('10.244.1.10', '10.244.2.20', 100);
  let body = await counted(sent);
  assert.equal(
    metric(body, 'netflow_connection_count', { srchost: 'web', srcnamespace: 'shop', dsthost: 'svc1', dstnamespace: 'backend' }),
    100,
  );

  // The API drops: watches cut mid-event, then the server is gone.
  api.dropWatches();
  await api.stop();
  await send('10.244.1.10', '10.244.2.20', 150);
  body = await counted(sent);
  assert.equal(
    metric(body, 'netflow_connection_count', { srchost: 'web', dsthost: 'svc1' }),
    250,
    'flows during the outage keep their names',
  );
  assert.equal((await col.get('/readyz')).status, 200, 'an inventory once synced stays ready through an outage');
  await pollUntil(async () => metric((await col.get('/metrics')).body, 'netflow_k8s_informer_errors_total') > 0, 30_000);

  // A pod appears while the API is away; the API comes back and the informers catch up.
  api.create(
    'pods',
    pod({
      name: 'checkout-0',
      namespace: 'shop',
      ip: '10.244.1.11',
      node: 'node-a',
      labels: { app: 'checkout' },
      startTime: new Date(Date.now() - 30_000),
    }),
  );
  await api.start();
  await pollUntil(async () => {
    const b = (await col.get('/metrics')).body;
    return metric(b, 'netflow_k8s_inventory_objects', { kind: 'pods' }) === 3 && metric(b, 'netflow_k8s_informer_restarts_total') > 0;
  }, 60_000);
  // The receiving threads have applied the change they were sent.
  await pollUntil(async () => metric((await col.get('/metrics')).body, 'netflow_k8s_inventory_threads_behind') === 0, 30_000);
  await send('10.244.1.11', '10.244.2.20', 60);
  body = await counted(sent);
  assert.equal(metric(body, 'netflow_connection_count', { srchost: 'checkout', srcnamespace: 'shop', dsthost: 'svc1' }), 60);
  assert.equal(metric(body, 'netflow_connection_count', { srchost: 'web', dsthost: 'svc1' }), 250);
  assert.equal(metric(body, 'netflow_k8s_unknown_ends_total'), 0);
  assert.equal(metric(body, 'netflow_k8s_inventory_ready'), 1);
  const exit = await col.stop('SIGTERM');
  c = undefined;
  assert.equal(exit.code, 0);
});

test('readiness waits for the first full list of the inventory', { timeout: 60_000 }, async (t) => {
  const api = await FakeApiServer.start();
  let c: CollectorProcess | undefined;
  t.after(async () => {
    if (c) await c.stop('SIGKILL');
    await api.close();
  });
  const kubeconfig = api.writeKubeconfig();
  await api.stop();
  c = await startCollectorProcess(['--kubeconfig', kubeconfig], { env: { NETFLOW_K8S_TEST_KUBE_BACKOFF_MS: '200' } });
  const col = c;
  const r = await col.get('/readyz');
  assert.equal(r.status, 503);
  assert.match(r.body, /inventory not synced/);
  assert.equal((await col.get('/healthz')).status, 200, 'alive while not ready');
  await api.start();
  await pollUntil(async () => (await col.get('/readyz')).status === 200, 30_000);
});
