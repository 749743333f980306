/** Runs the CLI from its TypeScript entry as a real process (no build needed) and collects its output. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).href;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `netflow-k8s ARGS...` as a child process with only PATH (plus `env`) in its environment. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  const script = `import(${JSON.stringify(MAIN)}).then(m => m.main(process.argv.slice(1))).then(c => { process.exitCode = c; }, e => { console.error(e); process.exitCode = 70; })`;
  return spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `netflow-k8s ARGS...` to the end; killed after `timeoutMs`. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
