/**
 * A Kubernetes API server for tests that speaks the real list and watch protocol, so the real
 * @kubernetes/client-node informers can be driven through every failure they meet in a cluster:
 * HTTPS with a self-signed CA and a bearer token, one global resourceVersion (like etcd), list
 * chunking with limit/continue, `watch=true` streams of JSON lines (ADDED, MODIFIED, DELETED,
 * BOOKMARK when allowWatchBookmarks is set, ERROR with a 410 Status on a stale resourceVersion),
 * a bounded event history (older resourceVersions are compacted away and answer 410 Gone),
 * dropped connections mid-stream, injected HTTP errors, and stop/start on the same port.
 *
 * Objects are plain JSON as the API serves them; test/support/kube-objects.ts builds them.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Resource = 'pods' | 'nodes' | 'services' | 'jobs';

interface ResourceInfo {
  readonly path: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

const RESOURCES: Record<Resource, ResourceInfo> = {
  pods: { path: '/api/v1/pods', apiVersion: 'v1', kind: 'Pod', namespaced: true },
  nodes: { path: '/api/v1/nodes', apiVersion: 'v1', kind: 'Node', namespaced: false },
  services: { path: '/api/v1/services', apiVersion: 'v1', kind: 'Service', namespaced: true },
  jobs: { path: '/apis/batch/v1/jobs', apiVersion: 'batch/v1', kind: 'Job', namespaced: true },
};
const BY_PATH = new Map(Object.entries(RESOURCES).map(([r, info]) => [info.path, r as Resource]));

// A loose object shape: the server stores whatever JSON the test hands it.
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
};

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEvent {
  readonly rv: number;
  readonly resource: Resource;
  /** The serialized watch line, built once for every watcher. */
  readonly line: string;
}

interface Watcher {
  readonly resource: Resource;
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
  timer?: NodeJS.Timeout;
}

interface Snapshot {
  readonly rv: number;
  readonly items: readonly KubeObject[];
}

interface Fault {
  /** HTTP status to answer, or 0 to never answer. */
  status: number;
  count: number;
  resource?: Resource;
  /** 'list', 'watch' or either. */
  verb?: 'list' | 'watch';
}

export interface FakeApiServerOptions {
  /** The bearer token clients must send (a random one by default). */
  token?: string;
  /** How many events the history keeps; resuming from an older resourceVersion gets 410 Gone. */
  historyLimit?: number;
  /** Send a BOOKMARK to every watcher that asked for them at this interval (off by default). */
  bookmarkIntervalMs?: number;
}

export interface RequestCounts {
  list: Record<Resource, number>;
  watch: Record<Resource, number>;
  unauthorized: number;
  failed: number;
}

