/**
 * Suggestions from observed conversations: every object valid for the Kubernetes API (the
 * kubernetes-models validators the deploy tests use, plus the unknown-field walk); the policies
 * checked against the traffic they came from deny nothing but what they say they leave out;
 * removing any one rule denies exactly that rule's conversations; selectors prefer the app label
 * and never a per-pod or per-rollout label unless nothing else tells the pods apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import type { SlimPod, SlimService } from '../../src/identify/inventory.ts';
import { projectEndpoint, type EndLabels } from '../../src/aggregate/aggregation-level.ts';
import type { EndpointKind } from '../../src/identify/endpoint.ts';
import { ConversationStore, type Conversation } from '../../src/policy/conversations.ts';
import { PolicyInventory } from '../../src/policy/inventory.ts';
import { suggestPolicies } from '../../src/policy/suggest.ts';
import { renderFiles, renderList } from '../../src/policy/policy-render.ts';
import { parsePolicies } from '../../src/policy/policy-yaml.ts';
import { checkPolicies } from '../../src/policy/check.ts';
import { chooseSelector } from '../../src/policy/selector-labels.ts';
import type { NetworkPolicy } from '../../src/policy/types.ts';
import { unknownFields, validateSchema } from '../deploy/k8s-validate.ts';

const PRECEDENCE = ['app.kubernetes.io/name', 'app', 'k8s-app', 'name', 'component'];
let uid = 0;
function slimPod(namespace: string, name: string, labels: Record<string, string>, extra: Partial<SlimPod> = {}): SlimPod {
  const appLabel = PRECEDENCE.map((k) => labels[k]).find((v) => v) ?? '';
  return {
    uid: `u${uid++}`,
    namespace,
    name,
    nodeName: 'node-a',
    hostNetwork: false,
    ips: [`10.244.1.${uid}`],
    phase: 'Running',
    startMs: 0,
    appLabel,
    ownerKind: 'Deployment',
    ownerName: appLabel || name,
    labels,
    ports: [],
    ...extra,
  };
}

function inventory(): PolicyInventory {
  const inv = new PolicyInventory('app', new Map([['payment-gateway', ['203.0.113.0/24']]]));
  const pods = [
    slimPod('shop', 'web-abc-1', { 'app.kubernetes.io/name': 'web', 'pod-template-hash': 'abc' }),
    slimPod('shop', 'web-abc-2', { 'app.kubernetes.io/name': 'web', 'pod-template-hash': 'abc' }),
    slimPod('shop', 'checkout-0', {
      'app.kubernetes.io/name': 'checkout',
      'statefulset.kubernetes.io/pod-name': 'checkout-0',
      'controller-revision-hash': 'r1',
    }),
    slimPod('shop', 'checkout-1', {
      'app.kubernetes.io/name': 'checkout',
      'statefulset.kubernetes.io/pod-name': 'checkout-1',
      'controller-revision-hash': 'r1',
    }),
    slimPod('backend', 'svc1-x', { app: 'svc1', tier: 'api' }, { ports: [{ port: 8080, name: 'http', protocol: 'TCP' }] }),
    slimPod('monitoring', 'prometheus-0', { 'app.kubernetes.io/name': 'prometheus' }),
    slimPod('kube-system', 'coredns-1', { 'k8s-app': 'kube-dns', 'pod-template-hash': 'q' }),
    slimPod('kube-system', 'coredns-2', { 'k8s-app': 'kube-dns', 'pod-template-hash': 'q' }),
  ];
  for (const p of pods) inv.upsertPod(p);
  inv.upsertNode({ name: 'node-b', addresses: ['10.0.0.2'] });
  const dns: SlimService = {
    uid: 's1',
    namespace: 'kube-system',
    name: 'kube-dns',
    clusterIPs: ['10.96.0.10'],
    ports: [{ port: 53, protocol: 'UDP' }],
    targetPorts: [53],
    selector: { 'k8s-app': 'kube-dns' },
  };
  inv.upsertService(dns);
  return inv;
}

/** An end as the store names it at the app level (no kind label: the default). */
function end(kind: EndpointKind, namespace: string, app: string): EndLabels {
  return projectEndpoint({ kind, namespace, name: app, app, ownerKind: '', ownerName: '', nodeName: '' }, 'app', {});
}

const T0 = Date.parse('2026-12-01T10:00:00Z');

