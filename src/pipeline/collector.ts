/**
 * The collector assembled: UDP in, decode, identify, aggregate, Prometheus and OTLP out.
 *
 * Receiving threads (src/pipeline/threads/receiver-thread.ts) each decode, identify and count into a local store and
 * ship exact deltas here; this thread owns the one PairStore, the inventory source, HTTP
 * (scrapes) and OTLP, so no export ever stalls the receive path. `startCollector` runs the whole
 * thing in-process (the demo and tests use it); `runCommand` (src/cli/run.ts) adds flags, signals
 * and exit codes.
 */
import { hostname } from 'node:os';
import type { RunConfig } from '../config/run-options.ts';
import { ConfigError } from '../config/options.ts';
import { createLogger, RateLimitedLog, type Logger } from '../observe/log.ts';
import { type HttpServer, sendText } from '../observe/http.ts';
import { DEFAULT_HTTP_LIMITS } from '../observe/http-limits.ts';
import { createHttpServer } from '../export/http-server.ts';
import { metricsHandler } from '../export/prometheus/endpoint.ts';
import type { PairStore } from '../aggregate/pair-store.ts';
import { checkIdentityConfig } from './build-parts.ts';
import { storeFor } from './store.ts';
import { WorkerPool, RESTART_WINDOW_MS, RESTARTS_UNHEALTHY, STUCK_AFTER_MS, type BoundAddress } from './threads/pool.ts';
import { checkTemplatesDir, loadTemplates, TemplatesFile } from './templates.ts';
import { PortWatch } from '../ingest/port-owner.ts';
import { nativeTrimAsync } from '../ingest/native-udp.ts';
import { startMallocTrim } from '../observe/malloc-trim.ts';
import { startInventory, type InventoryHandle } from './inventory.ts';
import { SelfMetrics } from './self-metrics.ts';
import { startExports, type ExportsHandle } from './exports.ts';
import type { DnstapHandle } from '../dns/dnstap-service.ts';
import { loadWebConfig } from '../observe/web-config.ts';
import { policyParts, type PolicyParts } from '../policy/collector.ts';
import { settleKeepingCode } from './settle-memory.ts';

export interface Collector {
  readonly config: RunConfig;
  /** The UDP address the receiving threads share, and the receive buffer the kernel granted. */
  readonly udp: BoundAddress;
  readonly http: { address: string; port: number };
  /** The one store of counts; read it, never write it. */
  readonly store: PairStore;
  /** Mount more routes here (the Node Graph API, the map page). */
  readonly server: HttpServer;
  readonly log: Logger;
  /** Observed conversations and the inventory as NetworkPolicies see them (/api/policies). */
  readonly policy: PolicyParts;
  /** Inventory synced and socket bound. */
  ready(): boolean;
  /** Every receiving thread ships its counts now; resolves once they are in the store. */
  flush(): Promise<void>;
  /** Kernel thread ids of the receiving threads (Linux), e.g. to leave their priority alone. */
  receiverThreadIds(): number[];
  /** The dnstap input, when --dnstap-listen or --dnstap-socket is set. */
  readonly dnstap: DnstapHandle | undefined;
  /** Stop receiving, merge the last counts, final OTLP export, save templates, close. */
  stop(): Promise<void>;
}

