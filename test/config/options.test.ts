import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type OptionSpec } from '../../src/config/options.ts';

const SPECS: OptionSpec[] = [
  { key: 'namespace', kind: 'list', help: 'namespaces' },
  { key: 'url', kind: 'string', help: 'where' },
];

test('a repeated list flag adds up its values; any other repeated flag takes its last', () => {
  const p = parseConfig(SPECS, ['--namespace', 'a', '--url', 'x', '--namespace=b,c', '--url=y', '--namespace', 'd'], {});
  assert.deepEqual(p.values.namespace, ['a', 'b', 'c', 'd']);
  assert.equal(p.values.url, 'y');
});

test('a list flag given once wins over its environment variable, as before', () => {
  const p = parseConfig(SPECS, ['--namespace', 'a,b'], { NETFLOW_K8S_NAMESPACE: 'z' });
  assert.deepEqual(p.values.namespace, ['a', 'b']);
});
