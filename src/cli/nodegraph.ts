/**
 * `netflow-k8s nodegraph --prometheus-url URL`: the Node Graph API (and the map page, with its
 * history picker) on its own, reading Prometheus, for a separate deployment like the seed's.
 */
import { ConfigError, formatHelp, parseConfig, type OptionSpec } from '../config/options.ts';
import { LOG_LEVELS } from '../config/run-option-table.ts';
import { createLogger } from '../observe/log.ts';
import { type HttpServer, sendText } from '../observe/http.ts';
import { createHttpServer } from '../export/http-server.ts';
import { NodeGraphApi } from '../export/nodegraph/api.ts';
import { mountMapPage } from '../export/map-page/serve.ts';
import { PrometheusClient, PrometheusError } from '../export/nodegraph/prometheus.ts';
import { loadWebConfig } from '../observe/web-config.ts';

export const NODEGRAPH_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'http',
    kind: 'hostport',
    default: '0.0.0.0:8080',
    help: 'HTTP address: /api/health, /api/graph/fields, /api/graph/data, /healthz and the map page',
  },
  { key: 'prometheusUrl', kind: 'string', help: 'Prometheus that scrapes the collectors (required), e.g. http://prometheus:9090' },
  { key: 'prometheusBearerTokenFile', kind: 'path', help: 'bearer token file, read on every query (rotated tokens work)' },
  { key: 'prometheusCaFile', kind: 'path', help: 'CA bundle trusted in addition to the system roots (TLS is always verified)' },
  { key: 'logLevel', kind: 'enum', choices: LOG_LEVELS, default: 'info', help: 'log level' },
  {
    key: 'webConfigFile',
    kind: 'path',
    help: 'Prometheus exporter-toolkit web configuration (tls_server_config, basic_auth_users, http_server_config.headers), as for run',
  },
];

const USAGE =
  'usage: netflow-k8s nodegraph --prometheus-url URL [OPTIONS]\n\n' +
  'Serve the Grafana Node Graph API and the service map from Prometheus, without a collector.';

export interface NodeGraphServer {
  readonly server: HttpServer;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startNodeGraphServer(opts: {
  http: { host: string; port: number };
  prometheusUrl: string;
  prometheusBearerTokenFile?: string;
  prometheusCaFile?: string;
  logLevel?: string;
  webConfigFile?: string;
}): Promise<NodeGraphServer> {
  const log = createLogger(opts.logLevel ?? 'info');
  const web = opts.webConfigFile ? loadWebConfig(opts.webConfigFile) : undefined;
  let prometheus: PrometheusClient;
  try {
    prometheus = new PrometheusClient({
      url: opts.prometheusUrl,
      bearerTokenFile: opts.prometheusBearerTokenFile,
      caFile: opts.prometheusCaFile,
    });
  } catch (err) {
    throw new ConfigError(err instanceof PrometheusError ? 'prometheusUrl' : 'prometheusCaFile', (err as Error).message);
  }
  // TLS, basic auth and the server limits (at their defaults) as on the collector; there is no
  // /metrics here to show the refusals.
  const { server, watchWebConfig } = createHttpServer({ log, web });
  new NodeGraphApi({ prometheus, onError: (err) => log.warn({ err: String(err) }, 'Prometheus query failed') }).mount(server);
  server.route('GET', '/healthz', (req, res) => sendText(res, 200, 'text/plain; charset=utf-8', 'ok\n', req.method === 'HEAD'));
  mountMapPage(server);
  const addr = await server.listen(opts.http.host, opts.http.port);
  const unwatch = watchWebConfig();
  log.info(
    {
      http: {
        address: addr.address,
        port: addr.port,
        ...(web ? { tls: web.tls !== undefined, basicAuth: web.users.size > 0 } : {}),
      },
      prometheus: prometheus.base.origin,
    },
    'node graph API listening',
  );
  return {
    server,
    port: addr.port,
    stop: () => {
      unwatch();
      return server.close();
    },
  };
}

export async function nodegraphCommand(argv: string[]): Promise<number> {
  const parsed = parseConfig(NODEGRAPH_OPTIONS, argv);
  if (parsed.help) {
    process.stdout.write(formatHelp(USAGE, NODEGRAPH_OPTIONS));
    return 0;
  }
  if (parsed.positionals.length > 0) throw new ConfigError(parsed.positionals[0], 'unexpected argument (nodegraph takes only options)');
  const v = parsed.values;
  const url = (v.prometheusUrl as string | undefined) ?? '';
  if (url === '') throw new ConfigError('prometheusUrl', '--prometheus-url is required (the Node Graph API reads its history there)');
  const s = await startNodeGraphServer({
    http: v.http as { host: string; port: number },
    prometheusUrl: url,
    prometheusBearerTokenFile: v.prometheusBearerTokenFile as string | undefined,
    prometheusCaFile: v.prometheusCaFile as string | undefined,
    logLevel: v.logLevel as string,
    webConfigFile: v.webConfigFile as string | undefined,
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await s.stop();
  return 0;
}
