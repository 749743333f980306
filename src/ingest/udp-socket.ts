/**
 * The receiving socket: IPv4 and IPv6 (dual-stack when bound to `::`), a large receive buffer,
 * SO_REUSEPORT so several threads can share one port (the kernel hashes each exporter's 4-tuple
 * to one socket, so an exporter's templates and data reach the same decoder), one Exporter
 * object per (address, port), and an optional allowlist of exporter CIDRs.
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { isIP } from 'node:net';
import { ipv4ToString, ipv6ToString, type Exporter } from '../decode/record.ts';
import { addressBytes, cidrContains, type Cidr } from '../config/cidr.ts';
import { META_ADDRESS, META_FAMILY, META_PORT } from './native-udp.ts';

export interface UdpSocketOptions {
  host: string;
  port: number;
  recvBuffer: number;
  reusePort: boolean;
  /**
   * The native path's random spread over the reuseport group (see NativeUdpOpenOptions.spread);
   * dgram cannot attach the program and ignores it.
   */
  spread?: number;
  /** A stop flag shared with the main thread (word 0): once set, datagrams are no longer read. */
  stop?: Int32Array;
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
  /** The last report round (UdpReceiver) this source was heard in; the only field that changes. */
  heardInRound: number;
}

/**
 * Exporter objects cached per (address, port) with the allowlist decision made once. Bounded:
 * past `max` distinct exporters the cache starts over (objects are cheap to rebuild; template
 * keys are strings, so nothing else depends on object identity).
 */
export class ExporterCache {
  readonly #byKey = new Map<string, KnownExporter>();
  /** The native path's IPv4 sources, keyed address * 65536 + port: no string per datagram. */
  readonly #byV4 = new Map<number, KnownExporter>();
  /** Its IPv6 sources by a hash of the address words and port; the entry keeps the words to tell collisions. */
  readonly #byV6 = new Map<number, V6Entry>();
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
    const probe = `${raw}|${port}`;
    let e = this.#byKey.get(probe);
    if (e) return e;
    e = this.#make(unwrapMapped(raw), port);
    if (this.#byKey.size >= this.#max) this.#byKey.clear();
    this.#byKey.set(probe, e);
    return e;
  }

  /** The exporter of datagram metadata at `meta[o...]` as the native receiver lays it out (see native-udp.ts). */
  fromMeta(meta: Uint32Array, o: number): KnownExporter {
    const port = meta[o + META_PORT];
    if (meta[o + META_FAMILY] === 4) {
      const a = meta[o + META_ADDRESS];
      const key = a * 65536 + port;
      let e = this.#byV4.get(key);
      if (e) return e;
      e = this.#make(ipv4ToString(a), port);
      if (this.#byV4.size >= this.#max) this.#byV4.clear();
      this.#byV4.set(key, e);
      return e;
    }
    const w0 = meta[o + META_ADDRESS],
      w1 = meta[o + META_ADDRESS + 1],
      w2 = meta[o + META_ADDRESS + 2],
      w3 = meta[o + META_ADDRESS + 3];
    const h =
      (Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w2, 0x85ebca6b) ^ Math.imul(w3, 0xc2b2ae35), 0x27d4eb2f) >>> 0) * 65536 + port;
    const hit = this.#byV6.get(h);
    if (hit && hit.w0 === w0 && hit.w1 === w1 && hit.w2 === w2 && hit.w3 === w3 && hit.port === port) return hit.exporter;
    const bytes = new Uint8Array(meta.buffer, meta.byteOffset + (o + META_ADDRESS) * 4, 16);
    const exporter = this.#make(ipv6ToString(bytes), port);
    if (this.#byV6.size >= this.#max) this.#byV6.clear();
    this.#byV6.set(h, { w0, w1, w2, w3, port, exporter });
    return exporter;
  }

  #make(address: string, port: number): KnownExporter {
    let allowed = true;
    if (this.#allow) {
      const bytes = addressBytes(address);
      allowed = bytes !== undefined && this.#allow.some((c) => cidrContains(c, bytes));
    }
    return Object.seal({ address, port, key: `${address}|${port}`, allowed, heardInRound: 0 });
  }
}

interface V6Entry {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly port: number;
  readonly exporter: KnownExporter;
}
