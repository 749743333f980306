/**
 * A script run in a child Node with V8's --trace-opt and --trace-deopt, and its trace read between
 * the markers the script prints (`=====NAME=====` lines): the warm-up tests' way to see what V8
 * compiled, threw away and deoptimised while some part of the script ran.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export interface V8Trace {
  /** The trace lines from marker `from` up to marker `to` (or the end). */
  between(from: string, to?: string): string[];
  /** What the script printed after marker `name` on the same line. */
  after(name: string): string;
}

export function traceV8(script: string, env: Record<string, string> = {}): V8Trace {
  const run = spawnSync(process.execPath, ['--trace-opt', '--trace-deopt', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    env: { ...process.env, ...env },
  });
  assert.equal(run.status, 0, run.stderr);
  const at = (name: string) => {
    const i = run.stdout.indexOf(`=====${name}=====`);
    assert.ok(i >= 0, `the script reached ${name}`);
    return i;
  };
  return {
    between: (from, to) => run.stdout.slice(at(from), to === undefined ? undefined : at(to)).split('\n'),
    after: (name) =>
      run.stdout
        .slice(at(name) + name.length + 10)
        .split('\n')[0]
        .trim(),
  };
}

/** Functions V8 compiled (Maglev or TurboFan) in these trace lines. */
export const compiled = (lines: readonly string[]): number => lines.filter((l) => l.startsWith('[completed compiling')).length;

/** Bailouts of code that ran, without addresses; tiering up in a loop (on-stack replacement) is not one. */
export const bailouts = (lines: readonly string[]): string[] =>
  lines
    .filter((l) => l.startsWith('[bailout') && !l.includes('on stack replacement'))
    .map((l) => l.replace(/0x[0-9a-f]+ /g, '').replace(/, FP to SP.*/, ''));

/** Optimised code V8 dropped because objects it embedded (hidden classes) died. */
export const dropped = (lines: readonly string[]): number =>
  lines.filter((l) => l.includes('for deoptimization, reason: embedded weak objects cleared')).length;
