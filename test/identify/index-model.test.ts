import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IdentityIndex } from '../../src/identify/identity-index.ts';
import { pod } from './helpers.ts';

/**
 * The index against a plain model of the rules: random pod lifecycles over a few reused
 * addresses (create, complete, delete, in any order), then flows at random times.
 */
interface ModelPod {
  uid: string;
  name: string;
  ip: string;
  start: number;
  end: number;
  completed: boolean;
  gone: boolean;
}

function modelHolder(pods: ModelPod[], ip: string, t: number): string {
  let best: ModelPod | undefined;
  for (const p of pods) {
    if (p.ip !== ip || !(p.start <= t && t <= p.end)) continue;
    if (!best) {
      best = p;
      continue;
    }
    if (p.completed !== best.completed) {
      if (p.completed) best = p;
      continue;
    }
    if (p.start > best.start) best = p;
  }
  return best ? best.name : 'unknown';
}

const IPS = ['10.7.0.1', '10.7.0.2', '10.7.0.3'];

const opArb = fc.oneof(
  fc.record({
    op: fc.constant('create' as const),
    ip: fc.integer({ min: 0, max: IPS.length - 1 }),
    lead: fc.integer({ min: -5000, max: 5000 }),
  }),
  fc.record({ op: fc.constant('complete' as const), which: fc.nat(), back: fc.integer({ min: 0, max: 20_000 }) }),
  fc.record({ op: fc.constant('delete' as const), which: fc.nat() }),
  fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 60_000 }) }),
);

test('index agrees with a model of the interval rules under random churn and late flows', () => {
  fc.assert(
    fc.property(
      fc.array(opArb, { minLength: 1, maxLength: 60 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: IPS.length - 1 }), fc.double({ min: 0, max: 1, noNaN: true })), {
        minLength: 20,
        maxLength: 20,
      }),
      (ops, queries) => {
        let now = 1_000_000;
        const idx = new IdentityIndex({ now: () => now, clockSkewMs: 0, retentionMs: 1e12 });
        const model: ModelPod[] = [];
        let seq = 0;
        for (const o of ops) {
          now += 1000;
          if (o.op === 'create') {
            // Distinct start times: ties are not part of the rules.
            const p: ModelPod = {
              uid: `u${seq}`,
              name: `p${seq}`,
              ip: IPS[o.ip],
              start: now + o.lead * 10 + seq,
              end: Infinity,
              completed: false,
              gone: false,
            };
            seq++;
            model.push(p);
            idx.upsertPod(pod({ uid: p.uid, name: p.name, ips: [p.ip], startMs: p.start }));
          } else if (o.op === 'complete' || o.op === 'delete') {
            const live = model.filter((p) => !p.gone && !p.completed);
            if (live.length === 0) continue;
            const p = live[o.which % live.length];
            if (o.op === 'complete') {
              p.completed = true;
              p.end = Math.max(p.start, now - o.back);
              idx.upsertPod(pod({ uid: p.uid, name: p.name, ips: [p.ip], startMs: p.start, phase: 'Succeeded', endMs: p.end }));
            } else {
              p.gone = true;
              if (now < p.end) p.end = Math.max(now, p.start);
              idx.deletePod(p.uid, now);
            }
          } else {
            now += o.ms;
          }
        }
        for (const [ipi, frac] of queries) {
          const t = Math.floor(1_000_000 + frac * (now + 10_000 - 1_000_000));
          const got = idx.lookup(IPS[ipi], { t });
          assert.equal(got.kind === 'pod' ? got.name : 'unknown', modelHolder(model, IPS[ipi], t), `ip ${IPS[ipi]} at ${t}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});
