/**
 * A real unbound (Debian's, built with dnstap) on loopback for the dnstap tests: answers from
 * `local-data` and an auth zone (for CNAME chains it follows), dnstap over TCP to the collector,
 * and `dig` to ask it from a chosen loopback source address (the pod the flows come from).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';

export const UNBOUND = '/usr/sbin/unbound';
export const DIG = '/usr/bin/dig';
export const haveUnbound = (): boolean => existsSync(UNBOUND) && existsSync(DIG);

/** A UDP port free on 127.0.0.1 just now. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface UnboundOptions {
  dir: string;
  /** dnstap over TCP to 127.0.0.1 at this port, or over the unix socket `dnstapSocket`. */
  dnstapPort?: number;
  dnstapSocket?: string;
  /** `NAME TTL IN A ADDR` lines. */
  localData?: readonly string[];
  /** Zone file text for `chain.` (resolved through the iterator, so CNAMEs are followed). */
  chainZone?: string;
}

export class Unbound {
  port: number;
  readonly #opts: UnboundOptions;
  #child: ChildProcess | undefined;
  #log = '';

  private constructor(port: number, opts: UnboundOptions) {
    this.port = port;
    this.#opts = opts;
  }

  /** On a free port; another one when something took the port between the look and the bind. */
  static async start(opts: UnboundOptions): Promise<Unbound> {
    const u = new Unbound(await freeUdpPort(), opts);
    for (let attempt = 1; ; attempt++) {
      try {
        await u.start();
        return u;
      } catch (err) {
        if (attempt >= 3) throw err;
        u.port = await freeUdpPort();
      }
    }
  }

  get log(): string {
    return this.#log;
  }

  async start(): Promise<void> {
    const o = this.#opts;
    const conf = join(o.dir, 'unbound.conf');
    const lines = [
      'server:',
      `  interface: 127.0.0.1@${this.port}`,
      `  port: ${this.port}`,
      '  do-daemonize: no',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${o.dir}"`,
      '  pidfile: ""',
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 1',
      '  num-threads: 1',
      '  access-control: 127.0.0.0/8 allow',
      '  do-not-query-localhost: no',
      '  module-config: "iterator"',
      '  local-zone: "test." static',
      ...(o.localData ?? []).map((d) => `  local-data: "${d}"`),
    ];
    if (o.chainZone !== undefined) {
      writeFileSync(join(o.dir, 'chain.zone'), o.chainZone);
      lines.push(
        'auth-zone:',
        '  name: "chain."',
        `  zonefile: "${join(o.dir, 'chain.zone')}"`,
        '  for-downstream: no',
        '  for-upstream: yes',
        '  fallback-enabled: no',
      );
    }
    lines.push(
      'dnstap:',
      '  dnstap-enable: yes',
      ...(o.dnstapSocket !== undefined
        ? [`  dnstap-socket-path: "${o.dnstapSocket}"`]
        : [`  dnstap-ip: "127.0.0.1@${o.dnstapPort}"`, '  dnstap-tls: no']),
      '  dnstap-send-identity: yes',
      '  dnstap-log-client-response-messages: yes',
      '  dnstap-log-client-query-messages: yes',
    );
    writeFileSync(conf, lines.join('\n') + '\n');
    const child = spawn(UNBOUND, ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout!.on('data', (d) => (this.#log += d));
    child.stderr!.on('data', (d) => (this.#log += d));
    for (let t = 0; !this.#log.includes('start of service'); t += 20) {
      if (t > 15_000 || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`unbound did not start:\n${this.#log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    const c = this.#child;
    this.#child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    await exited;
  }

  /** `dig +short` from source address `from`; the answer lines. */
  dig(name: string, from = '127.0.0.1'): Promise<string[]> {
    return new Promise((resolve, reject) => {
      // Patient on a busy machine: a lost or late answer is asked again rather than failing the test.
      execFile(DIG, ['+short', '+tries=3', '+time=5', '-b', from, '@127.0.0.1', '-p', String(this.port), name], (err, stdout, stderr) => {
        if (err) reject(new Error(`dig ${name} from ${from}: ${err.message} ${stdout} ${stderr}`));
        else resolve(stdout.split('\n').filter(Boolean));
      });
    });
  }
}
