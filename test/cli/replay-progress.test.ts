/**
 * `replay` on a terminal shows its progress on stderr (bytes and records per second, an ETA) in one
 * line redrawn in place, and erases it at the end; anywhere else it stays silent. The line itself
 * is checked with a stand-in clock; the terminal with a real pseudo-terminal from script(1)
 * (util-linux), the silence with the pipes every other test uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatBytes, formatDuration, ReplayProgress, wantsProgress } from '../../src/cli/replay-progress.ts';
import { iptNetflowStream } from '../../src/generate/ipt-netflow-stream.ts';
import { writePcapFile } from '../../src/generate/pcap-writer.ts';
import { runCli } from '../support/cli.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const REDRAW = '\r\x1b[K';

function sink(columns?: number): { isTTY: true; columns?: number; text: string; write(t: string): void } {
  return {
    isTTY: true,
    columns,
    text: '',
    write(t: string) {
      this.text += t;
    },
  };
}

test('the line: how far, records, then rates and the ETA once the rates mean something', () => {
  let now = 1000;
  const out = sink();
  const p = new ReplayProgress(out, 100 * 1024 * 1024, { now: () => now, everyMs: 250 });
  p.tick(1024 * 1024, 27);
  assert.equal(out.text, `${REDRAW}replay: 1.0 MiB of 100.0 MiB (1%), 27 records`, 'the first datagram draws at once, without rates');
  // Within the interval, and between clock reads: nothing.
  for (let i = 0; i < 200; i++) p.tick(2 * 1024 * 1024, 54);
  assert.equal(out.text.split(REDRAW).length, 2);
  now += 10_000;
  for (let i = 0; i < 64; i++) p.tick(25 * 1024 * 1024, 2_500_000);
  assert.equal(out.text.split(REDRAW).at(-1), 'replay: 25.0 MiB of 100.0 MiB (25%), 2.5 M records, 2.5 MiB/s, 250.0 k records/s, ETA 0:30');
  p.done();
  assert.ok(out.text.endsWith(REDRAW), 'the end erases the line');
  const before = out.text;
  p.done();
  assert.equal(out.text, before, 'erased once');
});

test('the line fits the terminal: a wrapped line could not be redrawn in place', () => {
  const out = sink(30);
  new ReplayProgress(out, 5 * 1024 ** 3, { now: () => 0 }).tick(1, 1);
  assert.equal(out.text, `${REDRAW}${'replay: 1 B of 5.0 GiB (0%), 1 records'.slice(0, 29)}`);
});

test('units and durations', () => {
  assert.deepEqual([0, 1023, 1024, 1536 * 1024, 3 * 1024 ** 3].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 MiB', '3.0 GiB']);
  assert.deepEqual([0, 59.2, 61, 3600, 3 * 3600 + 5 * 60 + 9].map(formatDuration), ['0:00', '1:00', '1:01', '1:00:00', '3:05:09']);
});

test('who gets progress: a terminal on stderr, unless records stream to the same screen', () => {
  assert.equal(wantsProgress({ isTTY: true }, { isTTY: false }, true), true, 'records to a file or pipe');
  assert.equal(wantsProgress({ isTTY: true }, { isTTY: true }, false), true, '--format none or prometheus');
  assert.equal(wantsProgress({ isTTY: true }, { isTTY: true }, true), false, 'JSON records on the terminal');
  assert.equal(wantsProgress({ isTTY: false }, { isTTY: false }, false), false, 'stderr piped or logged');
  assert.equal(wantsProgress({}, { isTTY: true }, false), false);
});

/** A capture of `count` ipt-netflow datagrams. */
function capture(dir: string, count: number): string {
  const file = join(dir, 'big.pcap');
  const packets = [...iptNetflowStream({ count, recordsPerDatagram: 27, startMs: 1_790_000_000_000 })].map((d) => ({
    tsMs: d.nowMs,
    srcAddr: d.exporter,
    srcPort: 2055,
    payload: d.payload,
  }));
  writePcapFile(file, packets);
  return file;
}

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

/** `netflow-k8s ARGS` under script(1): stdin, stdout and stderr are a pseudo-terminal; returns what it printed. */
function onTerminal(dir: string, args: string, redirect = ''): { status: number | null; text: string } {
  const wrapper = join(dir, 'cli.mjs');
  writeFileSync(wrapper, `import { main } from ${JSON.stringify(MAIN)};\nprocess.exitCode = await main(process.argv.slice(2));\n`);
  const cmd = `'${process.execPath}' '${wrapper}' ${args} ${redirect}`;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NETFLOW_K8S_') && !k.startsWith('OTEL_')) env[k] = v;
  const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], {
    encoding: 'utf8',
    env: { ...env, TERM: 'xterm', COLUMNS: '200' },
    timeout: 120_000,
  });
  return { status: r.status, text: r.stdout };
}

test('on a terminal: the progress line, then it is erased before the summary', {
  skip: hasScript ? false : 'script(1) from util-linux is not installed',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfk-progress-'));
  try {
    const file = capture(dir, 4000);
    const total = formatBytes(statSync(file).size);
    const r = onTerminal(dir, `replay --format none --summary '${file}'`);
    assert.equal(r.status, 0, r.text);
    const draws = r.text.split(REDRAW).slice(1);
    assert.ok(draws.length >= 2, `drawn and erased: ${JSON.stringify(r.text.slice(0, 300))}`);
    assert.match(
      draws[0],
      new RegExp(`^replay: \\d+(\\.\\d)? (B|KiB|MiB) of ${total.replace('.', '\\.')} \\(\\d+%\\), \\d+(\\.\\d)?( k)? records`),
    );
    for (const d of draws.slice(0, -1))
      assert.match(d, /^replay: [^\n]*records(, [^\n]+\/s, [^\n]+ records\/s, ETA \d+:\d\d)?$/, JSON.stringify(d));
    // The summary comes after the erase, on a clean line.
    const summary = JSON.parse(draws.at(-1)!.trim()) as { records: number };
    assert.equal(summary.records, 4000 * 27);

    // Records written to a file: progress on the terminal too.
    const toFile = onTerminal(dir, `replay '${file}'`, `> '${join(dir, 'out.json')}'`);
    assert.equal(toFile.status, 0, toFile.text);
    assert.ok(toFile.text.startsWith(`${REDRAW}replay: `), JSON.stringify(toFile.text.slice(0, 100)));
    assert.equal(readFileSync(join(dir, 'out.json'), 'utf8').split('\n').filter(Boolean).length, 4000 * 27);

    // JSON records on the terminal itself: no line between them.
    const json = onTerminal(dir, `replay '${capture(dir, 20)}'`);
    assert.equal(json.status, 0, json.text);
    assert.ok(!json.text.includes('\x1b[K'), 'no progress among records on the screen');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a terminal: not a byte of progress on stderr', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfk-progress-'));
  try {
    const file = capture(dir, 4000);
    const r = await runCli(['replay', '--format', 'none', '--summary', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /\r|\x1b|replay:/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'only the summary');
    assert.equal((JSON.parse(r.stderr) as { records: number }).records, 4000 * 27);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
