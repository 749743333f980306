/**
 * One kind's list-watch that never gives up. It runs client-node's own ListWatch (what
 * makeInformer builds), with two changes around it:
 *
 * - Only stand-ins are cached (kube-thin.ts): the list function and a Watch subclass turn each
 *   object into one before ListWatch, which keeps every object it is handed, sees it.
 * - ListWatch stops for good on any error except 410 Gone (it re-lists on 410 by itself). Here
 *   the informer is restarted on every error with capped exponential backoff and jitter; a restart
 *   resumes the watch from the last resourceVersion, and a stale one earns a 410 and with it a
 *   fresh list. A list is paged (limit/continue) and has a timeout.
 */
import { type KubeConfig, type KubernetesListObject, ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeKind, Thin } from './kube-thin.ts';

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

/** One page of a list call. */
export type Page = { metadata?: { resourceVersion?: string; _continue?: string }; items: readonly unknown[] };

export interface KindInformerOptions {
  readonly kind: KubeKind;
  readonly kubeConfig: KubeConfig;
  /** The watch path (`/api/v1/pods`). */
  readonly path: string;
  /** One page of the list, `limit` items from `cont` on. */
  readonly fetchPage: (limit: number, cont: string | undefined) => Promise<Page>;
  readonly backoff: BackoffOptions;
  readonly pageSize: number;
  readonly listTimeoutMs: number;
  readonly log?: KubeLogger;
  readonly now: () => number;
  /** The source stopped: nothing more reaches the hooks, and no restart is scheduled. */
  readonly stopped: () => boolean;
}

/** What the informer drives. Whatever these throw is counted as a listener error, never let stop the informer. */
export interface KindHooks {
  /** A whole object to its stand-in, or undefined for one to skip. */
  thin(raw: unknown): Thin | undefined;
  upsert(obj: Thin): void;
  remove(obj: Thin): void;
  /** The first full list has been applied. */
  firstList(): void;
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

export class KindInformer {
  readonly kind: KubeKind;
  readonly stats = blankStats();
  readonly #opts: KindInformerOptions;
  readonly #hooks: KindHooks;
  readonly #informer: ListWatch<Thin>;
  #attempt = 0;
  #timer?: NodeJS.Timeout;
  /** A list finished and is being applied; the next watch call means it has been. */
  #listApplied = false;
  /** The open watch request, aborted by stop(). */
  #request?: AbortController;

