/** Subcommand dispatch. Each command lives in its own module and is loaded only when used. */
import { ConfigError } from '../config/options.ts';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: {
    summary: 'receive NetFlow/IPFIX over UDP, identify, aggregate and export (default)',
    load: async () => (await import('./run.ts')).runCommand,
  },
  replay: {
    summary: 'decode pcap, pcapng and .dat captures offline and print records or metrics',
    load: async () => (await import('./replay.ts')).replayCommand,
  },
  demo: {
    summary: 'run the collector on a sample cluster with built-in NetFlow traffic',
    load: async () => (await import('./demo.ts')).demoCommand,
  },
  policy: {
    summary: 'suggest NetworkPolicies from observed traffic, or check policies against it',
    load: async () => (await import('./policy.ts')).policyCommand,
  },
  nodegraph: {
    summary: 'serve the Grafana Node Graph API from Prometheus on its own',
    load: async () => (await import('./nodegraph.ts')).nodegraphCommand,
  },
};

export function usage(): string {
  const lines = ['usage: netflow-k8s [COMMAND] [OPTIONS]', '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Run `netflow-k8s COMMAND --help` for the options of a command.');
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  let name = 'run';
  let rest = argv;
  if (argv.length > 0 && !argv[0].startsWith('-')) {
    name = argv[0];
    rest = argv.slice(1);
  } else if (argv[0] === '--version') {
    process.stdout.write('netflow-k8s 0.1.0\n');
    return 0;
  } else if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
    process.stdout.write(usage());
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`netflow-k8s: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await cmd.load())(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`netflow-k8s ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
