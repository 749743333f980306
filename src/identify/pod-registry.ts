/**
 * The pods the identity index knows, by UID, namespace and node, and the deleted ones it keeps for
 * late flows. A deleted pod leaves its namespace at once (Services select live pods only) but stays
 * on its node and in its addresses' history until pruned, in deletion order.
 */
import type { PodState } from './address-history.ts';
import { deleteIn, setIn } from './set-map.ts';

export class PodRegistry {
  readonly #byUid = new Map<string, PodState>();
  readonly #byNs = new Map<string, Set<PodState>>();
  /** Pods (deleted ones too, until pruned) by node: their addresses change meaning with the node's zone. */
  readonly #byNode = new Map<string, Set<PodState>>();
  /** Deleted pods in deletion order (goneAt rises), pruned from the front. */
  #gone: PodState[] = [];
  #goneHead = 0;
  #pruned = 0;
  #present = 0;

  get(uid: string): PodState | undefined {
    return this.#byUid.get(uid);
  }

  /** Live pods of a namespace. */
  inNamespace(namespace: string): ReadonlySet<PodState> | undefined {
    return this.#byNs.get(namespace);
  }

  /** Pods of a node, deleted ones not yet pruned included. */
  onNode(nodeName: string): ReadonlySet<PodState> | undefined {
    return this.#byNode.get(nodeName);
  }

  /** A pod's new state; `existing`, the state it replaces, was unhooked from addresses and ports by the caller. */
  put(st: PodState, existing: PodState | undefined): void {
    if (existing === undefined) {
      this.#present++;
    } else {
      deleteIn(this.#byNs, existing.slim.namespace, existing);
      deleteIn(this.#byNode, existing.slim.nodeName, existing);
    }
    this.#byUid.set(st.uid, st);
    setIn(this.#byNode, st.slim.nodeName).add(st);
    setIn(this.#byNs, st.slim.namespace).add(st);
  }

  /** The pod was deleted at clock time `nowMs`: kept for late flows until pruned. */
  markGone(st: PodState, nowMs: number): void {
    st.goneAt = nowMs;
    this.#present--;
    deleteIn(this.#byNs, st.slim.namespace, st);
    this.#gone.push(st);
  }

  /** Forgets the pods deleted at or before `limit`, each handed to `drop` first. */
  prune(limit: number, drop: (st: PodState) => void): void {
    let head = this.#goneHead;
    while (head < this.#gone.length && this.#gone[head].goneAt <= limit) {
      const st = this.#gone[head++];
      drop(st);
      this.#byUid.delete(st.uid);
      deleteIn(this.#byNode, st.slim.nodeName, st);
      this.#pruned++;
    }
    if (head > 1024 && head * 2 > this.#gone.length) {
      this.#gone = this.#gone.slice(head);
      head = 0;
    }
    this.#goneHead = head;
  }

  /** Pods present (any phase). */
  get present(): number {
    return this.#present;
  }

  /** Deleted pods still kept. */
  get retained(): number {
    return this.#gone.length - this.#goneHead;
  }

  /** Deleted pods forgotten after the retention time. */
  get pruned(): number {
    return this.#pruned;
  }
}
