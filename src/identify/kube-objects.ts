/**
 * API objects (V1Pod, V1Node, V1Service, V1Job) to the slim inventory the index keeps. Shared by
 * the static inventory file and the live informers, so both name things the same way.
 *
 * Objects may come from client-node's deserializer (dates as Date) or from raw JSON (a watch
 * stream, `kubectl -o json`: dates as RFC 3339 text); both are accepted.
 */
import type { V1Job, V1Node, V1OwnerReference, V1Pod, V1Service } from '@kubernetes/client-node';
import type { SlimNode, SlimPod, SlimPort, SlimService } from './inventory.ts';
import { sharedLabels, sharedPorts, sharedString as str } from './slim-share.ts';

export const DEFAULT_APP_LABELS: readonly string[] = ['app.kubernetes.io/name', 'app', 'k8s-app', 'name', 'component'];

/** Which workload owns a Job, learned from Job objects (only a CronJob makes a Job's pods CronJob pods). */
export interface JobOwnerLookup {
  /** The owner of the Job with this UID, or undefined when no known controller owns it. */
  ownerOfJob(jobUid: string, namespace: string, jobName: string): { kind: string; name: string } | undefined;
}

export interface SlimOptions {
  /** Label precedence for the app name (first non-empty wins). */
  readonly appLabels?: readonly string[];
  /** Job → CronJob; without it (or when it does not know the Job) a Job stays a Job. */
  readonly jobOwners?: JobOwnerLookup;
}

/**
 * Job owners keyed by Job UID, with a (namespace, name) fallback for pods whose ownerReference
 * lacks a UID (hand-written inventories). Fed from Job objects: a static List or a Job informer.
 */
export class JobOwners implements JobOwnerLookup {
  readonly #byUid = new Map<string, { kind: string; name: string; key: string }>();
  readonly #byName = new Map<string, { kind: string; name: string }>();

  /** Record (or forget, when the Job has no controller owner) which workload owns this Job. */
  upsertJob(job: V1Job): void {
    const meta = job.metadata ?? {};
    const key = `${meta.namespace ?? ''}/${meta.name ?? ''}`;
    const ref = controllerRef(meta.ownerReferences);
    const uid = meta.uid ?? '';
    if (!ref) {
      this.deleteJob(uid, meta.namespace ?? '', meta.name ?? '');
      return;
    }
    const owner = { kind: ref.kind, name: ref.name };
    if (uid) this.#byUid.set(uid, { ...owner, key });
    this.#byName.set(key, owner);
  }

  deleteJob(uid: string, namespace?: string, name?: string): void {
    const rec = uid ? this.#byUid.get(uid) : undefined;
    if (rec) {
      this.#byUid.delete(uid);
      this.#byName.delete(rec.key);
    }
    if (namespace !== undefined && name !== undefined) this.#byName.delete(`${namespace}/${name}`);
  }

  ownerOfJob(jobUid: string, namespace: string, jobName: string): { kind: string; name: string } | undefined {
    const rec = jobUid ? this.#byUid.get(jobUid) : undefined;
    if (rec) return rec;
    return this.#byName.get(`${namespace}/${jobName}`);
  }

  get size(): number {
    return this.#byName.size;
  }
}

