/**
 * The main thread's warm-up (pipeline/warm-exports.ts): before the collector says ready, every
 * export it serves runs over a scratch store shaped like a cluster's, so the first live exports
 * find most of their code compiled. The compile check runs in child processes with --trace-opt
 * and --trace-deopt, as the receiving threads' check does (warm-up-deopt.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bailouts, compiled, traceV8 } from '../support/v8-trace.ts';
import { defaultRunConfig } from '../../src/config/run-options.ts';
import { warmExports } from '../../src/pipeline/warm-exports.ts';
import type { PairStore } from '../../src/aggregate/pair-store.ts';

test('the scratch store has what a cluster has: many namespaces, zone classes, pairs that grow and new ones', async () => {
  const seen: { pairs: number; namespaces: Set<string>; classes: Set<string>; flows: number }[] = [];
  let store: PairStore | undefined;
  const report = await warmExports(defaultRunConfig(), (s) => {
    store = s;
    return () => {
      const namespaces = new Set<string>();
      let flows = 0;
      for (const p of s.pairs) {
        namespaces.add(p.dst.labels.namespace);
        flows += p.flows;
      }
      const bytes = s.zones.bytesByClass();
      const classes = new Set(Object.keys(bytes).filter((c) => bytes[c as keyof typeof bytes] > 0));
      seen.push({ pairs: s.pairs.length, namespaces, classes, flows });
    };
  });
  assert.equal(seen.length, report.rounds);
  assert.ok(store);
  const last = seen.at(-1)!;
  assert.equal(report.storePairs, last.pairs);
  assert.ok(last.pairs >= 1500, `${last.pairs} pairs`);
  assert.ok(last.namespaces.size >= 20, [...last.namespaces].join());
  for (const c of ['cross-zone', 'same-zone', 'internet']) assert.ok(last.classes.has(c), `${c} in ${[...last.classes].join()}`);
  // Each round merges into pairs already there (their counts grow) and adds some.
  for (let r = 1; r < seen.length; r++) {
    assert.ok(seen[r].flows > seen[r - 1].flows);
    assert.ok(seen[r].pairs > seen[r - 1].pairs);
  }
});

const src = (p: string) => JSON.stringify(new URL(`../../src/${p}`, import.meta.url).href);
const SCRIPT = `
import { defaultRunConfig } from ${src('config/run-options.ts')};
import { warmExports } from ${src('pipeline/warm-exports.ts')};
import { exportRound } from ${src('pipeline/exports.ts')};
import { otlpEncodeRound } from ${src('export/otel/otlp.ts')};
import { buildResource } from ${src('export/otel/resource.ts')};
import { MetricsRegistry } from ${src('observe/metrics.ts')};
import { storeFor } from ${src('pipeline/store.ts')};
import { DeltaTable } from ${src('aggregate/delta-table.ts')};
import { dimensionsOf } from ${src('pipeline/build-parts.ts')};
import { FlowRecord } from ${src('decode/record.ts')};
import { internPlace, INTERNET } from ${src('aggregate/zone-class.ts')};
const cfg = { ...defaultRunConfig(), otlpEndpoint: 'http://127.0.0.1:4317', prices: undefined };
const round = exportRound(cfg, { registry: new MetricsRegistry(), resource: buildResource({ clusterName: 'live' }), encodeRound: otlpEncodeRound });
// As in the collector, the live store and its exports exist before the warm-up.
const store = storeFor(cfg);
const live = round(store);
if (process.env.WARM === '1') await warmExports(cfg, round);
console.log('=====LIVE=====');
// Another cluster than the warm-up's: its names, namespaces, zones, ports and sizes.
const table = new DeltaTable({ level: cfg.level, dims: dimensionsOf(cfg), maxRows: 20000, conversations: true });
const ends = [];
const ep = (k) => ({ id: 100000 + k, kind: k % 50 === 0 ? 'external' : 'pod', namespace: 'team-' + (k % 31), name: 'checkout-' + k + '-7d9f8',
  app: 'checkout-' + (k % 700), ownerKind: k % 3 ? 'Deployment' : 'StatefulSet', ownerName: 'checkout-' + (k % 700), nodeName: 'ip-10-0-' + (k % 9) + '-1' });
const eps = Array.from({ length: 2500 }, (_, k) => ep(k));
const zones = [internPlace('eu-west-1a', 'eu-west-1', ''), internPlace('eu-west-1b', 'eu-west-1', ''), internPlace('eu-west-1c', 'eu-west-1', '')];
const rec = new FlowRecord();
for (let r = 0; r < 3; r++) {
  for (let i = 0; i < 6000; i++) {
    const s = eps[(i * 11) % eps.length], d = eps[(i * 17 + 1) % eps.length];
    rec.proto = 6; rec.srcPort = 40000 + (i % 9000); rec.dstPort = [8080, 443, 5432][i % 3];
    rec.bytes = 40 + i * 3 + r; rec.packets = 1 + (i % 40);
    table.add(s, d, i % 2 ? 'src-client' : 'src-server', rec, Date.now(), zones[i % 3], d.kind === 'external' ? INTERNET : zones[(i >> 2) % 3]);
  }
  const b = table.drain();
  store.mergeBatch(b, ends);
  await live();
}
console.log('=====END=====', store.pairs.length);
`;

/** Functions V8 compiled (Maglev or TurboFan) and bailouts, while the first three exports of the live store ran. */
function liveCompiles(warm: boolean): { compiled: number; bailouts: number } {
  const trace = traceV8(SCRIPT, { WARM: warm ? '1' : '0' });
  assert.ok(Number(trace.after('END')) >= 2000, 'the live store is full');
  const lines = trace.between('LIVE', 'END');
  return { compiled: compiled(lines), bailouts: bailouts(lines).length };
}

test('after the warm-up, the first exports of another cluster find their code compiled', { timeout: 120_000 }, () => {
  // Measured: 188 to 215 functions compiled and 31 to 54 bailouts cold; 42 to 48 and 16 to 21 warm.
  // What is left is another cluster's shapes (its attribute sets, its end kinds) met for the first time.
  const cold = liveCompiles(false);
  const warm = liveCompiles(true);
  assert.ok(cold.compiled >= 100, `cold: ${JSON.stringify(cold)}`);
  assert.ok(warm.compiled * 3 <= cold.compiled, `warm ${JSON.stringify(warm)} against cold ${JSON.stringify(cold)}`);
  assert.ok(warm.bailouts * 4 <= cold.bailouts * 3, `warm ${JSON.stringify(warm)} against cold ${JSON.stringify(cold)}`);
});
