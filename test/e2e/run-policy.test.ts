/**
 * NetworkPolicies from real traffic: softflowd turns the k8s-basic capture into NetFlow v9 that
 * reaches `netflow-k8s run` over UDP; `netflow-k8s policy suggest` then proposes policies that
 * admit web and checkout to their servers on the port they used, the metrics agent to svc2 on its
 * UDP port, and nothing else; `policy check` passes them, fails the same set with one rule taken
 * out (exit 1, naming the denied conversation), and refuses a bad file with its document and field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCollectorProcess, pollUntil, metricSum, type CollectorProcess } from '../support/run-collector.ts';
import { runCli } from '../support/cli.ts';
import { runSoftflowd, softflowdAvailable } from '../support/softflowd.ts';
import { PCAP } from './fixtures/k8s-basic.ts';
import { parsePolicies } from '../../src/policy/policy-yaml.ts';
import { PolicySet, type Party } from '../../src/policy/evaluate.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));
const skip = softflowdAvailable() ? false : 'softflowd is not installed (scripts/setup-debian.sh installs it)';

/** The fixture's pods as policies see them. */
function fixturePods(): Map<string, Party> {
  const list = JSON.parse(readFileSync(INVENTORY, 'utf8')) as { items: Record<string, any>[] };
  const out = new Map<string, Party>();
  for (const p of list.items.filter((i) => i.kind === 'Pod')) {
    const labels = p.metadata.labels as Record<string, string>;
    const name = labels.app ?? labels['k8s-app'];
    const ports = (p.spec.containers as Record<string, any>[]).flatMap((c) =>
      (c.ports ?? []).map((cp: Record<string, any>) => ({ port: cp.containerPort, protocol: cp.protocol ?? 'TCP', name: cp.name })),
    );
    out.set(`${p.metadata.namespace}/${name}`, {
      type: 'pod',
      pod: { namespace: p.metadata.namespace, labels, ports, ips: [p.status.podIP], nodeName: p.spec.nodeName },
    });
  }
  return out;
}

