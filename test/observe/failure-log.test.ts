import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureLog } from '../../src/observe/failure-log.ts';

function recorder() {
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  return { lines, log: { warn: (fields: Record<string, unknown>, msg: string) => void lines.push({ msg, fields }) } };
}

test('the first failure and the recovery are said once each, however many attempts fail', () => {
  const { lines, log } = recorder();
  const f = new FailureLog(log, 'export', 10_000);
  f.result(true, undefined, 0);
  assert.equal(lines.length, 0, 'success is not news');
  for (let t = 1000; t <= 60_000; t += 1000) f.result(false, new Error('UNAVAILABLE'), t);
  assert.deepEqual(lines.map((l) => l.msg), ['export failing']);
  assert.equal(lines[0].fields.err, 'UNAVAILABLE');
  f.result(true, undefined, 61_000);
  assert.deepEqual(lines.map((l) => l.msg), ['export failing', 'export recovered']);
  assert.equal(lines[1].fields.failures, 60);
  assert.equal(lines[1].fields.failingMs, 60_000);
});

test('a flapping endpoint: changes within the interval wait, and the log ends on the current state', () => {
  const { lines, log } = recorder();
  const f = new FailureLog(log, 'export', 10_000);
  f.result(false, 'a', 0);
  f.result(true, undefined, 1000);
  f.result(false, 'b', 2000);
  f.result(true, undefined, 3000);
  f.result(false, 'c', 4000);
  assert.deepEqual(lines.map((l) => l.msg), ['export failing'], 'nothing more within 10 s');
  // Still failing at the next attempt past the interval: the state is failing, as last said.
  f.result(false, 'd', 11_000);
  assert.deepEqual(lines.map((l) => l.msg), ['export failing']);
  f.result(true, undefined, 12_000);
  assert.deepEqual(lines.map((l) => l.msg), ['export failing', 'export recovered']);
  f.result(false, 'e', 13_000);
  f.result(false, 'e', 23_000);
  assert.deepEqual(lines.map((l) => l.msg), ['export failing', 'export recovered', 'export failing'], 'a change held back is said at the next attempt past the interval');
});
