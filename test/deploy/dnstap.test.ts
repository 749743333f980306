/**
 * deploy/ for dnstap: the overlay's collector listens where its Service sends, and CoreDNS's
 * Corefile (deploy/coredns) streams `full` messages to that Service's ClusterIP and port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findKubectl, kustomize, containerEnv, type K8sObject } from './k8s-validate.ts';
import { parseRunConfig } from '../../src/config/run-options.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KUBECTL = findKubectl();

test('the dnstap overlay: collector listens on 6000, its Service carries it, CoreDNS streams full messages to it', {
  skip: !KUBECTL && 'kubectl is not installed',
}, () => {
  const objs = kustomize(KUBECTL!, join(ROOT, 'deploy/overlays/deployment-dnstap'));
  const svc = objs.find((o) => o.kind === 'Service' && o.metadata?.name === 'netflow-k8s') as K8sObject & {
    spec: { clusterIP: string; ports: { name: string; port: number; protocol: string; targetPort: string }[] };
  };
  const port = svc.spec.ports.find((p) => p.name === 'dnstap');
  assert.deepEqual(port && [port.port, port.protocol, port.targetPort], [6000, 'TCP', 'dnstap']);
  const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'netflow-k8s')!;
  const collector = (dep.spec.template.spec.containers as K8sObject[]).find((c) => c.name === 'collector')!;
  const env = containerEnv(collector, {});
  const { config } = parseRunConfig(['--inventory', '/dev/null'], env);
  assert.deepEqual(config!.dnstap?.listen, { host: '0.0.0.0', port: 6000 });
  const corefile = readFileSync(join(ROOT, 'deploy/coredns/Corefile'), 'utf8');
  const line = /^\s*dnstap\s+tcp:\/\/([\d.]+):(\d+)\s+full\s*$/m.exec(corefile);
  assert.ok(line, 'a dnstap tcp://IP:PORT full line');
  assert.deepEqual([line[1], Number(line[2])], [svc.spec.clusterIP, 6000]);
});
