/**
 * Offline checks of Kubernetes objects for the deploy tests: render kustomizations with kubectl,
 * validate objects against the Kubernetes OpenAPI schemas (kubernetes-models ships them compiled
 * to ajv validators) and reject fields no schema knows (from @kubernetes/client-node's models:
 * the OpenAPI schemas allow unknown fields, so a misspelt `readinesProbe` would pass them).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

// Rendered manifests are plain JSON whose shape the checks themselves establish.
export type K8sObject = Record<string, any>;

export const KUBECTL_CANDIDATES = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'];

/** kubectl's path, or undefined where it is not installed (it comes from Google's packages, not Debian's). */
export function findKubectl(): string | undefined {
  for (const p of KUBECTL_CANDIDATES) if (existsSync(p)) return p;
  try {
    const p = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
    return p || undefined;
  } catch {
    return undefined;
  }
}

export function parseYamlDocs(text: string, source: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const v: unknown = doc.toJS();
    if (v !== null && v !== undefined) out.push(v as K8sObject);
  }
  return out;
}

export function kustomize(kubectl: string, dir: string): K8sObject[] {
  const text = execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseYamlDocs(text, `kubectl kustomize ${dir}`);
}

/** Every directory under `root` holding a kustomization.yaml, with its kind (Kustomization or Component). */
export function kustomizationDirs(root: string): { dir: string; kind: string; spec: K8sObject }[] {
  const out: { dir: string; kind: string; spec: K8sObject }[] = [];
  const walk = (dir: string): void => {
    const file = join(dir, 'kustomization.yaml');
    if (existsSync(file)) {
      const spec = parseYamlDocs(readFileSync(file, 'utf8'), file)[0] ?? {};
      out.push({ dir, kind: String(spec.kind ?? 'Kustomization'), spec });
    }
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(root);
  return out.sort((a, b) => a.dir.localeCompare(b.dir));
}

/** Validate against the Kubernetes OpenAPI schema of the object's kind; returns error strings. */
export async function validateSchema(obj: K8sObject): Promise<string[] | 'no-schema'> {
  const apiVersion = String(obj.apiVersion ?? '');
  const kind = String(obj.kind ?? '');
  const slash = apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const pkg = group === 'monitoring.coreos.com' ? '@kubernetes-models/prometheus-operator' : 'kubernetes-models';
  const spec = `${pkg}/${group ? `${group}/` : ''}${version}/${kind}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch {
    return 'no-schema';
  }
  const Model = mod[kind] as (new (data: K8sObject) => { validate(): void }) | undefined;
  if (!Model) return 'no-schema';
  try {
    new Model(structuredClone(obj)).validate();
    return [];
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
}

interface AttributeType {
  baseName: string;
  type: string;
}
type ModelClass = { getAttributeTypeMap(): AttributeType[] };
const models = k8s as unknown as Record<string, ModelClass | undefined>;

/** client-node's model class name for a top-level object: apps/v1 DaemonSet → V1DaemonSet. */
export function modelName(obj: K8sObject): string {
  const apiVersion = String(obj.apiVersion ?? '');
  const version = apiVersion.slice(apiVersion.lastIndexOf('/') + 1);
  return version.charAt(0).toUpperCase() + version.slice(1) + String(obj.kind);
}

/** Paths of fields that the Kubernetes models do not define (typos, misplaced keys). */
export function unknownFields(obj: K8sObject): string[] | 'no-model' {
  const name = modelName(obj);
  if (!models[name]?.getAttributeTypeMap) return 'no-model';
  const errors: string[] = [];
  walkType(obj, name, String(obj.kind), errors);
  return errors;
}

function walkType(value: unknown, type: string, path: string, errors: string[]): void {
  if (value === null || value === undefined) return;
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) {
    if (Array.isArray(value)) value.forEach((v, i) => walkType(v, arr[1], `${path}[${i}]`, errors));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object') for (const [k, v] of Object.entries(value)) walkType(v, map[1], `${path}.${k}`, errors);
    return;
  }
  const model = models[type];
  if (!model?.getAttributeTypeMap || typeof value !== 'object' || Array.isArray(value)) return;
  const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const t = attrs.get(k);
    if (t === undefined) errors.push(`${path}.${k}: not a field of ${type}`);
    else walkType(v, t, `${path}.${k}`, errors);
  }
}

/** Every pod template (or pod spec) in an object, with the workload's name. */
export function podSpecs(obj: K8sObject): { workload: string; spec: K8sObject; meta: K8sObject }[] {
  const name = `${obj.kind}/${obj.metadata?.name}`;
  if (obj.kind === 'Pod') return [{ workload: name, spec: obj.spec, meta: obj.metadata ?? {} }];
  const t = obj.spec?.template;
  if (t?.spec) return [{ workload: name, spec: t.spec, meta: t.metadata ?? {} }];
  return [];
}

/** Containers that run for the pod's life: main containers and native sidecars. */
export function longRunningContainers(spec: K8sObject): K8sObject[] {
  const init = (spec.initContainers ?? []) as K8sObject[];
  return [...((spec.containers ?? []) as K8sObject[]), ...init.filter((c) => c.restartPolicy === 'Always')];
}

/** A container's env as a map, with $(VAR) references expanded the way the kubelet does. */
export function containerEnv(c: K8sObject, fieldValues: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (c.env ?? []) as K8sObject[]) {
    if (e.valueFrom?.fieldRef) env[e.name] = fieldValues[e.valueFrom.fieldRef.fieldPath] ?? `<${e.valueFrom.fieldRef.fieldPath}>`;
    else env[e.name] = String(e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => env[v] ?? m);
  }
  return env;
}
