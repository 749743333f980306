/** Runs the CLI from its TypeScript entry as a real process (no build needed). */
import { spawn, type ChildProcess } from 'node:child_process';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).href;
/** The compiled entry the image runs (`npm run build` makes dist/). */
const BUILT_MAIN = new URL('../../dist/cli/main.js', import.meta.url).href;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `netflow-k8s ARGS...` as a child process with piped stdout and stderr. Its environment is ours
 * without OTEL_*, NETFLOW_K8S_* and KUBECONFIG, so the developer's shell cannot change a test,
 * plus `env`. `built` runs the compiled dist/ instead of the sources: benches that measure memory
 * need it, because stripping types loads a WebAssembly compiler into every isolate (about 12 MiB
 * of RSS each) that the image never carries.
 */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, built = false): ChildProcess {
  const script = `import(${JSON.stringify(built ? BUILT_MAIN : MAIN)}).then(m => m.main(process.argv.slice(1))).then(c => { process.exitCode = c; }, e => { console.error(e); process.exitCode = 70; })`;
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('OTEL_') && !k.startsWith('NETFLOW_K8S_') && k !== 'KUBECONFIG') base[k] = v;
  return spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs `netflow-k8s ARGS...` to the end; killed after `timeoutMs`. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
