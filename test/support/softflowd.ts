/**
 * Run Debian's softflowd over a traffic pcap and export NetFlow v9 / IPFIX to a UDP address.
 * softflowd 1.1.0 in -r mode blocks in accept() on its control socket once the file is read, so
 * we poke it with softflowctl until it exports its flows and exits (as the test data tools do).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function softflowdAvailable(): boolean {
  return (
    spawnSync('softflowd', ['-h'], { stdio: 'ignore' }).error === undefined &&
    spawnSync('softflowctl', ['-h'], { stdio: 'ignore' }).error === undefined
  );
}

export interface SoftflowdResult {
  code: number | null;
  log: string;
  pokes: number;
}

export async function runSoftflowd(opts: {
  pcap: string;
  host: string;
  port: number;
  version: 5 | 9 | 10;
  extraArgs?: string[];
  timeoutMs?: number;
}): Promise<SoftflowdResult> {
  const dir = mkdtempSync(join(tmpdir(), 'softflowd-'));
  const ctl = join(dir, 'sf.ctl');
  const target = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
  const args = [
    '-D',
    '-r',
    opts.pcap,
    '-n',
    target,
    '-v',
    String(opts.version),
    '-a',
    '-p',
    join(dir, 'sf.pid'),
    '-c',
    ctl,
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn('softflowd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let pokes = 0;
  try {
    while (!done && Date.now() < deadline) {
      if (existsSync(ctl)) {
        pokes++;
        spawnSync('softflowctl', ['-c', ctl, 'statistics'], { stdio: 'ignore', timeout: 2000 });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!done) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`softflowd did not finish within the timeout:\n${log}`);
    }
    return { code: await exited, log, pokes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
