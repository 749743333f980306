/**
 * Suggested policies as YAML a reviewer can read and kubectl can apply: a `List` whose items carry
 * their evidence as comments (each rule: flows, bytes and last seen per port; each policy: what was
 * left out and why), or one document per policy for `--out DIR`.
 */
import { Document, isNode } from 'yaml';
import type { Suggestion, SuggestedPolicy } from './suggest.ts';
import { evidenceText } from './suggest.ts';

const comment = (lines: readonly string[]) => lines.map((l) => ` ${l}`).join('\n');

function ruleComments(doc: Document, sp: SuggestedPolicy, path: (string | number)[]): void {
  const key = sp.direction === 'Ingress' ? 'ingress' : 'egress';
  sp.rules.forEach((r, i) => {
    const node = doc.getIn([...path, 'spec', key, i], true);
    if (!isNode(node)) return;
    const lines = [`${sp.direction === 'Ingress' ? 'from' : 'to'} ${r.peer}: ${evidenceText(r.evidence)}`];
    if (r.byPort.size > 1) for (const [p, e] of r.byPort) lines.push(`  ${p}: ${evidenceText(e)}`);
    if (r.note) lines.push(r.note);
    node.commentBefore = comment(lines);
  });
}

function policyHeader(sp: SuggestedPolicy): string[] {
  const n = sp.rules.length;
  const what =
    sp.direction === 'Egress'
      ? `may reach the ${n - 1} server${n === 2 ? '' : 's'} seen, and DNS`
      : n > 0
        ? `admits the ${n} client${n === 1 ? '' : 's'} seen`
        : sp.leftOut === 0
          ? 'nobody was seen connecting to it, so it admits nothing'
          : 'admits nothing: the clients seen cannot be named by a selector or CIDR (notes below); applying it cuts them off';
  const lines = [`${sp.workload}: ${what}`];
  for (const n of sp.notes) lines.push(`note: ${n}`);
  return lines;
}

function listHeader(s: Suggestion, sinceText: string | undefined): string[] {
  return [
    `NetworkPolicies suggested by netflow-k8s from ${s.conversations} observed conversation${s.conversations === 1 ? '' : 's'}` +
      `${sinceText ? ` (last ${sinceText})` : ''} in ${s.namespaces.length > 0 ? s.namespaces.join(', ') : 'no namespace'}.`,
    'Review before applying: traffic not seen while the collector watched is denied. Check first:',
    '  netflow-k8s policy check --url COLLECTOR_URL FILE',
    ...s.notes.map((n) => `note: ${n}`),
  ];
}

/** The whole suggestion as one `List` document. */
export function renderList(s: Suggestion, sinceText?: string): string {
  // No anchors and aliases: shared selector objects are written out each time, as people write them.
  const doc = new Document({ apiVersion: 'v1', kind: 'List', items: s.policies.map((p) => p.policy) }, { aliasDuplicateObjects: false });
  doc.commentBefore = comment(listHeader(s, sinceText));
  s.policies.forEach((sp, i) => {
    const item = doc.getIn(['items', i], true);
    if (isNode(item)) item.commentBefore = comment(policyHeader(sp));
    ruleComments(doc, sp, ['items', i]);
  });
  return doc.toString({ lineWidth: 0 });
}

/** One YAML document per policy, named `NAMESPACE/NAME.yaml`. */
export function renderFiles(s: Suggestion): { path: string; yaml: string }[] {
  return s.policies.map((sp) => {
    const doc = new Document(sp.policy, { aliasDuplicateObjects: false });
    doc.commentBefore = comment(policyHeader(sp));
    ruleComments(doc, sp, []);
    return { path: `${sp.policy.metadata.namespace}/${sp.policy.metadata.name}.yaml`, yaml: doc.toString({ lineWidth: 0 }) };
  });
}
