/**
 * fullGc collects at once what nothing references any more, without --expose-gc, and leaves no
 * `gc` behind in the program's own context.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { fullGc } from '../../src/observe/full-gc.ts';

const nextTask = () => new Promise((r) => setTimeout(r, 0));

/**
 * A WeakRef whose target is unreachable and not yet collected. Creating or reading a WeakRef keeps
 * its target alive until the task ends, hence the tasks in between.
 */
async function droppedTarget(): Promise<WeakRef<object>> {
  const ref = new WeakRef({ payload: new Array(10_000).fill('x') });
  await nextTask();
  assert.ok(ref.deref() !== undefined, 'an object the allocation pace alone does not collect yet');
  await nextTask();
  return ref;
}

for (const compact of [false, true]) {
  test(`fullGc(${compact}) collects an unreachable object at once`, async () => {
    const ref = await droppedTarget();
    assert.equal(fullGc(compact), true);
    assert.equal(ref.deref(), undefined);
  });
}

test('no gc is left in the global scope', { skip: process.execArgv.includes('--expose-gc') && 'run with --expose-gc' }, () => {
  fullGc();
  assert.equal((globalThis as { gc?: unknown }).gc, undefined);
});

test('threads collecting at the same moment all get their collection', { timeout: 60_000 }, async () => {
  // The flag is the process's: one thread turning it off must not leave another without gc.
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(new URL('../../src/observe/full-gc.ts', import.meta.url).href)}).then(({ fullGc }) => {
      let failed = 0;
      for (let i = 0; i < 40; i++) if (!fullGc()) failed++;
      parentPort.postMessage(failed);
    });`;
  const failed = await Promise.all(
    Array.from({ length: 4 }, () => {
      const w = new Worker(code, { eval: true });
      return new Promise<number>((resolve, reject) => {
        w.once('message', (n: number) => resolve(n));
        w.once('error', reject);
      }).finally(() => w.terminate());
    }),
  );
  assert.deepEqual(failed, [0, 0, 0, 0]);
});
