/**
 * One declaration per setting gives its flag, its environment variable, its YAML key, its type,
 * its default and its help line, so the four can never drift apart. Precedence: flag, then
 * environment, then the YAML file named by --config, then the default.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.ts';

export type OptionKind = 'string' | 'int' | 'number' | 'bool' | 'duration' | 'list' | 'enum' | 'hostport' | 'path';

export interface OptionSpec {
  /** YAML key and result key, camelCase (`maxSeries`). The flag is its kebab form (`--max-series`). */
  readonly key: string;
  readonly kind: OptionKind;
  readonly help: string;
  readonly default?: unknown;
  /** For `enum`. */
  readonly choices?: readonly string[];
  /** For `int` / `number` / `duration` (milliseconds). */
  readonly min?: number;
  readonly max?: number;
  /** Overrides the derived environment variable (`NETFLOW_K8S_MAX_SERIES`). */
  readonly env?: string;
  /** Section heading in --help. */
  readonly group?: string;
}

export { ConfigError } from './config-error.ts';

export type ConfigValues = Record<string, unknown>;

export interface ParsedConfig {
  values: ConfigValues;
  positionals: string[];
  help: boolean;
}

/** The variable naming the YAML file, for commands that take no REPLAY_-style prefix of their own. */
export const CONFIG_ENV = 'NETFLOW_K8S_CONFIG';

