/**
 * The small stand-ins the live inventory's informers cache instead of whole API objects: just
 * enough metadata for ListWatch's bookkeeping (name, namespace, uid, resourceVersion) and the
 * slim form the index keeps, so the informers' caches and the index share the same slim objects
 * and a whole object lives only while a list page or a watch event is being read.
 */
import type { KubernetesObject, V1Job, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { SlimNode, SlimPod, SlimService } from './inventory.ts';
import { controllerRef, type SlimOptions, slimNode, slimPod, slimService } from './kube-objects.ts';

export type KubeKind = 'pods' | 'nodes' | 'services' | 'jobs';

/** What ListWatch caches: just enough metadata for its bookkeeping, and the slim form. */
export interface Thin extends KubernetesObject {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    ownerReferences?: { kind: string; name: string; uid: string; apiVersion: string; controller?: boolean }[];
  };
  slim?: SlimPod | SlimNode | SlimService;
}

/**
 * The stand-in for a whole object of this kind, or undefined for one the index cannot use (no
 * UID). A Job keeps only its controller reference: the index needs no Job, only its owner.
 */
export function thinObject(kind: KubeKind, raw: unknown, opts: SlimOptions): Thin | undefined {
  if (kind === 'pods') {
    const slim = slimPod(raw as V1Pod, opts);
    return slim ? { metadata: thinMeta(raw), slim } : undefined;
  }
  if (kind === 'services') {
    const slim = slimService(raw as V1Service);
    return slim ? { metadata: thinMeta(raw), slim } : undefined;
  }
  if (kind === 'nodes') {
    const slim = slimNode(raw as V1Node);
    return slim ? { metadata: thinMeta(raw), slim } : undefined;
  }
  const meta = thinMeta(raw);
  const ref = controllerRef((raw as V1Job).metadata?.ownerReferences);
  if (ref) meta.ownerReferences = [{ kind: ref.kind, name: ref.name, uid: ref.uid, apiVersion: ref.apiVersion, controller: true }];
  return meta.uid ? { metadata: meta } : undefined;
}

function thinMeta(raw: unknown): Thin['metadata'] {
  const m = (raw as KubernetesObject).metadata ?? {};
  return { name: m.name ?? '', namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
}
