/**
 * The inventory source, chosen from the config: a static file (--inventory), or live watches
 * (--kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster). Either drives an InventoryListener (the
 * worker pool, which hands every change to each receiving thread), reports readiness, and adds
 * its own self-metrics.
 */
import type { RunConfig } from '../config/run-options.ts';
import { ConfigError } from '../config/options.ts';
import type { InventoryListener } from '../identify/inventory.ts';
import type { Logger } from '../observe/log.ts';
import type { MetricsRegistry } from '../observe/metrics.ts';
import type { KubeSource } from '../identify/kube-source.ts';
import { StaticInventory } from '../identify/static-inventory.ts';

export interface InventoryHandle {
  readonly kind: 'static' | 'kubernetes';
  ready(): boolean;
  registerMetrics(reg: MetricsRegistry): void;
  stop(): Promise<void>;
}

export async function startInventory(config: RunConfig, listener: InventoryListener, log: Logger): Promise<InventoryHandle> {
  if (config.inventory !== undefined) return startStatic(config.inventory, config, listener, log);
  // The Kubernetes client is large: load it only when watching a cluster.
  const { loadKubeConfig } = await import('../identify/kube-config.ts');
  const { KubeSource, KUBE_KINDS } = await import('../identify/kube-source.ts');
  let loaded: ReturnType<typeof loadKubeConfig>;
  try {
    loaded = loadKubeConfig({ kubeconfig: config.kubeconfig });
  } catch (err) {
    throw new ConfigError(
      config.kubeconfig !== undefined ? 'kubeconfig' : 'inventory',
      `${(err as Error).message} (or give --inventory FILE)`,
    );
  }
  // Restart backoff for live watches: tests make it short.
  const backoffEnv = process.env.NETFLOW_K8S_TEST_KUBE_BACKOFF_MS;
  const backoff = backoffEnv ? { initialMs: Number(backoffEnv), maxMs: Number(backoffEnv) * 4 } : undefined;
  const source = new KubeSource({
    kubeConfig: loaded.kubeConfig,
    listener,
    appLabels: config.labelPrecedence,
    log: { info: (o, m) => log.info(o, m), warn: (o, m) => log.warn(o, m) },
    ...(backoff ? { backoff } : {}),
  });
  source.start();
  log.info({ origin: loaded.origin, server: loaded.server }, 'watching the Kubernetes API');
  source.onReady(() => log.info({}, 'inventory synced'));
  return {
    kind: 'kubernetes',
    ready: () => source.isReady,
    registerMetrics(reg) {
      const per = (f: (k: ReturnType<KubeSource['stats']>['kinds']['pods']) => number) => () => {
        const s = source.stats();
        return KUBE_KINDS.map((k) => [[k], f(s.kinds[k])] as const);
      };
      reg.report(
        'informer_ready',
        per((k) => (k.ready ? 1 : 0)),
      );
      reg.report(
        'informer_restarts',
        per((k) => k.restarts),
      );
      reg.report(
        'informer_errors',
        per((k) => k.errors),
      );
      reg.report(
        'informer_lists',
        per((k) => k.lists),
      );
      reg.report(
        'informer_events',
        per((k) => k.events),
      );
      reg.report(
        'informer_last_event_age_seconds',
        per((k) => (k.lastEventMs > 0 ? (Date.now() - k.lastEventMs) / 1000 : NaN)),
      );
    },
    stop: () => source.stop(),
  };
}

async function startStatic(file: string, config: RunConfig, listener: InventoryListener, log: Logger): Promise<InventoryHandle> {
  const inv = new StaticInventory(file, listener, {
    appLabels: config.labelPrecedence,
    onLoad: (change) => log.info({ file, ...change }, 'inventory loaded'),
    onError: (err) => log.error({ file, err: err.message }, 'inventory reload failed; keeping the previous one'),
  });
  try {
    inv.load();
  } catch (err) {
    throw new ConfigError('inventory', (err as Error).message);
  }
  inv.start();
  return {
    kind: 'static',
    ready: () => true,
    registerMetrics(reg) {
      reg.report('inventory_loads', () => [
        [['ok'], inv.stats.loads],
        [['error'], inv.stats.errors],
      ]);
    },
    stop: async () => {
      inv.stop();
    },
  };
}
