/**
 * The exporter-toolkit web configuration: what it accepts, paths relative to the file, and
 * errors that name the key; basic auth against bcrypt hashes (right, wrong, unknown user,
 * missing or malformed header).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../../src/config/options.ts';
import { loadWebConfig } from '../../src/observe/web-config.ts';
import { BasicAuth, tlsServerOptions } from '../../src/observe/web-guard.ts';

const HASH = bcrypt.hashSync('pw', 4);

function withFile(t: import('node:test').TestContext, yaml: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'web-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'web.yml'), yaml);
  return join(dir, 'web.yml');
}

test('a full file: TLS files relative to it, client CA, versions, headers and users', (t) => {
  const file = withFile(
    t,
    [
      'tls_server_config:',
      '  cert_file: tls.crt',
      '  key_file: tls.key',
      '  client_ca_file: ca.crt',
      '  client_auth_type: VerifyClientCertIfGiven',
      '  min_version: TLS13',
      'http_server_config:',
      '  http2: false',
      '  headers: { x-frame-options: deny }',
      'basic_auth_users:',
      `  alice: '${HASH}'`,
    ].join('\n'),
    { 'tls.crt': 'CERT', 'tls.key': 'KEY', 'ca.crt': 'CA' },
  );
  const w = loadWebConfig(file);
  assert.equal(w.tls?.cert.toString(), 'CERT');
  assert.equal(w.tls?.clientCa?.toString(), 'CA');
  assert.equal(w.tls?.minVersion, 'TLSv1.3');
  assert.deepEqual(w.headers, { 'X-Frame-Options': 'deny' });
  assert.equal(w.users.get('alice'), HASH);
  const o = tlsServerOptions(w.tls!);
  assert.equal(o.requestCert, true);
  assert.equal(o.rejectUnauthorized, false, 'IfGiven is checked after the handshake');
  // An empty file is valid: plain HTTP, no auth, as with the toolkit.
  const empty = loadWebConfig(withFile(t, ''));
  assert.equal(empty.tls, undefined);
  assert.equal(empty.users.size, 0);
});

test('mistakes stop the start naming webConfigFile and the key', (t) => {
  const cases: [string, RegExp, Record<string, string>?][] = [
    ['tls_server_config: { cert_file: nope.crt, key_file: nope.key }', /tls_server_config\.cert_file: cannot read "nope\.crt": ENOENT/],
    ['tls_server_config: { cert_file: a.crt }', /needs key_file/, { 'a.crt': 'x' }],
    [
      'tls_server_config: { cert_file: a.crt, key_file: a.crt, client_auth_type: Sometimes }',
      /client_auth_type: expected one of/,
      { 'a.crt': 'x' },
    ],
    [
      'tls_server_config: { cert_file: a.crt, key_file: a.crt, client_ca_file: a.crt }',
      /client_ca_file is set but client_auth_type is NoClientCert/,
      { 'a.crt': 'x' },
    ],
    [
      'tls_server_config: { cert_file: a.crt, key_file: a.crt, client_auth_type: RequireAndVerifyClientCert }',
      /needs client_ca_file/,
      { 'a.crt': 'x' },
    ],
    ['tls_server_config: { cert_file: a.crt, key_file: a.crt, min_version: TLS9 }', /min_version: expected one of TLS10/, { 'a.crt': 'x' }],
    [
      'tls_server_config: { cert_file: a.crt, key_file: a.crt, cipher_suites: [TLS_AES_128_GCM_SHA256] }',
      /cipher_suites is not supported by netflow-k8s/,
      { 'a.crt': 'x' },
    ],
    ['tls_config: {}', /tls_config is not a known key/],
    ['http_server_config: { headers: { Server: netflow } }', /http_server_config\.headers\.Server is not allowed/],
    ['http_server_config: { headers: { X-Content-Type-Options: sniff } }', /X-Content-Type-Options: bad value/],
    ['basic_auth_users: { bob: plaintext }', /basic_auth_users\.bob must be a bcrypt hash/],
    ['basic_auth_users: [bob]', /basic_auth_users must be a mapping/],
    ['a: [', /is not valid YAML/],
  ];
  for (const [yaml, message, extra] of cases) {
    const file = withFile(t, yaml, extra);
    assert.throws(
      () => loadWebConfig(file),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.field, 'webConfigFile');
        assert.match(err.message, message);
        return true;
      },
      yaml,
    );
  }
  assert.throws(() => loadWebConfig('/nonexistent/web.yml'), /config: webConfigFile: cannot read/);
});

test('basic auth: the right password, a wrong one, an unknown user, no or a malformed header', async () => {
  const auth = new BasicAuth(
    new Map([
      ['alice', HASH],
      ['bob', bcrypt.hashSync('other', 4)],
    ]),
  );
  const req = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  assert.equal(await auth.check(req(basic('alice:pw'))), 'ok');
  assert.equal(await auth.check(req(basic('alice:pw'))), 'ok', 'remembered');
  assert.equal(await auth.check(req(basic('alice:other'))), 'wrong');
  assert.equal(await auth.check(req(basic('bob:pw'))), 'wrong', "another user's password");
  assert.equal(await auth.check(req(basic('carol:pw'))), 'wrong');
  assert.equal(await auth.check(req(basic('alice'))), 'wrong');
  assert.equal(await auth.check(req()), 'missing');
  assert.equal(await auth.check(req('Bearer abc')), 'missing');
  assert.equal(await auth.check(req(basic('alice:pw:x'))), 'wrong', 'the password is everything after the first colon');
  assert.equal(new BasicAuth(new Map()).enabled, false);
  // htpasswd -B writes $2y$ (the same algorithm as $2b$).
  const y = new BasicAuth(new Map([['carol', bcrypt.hashSync('pw', 4).replace(/^\$2b\$/, '$2y$')]]));
  assert.equal(await y.check(req(basic('carol:pw'))), 'ok');
  assert.equal(await y.check(req(basic('carol:px'))), 'wrong');
});