function traffic(withUnknown: boolean): ConversationStore {
  const s = new ConversationStore();
  const web = end('pod', 'shop', 'web');
  const checkout = end('pod', 'shop', 'checkout');
  const svc1 = end('pod', 'backend', 'svc1');
  s.add(web, svc1, 6, 8080, false, 30, 12_000, T0, T0 + 60_000);
  s.add(checkout, svc1, 6, 8080, false, 5, 250_000, T0, T0 + 50_000);
  s.add(checkout, svc1, 6, 9090, false, 2, 900, T0, T0 + 40_000);
  s.add(end('pod', 'monitoring', 'prometheus'), web, 6, 8080, false, 4, 40_000, T0, T0 + 30_000);
  s.add(end('external', 'external', 'payment-gateway'), checkout, 6, 443, false, 3, 7000, T0, T0 + 20_000);
  s.add(end('node', 'node', 'node-b'), svc1, 6, 8080, false, 9, 900, T0, T0 + 10_000);
  s.add(web, end('pod', 'kube-system', 'kube-dns'), 17, 53, false, 12, 2400, T0, T0 + 5_000);
  s.add(checkout, end('pod', 'kube-system', 'kube-dns'), 17, 53, false, 6, 1200, T0, T0 + 5_000);
  s.add(web, svc1, 1, 0, true, 2, 168, T0, T0 + 1000);
  if (withUnknown) s.add(end('unknown', 'unknown', 'unknown'), web, 6, 8080, false, 7, 3000, T0, T0 + 1000);
  return s;
}

const key = (c: { client: string; server: string; port: string }) => `${c.client} -> ${c.server} ${c.port}`;

test('suggest: every generated object passes the Kubernetes schema and has no unknown field', async () => {
  const s = suggestPolicies(traffic(true).list(), inventory(), { labelPrecedence: PRECEDENCE, egress: true });
  const docs = parseAllDocuments(renderList(s)).map((d) => d.toJS() as Record<string, any>);
  assert.equal(docs.length, 1);
  assert.equal(docs[0].kind, 'List');
  const items = docs[0].items as Record<string, any>[];
  assert.ok(items.length >= 8, `${items.length} policies`);
  for (const obj of items) {
    assert.deepEqual(await validateSchema(obj), [], `${obj.metadata.namespace}/${obj.metadata.name}`);
    assert.deepEqual(unknownFields(obj), [], `${obj.metadata.namespace}/${obj.metadata.name}`);
  }
  for (const f of renderFiles(s)) {
    const obj = parseAllDocuments(f.yaml)[0].toJS() as Record<string, any>;
    assert.equal(f.path, `${obj.metadata.namespace}/${obj.metadata.name}.yaml`);
    assert.deepEqual(await validateSchema(obj), []);
  }
});

test('suggest: one Ingress policy per workload seen, admitting exactly the clients, ports and protocols seen', () => {
  const s = suggestPolicies(traffic(true).list(), inventory(), { labelPrecedence: PRECEDENCE });
  const by = new Map(s.policies.map((p) => [`${p.policy.metadata.namespace}/${p.policy.metadata.name}`, p.policy]));
  assert.deepEqual([...by.keys()].sort(), [
    'backend/netflow-k8s-ingress-svc1',
    'kube-system/netflow-k8s-ingress-kube-dns',
    'monitoring/netflow-k8s-ingress-prometheus',
    'shop/netflow-k8s-ingress-checkout',
    'shop/netflow-k8s-ingress-web',
  ]);
  const svc1 = by.get('backend/netflow-k8s-ingress-svc1')!;
  assert.deepEqual(svc1.spec.podSelector, { matchLabels: { app: 'svc1' } });
  assert.deepEqual(svc1.spec.policyTypes, ['Ingress']);
  assert.deepEqual(svc1.spec.ingress, [
    { from: [{ ipBlock: { cidr: '10.0.0.2/32' } }], ports: [{ protocol: 'TCP', port: 8080 }] },
    {
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'checkout' } },
        },
      ],
      ports: [
        { protocol: 'TCP', port: 8080 },
        { protocol: 'TCP', port: 9090 },
      ],
    },
    {
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'web' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 8080 }],
    },
  ]);
  // The external network by its named CIDR, never a /32 from a flow.
  assert.deepEqual(by.get('shop/netflow-k8s-ingress-checkout')!.spec.ingress, [
    { from: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] },
  ]);
  // Same-namespace clients by podSelector alone; nobody connected to prometheus: it admits nothing.
  assert.deepEqual(by.get('monitoring/netflow-k8s-ingress-prometheus')!.spec.ingress, []);
  const web = s.policies.find((p) => p.workload === 'shop/web')!;
  assert.ok(
    web.notes.some((n) => /from unknown unknown .*7 flows.*name them with --networks/.test(n)),
    web.notes.join('\n'),
  );
  assert.ok(
    s.notes.some((n) => /^undecided: shop\/web <-> backend\/svc1 icmp/.test(n)),
    s.notes.join('\n'),
  );
  // Evidence rides along as comments.
  const text = renderList(s);
  assert.match(
    text,
    /# from shop\/checkout: 7 flows, 250900 bytes, last seen 2026-12-01T10:00:50\.000Z\n\s+#   TCP\/8080: 5 flows, 250000 bytes/,
  );
  assert.doesNotMatch(text, /[&*]a\d/, 'no YAML anchors or aliases');
});

