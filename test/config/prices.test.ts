/**
 * --prices: a YAML file or a preset. A bad file stops the start (exit code 2) with a message that
 * names the field: a negative price, an unknown class, no currency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/options.ts';
import { loadPrices, PRICE_PRESETS } from '../../src/config/prices.ts';
import { parseRunConfig } from '../../src/config/run-options.ts';
import { runCli } from '../support/run-collector.ts';

const BAD: [string, string, RegExp][] = [
  ['negative.yaml', 'currency: USD\nperGiB:\n  cross-zone: -0.01\n', /prices: .*perGiB\.cross-zone: -0\.01 is negative/],
  ['unknown-class.yaml', 'currency: USD\nperGiB:\n  cross-planet: 0.5\n', /prices: .*perGiB\.cross-planet: unknown class/],
  ['no-currency.yaml', 'perGiB:\n  internet: 0.09\n', /prices: .*currency: missing/],
  ['not-a-number.yaml', 'currency: EUR\nperGiB:\n  internet: cheap\n', /perGiB\.internet: "cheap" is not a number/],
  ['no-prices.yaml', 'currency: EUR\n', /perGiB: missing/],
  ['typo.yaml', 'currency: EUR\nperGib: {}\n', /perGib: unknown field/],
];

test("a price file is read; presets name each cloud's classes", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prices-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'prices.yaml');
  writeFileSync(file, 'currency: USD\nperGiB:\n  cross-zone: 0.02\n  cross-region: 0.02\n  internet: 0.09\n');
  assert.deepEqual(loadPrices(file), {
    currency: 'USD',
    perGiB: { 'cross-zone': 0.02, 'cross-region': 0.02, internet: 0.09 },
    source: file,
  });
  for (const name of ['aws', 'gcp', 'azure'] as const) {
    assert.equal(loadPrices(name), PRICE_PRESETS[name]);
    assert.ok(PRICE_PRESETS[name].perGiB.internet! > 0);
  }
  assert.equal(parseRunConfig(['--prices', 'gcp'], {}).config?.prices?.perGiB['cross-zone'], 0.01);
  assert.equal(parseRunConfig([], {}).config?.prices, undefined);
});

test('bad price files name the field', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prices-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text, re] of BAD) {
    const file = join(dir, name);
    writeFileSync(file, text);
    assert.throws(
      () => loadPrices(file),
      (err: unknown) => err instanceof ConfigError && err.field === 'prices' && re.test(err.message),
      name,
    );
  }
  assert.throws(() => loadPrices('ibm'), /neither a preset \(aws, gcp, azure\) nor a file/);
});

test('netflow-k8s run stops at start on a bad price file, exit code 2, naming the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prices-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text, re] of BAD.slice(0, 3)) {
    const file = join(dir, name);
    writeFileSync(file, text);
    const r = await runCli(['--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--prices', file]);
    assert.equal(r.code, 2, `${name}: exit 2 (stderr: ${r.stderr})`);
    assert.match(r.stderr, re, `${name}: the error names the field`);
  }
});
