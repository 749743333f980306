import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldCount, shouldCountNumbered } from '../../src/aggregate/dedup.ts';

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

test('the numbered form decides as shouldCount does, for every combination', () => {
  const names = ['', 'n1', 'n2', 'n3'];
  const id = (n: string) => names.indexOf(n);
  let skipped = 0;
  for (const exporter of [undefined, ...names]) {
    for (const kind of ['pod', 'node', 'external', 'service', 'unknown'] as const) {
      for (const srcNode of names) {
        for (const dstNode of names) {
          const want = shouldCount('auto', exporter, { kind, nodeName: srcNode }, { nodeName: dstNode });
          const got = shouldCountNumbered(id(exporter ?? ''), kind === 'pod' ? id(srcNode) : 0, id(dstNode));
          assert.equal(got, want, `exporter ${exporter}, src ${kind} on '${srcNode}', dst on '${dstNode}'`);
          if (!want) skipped++;
        }
      }
    }
  }
  assert.ok(skipped > 0);
});
