/**
 * `netflow-k8s run`: flags, signals and exit codes around the collector (src/pipeline/collector.ts).
 */
import { parseRunConfig, runHelp } from '../config/run-options.ts';
import { ConfigError } from '../config/options.ts';
import { createLogger } from '../observe/log.ts';
import { startCollector, type Collector, type CollectorOptions } from '../pipeline/collector.ts';
import { startThreadPool, yieldToReceivers } from '../pipeline/threads/priority.ts';

export async function runCommand(argv: string[]): Promise<number> {
  const { config, help } = parseRunConfig(argv);
  if (help || !config) {
    process.stdout.write(runHelp());
    return 0;
  }
  const log = createLogger(config.logLevel);
  let collector: Collector;
  try {
    collector = await startCollector(config, { logger: log, mount: await loadExtraRoutes() });
  } catch (err) {
    // A setting that turned out unusable (a missing inventory file, a bad networks file) is a
    // config error like any other: main prints it and exits 2.
    if (err instanceof ConfigError) throw err;
    log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'cannot start');
    await new Promise((r) => setTimeout(r, 50));
    return 1;
  }
  // Only the real program does this, after its receiving threads started (tests running the
  // collector in-process keep their own priority).
  await startThreadPool();
  const nice = yieldToReceivers(collector.receiverThreadIds());
  if (nice !== undefined) log.debug({ nice }, 'exports run below the receiving threads');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'signal received');
  // A second signal, or a shutdown that hangs, must not keep the pod alive forever.
  const force = setTimeout(() => {
    log.error({}, 'shutdown took too long; exiting');
    process.exit(1);
  }, 25_000);
  force.unref();
  await collector.stop();
  clearTimeout(force);
  return 0;
}

/** The Node Graph API and the map page, when their module is present. */
async function loadExtraRoutes(): Promise<CollectorOptions['mount']> {
  const { mountNodeGraphOnCollector } = await import('../pipeline/nodegraph-routes.ts');
  return mountNodeGraphOnCollector;
}
