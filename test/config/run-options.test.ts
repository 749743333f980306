/** `run` settings: CIDRs, addresses, cross-field checks, defaults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressBytes, cidrContains, defaultRunConfig, parseCidr, parseRunConfig } from '../../src/config/run-options.ts';
import { ConfigError } from '../../src/config/options.ts';
import { spreadFor } from '../../src/ingest/udp-spread.ts';

test('CIDRs: v4, v6, bare addresses, host bits cleared, IPv4-mapped senders match v4 networks', () => {
  const n = parseCidr('10.1.2.3/8', 'x');
  assert.equal(n.prefix, 8);
  assert.deepEqual([...n.bytes], [10, 0, 0, 0]);
  assert.ok(cidrContains(n, addressBytes('10.200.0.1')!));
  assert.ok(!cidrContains(n, addressBytes('11.0.0.1')!));
  assert.ok(cidrContains(n, addressBytes('::ffff:10.9.9.9')!), 'mapped IPv4 unwrapped');
  const h = parseCidr('192.0.2.7', 'x');
  assert.equal(h.prefix, 32);
  assert.ok(cidrContains(h, addressBytes('192.0.2.7')!));
  assert.ok(!cidrContains(h, addressBytes('192.0.2.8')!));
  const v6 = parseCidr('fd00:1::/32', 'x');
  assert.ok(cidrContains(v6, addressBytes('fd00:1:ffff::1')!));
  assert.ok(!cidrContains(v6, addressBytes('fd00:2::1')!));
  assert.ok(!cidrContains(v6, addressBytes('10.0.0.1')!), 'families never match each other');
  assert.ok(cidrContains(parseCidr('::/0', 'x'), addressBytes('2001:db8::1')!));
  assert.deepEqual([...addressBytes('::1')!], [...new Array(15).fill(0), 1]);
  assert.deepEqual([...addressBytes('64:ff9b::192.0.2.1')!].slice(12), [192, 0, 2, 1]);
  // An IPv4-mapped network is the IPv4 network it maps, for mapped and plain senders alike.
  const mapped = parseCidr('::ffff:10.0.0.0/104', 'x');
  assert.deepEqual([mapped.family, mapped.prefix, [...mapped.bytes]], [4, 8, [10, 0, 0, 0]]);
  assert.ok(cidrContains(mapped, addressBytes('10.200.0.1')!));
  assert.ok(cidrContains(mapped, addressBytes('::ffff:10.9.9.9')!));
  assert.ok(!cidrContains(mapped, addressBytes('11.0.0.1')!));
  assert.ok(cidrContains(parseCidr('::ffff:192.0.2.7', 'x'), addressBytes('192.0.2.7')!));
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'nonsense', '10.0.0.0/8/1', '10.0.0.0/x', '::ffff:10.0.0.0/64']) {
    assert.throws(
      () => parseCidr(bad, 'allowExporters'),
      (e: unknown) => e instanceof ConfigError && e.field === 'allowExporters',
      bad,
    );
  }
});

test('defaults and cross-field checks', () => {
  const d = defaultRunConfig();
  assert.deepEqual(d.listen, { host: '0.0.0.0', port: 2055 });
  assert.deepEqual(d.http, { host: '0.0.0.0', port: 8080 });
  assert.equal(d.maxSeries, 20_000);
  assert.equal(d.seriesTtlMs, 3_600_000);
  assert.equal(d.otlpIntervalMs, 30_000);
  assert.equal(d.recvBuffer, 8_388_608);
  // A drain per second: the main thread's merge work goes with the drains, not with traffic (issue 15).
  assert.equal(d.mergeIntervalMs, 1000);
  assert.equal(d.workers, 1);
  assert.equal(d.level, 'app');
  assert.equal(d.dedup, 'auto');
  assert.deepEqual(d.ephemeralPorts, { lo: 32768, hi: 60999 });
  assert.equal(d.otlpEndpoint, undefined, 'OTLP off without an endpoint');
  const env = parseRunConfig([], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' }).config!;
  assert.equal(env.otlpEndpoint, 'http://collector:4317', 'the standard OTel variable turns OTLP on');
  const both = parseRunConfig(['--otlp-endpoint', 'http://a:4317'], { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://b:4317' }).config!;
  assert.equal(both.otlpEndpoint, 'http://a:4317', 'the flag wins');
  assert.ok(parseRunConfig(['--workers', 'auto'], {}).config!.workers >= 1);
  assert.throws(() => parseRunConfig(['--inventory', 'a', '--kubeconfig', 'b'], {}), /inventory/);
  assert.throws(() => parseRunConfig(['stray'], {}), ConfigError);
  assert.deepEqual(parseRunConfig(['--extra-labels', 'role,port'], {}).config!.extraLabels, ['role', 'port']);
  assert.equal(parseRunConfig(['--help'], {}).help, true);
  assert.equal(d.udpSpread, 'auto');
  assert.equal(parseRunConfig([], { NETFLOW_K8S_UDP_SPREAD: 'exporter' }).config!.udpSpread, 'exporter');
  assert.throws(
    () => parseRunConfig(['--udp-backend', 'dgram', '--udp-spread', 'datagram'], {}),
    (e: unknown) => e instanceof ConfigError && e.field === 'udpSpread' && /native/.test(e.message),
    'spreading datagrams needs the native backend',
  );
});

test('udp spread: datagram only when asked for, where the native backend runs several threads', () => {
  // auto is the cheaper per-exporter hash: spreading one exporter over threads costs CPU (see udp-spread.ts).
  assert.deepEqual(spreadFor('auto', 'native', 2).mode, 'exporter');
  assert.deepEqual(spreadFor('datagram', 'native', 4).mode, 'datagram');
  assert.deepEqual(spreadFor('auto', 'native', 1).mode, 'exporter');
  assert.deepEqual(spreadFor('auto', 'dgram', 2).mode, 'exporter');
  assert.deepEqual(spreadFor('datagram', 'dgram', 2), { mode: 'exporter', reason: 'the dgram backend cannot steer datagrams' });
  assert.deepEqual(spreadFor('exporter', 'native', 2).mode, 'exporter');
});

test('decoder state and template scope: defaults, flags, environment, and bad values name the field', () => {
  const d = defaultRunConfig();
  assert.deepEqual(
    [d.templateScope, d.maxExporters, d.decoderStateBudget, d.maxTemplatesPerExporter, d.maxTemplateFields],
    ['address', 10_000, 33_554_432, 1024, 512],
  );
  const c = parseRunConfig(
    ['--template-scope', 'session', '--max-exporters', '500', '--decoder-state-budget', '8388608', '--max-template-fields', '64'],
    { NETFLOW_K8S_MAX_TEMPLATES_PER_EXPORTER: '32' },
  ).config!;
  assert.deepEqual(
    [c.templateScope, c.maxExporters, c.decoderStateBudget, c.maxTemplatesPerExporter, c.maxTemplateFields],
    ['session', 500, 8_388_608, 32, 64],
  );
  for (const [argv, field] of [
    [['--template-scope', 'port'], 'templateScope'],
    [['--max-exporters', '0'], 'maxExporters'],
    [['--decoder-state-budget', '1000'], 'decoderStateBudget'],
    [['--max-template-fields', '20000'], 'maxTemplateFields'],
  ] as const) {
    assert.throws(
      () => parseRunConfig([...argv], {}),
      (e: unknown) => e instanceof ConfigError && e.field === field,
      argv.join(' '),
    );
  }
});
