/**
 * One copy of each OpenTelemetry package. The exporters pin exact versions of the SDK packages
 * (core, resources, sdk-metrics); beside ours, npm installed a second copy of each, and the main
 * thread loaded both once OTLP was on (about 2 MiB of heap, and two registries of the same
 * classes). package.json's `overrides` points every dependent at our version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every installed @opentelemetry/* package: name → the versions found, with where. */
function installed(dir: string, found = new Map<string, string[]>()): Map<string, string[]> {
  const scope = join(dir, 'node_modules', '@opentelemetry');
  if (existsSync(scope))
    for (const name of readdirSync(scope)) {
      const pkg = join(scope, name);
      const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string };
      found.set(`@opentelemetry/${name}`, [...(found.get(`@opentelemetry/${name}`) ?? []), `${version} (${pkg.slice(ROOT.length)})`]);
      installed(pkg, found);
    }
  const top = join(dir, 'node_modules');
  if (existsSync(top))
    for (const name of readdirSync(top)) {
      if (name.startsWith('.') || name === '@opentelemetry') continue;
      const dirs = name.startsWith('@') ? readdirSync(join(top, name)).map((n) => join(top, name, n)) : [join(top, name)];
      for (const d of dirs) if (existsSync(join(d, 'node_modules'))) installed(d, found);
    }
  return found;
}

test('every OpenTelemetry package is installed once', () => {
  const found = installed(ROOT);
  assert.ok(found.has('@opentelemetry/sdk-metrics'), 'the SDK is installed');
  const twice = [...found].filter(([, where]) => where.length > 1);
  assert.deepEqual(twice, []);
});
