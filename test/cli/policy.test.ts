/**
 * `netflow-k8s policy` as a user meets it when something is off: a missing --url, an unknown
 * subcommand, a file that cannot be read, a collector that cannot be reached: exit 2 and a message
 * naming what to fix. (What it prints against a live collector: test/e2e/run-policy.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../support/cli.ts';

test('policy: usage, and every mistake exits 2 naming what to fix', { timeout: 60_000 }, async () => {
  const help = await runCli(['policy', 'suggest', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--namespace/);
  assert.match(help.stdout, /--egress/);
  const cases: [string[], RegExp][] = [
    [['policy', 'suggest'], /netflow-k8s policy: config: url: required/],
    [['policy', 'frob'], /unknown subcommand "frob": expected suggest or check/],
    [['policy', 'check', '--url', 'http://127.0.0.1:9'], /config: FILE: give the NetworkPolicy YAML files to check/],
    [['policy', 'check', '--url', 'http://127.0.0.1:9', '/nonexistent/p.yaml'], /\/nonexistent\/p\.yaml: ENOENT/],
    [['policy', 'suggest', '--url', 'http://127.0.0.1:9'], /config: url: cannot reach http:\/\/127\.0\.0\.1:9/],
    [['policy', 'suggest', '--url', 'http://127.0.0.1:9', '--since', 'soon'], /since/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});
