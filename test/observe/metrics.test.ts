import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MetricsRegistry, formatNumber, escapeLabelValue, registerProcessMetrics } from '../../src/observe/metrics.ts';

test('counters and gauges with labels render as Prometheus text', () => {
  const reg = new MetricsRegistry();
  const dgrams = reg.counter('datagrams_received', 'Datagrams received per exporter', ['exporter']);
  const a = dgrams.labels('10.0.0.1');
  a.inc();
  a.inc(2);
  dgrams.labels('10.0.0.2').inc(5);
  const held = reg.gauge('records_held', 'Records waiting for a template');
  held.set(7);
  held.dec(2);
  reg.callback('store_pairs', 'Pairs in the store', 'gauge', () => 42);
  reg.callback(
    'informer_up',
    'Informer state by resource',
    'gauge',
    () => [
      [['pods'], 1],
      [['nodes'], 0],
    ],
    ['resource'],
  );
  const text = reg.render();
  assert.equal(
    text,
    [
      '# HELP netflow_k8s_datagrams_received_total Datagrams received per exporter',
      '# TYPE netflow_k8s_datagrams_received_total counter',
      'netflow_k8s_datagrams_received_total{exporter="10.0.0.1"} 3',
      'netflow_k8s_datagrams_received_total{exporter="10.0.0.2"} 5',
      '# HELP netflow_k8s_records_held Records waiting for a template',
      '# TYPE netflow_k8s_records_held gauge',
      'netflow_k8s_records_held 5',
      '# HELP netflow_k8s_store_pairs Pairs in the store',
      '# TYPE netflow_k8s_store_pairs gauge',
      'netflow_k8s_store_pairs 42',
      '# HELP netflow_k8s_informer_up Informer state by resource',
      '# TYPE netflow_k8s_informer_up gauge',
      'netflow_k8s_informer_up{resource="pods"} 1',
      'netflow_k8s_informer_up{resource="nodes"} 0',
      '',
    ].join('\n'),
  );
  assert.equal(dgrams.value('10.0.0.1'), 3);
  assert.equal(reg.get('datagrams_received'), dgrams);
});

test('names are checked, prefixed once, and registered once', () => {
  const reg = new MetricsRegistry();
  assert.equal(reg.counter('netflow_k8s_x_total', 'x').name, 'netflow_k8s_x_total');
  assert.throws(() => reg.counter('x', 'again'), /already registered/);
  assert.throws(() => reg.gauge('bad-name', 'x'), /bad metric name/);
  assert.throws(() => reg.gauge('y', 'x', ['__reserved']), /bad label name/);
  assert.throws(() => reg.counter('z', 'x', ['a']).labels(), /takes 1 label values/);
  assert.throws(() => reg.counter('w', 'x', ['a']).inc(), /has labels/);
});

test('a failing callback leaves its family out instead of breaking the page', () => {
  const reg = new MetricsRegistry();
  reg.callback('broken', 'x', 'gauge', () => {
    throw new Error('boom');
  });
  reg.gauge('fine', 'y').set(1);
  assert.equal(reg.render(), '# HELP netflow_k8s_fine y\n# TYPE netflow_k8s_fine gauge\nnetflow_k8s_fine 1\n');
});

test('numbers print like client libraries', () => {
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber(1126274), '1126274');
  assert.equal(formatNumber(2 ** 53), '9007199254740992');
  assert.equal(formatNumber(2 ** 60), '1152921504606846976');
  assert.equal(formatNumber(0.25), '0.25');
  assert.equal(formatNumber(1e21), '1000000000000000000000');
  assert.equal(formatNumber(-5), '-5');
  assert.equal(formatNumber(NaN), 'NaN');
  assert.equal(formatNumber(Infinity), '+Inf');
  assert.equal(formatNumber(-Infinity), '-Inf');
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
});

test('process metrics report CPU, memory, heap and event-loop lag, and promtool accepts the page', () => {
  const reg = new MetricsRegistry();
  const pm = registerProcessMetrics(reg, 1000);
  reg.counter('decode_errors', 'Decode errors by reason', ['reason']).labels('bad "length"\n').inc();
  try {
    const text = reg.render();
    const value = (re: RegExp) => Number(re.exec(text)?.[1]);
    assert.ok(value(/^netflow_k8s_process_cpu_seconds_total (\S+)$/m) > 0);
    assert.ok(value(/^netflow_k8s_process_resident_memory_bytes (\S+)$/m) > 1e6);
    assert.ok(value(/^netflow_k8s_process_heap_bytes\{kind="used"\} (\S+)$/m) > 1e5);
    assert.ok(value(/^netflow_k8s_event_loop_lag_seconds\{stat="max"\} (\S+)$/m) >= 0);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.error, undefined, 'promtool runs (Debian package prometheus)');
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'promtool has nothing to say about self-metrics');
    assert.equal(check.status, 0);
  } finally {
    pm.stop();
  }
});
