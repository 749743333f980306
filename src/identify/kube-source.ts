/**
 * The live inventory: list-watch informers on Pods, Nodes, Services and batch/v1 Jobs in all
 * namespaces, feeding an InventoryListener with slim objects.
 *
 * It runs client-node's own ListWatch (what makeInformer builds), with two changes around it:
 *
 * - Only slim objects are ever cached. ListWatch keeps every object it is handed, so a plain
 *   informer holds whole pods (managedFields, env, volumes...). Here the list function and a
 *   Watch subclass turn each object into a small stand-in ({metadata: name, namespace, uid,
 *   resourceVersion} plus the slim form) before ListWatch sees it, so its cache and the index
 *   share the same slim objects and whole objects live only while a list page or an event is
 *   being read.
 * - It never gives up. ListWatch stops for good on any error except 410 Gone (it re-lists on
 *   410 by itself). A supervisor restarts each informer on every error with capped exponential
 *   backoff and jitter; a restart resumes the watch from the last resourceVersion, and a stale
 *   one earns a 410 and with it a fresh list. A list is paged (limit/continue) and has a timeout.
 *
 * The inventory is ready only once every kind has completed its first full list.
 */
import {
  BatchV1Api,
  CoreV1Api,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Job,
  type V1Node,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import type { InventoryListener, SlimNode, SlimPod, SlimService } from './inventory.ts';
import { DEFAULT_APP_LABELS, JobOwners, controllerRef, slimNode, slimPod, slimService } from './kube-objects.ts';

export type KubeKind = 'pods' | 'nodes' | 'services' | 'jobs';
/** Jobs first, so a Job's CronJob is usually known before its pods are named. */
export const KUBE_KINDS: readonly KubeKind[] = ['jobs', 'nodes', 'services', 'pods'];

const PATHS: Record<KubeKind, string> = {
  pods: '/api/v1/pods',
  nodes: '/api/v1/nodes',
  services: '/api/v1/services',
  jobs: '/apis/batch/v1/jobs',
};

export interface KubeKindStats {
  /** The first full list has been applied. */
  ready: boolean;
  /** Informer restarts after an error. */
  restarts: number;
  /** Errors seen: failed lists, failed or broken watches. */
  errors: number;
  /** Full lists done (the first one, then one per 410 Gone). */
  lists: number;
  /** Watch events received, bookmarks included. */
  events: number;
  /** Epoch ms of the last watch event or completed list; 0 before any. */
  lastEventMs: number;
  /** The last error, '' when none. */
  lastError: string;
  /** Exceptions thrown by the listener (counted, never allowed to stop the informer). */
  listenerErrors: number;
  /** Objects in the informer's cache. */
  objects: number;
}

export interface KubeSourceStats {
  ready: boolean;
  kinds: Record<KubeKind, KubeKindStats>;
}

export interface BackoffOptions {
  /** First retry delay. */
  initialMs: number;
  /** Cap of the doubling delay. */
  maxMs: number;
}

/** pino-compatible. */
export interface KubeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
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

/** What ListWatch caches: just enough metadata for its bookkeeping, and the slim form. */
interface Thin extends KubernetesObject {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    ownerReferences?: { kind: string; name: string; uid: string; apiVersion: string; controller?: boolean }[];
  };
  slim?: SlimPod | SlimNode | SlimService;
}

interface KindState {
  readonly kind: KubeKind;
  readonly informer: ListWatch<Thin>;
  readonly stats: KubeKindStats;
  attempt: number;
  timer?: NodeJS.Timeout;
  /** A list finished and is being applied; the next watch call means it has been. */
  listApplied: boolean;
  /** The open watch request, aborted by stop(). */
  request?: AbortController;
}

const blankStats = (): KubeKindStats => ({
  ready: false,
  restarts: 0,
  errors: 0,
  lists: 0,
  events: 0,
  lastEventMs: 0,
  lastError: '',
  listenerErrors: 0,
  objects: 0,
});

