/**
 * The demo's traffic: the sample cluster's conversations (DNS, HTTP between services, Redis and
 * PostgreSQL, visitors from the internet, one external API) as both halves of each connection,
 * packed by one ipt-netflow-shaped NetFlow v9 exporter per node and sent over loopback UDP. Each
 * node's exporter sends from its own loopback address (127.0.1.N) where the system allows it,
 * so templates are keyed per exporter as they are in a cluster.
 */
import { createSocket, type Socket } from 'node:dgram';
import { IptNetflowExporter, type IptFlow } from '../generate/ipt-netflow.ts';
import { prng } from '../generate/ipt-netflow-stream.ts';
import { parseIPv4 } from '../identify/ip.ts';
import { DEMO_BUCKET, DEMO_DR, DEMO_EXTERNAL, DEMO_NODES, DEMO_VISITORS_NET, demoPods, type DemoNode, type DemoPod } from './cluster.ts';

export interface Conversation {
  /** `namespace/app`, or `visitors` for the internet. */
  readonly client: string;
  /** `namespace/app`, or `external` for the payment gateway. */
  readonly server: string;
  /** Connections per second (at speed 1). */
  readonly perSecond: number;
  /** Bytes per connection, client → server and back. */
  readonly requestBytes: number;
  readonly responseBytes: number;
}

export const DEMO_CONVERSATIONS: readonly Conversation[] = [
  { client: 'visitors', server: 'ingress/ingress-nginx', perSecond: 8, requestBytes: 900, responseBytes: 14_000 },
  { client: 'ingress/ingress-nginx', server: 'shop/frontend', perSecond: 8, requestBytes: 1_100, responseBytes: 15_000 },
  { client: 'shop/frontend', server: 'shop/catalog', perSecond: 12, requestBytes: 600, responseBytes: 8_000 },
  { client: 'shop/frontend', server: 'shop/cart', perSecond: 6, requestBytes: 500, responseBytes: 2_000 },
  { client: 'shop/frontend', server: 'shop/recommendations', perSecond: 4, requestBytes: 400, responseBytes: 3_000 },
  { client: 'shop/frontend', server: 'shop/checkout', perSecond: 1, requestBytes: 2_000, responseBytes: 1_500 },
  { client: 'shop/recommendations', server: 'shop/catalog', perSecond: 4, requestBytes: 300, responseBytes: 6_000 },
  { client: 'shop/cart', server: 'shop/redis', perSecond: 10, requestBytes: 200, responseBytes: 400 },
  { client: 'shop/catalog', server: 'shop/redis', perSecond: 6, requestBytes: 150, responseBytes: 5_000 },
  { client: 'shop/checkout', server: 'payments/payments-api', perSecond: 1, requestBytes: 1_500, responseBytes: 800 },
  { client: 'payments/payments-api', server: 'payments/postgres', perSecond: 3, requestBytes: 900, responseBytes: 2_500 },
  { client: 'payments/payments-api', server: 'payments/redis', perSecond: 2, requestBytes: 150, responseBytes: 100 },
  { client: 'payments/payments-api', server: 'external', perSecond: 1, requestBytes: 2_200, responseBytes: 1_800 },
  // WAL streamed to a replica in another region: the one cross-region edge.
  { client: 'payments/postgres', server: 'dr', perSecond: 0.5, requestBytes: 120_000, responseBytes: 400 },
  { client: 'shop/catalog', server: 'bucket', perSecond: 2, requestBytes: 700, responseBytes: 60_000 },
  { client: 'monitoring/prometheus', server: 'monitoring/node-exporter', perSecond: 0.6, requestBytes: 300, responseBytes: 40_000 },
  { client: 'monitoring/prometheus', server: 'shop/frontend', perSecond: 0.2, requestBytes: 300, responseBytes: 12_000 },
  { client: 'monitoring/prometheus', server: 'payments/payments-api', perSecond: 0.2, requestBytes: 300, responseBytes: 9_000 },
  // Every app that calls out resolves names first.
  ...[
    'ingress/ingress-nginx',
    'shop/frontend',
    'shop/catalog',
    'shop/cart',
    'shop/recommendations',
    'shop/checkout',
    'payments/payments-api',
    'monitoring/prometheus',
  ].map((client): Conversation => ({ client, server: 'kube-system/coredns', perSecond: 1.5, requestBytes: 80, responseBytes: 160 })),
];

export interface TrafficOptions {
  /** Where the collector listens. */
  host: string;
  port: number;
  /** Multiplies every conversation's rate (default 1). */
  speed?: number;
  /** How often a batch goes out (default 1000 ms). */
  intervalMs?: number;
  seed?: number;
}

export interface TrafficStats {
  datagrams: number;
  flows: number;
  bytes: number;
  packets: number;
  errors: number;
}

interface Endpoint {
  ip: number;
  node: DemoNode;
  port: number;
  udp: boolean;
}

/** Sends the sample cluster's traffic until stop(). */
export class DemoTraffic {
  readonly stats: TrafficStats = { datagrams: 0, flows: 0, bytes: 0, packets: 0, errors: 0 };
  readonly #opts: Required<TrafficOptions>;
  readonly #rand: () => number;
  readonly #pods = new Map<string, DemoPod[]>();
  readonly #exporters = new Map<string, { exporter: IptNetflowExporter; socket: Socket; flows: IptFlow[] }>();
  #timer: NodeJS.Timeout | undefined;
  #last = 0;
  #carry = new Map<Conversation, number>();

