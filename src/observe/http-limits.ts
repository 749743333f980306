/**
 * Limits on the HTTP server, applied to the server object as it is (plain or TLS): how long a
 * client may take to send its headers and its request, how long an idle keep-alive connection
 * stays, how many connections are open at once, and how many responses may queue on one socket
 * whose client does not read them. Without them 3,000 slowloris sockets stayed open for minutes,
 * and one client pipelining 2,000 scrapes it never read pushed the process to 318 MiB.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface HttpLimits {
  /** Time to receive a request's headers. */
  headersTimeoutMs: number;
  /** Time to receive a whole request. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection closes after this. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; more are closed as they arrive. */
  maxConnections: number;
  /** Responses not yet sent on one socket (pipelined requests); past it the socket is closed. */
  maxPipelined: number;
  /** Bytes of responses waiting on one socket for its client to read them; past it the socket is closed. */
  maxQueuedBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5000,
  maxConnections: 256,
  maxPipelined: 16,
  maxQueuedBytes: 16 * 1024 * 1024,
};

/** Connections the limits closed, by reason. */
export interface HttpRefusals {
  maxConnections: number;
  pipelined: number;
}

/** Apply before listen(): Node reads the timeout checker's interval when it starts listening. */
export function applyHttpLimits(server: Server, limits: HttpLimits): HttpRefusals {
  const refused: HttpRefusals = { maxConnections: 0, pipelined: 0 };
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  // An idle connection must not outlive the time a slow one is given for its headers.
  server.keepAliveTimeout = Math.min(limits.keepAliveTimeoutMs, limits.headersTimeoutMs);
  // The timeouts above are enforced by a checker that runs every 30 s by default: a quarter of the
  // headers timeout keeps the enforcement within 25 % of what is configured.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    100,
    Math.min(5000, Math.floor(limits.headersTimeoutMs / 4)),
  );
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => refused.maxConnections++);
  const inFlight = new WeakMap<Socket, number>();
  // Before the route handlers: a socket over its limit is closed before any work is done for it
  // (HttpServer skips requests whose socket is gone).
  server.prependListener('request', (req, res) => {
    const socket = req.socket;
    const n = (inFlight.get(socket) ?? 0) + 1;
    inFlight.set(socket, n);
    res.once('close', () => inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1));
    if (n > limits.maxPipelined || socket.writableLength > limits.maxQueuedBytes) {
      if (!socket.destroyed) refused.pipelined++;
      socket.destroy();
    }
  });
  return refused;
}
