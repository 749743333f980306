/**
 * The workload families sum the store's ends per (namespace, app). Several ends can be one
 * workload (with zones or kinds in the end's key), and an end leaves the store when its pairs
 * expire: the workload's counters must not go down meanwhile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { End, PairStore } from '../../src/aggregate/pair-store.ts';
import { ZONE_CLASSES } from '../../src/aggregate/zone-class.ts';
import { workloadTraffic, zoneSamples } from '../../src/export/zone-families.ts';
import { heapAfterGc } from '../support/heap.ts';
import { ZonePrometheusRenderer } from '../../src/export/prometheus/zones.ts';

const N = ZONE_CLASSES.length;

let nextId = 0;
/** An end as the families read it: its id in the store, labels and its sent/received bytes per class code. */
function end(namespace: string, host: string, sent: number, received = 0, id = nextId++): End & { sent: number; received: number } {
  const e = {
    id,
    labels: { namespace, host },
    sent,
    received,
    trafficInto(out: Float64Array, at: number) {
      out.fill(0, at, at + 2 * N);
      out[at] = e.sent;
      out[at + N] = e.received;
      return true;
    },
  };
  return e as unknown as End & { sent: number; received: number };
}

function storeOf(ends: End[]): PairStore {
  return { ends: () => ends.values(), zones: { rows: [] } } as unknown as PairStore;
}

test('a workload whose ends come and go keeps counting up: what a departed end counted stays', () => {
  const a1 = end('shop', 'web', 100, 10);
  const a2 = end('shop', 'web', 50, 5);
  const b = end('shop', 'db', 7);
  const ends: End[] = [a1, a2, b];
  const store = storeOf(ends);
  const web = () => workloadTraffic(store).find((r) => r.app === 'web');
  assert.deepEqual([web()!.sent[0], web()!.received[0]], [150, 15]);
  a1.sent = 120;
  ends.splice(ends.indexOf(a2), 1); // a2's pairs expired: the store freed it
  assert.deepEqual([web()!.sent[0], web()!.received[0]], [170, 15], 'a2 left; its 50 and 5 stay');
  const a3 = end('shop', 'web', 1); // a new end of the same workload (a new zone, a new pod)
  ends.push(a3);
  assert.deepEqual([web()!.sent[0], web()!.received[0]], [171, 15]);
  assert.deepEqual(workloadTraffic(store).find((r) => r.app === 'db')!.sent[0], 7);
  // Every end of it gone: the series goes, as a seed row does when its last pair expires.
  ends.length = 0;
  ends.push(b);
  assert.equal(web(), undefined);
  const samples = zoneSamples(store, undefined).find((f) => f.family.prometheus === 'netflow_workload_traffic_bytes_total')!.samples;
  assert.deepEqual(
    samples.map((s) => s.values[1]),
    ['db'],
  );
});

test("an end that takes a departed end's id: the departed one's counts stay with its workload", () => {
  const a1 = end('shop', 'web', 100, 10);
  const a2 = end('shop', 'web', 50, 5);
  const b = end('shop', 'db', 7);
  const ends: End[] = [a1, a2, b];
  const store = storeOf(ends);
  const row = (app: string) => workloadTraffic(store).find((r) => r.app === app);
  assert.deepEqual([row('web')!.sent[0], row('web')!.received[0]], [150, 15]);
  // a2 left, and before the next collection a new end of another workload got its id.
  ends.splice(ends.indexOf(a2), 1, end('shop', 'db', 3, 0, a2.id));
  assert.deepEqual([row('web')!.sent[0], row('web')!.received[0]], [150, 15], "a2's 50 and 5 stay");
  assert.equal(row('db')!.sent[0], 10);
  // Then a1 leaves too, its id taken by a third web end: web still counts all it ever had.
  ends.splice(ends.indexOf(a1), 1, end('shop', 'web', 1, 0, a1.id));
  assert.deepEqual([row('web')!.sent[0], row('web')!.received[0]], [151, 15]);
});

test('a workload row keeps its label arrays and little else: 4,000 workloads', () => {
  const ends: End[] = [];
  for (let i = 0; i < 4000; i++) ends.push(end(`ns-${i % 9}`, `app-${i}`, 100 + i, 10 + i));
  const store = storeOf(ends);
  const samples = () => zoneSamples(store, undefined)[3].samples.length;
  // Each workload: an egress and an ingress series (an array of four label values each) and its row.
  const before = heapAfterGc();
  assert.equal(samples(), 8000);
  const perWorkload = (heapAfterGc() - before) / 4000;
  // About 500 bytes (the two label arrays are 200 of them); four arrays of sums, a Map of its ends
  // and an array per end with WeakMap entries made it 1,300.
  assert.ok(perWorkload < 800, `${perWorkload.toFixed(0)} bytes per workload`);
});

test("/metrics keeps a series' line head in one arena, not a Buffer each: 8,000 workload series", () => {
  const ends: End[] = [];
  for (let i = 0; i < 4000; i++) ends.push(end(`ns-${i % 9}`, `app-${i}`, 100 + i, 10 + i));
  const store = storeOf(ends);
  const renderer = new ZonePrometheusRenderer(store);
  // The rows and their label arrays first; then what the renderer keeps for its lines.
  assert.equal(zoneSamples(store, undefined)[3].samples.length, 8000);
  const page = () => renderer.render().split('\n').length;
  const before = heapAfterGc();
  assert.equal(page(), 8000 + 2 * 4 + 1);
  const perSeries = (heapAfterGc() - before) / 8000;
  // Its WeakMap entry and its slot: about 50 bytes. A Buffer per series made it 140.
  assert.ok(perSeries < 90, `${perSeries.toFixed(0)} bytes per series`);
  const line = 'netflow_workload_traffic_bytes_total{app="app-7",class="unknown",direction="egress",namespace="ns-7"} 107\n';
  assert.ok(renderer.render().includes(line));
});