const zeroCounts = (): Record<Resource, number> => ({ pods: 0, nodes: 0, services: 0, jobs: 0 });

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl in `dir`. */
function makeCertificate(dir: string): { key: string; cert: string } {
  const keyFile = join(dir, 'tls.key');
  const certFile = join(dir, 'tls.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=fake-apiserver',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

export class FakeApiServer {
  readonly token: string;
  /** PEM of the self-signed certificate, which is its own CA. */
  readonly caPem: string;
  /** Temp folder holding the certificate and kubeconfig files; removed by close(). */
  readonly dir: string;
  readonly requests: RequestCounts = { list: zeroCounts(), watch: zeroCounts(), unauthorized: 0, failed: 0 };

  #server: Server;
  #key: string;
  #port = 0;
  #rv = 1;
  readonly #objects: Record<Resource, Map<string, KubeObject>> = {
    pods: new Map(),
    nodes: new Map(),
    services: new Map(),
    jobs: new Map(),
  };
  #history: HistoryEvent[] = [];
  /** Resuming a watch from a resourceVersion below this one answers 410 Gone. */
  #compactedRv = 1;
  readonly #historyLimit: number;
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  readonly #snapshots = new Map<string, Snapshot>();
  #faults: Fault[] = [];
  #goneLists = 0;
  #bookmarkTimer?: NodeJS.Timeout;
  #listening = false;

  private constructor(opts: FakeApiServerOptions) {
    this.token = opts.token ?? randomUUID();
    this.#historyLimit = opts.historyLimit ?? 100_000;
    this.dir = mkdtempSync(join(tmpdir(), 'fake-apiserver-'));
    const { key, cert } = makeCertificate(this.dir);
    this.#key = key;
    this.caPem = cert;
    this.#server = this.#makeServer();
    if (opts.bookmarkIntervalMs) {
      this.#bookmarkTimer = setInterval(() => this.bookmark(), opts.bookmarkIntervalMs);
      this.#bookmarkTimer.unref();
    }
  }

  static async start(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(opts);
    await s.start();
    return s;
  }

  get url(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Open watch streams, per resource or all. */
  activeWatches(resource?: Resource): number {
    let n = 0;
    for (const w of this.#watchers) if (!resource || w.resource === resource) n++;
    return n;
  }

  /** Writes a kubeconfig pointing at this server with its CA and token; returns the file name. */
  writeKubeconfig(token = this.token): string {
    const file = join(this.dir, `kubeconfig-${randomUUID().slice(0, 8)}.json`);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'certificate-authority-data': Buffer.from(this.caPem).toString('base64') } }],
      users: [{ name: 'tester', user: { token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'tester' } }],
      'current-context': 'fake',
    };
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  }

  // ---- object store ----

  /** Stores a new object (uid, resourceVersion and creationTimestamp filled in) and sends ADDED. */
  create(resource: Resource, obj: KubeObject): KubeObject {
    const info = RESOURCES[resource];
    const key = this.#key2(resource, obj.metadata.namespace ?? '', obj.metadata.name);
    if (this.#objects[resource].has(key)) throw new Error(`${resource} ${key} already exists`);
    const stored = structuredClone(obj);
    stored.apiVersion = info.apiVersion;
    stored.kind = info.kind;
    stored.metadata.uid ??= randomUUID();
    stored.metadata.creationTimestamp ??= new Date().toISOString();
    if (!info.namespaced) delete stored.metadata.namespace;
    return this.#commit(resource, key, stored, 'ADDED');
  }

  /** Changes a stored object in place through `mutate` and sends MODIFIED. */
  update(resource: Resource, namespace: string, name: string, mutate: (obj: KubeObject) => void): KubeObject {
    const key = this.#key2(resource, namespace, name);
    const current = this.#objects[resource].get(key);
    if (!current) throw new Error(`${resource} ${key} not found`);
    const next = structuredClone(current);
    mutate(next);
    return this.#commit(resource, key, next, 'MODIFIED');
  }

  /** Removes an object and sends DELETED with its final state. */
  remove(resource: Resource, namespace: string, name: string): KubeObject {
    const key = this.#key2(resource, namespace, name);
    const current = this.#objects[resource].get(key);
    if (!current) throw new Error(`${resource} ${key} not found`);
    const last = structuredClone(current);
    last.metadata.deletionTimestamp ??= new Date().toISOString();
    return this.#commit(resource, key, last, 'DELETED');
  }

  /**
   * Marks a pod finished: phase Succeeded (or Failed) with every container terminated now.
   * Like the real API, the pod keeps its IP in status.
   */
  completePod(namespace: string, name: string, phase: 'Succeeded' | 'Failed' = 'Succeeded', at = new Date()): KubeObject {
    return this.update('pods', namespace, name, (pod) => {
      const st = (pod.status ??= {}) as Record<string, unknown>;
      st.phase = phase;
      const spec = (pod.spec ?? {}) as { containers?: { name: string }[] };
      st.containerStatuses = (spec.containers ?? [{ name: 'main' }]).map((c) => ({
        name: c.name,
        ready: false,
        restartCount: 0,
        state: {
          terminated: {
            exitCode: phase === 'Succeeded' ? 0 : 1,
            reason: phase === 'Succeeded' ? 'Completed' : 'Error',
            startedAt: st.startTime ?? at.toISOString(),
            finishedAt: at.toISOString(),
          },
        },
      }));
    });
  }

  // ---- faults ----

  /** The next `count` API requests (optionally only for one resource or verb) answer `code`. */
  failNext(count: number, code = 500, only: { resource?: Resource; verb?: 'list' | 'watch' } = {}): void {
    this.#faults.push({ status: code, count, resource: only.resource, verb: only.verb });
  }

  /** The next `count` API requests (optionally only some) are read and never answered, as by a hung server. */
  stallNext(count: number, only: { resource?: Resource; verb?: 'list' | 'watch' } = {}): void {
    this.#faults.push({ status: 0, count, resource: only.resource, verb: only.verb });
  }

  /** The next `count` list requests answer HTTP 410 Gone, as an expired continue token does. */
  goneNextList(count = 1): void {
    this.#goneLists += count;
  }

  /**
   * Compacts the whole history, as etcd compaction does: open watches get an ERROR event with a
   * 410 Status and end, and resuming from any resourceVersion seen so far answers 410 too.
   */
  expireHistory(): void {
    this.#history = [];
    this.#compactedRv = this.#rv + 1;
    this.#snapshots.clear();
    const line = JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') }) + '\n';
    for (const w of [...this.#watchers]) {
      w.res.write(line);
      this.#endWatch(w);
    }
  }

  /** Breaks every watch connection mid-stream: half an event, then a reset socket. */
  dropWatches(): void {
    for (const w of [...this.#watchers]) {
      this.#watchers.delete(w);
      if (w.timer) clearTimeout(w.timer);
      const socket = w.res.socket;
      // Destroy only once the half event is on the wire, so the client really reads it.
      w.res.write('{"type":"MODIFIED","object":{"kind":"Po', () => socket?.destroy());
    }
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watcher that asked for them. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      const info = RESOURCES[w.resource];
      w.res.write(
        JSON.stringify({
          type: 'BOOKMARK',
          object: { kind: info.kind, apiVersion: info.apiVersion, metadata: { resourceVersion: String(this.#rv) } },
        }) + '\n',
      );
    }
  }

  // ---- lifecycle ----

  /** Starts listening (again, on the same port after stop()). */
  async start(): Promise<void> {
    if (this.#listening) return;
    this.#server = this.#makeServer();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#listening = true;
  }

  /** Stops listening and cuts every connection; the stored objects stay for the next start(). */
  async stop(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    for (const w of this.#watchers) if (w.timer) clearTimeout(w.timer);
    this.#watchers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.#server.closeAllConnections();
    await closed;
  }

  /** Stops and removes the temp folder. */
  async close(): Promise<void> {
    if (this.#bookmarkTimer) clearInterval(this.#bookmarkTimer);
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- internals ----

  #key2(resource: Resource, namespace: string, name: string): string {
    return RESOURCES[resource].namespaced ? `${namespace}/${name}` : name;
  }

  #commit(resource: Resource, key: string, obj: KubeObject, type: EventType): KubeObject {
    const rv = ++this.#rv;
    obj.metadata.resourceVersion = String(rv);
    if (type === 'DELETED') this.#objects[resource].delete(key);
    else this.#objects[resource].set(key, obj);
    const line = JSON.stringify({ type, object: obj }) + '\n';
    this.#history.push({ rv, resource, line });
    if (this.#history.length > this.#historyLimit) {
      const drop = this.#history.length - this.#historyLimit;
      this.#compactedRv = this.#history[drop - 1].rv + 1;
      this.#history = this.#history.slice(drop);
    }
    for (const w of this.#watchers) if (w.resource === resource) w.res.write(line);
    // The stored object itself, for speed when seeding thousands: read it, never change it.
    return obj;
  }

  #makeServer(): Server {
    const server = createServer({ key: this.#key, cert: this.caPem }, (req, res) => this.#handle(req, res));
    // Every TCP connection, also those still in the TLS handshake, so stop() can cut them all.
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    // Keep-alive sockets must not hold a test process open.
    server.keepAliveTimeout = 1000;
    return server;
  }

  #send(res: ServerResponse, code: number, body: object): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.requests.unauthorized++;
      this.#send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const resource = BY_PATH.get(url.pathname);
    if (req.method !== 'GET' || !resource) {
      this.#send(res, 404, status(404, 'NotFound', `the server could not find the requested resource ${url.pathname}`));
      return;
    }
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb = watch ? 'watch' : 'list';
    this.requests[verb][resource]++;
    const fault = this.#faults.find((f) => f.count > 0 && (!f.resource || f.resource === resource) && (!f.verb || f.verb === verb));
    if (fault) {
      fault.count--;
      this.#faults = this.#faults.filter((f) => f.count > 0);
      this.requests.failed++;
      // Status 0: a hung request, left open until the client gives up or the server stops.
      if (fault.status !== 0) this.#send(res, fault.status, status(fault.status, 'InternalError', 'injected failure'));
      return;
    }
    if (watch) this.#watch(resource, url, res);
    else this.#list(resource, url, res);
  }

  #list(resource: Resource, url: URL, res: ServerResponse): void {
    const info = RESOURCES[resource];
    if (this.#goneLists > 0) {
      this.#goneLists--;
      this.requests.failed++;
      this.#send(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
      return;
    }
    const token = url.searchParams.get('continue');
    let snapshot: Snapshot;
    let offset = 0;
    let id: string;
    if (token) {
      let parsed: { id: string; offset: number } | undefined;
      try {
        parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { id: string; offset: number };
      } catch {
        parsed = undefined;
      }
      const found = parsed && this.#snapshots.get(parsed.id);
      if (!parsed || !found || found.rv < this.#compactedRv - 1) {
        this.#send(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
        return;
      }
      snapshot = found;
      offset = parsed.offset;
      id = parsed.id;
    } else {
      const items = [...this.#objects[resource].values()].sort((a, b) =>
        `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`),
      );
      snapshot = { rv: this.#rv, items };
      id = randomUUID();
    }
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const end = limit > 0 ? Math.min(offset + limit, snapshot.items.length) : snapshot.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshot.rv) };
    if (end < snapshot.items.length) {
      this.#snapshots.set(id, snapshot);
      metadata.continue = Buffer.from(JSON.stringify({ id, offset: end })).toString('base64url');
      metadata.remainingItemCount = snapshot.items.length - end;
    } else {
      this.#snapshots.delete(id);
    }
    this.#send(res, 200, { kind: `${info.kind}List`, apiVersion: info.apiVersion, metadata, items: snapshot.items.slice(offset, end) });
  }

  #watch(resource: Resource, url: URL, res: ServerResponse): void {
    const rvParam = url.searchParams.get('resourceVersion') ?? '';
    const from = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // As the real server does: the client learns the watch is open before any event.
    res.flushHeaders();
    if (from !== undefined && (!Number.isFinite(from) || from < this.#compactedRv - 1)) {
      res.end(
        JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${rvParam} (${this.#compactedRv})`) }) +
          '\n',
      );
      return;
    }
    const w: Watcher = { resource, res, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true' };
    if (from === undefined) {
      // "Start at most recent": synthetic ADDED events for everything that exists now.
      for (const obj of this.#objects[resource].values()) res.write(JSON.stringify({ type: 'ADDED', object: obj }) + '\n');
    } else {
      for (const ev of this.#history) if (ev.rv > from && ev.resource === resource) res.write(ev.line);
    }
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    if (timeout > 0) w.timer = setTimeout(() => this.#endWatch(w), timeout * 1000);
    this.#watchers.add(w);
    res.on('close', () => {
      if (w.timer) clearTimeout(w.timer);
      this.#watchers.delete(w);
    });
  }

  #endWatch(w: Watcher): void {
    if (w.timer) clearTimeout(w.timer);
    this.#watchers.delete(w);
    w.res.end();
  }
}
