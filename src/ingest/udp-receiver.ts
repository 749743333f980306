/**
 * The receive loop of one socket: each datagram gets its cached Exporter, is counted per exporter
 * (or dropped when the allowlist refuses it), and goes to the decoder. Per-exporter counters are
 * cumulative and bounded: past `maxExporters` distinct exporters the rest count under "other".
 * Both receive paths (dgram's one event per datagram, the native one call per batch) end in the
 * same #deliver, so they count alike.
 */
import type { Socket, RemoteInfo } from 'node:dgram';
import type { Exporter } from '../decode/record.ts';
import { ExporterCache, type KnownExporter } from './udp-socket.ts';
import { META_LENGTH, META_TRUNCATED, META_WORDS, type DatagramBatch } from './native-udp.ts';
import type { Cidr } from '../config/cidr.ts';
import { DOUBLE_ZERO } from '../observe/double-zero.ts';

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

/** One more than the most receiving threads (--workers is at most 64): enough to tell the sources outnumber them. */
export const SOURCES_KEPT = 65;

export class UdpReceiver {
  readonly exporters: ExporterCache;
  /** Keyed by exporter address (ports change when an exporter restarts; the address is the exporter). */
  readonly perExporter = new Map<string, ExporterCounts>();
  // Doubles from the start: `bytes` passes 2^31 within a minute at full rate (see DOUBLE_ZERO).
  datagrams = DOUBLE_ZERO;
  bytes = DOUBLE_ZERO;
  denied = DOUBLE_ZERO;
  /** Longer than the native path's slot: counted and dropped, never decoded in part. */
  truncated = DOUBLE_ZERO;
  readonly #decoder: DatagramDecoder;
  readonly #beforeDecode: (nowMs: number) => void;
  readonly #maxExporters: number;
  /** Sources (address|port) heard since takeHeard() last ran, the first SOURCES_KEPT of them. */
  #heard: string[] = [];
  #round = 1;

  constructor(
    decoder: DatagramDecoder,
    allow: readonly Cidr[] | undefined,
    beforeDecode: (nowMs: number) => void = () => {},
    maxExporters = 1000,
  ) {
    this.exporters = new ExporterCache(allow);
    this.#decoder = decoder;
    this.#beforeDecode = beforeDecode;
    this.#maxExporters = maxExporters;
  }

  /**
   * `stop`: a flag shared with the main thread (word 0). Once it is set, datagrams still queued are
   * left unread: a stop request must not wait behind them.
   */
  attach(socket: Socket, stop?: Int32Array): void {
    if (stop === undefined) socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    else
      socket.on('message', (msg, rinfo) => {
        if (Atomics.load(stop, 0) === 0) this.receive(msg, rinfo);
      });
  }

  receive(msg: Buffer, rinfo: RemoteInfo): void {
    this.#deliver(msg, this.exporters.get(rinfo), false);
  }

  /** Datagrams 0..count-1 of a native batch; each is decoded from a view into the shared buffer. */
  receiveBatch(batch: DatagramBatch, count: number): void {
    const { bytes, meta, slotSize } = batch;
    for (let i = 0, o = 0, at = 0; i < count; i++, o += META_WORDS, at += slotSize) {
      this.#deliver(
        bytes.subarray(at, at + Math.min(meta[o + META_LENGTH], slotSize)),
        this.exporters.fromMeta(meta, o),
        meta[o + META_TRUNCATED] !== 0,
      );
    }
  }

  #deliver(datagram: Uint8Array, exp: KnownExporter, truncated: boolean): void {
    const c = this.#counts(exp.address);
    if (!exp.allowed) {
      c.denied++;
      this.denied++;
      return;
    }
    if (truncated) {
      this.truncated++;
      return;
    }
    if (exp.heardInRound !== this.#round) {
      exp.heardInRound = this.#round;
      if (this.#heard.length < SOURCES_KEPT) this.#heard.push(exp.key);
    }
    c.datagrams++;
    c.bytes += datagram.length;
    this.datagrams++;
    this.bytes += datagram.length;
    const now = Date.now();
    this.#beforeDecode(now);
    this.#decoder.decode(datagram, exp, now);
  }

  /**
   * The allowed sources heard since the last call (at most SOURCES_KEPT), and a new round.
   * SO_REUSEPORT hashes a source's address and port to one socket of the group, so the receiving
   * threads worth running are at most the sources sending at once (see WorkerPool).
   */
  takeHeard(): string[] {
    const heard = this.#heard;
    this.#heard = [];
    this.#round++;
    return heard;
  }

  #counts(address: string): ExporterCounts {
    let c = this.perExporter.get(address);
    if (c === undefined) {
      const key = this.perExporter.size >= this.#maxExporters ? OTHER_EXPORTER : address;
      c = this.perExporter.get(key);
      if (c === undefined) {
        c = { datagrams: DOUBLE_ZERO, bytes: DOUBLE_ZERO, denied: DOUBLE_ZERO };
        this.perExporter.set(key, c);
      }
    }
    return c;
  }
}