test('round trip: the suggested policies deny nothing they were made from, but the clients they could not name', () => {
  for (const withUnknown of [false, true]) {
    const convs = traffic(withUnknown).list();
    const inv = inventory();
    const s = suggestPolicies(convs, inv, { labelPrecedence: PRECEDENCE, egress: true });
    const policies = parsePolicies(renderList(s));
    const r = checkPolicies(policies, convs, inv);
    assert.deepEqual(r.denied.map(key), withUnknown ? ['unknown unknown -> shop/web TCP/8080'] : []);
    assert.equal(r.undecided, 1);
    assert.equal(r.evaluated, withUnknown ? 9 : 8);
  }
});

test("round trip: removing any one rule denies exactly that rule's conversations", () => {
  const convs = traffic(false).list();
  const inv = inventory();
  const s = suggestPolicies(convs, inv, { labelPrecedence: PRECEDENCE, egress: true });
  const base = parsePolicies(renderList(s));
  let tried = 0;
  s.policies.forEach((sp, pi) => {
    sp.rules.forEach((rule, ri) => {
      if (rule.conversations.length === 0) return;
      const cut: NetworkPolicy[] = structuredClone(base);
      const spec = cut[pi].spec;
      if (sp.direction === 'Ingress') spec.ingress!.splice(ri, 1);
      else spec.egress!.splice(ri, 1);
      const denied = checkPolicies(cut, convs, inv).denied.map(key).sort();
      const want = rule.conversations
        .map((c: Conversation) =>
          key({
            client: label(inv, c.client),
            server: label(inv, c.server),
            port: `${c.proto === 6 ? 'TCP' : 'UDP'}/${c.port}`,
          }),
        )
        .sort();
      assert.deepEqual(denied, want, `${sp.workload} ${sp.direction} rule ${ri} (${rule.peer})`);
      tried++;
    });
  });
  assert.ok(tried >= 10, `${tried} rules tried`);
});

function label(inv: PolicyInventory, l: EndLabels): string {
  const e = inv.resolve(l);
  return e.type === 'workload' || e.type === 'service' ? `${e.namespace}/${e.name}` : `${e.type} ${e.name}`;
}

test('egress: DNS to the pods behind kube-system/kube-dns on UDP and TCP 53, observed DNS counted there', () => {
  const s = suggestPolicies(traffic(false).list(), inventory(), { labelPrecedence: PRECEDENCE, egress: true, namespaces: ['shop'] });
  const eg = s.policies.find((p) => p.policy.metadata.name === 'netflow-k8s-egress-web')!;
  assert.deepEqual(eg.policy.spec.policyTypes, ['Egress']);
  const dns = eg.policy.spec.egress!.at(-1)!;
  assert.deepEqual(dns, {
    to: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      },
    ],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  });
  assert.equal(eg.rules.at(-1)!.evidence.flows, 12);
  assert.equal(eg.policy.spec.egress!.length, 2, 'svc1 and DNS');
});

