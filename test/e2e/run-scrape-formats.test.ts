/**
 * A real Prometheus (Debian's) scrapes the real program in each format: OpenMetrics 1.0.0 (what
 * Prometheus asks for by default) and the classic text format (a proxy in the test rewrites the
 * Accept header, as a Prometheus 2.42 cannot be told to ask for it), both gzipped. Both jobs
 * store the same series under the same names, the seed's `netflow_connection_count` included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startCollectorProcess, pollUntil, parsePromText, type CollectorProcess } from '../support/run-collector.ts';
import { runSoftflowd, softflowdAvailable } from '../support/softflowd.ts';
import { prometheusAvailable, startPrometheus, type Prometheus } from '../support/prometheus.ts';
import { PCAP } from './fixtures/k8s-basic.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));
const skip = !prometheusAvailable()
  ? 'prometheus is not installed (Debian package prometheus)'
  : !softflowdAvailable()
    ? 'softflowd is not installed'
    : false;

test('Prometheus stores the same series from the OpenMetrics and the classic page, both gzipped', { skip, timeout: 180_000 }, async (t) => {
  let col: CollectorProcess | undefined;
  let prom: Prometheus | undefined;
  const seen: Record<string, { request: IncomingHttpHeaders; type: string; encoding: string }> = {};
  const proxy = createServer((req, res) => {
    const [, job] = /^\/(om|classic)\//.exec(req.url ?? '') ?? [];
    const headers = { ...req.headers };
    if (job === 'classic') headers.accept = 'text/plain;version=0.0.4';
    request({ host: '127.0.0.1', port: new URL(col!.httpUrl).port, path: '/metrics', headers }, (up) => {
      seen[job] = { request: req.headers, type: String(up.headers['content-type']), encoding: String(up.headers['content-encoding']) };
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    })
      .on('error', () => res.writeHead(502).end())
      .end();
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  t.after(async () => {
    await prom?.stop();
    if (col) await col.stop('SIGKILL');
    proxy.close();
  });
  col = await startCollectorProcess(['--inventory', INVENTORY, '--merge-interval', '100ms']);
  const v9 = await runSoftflowd({ pcap: PCAP, host: '127.0.0.1', port: col.udpPort, version: 9 });
  assert.equal(v9.code, 0, v9.log);
  await pollUntil(
    async () =>
      parsePromText((await col!.get('/metrics')).body)
        .filter((s) => s.name === 'netflow_connection_count')
        .reduce((a, s) => a + s.value, 0) === 19,
    30_000,
  );

  const target = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const job = (name: string) =>
    [`  - job_name: ${name}`, `    metrics_path: /${name}/metrics`, `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`].join(
      '\n',
    );
  prom = await startPrometheus({ targets: [], extraScrapeConfig: [job('om'), job('classic')].join('\n') });
  const p = prom;
  const totals = await p.waitFor(
    'sum by (job) (netflow_connection_count)',
    (s) => s.length === 2 && s.every((x) => x.value === 19),
    60_000,
  );
  assert.deepEqual(
    totals.map((s) => [s.metric.job, s.value]).sort(),
    [
      ['classic', 19],
      ['om', 19],
    ],
    p.log(),
  );

  assert.match(seen.om.request.accept ?? '', /^application\/openmetrics-text;version=1\.0\.0/, 'Prometheus asks for OpenMetrics first');
  assert.match(seen.om.request['accept-encoding'] ?? '', /gzip/, 'Prometheus asks for gzip');
  assert.equal(seen.om.type, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  assert.equal(seen.classic.type, 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(seen.om.encoding, 'gzip');
  assert.equal(seen.classic.encoding, 'gzip');

  // The same names and series in both jobs, self-metrics included.
  const names = async (j: string) =>
    (await p.query(`count by (__name__) ({job="${j}", __name__=~"netflow_.*"})`)).map((s) => `${s.metric.__name__} ${s.value}`).sort();
  const om = await names('om');
  assert.deepEqual(om, await names('classic'));
  for (const n of ['netflow_connection_count', 'netflow_connection_bytes', 'netflow_connection_packets'])
    assert.ok(
      om.some((l) => l.startsWith(`${n} `)),
      `${n} is stored under its own name`,
    );
  assert.ok(
    om.some((l) => /^netflow_k8s_\w+_total /.test(l)),
    'self-metric counters keep _total',
  );
  const up = await p.query('up');
  assert.ok(up.length === 2 && up.every((s) => s.value === 1), JSON.stringify(up));
  assert.equal((await col.stop('SIGTERM')).code, 0);
  col = undefined;
});
