/**
 * Where credentials come from: --kubeconfig, KUBECONFIG, ~/.kube/config, the in-cluster service
 * account, and an error (never an unauthenticated localhost) when there are none. Each found
 * config is used for a real list against the fake API server.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeConfigError, loadKubeConfig, type LoadedKubeConfig } from '../../src/identify/kube-config.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import { node } from '../support/kube-objects.ts';

let server: FakeApiServer;
let dir: string;

before(async () => {
  server = await FakeApiServer.start();
  server.create('nodes', node({ name: 'only-node', internalIP: '10.0.0.1' }));
  dir = mkdtempSync(join(tmpdir(), 'kube-config-test-'));
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function nodeNames(loaded: LoadedKubeConfig): Promise<string[]> {
  const list = await loaded.kubeConfig.makeApiClient(CoreV1Api).listNode();
  return list.items.map((n) => n.metadata?.name ?? '');
}

test('--kubeconfig wins over KUBECONFIG', async () => {
  const file = server.writeKubeconfig();
  const loaded = loadKubeConfig({ kubeconfig: file, env: { KUBECONFIG: join(dir, 'nope') }, home: dir });
  assert.equal(loaded.origin, `file:${file}`);
  assert.equal(loaded.server, server.url);
  assert.deepEqual(await nodeNames(loaded), ['only-node']);
  assert.throws(() => loadKubeConfig({ kubeconfig: join(dir, 'missing') }), KubeConfigError);
});

test('KUBECONFIG: a list of files, missing ones skipped', async () => {
  const file = server.writeKubeconfig();
  const loaded = loadKubeConfig({ env: { KUBECONFIG: [join(dir, 'missing'), file].join(delimiter) }, home: dir });
  assert.equal(loaded.origin, `KUBECONFIG:${file}`);
  assert.deepEqual(await nodeNames(loaded), ['only-node']);
});

test('~/.kube/config when nothing else is given', async () => {
  const home = join(dir, 'home');
  mkdirSync(join(home, '.kube'), { recursive: true });
  copyFileSync(server.writeKubeconfig(), join(home, '.kube', 'config'));
  const loaded = loadKubeConfig({ env: {}, home });
  assert.equal(loaded.origin, `file:${join(home, '.kube', 'config')}`);
  assert.deepEqual(await nodeNames(loaded), ['only-node']);
});

test('in-cluster service account, and an error when there are no credentials at all', async () => {
  const prefix = join(dir, 'pod');
  const sa = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), server.token);
  writeFileSync(join(sa, 'ca.crt'), server.caPem);
  writeFileSync(join(sa, 'namespace'), 'netflow');
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  // client-node's loadFromCluster reads these from process.env itself.
  process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
  process.env.KUBERNETES_SERVICE_PORT = new URL(server.url).port;
  try {
    const loaded = loadKubeConfig({ env: process.env, home: join(dir, 'no-home'), inClusterPrefix: prefix });
    assert.equal(loaded.origin, 'in-cluster');
    assert.equal(loaded.server, server.url);
    assert.deepEqual(await nodeNames(loaded), ['only-node']);
  } finally {
    if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
    else process.env.KUBERNETES_SERVICE_HOST = saved.host;
    if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
    else process.env.KUBERNETES_SERVICE_PORT = saved.port;
  }
  assert.throws(
    () => loadKubeConfig({ env: {}, home: join(dir, 'no-home'), inClusterPrefix: join(dir, 'no-pod') }),
    (err: unknown) => err instanceof KubeConfigError && /no credentials/.test(err.message),
  );
});
