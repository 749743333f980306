/**
 * `netflow-k8s demo` as a child process (from the TypeScript sources, on a free HTTP port), for
 * the tests that need the whole demo running: the demo e2e test and the Grafana expressions check.
 */
import { spawn } from 'node:child_process';
import { freePort } from '../support/prometheus.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface DemoProcess {
  readonly base: string;
  readonly port: number;
  output(): { out: string; err: string };
  /** SIGTERM, then SIGKILL after 10 s; resolves to the exit code. */
  stop(): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export async function startDemoProcess(args: string[] = []): Promise<DemoProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '-e',
      `import(${JSON.stringify(MAIN)}).then((m) => m.main(process.argv.slice(1))).then((c) => { process.exitCode = c; })`,
      'demo',
      '--http',
      `127.0.0.1:${port}`,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    }
    return exited;
  };
  const deadline = Date.now() + 30_000;
  while (!out.includes('Node Graph API')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`demo did not start:\n${out}\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base: `http://127.0.0.1:${port}`, port, output: () => ({ out, err }), stop, exited };
}
