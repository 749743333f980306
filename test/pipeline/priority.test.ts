/**
 * Exports run below the receiving threads: the real program lowers its main thread (scrapes,
 * merges, OTLP) by EXPORT_NICE_STEPS once the receiving threads run, and leaves theirs alone.
 * Read from the kernel (/proc/<pid>/task/<tid>/stat), so Linux only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { getPriority } from 'node:os';
import { startCollectorProcess, type CollectorProcess } from '../support/run-collector.ts';
import { EXPORT_NICE_STEPS } from '../../src/pipeline/priority.ts';

const linux = process.platform === 'linux';

/** name and nice value of every thread of `pid`. */
function threads(pid: number): { tid: number; name: string; nice: number }[] {
  const out = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const st = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
    const fields = st.slice(st.lastIndexOf(')') + 2).split(' ');
    out.push({ tid: Number(t), name, nice: Number(fields[16]) });
  }
  return out;
}

test('yieldToReceivers lowers only the calling thread', { skip: !linux }, async () => {
  // In a thread of its own, so this test process keeps its priority.
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { getPriority } = require('node:os');
    import(${JSON.stringify(new URL('../../src/pipeline/priority.ts', import.meta.url).href)}).then((m) => {
      const before = getPriority(0);
      const after = m.yieldToReceivers(3);
      parentPort.postMessage({ before, after, again: getPriority(0) });
    });`;
  const mine = getPriority(0);
  const w = new Worker(code, { eval: true });
  const got = await new Promise<{ before: number; after: number; again: number }>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  await w.terminate();
  assert.equal(got.after, Math.min(19, got.before + 3));
  assert.equal(got.again, got.after);
  assert.equal(getPriority(0), mine, 'the thread that started the worker keeps its priority');
});

test('the real program: main thread below the receiving threads', { skip: !linux, timeout: 60_000 }, async (t) => {
  let c: CollectorProcess | undefined;
  t.after(async () => { await c?.stop('SIGTERM'); });
  const own = getPriority(0);
  c = await startCollectorProcess(['--workers', '2', '--inventory', fileURLToPath(new URL('../e2e/fixtures/k8s-basic-inventory.json', import.meta.url))]);
  const pid = c.child.pid!;
  // The priority changes right after the listening line; give it a moment.
  let ts = threads(pid);
  for (let i = 0; i < 50 && ts.find((x) => x.tid === pid)!.nice === own; i++) {
    await new Promise((r) => setTimeout(r, 100));
    ts = threads(pid);
  }
  const main = ts.find((x) => x.tid === pid)!;
  const receivers = ts.filter((x) => x.name.startsWith('netflow-k8s-rec'));
  assert.equal(receivers.length, 2, JSON.stringify(ts));
  assert.equal(main.nice, Math.min(19, own + EXPORT_NICE_STEPS));
  for (const r of receivers) assert.equal(r.nice, own, `receiving thread ${r.tid} keeps the original priority`);
});
