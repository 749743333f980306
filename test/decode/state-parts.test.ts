/** The deadline wheel and the held-set pool on their own (decoder.ts builds bounded state from them). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineWheel } from '../../src/decode/deadline-wheel.ts';
import { bufferBytes, HeldPool, sizeClass } from '../../src/decode/held-pool.ts';

test('deadline wheel: hands out only what is due; an earlier deadline moves an item, a later one leaves it', () => {
  const w = new DeadlineWheel<{ wheelSec: number; name: string }>();
  const a = { wheelSec: 0, name: 'a' };
  const b = { wheelSec: 0, name: 'b' };
  const c = { wheelSec: 0, name: 'c' };
  w.schedule(a, 10_500);
  w.schedule(b, 20_000);
  w.schedule(c, 30_000);
  w.schedule(c, 5_000); // earlier: moves
  w.schedule(a, 50_000); // later: stays at 10 s, the caller looks again then
  assert.equal(w.size, 3);
  const due = (now: number) => {
    const out: string[] = [];
    w.take(now, (x) => out.push(x.name));
    return out;
  };
  assert.deepEqual(due(4_999), []);
  assert.deepEqual(due(5_000), ['c']);
  assert.deepEqual(due(10_999), ['a']);
  w.remove(b);
  assert.deepEqual(due(100_000), []);
  assert.equal(w.size, 0);
  // An item scheduled again while due goes to the next take, not round and round in this one.
  const d = { wheelSec: 0, name: 'd' };
  w.schedule(d, 1_000);
  let calls = 0;
  w.take(1_500, (x) => {
    calls++;
    w.schedule(x, 1_900);
  });
  assert.equal(calls, 1);
  assert.deepEqual(due(2_000), ['d']);
});

test('held pool: entries and buffers are reused by size class, each reuse is told apart, and the pool is bounded', () => {
  const pool = new HeldPool<string>('vacant', 1024);
  const u = Uint8Array.from({ length: 300 }, (_, i) => i & 255);
  const h = pool.acquire('x', u, 10, 30);
  assert.equal(h.buf.length, 32);
  assert.deepEqual([...h.buf.subarray(0, h.len)], [...u.subarray(10, 30)]);
  const seq = h.seq;
  pool.release(h);
  assert.equal(h.done, true);
  assert.equal(h.owner, 'vacant', 'a pooled entry keeps no owner alive');
  const again = pool.acquire('y', u, 0, 17);
  assert.equal(again, h, 'same size class: the entry comes back');
  assert.notEqual(again.seq, seq);
  assert.deepEqual([again.owner, again.done, again.len], ['y', false, 17]);
  assert.equal(bufferBytes(0), 16);
  assert.equal(bufferBytes(257), 512);
  assert.equal(sizeClass(70_000), sizeClass(65_536), 'the largest class takes the rest');
  // Past maxPooledBytes, released entries are let go.
  const big = [pool.acquire('z', u, 0, 300), pool.acquire('z', u, 0, 300), pool.acquire('z', u, 0, 300)];
  for (const e of big) pool.release(e);
  const reused = [pool.acquire('z', u, 0, 300), pool.acquire('z', u, 0, 300), pool.acquire('z', u, 0, 300)];
  assert.equal(reused.filter((e) => big.includes(e)).length, 2, 'two 512-byte buffers fit 1 KiB');
});
