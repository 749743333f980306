/**
 * Exports run below the receiving threads: the real program lowers its main thread (scrapes,
 * merges, OTLP) and V8's helper threads by EXPORT_NICE_STEPS once the receiving threads run, and
 * leaves the receiving threads and libuv's pool (where scrapes are gzipped) alone.
 * Read from the kernel (/proc/<pid>/task/<tid>/stat), so Linux only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getPriority } from 'node:os';
import { startCollectorProcess, type CollectorProcess } from '../support/run-collector.ts';
import { EXPORT_NICE_STEPS, SCAVENGE_ALONE, THREAD_POOL_NAME, yieldToReceivers } from '../../src/pipeline/threads/priority.ts';

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

test("yieldToReceivers lowers every thread but the named ones and libuv's pool", { skip: !linux }, async () => {
  // Run where the change cannot touch this test process: a child that starts one worker thread,
  // names it as the receiver, and reports every thread's name and nice value afterwards.
  const priority = JSON.stringify(new URL('../../src/pipeline/threads/priority.ts', import.meta.url).href);
  const code = `
    import { Worker } from 'node:worker_threads';
    import { readdirSync, readFileSync } from 'node:fs';
    const { startThreadPool, yieldToReceivers } = await import(${priority});
    const w = new Worker("require('node:worker_threads').parentPort.postMessage(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop())); setInterval(() => {}, 1000);", { eval: true, execArgv: [] });
    const tid = await new Promise((r) => w.once('message', r));
    await startThreadPool();
    const main = yieldToReceivers([tid], 3);
    const threads = {};
    for (const t of readdirSync('/proc/self/task')) {
      const st = readFileSync('/proc/self/task/' + t + '/stat', 'utf8');
      threads[t] = { name: st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')), nice: Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[16]) };
    }
    console.log(JSON.stringify({ tid, pid: process.pid, main, threads }));
    await w.terminate();`;
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { tid: number; pid: number; main: number; threads: Record<string, { name: string; nice: number }> };
  const own = getPriority(0);
  assert.equal(got.threads[got.tid].nice, own, 'the receiving thread keeps its priority');
  assert.equal(got.main, Math.min(19, own + 3));
  const pool = Object.entries(got.threads).filter(([, t]) => t.name === THREAD_POOL_NAME);
  assert.ok(pool.length >= 1, `libuv's pool runs: ${JSON.stringify(got.threads)}`);
  for (const [t, { nice }] of pool) assert.equal(nice, own, `pool thread ${t} keeps its priority`);
  const others = Object.entries(got.threads).filter(([t, { name }]) => Number(t) !== got.tid && name !== THREAD_POOL_NAME);
  assert.ok(others.length >= 2, 'main thread and V8 helpers');
  for (const [t, { nice }] of others) assert.equal(nice, Math.min(19, own + 3), `thread ${t} lowered`);
});

test('the real program: main thread below the receiving threads', { skip: !linux, timeout: 60_000 }, async (t) => {
  let c: CollectorProcess | undefined;
  t.after(async () => {
    await c?.stop('SIGTERM');
  });
  const own = getPriority(0);
  c = await startCollectorProcess([
    '--workers',
    '2',
    '--udp-spread',
    'datagram', // every thread starts before the exports are lowered
    '--inventory',
    fileURLToPath(new URL('../e2e/fixtures/k8s-basic-inventory.json', import.meta.url)),
  ]);
  const pid = c.child.pid!;
  // The priorities change right after the listening line, one thread after another; give them a moment.
  const lowered = (x: { name: string; nice: number }) =>
    x.nice !== own || x.name.startsWith('netflow-k8s-rec') || x.name === THREAD_POOL_NAME;
  let ts = threads(pid);
  for (let i = 0; i < 50 && !ts.every(lowered); i++) {
    await new Promise((r) => setTimeout(r, 100));
    ts = threads(pid);
  }
  const main = ts.find((x) => x.tid === pid)!;
  const receivers = ts.filter((x) => x.name.startsWith('netflow-k8s-rec'));
  assert.equal(receivers.length, 2, JSON.stringify(ts));
  assert.equal(main.nice, Math.min(19, own + EXPORT_NICE_STEPS));
  const helpers = ts.filter((x) => x.name.startsWith('V8Worker'));
  assert.ok(helpers.length > 0);
  for (const h of helpers) assert.equal(h.nice, Math.min(19, own + EXPORT_NICE_STEPS), `V8 helper ${h.tid} lowered`);
  for (const r of receivers) assert.equal(r.nice, own, `receiving thread ${r.tid} keeps the original priority`);
  // Scrapes are gzipped there.
  const pool = ts.filter((x) => x.name === THREAD_POOL_NAME);
  assert.ok(pool.length > 0, JSON.stringify(ts));
  for (const p of pool) assert.equal(p.nice, own, `pool thread ${p.tid} keeps the original priority`);
});

test('yieldToReceivers has scavenges run on their own thread, not on the lowered helpers', { skip: !linux }, () => {
  const flags: string[] = [];
  // Nothing to lower but this test's own threads: steps 0 leaves their priority as it is.
  yieldToReceivers([], 0, (f) => flags.push(f));
  assert.deepEqual(flags, [SCAVENGE_ALONE]);
  assert.equal(SCAVENGE_ALONE, '--no-parallel-scavenge');
});

test('with SCAVENGE_ALONE a worker scavenges alone: one task per scavenge', { skip: !linux }, async () => {
  // --trace-parallel-scavenge prints a line per scavenging task: helpers taking part would add
  // lines. A worker with a small young generation keeps a share of what it allocates.
  const priority = JSON.stringify(new URL('../../src/pipeline/threads/priority.ts', import.meta.url).href);
  const code = `
    import { Worker } from 'node:worker_threads';
    import { setFlagsFromString } from 'node:v8';
    const { SCAVENGE_ALONE } = await import(${priority});
    setFlagsFromString(SCAVENGE_ALONE);
    const w = new Worker(\`
      const { PerformanceObserver } = require('node:perf_hooks');
      let minor = 0;
      new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === 1) minor++; }).observe({ entryTypes: ['gc'] });
      const keep = [];
      for (let i = 0; i < 3e6; i++) { keep.push({ i, a: [i, i + 1] }); if (keep.length > 60000) keep.length = 0; }
      setTimeout(() => require('node:worker_threads').parentPort.postMessage(minor), 50);\`,
      { eval: true, execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 6 } });
    const minor = await new Promise((r) => w.once('message', r));
    console.log('MINOR ' + minor);
    await w.terminate();`;
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--trace-parallel-scavenge', '--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const minor = Number(/MINOR (\d+)/.exec(r.stdout)![1]);
  // The worker's isolate is the one with the most lines.
  const byIsolate = new Map<string, number>();
  for (const m of r.stdout.matchAll(/^\[\d+:(0x[0-9a-f]+)\] scavenge\[/gm)) byIsolate.set(m[1], (byIsolate.get(m[1]) ?? 0) + 1);
  const tasks = Math.max(...byIsolate.values());
  assert.ok(minor > 10, `${minor} scavenges`);
  // The observer misses the worker's first scavenges (during its start): a few lines more.
  assert.ok(tasks - minor <= 5, `${tasks} tasks for ${minor} scavenges`);
});
