/**
 * Pod churn through the real watch path, run in a child process with --expose-gc so its heap can
 * be measured: rounds of pods created (reusing a pool of IPs), half of them completed, then all
 * deleted, against the fake API server, into the IdentityIndex. Prints one JSON line with the
 * index's counts after every round and the heap after the first and the last round.
 *
 * Usage: node --expose-gc test/support/kube-soak.ts ROUNDS BATCH
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pod } from './kube-objects.ts';
import { startHarness, waitFor } from './kube-harness.ts';

const rounds = Number(process.argv[2] ?? 10);
const batch = Number(process.argv[3] ?? 200);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

async function settledHeap(): Promise<number> {
  // Twice, with a turn between, so FinalizationRegistry callbacks (endpoint interning) run.
  gc!();
  await sleep(20);
  gc!();
  return process.memoryUsage().heapUsed;
}

const h = await startHarness({
  // Only late flows need deleted pods' history; here it is pruned on the next change.
  index: { retentionMs: 0 },
  // A short history (about half a round), so the server's own memory is flat from the first round on.
  server: { historyLimit: 250 },
  seed: (s) => {
    for (let i = 0; i < 50; i++) s.create('pods', pod({ name: `steady-${i}`, ip: `10.2.0.${i + 1}`, labels: { app: 'steady' } }));
  },
});
const perRound: { pods: number; retained: number; ipv4: number; endpoints: number; cached: number }[] = [];
let heapAfterFirst = 0;
let created = 0;
try {
  await h.source.ready;
  for (let r = 0; r < rounds; r++) {
    const names: string[] = [];
    for (let i = 0; i < batch; i++) {
      const name = `churn-${r}-${i}`;
      names.push(name);
      // A pool of `batch` addresses: every round reuses the previous round's IPs.
      h.server.create(
        'pods',
        pod({
          name,
          namespace: `ns-${i % 5}`,
          ip: `10.3.${i >> 8}.${i & 255}`,
          labels: { app: `churn-${i % 20}` },
          owner: { kind: 'ReplicaSet', name: `churn-${i % 20}-abc12` },
        }),
      );
      created++;
    }
    await waitFor(() => h.index.stats.pods === 50 + batch, `round ${r} creations`, 30_000);
    for (let i = 0; i < batch; i += 2) h.server.completePod(`ns-${i % 5}`, names[i]);
    for (let i = 0; i < batch; i++) h.server.remove('pods', `ns-${i % 5}`, names[i]);
    await waitFor(() => h.index.stats.pods === 50, `round ${r} deletions`, 30_000);
    // One more change so the index prunes the last deletions.
    h.server.update('pods', 'default', 'steady-0', (p) => {
      (p.metadata.labels as Record<string, string>).round = String(r);
    });
    await waitFor(() => h.index.stats.podsRetained === 0, `round ${r} prune`, 30_000);
    const heap = r === 0 || r === rounds - 1 ? await settledHeap() : 0;
    if (r === 0) heapAfterFirst = heap;
    const st = h.index.stats;
    perRound.push({
      pods: st.pods,
      retained: st.podsRetained,
      ipv4: st.ipv4Addresses,
      endpoints: st.endpoints,
      cached: h.source.stats().kinds.pods.objects,
    });
  }
  const heapAfterLast = await settledHeap();
  process.stdout.write(JSON.stringify({ created, perRound, heapAfterFirst, heapAfterLast }) + '\n');
} finally {
  await h.close();
}