function errorText(err: unknown): string {
  if (err === null || err === undefined) return 'unknown error';
  const e = err as { statusCode?: number; code?: number | string; message?: string; name?: string; body?: unknown };
  const code = e.statusCode ?? (typeof e.code === 'number' ? e.code : undefined);
  // ApiException messages embed the whole response; the Status message in its body says more.
  let msg = String(e.message ?? err).split('\n')[0];
  if (typeof e.body === 'string') {
    try {
      const status = JSON.parse(e.body) as { message?: unknown };
      if (typeof status.message === 'string') msg = status.message;
    } catch {
      // not a Status: keep the first line
    }
  }
  // undici says only "fetch failed"; the cause names the real trouble (reset, refused, TLS).
  const cause = (err as { cause?: { message?: string; code?: string } }).cause;
  if (cause?.message) msg += ` (${cause.code ? `${cause.code}: ` : ''}${cause.message})`;
  msg = msg.slice(0, 200);
  return code !== undefined ? `HTTP ${code}: ${msg}` : `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${msg}`;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

type Page = { metadata?: { resourceVersion?: string; _continue?: string }; items: readonly unknown[] };

/**
 * A Watch that asks for bookmarks, hands ListWatch slim stand-ins instead of whole objects, and
 * reports to the supervisor. It never throws: a failure to even start a request becomes `done(err)`.
 */
class SlimWatch extends Watch {
  readonly #source: KubeSource;
  readonly #state: () => KindState;

  constructor(kc: KubeConfig, source: KubeSource, state: () => KindState) {
    super(kc);
    this.#source = source;
    this.#state = state;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const st = this.#state();
    this.#source.beforeWatch(st);
    const idle = new AbortController();
    if (this.#source.stopped) return idle;
    const onEvent = (phase: string, obj: unknown, watchObj?: unknown): void => {
      // Watch swallows whatever a callback throws; catch here so it is at least counted.
      try {
        this.#source.sawEvent(st);
        if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
          const thin = this.#source.thin(st, obj);
          if (thin) callback(phase, thin, watchObj);
        } else {
          callback(phase, obj, watchObj);
        }
      } catch (err) {
        this.#source.listenerFailed(st, err);
      }
    };
    try {
      const request = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, onEvent, done);
      st.request = request;
      if (this.#source.stopped) request.abort();
      return request;
    } catch (err) {
      setImmediate(() => done(err));
      return idle;
    }
  }
}

export class KubeSource {
  readonly #kc: KubeConfig;
  readonly #listener: InventoryListener;
  readonly #appLabels: readonly string[];
  readonly #backoff: BackoffOptions;
  readonly #pageSize: number;
  readonly #listTimeoutMs: number;
  readonly #log?: KubeLogger;
  readonly #now: () => number;
  readonly #jobOwners = new JobOwners();
  readonly #kinds = new Map<KubeKind, KindState>();
  readonly #core: CoreV1Api;
  readonly #batch: BatchV1Api;
  #started = false;
  #stopped = false;
  #ready = false;
  #resolveReady!: () => void;
  /** Resolves once every kind has completed its first full list. Never rejects. */
  readonly ready: Promise<void>;

  constructor(opts: KubeSourceOptions) {
    this.#kc = opts.kubeConfig;
    this.#listener = opts.listener;
    this.#appLabels = opts.appLabels ?? DEFAULT_APP_LABELS;
    this.#backoff = { initialMs: opts.backoff?.initialMs ?? 1000, maxMs: opts.backoff?.maxMs ?? 30_000 };
    this.#pageSize = opts.pageSize ?? 500;
    this.#listTimeoutMs = opts.listTimeoutMs ?? 60_000;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.#core = this.#kc.makeApiClient(CoreV1Api);
    this.#batch = this.#kc.makeApiClient(BatchV1Api);
    this.ready = new Promise<void>((resolve) => {
      this.#resolveReady = resolve;
    });
    for (const kind of KUBE_KINDS) this.#kinds.set(kind, this.#makeKind(kind));
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
    for (const st of this.#kinds.values()) this.#startInformer(st);
  }

  /** Stops every informer and pending restart; the listener gets nothing more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const stops: Promise<void>[] = [];
    for (const st of this.#kinds.values()) {
      if (st.timer) clearTimeout(st.timer);
      st.timer = undefined;
      st.request?.abort();
      stops.push(st.informer.stop());
    }
    await Promise.all(stops);
  }

  stats(): KubeSourceStats {
    const kinds = {} as Record<KubeKind, KubeKindStats>;
    for (const [kind, st] of this.#kinds) kinds[kind] = { ...st.stats };
    return { ready: this.#ready, kinds };
  }

  // ---- called by SlimWatch ----

  beforeWatch(st: KindState): void {
    if (!st.listApplied) return;
    st.listApplied = false;
    st.stats.lists++;
    st.stats.lastEventMs = this.#now();
    st.attempt = 0;
    if (!st.stats.ready) {
      st.stats.ready = true;
      this.#log?.info({ kind: st.kind, objects: st.stats.objects }, 'kubernetes: first list done');
      if (!this.#ready && [...this.#kinds.values()].every((k) => k.stats.ready)) {
        this.#ready = true;
        this.#log?.info({}, 'kubernetes: inventory ready');
        this.#resolveReady();
      }
    }
  }

  sawEvent(st: KindState): void {
    st.stats.events++;
    st.stats.lastEventMs = this.#now();
    st.attempt = 0;
  }

  listenerFailed(st: KindState, err: unknown): void {
    st.stats.listenerErrors++;
    this.#log?.warn({ kind: st.kind, err: errorText(err) }, 'kubernetes: inventory update failed');
  }

  /**
   * The slim stand-in for a whole object, or undefined for one the index cannot use (no UID).
   * When a name comes back with a new UID (deleted and recreated while we were not watching) the
   * old UID is deleted first: ListWatch keys by name and would only see an update.
   */
  thin(st: KindState, raw: unknown): Thin | undefined {
    const kind = st.kind;
    let thin: Thin | undefined;
    if (kind === 'pods') {
      const slim = slimPod(raw as V1Pod, { appLabels: this.#appLabels, jobOwners: this.#jobOwners });
      if (slim) thin = { metadata: this.#meta(raw), slim };
    } else if (kind === 'services') {
      const slim = slimService(raw as V1Service);
      if (slim) thin = { metadata: this.#meta(raw), slim };
    } else if (kind === 'nodes') {
      const slim = slimNode(raw as V1Node);
      if (slim) thin = { metadata: this.#meta(raw), slim };
    } else {
      const meta = this.#meta(raw);
      const ref = controllerRef((raw as V1Job).metadata?.ownerReferences);
      if (ref) meta.ownerReferences = [{ kind: ref.kind, name: ref.name, uid: ref.uid, apiVersion: ref.apiVersion, controller: true }];
      if (meta.uid) thin = { metadata: meta };
    }
    if (!thin || kind === 'nodes') return thin;
    const prev = st.informer.get(thin.metadata.name, thin.metadata.namespace);
    if (prev && prev.metadata.uid !== thin.metadata.uid) this.#guard(st, () => this.#remove(st, prev));
    return thin;
  }

  // ---- internals ----

  #meta(raw: unknown): Thin['metadata'] {
    const m = (raw as KubernetesObject).metadata ?? {};
    return { name: m.name ?? '', namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
  }

  #makeKind(kind: KubeKind): KindState {
    let state: KindState | undefined;
    const watch = new SlimWatch(this.#kc, this, () => state!);
    const informer = new ListWatch<Thin>(PATHS[kind], watch, () => this.#list(state!), false, undefined, undefined, {
      // ListWatch's own reconnect delay (1 s doubling to 30 s, after a watch ends cleanly) is
      // scaled to our backoff, and cut short by stop().
      delayFn: (ms) => this.#sleep(Math.min(this.#backoff.maxMs, (ms / 1000) * this.#backoff.initialMs)),
    });
    state = { kind, informer, stats: blankStats(), attempt: 0, listApplied: false };
    const st = state;
    informer.on('add', (obj) => {
      st.stats.objects++;
      this.#apply(st, obj);
    });
    informer.on('update', (obj) => this.#apply(st, obj));
    informer.on('delete', (obj) => {
      st.stats.objects--;
      this.#guard(st, () => this.#remove(st, obj));
    });
    informer.on('error', (err) => this.#failed(st, err));
    return st;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stopped) {
        resolve();
        return;
      }
      setTimeout(resolve, ms).unref();
    });
  }

  async #list(st: KindState): Promise<KubernetesListObject<Thin>> {
    const items: Thin[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await withTimeout(this.#fetchPage(st.kind, cont), this.#listTimeoutMs, `list ${st.kind}`);
      // A list still in flight at stop() must not reach the listener.
      if (this.#stopped) throw new Error('stopped');
      for (const raw of page.items) {
        const thin = this.thin(st, raw);
        if (thin) items.push(thin);
      }
      resourceVersion = page.metadata?.resourceVersion ?? '';
      cont = page.metadata?._continue || undefined;
    } while (cont);
    st.listApplied = true;
    return { metadata: { resourceVersion }, items };
  }

  #fetchPage(kind: KubeKind, cont: string | undefined): Promise<Page> {
    const param = { limit: this.#pageSize, _continue: cont };
    switch (kind) {
      case 'pods':
        return this.#core.listPodForAllNamespaces(param);
      case 'nodes':
        return this.#core.listNode(param);
      case 'services':
        return this.#core.listServiceForAllNamespaces(param);
      case 'jobs':
        return this.#batch.listJobForAllNamespaces(param);
    }
  }

  #guard(st: KindState, fn: () => void): void {
    if (this.#stopped) return;
    try {
      fn();
    } catch (err) {
      this.listenerFailed(st, err);
    }
  }

  #apply(st: KindState, obj: Thin): void {
    this.#guard(st, () => {
      switch (st.kind) {
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
    });
  }

  #remove(st: KindState, obj: Thin): void {
    switch (st.kind) {
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
    const pods = this.#kinds.get('pods')!.informer;
    for (const p of pods.list(namespace)) {
      const slim = p.slim as SlimPod;
      if (slim.ownerKind !== 'Job' || slim.ownerName !== name) continue;
      p.slim = { ...slim, ownerKind: 'CronJob', ownerName: owner.name };
      this.#listener.upsertPod(p.slim);
    }
  }

  #failed(st: KindState, err: unknown): void {
    if (this.#stopped) return;
    st.request = undefined;
    st.stats.errors++;
    st.stats.lastError = errorText(err);
    if (st.timer) return;
    const cap = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(st.attempt, 30));
    // Equal jitter: never a zero delay, and informers that failed together spread out.
    const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
    st.attempt++;
    this.#log?.warn({ kind: st.kind, err: st.stats.lastError, retryInMs: delay }, 'kubernetes: informer failed, restarting');
    st.timer = setTimeout(() => {
      st.timer = undefined;
      if (this.#stopped) return;
      st.stats.restarts++;
      this.#startInformer(st);
    }, delay);
    st.timer.unref();
  }

  #startInformer(st: KindState): void {
    st.informer.start().catch((err: unknown) => this.#failed(st, err));
  }
}
