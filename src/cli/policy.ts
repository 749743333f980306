/**
 * `netflow-k8s policy suggest|check`: NetworkPolicies from a running collector's observed
 * conversations, and existing policies checked against them.
 *
 *   policy suggest --url URL [--namespace NS]... [--since D] [--egress] [--out DIR]
 *   policy check --url URL [--since D] FILE...
 *
 * check exits 1 when the policies would deny a conversation that was seen, 2 on bad input.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, formatHelp, parseConfig, type OptionSpec } from '../config/options.ts';
import { parsePolicies, PolicyInputError } from '../policy/policy-yaml.ts';
import type { CheckResult } from '../policy/check.ts';

const COMMON: OptionSpec[] = [
  { key: 'url', kind: 'string', env: 'NETFLOW_K8S_URL', help: 'the collector, e.g. http://localhost:8080' },
  {
    key: 'since',
    kind: 'duration',
    min: 1000,
    help: 'only conversations seen in this last while (default: all the collector keeps, up to its --series-ttl)',
  },
];
const SUGGEST: OptionSpec[] = [
  ...COMMON,
  {
    key: 'namespace',
    kind: 'list',
    help: 'namespaces to write policies for; repeat or comma-separate (default: every namespace with a workload seen)',
  },
  { key: 'egress', kind: 'bool', default: false, help: 'also write Egress policies (DNS to kube-dns allowed)' },
  { key: 'out', kind: 'path', help: 'write one file per policy under DIR/NAMESPACE/ instead of printing a List' },
];
const CHECK: OptionSpec[] = COMMON;

const USAGE = `usage: netflow-k8s policy suggest --url URL [--namespace NS]... [--since D] [--egress] [--out DIR]
       netflow-k8s policy check --url URL [--since D] FILE...

suggest: NetworkPolicies admitting exactly the conversations the collector saw.
check:   which conversations the collector saw would FILE's NetworkPolicies deny (exit 1 if any).`;

function baseUrl(v: unknown): URL {
  if (typeof v !== 'string' || v === '') throw new ConfigError('url', 'required: the collector, e.g. --url http://localhost:8080');
  try {
    return new URL(v.endsWith('/') ? v : `${v}/`);
  } catch {
    throw new ConfigError('url', `${JSON.stringify(v)} is not a URL`);
  }
}

async function request(url: URL, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new ConfigError('url', `cannot reach ${url.origin}: ${(err as Error).cause ?? (err as Error).message}`);
  }
}

export async function policyCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(`${USAGE}\n\nRun \`netflow-k8s policy suggest --help\` or \`policy check --help\` for the options.\n`);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'suggest') return suggest(rest);
  if (sub === 'check') return check(rest);
  throw new ConfigError('policy', `unknown subcommand ${JSON.stringify(sub)}: expected suggest or check`);
}

async function suggest(argv: string[]): Promise<number> {
  const parsed = parseConfig(SUGGEST, argv);
  if (parsed.help) {
    process.stdout.write(formatHelp(USAGE, SUGGEST));
    return 0;
  }
  if (parsed.positionals.length > 0) throw new ConfigError(parsed.positionals[0], 'unexpected argument (suggest takes only options)');
  const v = parsed.values;
  const url = new URL('api/policies', baseUrl(v.url));
  for (const ns of (v.namespace as string[] | undefined) ?? []) url.searchParams.append('namespace', ns);
  if (v.since !== undefined) url.searchParams.set('since', `${v.since as number}ms`);
  if (v.egress) url.searchParams.set('egress', 'true');
  const out = v.out as string | undefined;
  const res = await request(url, { headers: { accept: out ? 'application/json' : 'application/yaml' } });
  const body = await res.text();
  if (!res.ok) {
    process.stderr.write(`netflow-k8s policy suggest: ${url.origin} answered ${res.status}: ${body}`);
    return 1;
  }
  if (!out) {
    process.stdout.write(body);
    return 0;
  }
  const { files, notes } = JSON.parse(body) as { files: { path: string; yaml: string }[]; notes: string[] };
  for (const f of files) {
    const path = join(out, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.yaml);
  }
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  process.stderr.write(`wrote ${files.length} polic${files.length === 1 ? 'y' : 'ies'} under ${out}\n`);
  return 0;
}

async function check(argv: string[]): Promise<number> {
  const parsed = parseConfig(CHECK, argv);
  if (parsed.help) {
    process.stdout.write(formatHelp(USAGE, CHECK));
    return 0;
  }
  const files = parsed.positionals;
  if (files.length === 0) throw new ConfigError('FILE', 'give the NetworkPolicy YAML files to check');
  const v = parsed.values;
  const base = baseUrl(v.url);
  // Every file is checked here first, so a bad one is named with its path and nothing is sent.
  const texts: string[] = [];
  const problems: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      problems.push(`${f}: ${(err as Error).message}`);
      continue;
    }
    try {
      parsePolicies(text, f);
      texts.push(text);
    } catch (err) {
      if (!(err instanceof PolicyInputError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) {
    process.stderr.write(`netflow-k8s policy check: nothing was evaluated:\n${problems.map((p) => `  ${p}\n`).join('')}`);
    return 2;
  }
  const url = new URL('api/policies/check', base);
  if (v.since !== undefined) url.searchParams.set('since', `${v.since as number}ms`);
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/yaml' },
    body: texts.map((t) => t.replace(/\n?$/, '\n')).join('---\n'),
  });
  const body = await res.text();
  if (!res.ok) {
    process.stderr.write(`netflow-k8s policy check: ${url.origin} answered ${res.status}: ${body}`);
    return 2;
  }
  const r = JSON.parse(body) as CheckResult;
  const lines = [
    `${r.policies} polic${r.policies === 1 ? 'y' : 'ies'} checked against ${r.evaluated} observed ` +
      `conversation${r.evaluated === 1 ? '' : 's'}: ${r.denied.length} would be denied.`,
  ];
  for (const d of r.denied) {
    const where = [d.ingress === 'denied' ? 'ingress' : '', d.egress === 'denied' ? 'egress' : ''].filter(Boolean).join(' and ');
    lines.push(`  DENIED ${d.client} -> ${d.server} ${d.port}: ${d.flows} flows, ${d.bytes} bytes, last seen ${d.lastSeen} (by ${where})`);
  }
  for (const [why, n] of Object.entries(r.notEvaluated)) lines.push(`  not evaluated (${n}): ${why}`);
  if (r.undecided > 0)
    lines.push(`  ${r.undecided} undecided conversation${r.undecided === 1 ? '' : 's'} (the ports did not tell the client) not evaluated`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return r.denied.length > 0 ? 1 : 0;
}
