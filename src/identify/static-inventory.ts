/**
 * The inventory from a file instead of a cluster (`--inventory FILE`): a Kubernetes `List` as
 * `kubectl get pods,nodes,services,jobs -A -o json` prints it, in JSON or YAML, or a stream of
 * YAML documents. The file is watched and reloaded when it changes; a reload is diffed against
 * the previous one, so pods that vanished are deleted by UID (their history stays for late
 * flows) and unchanged objects are not sent again. A bad file at start is an error naming the
 * file; a bad file on reload keeps the inventory as it was and is counted.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { V1Job, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { InventoryListener, SlimNode, SlimPod, SlimService } from './inventory.ts';
import { JobOwners, slimNode, slimPod, slimService } from './kube-objects.ts';

const MISSING = 'missing';

export class InventoryFileError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`inventory ${path}: ${message}`);
    this.path = path;
  }
}

export interface InventoryObjects {
  readonly pods: V1Pod[];
  readonly nodes: V1Node[];
  readonly services: V1Service[];
  readonly jobs: V1Job[];
  /** Items of other kinds, ignored. */
  readonly ignored: number;
}

type Obj = Record<string, unknown> & { kind?: unknown; items?: unknown; metadata?: Record<string, unknown> };

/** Parse inventory text (JSON, YAML, multi-document YAML) into its API objects. Throws InventoryFileError. */
export function parseInventory(text: string, path = '<text>'): InventoryObjects {
  let docs: unknown[];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      docs = [JSON.parse(text)];
    } catch (err) {
      throw new InventoryFileError(path, `not valid JSON: ${(err as Error).message}`);
    }
  } else {
    const parsed = parseAllDocuments(text);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    docs = [];
    for (const d of list) {
      if ('errors' in d && d.errors.length > 0) throw new InventoryFileError(path, `not valid YAML: ${d.errors[0].message}`);
      const v = d.toJS();
      if (v !== null && v !== undefined) docs.push(v);
    }
  }
  const out = { pods: [] as V1Pod[], nodes: [] as V1Node[], services: [] as V1Service[], jobs: [] as V1Job[], ignored: 0 };
  const add = (item: unknown, impliedKind: string | undefined, where: string): void => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw new InventoryFileError(path, `${where}: expected an object`);
    const o = item as Obj;
    const kind = typeof o.kind === 'string' ? o.kind : impliedKind;
    if (kind === 'List' || (typeof kind === 'string' && kind.endsWith('List'))) {
      if (!Array.isArray(o.items)) throw new InventoryFileError(path, `${where}: a ${kind} needs an items array`);
      const inner = kind === 'List' ? undefined : kind.slice(0, -4);
      o.items.forEach((it, i) => add(it, inner, `${where}.items[${i}]`));
      return;
    }
    if (kind === undefined) throw new InventoryFileError(path, `${where}: object without a kind`);
    if (o.metadata !== undefined && (typeof o.metadata !== 'object' || o.metadata === null)) {
      throw new InventoryFileError(path, `${where}: metadata must be an object`);
    }
    switch (kind) {
      case 'Pod':
        out.pods.push(withUid(o, 'pod') as V1Pod);
        break;
      case 'Node':
        out.nodes.push(o as V1Node);
        break;
      case 'Service':
        out.services.push(withUid(o, 'service') as V1Service);
        break;
      case 'Job':
        out.jobs.push(withUid(o, 'job') as V1Job);
        break;
      default:
        out.ignored++;
    }
  };
  docs.forEach((d, i) => {
    if (Array.isArray(d)) d.forEach((it, j) => add(it, undefined, `document ${i + 1}[${j}]`));
    else add(d, undefined, docs.length > 1 ? `document ${i + 1}` : 'top level');
  });
  return out;
}

/** Hand-written inventories may leave out UIDs: name them by namespace and name so reloads still diff. */
function withUid(o: Obj, kind: string): Obj {
  const meta = (o.metadata ?? {}) as Record<string, unknown>;
  if (typeof meta.uid === 'string' && meta.uid !== '') return o;
  return { ...o, metadata: { ...meta, uid: `static-${kind}:${String(meta.namespace ?? 'default')}/${String(meta.name ?? '')}` } };
}

