/**
 * Freed native memory goes back to the kernel: the addon's trim really lowers the resident size
 * of a process whose malloc arenas hold freed, fragmented buffers (glibc keeps them otherwise),
 * and the collector's trimmer calls it on its interval, one trim at a time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startMallocTrim } from '../../src/observe/malloc-trim.ts';
import { nativeTrimAsync } from '../../src/ingest/native-udp.ts';

const skip = process.platform !== 'linux' ? `malloc_trim is glibc's (${process.platform})` : false;

test('the addon has a trim on Linux', { skip }, () => {
  assert.equal(typeof nativeTrimAsync(), 'function');
});

test('a trim hands freed malloc memory back: the resident size drops', { skip }, () => {
  const module = fileURLToPath(new URL('../../src/ingest/native-udp.ts', import.meta.url));
  // 160 MiB of 64 KiB buffers (under glibc's mmap threshold, so from the arenas); every eighth
  // is kept, so the freed ones are holes the heap's top trim cannot give back.
  const script = `
    import { readFileSync } from 'node:fs';
    import { nativeTrimAsync } from ${JSON.stringify(module)};
    const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
    let all = [];
    for (let i = 0; i < 2560; i++) all.push(Buffer.alloc(65536, 1));
    const kept = all.filter((_, i) => i % 8 === 0);
    all = undefined;
    for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
    const before = rss();
    await nativeTrimAsync()();
    const after = rss();
    console.log(JSON.stringify({ before, after, kept: kept.length }));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { before, after } = JSON.parse(r.stdout) as { before: number; after: number };
  const MiB = 2 ** 20;
  assert.ok(before - after > 64 * MiB, `RSS ${(before / MiB).toFixed(0)} MiB -> ${(after / MiB).toFixed(0)} MiB after the trim`);
});

test('the trimmer calls trim on its interval and never stacks a slow one', async () => {
  let calls = 0;
  let inFlight = 0;
  let most = 0;
  const t = startMallocTrim(async () => {
    calls++;
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, 25));
    inFlight--;
  }, 5);
  while (t.trims < 3) await new Promise((r) => setTimeout(r, 5));
  t.stop();
  const after = calls;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(most, 1, 'one trim at a time');
  assert.ok(calls <= after + 1, 'no trims after stop (but the one in flight)');
  assert.ok(calls >= 3);
});

test('without a trim function the trimmer does nothing', () => {
  const t = startMallocTrim(undefined, 1);
  assert.equal(t.trims, 0);
  t.stop();
});
