/**
 * Which app and which workload a pod belongs to, named one way everywhere: the index names a
 * pod's end by them, the aggregation levels group ends by them and policies select by them.
 */

/** The seed's app name (`srchost` / `dsthost`): the app label by label precedence, then the owner workload, then the pod's own name. */
export function appOf(pod: { readonly appLabel: string; readonly ownerName: string; readonly name: string }): string {
  return pod.appLabel || pod.ownerName || pod.name;
}

/** The owner workload of a pod or an end; a pod without an owner is its own workload. */
export function workloadOf(end: { readonly ownerName: string; readonly name: string }): string {
  return end.ownerName || end.name;
}
