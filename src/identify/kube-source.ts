/**
 * The live inventory: list-watch informers on Pods, Nodes, Services and batch/v1 Jobs in all
 * namespaces, feeding an InventoryListener with slim objects.
 *
 * Each kind runs its own informer (kube-informer.ts: client-node's ListWatch caching only small
 * stand-ins, kube-thin.ts, and restarted on every error with backoff). This source maps each kind
 * to the listener's calls, renames a Job's pods once its CronJob is known, and is ready only once
 * every kind has completed its first full list.
 */
import { BatchV1Api, CoreV1Api, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import type { InventoryListener, SlimNode, SlimPod, SlimService } from './inventory.ts';
import { type BackoffOptions, KindInformer, type KubeKindStats, type KubeLogger, type Page } from './kube-informer.ts';
import { DEFAULT_APP_LABELS, JobOwners } from './kube-objects.ts';
import { type KubeKind, type Thin, thinObject } from './kube-thin.ts';

export type { BackoffOptions, KubeKindStats, KubeLogger } from './kube-informer.ts';
export type { KubeKind } from './kube-thin.ts';

/** Jobs first, so a Job's CronJob is usually known before its pods are named. */
export const KUBE_KINDS: readonly KubeKind[] = ['jobs', 'nodes', 'services', 'pods'];

const PATHS: Record<KubeKind, string> = {
  pods: '/api/v1/pods',
  nodes: '/api/v1/nodes',
  services: '/api/v1/services',
  jobs: '/apis/batch/v1/jobs',
};

export interface KubeSourceStats {
  ready: boolean;
  kinds: Record<KubeKind, KubeKindStats>;
}

export interface KubeSourceOptions {
  kubeConfig: KubeConfig;
  listener: InventoryListener;
  /** Label precedence for the app name. */
  appLabels?: readonly string[];
  /** Restart backoff (default 1 s doubling to 30 s, each delay between half and all of it). */
  backoff?: Partial<BackoffOptions>;
  /** Items per list page (default 500, as client-go). */
  pageSize?: number;
  /** A list page that takes longer fails and is retried (default 60 s). */
  listTimeoutMs?: number;
  log?: KubeLogger;
  /** Clock for deletion times (epoch ms). */
  now?: () => number;
}

export class KubeSource {
  readonly #listener: InventoryListener;
  readonly #appLabels: readonly string[];
  readonly #log?: KubeLogger;
  readonly #now: () => number;
  readonly #jobOwners = new JobOwners();
  readonly #kinds = new Map<KubeKind, KindInformer>();
  #started = false;
  #stopped = false;
  #ready = false;
  #resolveReady!: () => void;
  /** Resolves once every kind has completed its first full list. Never rejects. */
  readonly ready: Promise<void>;

  constructor(opts: KubeSourceOptions) {
    this.#listener = opts.listener;
    this.#appLabels = opts.appLabels ?? DEFAULT_APP_LABELS;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.ready = new Promise<void>((resolve) => {
      this.#resolveReady = resolve;
    });
    const kc = opts.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    const fetchers: Record<KubeKind, (limit: number, cont: string | undefined) => Promise<Page>> = {
      pods: (limit, cont) => core.listPodForAllNamespaces({ limit, _continue: cont }),
      nodes: (limit, cont) => core.listNode({ limit, _continue: cont }),
      services: (limit, cont) => core.listServiceForAllNamespaces({ limit, _continue: cont }),
      jobs: (limit, cont) => batch.listJobForAllNamespaces({ limit, _continue: cont }),
    };
    const common = {
      kubeConfig: kc,
      backoff: { initialMs: opts.backoff?.initialMs ?? 1000, maxMs: opts.backoff?.maxMs ?? 30_000 },
      pageSize: opts.pageSize ?? 500,
      listTimeoutMs: opts.listTimeoutMs ?? 60_000,
      log: opts.log,
      now: this.#now,
      stopped: () => this.#stopped,
    };
    for (const kind of KUBE_KINDS) {
      const informer = new KindInformer(
        { ...common, kind, path: PATHS[kind], fetchPage: fetchers[kind] },
        {
          thin: (raw) => thinObject(kind, raw, { appLabels: this.#appLabels, jobOwners: this.#jobOwners }),
          upsert: (obj) => this.#upsert(kind, obj),
          remove: (obj) => this.#remove(kind, obj),
          firstList: () => this.#listed(),
        },
      );
      this.#kinds.set(kind, informer);
    }
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  get isReady(): boolean {
    return this.#ready;
  }

  /** Calls `cb` once the inventory is ready (at once if it already is). */
  onReady(cb: () => void): void {
    void this.ready.then(cb);
  }

  /** Starts every informer. Returns at once; await `ready` for the first full lists. */
  start(): void {
    if (this.#started) throw new Error('KubeSource: start() called twice');
    this.#started = true;
    for (const informer of this.#kinds.values()) informer.start();
  }

  /** Stops every informer and pending restart; the listener gets nothing more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const stops: Promise<void>[] = [];
    for (const informer of this.#kinds.values()) stops.push(informer.stop());
    await Promise.all(stops);
  }

  stats(): KubeSourceStats {
    const kinds = {} as Record<KubeKind, KubeKindStats>;
    for (const [kind, informer] of this.#kinds) kinds[kind] = { ...informer.stats };
    return { ready: this.#ready, kinds };
  }

  /** A kind completed its first full list: the inventory is ready once every kind has. */
  #listed(): void {
    if (this.#ready || ![...this.#kinds.values()].every((k) => k.stats.ready)) return;
    this.#ready = true;
    this.#log?.info({}, 'kubernetes: inventory ready');
    this.#resolveReady();
  }

  #upsert(kind: KubeKind, obj: Thin): void {
    switch (kind) {
      case 'pods':
        this.#listener.upsertPod(obj.slim as SlimPod);
        break;
      case 'nodes':
        this.#listener.upsertNode(obj.slim as SlimNode);
        break;
      case 'services':
        this.#listener.upsertService(obj.slim as SlimService);
        break;
      case 'jobs':
        this.#jobSeen(obj);
        break;
    }
  }

  #remove(kind: KubeKind, obj: Thin): void {
    switch (kind) {
      case 'pods':
        this.#listener.deletePod((obj.slim as SlimPod).uid, this.#now());
        break;
      case 'nodes':
        this.#listener.deleteNode((obj.slim as SlimNode).name);
        break;
      case 'services':
        this.#listener.deleteService((obj.slim as SlimService).uid);
        break;
      case 'jobs':
        this.#jobOwners.deleteJob(obj.metadata.uid ?? '', obj.metadata.namespace ?? '', obj.metadata.name);
        break;
    }
  }

  /**
   * Learns which CronJob owns a Job. Pods of that Job already named while the Job was unknown
   * (its pod event came first) are renamed to the CronJob now.
   */
  #jobSeen(job: Thin): void {
    this.#jobOwners.upsertJob(job as V1Job);
    const { uid = '', namespace = '', name } = job.metadata;
    const owner = this.#jobOwners.ownerOfJob(uid, namespace, name);
    if (owner?.kind !== 'CronJob') return;
    const pods = this.#kinds.get('pods')!;
    for (const p of pods.list(namespace)) {
      const slim = p.slim as SlimPod;
      if (slim.ownerKind !== 'Job' || slim.ownerName !== name) continue;
      p.slim = { ...slim, ownerKind: 'CronJob', ownerName: owner.name };
      this.#listener.upsertPod(p.slim);
    }
  }
}
