/**
 * otel/direct: the collector sending OTLP/HTTP straight to a backend. Added to the Deployment
 * overlay it renders and validates, sets the standard variables the collector's config accepts
 * (http/protobuf to the base endpoint's /v1/metrics, gzip), and takes the auth header from a
 * Secret, never from the manifest. That these variables deliver, header included, is shown
 * end to end in test/e2e/run-otlp-protocols.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunConfig } from '../../src/config/run-options.ts';
import { findKubectl, kustomize, validateSchema, unknownFields, type K8sObject } from './k8s-validate.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KUBECTL = findKubectl();

test('otel/direct on the Deployment: OTLP/HTTP with gzip to the backend, the auth header from a Secret', {
  skip: !KUBECTL && 'kubectl is not installed',
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'otel-direct-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // kustomize takes no absolute paths; a relative one may climb out of the temp dir.
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `resources: [${relative(dir, join(ROOT, 'deploy/overlays/deployment'))}]`,
      `components: [${relative(dir, join(ROOT, 'otel/direct'))}]`,
    ].join('\n'),
  );
  const objs = kustomize(KUBECTL!, dir);
  const d = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'netflow-k8s');
  assert.ok(d);
  assert.deepEqual(await validateSchema(d), []);
  const unknown = unknownFields(d);
  if (unknown !== 'no-model') assert.deepEqual(unknown, []);
  const c = (d.spec.template.spec.containers as K8sObject[]).find((x) => x.name === 'collector')!;
  const env = c.env as K8sObject[];
  const headers = env.find((e) => e.name === 'OTEL_EXPORTER_OTLP_HEADERS');
  assert.deepEqual(headers?.valueFrom?.secretKeyRef, { name: 'netflow-k8s-otlp-auth', key: 'headers' });
  const plain = Object.fromEntries(
    env.filter((e) => typeof e.value === 'string' && /^(OTEL_|NETFLOW_K8S_OTLP)/.test(e.name)).map((e) => [e.name, e.value]),
  );
  const cfg = parseRunConfig([], { ...plain, OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer x' }).config!;
  assert.equal(cfg.otlpProtocol, 'http/protobuf');
  assert.equal(cfg.otlpEndpoint, 'https://otlp.example.com/v1/metrics');
  assert.equal(plain.OTEL_EXPORTER_OTLP_COMPRESSION, 'gzip');
  assert.ok(!env.some((e) => e.name === 'NETFLOW_K8S_OTLP_ENDPOINT'), 'no flag-level endpoint overrides the standard variable');
});