export const flagName = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
export const envName = (spec: OptionSpec): string => spec.env ?? `NETFLOW_K8S_${spec.key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `1h30m`, `30s`, `500ms`, or a bare number of seconds. Returns milliseconds. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    matched = re.lastIndex;
  }
  return matched === t.length && matched > 0 ? total : undefined;
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT`. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function coerce(spec: OptionSpec, raw: unknown, field: string): unknown {
  const text = typeof raw === 'string' ? raw : undefined;
  switch (spec.kind) {
    case 'string':
    case 'path':
      if (typeof raw !== 'string') throw new ConfigError(field, `expected a string, got ${JSON.stringify(raw)}`);
      return raw;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (text !== undefined && /^(true|1|yes|on)$/i.test(text)) return true;
      if (text !== undefined && /^(false|0|no|off)$/i.test(text)) return false;
      throw new ConfigError(field, `expected true or false, got ${JSON.stringify(raw)}`);
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : text !== undefined && text.trim() !== '' ? Number(text) : NaN;
      if (!Number.isFinite(n) || (spec.kind === 'int' && !Number.isInteger(n))) {
        throw new ConfigError(field, `expected ${spec.kind === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`);
      }
      checkRange(spec, n, field, String(n));
      return n;
    }
    case 'duration': {
      const ms = typeof raw === 'number' ? raw * 1000 : text !== undefined ? parseDuration(text) : undefined;
      if (ms === undefined || !Number.isFinite(ms)) {
        throw new ConfigError(field, `expected a duration such as 30s, 5m or 1h, got ${JSON.stringify(raw)}`);
      }
      checkRange(spec, ms, field, String(raw));
      return ms;
    }
    case 'list': {
      if (Array.isArray(raw)) return raw.map((v) => String(v).trim()).filter(Boolean);
      if (text !== undefined)
        return text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
      throw new ConfigError(field, `expected a comma-separated list, got ${JSON.stringify(raw)}`);
    }
    case 'enum':
      if (typeof raw !== 'string' || !spec.choices?.includes(raw)) {
        throw new ConfigError(field, `expected one of ${spec.choices?.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return raw;
    case 'hostport': {
      const hp = typeof raw === 'string' ? parseHostPort(raw) : undefined;
      if (!hp) throw new ConfigError(field, `expected HOST:PORT, got ${JSON.stringify(raw)}`);
      return hp;
    }
  }
}

function checkRange(spec: OptionSpec, n: number, field: string, shown: string): void {
  if (spec.min !== undefined && n < spec.min) throw new ConfigError(field, `${shown} is below the minimum ${spec.min}`);
  if (spec.max !== undefined && n > spec.max) throw new ConfigError(field, `${shown} is above the maximum ${spec.max}`);
}

/**
 * Parse argv (after the subcommand), the environment and an optional YAML file against `specs`.
 * Unknown flags and unknown YAML keys are errors: a typo must not silently fall back to a default.
 * A repeated flag takes its last value, except a list flag, whose values add up.
 */
export function parseConfig(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  configEnv = CONFIG_ENV,
): ParsedConfig {
  const byFlag = new Map(specs.map((s) => [flagName(s.key), s]));
  const fromFlags = new Map<string, unknown>();
  const positionals: string[] = [];
  let configFile: string | undefined = env[configEnv] || undefined;
  let help = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (name === '--config') {
      configFile = value ?? argv[++i];
      if (configFile === undefined) throw new ConfigError('config', 'needs a file name');
      continue;
    }
    let spec = byFlag.get(name);
    let negated = false;
    if (!spec && name.startsWith('--no-')) {
      spec = byFlag.get(`--${name.slice(5)}`);
      negated = spec?.kind === 'bool';
      if (!negated) spec = undefined;
    }
    if (!spec) throw new ConfigError(name.slice(2), `unknown option ${name} (see --help)`);
    if (spec.kind === 'bool' && value === undefined) {
      value = negated ? 'false' : 'true';
    } else if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new ConfigError(spec.key, `${name} needs a value`);
    }
    const v = coerce(spec, value, spec.key);
    // A list flag may be repeated, and its values add up: `--namespace a --namespace b,c`.
    const before = spec.kind === 'list' ? (fromFlags.get(spec.key) as string[] | undefined) : undefined;
    fromFlags.set(spec.key, before === undefined ? v : [...before, ...(v as string[])]);
  }

  let fromFile: Record<string, unknown> = {};
  if (configFile !== undefined && !help) {
    let text: string;
    try {
      text = readFileSync(configFile, 'utf8');
    } catch (err) {
      throw new ConfigError('config', `cannot read ${configFile}: ${(err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new ConfigError('config', `${configFile} is not valid YAML: ${(err as Error).message}`);
    }
    if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
      throw new ConfigError('config', `${configFile} must hold a mapping of settings`);
    }
    fromFile = (doc ?? {}) as Record<string, unknown>;
    const known = new Set(specs.map((s) => s.key));
    for (const k of Object.keys(fromFile)) {
      if (!known.has(k)) throw new ConfigError(k, `unknown key in ${configFile}`);
    }
  }

  const values: ConfigValues = {};
  for (const spec of specs) {
    if (fromFlags.has(spec.key)) {
      values[spec.key] = fromFlags.get(spec.key);
      continue;
    }
    const e = env[envName(spec)];
    if (e !== undefined && e !== '') {
      values[spec.key] = coerce(spec, e, spec.key);
      continue;
    }
    if (spec.key in fromFile && fromFile[spec.key] !== null) {
      values[spec.key] = coerce(spec, fromFile[spec.key], spec.key);
      continue;
    }
    values[spec.key] = spec.default === undefined ? undefined : coerce(spec, spec.default, spec.key);
  }
  return { values, positionals, help };
}

/** --help text: every option with its flag, environment variable, default and meaning. */
export function formatHelp(usage: string, specs: readonly OptionSpec[], configEnv = CONFIG_ENV): string {
  const lines = [usage, '', 'Every option is also an environment variable, or a key in the YAML file given by --config FILE.', ''];
  lines.push('  --config FILE');
  lines.push(`      YAML file of settings, keyed as below; flags and environment variables win over it  [${configEnv}]`);
  let group: string | undefined;
  for (const s of specs) {
    if (s.group !== group) {
      group = s.group;
      if (group) lines.push(`${group}:`);
    }
    const arg = s.kind === 'bool' ? '' : ` ${s.kind === 'enum' ? (s.choices ?? []).join('|') : s.kind.toUpperCase()}`;
    const def = s.default === undefined ? '' : ` (default ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})`;
    lines.push(`  ${flagName(s.key)}${arg}`);
    lines.push(`      ${s.help}${def}  [${envName(s)}; yaml: ${s.key}]`);
  }
  return `${lines.join('\n')}\n`;
}
