/**
 * Zone classes over real UDP through `netflow-k8s run` (two receiving threads): an inventory of
 * six nodes in two regions × three zones (node addresses are the exporters' loopback addresses, so
 * dedup knows who reports), hand-made flows of every class, one reported by both its nodes. Bytes
 * per class, zone pair and app, and cost to the last digit, on /metrics. Then a node loses its
 * zone label (the inventory file is rewritten): its flows go to `unknown`, and none is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollectorProcess, pollUntil, metricSum, type CollectorProcess } from '../support/run-collector.ts';
import { IptNetflowExporter, type IptFlow } from '../../src/generate/ipt-netflow.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';

const ZONES = [
  ['eu-west-1a', 'eu-west-1'],
  ['eu-west-1b', 'eu-west-1'],
  ['eu-west-1c', 'eu-west-1'],
  ['us-east-1a', 'us-east-1'],
  ['us-east-1b', 'us-east-1'],
  ['us-east-1c', 'us-east-1'],
];
const GiB = 2 ** 30;

function inventory(unlabelled: string[] = []): string {
  const items: unknown[] = [];
  ZONES.forEach(([zone, region], i) => {
    const name = `node-${i + 1}`;
    const labels = unlabelled.includes(name) ? {} : { 'topology.kubernetes.io/zone': zone, 'topology.kubernetes.io/region': region };
    items.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, uid: `n${i}`, labels },
      status: { addresses: [{ type: 'InternalIP', address: `127.0.0.${i + 1}` }] },
    });
  });
  const pod = (name: string, app: string, node: number, ip: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, labels: { app }, creationTimestamp: '2020-01-01T00:00:00Z' },
    spec: { nodeName: `node-${node}`, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], startTime: '2020-01-01T00:00:00Z' },
  });
  items.push(
    pod('web-1', 'web', 1, '10.244.1.10'),
    pod('api-1', 'api', 1, '10.244.1.11'),
    pod('api-2', 'api', 2, '10.244.2.10'),
    pod('db-1', 'db', 3, '10.244.3.10'),
    pod('backup-1', 'backup', 4, '10.244.4.10'),
  );
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

async function udp(host: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, host, () => resolve());
  });
  return s;
}

const flow = (src: string, dst: string, bytes: number, now: number): IptFlow => ({
  src4: parseIPv4(src),
  dst4: parseIPv4(dst),
  srcPort: 41000,
  dstPort: 8080,
  proto: 6,
  packets: 10,
  bytes,
  startMs: now - 3000,
  endMs: now - 1000,
});

test('run: every zone class over UDP, counted once, priced to the last digit; a node that loses its zone label', {
  timeout: 120_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'run-zones-'));
  const socks = new Map<number, Socket>();
  let c: CollectorProcess | undefined;
  t.after(async () => {
    for (const s of socks.values()) s.close();
    await c?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const inv = join(dir, 'inventory.json');
  writeFileSync(inv, inventory());
  const prices = join(dir, 'prices.yaml');
  writeFileSync(prices, 'currency: EUR\nperGiB:\n  cross-zone: 0.01\n  cross-region: 0.02\n  internet: 0.05\n');
  c = await startCollectorProcess([
    '--inventory',
    inv,
    '--prices',
    prices,
    '--networks',
    'onprem=172.20.0.0/16',
    '--workers',
    '2',
    '--merge-interval',
    '100ms',
  ]);
  for (let n = 1; n <= 6; n++) socks.set(n, await udp(`127.0.0.${n}`));
  const exporters = new Map<number, IptNetflowExporter>();
  const send = async (node: number, flows: IptFlow[]): Promise<void> => {
    let e = exporters.get(node);
    if (!e) exporters.set(node, (e = new IptNetflowExporter({ protocol: 9 })));
    const payload = e.pack(flows, 0, Date.now()).payload;
    await new Promise<void>((res, rej) => socks.get(node)!.send(payload, c!.udpPort, '127.0.0.1', (err) => (err ? rej(err) : res())));
  };
  const now = Date.now();
  // Each node's exporter reports what its pods send; api-2 → web-1 crosses zones and both node-2 and node-1 report it.
  await send(1, [
    flow('10.244.1.10', '10.244.1.11', 1000, now), // same-node
    flow('10.244.1.11', '10.244.3.10', 3 * GiB + 7, now), // cross-zone (1a → 1c)
    flow('10.244.1.10', '203.0.113.9', 2.5 * GiB, now), // internet
    flow('10.244.1.11', '172.20.0.5', 6000, now), // external (named)
    flow('10.244.1.10', '10.96.0.10', 700, now), // external: a private address nobody names
  ]);
  const both = flow('10.244.2.10', '10.244.1.10', 2 * GiB, now); // cross-zone (1b → 1a), reported by both nodes
  await send(2, [both]);
  await send(1, [both]);
  // ipt-netflow's byte counters are 32 bits: every flow here stays under 4 GiB.
  await send(3, [flow('10.244.3.10', '10.244.4.10', 3 * GiB, now)]); // cross-region (1c → us-east-1a)

  const body = await pollUntil(async () => {
    const m = (await c!.get('/metrics')).body;
    return metricSum(m, 'netflow_k8s_flow_records_total') === 8 && metricSum(m, 'netflow_zone_traffic_flows_total') === 7 ? m : undefined;
  }, 30_000);
  const zone = (labels: Record<string, string>) => metricSum(body, 'netflow_zone_traffic_bytes_total', labels);
  assert.equal(metricSum(body, 'netflow_k8s_dedup_skipped_total'), 1, 'the flow both nodes reported is counted once');
  assert.equal(zone({ class: 'same-node' }), 1000);
  assert.equal(zone({ class: 'cross-zone' }), 5 * GiB + 7);
  assert.equal(zone({ class: 'cross-zone', src_zone: 'eu-west-1a', dst_zone: 'eu-west-1c' }), 3 * GiB + 7);
  assert.equal(zone({ class: 'cross-zone', src_zone: 'eu-west-1b', dst_zone: 'eu-west-1a' }), 2 * GiB);
  assert.equal(zone({ class: 'cross-region', src_zone: 'eu-west-1c', dst_zone: 'us-east-1a' }), 3 * GiB);
  assert.equal(zone({ class: 'internet', dst_zone: 'internet' }), 2.5 * GiB);
  // The named network and the unnamed private address are both outside the cluster.
  assert.equal(zone({ class: 'external', dst_zone: 'external' }), 6700);
  const wl = (labels: Record<string, string>) => metricSum(body, 'netflow_workload_traffic_bytes_total', { namespace: 'shop', ...labels });
  assert.equal(wl({ app: 'api', class: 'cross-zone', direction: 'egress' }), 5 * GiB + 7);
  assert.equal(wl({ app: 'web', class: 'cross-zone', direction: 'ingress' }), 2 * GiB);
  assert.equal(wl({ app: 'db', class: 'cross-region', direction: 'egress' }), 3 * GiB);
  // Cost, as the page writes it: (5 GiB + 7 B) at 0.01, 3 GiB at 0.02, 2.5 GiB at 0.05.
  const line = (app: string, cls: string) =>
    body
      .split('\n')
      .find((l) =>
        l.startsWith(`netflow_workload_traffic_cost_total{app="${app}",class="${cls}",currency="EUR",direction="egress",namespace="shop"}`),
      )
      ?.split(' ')[1];
  assert.equal(line('api', 'cross-zone'), '0.05000000006519258');
  assert.equal(line('db', 'cross-region'), '0.06');
  assert.equal(line('web', 'internet'), '0.125');
  assert.equal(line('web', 'same-node'), undefined, 'no price, no cost series');

  // node-3 loses its zone label: db's flows are unknown from then on (flows sent before the reload
  // took effect keep their class); nothing is lost.
  writeFileSync(inv, inventory(['node-3']));
  let sent = 0;
  const after = await pollUntil(async () => {
    const m = (await c!.get('/metrics')).body;
    // One flow at a time: the next goes once the last one is counted.
    if (metricSum(m, 'netflow_k8s_flow_records_total') !== 8 + sent) return undefined;
    if (metricSum(m, 'netflow_zone_traffic_bytes_total', { class: 'unknown', src_zone: 'unknown', dst_zone: 'us-east-1a' }) > 0) return m;
    await send(3, [flow('10.244.3.10', '10.244.4.10', 1234, Date.now())]);
    sent++;
    return undefined;
  }, 30_000);
  assert.equal(metricSum(after, 'netflow_zone_traffic_flows_total'), 7 + sent, 'every record but the duplicate has a class');
  const crossRegion = metricSum(after, 'netflow_zone_traffic_bytes_total', { class: 'cross-region' });
  const unknown = metricSum(after, 'netflow_zone_traffic_bytes_total', { class: 'unknown', src_zone: 'unknown', dst_zone: 'us-east-1a' });
  assert.equal(crossRegion + unknown, 3 * GiB + sent * 1234, 'no byte lost');
  assert.equal((crossRegion - 3 * GiB) % 1234, 0, 'earlier counts keep their class');
});
