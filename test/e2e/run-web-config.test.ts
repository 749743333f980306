/**
 * --web-config-file (the Prometheus exporter-toolkit format) on the real program, with
 * certificates made here by openssl and a bcrypt hash: every endpoint (/metrics, the Node Graph
 * API, the map page) is served over TLS behind basic auth, Debian's real Prometheus scrapes it
 * with its own tls_config and basic_auth, a wrong password gets 401 and is counted, and plain
 * HTTP to the TLS port is refused. Then mTLS: only a client with a certificate from the client
 * CA gets in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { startCollectorProcess, parsePromText, pollUntil, type CollectorProcess } from '../support/run-collector.ts';
import { runSoftflowd, softflowdAvailable } from '../support/softflowd.ts';
import { prometheusAvailable, startPrometheus, type Prometheus } from '../support/prometheus.ts';
import { makePki, opensslAvailable, type CertFiles } from '../support/certs.ts';
import { PCAP } from './fixtures/k8s-basic.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));
const skip = !opensslAvailable()
  ? 'openssl is not installed'
  : !prometheusAvailable()
    ? 'prometheus is not installed (Debian package prometheus)'
    : !softflowdAvailable()
      ? 'softflowd is not installed'
      : false;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, opts: { ca: Buffer; auth?: string; client?: CertFiles }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: opts.ca,
        ...(opts.client ? { cert: opts.client.certPem(), key: opts.client.keyPem() } : {}),
        headers: opts.auth ? { authorization: `Basic ${Buffer.from(opts.auth).toString('base64')}` } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const sumOf = (text: string, name: string, labels: Record<string, string> = {}) =>
  parsePromText(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

test('TLS and basic auth on every endpoint; a real Prometheus scrapes with its tls_config and basic_auth; 401s counted; plain HTTP refused', {
  skip,
  timeout: 180_000,
}, async (t) => {
  const pki = makePki();
  t.after(() => pki.remove());
  const ca = pki.ca('web-ca');
  const server = pki.leaf(ca, 'collector', 'server');
  // Relative paths are read from the web config's own directory, as the toolkit does.
  writeFileSync(
    join(pki.dir, 'web.yml'),
    [
      'tls_server_config:',
      '  cert_file: collector.crt',
      '  key_file: collector.key',
      'http_server_config:',
      '  headers:',
      '    X-Content-Type-Options: nosniff',
      '    Strict-Transport-Security: max-age=31536000',
      'basic_auth_users:',
      `  prometheus: ${bcrypt.hashSync('scrape-s3cret', 10)}`,
    ].join('\n'),
  );

  let col: CollectorProcess | undefined;
  let prom: Prometheus | undefined;
  t.after(async () => {
    await prom?.stop();
    if (col) await col.stop('SIGKILL');
  });
  col = await startCollectorProcess(['--inventory', INVENTORY, '--merge-interval', '100ms', '--web-config-file', join(pki.dir, 'web.yml')]);
  const c = col;
  assert.match(c.httpUrl, /^https:\/\//);
  const v9 = await runSoftflowd({ pcap: PCAP, host: '127.0.0.1', port: c.udpPort, version: 9 });
  assert.equal(v9.code, 0, v9.log);
  const caPem = ca.certPem();
  const good = { ca: caPem, auth: 'prometheus:scrape-s3cret' };

  // Every endpoint wants credentials; the probes do not.
  for (const path of ['/metrics', '/metrics/otel', '/api/health', '/api/graph/fields', '/']) {
    const none = await get(c.httpUrl + path, { ca: caPem });
    assert.equal(none.status, 401, `${path} without credentials`);
    assert.equal(none.headers['www-authenticate'], 'Basic');
    assert.equal((await get(c.httpUrl + path, { ca: caPem, auth: 'prometheus:wrong' })).status, 401, `${path} with a wrong password`);
    assert.equal((await get(c.httpUrl + path, { ca: caPem, auth: 'nobody:scrape-s3cret' })).status, 401, `${path} with an unknown user`);
    const ok = await get(c.httpUrl + path, good);
    assert.equal(ok.status, 200, `${path} with credentials`);
    assert.equal(ok.headers['x-content-type-options'], 'nosniff');
    assert.equal(ok.headers['strict-transport-security'], 'max-age=31536000');
  }
  assert.equal((await get(`${c.httpUrl}/healthz`, { ca: caPem })).status, 200, 'kubelet probes need no credentials');

  // Plain HTTP to the TLS port gets no answer.
  await assert.rejects(fetch(c.httpUrl.replace('https://', 'http://') + '/metrics'));
  // Nor does a client that does not trust our CA.
  await assert.rejects(get(`${c.httpUrl}/metrics`, { ca: pki.ca('other-ca').certPem(), auth: good.auth }));

  const page = await pollUntil(async () => {
    const r = await get(`${c.httpUrl}/metrics`, good);
    return sumOf(r.body, 'netflow_connection_count') === 19 && r.body;
  }, 30_000);
  assert.equal(sumOf(page, 'netflow_k8s_http_unauthorized_total', { reason: 'missing' }), 5);
  assert.equal(sumOf(page, 'netflow_k8s_http_unauthorized_total', { reason: 'wrong' }), 10);
  assert.ok(sumOf(page, 'netflow_k8s_http_tls_refused_total') >= 1, 'the plain-HTTP attempt is counted');

  // Debian's Prometheus, one job with the right password and one with a wrong one.
  const target = c.httpUrl.replace('https://', '');
  writeFileSync(join(pki.dir, 'good-pass'), 'scrape-s3cret');
  const tlsJob = (name: string, password: string) =>
    [
      `  - job_name: ${name}`,
      '    scheme: https',
      `    tls_config: { ca_file: ${JSON.stringify(ca.cert)} }`,
      `    basic_auth: { username: prometheus, ${password} }`,
      `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
    ].join('\n');
  prom = await startPrometheus({
    targets: [],
    extraScrapeConfig: [
      tlsJob('tls-auth', `password_file: ${JSON.stringify(join(pki.dir, 'good-pass'))}`),
      tlsJob('tls-wrong', 'password: not-it'),
    ].join('\n'),
  });
  const scraped = await prom.waitFor('sum by (job) (netflow_connection_count)', (s) => s.length > 0 && s[0].value === 19, 60_000);
  assert.deepEqual(
    scraped.map((s) => [s.metric.job, s.value]),
    [['tls-auth', 19]],
    `only the job with the password stores series:\n${prom.log()}`,
  );
  const targets = await pollUntil(async () => {
    const ts = await prom!.targets();
    return ts.length === 2 && ts.every((x) => x.health !== 'unknown') && ts;
  }, 30_000);
  const wrong = targets.find((x) => x.scrapeUrl.startsWith('https://') && x.health === 'down');
  assert.ok(wrong, `the wrong password's target is down: ${JSON.stringify(targets)}`);
  assert.match(wrong.lastError, /401/);
  assert.ok(targets.some((x) => x.health === 'up'));
  const after = (await get(`${c.httpUrl}/metrics`, good)).body;
  assert.ok(sumOf(after, 'netflow_k8s_http_unauthorized_total', { reason: 'wrong' }) > 10, "Prometheus's wrong password is counted too");

  const exit = await c.stop('SIGTERM');
  col = undefined;
  assert.equal(exit.code, 0);
});

test('mTLS: RequireAndVerifyClientCert lets in a client certificate from the client CA only; Prometheus scrapes with cert_file', {
  skip,
  timeout: 120_000,
}, async (t) => {
  const pki = makePki();
  t.after(() => pki.remove());
  const ca = pki.ca('server-ca');
  const clientCa = pki.ca('client-ca');
  const server = pki.leaf(ca, 'collector', 'server');
  const client = pki.leaf(clientCa, 'prometheus', 'client');
  const stranger = pki.leaf(pki.ca('stranger-ca'), 'stranger', 'client');
  writeFileSync(
    join(pki.dir, 'web.yml'),
    [
      'tls_server_config:',
      `  cert_file: ${server.cert}`,
      `  key_file: ${server.key}`,
      `  client_ca_file: ${clientCa.cert}`,
      '  client_auth_type: RequireAndVerifyClientCert',
    ].join('\n'),
  );
  let col: CollectorProcess | undefined;
  let prom: Prometheus | undefined;
  t.after(async () => {
    await prom?.stop();
    if (col) await col.stop('SIGKILL');
  });
  col = await startCollectorProcess(['--inventory', INVENTORY, '--web-config-file', join(pki.dir, 'web.yml')]);
  const c = col;
  assert.equal((await get(`${c.httpUrl}/metrics`, { ca: ca.certPem(), client })).status, 200);
  await assert.rejects(get(`${c.httpUrl}/metrics`, { ca: ca.certPem() }), 'no client certificate');
  await assert.rejects(get(`${c.httpUrl}/metrics`, { ca: ca.certPem(), client: stranger }), 'a certificate from another CA');

  prom = await startPrometheus({
    targets: [],
    extraScrapeConfig: [
      '  - job_name: mtls',
      '    scheme: https',
      `    tls_config: { ca_file: ${JSON.stringify(ca.cert)}, cert_file: ${JSON.stringify(client.cert)}, key_file: ${JSON.stringify(client.key)} }`,
      `    static_configs: [{ targets: [${JSON.stringify(c.httpUrl.replace('https://', ''))}] }]`,
    ].join('\n'),
  });
  const up = await prom.waitFor('up{job="mtls"}', (s) => s.length === 1 && s[0].value === 1, 30_000);
  assert.equal(up[0]?.value, 1, prom.log());
  assert.equal((await c.stop('SIGTERM')).code, 0);
  col = undefined;
});
