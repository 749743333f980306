/** The slot records behind the pairs' and conversations' counts: zeroed when taken, reused when given back, kept through growth. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NumberSlots } from '../../src/aggregate/number-slots.ts';

test('records are zero when taken, keep their numbers as the array grows, and are reused once given back', () => {
  const s = new NumberSlots(3, 2);
  const at = [s.take(), s.take(), s.take()];
  assert.deepEqual(at, [0, 3, 6]);
  assert.ok(s.a.length >= 9, 'grown past its first two slots');
  s.a[3] = 1.5;
  s.a[4] = 2 ** 53;
  for (let i = 0; i < 100; i++) s.take();
  assert.equal(s.a[3], 1.5);
  assert.equal(s.a[4], 2 ** 53);
  s.give(3);
  assert.equal(s.take(), 3, 'the freed slot comes back first');
  assert.deepEqual([...s.a.subarray(3, 6)], [0, 0, 0], 'and zeroed');
});