/** Epoch ms of a Date or RFC 3339 text; undefined when absent or unparsable. */
export function timeMs(v: Date | string | undefined | null): number | undefined {
  if (v === undefined || v === null) return undefined;
  const ms = v instanceof Date ? v.getTime() : Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The controlling owner reference, else the first one. */
export function controllerRef(refs: readonly V1OwnerReference[] | undefined): V1OwnerReference | undefined {
  if (!refs || refs.length === 0) return undefined;
  return refs.find((r) => r.controller) ?? refs[0];
}

/** The first non-empty label in precedence order, or ''. */
export function appFromLabels(labels: Readonly<Record<string, string>> | undefined, precedence: readonly string[]): string {
  if (!labels) return '';
  for (const key of precedence) {
    const v = labels[key];
    if (typeof v === 'string' && v !== '') return v;
  }
  return '';
}

/**
 * The owning workload. A ReplicaSet named `<deployment>-<hash>` is a Deployment's only when the
 * pod's pod-template-hash label equals that suffix (a hand-made ReplicaSet keeps its own name);
 * a Job is a CronJob's only when the lookup says a CronJob owns that Job; everything else
 * (StatefulSet, DaemonSet, custom resources) is taken as it is.
 */
export function resolveOwner(pod: V1Pod, jobOwners?: JobOwnerLookup): { kind: string; name: string } {
  const meta = pod.metadata ?? {};
  const ref = controllerRef(meta.ownerReferences);
  if (!ref) return { kind: '', name: '' };
  if (ref.kind === 'ReplicaSet') {
    const hash = meta.labels?.['pod-template-hash'];
    if (hash && ref.name.length > hash.length + 1 && ref.name.endsWith(`-${hash}`)) {
      return { kind: 'Deployment', name: ref.name.slice(0, ref.name.length - hash.length - 1) };
    }
    return { kind: 'ReplicaSet', name: ref.name };
  }
  if (ref.kind === 'Job') {
    const owner = jobOwners?.ownerOfJob(ref.uid ?? '', meta.namespace ?? '', ref.name);
    if (owner && owner.kind === 'CronJob') return { kind: 'CronJob', name: owner.name };
    return { kind: 'Job', name: ref.name };
  }
  return { kind: ref.kind, name: ref.name };
}

/**
 * When a finished pod stopped holding its IP: the latest container finishedAt; else the latest
 * condition transition (the Ready → False flip); else its start, so that a completed pod with no
 * times at all never outshines a live pod that reuses the address.
 */
export function completionMs(pod: V1Pod, startMs: number): number {
  const st = pod.status ?? {};
  let latest: number | undefined;
  for (const list of [st.containerStatuses, st.initContainerStatuses, st.ephemeralContainerStatuses]) {
    for (const cs of list ?? []) {
      const t = timeMs(cs.state?.terminated?.finishedAt as Date | string | undefined);
      if (t !== undefined && (latest === undefined || t > latest)) latest = t;
    }
  }
  if (latest !== undefined) return latest;
  for (const c of st.conditions ?? []) {
    const t = timeMs(c.lastTransitionTime as Date | string | undefined);
    if (t !== undefined && (latest === undefined || t > latest)) latest = t;
  }
  return latest ?? startMs;
}

function slimPorts(pod: V1Pod): SlimPort[] {
  const out: SlimPort[] = [];
  const spec = pod.spec;
  for (const list of [spec?.containers, spec?.initContainers]) {
    for (const c of list ?? []) {
      for (const p of c.ports ?? []) {
        if (typeof p.containerPort !== 'number') continue;
        const sp: SlimPort = p.name
          ? { port: p.containerPort, name: p.name, protocol: p.protocol ?? 'TCP' }
          : { port: p.containerPort, protocol: p.protocol ?? 'TCP' };
        out.push(sp);
      }
    }
  }
  return out;
}

/** A pod as the index needs it; undefined for objects without a UID (they could never be deleted). */
export function slimPod(pod: V1Pod, opts: SlimOptions = {}): SlimPod | undefined {
  const meta = pod.metadata ?? {};
  if (!meta.uid) return undefined;
  const status = pod.status ?? {};
  const ips: string[] = [];
  for (const p of status.podIPs ?? []) if (p.ip && !ips.includes(p.ip)) ips.push(p.ip);
  if (ips.length === 0 && status.podIP) ips.push(status.podIP);
  const startMs = timeMs(status.startTime as Date | string | undefined) ?? timeMs(meta.creationTimestamp as Date | string | undefined) ?? 0;
  const phase = status.phase ?? 'Unknown';
  const owner = resolveOwner(pod, opts.jobOwners);
  const labels = sharedLabels(meta.labels);
  const slim: SlimPod = {
    uid: meta.uid,
    namespace: str(meta.namespace ?? 'default'),
    name: meta.name ?? meta.uid,
    nodeName: str(pod.spec?.nodeName ?? ''),
    hostNetwork: pod.spec?.hostNetwork === true,
    ips,
    phase: str(phase),
    startMs,
    ...(phase === 'Succeeded' || phase === 'Failed' ? { endMs: completionMs(pod, startMs) } : {}),
    appLabel: str(appFromLabels(labels, opts.appLabels ?? DEFAULT_APP_LABELS)),
    ownerKind: str(owner.kind),
    ownerName: str(owner.name),
    labels,
    ports: sharedPorts(slimPorts(pod)),
  };
  return slim;
}

/** The node's topology label, the GA name first, then the deprecated beta one older clusters still set. */
function topologyLabel(labels: Readonly<Record<string, string>> | undefined, what: 'zone' | 'region'): string {
  const v = labels?.[`topology.kubernetes.io/${what}`] || labels?.[`failure-domain.beta.kubernetes.io/${what}`];
  return typeof v === 'string' ? v : '';
}

/** A node's InternalIP and ExternalIP addresses, and its zone and region. */
export function slimNode(node: V1Node): SlimNode | undefined {
  const name = node.metadata?.name;
  if (!name) return undefined;
  const addresses: string[] = [];
  for (const a of node.status?.addresses ?? []) {
    if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && a.address && !addresses.includes(a.address)) {
      addresses.push(a.address);
    }
  }
  const zone = topologyLabel(node.metadata?.labels, 'zone');
  const region = topologyLabel(node.metadata?.labels, 'region');
  return { name, addresses, ...(zone ? { zone: str(zone) } : {}), ...(region ? { region: str(region) } : {}) };
}

/** A Service's virtual IPs, ports and selector. Headless ("None") and ExternalName services have no ClusterIP. */
export function slimService(svc: V1Service): SlimService | undefined {
  const meta = svc.metadata ?? {};
  if (!meta.uid) return undefined;
  const spec = svc.spec ?? {};
  const clusterIPs: string[] = [];
  for (const ip of spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])) {
    if (ip && ip !== 'None' && !clusterIPs.includes(ip)) clusterIPs.push(ip);
  }
  const ports: SlimPort[] = [];
  const targetPorts: (number | string)[] = [];
  for (const p of spec.ports ?? []) {
    if (typeof p.port !== 'number') continue;
    ports.push(p.name ? { port: p.port, name: p.name, protocol: p.protocol ?? 'TCP' } : { port: p.port, protocol: p.protocol ?? 'TCP' });
    const tp = p.targetPort;
    // An IntOrString may arrive as numeric text from hand-written YAML.
    targetPorts.push(tp === undefined || tp === '' ? p.port : typeof tp === 'string' && /^\d+$/.test(tp) ? Number(tp) : tp);
  }
  return {
    uid: meta.uid,
    namespace: meta.namespace ?? 'default',
    name: meta.name ?? meta.uid,
    clusterIPs,
    ports,
    targetPorts,
    selector: { ...(spec.selector ?? {}) },
  };
}
