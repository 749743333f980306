/**
 * The dnstap receiver: DNS servers connect over TCP or a unix socket and stream Frame Streams;
 * each response teaches (address → name, client, time, TTL) answers, handed on in one batch per
 * chunk read. Any number of servers may be connected. A server that sends garbage, an oversized
 * frame, or never starts its stream is dropped, counted and logged; the others and the collector
 * go on. Runs on the main thread: decoding DNS stays off the threads that receive NetFlow.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import {
  CONTROL_ACCEPT,
  CONTROL_FINISH,
  DNSTAP_CONTENT_TYPE,
  FrameStreamError,
  FrameStreamReader,
  controlFrame,
  type FrameStreamErrorReason,
} from './frame-streams.ts';
import { CLIENT_RESPONSE, FORWARDER_RESPONSE, MESSAGE_TYPES, RESOLVER_RESPONSE, decodeDnstap } from './dnstap-decode.ts';
import { DnsMessageError, parseDnsResponse } from './dns-message.ts';
import { NO_CLIENT, clientKey4, clientKey6, type LearnOp } from './dns-names.ts';
import type { DnsSuffixes } from './dns-suffixes.ts';

export type DropReason = FrameStreamErrorReason | 'handshake-timeout' | 'socket-error' | 'too-many';

export interface DnstapStats {
  /** Connections open now. */
  open: number;
  accepted: number;
  dropped: Record<DropReason, number>;
  frames: number;
  bytes: number;
  /** By dnstap Message.Type number (index 0: payloads without a message). */
  messages: number[];
  /** Answers (address, name) learnt. */
  answers: number;
  decodeErrors: { protobuf: number; dns: number };
}

export interface DnstapLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(key: string, fields: Record<string, unknown>, msg: string): void;
}

export interface DnstapReceiverOptions {
  suffixes: DnsSuffixes;
  /** Answers learnt from one read of one connection. */
  onLearn: (ops: LearnOp[]) => void;
  log?: DnstapLog;
  /** Largest data frame accepted (bytes). Default 131,072: a DNS message is at most 65,535. */
  maxFrame?: number;
  /** A connection must START within this long. Default 10,000 ms. */
  handshakeMs?: number;
  /** Connections at once; more are refused. Default 1024. */
  maxConnections?: number;
  /** For messages without a time. Default Date.now. */
  now?: () => number;
}

/** What one connection has taught us about its server. */
export interface ConnectionState {
  /** The server logs client responses: its resolver-side messages add nothing then. */
  sawClient: boolean;
}

const NOOP_LOG: DnstapLog = { info() {}, warn() {} };
const MAX_CLOCK_OFFSET_MS = 600_000;

export class DnstapReceiver {
  readonly stats: DnstapStats = {
    open: 0,
    accepted: 0,
    frames: 0,
    bytes: 0,
    answers: 0,
    dropped: {
      oversized: 0,
      'bad-control': 0,
      'unexpected-control': 0,
      'content-type': 0,
      'data-before-start': 0,
      'handshake-timeout': 0,
      'socket-error': 0,
      'too-many': 0,
    },
    messages: new Array<number>(MESSAGE_TYPES.length).fill(0),
    decodeErrors: { protobuf: 0, dns: 0 },
  };
  readonly #o: Required<Omit<DnstapReceiverOptions, 'log'>> & { log: DnstapLog };
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();

  constructor(opts: DnstapReceiverOptions) {
    this.#o = { maxFrame: 131_072, handshakeMs: 10_000, maxConnections: 1024, now: Date.now, log: NOOP_LOG, ...opts };
  }

