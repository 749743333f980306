import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LONG_TASK_MS, TaskClock } from '../../src/pipeline/threads/task-clock.ts';

test('the longest task of the current and the previous 15 s window, and a count of the long ones', () => {
  let now = 0;
  const c = new TaskClock(() => now);
  c.took(3, (now = 1000));
  c.took(80, (now = 2000));
  c.took(10, (now = 14_000));
  assert.equal(c.longestMs, 80);
  assert.equal(c.long, 1);
  // The next window still reports the previous one's longest.
  c.took(5, (now = 16_000));
  assert.equal(c.longestMs, 80);
  c.took(LONG_TASK_MS, (now = 20_000));
  assert.equal(c.long, 2, 'a task of exactly LONG_TASK_MS counts');
  // Two windows on, the 80 ms task is forgotten.
  c.took(7, (now = 32_000));
  assert.equal(c.longestMs, LONG_TASK_MS);
  // After a quiet spell longer than a window, nothing older is carried over.
  c.took(2, (now = 70_000));
  assert.equal(c.longestMs, 2);
  assert.equal(c.long, 2);
});

test('timed() times each call as a task, also one that throws', () => {
  let now = 0;
  const c = new TaskClock(() => now);
  const seen: [string, number][] = [];
  const f = c.timed((a: string, b: number) => {
    seen.push([a, b]);
    now += 120;
    if (b < 0) throw new Error('boom');
  });
  f('x', 1);
  assert.throws(() => f('y', -1), /boom/);
  assert.deepEqual(seen, [
    ['x', 1],
    ['y', -1],
  ]);
  assert.equal(c.long, 2);
  assert.equal(c.longestMs, 120);
});
