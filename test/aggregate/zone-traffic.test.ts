/**
 * Zone classes end to end below the socket: an inventory of nodes in two regions and three zones
 * (and one node without a zone), hand-made flows of every class (one reported by both nodes),
 * through the identity index, the record pipeline (with and without the address memo), a
 * receiving thread's delta table and the store's merge, to the zone families on /metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowRecord, type Exporter } from '../../src/decode/record.ts';
import { IdentityIndex } from '../../src/identify/identity-index.ts';
import { networksFromOption } from '../../src/identify/networks.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';
import type { SlimNode, SlimPod } from '../../src/identify/inventory.ts';
import { DeltaTable } from '../../src/aggregate/delta-table.ts';
import { PairStore, type End } from '../../src/aggregate/pair-store.ts';
import { RecordPipeline } from '../../src/pipeline/record-pipeline.ts';
import { ZonePrometheusRenderer } from '../../src/export/prometheus/zones.ts';
import { parsePrices } from '../../src/config/prices.ts';

const T0 = Date.UTC(2026, 11, 1, 12);
const GiB = 2 ** 30;

const NODES: SlimNode[] = [
  { name: 'n1', addresses: ['192.168.1.1'], zone: 'eu-west-1a', region: 'eu-west-1' },
  { name: 'n2', addresses: ['192.168.1.2'], zone: 'eu-west-1a', region: 'eu-west-1' },
  { name: 'n3', addresses: ['192.168.1.3'], zone: 'eu-west-1b', region: 'eu-west-1' },
  { name: 'n4', addresses: ['192.168.1.4'], zone: 'us-east-1a', region: 'us-east-1' },
  { name: 'n5', addresses: ['192.168.1.5'], zone: 'us-east-1b', region: 'us-east-1' },
  // Never labelled: its flows are unknown.
  { name: 'n6', addresses: ['192.168.1.6'] },
];

function pod(name: string, app: string, nodeName: string, ip: string): SlimPod {
  return {
    uid: `uid-${name}`,
    namespace: 'shop',
    name,
    nodeName,
    hostNetwork: false,
    ips: [ip],
    phase: 'Running',
    startMs: T0 - 60_000,
    appLabel: app,
    ownerKind: 'Deployment',
    ownerName: app,
    labels: { app },
    ports: [{ port: 8080, protocol: 'TCP' }],
  };
}

const PODS = [
  pod('web-1', 'web', 'n1', '10.0.1.1'),
  pod('api-1', 'api', 'n1', '10.0.1.2'),
  pod('web-2', 'web', 'n2', '10.0.2.1'),
  pod('db-1', 'db', 'n3', '10.0.3.1'),
  pod('backup-1', 'backup', 'n4', '10.0.4.1'),
  pod('batch-1', 'batch', 'n6', '10.0.6.1'),
];

const PRICES = parsePrices({ currency: 'USD', perGiB: { 'cross-zone': 0.02, 'cross-region': 0.02, internet: 0.09 } }, 'test');

interface Flow {
  src: string;
  dst: string;
  bytes: number;
  exporters: string[];
}

/** One flow per class; web-2 → api-1 crosses nodes and is reported by both. */
const FLOWS: Flow[] = [
  { src: '10.0.1.1', dst: '10.0.1.2', bytes: 1000, exporters: ['192.168.1.1'] }, // same-node
  { src: '10.0.2.1', dst: '10.0.1.2', bytes: 2 * GiB, exporters: ['192.168.1.2', '192.168.1.1'] }, // same-zone, twice
  { src: '10.0.1.2', dst: '10.0.3.1', bytes: 3 * GiB + 12345, exporters: ['192.168.1.1'] }, // cross-zone
  { src: '10.0.3.1', dst: '10.0.4.1', bytes: 4 * GiB, exporters: ['192.168.1.3'] }, // cross-region
  { src: '10.0.1.1', dst: '203.0.113.5', bytes: 5 * GiB + 1, exporters: ['192.168.1.1'] }, // internet (public, unnamed)
  { src: '10.0.1.2', dst: '172.20.1.1', bytes: 6000, exporters: ['192.168.1.1'] }, // external (named, on-prem)
  { src: '10.0.1.1', dst: '10.0.6.1', bytes: 7000, exporters: ['192.168.1.1'] }, // unknown: n6 has no zone
  { src: '10.0.1.1', dst: '10.96.0.10', bytes: 700, exporters: ['192.168.1.1'] }, // unknown: a ClusterIP has no zone
  { src: '192.168.1.3', dst: '192.168.1.5', bytes: 800, exporters: ['192.168.1.3'] }, // node to node: cross-region
  { src: '198.51.100.7', dst: '10.0.1.1', bytes: 9 * GiB, exporters: ['192.168.1.1'] }, // internet, inbound: no cost
];

