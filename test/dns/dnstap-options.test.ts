import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunConfig } from '../../src/config/run-options.ts';
import { ConfigError } from '../../src/config/options.ts';

test('--dnstap-*: off unless a listener is given; defaults; env and flags; bad values name their field', () => {
  assert.equal(parseRunConfig([], {}).config!.dnstap, undefined);
  assert.deepEqual(parseRunConfig(['--dnstap-listen', ':6000'], {}).config!.dnstap, {
    listen: { host: '0.0.0.0', port: 6000 },
    socket: undefined,
    maxNames: 100_000,
    graceMs: 600_000,
    overNetworks: false,
    nameSuffixes: ['default'],
  });
  const env = {
    NETFLOW_K8S_DNSTAP_SOCKET: '/run/dnstap.sock',
    NETFLOW_K8S_DNSTAP_MAX_NAMES: '5000',
    NETFLOW_K8S_DNS_GRACE: '2m',
    NETFLOW_K8S_DNS_OVER_NETWORKS: 'true',
    NETFLOW_K8S_DNS_NAME_SUFFIXES: 'default,*.corp.example=corp',
  };
  assert.deepEqual(parseRunConfig([], env).config!.dnstap, {
    listen: undefined,
    socket: '/run/dnstap.sock',
    maxNames: 5000,
    graceMs: 120_000,
    overNetworks: true,
    nameSuffixes: ['default', '*.corp.example=corp'],
  });
  const cases: [string[], string][] = [
    [['--dnstap-listen', 'nowhere'], 'dnstapListen'],
    [['--dnstap-listen', ':6000', '--dnstap-max-names', '0'], 'dnstapMaxNames'],
    [['--dnstap-listen', ':6000', '--dns-grace', 'soon'], 'dnsGrace'],
    [['--dns-name-suffixes', 's3.amazonaws.com'], 'dnsNameSuffixes'],
  ];
  for (const [argv, field] of cases) {
    assert.throws(
      () => parseRunConfig(argv, {}),
      (e: unknown) => e instanceof ConfigError && e.field === field,
      argv.join(' '),
    );
  }
  assert.throws(
    () => parseRunConfig(['--dnstap-listen', ':6000'], { NETFLOW_K8S_DNS_OVER_NETWORKS: 'maybe' }),
    (e: unknown) => e instanceof ConfigError && e.field === 'dnsOverNetworks',
  );
});
