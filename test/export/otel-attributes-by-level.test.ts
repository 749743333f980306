/**
 * Which `k8s.src.*` / `k8s.dst.*` attributes an OTLP point carries depends on --level, as
 * docs/operations.md lists them: namespace only; app adds the name; workload adds type and owner;
 * pod adds the node. --extra-labels kind adds the type at every level.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SumMetricData } from '@opentelemetry/sdk-metrics';
import { PairStore } from '../../src/aggregate/pair-store.ts';
import type { AggregationLevel, Dimensions } from '../../src/aggregate/aggregation-level.ts';
import { StoreMetricProducer } from '../../src/export/otel/producer.ts';
import { ep, rec } from '../aggregate/fixtures.ts';

async function srcKeys(level: AggregationLevel, dims: Dimensions = {}): Promise<string[]> {
  const s = new PairStore({ level, dims });
  const web = ep({ kind: 'pod', namespace: 'shop', name: 'web-1', app: 'web', ownerKind: 'Deployment', ownerName: 'web', nodeName: 'n1' });
  const db = ep({ kind: 'pod', namespace: 'data', name: 'db-0', app: 'db', ownerKind: 'StatefulSet', ownerName: 'db', nodeName: 'n2' });
  s.add(web, db, 'unknown', rec(1, 1), 1_700_000_000_000);
  const m = (await new StoreMetricProducer(s).collect()).resourceMetrics.scopeMetrics[0].metrics[0] as SumMetricData;
  return Object.keys(m.dataPoints[0].attributes)
    .filter((k) => k.startsWith('k8s.src.'))
    .map((k) => k.slice('k8s.src'.length))
    .sort();
}

test('OTLP attributes by --level, as the operations guide lists them', async () => {
  assert.deepEqual(await srcKeys('namespace'), ['.namespace']);
  assert.deepEqual(await srcKeys('app'), ['.name', '.namespace']);
  assert.deepEqual(await srcKeys('workload'), ['.name', '.namespace', '.owner.name', '.owner.type', '.type']);
  assert.deepEqual(await srcKeys('pod'), ['.name', '.namespace', '.node.name', '.owner.name', '.owner.type', '.type']);
  assert.deepEqual(await srcKeys('namespace', { kind: true }), ['.namespace', '.type']);
  assert.deepEqual(await srcKeys('app', { kind: true }), ['.name', '.namespace', '.type']);
});
