/**
 * The evaluator's semantics, case by case, from the Kubernetes documentation's NetworkPolicy page
 * (https://kubernetes.io/docs/concepts/services-networking/network-policies/, "DOC §section"
 * below quotes the sentence each expectation rests on) and the upstream conformance ideas
 * (default deny, allow from namespace, AND/OR peers, named ports, endPort, ipBlock except).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicySet, type Party, type PodInfo } from '../../src/policy/evaluate.ts';
import { parseCidr, parsePolicies } from '../../src/policy/policy-yaml.ts';
import type { NetworkPolicy } from '../../src/policy/types.ts';

const pod = (namespace: string, labels: Record<string, string>, extra: Partial<PodInfo> = {}): Party => ({
  type: 'pod',
  pod: { namespace, labels, ports: [], ips: ['10.244.9.9'], nodeName: 'node-x', ...extra },
});
const net = (cidr: string, node?: string): Party => ({ type: 'addresses', cidrs: [parseCidr(cidr)!], ...(node ? { node } : {}) });

function policies(yaml: string): NetworkPolicy[] {
  return parsePolicies(yaml, 'case');
}

// DOC §"The NetworkPolicy resource": the page's example, test-network-policy.
const DOC_EXAMPLE = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: test-network-policy, namespace: default }
spec:
  podSelector: { matchLabels: { role: db } }
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - ipBlock: { cidr: 172.17.0.0/16, except: [172.17.1.0/24] }
    - namespaceSelector: { matchLabels: { project: myproject } }
    - podSelector: { matchLabels: { role: frontend } }
    ports:
    - { protocol: TCP, port: 6379 }
  egress:
  - to:
    - ipBlock: { cidr: 10.0.0.0/24 }
    ports:
    - { protocol: TCP, port: 5978 }
`;

const nsLabels = (ns: string) => ({
  'kubernetes.io/metadata.name': ns,
  ...(ns === 'myproject-ns' ? { project: 'myproject' } : {}),
  ...(ns === 'alice-ns' ? { user: 'alice' } : {}),
});

interface Case {
  name: string;
  /** DOC §section: the sentence the expectation rests on. */
  doc: string;
  yaml: string;
  client: Party;
  server: Party;
  proto?: number;
  port: number;
  allowed: boolean;
}

const DB = pod('default', { role: 'db' }, { ports: [{ port: 6379, name: 'redis', protocol: 'TCP' }] });

