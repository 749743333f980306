/**
 * Spawn the real program (`netflow-k8s run` from the TypeScript sources, as Node 24 runs them)
 * and learn its bound UDP and HTTP addresses from its `listening` log line.
 */
import type { ChildProcess } from 'node:child_process';
import { runCli as runCliProcess, spawnCli, type CliRun } from './cli.ts';

export interface CollectorProcess {
  readonly child: ChildProcess;
  readonly udpHost: string;
  readonly udpPort: number;
  readonly httpUrl: string;
  /** Parsed JSON log lines so far (and raw lines that were not JSON, as { raw }). */
  logs(): Record<string, unknown>[];
  stderr(): string;
  get(path: string): Promise<{ status: number; type: string; body: string }>;
  /** Send SIGTERM (or `signal`) and wait for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Run `netflow-k8s run ARGS...` and wait for it to exit (for --help and config errors). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCliProcess(['run', ...args], env);
}

export async function startCollectorProcess(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; startTimeoutMs?: number; built?: boolean } = {},
): Promise<CollectorProcess> {
  const child = spawnCli(['run', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', ...args], opts.env ?? {}, opts.built);
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let partial = '';
  let onLine: ((l: Record<string, unknown>) => void) | undefined;
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { raw: line };
      }
      lines.push(parsed);
      onLine?.(parsed);
    }
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));

  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`collector did not start:\n${stderr}\n${lines.map((l) => JSON.stringify(l)).join('\n')}`));
    }, opts.startTimeoutMs ?? 30_000);
    const check = (l: Record<string, unknown>) => {
      if (l.msg === 'listening') {
        clearTimeout(timer);
        resolve(l);
      }
    };
    lines.forEach(check);
    onLine = check;
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`collector exited (${code}) at start:\n${stderr}\n${lines.map((l) => JSON.stringify(l)).join('\n')}`));
    });
  });
  const udp = listening.udp as { address: string; port: number };
  const http = listening.http as { address: string; port: number; tls?: boolean };
  const httpUrl = `${http.tls ? 'https' : 'http'}://${http.address.includes(':') ? `[${http.address}]` : http.address}:${http.port}`;
  return {
    child,
    udpHost: udp.address,
    udpPort: udp.port,
    httpUrl,
    logs: () => lines,
    stderr: () => stderr,
    async get(path) {
      const r = await fetch(httpUrl + path);
      return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
    },
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (!done) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** Parse Prometheus text into samples: name, labels, value. */
export function parsePromText(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      for (let l = re.exec(m[2]); l; l = re.exec(m[2]))
        labels[l[1]] = l[2].replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `labels`, from Prometheus text. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  return parsePromText(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** Poll until `fn` returns a truthy value (or throw after the timeout with the last error). */
export async function pollUntil<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > end) throw new Error(`condition not met in ${timeoutMs} ms${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Send datagrams in order without overrunning the collector's socket buffers, however busy the
 * machine is: whenever the bytes queued on the collector's port (from /proc/net/udp) pass
 * `maxQueued`, wait for the queue to drain. Tests then measure the collector, not kernel drops.
 */
export async function sendPaced(
  sock: import('node:dgram').Socket,
  payloads: readonly Uint8Array[],
  port: number,
  host = '127.0.0.1',
  maxQueued = 1 << 20,
): Promise<void> {
  const { socketDrops } = await import('../../src/observe/udp-drops.ts');
  for (let i = 0; i < payloads.length; i++) {
    await new Promise<void>((resolve, reject) => sock.send(payloads[i], port, host, (err) => (err ? reject(err) : resolve())));
    if (i % 32 === 31) {
      for (let waited = 0; (socketDrops(port)?.rxQueue ?? 0) > maxQueued && waited < 30_000; waited += 5)
        await new Promise((r) => setTimeout(r, 5));
    }
  }
}
