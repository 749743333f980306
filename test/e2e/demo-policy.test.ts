/**
 * What the README promises a new user: run the demo, then `netflow-k8s policy suggest --url ...
 * --namespace shop` gives NetworkPolicies they could apply: valid objects, one per shop app, each
 * admitting the clients the demo's traffic has (from other namespaces by name), and a check of
 * them against the same traffic passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoProcess } from './demo-process.ts';
import { runCli } from '../support/cli.ts';
import { DEMO_APPS, demoPods } from '../../src/demo/cluster.ts';
import { DEMO_CONVERSATIONS } from '../../src/demo/traffic.ts';
import { parsePolicies } from '../../src/policy/policy-yaml.ts';
import { unknownFields, validateSchema } from '../deploy/k8s-validate.ts';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

test("demo: policy suggest --namespace shop gives appliable policies that the demo's traffic passes", { timeout: 120_000 }, async (t) => {
  const demo = await startDemoProcess(['--speed', '8']);
  const dir = mkdtempSync(join(tmpdir(), 'netflow-k8s-demo-policy-'));
  t.after(async () => {
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // Every conversation into shop has been seen (the slowest comes every few seconds at this speed).
  const into = DEMO_CONVERSATIONS.filter((c) => c.server.startsWith('shop/'));
  let text = '';
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await runCli(['policy', 'suggest', '--url', demo.base, '--namespace', 'shop']);
    assert.equal(r.code, 0, r.stderr);
    text = r.stdout;
    if (into.every((c) => text.includes(`# from ${c.client}:`))) break;
    assert.ok(Date.now() < deadline, `not every client of shop seen:\n${text}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const policies = parsePolicies(text);
  const shopApps = DEMO_APPS.filter((a) => a.namespace === 'shop')
    .map((a) => `netflow-k8s-ingress-${a.app}`)
    .sort();
  assert.deepEqual(policies.map((p) => p.metadata.name).sort(), shopApps);
  for (const p of policies) {
    assert.deepEqual(await validateSchema(p), [], p.metadata.name);
    assert.deepEqual(unknownFields(p), [], p.metadata.name);
    // Selectors by the app label only: no per-pod or per-rollout label.
    assert.deepEqual(Object.keys(p.spec.podSelector.matchLabels ?? {}), ['app.kubernetes.io/name'], p.metadata.name);
  }
  const frontend = policies.find((p) => p.metadata.name === 'netflow-k8s-ingress-frontend')!;
  assert.deepEqual(frontend.spec.ingress, [
    {
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 8080 }],
    },
    {
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 8080 }],
    },
  ]);
  // redis is a StatefulSet whose pods carry their own names as labels: the selector still takes the app label.
  assert.ok(demoPods().some((p) => p.app.app === 'redis'));
  const file = join(dir, 'shop.yaml');
  writeFileSync(file, text);
  const check = await runCli(['policy', 'check', '--url', demo.base, file]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /0 would be denied/);

  // Without frontend's rule for the ingress controller, that conversation is denied, and the map draws it red.
  frontend.spec.ingress = frontend.spec.ingress!.slice(1);
  const cut = join(dir, 'cut.json');
  writeFileSync(cut, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: policies }));
  const denied = await runCli(['policy', 'check', '--url', demo.base, cut]);
  assert.equal(denied.code, 1, denied.stdout + denied.stderr);
  assert.match(denied.stdout, /DENIED ingress\/ingress-nginx -> shop\/frontend TCP\/8080/);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${demo.base}/`);
  await page.waitForFunction(() => (window as unknown as { netflowMap?: { updates: number } }).netflowMap?.updates! >= 1, undefined, {
    timeout: 20_000,
  });
  const red = await page.evaluate(() =>
    (window as unknown as { netflowMap: { cy: any } }).netflowMap.cy
      .edges('.denied')
      .map((e: any) => `${e.source().id()}->${e.target().id()}`),
  );
  assert.deepEqual(red, ['ingress/ingress-nginx->shop/frontend']);
});
