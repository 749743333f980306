/**
 * A soak of pod churn through the real watch path (test/support/kube-soak.ts, in a child process
 * with --expose-gc): 4,000 pods created, half completed, all deleted, reusing one pool of IPs.
 * The index's counts must come back to the steady state after every round, and the heap must
 * not grow with the number of pods that came and went.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';

const SOAK = fileURLToPath(new URL('../support/kube-soak.ts', import.meta.url));

interface SoakResult {
  created: number;
  perRound: { pods: number; retained: number; ipv4: number; endpoints: number; cached: number }[];
  heapAfterFirst: number;
  heapAfterLast: number;
}

test('thousands of pods created and deleted through the watch: the index stays flat', async () => {
  const rounds = 20;
  const batch = 200;
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', SOAK, String(rounds), String(batch)], {
    timeout: 120_000,
  });
  const r = JSON.parse(stdout) as SoakResult;
  assert.equal(r.created, rounds * batch);
  assert.equal(r.perRound.length, rounds);
  for (const [i, round] of r.perRound.entries()) {
    assert.deepEqual(
      { pods: round.pods, retained: round.retained, ipv4: round.ipv4, cached: round.cached },
      { pods: 50, retained: 0, ipv4: 50, cached: 50 },
      `round ${i}`,
    );
  }
  // Loose on purpose (JIT code, TLS buffers): what it catches is memory per pod that came and
  // went. 3,800 pods after the first round leaking even 1.3 KB each would exceed it.
  const growth = r.heapAfterLast - r.heapAfterFirst;
  assert.ok(growth < 5 * 1024 * 1024, `heap grew ${(growth / 1048576).toFixed(1)} MiB over ${rounds - 1} rounds`);
});
