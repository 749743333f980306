/**
 * The options of `netflow-k8s replay`, declared once (flag, environment variable, YAML key,
 * help). Environment variables carry a REPLAY_ prefix so a collector's environment never
 * changes what an offline replay prints.
 */
import { ConfigError, envName, formatHelp, parseConfig, type OptionSpec } from './options.ts';

/** Even the YAML file: a collector's NETFLOW_K8S_CONFIG names keys replay does not take. */
export const REPLAY_CONFIG_ENV = 'NETFLOW_K8S_REPLAY_CONFIG';
import { toRunConfig, type RunConfig } from './run-options.ts';
import { RUN_OPTIONS } from './run-option-table.ts';

/** Output formats. */
export const REPLAY_FORMATS = ['json', 'none', 'prometheus'] as const;
export type ReplayFormat = (typeof REPLAY_FORMATS)[number];

const IDENTITY_KEYS = [
  'inventory',
  'labelPrecedence',
  'networks',
  'asnDb',
  'ephemeralPorts',
  'level',
  'dedup',
  'extraLabels',
  'templateScope',
];

export const REPLAY_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'format',
    kind: 'enum',
    choices: REPLAY_FORMATS,
    default: 'json',
    env: 'NETFLOW_K8S_REPLAY_FORMAT',
    group: 'Output',
    help:
      'json: one JSON object per flow record per line (with --inventory: both ends named); ' +
      'none: decode only (for timing); prometheus: the /metrics exposition the collector would serve for these captures',
  },
  {
    key: 'summary',
    kind: 'bool',
    default: false,
    env: 'NETFLOW_K8S_REPLAY_SUMMARY',
    group: 'Output',
    help: 'print totals (datagrams, flow records, bytes, packets) and every error counter by reason as a last JSON line on stderr',
  },
  {
    key: 'templates',
    kind: 'path',
    env: 'NETFLOW_K8S_REPLAY_TEMPLATES',
    group: 'Input',
    help: "load this saved template set (a collector's --templates-file) before the first datagram",
  },
  // Naming and counting take the collector's own options, so a replay names and counts exactly as `run` would.
  ...RUN_OPTIONS.filter((s) => IDENTITY_KEYS.includes(s.key)).map((s) => ({
    ...s,
    env: envName(s).replace(/^NETFLOW_K8S_/, 'NETFLOW_K8S_REPLAY_'),
    group: 'Naming and counting (as in run)',
  })),
];

export interface ReplayConfig {
  format: ReplayFormat;
  summary: boolean;
  templates: string | undefined;
  files: string[];
  help: boolean;
  /** The collector's settings for naming and counting: run's defaults with the options above. */
  run: RunConfig;
  /** Whether both ends are named (an inventory, named networks or an ASN database was given). */
  naming: boolean;
}

export const REPLAY_USAGE =
  'usage: netflow-k8s replay [OPTIONS] FILE...\n\n' +
  'Decode pcap, pcapng and raw .dat captures (one datagram each) offline, files in the order given.\n' +
  "The exporter is each packet's source address and port (192.0.2.1:2055 for .dat files).\n" +
  'When stderr is a terminal (and JSON records do not go to it too), progress is shown there.';

export function replayHelp(): string {
  return formatHelp(REPLAY_USAGE, REPLAY_OPTIONS, REPLAY_CONFIG_ENV);
}

export function parseReplayConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ReplayConfig {
  const { values, positionals, help } = parseConfig(REPLAY_OPTIONS, argv, env, REPLAY_CONFIG_ENV);
  if (!help && positionals.length === 0) throw new ConfigError('files', 'give at least one capture FILE (see --help)');
  const runValues = { ...parseConfig(RUN_OPTIONS, [], {}).values };
  for (const k of IDENTITY_KEYS) if (values[k] !== undefined) runValues[k] = values[k];
  const run = toRunConfig(runValues, {});
  return {
    run,
    naming: run.inventory !== undefined || run.networks !== undefined || run.asnDb !== undefined,
    format: values.format as ReplayFormat,
    summary: values.summary as boolean,
    templates: values.templates as string | undefined,
    files: positionals,
    help,
  };
}