  constructor(opts: TrafficOptions) {
    this.#opts = { speed: 1, intervalMs: 1000, seed: 42, ...opts };
    this.#rand = prng(this.#opts.seed);
    for (const p of demoPods()) {
      const k = `${p.namespace}/${p.app.app}`;
      const list = this.#pods.get(k) ?? [];
      list.push(p);
      this.#pods.set(k, list);
    }
  }

  /** Binds one socket per node (127.0.1.N, or any loopback address where that fails) and starts sending. */
  async start(): Promise<void> {
    for (let i = 0; i < DEMO_NODES.length; i++) {
      const node = DEMO_NODES[i];
      const socket = await bindLoopback(`127.0.1.${i + 1}`);
      socket.on('error', () => this.stats.errors++);
      this.#exporters.set(node.name, { exporter: new IptNetflowExporter({ protocol: 9 }), socket, flows: [] });
    }
    this.#last = Date.now();
    this.#timer = setInterval(() => {
      const now = Date.now();
      this.sendBatch(now, (now - this.#last) / 1000);
      this.#last = now;
    }, this.#opts.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#exporters.values()].map((e) => new Promise<void>((r) => e.socket.close(() => r()))));
    this.#exporters.clear();
  }

  #pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.#rand() * list.length)];
  }

  #end(name: string, serving: boolean): Endpoint {
    if (name === 'visitors') {
      // Visitors reach the ingress through the node that hosts it; their addresses are public and unnamed.
      return {
        ip: parseIPv4(`${DEMO_VISITORS_NET}.${1 + Math.floor(this.#rand() * 200)}`),
        node: this.#pick(DEMO_NODES),
        port: 0,
        udp: false,
      };
    }
    if (name === 'external') return { ip: parseIPv4(DEMO_EXTERNAL.ip), node: DEMO_NODES[0], port: DEMO_EXTERNAL.port, udp: false };
    if (name === 'dr') return { ip: parseIPv4(DEMO_DR.ip), node: DEMO_NODES[0], port: DEMO_DR.port, udp: false };
    if (name === 'bucket') return { ip: parseIPv4(DEMO_BUCKET.ip), node: DEMO_NODES[0], port: DEMO_BUCKET.port, udp: false };
    const pod = this.#pick(this.#pods.get(name) ?? []);
    return { ip: parseIPv4(pod.ip), node: pod.node, port: serving ? (pod.app.port ?? 80) : 0, udp: pod.app.protocol === 'UDP' };
  }

  /** One batch: `seconds` worth of every conversation's connections, both halves of each. */
  sendBatch(nowMs: number, seconds: number): void {
    for (const c of DEMO_CONVERSATIONS) {
      // Fractional connections carry over, so slow conversations still show up at their rate.
      const due = c.perSecond * this.#opts.speed * seconds + (this.#carry.get(c) ?? 0);
      const n = Math.floor(due);
      this.#carry.set(c, due - n);
      for (let i = 0; i < n; i++) this.#connection(c, nowMs);
    }
    for (const e of this.#exporters.values()) {
      let from = 0;
      while (from < e.flows.length) {
        const { payload, taken } = e.exporter.pack(e.flows, from, nowMs);
        if (taken === 0) break;
        from += taken;
        e.socket.send(payload, this.#opts.port, this.#opts.host, (err) => {
          if (err) this.stats.errors++;
        });
        this.stats.datagrams++;
      }
      e.flows.length = 0;
    }
  }

  #connection(c: Conversation, nowMs: number): void {
    const client = this.#end(c.client, false);
    const server = this.#end(c.server, true);
    const udp = server.udp;
    const ephemeral = 32768 + Math.floor(this.#rand() * 28000);
    const jitter = () => 0.6 + this.#rand() * 0.8;
    const req = Math.max(40, Math.round(c.requestBytes * jitter()));
    const resp = Math.max(40, Math.round(c.responseBytes * jitter()));
    const started = nowMs - Math.floor(this.#rand() * 900) - 50;
    const half = (src: number, dst: number, sport: number, dport: number, bytes: number): IptFlow => ({
      src4: src,
      dst4: dst,
      srcPort: sport,
      dstPort: dport,
      proto: udp ? 17 : 6,
      tcpFlags: udp ? 0 : 0x1b,
      packets: Math.max(1, Math.ceil(bytes / 1400)) + (udp ? 0 : 2),
      bytes,
      startMs: started,
      endMs: nowMs,
      inputIf: 2,
      outputIf: 2,
      direction: 0,
    });
    // The client's node sees the connection (the server's too, when it is another node; the
    // collector's dedup keeps one report, so the demo sends the client side's only).
    const node = c.client === 'visitors' ? server.node : client.node;
    const e = this.#exporters.get(node.name);
    if (!e) return;
    const a = half(client.ip, server.ip, ephemeral, server.port, req);
    const b = half(server.ip, client.ip, server.port, ephemeral, resp);
    e.flows.push(a, b);
    this.stats.flows += 2;
    this.stats.bytes += req + resp;
    this.stats.packets += a.packets + b.packets;
  }
}

async function bindLoopback(address: string): Promise<Socket> {
  const tryBind = (addr: string) =>
    new Promise<Socket>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', (err) => {
        s.close();
        reject(err);
      });
      s.bind(0, addr, () => {
        s.removeAllListeners('error');
        resolve(s);
      });
    });
  try {
    return await tryBind(address);
  } catch {
    return tryBind('127.0.0.1');
  }
}
