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

const N = ZONE_CLASSES.length;

/** An end as the families read it: labels and its sent/received bytes per class code. */
function end(namespace: string, host: string, sent: number, received = 0): End & { sent: number; received: number } {
  const e = {
    labels: { namespace, host },
    sent,
    received,
    traffic() {
      const t = new Array<number>(2 * N).fill(0);
      t[0] = e.sent;
      t[N] = e.received;
      return t;
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