export interface SlimInventory {
  readonly pods: SlimPod[];
  readonly nodes: SlimNode[];
  readonly services: SlimService[];
}

/** API objects to slim ones: Jobs first, so a CronJob's Job names its pods' owner. */
export function slimInventory(objs: InventoryObjects, appLabels?: readonly string[]): SlimInventory {
  const jobOwners = new JobOwners();
  for (const j of objs.jobs) jobOwners.upsertJob(j);
  const opts = appLabels ? { appLabels, jobOwners } : { jobOwners };
  const pods: SlimPod[] = [];
  for (const p of objs.pods) {
    const s = slimPod(p, opts);
    if (s) pods.push(s);
  }
  const nodes: SlimNode[] = [];
  for (const n of objs.nodes) {
    const s = slimNode(n);
    if (s) nodes.push(s);
  }
  const services: SlimService[] = [];
  for (const v of objs.services) {
    const s = slimService(v);
    if (s) services.push(s);
  }
  return { pods, nodes, services };
}

export interface StaticInventoryOptions {
  readonly appLabels?: readonly string[];
  /** Watch the file and reload on change. Default true. */
  readonly watch?: boolean;
  /** Wait this long after a change before reloading, so a file written in pieces is read whole. Default 200 ms. */
  readonly debounceMs?: number;
  /** Also check the file this often, for file systems where change events never come. Default 5000 ms. */
  readonly pollMs?: number;
  /** Told about every failed reload (the old inventory stays in place). */
  readonly onError?: (err: Error) => void;
  /** Told after every successful load, with what changed. */
  readonly onLoad?: (change: InventoryChange) => void;
  readonly now?: () => number;
}

export interface InventoryChange {
  readonly pods: number;
  readonly nodes: number;
  readonly services: number;
  readonly upserted: number;
  readonly deleted: number;
}

export interface StaticInventoryStats {
  readonly loads: number;
  readonly errors: number;
  readonly lastError: string | undefined;
  /** Epoch ms of the last successful load. */
  readonly lastLoadMs: number;
}

/** A digest of an inventory object's JSON (a reload compares them; a collision would only miss an update). */
const digest = (o: unknown): string => createHash('sha1').update(JSON.stringify(o)).digest('base64');

/** Feeds a listener from a file and keeps it current. Call `load()` once (it throws on a bad file), then `start()`. */
export class StaticInventory {
  readonly path: string;
  readonly #listener: InventoryListener & { ready?: boolean };
  readonly #opts: StaticInventoryOptions;
  readonly #now: () => number;
  /**
   * What was applied, as a digest of each object's JSON by its name or UID, to tell what a reload
   * changed. The JSON itself was kept before: some 300 bytes a pod for the life of the process.
   */
  #pods = new Map<string, string>();
  #nodes = new Map<string, string>();
  #services = new Map<string, string>();
  #lastStamp = '';
  #watcher: FSWatcher | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #debounceTimer: NodeJS.Timeout | undefined;
  #loads = 0;
  #errors = 0;
  #lastError: string | undefined;
  #lastLoadMs = 0;
  ready = false;

