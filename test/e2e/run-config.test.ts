/**
 * `netflow-k8s run` settings: --help lists every option; flags, environment variables and a YAML
 * file all reach the running program; bad values stop it at start with exit code 2 and the
 * field's name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, startCollectorProcess, parsePromText, pollUntil } from '../support/run-collector.ts';
import { RUN_OPTIONS } from '../../src/config/run-option-table.ts';
import { flagName } from '../../src/config/options.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));

const AGREED = [
  '--listen',
  '--http',
  '--inventory',
  '--kubeconfig',
  '--otlp-endpoint',
  '--otlp-interval',
  '--cluster-name',
  '--level',
  '--max-series',
  '--series-ttl',
  '--dedup',
  '--extra-labels',
  '--templates-file',
  '--template-ttl',
  '--allow-exporters',
  '--recv-buffer',
  '--workers',
  '--asn-db',
  '--networks',
  '--label-precedence',
  '--ephemeral-ports',
  '--prometheus-url',
  '--prometheus-bearer-token-file',
  '--prometheus-ca-file',
  '--log-level',
];

test('--help lists every agreed option with its environment variable', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const f of AGREED) assert.ok(r.stdout.includes(`  ${f}`), `--help lists ${f}`);
  for (const s of RUN_OPTIONS) assert.ok(r.stdout.includes(flagName(s.key)), `--help lists ${flagName(s.key)}`);
  assert.match(r.stdout, /NETFLOW_K8S_MAX_SERIES/);
});

test('bad settings stop the program at start with exit code 2 naming the field', async () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--max-series', 'lots'], {}, /maxSeries/],
    [['--level', 'cluster'], {}, /level/],
    [['--listen', 'nowhere'], {}, /listen/],
    [['--allow-exporters', '10.0.0.0/33'], {}, /allowExporters/],
    [['--extra-labels', 'colour'], {}, /extraLabels/],
    [['--ephemeral-ports', '60000-1000'], {}, /ephemeralPorts/],
    [['--workers', 'many'], {}, /workers/],
    [['--otlp-endpoint', 'not a url'], {}, /otlpEndpoint/],
    [['--no-such-flag'], {}, /no-such-flag/],
    [[], { NETFLOW_K8S_SERIES_TTL: 'forever' }, /seriesTtl/],
    [['--inventory', '/nonexistent/inventory.json'], {}, /inventory/],
    [['--networks', 'office=300.1.2.0/24'], {}, /networks/],
    // Issue 19: the standard OTLP variables and the web configuration.
    [['--otlp-protocol', 'http'], {}, /otlpProtocol/],
    [[], { OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }, /OTEL_EXPORTER_OTLP_PROTOCOL/],
    [
      [],
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c:4317', OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem' },
      /OTEL_EXPORTER_OTLP_CERTIFICATE/,
    ],
    [['--web-config-file', '/nonexistent/web.yml'], {}, /webConfigFile/],
  ];
  for (const [args, env, re] of cases) {
    const r = await runCli(['--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', ...args], env);
    assert.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)} exits 2 (stderr: ${r.stderr}, stdout: ${r.stdout})`);
    assert.match(r.stderr, re, `${args.join(' ')}: the error names the field`);
  }
});

test('a YAML file and environment variables reach the running program', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'run-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const yaml = join(dir, 'config.yaml');
  writeFileSync(yaml, `inventory: ${INVENTORY}\nmaxSeries: 1234\nlevel: namespace\n`);
  const c = await startCollectorProcess(['--config', yaml], { env: { NETFLOW_K8S_MAX_SERIES: '777' } });
  t.after(() => c.stop('SIGKILL'));
  const m = parsePromText((await c.get('/metrics')).body);
  // Precedence: the environment beats the file.
  assert.equal(m.find((s) => s.name === 'netflow_k8s_pairs_max')?.value, 777);
  // Ready once the start settled (a few hundred ms after it listens).
  await pollUntil(async () => (await c.get('/readyz')).status === 200, 30_000);
  const exit = await c.stop('SIGTERM');
  assert.equal(exit.code, 0);
});
