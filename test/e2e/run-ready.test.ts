/**
 * /readyz means "flows are named now": the inventory goes to the receiving threads in messages
 * that a thread handles before any datagram that arrives after them, so a datagram sent the
 * moment /readyz first answers 200 is named, even with a large inventory to hand over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCollectorProcess, metricSum, parsePromText, pollUntil, type CollectorProcess } from '../support/run-collector.ts';
import { IptNetflowExporter } from '../../src/generate/ipt-netflow.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));

/** The k8s-basic fixture plus `extra` filler pods on 10.100.0.0/16 and up. */
function bigInventory(extra: number): string {
  const list = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { items: unknown[] };
  for (let i = 0; i < extra; i++) {
    list.items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `filler-${i}`,
        namespace: `ns-${i % 50}`,
        uid: `filler-${i}`,
        labels: { app: `filler-${i % 200}` },
        creationTimestamp: '2020-01-01T00:00:00Z',
      },
      spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] },
      status: { phase: 'Running', podIP: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, startTime: '2020-01-01T00:00:00Z' },
    });
  }
  return JSON.stringify(list);
}

test('/readyz turns ready only when the receiving threads name flows from the inventory', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nfk-ready-'));
  const sock = createSocket('udp4');
  let c: CollectorProcess | undefined;
  t.after(async () => {
    sock.close();
    if (c) await c.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const inventory = join(dir, 'inventory.json');
  writeFileSync(inventory, bigInventory(40_000));
  c = await startCollectorProcess(['--inventory', inventory, '--workers', '2', '--merge-interval', '50ms'], { startTimeoutMs: 60_000 });
  const col = c;
  await pollUntil(async () => (await col.get('/readyz')).status === 200, 60_000, 5);

  const now = Date.now();
  const { payload } = new IptNetflowExporter({ protocol: 9 }).pack(
    [
      {
        src4: parseIPv4('10.244.1.10'),
        dst4: parseIPv4('10.244.2.20'),
        srcPort: 41000,
        dstPort: 8080,
        proto: 6,
        packets: 3,
        bytes: 700,
        startMs: now - 2000,
        endMs: now - 1000,
      },
    ],
    0,
    now,
  );
  await new Promise<void>((resolve, reject) => sock.send(payload, col.udpPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));

  const body = await pollUntil(async () => {
    const b = (await col.get('/metrics')).body;
    return metricSum(b, 'netflow_connection_count') === 1 ? b : undefined;
  }, 30_000);
  const count = parsePromText(body).filter((s) => s.name === 'netflow_connection_count');
  assert.deepEqual(
    count.map((s) => s.labels),
    [{ srchost: 'web', srcnamespace: 'shop', dsthost: 'svc1', dstnamespace: 'backend' }],
  );
});