test('policy suggest and check against the k8s-basic capture received over UDP', { skip, timeout: 180_000 }, async (t) => {
  let c: CollectorProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'netflow-k8s-policy-'));
  t.after(async () => {
    if (c) await c.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  c = await startCollectorProcess(['--inventory', INVENTORY, '--merge-interval', '100ms', '--workers', '2']);
  const col = c;
  const sf = await runSoftflowd({ pcap: PCAP, host: '127.0.0.1', port: col.udpPort, version: 9 });
  assert.equal(sf.code, 0, sf.log);
  const observed = await pollUntil(async () => {
    const r = JSON.parse((await col.get('/api/policies/conversations')).body) as {
      conversations: { client: string; server: string; port?: string; undecided?: boolean }[];
    };
    return r.conversations.filter((x) => !x.undecided).length === 6 ? r.conversations : undefined;
  }, 30_000);
  assert.deepEqual(
    observed
      .filter((x) => !x.undecided)
      .map((x) => `${x.client} -> ${x.server} ${x.port}`)
      .sort(),
    [
      'monitoring/metrics-agent -> backend/svc2 UDP/9125',
      'shop/checkout -> backend/svc1 TCP/8080',
      'shop/checkout -> backend/svc2 TCP/8080',
      'shop/checkout -> kube-system/kube-dns UDP/53',
      'shop/web -> backend/svc1 TCP/8080',
      'shop/web -> kube-system/kube-dns UDP/53',
    ],
  );
  // The ICMP echo between metrics-agent and svc1 has no client by its ports: undecided, both halves.
  assert.equal(observed.filter((x) => x.undecided).length, 2);
  const metrics = (await col.get('/metrics')).body;
  assert.equal(metricSum(metrics, 'netflow_k8s_conversations'), 8);
  assert.equal(metricSum(metrics, 'netflow_k8s_conversation_dropped_flows_total'), 0);

  const all = await runCli(['policy', 'suggest', '--url', col.httpUrl]);
  assert.equal(all.code, 0, all.stderr);
  const policies = parsePolicies(all.stdout, 'suggested');
  assert.deepEqual(policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort(), [
    'backend/netflow-k8s-ingress-svc1',
    'backend/netflow-k8s-ingress-svc2',
    'kube-system/netflow-k8s-ingress-kube-dns',
    'monitoring/netflow-k8s-ingress-metrics-agent',
    'shop/netflow-k8s-ingress-checkout',
    'shop/netflow-k8s-ingress-web',
  ]);
  assert.match(all.stdout, /# from shop\/web: \d+ flows?, \d+ bytes, last seen 20/);
  assert.match(all.stdout, /undecided: monitoring\/metrics-agent <-> backend\/svc1 icmp/);

  // Exactly the observed conversations are admitted, among every pair of the fixture's pods on every port seen.
  const pods = fixturePods();
  const set = new PolicySet(policies);
  const admitted: string[] = [];
  for (const [cn, client] of pods)
    for (const [sn, server] of pods)
      for (const [proto, port] of [
        [6, 8080],
        [17, 53],
        [17, 9125],
        [6, 80],
      ]) {
        if (cn === sn) continue;
        if (set.evaluate({ client, server, proto, port }).ingress === 'allowed')
          admitted.push(`${cn} -> ${sn} ${proto === 6 ? 'TCP' : 'UDP'}/${port}`);
      }
  assert.deepEqual(
    admitted.sort(),
    observed
      .filter((x) => !x.undecided)
      .map((x) => `${x.client} -> ${x.server} ${x.port}`)
      .sort(),
  );

  // --namespace and --out: one commented file per policy.
  const out = join(dir, 'out');
  const files = await runCli(['policy', 'suggest', '--url', col.httpUrl, '--namespace', 'backend', '--namespace', 'shop', '--out', out]);
  assert.equal(files.code, 0, files.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['backend', 'shop']);
  assert.deepEqual(readdirSync(join(out, 'backend')).sort(), ['netflow-k8s-ingress-svc1.yaml', 'netflow-k8s-ingress-svc2.yaml']);
  assert.match(
    readFileSync(join(out, 'shop', 'netflow-k8s-ingress-web.yaml'), 'utf8'),
    /^# shop\/web: nobody was seen connecting to it, so it admits nothing/,
  );

  // check: the suggestion passes; without one rule, the conversation it justified is denied (exit 1).
  const good = join(dir, 'good.yaml');
  writeFileSync(good, all.stdout);
  const ok = await runCli(['policy', 'check', '--url', col.httpUrl, good]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /6 policies checked against 6 observed conversations: 0 would be denied/);
  const cut = parsePolicies(all.stdout);
  const svc1 = cut.find((p) => p.metadata.name === 'netflow-k8s-ingress-svc1')!;
  svc1.spec.ingress = svc1.spec.ingress!.filter((r) => JSON.stringify(r).includes('"web"') === false);
  const bad = join(dir, 'cut.json');
  writeFileSync(bad, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: cut }));
  const denied = await runCli(['policy', 'check', '--url', col.httpUrl, bad]);
  assert.equal(denied.code, 1, denied.stdout + denied.stderr);
  assert.match(denied.stdout, /1 would be denied/);
  assert.match(denied.stdout, /DENIED shop\/web -> backend\/svc1 TCP\/8080: 6 flows, \d+ bytes, last seen .* \(by ingress\)/);
  // The map page's source of red edges.
  const red = JSON.parse((await col.get('/api/policies/denied')).body) as { denied: { clientEnd: unknown; serverEnd: unknown }[] };
  assert.deepEqual(
    red.denied.map((d) => [d.clientEnd, d.serverEnd]),
    [
      [
        { namespace: 'shop', name: 'web' },
        { namespace: 'backend', name: 'svc1' },
      ],
    ],
  );

  // Bad input: refused with file, document and field; nothing evaluated.
  const broken = join(dir, 'broken.yaml');
  writeFileSync(
    broken,
    `${all.stdout}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: x, namespace: shop }\nspec:\n  podSelector: { matchExpressions: [{ key: app, operator: In }] }\n`,
  );
  const refused = await runCli(['policy', 'check', '--url', col.httpUrl, broken]);
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    /broken\.yaml: document 2: spec\.podSelector\.matchExpressions\[0\]\.values: must be non-empty when operator is In/,
  );
  const post = await fetch(`${col.httpUrl}/api/policies/check`, { method: 'POST', body: 'kind: Pod\napiVersion: v1\n' });
  assert.equal(post.status, 400);
  assert.deepEqual(((await post.json()) as { problems: string[] }).problems, ['body: document 1: kind: "Pod" is not a NetworkPolicy']);
  assert.equal((await col.stop('SIGTERM')).code, 0);
  c = undefined;
});
