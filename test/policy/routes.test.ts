/**
 * The policy API's edges, in-process: YAML by default and commented files as JSON on request, a
 * bad `since` and an oversized or invalid body refused before anything is evaluated, 503 until the
 * inventory is synced, 409 where no conversations are kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpServer } from '../../src/observe/http.ts';
import { mountPolicyRoutes, type PolicyApiOptions } from '../../src/policy/routes.ts';
import { ConversationStore } from '../../src/policy/conversations.ts';
import { PolicyInventory } from '../../src/policy/inventory.ts';
import { parsePolicies } from '../../src/policy/policy-yaml.ts';

const l = (namespace: string, name: string) => ({
  host: name,
  namespace,
  kind: '' as const,
  name,
  ownerKind: '',
  ownerName: '',
  nodeName: '',
});

async function serve(t: { after(fn: () => unknown): void }, extra: Partial<PolicyApiOptions> = {}): Promise<string> {
  const conversations = new ConversationStore();
  conversations.add(l('shop', 'web'), l('backend', 'api'), 6, 8080, false, 3, 300, Date.now());
  const inventory = new PolicyInventory('app');
  for (const [ns, app, ip] of [
    ['shop', 'web', '10.0.0.1'],
    ['backend', 'api', '10.0.0.2'],
  ]) {
    inventory.upsertPod({
      uid: app,
      namespace: ns,
      name: `${app}-0`,
      nodeName: 'n',
      hostNetwork: false,
      ips: [ip],
      phase: 'Running',
      startMs: 0,
      appLabel: app,
      ownerKind: '',
      ownerName: '',
      labels: { app },
      ports: [],
    });
  }
  const server = new HttpServer();
  mountPolicyRoutes(server, { conversations, inventory, labelPrecedence: ['app'], ...extra });
  const a = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());
  return `http://127.0.0.1:${a.port}`;
}

test('policy API: YAML List, or one commented file per policy as JSON', async (t) => {
  const base = await serve(t);
  const r = await fetch(`${base}/api/policies?namespace=backend`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type')!, /^application\/yaml/);
  assert.deepEqual(
    parsePolicies(await r.text()).map((p) => p.metadata.name),
    ['netflow-k8s-ingress-api'],
  );
  const j = await fetch(`${base}/api/policies?namespace=backend,shop`, { headers: { accept: 'application/json' } });
  const body = (await j.json()) as { files: { path: string; yaml: string }[] };
  assert.deepEqual(
    body.files.map((f) => f.path),
    ['backend/netflow-k8s-ingress-api.yaml', 'shop/netflow-k8s-ingress-web.yaml'],
  );
  assert.match(body.files[0].yaml, /^# backend\/api: admits the 1 client seen\n/);
});

test('policy API: bad since, bad and oversized bodies are refused, and nothing is evaluated', async (t) => {
  const base = await serve(t);
  const since = await fetch(`${base}/api/policies?since=forever`);
  assert.equal(since.status, 400);
  assert.match(((await since.json()) as { error: string }).error, /^since: expected a duration/);
  const bad = await fetch(`${base}/api/policies/check`, {
    method: 'POST',
    body: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: x }\nspec: { podSelector: {} }\n',
  });
  assert.equal(bad.status, 400);
  assert.deepEqual(((await bad.json()) as { problems: string[] }).problems, [
    'body: document 1: metadata.namespace: required (the namespace the policy is applied in), a DNS label',
  ]);
  assert.deepEqual(await (await fetch(`${base}/api/policies/denied`)).json(), { denied: [] }, 'no check ran');
  const big = await fetch(`${base}/api/policies/check`, { method: 'POST', body: 'x'.repeat((4 << 20) + 1) });
  assert.equal(big.status, 413);
});

test('policy API: a check lists what it denies and the map can read it back', async (t) => {
  const base = await serve(t);
  const r = await fetch(`${base}/api/policies/check`, {
    method: 'POST',
    body: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: deny, namespace: backend }\nspec: { podSelector: {}, policyTypes: [Ingress] }\n',
  });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { denied: { client: string; server: string; port: string; ingress: string }[]; evaluated: number };
  assert.equal(body.evaluated, 1);
  assert.deepEqual(
    body.denied.map((d) => [d.client, d.server, d.port, d.ingress]),
    [['shop/web', 'backend/api', 'TCP/8080', 'denied']],
  );
  const denied = (await (await fetch(`${base}/api/policies/denied`)).json()) as { denied: unknown[]; at: string };
  assert.equal(denied.denied.length, 1);
  assert.ok(denied.at);
});

test('policy API: 503 until the inventory is synced, 409 where conversations are not kept', async (t) => {
  let ready = false;
  const base = await serve(t, { ready: () => ready });
  assert.equal((await fetch(`${base}/api/policies`)).status, 503);
  ready = true;
  assert.equal((await fetch(`${base}/api/policies`)).status, 200);
  const off = await serve(t, { disabled: 'conversations are not kept (--max-conversations 0)' });
  const r = await fetch(`${off}/api/policies/check`, { method: 'POST', body: '' });
  assert.equal(r.status, 409);
  assert.deepEqual(await r.json(), { error: 'conversations are not kept (--max-conversations 0)' });
});
