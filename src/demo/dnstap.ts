/**
 * The demo's own dnstap stream: what the sample cluster's CoreDNS would send. Each pod that calls
 * out resolves its external service's name now and then; the answers go to the collector over
 * Frame Streams with the bidirectional handshake, like CoreDNS's `dnstap tcp://… full`, so the
 * map shows `api.stripe.com` rather than a CIDR's name.
 */
import { connect, type Socket } from 'node:net';
import { parseIPv4 } from '../identify/ip.ts';
import { CONTROL_ACCEPT, CONTROL_READY, CONTROL_START, DNSTAP_CONTENT_TYPE, controlFrame, dataFrame } from '../dns/frame-streams.ts';
import { CLIENT_RESPONSE, encodeDnstap } from '../dns/dnstap-decode.ts';
import { buildDnsResponse } from '../dns/dns-message.ts';
import { DEMO_DNS_ANSWERS, demoPods } from './cluster.ts';

export class DemoDnstap {
  #socket: Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  answers = 0;

  /** Connects, completes the handshake and sends the first round of answers. */
  async start(host: string, port: number, everyMs = 20_000): Promise<void> {
    const socket = connect({ host, port });
    this.#socket = socket;
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => resolve());
    });
    socket.write(controlFrame(CONTROL_READY, [DNSTAP_CONTENT_TYPE]));
    const accept = controlFrame(CONTROL_ACCEPT, [DNSTAP_CONTENT_TYPE]);
    await new Promise<void>((resolve, reject) => {
      let got = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length < accept.length) return;
        socket.off('data', onData);
        if (got.subarray(0, accept.length).equals(accept)) resolve();
        else reject(new Error('the collector did not ACCEPT the dnstap stream'));
      };
      socket.on('data', onData);
    });
    socket.write(controlFrame(CONTROL_START, [DNSTAP_CONTENT_TYPE]));
    this.#round();
    this.#timer = setInterval(() => this.#round(), everyMs);
    this.#timer.unref();
  }

  /** Every calling pod asks again: TTLs are short, and a restarted collector learns at once. */
  #round(): void {
    const frames: Uint8Array[] = [];
    // Answered a moment before the traffic that uses them: NetFlow v9 times are whole seconds,
    // so a flow sent right after could otherwise read as ending before its answer.
    const now = Date.now() - 2000;
    for (const pod of demoPods()) {
      for (const a of DEMO_DNS_ANSWERS) {
        if (`${pod.namespace}/${pod.app.app}` !== a.client) continue;
        const ip = parseIPv4(pod.ip);
        const response = buildDnsResponse(
          a.qname,
          a.cname === undefined
            ? [{ name: a.qname, type: 'A', ttl: a.ttl, data: a.ip }]
            : [
                { name: a.qname, type: 'CNAME', ttl: a.ttl, data: a.cname },
                { name: a.cname, type: 'A', ttl: a.ttl, data: a.ip },
              ],
        );
        frames.push(
          dataFrame(
            encodeDnstap({
              type: CLIENT_RESPONSE,
              queryAddress: Uint8Array.of(ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255),
              timeMs: now,
              responseMessage: response,
              identity: 'coredns-demo',
            }),
          ),
        );
        this.answers++;
      }
    }
    this.#socket?.write(Buffer.concat(frames));
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    const s = this.#socket;
    this.#socket = undefined;
    if (s !== undefined)
      await new Promise<void>((r) =>
        s.end(() => {
          s.destroy();
          r();
        }),
      );
  }
}
