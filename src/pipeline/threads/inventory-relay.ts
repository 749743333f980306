/**
 * The main thread's copy of the inventory, and its relay to the receiving threads. Every change is
 * kept, so a late or restarted thread can be given the inventory as it is now, and passed on to
 * every thread in batches, one message per turn of the main thread's loop; DNS answers go the
 * same way. Batches are numbered (generations), so readiness can tell when every thread has
 * applied what was sent (see thread-control.ts).
 */
import type { InventoryListener, SlimNode, SlimPod, SlimService } from '../../identify/inventory.ts';
import type { DnsNames, LearnOp } from '../../dns/dns-names.ts';
import type { InventoryChange, ToThread } from './protocol.ts';
import type { ThreadControl } from './thread-control.ts';

/** DNS answers per message: a burst of answers never makes one huge message for the threads to clone. */
const DNS_SLICE = 8192;

export class InventoryRelay implements InventoryListener {
  readonly #pods = new Map<string, SlimPod>();
  readonly #nodes = new Map<string, SlimNode>();
  readonly #services = new Map<string, SlimService>();
  #queue: InventoryChange[] = [];
  #dnsQueue: LearnOp[] = [];
  #flushScheduled = false;
  /** Inventory batches sent so far. */
  #generation = 0;
  /** Sends one message to every thread that is not stopping. */
  readonly #broadcast: (m: ToThread) => void;

  constructor(broadcast: (m: ToThread) => void) {
    this.#broadcast = broadcast;
  }

  upsertPod(pod: SlimPod): void {
    this.#pods.set(pod.uid, pod);
    this.#enqueue({ op: 'upsertPod', pod });
  }
  deletePod(uid: string, atMs: number): void {
    this.#pods.delete(uid);
    this.#enqueue({ op: 'deletePod', uid, atMs });
  }
  upsertNode(node: SlimNode): void {
    this.#nodes.set(node.name, node);
    this.#enqueue({ op: 'upsertNode', node });
  }
  deleteNode(name: string): void {
    this.#nodes.delete(name);
    this.#enqueue({ op: 'deleteNode', name });
  }
  upsertService(svc: SlimService): void {
    this.#services.set(svc.uid, svc);
    this.#enqueue({ op: 'upsertService', service: svc });
  }
  deleteService(uid: string): void {
    this.#services.delete(uid);
    this.#enqueue({ op: 'deleteService', uid });
  }

  /** How many pods, nodes and services the inventory holds now. */
  get counts(): { pods: number; nodes: number; services: number } {
    return { pods: this.#pods.size, nodes: this.#nodes.size, services: this.#services.size };
  }

  /** DNS answers for every thread, batched like inventory changes. */
  learnNames(ops: readonly LearnOp[]): void {
    for (const op of ops) this.#dnsQueue.push(op);
    this.#schedule();
  }

  /**
   * A new thread's start: the inventory as it is now (its thread control then says it applied the
   * current generation), and every DNS answer the main thread's table holds.
   */
  replayTo(post: (m: ToThread) => void, control: ThreadControl, dnsNames: DnsNames | undefined): void {
    const replay: InventoryChange[] = [];
    for (const node of this.#nodes.values()) replay.push({ op: 'upsertNode', node });
    for (const service of this.#services.values()) replay.push({ op: 'upsertService', service });
    for (const pod of this.#pods.values()) replay.push({ op: 'upsertPod', pod });
    if (replay.length > 0) post({ t: 'inv-batch', ops: replay, generation: this.#generation });
    else control.inventoryApplied(this.#generation);
    if (dnsNames !== undefined && dnsNames.size > 0) {
      const all = dnsNames.snapshot();
      for (let i = 0; i < all.length; i += DNS_SLICE) post({ t: 'dns', ops: all.slice(i, i + DNS_SLICE) });
    }
  }

  /** Whether a thread has yet to apply a change sent or queued: until it has, it may name a flow from an older inventory. */
  isBehind(control: ThreadControl): boolean {
    return this.#queue.length > 0 || control.inventoryGeneration < this.#generation;
  }

  /** Sends what is queued now, DNS answers first. */
  sendQueued(): void {
    this.#flushScheduled = false;
    if (this.#dnsQueue.length > 0) {
      const queued = this.#dnsQueue;
      this.#dnsQueue = [];
      for (let i = 0; i < queued.length; i += DNS_SLICE) this.#broadcast({ t: 'dns', ops: queued.slice(i, i + DNS_SLICE) });
    }
    if (this.#queue.length === 0) return;
    const ops = this.#queue;
    this.#queue = [];
    this.#broadcast({ t: 'inv-batch', ops, generation: ++this.#generation });
  }

  #enqueue(change: InventoryChange): void {
    this.#queue.push(change);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.sendQueued());
    }
  }
}