const CASES: Case[] = [
  {
    name: 'no policy selects the pod: not isolated, everything allowed',
    doc: '§"The two sorts of pod isolation": by default, a pod is non-isolated for ingress; all inbound connections are allowed',
    yaml: DOC_EXAMPLE,
    client: pod('other', { x: 'y' }),
    server: pod('default', { role: 'web' }),
    port: 80,
    allowed: true,
  },
  {
    name: 'example: a frontend pod of the same namespace reaches db on TCP 6379',
    doc: '§"The NetworkPolicy resource": allows connections to TCP port 6379 of role=db pods from pods in the default namespace with the label role=frontend',
    yaml: DOC_EXAMPLE,
    client: pod('default', { role: 'frontend' }),
    server: DB,
    port: 6379,
    allowed: true,
  },
  {
    name: 'example: the same frontend pod on another port is denied',
    doc: '§"The NetworkPolicy resource": ... TCP port 6379 ...',
    yaml: DOC_EXAMPLE,
    client: pod('default', { role: 'frontend' }),
    server: DB,
    port: 6380,
    allowed: false,
  },
  {
    name: 'example: UDP to the TCP port is denied',
    doc: '§"The NetworkPolicy resource": protocol TCP',
    yaml: DOC_EXAMPLE,
    client: pod('default', { role: 'frontend' }),
    server: DB,
    proto: 17,
    port: 6379,
    allowed: false,
  },
  {
    name: 'example: a role=frontend pod of another namespace is not admitted by the bare podSelector',
    doc: '§"Behavior of to and from selectors": podSelector selects particular Pods in the same namespace as the NetworkPolicy',
    yaml: DOC_EXAMPLE,
    client: pod('other', { role: 'frontend' }),
    server: DB,
    port: 6379,
    allowed: false,
  },
  {
    name: 'example: any pod of a namespace labelled project=myproject',
    doc: '§"The NetworkPolicy resource": any pod in a namespace with the label project=myproject',
    yaml: DOC_EXAMPLE,
    client: pod('myproject-ns', { anything: 'x' }),
    server: DB,
    port: 6379,
    allowed: true,
  },
  {
    name: 'example: ipBlock admits 172.17.0.0/16 ...',
    doc: '§"The NetworkPolicy resource": IP addresses in the ranges 172.17.0.0–172.17.0.255 and 172.17.2.0–172.17.255.255',
    yaml: DOC_EXAMPLE,
    client: net('172.17.2.0/24'),
    server: DB,
    port: 6379,
    allowed: true,
  },
  {
    name: 'example: ... except 172.17.1.0/24',
    doc: '§"The NetworkPolicy resource": (ie, all of 172.17.0.0/16 except 172.17.1.0/24)',
    yaml: DOC_EXAMPLE,
    client: net('172.17.1.7/32'),
    server: DB,
    port: 6379,
    allowed: false,
  },
  {
    name: 'example: a network only partly inside the block is not admitted as a whole',
    doc: '§"The NetworkPolicy resource": ipBlock admits only the addresses in its range',
    yaml: DOC_EXAMPLE,
    client: net('172.16.0.0/15'),
    server: DB,
    port: 6379,
    allowed: false,
  },
  {
    name: 'example egress: db may reach 10.0.0.0/24 on TCP 5978',
    doc: '§"The NetworkPolicy resource": (Egress rules) allows connections from any pod in the default namespace with the label role=db to CIDR 10.0.0.0/24 on TCP port 5978',
    yaml: DOC_EXAMPLE,
    client: DB,
    server: net('10.0.0.5/32'),
    port: 5978,
    allowed: true,
  },
  {
    name: 'example egress: db may not reach anything else',
    doc: '§"The two sorts of pod isolation": the only allowed connections from the pod are those allowed by the egress list of some NetworkPolicy that applies to the pod for egress',
    yaml: DOC_EXAMPLE,
    client: DB,
    server: pod('default', { role: 'cache' }),
    port: 6379,
    allowed: false,
  },
  {
    name: "a connection needs both the client's egress and the server's ingress",
    doc: '§"The two sorts of pod isolation": both the egress policy on the source pod and the ingress policy on the destination pod need to allow the connection',
    yaml: DOC_EXAMPLE,
    client: DB,
    server: DB,
    port: 6379,
    allowed: false,
  },
  {
    name: 'AND: namespaceSelector and podSelector in one element',
    doc: '§"Behavior of to and from selectors": contains a single from element allowing connections from Pods with the label role=client in namespaces with the label user=alice',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: and, namespace: default }
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: { matchLabels: { user: alice } }
      podSelector: { matchLabels: { role: client } }
`,
    client: pod('alice-ns', { role: 'other' }),
    server: pod('default', { app: 'x' }),
    port: 80,
    allowed: false,
  },
  {
    name: 'AND: both match',
    doc: '§"Behavior of to and from selectors": (same element) Pods with the label role=client in namespaces with the label user=alice',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: and, namespace: default }
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: { matchLabels: { user: alice } }
      podSelector: { matchLabels: { role: client } }
`,
    client: pod('alice-ns', { role: 'client' }),
    server: pod('default', { app: 'x' }),
    port: 80,
    allowed: true,
  },
  {
    name: 'OR: two elements, the pod matches only one',
    doc: '§"Behavior of to and from selectors": contains two elements in the from array, and allows connections from Pods in the local Namespace with the label role=client, or from any Pod in any namespace with the label user=alice',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: or, namespace: default }
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: { matchLabels: { user: alice } }
    - podSelector: { matchLabels: { role: client } }