function setup(memo: boolean) {
  const identity = new IdentityIndex({ now: () => T0, networks: networksFromOption('onprem=172.20.0.0/16;class=external') });
  for (const n of NODES) identity.upsertNode(n);
  for (const p of PODS) identity.upsertPod(p);
  identity.upsertService({
    uid: 's1',
    namespace: 'shop',
    name: 'api',
    clusterIPs: ['10.96.0.10'],
    ports: [{ port: 80, protocol: 'TCP' }],
    targetPorts: [8080],
    selector: { app: 'api' },
  });
  const table = new DeltaTable({ level: 'app' });
  const pipeline = new RecordPipeline(identity, table, 'auto', { memo });
  const store = new PairStore({ level: 'app' });
  const sender: End[] = [];
  const exporters = new Map<string, Exporter>();
  const rec = new FlowRecord();
  const send = (f: Flow): void => {
    for (const address of f.exporters) {
      let exporter = exporters.get(address);
      if (exporter === undefined) exporters.set(address, (exporter = { address, port: 9995, key: `${address}|9995` }));
      rec.exporter = exporter;
      rec.family = 4;
      rec.src4 = parseIPv4(f.src);
      rec.dst4 = parseIPv4(f.dst);
      rec.proto = 6;
      rec.srcPort = 40000;
      rec.dstPort = 8080;
      rec.bytes = f.bytes;
      rec.packets = 10;
      rec.endMs = T0;
      pipeline.sink(rec);
    }
  };
  const merge = (): void => store.mergeBatch(table.drain(), sender);
  return { identity, pipeline, store, send, merge };
}

