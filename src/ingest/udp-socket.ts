/**
 * The receiving socket: IPv4 and IPv6 (dual-stack when bound to `::`), a large receive buffer,
 * SO_REUSEPORT so several threads can share one port (the kernel hashes each exporter's 4-tuple
 * to one socket, so an exporter's templates and data reach the same decoder), one Exporter
 * object per (address, port), and an optional allowlist of exporter CIDRs.
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { isIP } from 'node:net';
import type { Exporter } from '../decode/record.ts';
import { addressBytes, cidrContains, type Cidr } from '../config/run-options.ts';

export interface UdpSocketOptions {
  host: string;
  port: number;
  recvBuffer: number;
  reusePort: boolean;
}

export interface BoundSocket {
  socket: Socket;
  address: string;
  port: number;
  family: 4 | 6;
  /** What the kernel granted (Linux reports double the request, capped at 2 x net.core.rmem_max). */
  recvBufferBytes: number;
}

export async function openUdpSocket(opts: UdpSocketOptions): Promise<BoundSocket> {
  const family = isIP(opts.host) === 6 ? 6 : 4;
  const socket = createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    reuseAddr: false,
    reusePort: opts.reusePort,
    ipv6Only: false,
    recvBufferSize: opts.recvBuffer,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: opts.host, port: opts.port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  let recvBufferBytes = 0;
  try {
    recvBufferBytes = socket.getRecvBufferSize();
  } catch {
    recvBufferBytes = 0;
  }
  const a = socket.address();
  return { socket, address: a.address, port: a.port, family, recvBufferBytes };
}

/** `::ffff:10.0.0.1` → `10.0.0.1`: one exporter has one name whichever socket family saw it. */
export function unwrapMapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export interface KnownExporter extends Exporter {
  readonly allowed: boolean;
}

/**
 * Exporter objects cached per (address, port) with the allowlist decision made once. Bounded:
 * past `max` distinct exporters the cache starts over (objects are cheap to rebuild; template
 * keys are strings, so nothing else depends on object identity).
 */
export class ExporterCache {
  readonly #byKey = new Map<string, KnownExporter>();
  readonly #allow: readonly Cidr[] | undefined;
  readonly #max: number;

  constructor(allow: readonly Cidr[] | undefined, max = 65_536) {
    this.#allow = allow;
    this.#max = max;
  }

  get(rinfo: RemoteInfo): KnownExporter {
    const raw = rinfo.address;
    const port = rinfo.port;
    // Cheap first lookup on the raw text; the unwrapped form is computed only on a miss.
    const probe = raw + '|' + port;
    let e = this.#byKey.get(probe);
    if (e) return e;
    const address = unwrapMapped(raw);
    let allowed = true;
    if (this.#allow) {
      const bytes = addressBytes(address);
      allowed = bytes !== undefined && this.#allow.some((c) => cidrContains(c, bytes));
    }
    e = Object.freeze({ address, port, key: `${address}|${port}`, allowed });
    if (this.#byKey.size >= this.#max) this.#byKey.clear();
    this.#byKey.set(probe, e);
    return e;
  }
}
