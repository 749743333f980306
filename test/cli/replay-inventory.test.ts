/**
 * `replay --inventory`: both ends named as the collector names them, and `--format prometheus`
 * printing the exposition the collector would serve for the capture, checked against the
 * capture's own ground truth (k8s-basic.expected-flows.csv summed per pair).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA, NAMES, expectedPairs, pairKey } from '../e2e/fixtures/k8s-basic.ts';
import { parsePromText } from '../support/run-collector.ts';
import { runCli } from '../support/cli.ts';

const INVENTORY = new URL('../e2e/fixtures/k8s-basic-inventory.json', import.meta.url).pathname;
const V9 = join(DATA, 'softflowd-v9-basic.pcap');
const IPFIX = join(DATA, 'softflowd-v10-basic.pcap');

const replay = (args: string[]) => runCli(['replay', ...args]);

interface Named {
  kind: string;
  namespace: string;
  name: string;
  app: string;
  ownerKind: string;
  ownerName: string;
  node: string;
}

test('replay --inventory names both ends of every record and says which side is the client', async () => {
  const r = await replay(['--inventory', INVENTORY, V9]);
  assert.equal(r.code, 0, r.stderr);
  const recs = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(recs.length, 19);
  for (const rec of recs) {
    const src = rec.src as Named;
    const dst = rec.dst as Named;
    assert.deepEqual([src.namespace, src.app], NAMES[rec.srcAddr as string], `src of ${rec.srcAddr}`);
    assert.deepEqual([dst.namespace, dst.app], NAMES[rec.dstAddr as string], `dst of ${rec.dstAddr}`);
    assert.equal(src.kind, 'pod');
    assert.ok(src.node === 'node-a' || src.node === 'node-b');
    // Servers here listen on 8080 (a declared containerPort), 9125 (declared) and 53 (well known);
    // ICMP has no ports, so its role stays unknown rather than guessed.
    const serverPort = rec.dstPort === 8080 || rec.dstPort === 53 || rec.dstPort === 9125;
    const clientPort = rec.srcPort === 8080 || rec.srcPort === 53;
    const expected = rec.proto === 1 ? 'unknown' : serverPort ? 'src-client' : clientPort ? 'src-server' : 'unknown';
    assert.equal(rec.role, expected, `${rec.srcAddr}:${rec.srcPort} -> ${rec.dstAddr}:${rec.dstPort}`);
  }
  const web = recs.find((x) => x.srcAddr === '10.244.1.10')!.src as Named;
  assert.deepEqual(
    { ...web },
    {
      kind: 'pod',
      namespace: 'shop',
      name: 'web-7d4b9c-aaaaa',
      app: 'web',
      ownerKind: web.ownerKind,
      ownerName: web.ownerName,
      node: 'node-a',
    },
  );
});

for (const [what, file] of [
  ['v9', V9],
  ['IPFIX', IPFIX],
] as const) {
  test(`replay --format prometheus serves the seed's families with the capture's exact totals per pair (${what})`, async () => {
    const r = await replay(['--inventory', INVENTORY, '--format', 'prometheus', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# HELP netflow_connection_count /m);
    assert.match(r.stdout, /^# TYPE netflow_connection_bytes counter$/m);
    const got = new Map<string, { flows: number; bytes: number; packets: number }>();
    // The zone families follow, as on the live /metrics: the same totals, by zone pair and by workload.
    const zones: Record<string, number> = { flows: 0, bytes: 0, packets: 0, egress: 0, ingress: 0 };
    for (const s of parsePromText(r.stdout)) {
      const zone = /^netflow_zone_traffic_(flows|bytes|packets)_total$/.exec(s.name);
      if (zone) {
        zones[zone[1]] += s.value;
        continue;
      }
      if (s.name === 'netflow_workload_traffic_bytes_total') {
        zones[s.labels.direction] += s.value;
        continue;
      }
      assert.deepEqual(Object.keys(s.labels).sort(), ['dsthost', 'dstnamespace', 'srchost', 'srcnamespace']);
      const k = pairKey(s.labels.srcnamespace, s.labels.srchost, s.labels.dstnamespace, s.labels.dsthost);
      const t = got.get(k) ?? { flows: 0, bytes: 0, packets: 0 };
      if (s.name === 'netflow_connection_count') t.flows += s.value;
      else if (s.name === 'netflow_connection_bytes') t.bytes += s.value;
      else if (s.name === 'netflow_connection_packets') t.packets += s.value;
      else assert.fail(`unexpected family ${s.name}`);
      got.set(k, t);
    }
    assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...expectedPairs()].sort()));
    const total = { flows: 0, bytes: 0, packets: 0 };
    for (const t of expectedPairs().values()) for (const k of ['flows', 'bytes', 'packets'] as const) total[k] += t[k];
    assert.deepEqual(zones, { ...total, egress: total.bytes, ingress: total.bytes });
  });
}

test('replay --format prometheus without an inventory counts every flow as unknown to unknown', async () => {
  const r = await replay(['--format', 'prometheus', V9]);
  assert.equal(r.code, 0, r.stderr);
  const series = parsePromText(r.stdout);
  const count = series.filter((s) => s.name === 'netflow_connection_count');
  assert.deepEqual(
    count.map((s) => s.labels),
    [{ srchost: 'unknown', srcnamespace: 'unknown', dsthost: 'unknown', dstnamespace: 'unknown' }],
  );
  assert.equal(count[0].value, 19);
  assert.equal(series.find((s) => s.name === 'netflow_connection_bytes')!.value, 412219);
});

test('replay --inventory with a broken file names the file and exits 1 before any output', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfk-replay-inv-'));
  try {
    const bad = join(dir, 'inventory.json');
    writeFileSync(bad, '{"kind": "List", "items": [');
    const r = await replay(['--inventory', bad, V9]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(bad), r.stderr);
    const missing = await replay(['--inventory', join(dir, 'nope.json'), V9]);
    assert.equal(missing.code, 1);
    assert.ok(missing.stderr.includes('nope.json'), missing.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay rejects an unknown --level naming the field', async () => {
  const r = await replay(['--level', 'galaxy', V9]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /level/);
});