`,
    client: pod('alice-ns', { role: 'other' }),
    server: pod('default', { app: 'x' }),
    port: 80,
    allowed: true,
  },
  {
    name: 'OR: role=client in the local namespace',
    doc: '§"Behavior of to and from selectors": Pods in the local Namespace with the label role=client',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: or, namespace: default }
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: { matchLabels: { user: alice } }
    - podSelector: { matchLabels: { role: client } }
`,
    client: pod('default', { role: 'client' }),
    server: pod('default', { app: 'x' }),
    port: 80,
    allowed: true,
  },
  {
    name: 'default deny all ingress',
    doc: '§"Default deny all ingress traffic": a NetworkPolicy that selects all pods but does not allow any ingress traffic to those pods',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: default-deny-ingress, namespace: default }
spec:
  podSelector: {}
  policyTypes: [Ingress]
`,
    client: pod('default', { app: 'a' }),
    server: pod('default', { app: 'b' }),
    port: 80,
    allowed: false,
  },
  {
    name: 'default deny ingress does not isolate for egress',
    doc: '§"Default deny all ingress traffic": this policy does not affect isolation for egress from any pod',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: default-deny-ingress, namespace: default }
spec:
  podSelector: {}
  policyTypes: [Ingress]
`,
    client: pod('default', { app: 'a' }),
    server: net('192.0.2.1/32'),
    port: 443,
    allowed: true,
  },
  {
    name: 'allow all ingress beside a deny-all: policies are additive',
    doc: '§"Allow all ingress traffic" (ingress: [{}]) and §"The two sorts of pod isolation": network policies do not conflict; they are additive',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: default-deny-ingress, namespace: default }
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: allow-all-ingress, namespace: default }
spec:
  podSelector: {}
  ingress:
  - {}
  policyTypes: [Ingress]
`,
    client: net('198.51.100.0/24'),
    server: pod('default', { app: 'b' }),
    port: 80,
    allowed: true,
  },
  {
    name: 'a policy of another namespace does not isolate',
    doc: '§"The two sorts of pod isolation": isolated if there is any NetworkPolicy that both selects the pod (policies select pods of their own namespace)',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: default-deny-ingress, namespace: elsewhere }
spec:
  podSelector: {}
  policyTypes: [Ingress]
`,
    client: pod('default', { app: 'a' }),
    server: pod('default', { app: 'b' }),
    port: 80,
    allowed: true,
  },
  {
    name: 'default deny all egress',
    doc: '§"Default deny all egress traffic": a NetworkPolicy that selects all pods but does not allow any egress traffic from those pods',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: default-deny-egress, namespace: default }
spec:
  podSelector: {}
  policyTypes: [Egress]
`,
    client: pod('default', { app: 'a' }),
    server: pod('other', { app: 'b' }),
    port: 80,
    allowed: false,
  },
  {
    name: 'endPort: a port inside the range',
    doc: '§"Targeting a range of ports": allows communication ... on any port between 32000 and 32768',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: multi-port-egress, namespace: default }
spec:
  podSelector: { matchLabels: { role: db } }
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: { cidr: 10.0.0.0/24 }
    ports:
    - { protocol: TCP, port: 32000, endPort: 32768 }
`,
    client: DB,
    server: net('10.0.0.9/32'),
    port: 32768,
    allowed: true,
  },
  {
    name: 'endPort: a port just past the range',
    doc: '§"Targeting a range of ports": ... between 32000 and 32768',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: multi-port-egress, namespace: default }
spec:
  podSelector: { matchLabels: { role: db } }
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: { cidr: 10.0.0.0/24 }
    ports:
    - { protocol: TCP, port: 32000, endPort: 32768 }
`,
    client: DB,
    server: net('10.0.0.9/32'),
    port: 32769,
    allowed: false,
  },
  {
    name: "named port: the server pod's container port of that name",
    doc: 'API reference NetworkPolicyPort.port: the port on the given protocol; this can either be a numerical or named port on a pod',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: named, namespace: default }
spec:
  podSelector: { matchLabels: { role: db } }
  ingress:
  - ports: [{ port: redis }]
`,
    client: pod('other', { a: 'b' }),
    server: DB,
    port: 6379,
    allowed: true,
  },
  {
    name: 'named port: another port of the pod does not match the name',
    doc: 'API reference NetworkPolicyPort.port: a named port on a pod',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: named, namespace: default }
spec:
  podSelector: { matchLabels: { role: db } }
  ingress:
  - ports: [{ port: redis }]
