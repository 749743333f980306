/**
 * `netflow-k8s nodegraph` (the DaemonSet mode's cluster-wide Node Graph API and map page) takes
 * the same --web-config-file as the collector: TLS and basic auth on the API and the page, the
 * probe open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { startNodeGraphServer } from '../../src/cli/nodegraph.ts';
import { makePki, opensslAvailable } from '../support/certs.ts';

function status(port: number, path: string, ca: Buffer, auth?: string): Promise<number> {
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
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    )
      .on('error', reject)
      .end();
  });
}

test('nodegraph --web-config-file: TLS and basic auth on the API and the map page', {
  skip: !opensslAvailable() && 'openssl is not installed',
}, async (t) => {
  const pki = makePki();
  t.after(() => pki.remove());
  const ca = pki.ca('ca');
  const leaf = pki.leaf(ca, 'nodegraph', 'server');
  writeFileSync(
    join(pki.dir, 'web.yml'),
    `tls_server_config: { cert_file: ${leaf.cert}, key_file: ${leaf.key} }\nbasic_auth_users: { grafana: '${bcrypt.hashSync('pw', 4)}' }\n`,
  );
  const s = await startNodeGraphServer({
    http: { host: '127.0.0.1', port: 0 },
    prometheusUrl: 'http://127.0.0.1:9',
    logLevel: 'silent',
    webConfigFile: join(pki.dir, 'web.yml'),
  });
  t.after(() => s.stop());
  for (const path of ['/api/graph/fields', '/']) {
    assert.equal(await status(s.port, path, ca.certPem()), 401, path);
    assert.equal(await status(s.port, path, ca.certPem(), 'grafana:pw'), 200, path);
  }
  assert.equal(await status(s.port, '/healthz', ca.certPem()), 200);
});
