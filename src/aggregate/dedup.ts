/**
 * Double counting: a pod-to-pod flow between two nodes is seen by the exporter on each node.
 * We keep the source node's report. The decision is a pure function the pipeline calls per
 * record, so it can be tested without sockets.
 */
import type { Endpoint } from '../identify/endpoint.ts';

export type DedupMode = 'auto' | 'off';
export const DEDUP_MODES: readonly DedupMode[] = ['auto', 'off'];

/**
 * True when this exporter's report of the flow should be counted.
 *
 * With `auto`, a report is skipped only when all of these hold: the exporter is a known node,
 * that node is the destination's node, and the source is a pod on a different known node (whose
 * exporter reports the same flow). Anything less certain is counted.
 *
 * @param exporterNode the node the exporter address belongs to (node inventory), or undefined
 * @param isKnownNode whether a node name is in the inventory; by default any non-empty name is
 */
export function shouldCount(
  mode: DedupMode,
  exporterNode: string | undefined,
  src: Pick<Endpoint, 'kind' | 'nodeName'>,
  dst: Pick<Endpoint, 'nodeName'>,
  isKnownNode: (name: string) => boolean = nonEmpty,
): boolean {
  if (mode === 'off') return true;
  if (exporterNode === undefined || exporterNode === '' || !isKnownNode(exporterNode)) return true;
  if (dst.nodeName !== exporterNode) return true;
  if (src.kind !== 'pod' || src.nodeName === '' || src.nodeName === exporterNode) return true;
  return !isKnownNode(src.nodeName);
}

const nonEmpty = (name: string): boolean => name !== '';

/**
 * shouldCount(mode 'auto') on numbers: node names interned to numbers, 0 for none. `srcPodNode`
 * is the source's node when the source is a pod, else 0; `dstNode` is the destination's node.
 * The receive path remembers these per address so a record needs no endpoint to decide.
 */
export function shouldCountNumbered(exporterNode: number, srcPodNode: number, dstNode: number): boolean {
  return exporterNode === 0 || dstNode !== exporterNode || srcPodNode === 0 || srcPodNode === exporterNode;
}
