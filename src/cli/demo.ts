/**
 * `netflow-k8s demo`: the collector, in-process, on a sample cluster's static inventory, fed by a
 * built-in generator that sends ipt-netflow-shaped NetFlow v9 over loopback. Everything goes
 * through the real socket, decoder, identity index, store and exports.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, formatHelp, parseConfig, type OptionSpec } from '../config/options.ts';
import { defaultRunConfig } from '../config/run-options.ts';
import { LOG_LEVELS, type LogLevel } from '../config/run-option-table.ts';
import { createLogger } from '../observe/log.ts';
import { DEMO_APPS, DEMO_NETWORKS, DEMO_NODES, demoInventory } from '../demo/cluster.ts';
import { PRICE_PRESETS } from '../config/prices.ts';
import { DemoTraffic } from '../demo/traffic.ts';
import { DemoDnstap } from '../demo/dnstap.ts';
import { startCollector, type Collector } from '../pipeline/collector.ts';
import { mountNodeGraphOnCollector } from '../pipeline/nodegraph-routes.ts';

export const DEMO_OPTIONS: readonly OptionSpec[] = [
  { key: 'http', kind: 'hostport', default: '0.0.0.0:8080', help: 'HTTP address of the map, /metrics and the Node Graph API' },
  { key: 'listen', kind: 'hostport', default: '127.0.0.1:0', help: 'UDP address the collector receives on (port 0: any free port)' },
  { key: 'speed', kind: 'number', default: 1, min: 0.01, max: 1000, help: 'multiplies the sample traffic' },
  { key: 'duration', kind: 'duration', help: 'stop after this long (default: run until Ctrl+C)' },
  { key: 'prometheusUrl', kind: 'string', help: 'a Prometheus scraping this demo, for map history' },
  { key: 'logLevel', kind: 'enum', choices: LOG_LEVELS, default: 'warn', help: 'log level' },
];

const USAGE =
  'usage: netflow-k8s demo [OPTIONS]\n\n' +
  'Run the collector on a sample cluster with built-in NetFlow v9 traffic, and serve its map, metrics and Node Graph API.';

export interface Demo {
  readonly collector: Collector;
  readonly traffic: DemoTraffic;
  readonly urls: { map: string; metrics: string; graph: string };
  stop(): Promise<void>;
}

export interface DemoOptions {
  http?: { host: string; port: number };
  listen?: { host: string; port: number };
  speed?: number;
  prometheusUrl?: string;
  logLevel?: LogLevel;
}

/** Starts the collector and the traffic; stop() ends both and removes the inventory file. */
export async function startDemo(opts: DemoOptions = {}): Promise<Demo> {
  const dir = mkdtempSync(join(tmpdir(), 'netflow-k8s-demo-'));
  const inventory = join(dir, 'inventory.json');
  writeFileSync(inventory, JSON.stringify(demoInventory(), null, 1));
  let collector: Collector | undefined;
  let traffic: DemoTraffic | undefined;
  let dnstap: DemoDnstap | undefined;
  try {
    const config = defaultRunConfig({
      listen: opts.listen ?? { host: '127.0.0.1', port: 0 },
      http: opts.http ?? { host: '0.0.0.0', port: 8080 },
      inventory,
      networks: DEMO_NETWORKS,
      // The direction label lets Grafana and the Node Graph history tell requests from responses.
      extraLabels: ['role'],
      // List prices, so the map's cost view and header have figures.
      prices: PRICE_PRESETS.aws,
      prometheusUrl: opts.prometheusUrl,
      logLevel: opts.logLevel ?? 'warn',
      workers: 1,
      // The demo's own dnstap stream names its external services; its names go above the networks'.
      dnstap: {
        listen: { host: '127.0.0.1', port: 0 },
        socket: undefined,
        maxNames: 100_000,
        graceMs: 600_000,
        overNetworks: true,
        nameSuffixes: ['default'],
      },
    });
    collector = await startCollector(config, { logger: createLogger(config.logLevel, process.stderr), mount: mountNodeGraphOnCollector });
    // Traffic before the inventory is in would be counted as `unknown`: wait for it (a static file is quick).
    for (let waited = 0; !collector.ready() && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    // Names before traffic, so the first flows to external services already carry them.
    dnstap = new DemoDnstap();
    await dnstap.start('127.0.0.1', collector.dnstap!.tcp!.port);
    for (let waited = 0; collector.dnstap!.names.stats.learned < dnstap.answers && waited < 10_000; waited += 20)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setImmediate(r));
    await collector.flush();
    const udpHost = collector.udp.address === '0.0.0.0' || collector.udp.address === '::' ? '127.0.0.1' : collector.udp.address;
    traffic = new DemoTraffic({ host: udpHost, port: collector.udp.port, speed: opts.speed ?? 1 });
    await traffic.start();
  } catch (err) {
    await traffic?.stop();
    await dnstap?.stop();
    await collector?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const c = collector;
  const t = traffic;
  const host =
    c.http.address === '0.0.0.0' || c.http.address === '::'
      ? 'localhost'
      : c.http.address.includes(':')
        ? `[${c.http.address}]`
        : c.http.address;
  const base = `http://${host}:${c.http.port}`;
  let stopped: Promise<void> | undefined;
  return {
    collector: c,
    traffic: t,
    urls: { map: `${base}/`, metrics: `${base}/metrics`, graph: `${base}/api/graph/data` },
    stop: () =>
      (stopped ??= (async () => {
        await t.stop();
        await dnstap?.stop();
        await c.stop();
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

export async function demoCommand(argv: string[]): Promise<number> {
  const parsed = parseConfig(DEMO_OPTIONS, argv);
  if (parsed.help) {
    process.stdout.write(formatHelp(USAGE, DEMO_OPTIONS));
    return 0;
  }
  if (parsed.positionals.length > 0) throw new ConfigError(parsed.positionals[0], 'unexpected argument (demo takes only options)');
  const v = parsed.values;
  const http = v.http as { host: string; port: number };
  let demo: Demo;
  try {
    demo = await startDemo({
      http,
      listen: v.listen as { host: string; port: number },
      speed: v.speed as number,
      prometheusUrl: v.prometheusUrl as string | undefined,
      logLevel: v.logLevel as LogLevel,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError('http', `${http.host}:${http.port} is in use; pick another address, e.g. --http 127.0.0.1:${http.port + 1}`);
    }
    throw err;
  }
  const namespaces = new Set(DEMO_APPS.map((a) => a.namespace)).size;
  process.stdout.write(
    [
      `netflow-k8s demo: a sample cluster (${DEMO_NODES.length} nodes, ${namespaces} namespaces, ${DEMO_APPS.length} apps) ` +
        `sends ipt-netflow-shaped NetFlow v9 to udp://${demo.collector.udp.address}:${demo.collector.udp.port}`,
      `  (one node per zone, ${DEMO_NODES.map((n) => n.zone).join(', ')}, priced at AWS list prices: ` +
        `the map's "cost" view and header show what cross-zone traffic costs)`,
      '',
      `  service map      ${demo.urls.map}`,
      `  Prometheus       ${demo.urls.metrics}`,
      `  Node Graph API   ${demo.urls.graph}`,
      `  NetworkPolicies  netflow-k8s policy suggest --url ${demo.urls.map.replace(/\/$/, '')} --namespace shop   (after a minute)`,
      '',
      v.duration === undefined ? 'Press Ctrl+C to stop.' : `Stopping in ${(v.duration as number) / 1000} s.`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (v.duration !== undefined) setTimeout(done, v.duration as number).unref();
  });
  await demo.stop();
  const s = demo.traffic.stats;
  process.stdout.write(`sent ${s.datagrams} datagrams, ${s.flows} flow records, ${s.bytes} bytes\n`);
  return 0;
}