  constructor(opts: KindInformerOptions, hooks: KindHooks) {
    this.kind = opts.kind;
    this.#opts = opts;
    this.#hooks = hooks;
    const watch = new SlimWatch(opts.kubeConfig, {
      beforeWatch: () => this.#beforeWatch(),
      sawEvent: () => this.#sawEvent(),
      thin: (raw) => this.#thin(raw),
      listenerFailed: (err) => this.#listenerFailed(err),
      opened: (request) => {
        this.#request = request;
      },
      stopped: opts.stopped,
    });
    const { backoff } = opts;
    this.#informer = new ListWatch<Thin>(opts.path, watch, () => this.#list(), false, undefined, undefined, {
      // ListWatch's own reconnect delay (1 s doubling to 30 s, after a watch ends cleanly) is
      // scaled to our backoff, and cut short by stop().
      delayFn: (ms) => this.#sleep(Math.min(backoff.maxMs, (ms / 1000) * backoff.initialMs)),
    });
    this.#informer.on('add', (obj) => {
      this.stats.objects++;
      this.#guard(() => this.#hooks.upsert(obj));
    });
    this.#informer.on('update', (obj) => this.#guard(() => this.#hooks.upsert(obj)));
    this.#informer.on('delete', (obj) => {
      this.stats.objects--;
      this.#guard(() => this.#hooks.remove(obj));
    });
    this.#informer.on('error', (err) => this.#failed(err));
  }

  start(): void {
    this.#informer.start().catch((err: unknown) => this.#failed(err));
  }

  /** Cancels a pending restart and the open watch; call once the source is marked stopped. */
  stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#request?.abort();
    return this.#informer.stop();
  }

  /** The cached stand-ins of a namespace. */
  list(namespace: string): readonly Thin[] {
    return this.#informer.list(namespace);
  }

  #beforeWatch(): void {
    if (!this.#listApplied) return;
    this.#listApplied = false;
    this.stats.lists++;
    this.stats.lastEventMs = this.#opts.now();
    this.#attempt = 0;
    if (!this.stats.ready) {
      this.stats.ready = true;
      this.#opts.log?.info({ kind: this.kind, objects: this.stats.objects }, 'kubernetes: first list done');
      this.#hooks.firstList();
    }
  }

  #sawEvent(): void {
    this.stats.events++;
    this.stats.lastEventMs = this.#opts.now();
    this.#attempt = 0;
  }

  #listenerFailed(err: unknown): void {
    this.stats.listenerErrors++;
    this.#opts.log?.warn({ kind: this.kind, err: errorText(err) }, 'kubernetes: inventory update failed');
  }

  /**
   * The stand-in for a whole object. When a name comes back with a new UID (deleted and
   * recreated while we were not watching) the old UID is removed first: ListWatch keys by name
   * and would only see an update.
   */
  #thin(raw: unknown): Thin | undefined {
    const thin = this.#hooks.thin(raw);
    if (!thin || this.kind === 'nodes') return thin;
    const prev = this.#informer.get(thin.metadata.name, thin.metadata.namespace);
    if (prev && prev.metadata.uid !== thin.metadata.uid) this.#guard(() => this.#hooks.remove(prev));
    return thin;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#opts.stopped()) {
        resolve();
        return;
      }
      setTimeout(resolve, ms).unref();
    });
  }

  async #list(): Promise<KubernetesListObject<Thin>> {
    const items: Thin[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await withTimeout(this.#opts.fetchPage(this.#opts.pageSize, cont), this.#opts.listTimeoutMs, `list ${this.kind}`);
      // A list still in flight at stop() must not reach the listener.
      if (this.#opts.stopped()) throw new Error('stopped');
      for (const raw of page.items) {
        const thin = this.#thin(raw);
        if (thin) items.push(thin);
      }
      resourceVersion = page.metadata?.resourceVersion ?? '';
      cont = page.metadata?._continue || undefined;
    } while (cont);
    this.#listApplied = true;
    return { metadata: { resourceVersion }, items };
  }

  #guard(fn: () => void): void {
    if (this.#opts.stopped()) return;
    try {
      fn();
    } catch (err) {
      this.#listenerFailed(err);
    }
  }

  #failed(err: unknown): void {
    if (this.#opts.stopped()) return;
    this.#request = undefined;
    this.stats.errors++;
    this.stats.lastError = errorText(err);
    if (this.#timer) return;
    const { initialMs, maxMs } = this.#opts.backoff;
    const cap = Math.min(maxMs, initialMs * 2 ** Math.min(this.#attempt, 30));
    // Equal jitter: never a zero delay, and informers that failed together spread out.
    const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
    this.#attempt++;
    this.#opts.log?.warn({ kind: this.kind, err: this.stats.lastError, retryInMs: delay }, 'kubernetes: informer failed, restarting');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#opts.stopped()) return;
      this.stats.restarts++;
      this.start();
    }, delay);
    this.#timer.unref();
  }
}

interface WatchHooks {
  beforeWatch(): void;
  sawEvent(): void;
  thin(raw: unknown): Thin | undefined;
  listenerFailed(err: unknown): void;
  /** The watch request just opened, for stop() to abort. */
  opened(request: AbortController): void;
  stopped(): boolean;
}

/**
 * A Watch that asks for bookmarks, hands ListWatch stand-ins instead of whole objects, and
 * reports to its informer. It never throws: a failure to even start a request becomes `done(err)`.
 */
class SlimWatch extends Watch {
  readonly #hooks: WatchHooks;

  constructor(kc: KubeConfig, hooks: WatchHooks) {
    super(kc);
    this.#hooks = hooks;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const hooks = this.#hooks;
    hooks.beforeWatch();
    const idle = new AbortController();
    if (hooks.stopped()) return idle;
    const onEvent = (phase: string, obj: unknown, watchObj?: unknown): void => {
      // Watch swallows whatever a callback throws; catch here so it is at least counted.
      try {
        hooks.sawEvent();
        if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
          const thin = hooks.thin(obj);
          if (thin) callback(phase, thin, watchObj);
        } else {
          callback(phase, obj, watchObj);
        }
      } catch (err) {
        hooks.listenerFailed(err);
      }
    };
    try {
      const request = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, onEvent, done);
      hooks.opened(request);
      if (hooks.stopped()) request.abort();
      return request;
    } catch (err) {
      setImmediate(() => done(err));
      return idle;
    }
  }
}

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
