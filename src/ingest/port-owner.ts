/**
 * Owning the UDP port. Our receiving threads share it with SO_REUSEPORT, which lets any process of
 * the same user join the group and silently take its share of the datagrams. So before the group
 * exists the port is probed with a plain bind (no SO_REUSEPORT): a bind that fails means someone
 * holds the port, and the start stops naming `listen`. A process that joins later is found in
 * /proc/net/udp{,6}: a socket on our port whose inode is none of ours. (The kernel already refuses
 * to put sockets of another user into the group.)
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { ConfigError } from '../config/options.ts';
import { procUdpRows } from '../observe/udp-drops.ts';

/**
 * Binds host:port alone for a moment and returns the port (the one the kernel chose for port 0).
 * Throws a ConfigError naming `listen` when the port is taken.
 */
export async function probePort(host: string, port: number): Promise<number> {
  const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', reuseAddr: false, ipv6Only: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return socket.address().port;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new ConfigError(
        'listen',
        `UDP ${host}:${port} is already in use by another socket (EADDRINUSE): ` +
          'another collector, or another process of this user, would share its datagrams',
      );
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES') throw new ConfigError('listen', `cannot bind UDP ${host}:${port} (${code})`);
    throw err;
  } finally {
    try {
      socket.close();
    } catch {
      // never bound
    }
  }
}

/** Inodes of the sockets of `port` in one /proc/net/udp or udp6 table. */
export function portInodes(text: string, port: number, into: string[] = []): string[] {
  for (const f of procUdpRows(text, port)) into.push(f[9]);
  return into;
}

/** Inodes of every socket this process holds (Linux), from /proc/self/fd. */
function ownSocketInodes(fdDir = '/proc/self/fd'): Set<string> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${fdDir}/${fd}`));
      if (m) out.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Sockets on `port` that this process does not hold; undefined where /proc/net/udp is not there. */
export function strangersOnPort(port: number, procNet = '/proc/net'): number | undefined {
  const inodes: string[] = [];
  let found = false;
  for (const t of ['udp', 'udp6']) {
    try {
      portInodes(readFileSync(`${procNet}/${t}`, 'utf8'), port, inodes);
      found = true;
    } catch {
      // no such table
    }
  }
  if (!found) return undefined;
  const own = ownSocketInodes();
  return inodes.filter((i) => !own.has(i)).length;
}

/** Checks the port now and then; warns when strangers come (and when they go), and counts them. */
export class PortWatch {
  readonly #port: number;
  readonly #warn: (fields: Record<string, unknown>, msg: string) => void;
  #timer: NodeJS.Timeout | undefined;
  /** Strangers seen at the last check. */
  strangers = 0;
  /** Times a stranger was found where there was none before. */
  joins = 0;

  constructor(port: number, warn: (fields: Record<string, unknown>, msg: string) => void) {
    this.#port = port;
    this.#warn = warn;
  }

  check(): void {
    const n = strangersOnPort(this.#port);
    if (n === undefined || n === this.strangers) return;
    if (n > this.strangers) {
      this.joins += n - this.strangers;
      this.#warn(
        { port: this.#port, strangers: n },
        'another socket joined our UDP port and takes a share of its datagrams: find the process (ss -uapn) and stop it',
      );
    } else {
      this.#warn({ port: this.#port, strangers: n }, 'sockets that shared our UDP port went away');
    }
    this.strangers = n;
  }

  start(everyMs = 5000): this {
    this.#timer = setInterval(() => this.check(), everyMs);
    this.#timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