/** The sample lines of a family, label sets as written. */
function samples(text: string, family: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${family}{`)) continue;
    const close = line.lastIndexOf('}');
    out.set(line.slice(family.length + 1, close), line.slice(close + 2));
  }
  return out;
}

for (const memo of [true, false]) {
  test(`every class from hand-made flows: bytes per class, zone pair and app, and cost to the last digit (memo ${memo ? 'on' : 'off'})`, () => {
    const { store, send, merge, pipeline } = setup(memo);
    // Twice over: the second round is named from the memo when it is on.
    for (let round = 0; round < 2; round++) {
      for (const f of FLOWS) send(f);
      merge();
    }
    assert.equal(pipeline.counters.dedupSkipped, 2, 'the flow both nodes reported is counted once');
    if (memo) assert.ok(pipeline.counters.remembered >= FLOWS.length, 'the second round came from the memo');

    const byClass = store.zones.bytesByClass();
    assert.deepEqual(byClass, {
      'same-node': 2 * 1000,
      'same-zone': 2 * 2 * GiB,
      'cross-zone': 2 * (3 * GiB + 12345),
      'cross-region': 2 * (4 * GiB + 800),
      internet: 2 * (5 * GiB + 1) + 2 * 9 * GiB,
      external: 2 * 6000,
      unknown: 2 * (7000 + 700),
    });

    const text = new ZonePrometheusRenderer(store, PRICES).render();
    assert.deepEqual(Object.fromEntries(samples(text, 'netflow_zone_traffic_bytes_total')), {
      'class="same-node",dst_zone="eu-west-1a",src_zone="eu-west-1a"': '2000',
      'class="same-zone",dst_zone="eu-west-1a",src_zone="eu-west-1a"': String(4 * GiB),
      'class="cross-zone",dst_zone="eu-west-1b",src_zone="eu-west-1a"': String(2 * (3 * GiB + 12345)),
      'class="cross-region",dst_zone="us-east-1a",src_zone="eu-west-1b"': String(8 * GiB),
      'class="cross-region",dst_zone="us-east-1b",src_zone="eu-west-1b"': '1600',
      'class="internet",dst_zone="internet",src_zone="eu-west-1a"': String(2 * (5 * GiB + 1)),
      'class="internet",dst_zone="eu-west-1a",src_zone="internet"': String(18 * GiB),
      'class="external",dst_zone="external",src_zone="eu-west-1a"': '12000',
      'class="unknown",dst_zone="unknown",src_zone="eu-west-1a"': '15400',
    });
    assert.equal(
      samples(text, 'netflow_zone_traffic_flows_total').get('class="same-zone",dst_zone="eu-west-1a",src_zone="eu-west-1a"'),
      '2',
    );
    assert.equal(
      samples(text, 'netflow_zone_traffic_packets_total').get('class="same-zone",dst_zone="eu-west-1a",src_zone="eu-west-1a"'),
      '20',
    );

    const wl = Object.fromEntries(samples(text, 'netflow_workload_traffic_bytes_total'));
    assert.equal(wl['app="web",class="same-node",direction="egress",namespace="shop"'], '2000');
    assert.equal(wl['app="web",class="same-zone",direction="egress",namespace="shop"'], String(4 * GiB));
    assert.equal(wl['app="web",class="internet",direction="egress",namespace="shop"'], String(2 * (5 * GiB + 1)));
    assert.equal(wl['app="web",class="unknown",direction="egress",namespace="shop"'], '15400');
    assert.equal(wl['app="api",class="same-zone",direction="ingress",namespace="shop"'], String(4 * GiB));
    assert.equal(wl['app="api",class="cross-zone",direction="egress",namespace="shop"'], String(2 * (3 * GiB + 12345)));
    assert.equal(wl['app="api",class="external",direction="egress",namespace="shop"'], '12000');
    assert.equal(wl['app="db",class="cross-zone",direction="ingress",namespace="shop"'], String(2 * (3 * GiB + 12345)));
    assert.equal(wl['app="db",class="cross-region",direction="egress",namespace="shop"'], String(8 * GiB));
    assert.equal(wl['app="backup",class="cross-region",direction="ingress",namespace="shop"'], String(8 * GiB));
    assert.equal(wl['app="n3",class="cross-region",direction="egress",namespace="node"'], '1600');

    assert.equal(wl['app="unknown",class="internet",direction="egress",namespace="unknown"'], String(18 * GiB));
    assert.equal(wl['app="web",class="internet",direction="ingress",namespace="shop"'], String(18 * GiB));
    // Sender pays (an outside sender's bytes are inbound, not billed); only priced classes have a series: 2 × (3 GiB + 12345 B) at 0.02, 8 GiB at 0.02, 2 × (5 GiB + 1 B) at 0.09.
    assert.deepEqual(Object.fromEntries(samples(text, 'netflow_workload_traffic_cost_total')), {
      'app="web",class="internet",currency="USD",direction="egress",namespace="shop"': '0.900000000167638',
      'app="api",class="cross-zone",currency="USD",direction="egress",namespace="shop"': '0.12000045988708735',
      'app="db",class="cross-region",currency="USD",direction="egress",namespace="shop"': '0.16',
      'app="n3",class="cross-region",currency="USD",direction="egress",namespace="node"': '2.9802322387695312e-8',
    });
    // Every byte counted lands in exactly one class.
    const total = Object.values(byClass).reduce((a, b) => a + b, 0);
    assert.equal(total, store.totals().bytes);
  });
}

test('a node that loses its zone label: its flows move to unknown from then on, none lost', () => {
  const { identity, store, send, merge } = setup(true);
  const crossZone = FLOWS[2];
  send(crossZone);
  merge();
  identity.upsertNode({ name: 'n3', addresses: ['192.168.1.3'] });
  send(crossZone);
  send(FLOWS[3]); // from n3's pod: unknown too now
  merge();
  const byClass = store.zones.bytesByClass();
  assert.equal(byClass['cross-zone'], crossZone.bytes);
  assert.equal(byClass.unknown, crossZone.bytes + FLOWS[3].bytes);
  assert.equal(byClass['cross-region'], 0);
  assert.equal(store.totals().bytes, 2 * crossZone.bytes + FLOWS[3].bytes);
  // Labelled again: back to its class.
  identity.upsertNode(NODES[2]);
  send(crossZone);
  merge();
  assert.equal(store.zones.bytesByClass()['cross-zone'], 2 * crossZone.bytes);
});

test('a pod whose node object comes after it takes the zone once the node arrives', () => {
  const identity = new IdentityIndex({ now: () => T0 });
  identity.upsertPod(PODS[0]);
  const web = identity.lookup('10.0.1.1', { t: T0 });
  assert.equal(identity.placeOf(web, parseIPv4('10.0.1.1'), null).zone, '');
  const before = identity.generation;
  identity.upsertNode(NODES[0]);
  assert.ok(identity.generation > before, "the pod's address is listed as changed");
  assert.deepEqual({ ...identity.placeOf(web, parseIPv4('10.0.1.1'), null) }, { zone: 'eu-west-1a', region: 'eu-west-1', outside: '' });
});

test('--extra-labels zone: the seed families get srczone and dstzone; OTLP gets src.zone and dst.zone', async () => {
  const { PrometheusTextRenderer } = await import('../../src/export/prometheus/text.ts');
  const { pairAttributes } = await import('../../src/export/otel/producer.ts');
  const identity = new IdentityIndex({ now: () => T0 });
  for (const n of NODES) identity.upsertNode(n);
  for (const p of PODS) identity.upsertPod(p);
  const table = new DeltaTable({ level: 'app' });
  const pipeline = new RecordPipeline(identity, table, 'off');
  const store = new PairStore({ level: 'app', dims: { zone: true } });
  const rec = new FlowRecord();
  rec.exporter = { address: '192.0.2.1', port: 9995, key: '192.0.2.1|9995' };
  // web → api from both web pods: one same-node (n1 → n1), one same-zone (n2 → n1); and web → db across zones.
  for (const [src, dst, bytes] of [
    ['10.0.1.1', '10.0.1.2', 100],
    ['10.0.2.1', '10.0.1.2', 200],
    ['10.0.1.1', '10.0.3.1', 400],
  ] as const) {
    Object.assign(rec, {
      family: 4,
      src4: parseIPv4(src),
      dst4: parseIPv4(dst),
      proto: 6,
      srcPort: 40000,
      dstPort: 8080,
      bytes,
      packets: 1,
      endMs: T0,
    });
    pipeline.sink(rec);
  }
  store.mergeBatch(table.drain(), []);
  const text = new PrometheusTextRenderer(store, { labels: { zone: true } }).render();
  const bytes = Object.fromEntries(samples(text, 'netflow_connection_bytes'));
  assert.deepEqual(bytes, {
    'dsthost="api",dstnamespace="shop",dstzone="eu-west-1a",srchost="web",srcnamespace="shop",srczone="eu-west-1a"': '300',
    'dsthost="db",dstnamespace="shop",dstzone="eu-west-1b",srchost="web",srcnamespace="shop",srczone="eu-west-1a"': '400',
  });
  const attrs = store.pairs.map((p) => pairAttributes(store, p));
  assert.ok(attrs.some((a) => a['src.zone'] === 'eu-west-1a' && a['dst.zone'] === 'eu-west-1b'));
  // Without the dimension the labels are the seed's four.
  const plain = new PairStore({ level: 'app' });
  assert.ok(!new PrometheusTextRenderer(plain).render().includes('zone'));
});

test('--extra-labels zone: places that label the same zones count into one pair (one OTLP point per attribute set)', async () => {
  const { pairAttributes } = await import('../../src/export/otel/producer.ts');
  const { ep, rec } = await import('./fixtures.ts');
  const { internPlace, NOWHERE } = await import('../../src/aggregate/zone-class.ts');
  const store = new PairStore({ level: 'app', dims: { zone: true } });
  const web = ep({ app: 'web', nodeName: 'n1' });
  const api = ep({ app: 'api', nodeName: 'n2' });
  // A node labelled with its zone and region, and one with the same zone but no region (labels being rolled out).
  store.add(web, api, 'unknown', rec(100, 1), T0, internPlace('eu-west-1a', 'eu-west-1', ''), NOWHERE);
  store.add(web, api, 'unknown', rec(200, 1), T0, internPlace('eu-west-1a', '', ''), NOWHERE);
  assert.equal(store.pairs.length, 1);
  assert.equal(store.pairs[0].bytes, 300);
  assert.deepEqual(store.zonesOf(store.pairs[0]), ['eu-west-1a', 'unknown']);
  assert.equal(pairAttributes(store, store.pairs[0])['src.zone'], 'eu-west-1a');
});

test('one renderer kept from scrape to scrape: each page has the new counts, and each series keeps its labels and attributes objects', async () => {
  const { zoneSeries } = await import('../../src/export/otel/zone-series.ts');
  const { store, send, merge } = setup(true);
  const renderer = new ZonePrometheusRenderer(store, PRICES);
  for (const f of FLOWS) send(f);
  merge();
  const first = renderer.render();
  const before = zoneSeries(store, PRICES);
  for (const f of FLOWS) send(f);
  merge();
  const second = renderer.render();
  const after = zoneSeries(store, PRICES);
  // The kept renderer writes what a new one writes, family by family.
  assert.equal(second, new ZonePrometheusRenderer(store, PRICES).render());
  assert.notEqual(second, first);
  for (const family of ['netflow_zone_traffic_bytes_total', 'netflow_zone_traffic_packets_total', 'netflow_zone_traffic_flows_total']) {
    const a = samples(first, family);
    const b = samples(second, family);
    assert.deepEqual([...b.keys()], [...a.keys()], `${family}: the same series`);
    for (const [k, v] of a) assert.equal(BigInt(b.get(k)!), 2n * BigInt(v), `${family}{${k}} doubled`);
  }
  // The same attributes object per series, so the OTLP encoder's bytes for it are reused (otlp-encode.ts).
  for (let f = 0; f < before.length; f++) {
    assert.equal(after[f].points.length, before[f].points.length);
    for (let i = 0; i < before[f].points.length; i++) assert.equal(after[f].points[i].attributes, before[f].points[i].attributes);
  }
});
