/**
 * The OTLP settings taken from the standard environment: protocol and endpoint precedence, the
 * HTTP `v1/metrics` path rules, and bad values stopping the start with the variable's name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/options.ts';
import { otlpFromEnv } from '../../src/config/otlp-env.ts';
import { parseRunConfig, runHelp } from '../../src/config/run-options.ts';

test('protocol: --otlp-protocol, then OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, then OTEL_EXPORTER_OTLP_PROTOCOL, then grpc', () => {
  assert.equal(otlpFromEnv(undefined, undefined, {}).protocol, 'grpc');
  assert.equal(otlpFromEnv(undefined, undefined, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol, 'http/json');
  assert.equal(
    otlpFromEnv(undefined, undefined, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf' })
      .protocol,
    'http/protobuf',
  );
  assert.equal(otlpFromEnv('grpc', undefined, { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf' }).protocol, 'grpc');
  const viaFlag = parseRunConfig(['--otlp-protocol', 'http/json', '--otlp-endpoint', 'http://c:4318'], {}).config!;
  assert.equal(viaFlag.otlpProtocol, 'http/json');
  assert.equal(viaFlag.otlpEndpoint, 'http://c:4318/v1/metrics');
});

test('endpoint: the general variable is a base for HTTP, the metrics one and a flag with a path are used as given', () => {
  const http = (env: NodeJS.ProcessEnv, flag?: string) => otlpFromEnv('http/protobuf', flag, env).endpoint;
  assert.equal(http({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com' }), 'https://otlp.example.com/v1/metrics');
  assert.equal(http({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gw.example.com/otlp/' }), 'https://gw.example.com/otlp/v1/metrics');
  assert.equal(http({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://x.example.com/custom' }), 'https://x.example.com/custom');
  assert.equal(http({}, 'https://x.example.com/api/v1/otlp/v1/metrics'), 'https://x.example.com/api/v1/otlp/v1/metrics');
  assert.equal(
    otlpFromEnv('grpc', undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }).endpoint,
    'http://c:4317',
    'gRPC takes the base as is',
  );
  assert.equal(otlpFromEnv(undefined, undefined, {}).endpoint, undefined, 'OTLP off without an endpoint');
});

test('bad values name the variable or the field', () => {
  const field = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.field;
    }
    assert.fail('no error');
  };
  assert.equal(
    field(() => otlpFromEnv(undefined, undefined, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http' })),
    'OTEL_EXPORTER_OTLP_PROTOCOL',
  );
  assert.equal(
    field(() => otlpFromEnv(undefined, undefined, { OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '10s' })),
    'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT',
  );
  assert.equal(
    field(() => otlpFromEnv(undefined, undefined, { OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' })),
    'OTEL_EXPORTER_OTLP_COMPRESSION',
  );
  assert.equal(
    field(() => otlpFromEnv(undefined, undefined, { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'sometimes' })),
    'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
  );
  assert.equal(
    field(() => otlpFromEnv(undefined, 'not a url', {})),
    'otlpEndpoint',
  );
  assert.equal(
    field(() => otlpFromEnv(undefined, undefined, { OTEL_EXPORTER_OTLP_HEADERS: 'Bearer abc' })),
    'OTEL_EXPORTER_OTLP_HEADERS',
  );
  assert.equal(
    field(() => otlpFromEnv(undefined, undefined, { OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'a=1,,b=2' })),
    'OTEL_EXPORTER_OTLP_METRICS_HEADERS',
  );
  assert.equal(
    otlpFromEnv(undefined, undefined, { OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic dXNlcjpwYXNz==, x-scope-orgid=a' }).protocol,
    'grpc',
    'values may hold = and spaces',
  );
  assert.equal(
    field(() => otlpFromEnv(undefined, undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'nope' })),
    'OTEL_EXPORTER_OTLP_ENDPOINT',
  );
  const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c:4317' };
  assert.equal(
    field(() => otlpFromEnv(undefined, undefined, { ...on, OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem' })),
    'OTEL_EXPORTER_OTLP_CERTIFICATE',
  );
  assert.equal(
    field(() => otlpFromEnv(undefined, undefined, { ...on, OTEL_EXPORTER_OTLP_CLIENT_KEY: '/nonexistent/key.pem' })),
    'OTEL_EXPORTER_OTLP_CLIENT_KEY',
  );
  assert.equal(
    field(() => parseRunConfig(['--otlp-protocol', 'http'], {})),
    'otlpProtocol',
  );
});

test('--help names the new options with their variables and YAML keys', () => {
  const help = runHelp();
  assert.match(
    help,
    /--otlp-protocol grpc\|http\/protobuf\|http\/json\n.*OTEL_EXPORTER_OTLP_METRICS_PROTOCOL.*\[NETFLOW_K8S_OTLP_PROTOCOL; yaml: otlpProtocol\]/,
  );
  assert.match(help, /--web-config-file PATH\n.*basic_auth_users.*\[NETFLOW_K8S_WEB_CONFIG_FILE; yaml: webConfigFile\]/);
});
