/**
 * Bad NetworkPolicy input is refused whole, each problem named by document, List item and field;
 * good input of every accepted shape (documents, a List, JSON) reads the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicies, PolicyInputError } from '../../src/policy/policy-yaml.ts';

const GOOD = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ok, namespace: shop }
spec:
  podSelector: { matchLabels: { app: web } }
  ingress:
  - from: [{ podSelector: {} }]
    ports: [{ port: http }, { protocol: UDP, port: 53 }, { port: 32000, endPort: 32100 }]
`;

function problems(text: string): string[] {
  try {
    parsePolicies(text, 'f.yaml');
  } catch (err) {
    assert.ok(err instanceof PolicyInputError);
    return [...err.problems];
  }
  assert.fail('accepted');
}

test('policy input: documents, a List and JSON read alike', () => {
  assert.equal(parsePolicies(GOOD).length, 1);
  assert.equal(parsePolicies(`${GOOD}---\n${GOOD.replace('name: ok', 'name: ok2')}`).length, 2);
  const list = { apiVersion: 'v1', kind: 'List', items: parsePolicies(GOOD) };
  assert.deepEqual(parsePolicies(JSON.stringify(list)), parsePolicies(GOOD));
});

const CASES: [string, string, RegExp][] = [
  [
    'not a NetworkPolicy',
    GOOD.replace('kind: NetworkPolicy', 'kind: Deployment'),
    /^f\.yaml: document 1: kind: "Deployment" is not a NetworkPolicy$/,
  ],
  ['wrong apiVersion', GOOD.replace('networking.k8s.io/v1', 'extensions/v1beta1'), /document 1: apiVersion: "extensions\/v1beta1"/],
  ['no namespace', GOOD.replace(', namespace: shop', ''), /document 1: metadata\.namespace: required/],
  [
    'bad matchLabels key',
    GOOD.replace('app: web', '"-bad": web'),
    /document 1: spec\.podSelector\.matchLabels: "-bad" is not a valid label key/,
  ],
  [
    'In without values',
    GOOD.replace('{ matchLabels: { app: web } }', '{ matchExpressions: [{ key: app, operator: In }] }'),
    /spec\.podSelector\.matchExpressions\[0\]\.values: must be non-empty when operator is In/,
  ],
  [
    'unknown operator',
    GOOD.replace('{ matchLabels: { app: web } }', '{ matchExpressions: [{ key: app, operator: Equals, values: [a] }] }'),
    /matchExpressions\[0\]\.operator: must be one of/,
  ],
  [
    'ipBlock with a podSelector',
    GOOD.replace('[{ podSelector: {} }]', '[{ podSelector: {}, ipBlock: { cidr: 10.0.0.0/8 } }]'),
    /spec\.ingress\[0\]\.from\[0\]\.ipBlock: may not be combined/,
  ],
  [
    'except outside the cidr',
    GOOD.replace('[{ podSelector: {} }]', '[{ ipBlock: { cidr: 10.0.0.0/8, except: [192.168.0.0/16] } }]'),
    /from\[0\]\.ipBlock\.except\[0\]: 192\.168\.0\.0\/16 must be a strict subset of 10\.0\.0\.0\/8/,
  ],
  [
    'cidr without prefix',
    GOOD.replace('[{ podSelector: {} }]', '[{ ipBlock: { cidr: 10.0.0.1 } }]'),
    /ipBlock\.cidr: "10\.0\.0\.1" is not a CIDR/,
  ],
  [
    'endPort below port',
    GOOD.replace('endPort: 32100', 'endPort: 31000'),
    /spec\.ingress\[0\]\.ports\[2\]\.endPort: must be from port \(32000\)/,
  ],
  ['endPort with a named port', GOOD.replace('{ port: http }', '{ port: http, endPort: 90 }'), /ports\[0\]\.endPort: needs a numeric port/],
  ['bad protocol', GOOD.replace('protocol: UDP', 'protocol: ICMP'), /ports\[1\]\.protocol: must be one of TCP, UDP, SCTP/],
  ['misspelt field', GOOD.replace('ingress:', 'ingres:'), /spec\.ingres: not a field of NetworkPolicySpec/],
  ['not YAML', 'a: [', /document 1: not YAML/],
];

for (const [name, text, re] of CASES) {
  test(`policy input: ${name} is refused with its field`, () => {
    const p = problems(text);
    assert.ok(
      p.some((m) => re.test(m)),
      p.join('\n'),
    );
  });
}

test('policy input: one bad document among good ones refuses all, naming document and List item', () => {
  const bad = GOOD.replace('app: web', 'app: "not valid!"');
  const list = `apiVersion: v1\nkind: List\nitems:\n${[GOOD, bad].map((d) => `- ${d.replace(/\n(?=.)/g, '\n  ')}`).join('')}`;
  const p = problems(`${GOOD}---\n${list}`);
  assert.equal(p.length, 1, p.join('\n'));
  assert.match(p[0], /^f\.yaml: document 2, items\[1\]: spec\.podSelector\.matchLabels\.app: "not valid!" is not a valid label value$/);
});
