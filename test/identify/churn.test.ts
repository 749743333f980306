import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IdentityIndex, UNKNOWN_ENDPOINT } from '../../src/identify/identity-index.ts';
import { MIN, T0, pod } from './helpers.ts';

test('churn soak: thousands of pods created and deleted over a reused address pool; every flow lands right and the index stays flat', () => {
  let now = T0;
  const retentionMs = 60 * MIN;
  const idx = new IdentityIndex({ now: () => now, retentionMs });
  const pool = 512;
  const holder: ({ uid: string; name: string; start: number } | undefined)[] = new Array(pool).fill(undefined);
  const history: { ip: string; name: string; start: number; end: number }[] = [];
  const sizes: { ipv4: number; tracked: number }[] = [];
  let created = 0;
  for (let step = 0; step < 20_000; step++) {
    now += 2000;
    const slot = (step * 7919) % pool;
    const ip = `10.250.${slot >> 8}.${slot & 255}`;
    const cur = holder[slot];
    if (cur) {
      idx.deletePod(cur.uid, now);
      history.push({ ip, name: cur.name, start: cur.start, end: now });
      holder[slot] = undefined;
    } else {
      const uid = `uid-${step}`;
      const name = `worker-${step}`;
      idx.upsertPod(pod({ uid, name, ips: [ip], startMs: now + 1000, appLabel: 'worker' }));
      holder[slot] = { uid, name, start: now + 1000 };
      created++;
    }
    const s = idx.stats;
    sizes.push({ ipv4: s.ipv4Addresses, tracked: s.pods + s.podsRetained });
    if (step % 1000 === 999) {
      // Spot checks: the current holder of some addresses, and a late flow from a pod deleted
      // half an hour ago, land on the right pod.
      for (let k = 0; k < pool; k += 37) {
        const h = holder[k];
        const got = idx.lookup(`10.250.${k >> 8}.${k & 255}`, { t: now + 1000 });
        if (h) assert.equal(got.name, h.name);
      }
      const late = history.find((e) => e.end > now - 31 * MIN && e.end < now - 29 * MIN);
      if (late) assert.equal(idx.lookup(late.ip, { t: late.end - 1500 }).name, late.name);
      const old = history.find((e) => e.end < now - retentionMs - 10 * MIN);
      if (old) {
        const got = idx.lookup(old.ip, { t: old.end - 1500 });
        assert.notEqual(got.name, old.name, 'history older than the retention is gone');
        assert.equal(got, UNKNOWN_ENDPOINT);
      }
    }
  }
  assert.ok(created >= 9000, `created ${created} pods`);
  assert.ok(idx.stats.podsPruned > 5000, `pruned ${idx.stats.podsPruned}`);
  // After the first retention period (1800 steps of 2 s), the sizes no longer grow.
  const settled = sizes.slice(4000);
  const maxTracked = Math.max(...settled.map((s) => s.tracked));
  const half = settled.length >> 1;
  const earlyMax = Math.max(...settled.slice(0, half).map((s) => s.tracked));
  const lateMax = Math.max(...settled.slice(half).map((s) => s.tracked));
  // live pods (at most the pool) plus one retention period of deletions (1800 steps, half of them deletions)
  assert.ok(maxTracked <= pool + 1800 / 2 + 64, `tracked pods bounded: ${maxTracked}`);
  // Live pods swing with the pool's create/delete cycle; what must not happen is a trend.
  assert.ok(lateMax - earlyMax < 64, `tracked pods flat: peak ${earlyMax} then ${lateMax}`);
  assert.ok(Math.max(...settled.map((s) => s.ipv4)) <= pool, 'never more addresses than the pool');
});

test('churn soak in a child process: heap after full GC stays flat', () => {
  const child = fileURLToPath(new URL('./churn-child.ts', import.meta.url));
  const res = spawnSync(process.execPath, ['--expose-gc', child, '8', '5000'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(res.status, 0, res.stderr);
  const rounds = res.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { heapUsed: number; endpoints: number; pods: number; podsRetained: number; podsPruned: number });
  assert.equal(rounds.length, 8);
  const first = rounds[1];
  const last = rounds[rounds.length - 1];
  // 35,000 more pods went through between these rounds; kept, they would cost tens of MB.
  assert.ok(last.podsPruned - first.podsPruned >= 30_000);
  assert.ok(last.heapUsed - first.heapUsed < 6 * 1024 * 1024, `heap grew ${((last.heapUsed - first.heapUsed) / 1048576).toFixed(1)} MB`);
  assert.ok(last.endpoints <= first.endpoints * 1.5 + 100, `interned endpoints flat: ${first.endpoints} → ${last.endpoints}`);
  assert.equal(last.pods + last.podsRetained, first.pods + first.podsRetained);
});
