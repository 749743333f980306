/**
 * The podSelector for a workload: labels its pods have in common, preferring the label that named
 * it (the first of --label-precedence that is set, as the collector names apps), and only as many
 * more as it takes to leave out the other pods of the namespace.
 *
 * Labels that change with every rollout or differ per pod (pod-template-hash,
 * controller-revision-hash, the StatefulSet pod name, ...) would make a policy that stops
 * matching at the next rollout, or matches one replica; they are used only when nothing else
 * tells the workload's pods from the others, and the result then says so.
 */
import type { SlimPod } from '../identify/inventory.ts';

export const VOLATILE_LABELS: ReadonlySet<string> = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
]);

export interface ChosenSelector {
  readonly matchLabels: Record<string, string>;
  /** Why the selector is not as clean as wished (a volatile label used, other pods still selected); '' when it is. */
  readonly note: string;
}

/** Labels every pod has with the same value. */
export function commonLabels(pods: readonly SlimPod[]): Record<string, string> {
  if (pods.length === 0) return {};
  const out: Record<string, string> = { ...pods[0].labels };
  for (const p of pods.slice(1)) for (const k of Object.keys(out)) if (p.labels[k] !== out[k]) delete out[k];
  return out;
}

const selects = (sel: Record<string, string>, p: SlimPod) => Object.entries(sel).every(([k, v]) => p.labels[k] === v);

/**
 * `pods` are the workload's, `others` the rest of the namespace's pods; undefined when the pods
 * share no label at all (nothing can select them as a group).
 */
export function chooseSelector(
  pods: readonly SlimPod[],
  others: readonly SlimPod[],
  precedence: readonly string[],
): ChosenSelector | undefined {
  const common = commonLabels(pods);
  const stable = Object.keys(common)
    .filter((k) => !VOLATILE_LABELS.has(k))
    .sort();
  const volatile = Object.keys(common)
    .filter((k) => VOLATILE_LABELS.has(k))
    .sort();
  if (stable.length + volatile.length === 0) return undefined;
  const appKey = precedence.find((k) => common[k] !== undefined && common[k] !== '' && !VOLATILE_LABELS.has(k));
  const sel: Record<string, string> = {};
  let rest: string[];
  if (appKey !== undefined) {
    sel[appKey] = common[appKey];
    rest = stable.filter((k) => k !== appKey);
  } else {
    // No naming label: every stable label the pods share, which is what the workload's template gives them.
    for (const k of stable) sel[k] = common[k];
    rest = [];
  }
  const strays = () => others.filter((p) => selects(sel, p));
  for (const k of rest) {
    if (strays().length === 0) break;
    sel[k] = common[k];
  }
  let note = '';
  if (strays().length > 0 && volatile.length > 0) {
    for (const k of volatile) sel[k] = common[k];
    note =
      "no stable label tells these pods from the namespace's others, " +
      `so the selector uses ${volatile.join(', ')}, which changes with each rollout`;
  }
  if (Object.keys(sel).length === 0) {
    for (const k of volatile) sel[k] = common[k];
    note = `the pods share only ${volatile.join(', ')}, which changes with each rollout`;
  }
  const left = strays();
  if (left.length > 0)
    note = `${note ? `${note}; ` : ''}it also selects ${left
      .map((p) => p.name)
      .sort()
      .join(', ')}`;
  return { matchLabels: sel, note };
}
