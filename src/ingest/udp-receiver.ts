/**
 * The receive loop of one socket: each datagram gets its cached Exporter, is counted per exporter
 * (or dropped when the allowlist refuses it), and goes to the decoder. Per-exporter counters are
 * cumulative and bounded: past `maxExporters` distinct exporters the rest count under "other".
 */
import type { Socket, RemoteInfo } from 'node:dgram';
import type { Exporter } from '../decode/record.ts';
import { ExporterCache } from './udp-socket.ts';
import type { Cidr } from '../config/run-options.ts';

export interface DatagramDecoder {
  decode(datagram: Uint8Array, exporter: Exporter, nowMs: number): void;
}

export interface ExporterCounts {
  datagrams: number;
  bytes: number;
  /** Refused by the allowlist. */
  denied: number;
}

export const OTHER_EXPORTER = 'other';

export class UdpReceiver {
  readonly exporters: ExporterCache;
  /** Keyed by exporter address (ports change when an exporter restarts; the address is the exporter). */
  readonly perExporter = new Map<string, ExporterCounts>();
  datagrams = 0;
  bytes = 0;
  denied = 0;
  readonly #decoder: DatagramDecoder;
  readonly #beforeDecode: (nowMs: number) => void;
  readonly #maxExporters: number;

  constructor(decoder: DatagramDecoder, allow: readonly Cidr[] | undefined, beforeDecode: (nowMs: number) => void = () => {}, maxExporters = 1000) {
    this.exporters = new ExporterCache(allow);
    this.#decoder = decoder;
    this.#beforeDecode = beforeDecode;
    this.#maxExporters = maxExporters;
  }

  attach(socket: Socket): void {
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
  }

  receive(msg: Buffer, rinfo: RemoteInfo): void {
    const exp = this.exporters.get(rinfo);
    const c = this.#counts(exp.address);
    if (!exp.allowed) {
      c.denied++;
      this.denied++;
      return;
    }
    c.datagrams++;
    c.bytes += msg.length;
    this.datagrams++;
    this.bytes += msg.length;
    const now = Date.now();
    this.#beforeDecode(now);
    this.#decoder.decode(msg, exp, now);
  }

  #counts(address: string): ExporterCounts {
    let c = this.perExporter.get(address);
    if (c === undefined) {
      const key = this.perExporter.size >= this.#maxExporters ? OTHER_EXPORTER : address;
      c = this.perExporter.get(key);
      if (c === undefined) {
        c = { datagrams: 0, bytes: 0, denied: 0 };
        this.perExporter.set(key, c);
      }
    }
    return c;
  }
}