`,
    client: pod('other', { a: 'b' }),
    server: DB,
    port: 6380,
    allowed: false,
  },
  {
    name: 'namespace by name: kubernetes.io/metadata.name',
    doc: '§"Targeting a Namespace by its name": the Kubernetes control plane sets an immutable label kubernetes.io/metadata.name on all namespaces',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: from-shop, namespace: default }
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: shop } }
`,
    client: pod('shop', { app: 'web' }),
    server: pod('default', { app: 'x' }),
    port: 80,
    allowed: true,
  },
  {
    name: 'matchExpressions: NotIn and Exists',
    doc: 'API reference LabelSelector: matchLabels and matchExpressions are ANDed; operators In, NotIn, Exists, DoesNotExist',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: exprs, namespace: default }
spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector:
        matchExpressions:
        - { key: tier, operator: Exists }
        - { key: env, operator: NotIn, values: [dev] }
`,
    client: pod('default', { tier: 'web', env: 'dev' }),
    server: pod('default', { app: 'x' }),
    port: 80,
    allowed: false,
  },
  {
    name: 'ipBlock with except, IPv6: inside the block',
    doc: 'API reference IPBlock: cidr is a string representing the IPBlock, valid examples are "192.168.1.0/24" or "2001:db8::/64"; except is a list of CIDRs that should not be included within the IPBlock',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: v6, namespace: default }
spec:
  podSelector: {}
  ingress:
  - from: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } }]
`,
    client: net('2001:db8:2::/48'),
    server: pod('default', { app: 'x' }),
    port: 443,
    allowed: true,
  },
  {
    name: 'ipBlock with except, IPv6: inside the except',
    doc: 'API reference IPBlock: except values will be rejected if they are outside the cidr range (and addresses in them are not admitted)',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: v6, namespace: default }
spec:
  podSelector: {}
  ingress:
  - from: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } }]
`,
    client: net('2001:db8:1::5/128'),
    server: pod('default', { app: 'x' }),
    port: 443,
    allowed: false,
  },
  {
    name: "traffic from the pod's own node is always allowed",
    doc: 'intro: IP blocks (exception: traffic to and from the node where a Pod is running is always allowed, regardless of the IP address of the Pod or the node)',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: default-deny-ingress, namespace: default }
spec:
  podSelector: {}
  policyTypes: [Ingress]
`,
    client: net('10.0.0.1/32', 'node-x'),
    server: pod('default', { app: 'b' }),
    port: 8080,
    allowed: true,
  },
  {
    name: '... but not from another node',
    doc: 'intro: (the exception names the node where the Pod is running only)',
    yaml: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: default-deny-ingress, namespace: default }
spec:
  podSelector: {}
  policyTypes: [Ingress]
`,
    client: net('10.0.0.2/32', 'node-y'),
    server: pod('default', { app: 'b' }),
    port: 8080,
    allowed: false,
  },
];

for (const c of CASES) {
  test(`evaluator: ${c.name}`, () => {
    const set = new PolicySet(policies(c.yaml), nsLabels);
    const v = set.evaluate({ client: c.client, server: c.server, proto: c.proto ?? 6, port: c.port });
    assert.equal(v.allowed, c.allowed, `${c.doc}\n${JSON.stringify(v)}`);
  });
}

test('evaluator: policyTypes defaults to Ingress, plus Egress when egress rules exist', () => {
  const [p] = policies(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: p, namespace: default }
spec:
  podSelector: {}
  egress:
  - to: [{ ipBlock: { cidr: 10.0.0.0/8 } }]
`);
  const set = new PolicySet([p]);
  // DOC API reference policyTypes: if not specified, Ingress is always set, Egress when the policy has egress rules.
  assert.equal(set.evaluate({ client: net('192.0.2.1/32'), server: pod('default', {}), proto: 6, port: 80 }).ingress, 'denied');
  assert.equal(set.evaluate({ client: pod('default', {}), server: net('10.1.2.3/32'), proto: 6, port: 80 }).egress, 'allowed');
  assert.equal(set.evaluate({ client: pod('default', {}), server: net('192.0.2.1/32'), proto: 6, port: 80 }).egress, 'denied');
});