test('selectors: the app label alone when it tells the workload apart; rollout labels only as a last resort, said so', () => {
  const pods = [
    slimPod('shop', 'checkout-0', { 'app.kubernetes.io/name': 'checkout', 'statefulset.kubernetes.io/pod-name': 'checkout-0' }),
    slimPod('shop', 'checkout-1', { 'app.kubernetes.io/name': 'checkout', 'statefulset.kubernetes.io/pod-name': 'checkout-1' }),
  ];
  assert.deepEqual(chooseSelector(pods, [], PRECEDENCE), { matchLabels: { 'app.kubernetes.io/name': 'checkout' }, note: '' });
  // One pod alone: its per-pod label is common to "all" its pods, and still not used.
  assert.deepEqual(chooseSelector(pods.slice(0, 1), [], PRECEDENCE)?.matchLabels, { 'app.kubernetes.io/name': 'checkout' });
  // No naming label: the stable labels the pods share.
  const plain = [slimPod('x', 'a', { team: 'pay', tier: 'db', 'pod-template-hash': 'h1' })];
  assert.deepEqual(chooseSelector(plain, [], PRECEDENCE)?.matchLabels, { team: 'pay', tier: 'db' });
  // Another workload carries the same app label: a second shared label tells them apart.
  const v1 = [slimPod('x', 'api-1', { app: 'api', track: 'stable', 'pod-template-hash': 'h1' })];
  const v2 = [slimPod('x', 'api-2', { app: 'api', track: 'canary', 'pod-template-hash': 'h2' })];
  assert.deepEqual(chooseSelector(v1, v2, PRECEDENCE), { matchLabels: { app: 'api', track: 'stable' }, note: '' });
  // Nothing stable tells them apart: pod-template-hash, with a note.
  const w1 = [slimPod('x', 'api-1', { app: 'api', 'pod-template-hash': 'h1' })];
  const w2 = [slimPod('x', 'api-2', { app: 'api', 'pod-template-hash': 'h2' })];
  const c = chooseSelector(w1, w2, PRECEDENCE)!;
  assert.deepEqual(c.matchLabels, { app: 'api', 'pod-template-hash': 'h1' });
  assert.match(c.note, /pod-template-hash, which changes with each rollout/);
});

test('since: conversations last seen before it make no rule', () => {
  const s = suggestPolicies(traffic(false).list(), inventory(), {
    labelPrecedence: PRECEDENCE,
    namespaces: ['backend'],
    sinceMs: T0 + 45_000,
  });
  const svc1 = s.policies.find((p) => p.workload === 'backend/svc1')!;
  assert.deepEqual(
    svc1.rules.map((r) => r.peer),
    ['shop/checkout', 'shop/web'],
  );
  assert.deepEqual(svc1.policy.spec.ingress![0].ports, [{ protocol: 'TCP', port: 8080 }]);
});

test('a conversation to a Service ClusterIP (before DNAT) counts for the pods behind it, on the target port', () => {
  const inv = inventory();
  inv.upsertService({
    uid: 's2',
    namespace: 'backend',
    name: 'api',
    clusterIPs: ['10.96.5.5'],
    ports: [{ port: 80, protocol: 'TCP' }],
    targetPorts: ['http'],
    selector: { app: 'svc1' },
  });
  const s = new ConversationStore();
  s.add(end('pod', 'monitoring', 'prometheus'), end('service', 'backend', 'api'), 6, 80, false, 4, 400, T0);
  inv.upsertService({
    uid: 's3',
    namespace: 'backend',
    name: 'idle',
    clusterIPs: ['10.96.5.6'],
    ports: [{ port: 80, protocol: 'TCP' }],
    targetPorts: [80],
    selector: { app: 'nothing' },
  });
  s.add(end('pod', 'monitoring', 'prometheus'), end('service', 'backend', 'idle'), 6, 80, false, 1, 100, T0);
  const sug = suggestPolicies(s.list(), inv, { labelPrecedence: PRECEDENCE, namespaces: ['backend'] });
  const svc1 = sug.policies.find((p) => p.workload === 'backend/svc1')!;
  assert.deepEqual(svc1.policy.spec.ingress, [
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
  // The conversation read through the Service keeps its counts and times.
  assert.deepEqual(svc1.rules[0].evidence, { flows: 4, bytes: 400, firstMs: T0, lastMs: T0 });
  assert.ok(
    sug.notes.some((n) => /Service backend\/idle TCP\/80: seen before DNAT, and it selects no known pods/.test(n)),
    sug.notes.join('\n'),
  );
  const r = checkPolicies(parsePolicies(renderList(sug)), s.list(), inv);
  assert.deepEqual(r.denied, []);
  assert.deepEqual(r.notEvaluated, { 'server: Service ClusterIP seen before DNAT that selects no known pods on that port': 1 });
});

test('a workload on the host network gets no policy, and a note saying why', () => {
  const inv = inventory();
  inv.upsertPod(slimPod('monitoring', 'node-exporter-a', { 'app.kubernetes.io/name': 'node-exporter' }, { hostNetwork: true }));
  const s = new ConversationStore();
  s.add(end('pod', 'monitoring', 'prometheus'), end('pod', 'monitoring', 'node-exporter'), 6, 9100, false, 4, 400, T0);
  const sug = suggestPolicies(s.list(), inv, { labelPrecedence: PRECEDENCE, namespaces: ['monitoring'] });
  assert.deepEqual(
    sug.policies.map((p) => p.workload),
    ['monitoring/prometheus'],
  );
  assert.ok(
    sug.notes.includes('monitoring/node-exporter: runs on the host network, which NetworkPolicies do not apply to; no policy'),
    sug.notes.join('\n'),
  );
});
