/**
 * The web configuration on a live HttpServer: TLS with the configured certificate, basic auth
 * everywhere but the probes, the configured headers; and a reload that takes up a rotated
 * certificate and changed users for new connections, while a file that does not load, or asks
 * for what needs a restart, leaves the settings in force.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { HttpServer, sendText } from '../../src/observe/http.ts';
import { MetricsRegistry } from '../../src/observe/metrics.ts';
import { loadWebConfig } from '../../src/observe/web-config.ts';
import { registerWebMetrics, WebServing } from '../../src/observe/web-server.ts';
import { makePki, opensslAvailable } from '../support/certs.ts';

function get(port: number, path: string, ca: Buffer, auth?: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    request(
      {
        host: '127.0.0.1',
        port,
        path,
        ca,
        agent: false,
        headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    )
      .on('error', reject)
      .end();
  });
}

test('TLS, basic auth and headers on a live server; reload takes up a new certificate and users, refuses what needs a restart', {
  skip: !opensslAvailable() && 'openssl is not installed',
}, async (t) => {
  const pki = makePki();
  t.after(() => pki.remove());
  const ca1 = pki.ca('ca1'),
    ca2 = pki.ca('ca2');
  const a = pki.leaf(ca1, 'a', 'server'),
    b = pki.leaf(ca2, 'b', 'server');
  const web = join(pki.dir, 'web.yml');
  const yml = (user: string, pw: string, tls = true) =>
    writeFileSync(
      web,
      [
        ...(tls ? ['tls_server_config:', '  cert_file: tls.crt', '  key_file: tls.key'] : []),
        'http_server_config: { headers: { X-Frame-Options: deny } }',
        'basic_auth_users:',
        `  ${user}: '${bcrypt.hashSync(pw, 4)}'`,
      ].join('\n'),
    );
  copyFileSync(a.cert, join(pki.dir, 'tls.crt'));
  copyFileSync(a.key, join(pki.dir, 'tls.key'));
  yml('alice', 'pw1');

  const reg = new MetricsRegistry();
  const serving = new WebServing(loadWebConfig(web), registerWebMetrics(reg));
  const server = new HttpServer(serving.options());
  server.route('GET', '/metrics', (req, res) => sendText(res, 200, 'text/plain', 'm 1\n'));
  server.route('GET', '/healthz', (req, res) => sendText(res, 200, 'text/plain', 'ok\n'));
  const { port } = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());

  const ok = await get(port, '/metrics', ca1.certPem(), 'alice:pw1');
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['x-frame-options'], 'deny');
  assert.equal((await get(port, '/metrics', ca1.certPem())).status, 401);
  assert.equal((await get(port, '/metrics', ca1.certPem(), 'alice:nope')).status, 401);
  assert.equal((await get(port, '/healthz', ca1.certPem())).status, 200);
  assert.equal((await get(port, '/nothing-here', ca1.certPem())).status, 401, 'no route is told apart without credentials');
  assert.match(
    reg.render(),
    /netflow_k8s_http_unauthorized_total\{reason="missing"\} 2\nnetflow_k8s_http_unauthorized_total\{reason="wrong"\} 1\n/,
  );

  // Rotation: a certificate from another CA and another user.
  copyFileSync(b.cert, join(pki.dir, 'tls.crt'));
  copyFileSync(b.key, join(pki.dir, 'tls.key'));
  yml('bob', 'pw2');
  serving.reload(server);
  assert.equal((await get(port, '/metrics', ca2.certPem(), 'bob:pw2')).status, 200);
  assert.equal((await get(port, '/metrics', ca2.certPem(), 'alice:pw1')).status, 401, 'the old user is gone');
  await assert.rejects(get(port, '/metrics', ca1.certPem(), 'bob:pw2'), 'the old certificate is no longer served');

  // What cannot be taken up keeps the settings in force.
  yml('carol', 'pw3', false);
  assert.throws(() => serving.reload(server), /turning TLS on or off needs a restart/);
  writeFileSync(web, 'basic_auth_users: { dave: plaintext }');
  assert.throws(() => serving.reload(server), /basic_auth_users\.dave must be a bcrypt hash/);
  assert.equal((await get(port, '/metrics', ca2.certPem(), 'bob:pw2')).status, 200);
  assert.deepEqual(serving.config.files.map((f) => f.slice(pki.dir.length + 1)).sort(), ['tls.crt', 'tls.key', 'web.yml']);
});

function getWithCert(port: number, ca: Buffer, client?: { certPem(): Buffer; keyPem(): Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    request(
      { host: '127.0.0.1', port, path: '/metrics', ca, agent: false, ...(client ? { cert: client.certPem(), key: client.keyPem() } : {}) },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    )
      .on('error', reject)
      .end();
  });
}

test('client certificate policies: VerifyClientCertIfGiven, RequireAnyClientCert, client_allowed_sans', {
  skip: !opensslAvailable() && 'openssl is not installed',
}, async (t) => {
  const pki = makePki();
  t.after(() => pki.remove());
  const ca = pki.ca('ca'),
    clientCa = pki.ca('client-ca'),
    other = pki.ca('other');
  const server = pki.leaf(ca, 'server', 'server');
  const good = pki.leaf(clientCa, 'good', 'client'),
    stranger = pki.leaf(other, 'stranger', 'client');
  const start = async (policy: string, extra = '') => {
    const file = join(pki.dir, `${policy}.yml`);
    writeFileSync(
      file,
      `tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${server.key}\n  client_auth_type: ${policy}\n${policy === 'RequireAnyClientCert' ? '' : `  client_ca_file: ${clientCa.cert}\n`}${extra}`,
    );
    const reg = new MetricsRegistry();
    const s = new HttpServer(new WebServing(loadWebConfig(file), registerWebMetrics(reg)).options());
    s.route('GET', '/metrics', (req, res) => sendText(res, 200, 'text/plain', 'm 1\n'));
    const { port } = await s.listen('127.0.0.1', 0);
    t.after(() => s.close());
    return { port, refused: () => /netflow_k8s_http_tls_refused_total (\d+)/.exec(reg.render())?.[1] };
  };

  const ifGiven = await start('VerifyClientCertIfGiven');
  assert.equal(await getWithCert(ifGiven.port, ca.certPem()), 200, 'no certificate: let in');
  assert.equal(await getWithCert(ifGiven.port, ca.certPem(), good), 200, 'a certificate from the client CA: let in');
  await assert.rejects(getWithCert(ifGiven.port, ca.certPem(), stranger), 'a certificate from elsewhere: refused');
  assert.equal(ifGiven.refused(), '1');

  const any = await start('RequireAnyClientCert');
  await assert.rejects(getWithCert(any.port, ca.certPem()), 'no certificate: refused');
  assert.equal(await getWithCert(any.port, ca.certPem(), stranger), 200, 'any certificate: let in');

  const named = pki.leaf(clientCa, 'named', 'client', 'DNS:prometheus.monitoring.svc');
  const sans = await start('RequireAndVerifyClientCert', '  client_allowed_sans: [prometheus.monitoring.svc]\n');
  assert.equal(await getWithCert(sans.port, ca.certPem(), named), 200, 'a verified certificate with an allowed SAN: let in');
  await assert.rejects(getWithCert(sans.port, ca.certPem(), good), 'a verified certificate without an allowed SAN: refused');
});