  /** Listens on TCP; resolves with the bound port. */
  listenTcp(host: string, port: number): Promise<{ address: string; port: number }> {
    const server = this.#server();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? { address: a.address, port: a.port } : { address: host, port });
      });
    });
  }

  /** Listens on a unix socket, replacing a stale socket file left by an earlier run. */
  listenUnix(path: string): Promise<void> {
    if (existsSync(path) && lstatSync(path).isSocket()) unlinkSync(path);
    const server = this.#server();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  #server(): Server {
    const server = createServer((socket) => this.#accept(socket));
    server.on('error', (err) => this.#o.log.warn('dnstap:server', { err: String(err) }, 'dnstap listener error'));
    this.#servers.push(server);
    return server;
  }

  #accept(socket: Socket): void {
    const st = this.stats;
    const peer = socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    if (this.#sockets.size >= this.#o.maxConnections) {
      st.dropped['too-many']++;
      this.#o.log.warn('dnstap:too-many', { peer, max: this.#o.maxConnections }, 'dnstap connection refused: too many at once');
      socket.destroy();
      return;
    }
    st.accepted++;
    st.open++;
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    const conn: ConnectionState = { sawClient: false };
    let dropped = false;
    const drop = (reason: DropReason, detail: string) => {
      if (dropped) return;
      dropped = true;
      st.dropped[reason]++;
      this.#o.log.warn(`dnstap:${reason}`, { peer, reason, detail }, 'dnstap connection dropped');
      socket.destroy();
    };
    const timer = setTimeout(() => drop('handshake-timeout', `no START within ${this.#o.handshakeMs} ms`), this.#o.handshakeMs);
    timer.unref();
    let ops: LearnOp[] = [];
    const reader = new FrameStreamReader(
      {
        ready: () => socket.write(controlFrame(CONTROL_ACCEPT, [DNSTAP_CONTENT_TYPE])),
        start: () => {
          clearTimeout(timer);
          this.#o.log.info({ peer, bidirectional: reader.bidirectional }, 'dnstap stream started');
        },
        data: (frame) => {
          st.frames++;
          this.ingest(frame, conn, ops);
        },
        stop: () => {
          if (reader.bidirectional) socket.write(controlFrame(CONTROL_FINISH));
          socket.end();
        },
      },
      { maxFrame: this.#o.maxFrame },
    );
    socket.on('data', (chunk: Buffer) => {
      if (dropped) return;
      st.bytes += chunk.length;
      try {
        reader.push(chunk);
      } catch (err) {
        if (!(err instanceof FrameStreamError)) throw err;
        drop(err.reason, err.message);
      }
      if (ops.length > 0) {
        const batch = ops;
        ops = [];
        this.#o.onLearn(batch);
      }
    });
    socket.on('error', (err) => drop('socket-error', String(err)));
    socket.on('close', () => {
      clearTimeout(timer);
      st.open--;
      this.#sockets.delete(socket);
    });
  }

  /** One data frame: decode it and add what it teaches to `ops`. Public for the bench and fuzz tests. */
  ingest(frame: Uint8Array, conn: ConnectionState, ops: LearnOp[]): void {
    const st = this.stats;
    let m: ReturnType<typeof decodeDnstap>;
    try {
      m = decodeDnstap(frame);
    } catch {
      st.decodeErrors.protobuf++;
      return;
    }
    const type = m.type;
    st.messages[type < st.messages.length ? type : 0]++;
    let client = NO_CLIENT;
    if (type === CLIENT_RESPONSE) {
      conn.sawClient = true;
      const qa = m.queryAddress;
      if (qa !== null) client = qa.length === 4 ? clientKey4(((qa[0] << 24) | (qa[1] << 16) | (qa[2] << 8) | qa[3]) >>> 0) : clientKey6(qa);
    } else if ((type !== RESOLVER_RESPONSE && type !== FORWARDER_RESPONSE) || conn.sawClient) {
      return;
    }
    if (m.responseMessage === null) return;
    let answer: ReturnType<typeof parseDnsResponse>;
    try {
      answer = parseDnsResponse(m.responseMessage);
    } catch (err) {
      if (!(err instanceof DnsMessageError)) throw err;
      st.decodeErrors.dns++;
      return;
    }
    if (answer === null || answer.addresses.length === 0 || answer.qname === '') return;
    const name = this.#o.suffixes.group(answer.qname);
    // The server's own time says when the pod got its answer; a clock far off ours (or none) is
    // not believed, and the answer counts from when it reached us.
    const now = this.#o.now();
    const at = m.timeMs > 0 && Math.abs(m.timeMs - now) <= MAX_CLOCK_OFFSET_MS ? m.timeMs : now;
    for (const a of answer.addresses) {
      ops.push([a.family, a.v4, a.v6, client, name, at, a.ttl]);
      st.answers++;
    }
  }
}
