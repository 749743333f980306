/**
 * The TLS and basic-auth variant of the prometheus-operator overlays: the collector gets
 * --web-config-file from its Secret and HTTPS probes, and the ServiceMonitor / PodMonitor scrape
 * over HTTPS with the CA and credentials those Secrets hold. The shipped web.yml is checked by
 * the collector's own loader: its paths are where the pod mounts the certificate, and its
 * placeholder hash stops a start until replaced. (Schemas and unknown fields of these overlays
 * are checked with every other kustomization in manifests.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { parse as parseYaml } from 'yaml';
import { parseRunConfig } from '../../src/config/run-options.ts';
import { loadWebConfig } from '../../src/observe/web-config.ts';
import { findKubectl, kustomize, type K8sObject } from './k8s-validate.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KUBECTL = findKubectl();
const WEB_YML = join(ROOT, 'deploy/components/web-tls/web.yml');

function collector(objs: K8sObject[], kind: string): { spec: K8sObject; c: K8sObject } {
  const w = objs.find((o) => o.kind === kind && o.metadata?.name === 'netflow-k8s');
  assert.ok(w, `${kind}/netflow-k8s`);
  const spec = w.spec.template.spec;
  return { spec, c: (spec.containers as K8sObject[]).find((x) => x.name === 'collector')! };
}

for (const [overlay, kind, monitorKind, endpoints] of [
  ['deployment-prometheus-operator-tls', 'Deployment', 'ServiceMonitor', 'endpoints'],
  ['daemonset-prometheus-operator-tls', 'DaemonSet', 'PodMonitor', 'podMetricsEndpoints'],
] as const) {
  test(`${overlay}: the collector serves HTTPS with its web config, the ${monitorKind} scrapes with the CA and credentials`, {
    skip: !KUBECTL && 'kubectl is not installed',
  }, () => {
    const objs = kustomize(KUBECTL!, join(ROOT, 'deploy/overlays', overlay));
    const { spec, c } = collector(objs, kind);
    const env = Object.fromEntries((c.env as K8sObject[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    const mountOf = (volumeName: string) => (c.volumeMounts as K8sObject[]).find((m) => m.name === volumeName)?.mountPath;
    const secretOf = (volumeName: string) => (spec.volumes as K8sObject[]).find((v) => v.name === volumeName)?.secret?.secretName;
    assert.equal(env.NETFLOW_K8S_WEB_CONFIG_FILE, `${mountOf('web-config')}/web.yml`);
    assert.equal(secretOf('web-config'), 'netflow-k8s-web-config');
    assert.equal(secretOf('web-tls'), 'netflow-k8s-tls');
    // Only the variable under test: others hold $(VAR) references the kubelet expands.
    assert.equal(
      parseRunConfig([], { NETFLOW_K8S_WEB_CONFIG_FILE: env.NETFLOW_K8S_WEB_CONFIG_FILE }).config?.webConfigFile,
      env.NETFLOW_K8S_WEB_CONFIG_FILE,
      'the variable is a real option',
    );
    for (const p of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      assert.equal(c[p].httpGet.scheme, 'HTTPS', p);
      assert.match(c[p].httpGet.path, /^\/(healthz|readyz)$/, `${p} asks a path that needs no credentials`);
    }
    // The shipped web.yml reads the certificate from where this pod mounts it.
    const web = parseYaml(readFileSync(WEB_YML, 'utf8'));
    assert.equal(dirname(web.tls_server_config.cert_file), mountOf('web-tls'));
    assert.equal(dirname(web.tls_server_config.key_file), mountOf('web-tls'));

    const m = objs.find((o) => o.kind === monitorKind);
    assert.ok(m, monitorKind);
    const ep = m.spec[endpoints][0];
    assert.equal(ep.scheme, 'https');
    assert.equal(ep.port, 'http');
    assert.equal(ep.tlsConfig.ca.secret.name, 'netflow-k8s-tls', 'the CA comes from the same Secret as the server certificate');
    assert.equal(ep.tlsConfig.serverName, 'netflow-k8s.netflow-k8s.svc');
    assert.equal(ep.basicAuth.username.name, 'netflow-k8s-scrape-auth');
    assert.equal(ep.basicAuth.password.name, 'netflow-k8s-scrape-auth');
    // Only the collector is changed; the node setup's DaemonSet is left alone.
    const setup = objs.find((o) => o.kind === 'DaemonSet' && o.metadata?.name === 'netflow-node-setup');
    if (setup) assert.ok(!JSON.stringify(setup).includes('WEB_CONFIG'));
  });
}

test('the shipped web.yml loads once its placeholder hash is replaced, and not before', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'web-yml-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'tls.crt'), 'CERT');
  writeFileSync(join(dir, 'tls.key'), 'KEY');
  const shipped = readFileSync(WEB_YML, 'utf8').replaceAll('/etc/netflow-k8s/tls/', `${dir}/`);
  writeFileSync(join(dir, 'as-shipped.yml'), shipped);
  assert.throws(() => loadWebConfig(join(dir, 'as-shipped.yml')), /basic_auth_users\.prometheus must be a bcrypt hash/);
  writeFileSync(join(dir, 'filled-in.yml'), shipped.replace(/\$2y\$10\$\S+/, bcrypt.hashSync('pw', 4)));
  const w = loadWebConfig(join(dir, 'filled-in.yml'));
  assert.equal(w.tls?.cert.toString(), 'CERT');
  assert.deepEqual([...w.users.keys()], ['prometheus']);
});