export interface CollectorOptions {
  logger?: Logger;
  /** Called before the HTTP server listens, to mount more routes; may return what to stop at shutdown. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a mount may return nothing, a stopper, or a promise of either
  mount?: (c: Collector) => void | (() => void) | Promise<void | (() => void)>;
}

export async function startCollector(config: RunConfig, opts: CollectorOptions = {}): Promise<Collector> {
  const log = opts.logger ?? createLogger(config.logLevel);
  const limited = new RateLimitedLog(log);
  checkIdentityConfig(config);
  // Read first: a bad web configuration stops the start before any socket opens.
  const web = config.webConfigFile ? loadWebConfig(config.webConfigFile) : undefined;
  const store = storeFor(config);
  const pool = new WorkerPool(config, store, {
    info: (f, m) => log.info(f, m),
    warn: (f, m) => log.warn(f, m),
    error: (f, m) => log.error(f, m),
    limited: (k, f, m) => limited.warn(k, f, m),
  });

  const policy = policyParts(config, pool);
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log.error({ err: String(err) }, 'cleanup failed');
      }
    }
  };

  try {
    checkTemplatesDir(config.templatesFile);
    const templates = await loadTemplates(config.templatesFile, log);
    const templatesFile = config.templatesFile ? new TemplatesFile(config.templatesFile, config.templateTtlMs, log, templates) : undefined;
    const udp = await pool.start(templates);
    cleanups.push(() => pool.stop().then(() => undefined));
    const portWatch = new PortWatch(udp.port, (f, m) => log.warn(f, m)).start();
    cleanups.push(() => portWatch.stop());
    if (udp.recvBufferBytes > 0 && udp.recvBufferBytes < config.recvBuffer) {
      log.warn(
        { requested: config.recvBuffer, granted: udp.recvBufferBytes },
        'receive buffer smaller than asked: raise net.core.rmem_max on the node',
      );
    }

    const inventory: InventoryHandle = await startInventory(config, policy.listener(pool), log);
    cleanups.push(() => inventory.stop());

    // Loaded only when asked for (its receiver, decoder and protobuf reader are some MiB of heap).
    const dnstap = config.dnstap ? await (await import('../dns/dnstap-service.ts')).startDnstap(config, pool, log, limited) : undefined;
    if (dnstap !== undefined) cleanups.push(() => dnstap.stop());

    const self = new SelfMetrics(config, store, pool, inventory, udp.port, udp.recvBufferBytes);
    self.registry.report('udp_port_strangers', () => portWatch.strangers);
    self.registry.report('udp_port_stranger_joins', () => portWatch.joins);
    dnstap?.registerMetrics(self.registry, () => pool.reports());
    const exportsHandle: ExportsHandle = await startExports(config, store, self, log);
    cleanups.push(() => exportsHandle.shutdown());

    const { server, watchWebConfig } = createHttpServer({
      log,
      web,
      registry: self.registry,
      limits: {
        ...DEFAULT_HTTP_LIMITS,
        headersTimeoutMs: config.httpHeadersTimeoutMs,
        requestTimeoutMs: config.httpRequestTimeoutMs,
        maxConnections: config.httpMaxConnections,
      },
    });
    // Ready once the threads hold the synced inventory too; latched, so later changes in flight
    // (a millisecond each) never flap the probe.
    let threadsSynced = false;
    const threadsHaveInventory = () => (threadsSynced ||= inventory.ready() && pool.threadsBehindInventory() === 0);
    const started = () => pool.bound !== undefined && inventory.ready() && threadsHaveInventory();
    // Ready only once the start's memory is settled (below): a settle is a compacting collection on
    // every thread, 50 to 100 ms of stall. Said ready before it, a collector met that stall with
    // the first burst of traffic and dropped datagrams in its first second.
    let settled = false;
    const ready = () => settled && started();
    self.registry.report('inventory_threads_behind', () => pool.threadsBehindInventory());
    // Liveness: a receiving thread whose loop stopped turning, or one that keeps dying, is only cured by a restart.
    server.route('GET', '/healthz', (req, res) => {
      const h = pool.health();
      const stuck =
        h.stuck.length > 0 ? ` receiving thread ${h.stuck.join(', ')} stuck (no loop turn for ${STUCK_AFTER_MS / 1000} s);` : '';
      const dying =
        h.recentRestarts >= RESTARTS_UNHEALTHY ? ` ${h.recentRestarts} thread restarts in ${RESTART_WINDOW_MS / 60_000} min;` : '';
      const body = h.ok ? 'ok\n' : `unhealthy:${stuck}${dying}\n`;
      sendText(res, h.ok ? 200 : 503, 'text/plain; charset=utf-8', body, req.method === 'HEAD');
    });
    server.route('GET', '/readyz', (req, res) => {
      const ok = ready();
      const synced = inventory.ready()
        ? threadsHaveInventory()
          ? 'synced'
          : 'synced, not yet applied by the receiving threads'
        : 'not synced';
      const memory = ok ? '' : started() ? ', memory settling after the start' : '';
      const body = `${ok ? 'ready' : 'not ready'}: socket ${pool.bound ? 'bound' : 'not bound'}, inventory ${synced}${memory}\n`;
      sendText(res, ok ? 200 : 503, 'text/plain; charset=utf-8', body, req.method === 'HEAD');
    });
    // Classic text or OpenMetrics by Accept, gzipped by Accept-Encoding.
    server.route(
      'GET',
      '/metrics',
      metricsHandler((w) => exportsHandle.renderPrometheus(w)),
    );
    server.route('GET', '/metrics/otel', (req, res) => exportsHandle.otelHandler(req, res));
    policy.mount(
      server,
      () => pool.flush(),
      () => inventory.ready(),
    );
    policy.registerMetrics(self.registry);

    // A rotated certificate or a new user is taken up while running.
    const unwatchWeb = watchWebConfig();
    cleanups.push(unwatchWeb);

    // Idle pairs leave the store; a sweep is cheap next to the TTL, so run it often enough to be prompt.
    const sweepMs = Math.max(1000, Math.min(30_000, Math.floor(config.seriesTtlMs / 10)));
    const gc = (globalThis as { gc?: () => void }).gc;
    const sweep = setInterval(() => {
      const removed = store.expire(Date.now());
      policy.expire(Date.now());
      if (removed > 0) log.debug({ removed, pairs: store.pairs.length }, 'idle pairs expired');
      // Under --expose-gc a large expiry is followed by a full collection, so the memory it
      // frees shows at once in the process metrics (otherwise V8 collects it when it likes).
      if (gc && removed >= 10_000) gc();
    }, sweepMs);
    sweep.unref();
    cleanups.push(() => clearInterval(sweep));
    const trimmer = startMallocTrim(nativeTrimAsync());
    cleanups.push(() => trimmer.stop());

    // Once started: the exports run once over a scratch store so none meets live traffic cold
    // (warm-exports.ts); then the start-up's garbage (the inventory file's parse, module loading,
    // the threads' inventory replay, the warm-up's scratch) and the freed compiler zones of every
    // thread go back, so an idle collector holds only what it uses; then it is ready.
    const settle = setInterval(() => {
      if (!started()) return;
      clearInterval(settle);
      void (async () => {
        // A warm-up that fails costs only its speed-up: the collector still gets ready.
        const warm = await exportsHandle.warm().catch((err: unknown) => log.error({ err: String(err) }, 'exports warm-up failed'));
        await pool.settle();
        const s = settleKeepingCode();
        settled = true;
        log.debug({ warm: warm && { ...warm, ms: Math.round(warm.ms) }, ...s, ms: Math.round(s.ms) }, 'memory settled after start');
      })();
    }, 25);
    settle.unref();
    cleanups.push(() => clearInterval(settle));
    // Templates also go to disk now and then, so a crash loses little.
    if (templatesFile) {
      const t = setInterval(() => {
        pool.templates().then(
          (snaps) => templatesFile.save(snaps),
          (err: unknown) => log.warn({ err: String(err) }, 'template snapshot failed'),
        );
      }, 60_000);
      t.unref();
      cleanups.push(() => clearInterval(t));
    }

    let stopped: Promise<void> | undefined;
    let unmount: () => void = () => {};
    const collector: Collector = {
      config,
      udp,
      http: { address: '', port: 0 },
      store,
      server,
      log,
      policy,
      ready,
      flush: () => pool.flush(),
      receiverThreadIds: () => pool.threadIds,
      dnstap,
      stop: () =>
        (stopped ??= (async () => {
          log.info({}, 'stopping');
          clearInterval(sweep);
          trimmer.stop();
          clearInterval(settle);
          await inventory.stop();
          await dnstap?.stop();
          // The last deltas of every thread reach the store before the final export.
          const saved = await pool.stop();
          portWatch.stop();
          // Before the final export: an OTLP endpoint that never answers must not let the shutdown
          // deadline pass with the templates unsaved.
          await templatesFile?.save(saved);
          await exportsHandle.shutdown();
          unmount();
          unwatchWeb();
          await server.close();
          log.info({ pairs: store.pairs.length }, 'stopped');
        })()),
    };
    if (opts.mount) {
      const undo = await opts.mount(collector);
      if (typeof undo === 'function') unmount = undo;
    }
    const httpAddr = await server.listen(config.http.host, config.http.port).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES')
        throw new ConfigError('http', `cannot listen on ${config.http.host}:${config.http.port} (${err.code}): ${err.message}`);
      throw err;
    });
    cleanups.push(() => server.close());
    (collector as { http: Collector['http'] }).http = { address: httpAddr.address, port: httpAddr.port };
    log.info(
      {
        udp: { address: udp.address, port: udp.port, recvBufferBytes: udp.recvBufferBytes, workers: config.workers },
        http: {
          address: httpAddr.address,
          port: httpAddr.port,
          ...(web ? { tls: web.tls !== undefined, basicAuth: web.users.size > 0 } : {}),
        },
        inventory: inventory.kind,
        otlp: config.otlpEndpoint ?? null,
        dnstap: dnstap === undefined ? undefined : { tcp: dnstap.tcp ?? null, socket: config.dnstap?.socket ?? null },
        host: hostname(),
      },
      'listening',
    );
    return collector;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
