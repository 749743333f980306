/** Per-datagram complaints are rate-limited: a burst per window, then one summary of what was held back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, RateLimitedLog } from '../../src/observe/log.ts';

test('a flood of one complaint logs a few lines and a suppression count', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const log = createLogger('info', sink);
  const rl = new RateLimitedLog(log, 1000, 3);
  let written = 0;
  for (let i = 0; i < 1000; i++) if (rl.warn('decode:bad_set_length', { i }, 'malformed NetFlow input', 10_000 + (i % 500))) written++;
  assert.equal(written, 3);
  // Another key has its own budget.
  assert.equal(rl.warn('decode:short_header', {}, 'malformed NetFlow input', 10_100), true);
  // The next window: a summary of what was held back, then a fresh burst.
  assert.equal(rl.warn('decode:bad_set_length', {}, 'malformed NetFlow input', 11_200), true);
  const summary = lines.find((l) => l.msg === 'similar messages suppressed');
  assert.ok(summary, 'a summary line');
  assert.equal(summary.suppressed, 997);
  assert.equal(summary.key, 'decode:bad_set_length');
  assert.equal(lines.filter((l) => l.msg === 'malformed NetFlow input').length, 5);
  assert.equal(lines[0].level, 40);
  assert.equal(lines[0].name, 'netflow-k8s');
});