  constructor(path: string, listener: InventoryListener & { ready?: boolean }, opts: StaticInventoryOptions = {}) {
    this.path = path;
    this.#listener = listener;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Read the file and apply it. Throws InventoryFileError naming the file; the listener is untouched then. */
  load(): InventoryChange {
    let text: string;
    let stamp: string;
    try {
      stamp = this.#stamp();
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      throw new InventoryFileError(this.path, `cannot read: ${(err as Error).message}`);
    }
    const slim = slimInventory(parseInventory(text, this.path), this.#opts.appLabels);
    const change = this.#apply(slim);
    this.#lastStamp = stamp;
    this.#loads++;
    this.#lastLoadMs = this.#now();
    if (!this.ready) {
      this.ready = true;
      if ('ready' in this.#listener) this.#listener.ready = true;
    }
    this.#opts.onLoad?.(change);
    return change;
  }

  /** Begin watching the file (if enabled). Timers do not keep the process alive. */
  start(): void {
    if (this.#opts.watch === false || this.#pollTimer) return;
    try {
      // Watch the directory, not the file: editors and ConfigMap mounts replace files by rename.
      const name = basename(this.path);
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_ev, file) => {
        if (file === null || file === name || String(file).startsWith('..')) this.#schedule();
      });
      this.#watcher.on('error', () => {
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      this.#watcher = undefined;
    }
    this.#pollTimer = setInterval(() => this.#schedule(), this.#opts.pollMs ?? 5000);
    this.#pollTimer.unref();
  }

  stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    if (this.#debounceTimer) clearTimeout(this.#debounceTimer);
    this.#pollTimer = undefined;
    this.#debounceTimer = undefined;
  }

  /** Reload now if the file changed; keeps the old inventory on error. Returns whether it reloaded. */
  reloadIfChanged(): boolean {
    let stamp: string;
    try {
      stamp = this.#stamp();
    } catch (err) {
      // A file that went away is reported once, not on every poll, until it comes back.
      if (this.#lastStamp !== MISSING) this.#fail(new InventoryFileError(this.path, `cannot read: ${(err as Error).message}`));
      this.#lastStamp = MISSING;
      return false;
    }
    if (stamp === this.#lastStamp) return false;
    try {
      this.load();
      return true;
    } catch (err) {
      this.#lastStamp = stamp; // report a broken file once, not on every poll
      this.#fail(err as Error);
      return false;
    }
  }

  get stats(): StaticInventoryStats {
    return { loads: this.#loads, errors: this.#errors, lastError: this.#lastError, lastLoadMs: this.#lastLoadMs };
  }

  #fail(err: Error): void {
    this.#errors++;
    this.#lastError = err.message;
    this.#opts.onError?.(err);
  }

  #schedule(): void {
    if (this.#debounceTimer) clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => {
      this.#debounceTimer = undefined;
      this.reloadIfChanged();
    }, this.#opts.debounceMs ?? 200);
    this.#debounceTimer.unref();
  }

  #stamp(): string {
    if (!existsSync(this.path)) throw new Error('no such file');
    const st = statSync(this.path);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  }

  #apply(inv: SlimInventory): InventoryChange {
    let upserted = 0;
    let deleted = 0;
    const l = this.#listener;
    // Nodes and Services before pods, so the index knows what a pod's Service exposes.
    const nodes = new Map<string, string>();
    for (const n of inv.nodes) {
      const key = digest(n);
      nodes.set(n.name, key);
      if (this.#nodes.get(n.name) !== key) {
        l.upsertNode(n);
        upserted++;
      }
    }
    for (const name of this.#nodes.keys())
      if (!nodes.has(name)) {
        l.deleteNode(name);
        deleted++;
      }
    const services = new Map<string, string>();
    for (const s of inv.services) {
      const key = digest(s);
      services.set(s.uid, key);
      if (this.#services.get(s.uid) !== key) {
        l.upsertService(s);
        upserted++;
      }
    }
    for (const uid of this.#services.keys())
      if (!services.has(uid)) {
        l.deleteService(uid);
        deleted++;
      }
    const pods = new Map<string, string>();
    for (const p of inv.pods) {
      const key = digest(p);
      pods.set(p.uid, key);
      if (this.#pods.get(p.uid) !== key) {
        l.upsertPod(p);
        upserted++;
      }
    }
    const at = this.#now();
    for (const uid of this.#pods.keys())
      if (!pods.has(uid)) {
        l.deletePod(uid, at);
        deleted++;
      }
    this.#nodes = nodes;
    this.#services = services;
    this.#pods = pods;
    return { pods: pods.size, nodes: nodes.size, services: services.size, upserted, deleted };
  }
}
