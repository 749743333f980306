import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldCount } from '../../src/aggregate/dedup.ts';

const pod = (nodeName: string) => ({ kind: 'pod' as const, nodeName });
const ext = { kind: 'external' as const, nodeName: '' };

test('off always counts', () => {
  assert.equal(shouldCount('off', 'n2', pod('n1'), pod('n2')), true);
});

test('auto skips the destination node report of a pod-to-pod flow across nodes', () => {
  assert.equal(shouldCount('auto', 'n2', pod('n1'), pod('n2')), false);
  // The source node's exporter reports the same flow: that one counts.
  assert.equal(shouldCount('auto', 'n1', pod('n1'), pod('n2')), true);
});

test('auto counts when in doubt', () => {
  assert.equal(shouldCount('auto', undefined, pod('n1'), pod('n2')), true, 'exporter not a known node');
  assert.equal(shouldCount('auto', '', pod('n1'), pod('n2')), true);
  assert.equal(shouldCount('auto', 'n2', pod('n2'), pod('n2')), true, 'same node: only one exporter sees it');
  assert.equal(shouldCount('auto', 'n2', ext, pod('n2')), true, 'source outside the cluster');
  assert.equal(shouldCount('auto', 'n2', { kind: 'node', nodeName: 'n1' }, pod('n2')), true, 'source is not a pod');
  assert.equal(shouldCount('auto', 'n2', pod(''), pod('n2')), true, 'source node unknown');
  assert.equal(shouldCount('auto', 'n3', pod('n1'), pod('n2')), true, 'exporter is neither end');
});

test('auto respects which nodes are known', () => {
  const known = new Set(['n1', 'n2']);
  const isKnown = (n: string) => known.has(n);
  assert.equal(shouldCount('auto', 'n2', pod('n1'), pod('n2'), isKnown), false);
  assert.equal(shouldCount('auto', 'n2', pod('n9'), pod('n2'), isKnown), true, 'source node has no exporter we know');
  assert.equal(shouldCount('auto', 'n9', pod('n1'), { nodeName: 'n9' }, isKnown), true, 'exporter not a known node');
});
