/**
 * An endless (or `count`-long) stream of ipt-netflow datagrams from several nodes, round robin,
 * with the ground truth of each: synthetic pod-to-pod traffic for tests, benches and the warm-up.
 *
 *   for (const d of iptNetflowStream({ exporters: 4, recordsPerDatagram: 27, addresses: 4000, count: 1000 })) {
 *     socket.send(d.payload, port, host);  // d.exporter, d.records, d.bytes, d.packets: ground truth
 *   }
 */
import { type IptExporterOptions, IptNetflowExporter } from './ipt-netflow.ts';
import type { IptFlow } from './ipt-netflow-templates.ts';

export interface IptStreamOptions extends IptExporterOptions {
  /** How many nodes (addresses 10.1.0.1, 10.1.0.2, ...), or their addresses. Default 1. */
  exporters?: number | readonly string[];
  /** Flow records per datagram (fewer when templates share the packet). Default 27. */
  recordsPerDatagram?: number;
  /** Distinct pod addresses the flows use, from 10.244.0.1 up. Default 4000. */
  addresses?: number;
  /** The k-th of those addresses (uint32), for streams that need others than podAddress(k). */
  addressOf?: (k: number) => number;
  /** Fraction of flows that are ICMP echo (protocol 1, no ports). Default 0: TCP and UDP only. */
  icmpShare?: number;
  /** Datagrams to yield; default endless. */
  count?: number;
  /** Wall clock of the first datagram (default: now), advanced by `datagramIntervalMs` (default 1) per datagram. */
  startMs?: number;
  datagramIntervalMs?: number;
  /** PRNG seed, for reproducible streams. Default 1. */
  seed?: number;
}

export interface IptDatagram {
  /** Index and address of the node that sent it. */
  exporterIndex: number;
  exporter: string;
  payload: Uint8Array;
  /** Ground truth: flow records in the datagram (not counting options records), and their sums. */
  records: number;
  bytes: number;
  packets: number;
  /** The clock the datagram was built at. */
  nowMs: number;
}

const SERVER_PORTS_TCP = [80, 443, 8080, 5432, 6379, 9090, 3306, 8443];
const SERVER_PORTS_UDP = [53, 123, 8125, 4789];

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pod address number k (0-based): 10.244.0.1 upward. */
export function podAddress(k: number): number {
  return (0x0af40000 + 1 + k) >>> 0;
}

export function* iptNetflowStream(options: IptStreamOptions = {}): Generator<IptDatagram, void, undefined> {
  const names =
    typeof options.exporters === 'object'
      ? [...options.exporters]
      : Array.from({ length: options.exporters ?? 1 }, (_, i) => `10.1.${(i + 1) >> 8}.${(i + 1) & 255}`);
  const perDatagram = options.recordsPerDatagram ?? 27;
  const nAddr = Math.max(2, options.addresses ?? 4000);
  const count = options.count ?? Infinity;
  const step = options.datagramIntervalMs ?? 1;
  const rand = prng(options.seed ?? 1);
  const addressOf = options.addressOf ?? podAddress;
  const icmp = options.icmpShare ?? 0;
  let now = options.startMs ?? Date.now();
  const nodes = names.map(() => new IptNetflowExporter({ ...options, bootMs: options.bootMs ?? now - 3_600_000 }));
  const flows: IptFlow[] = Array.from({ length: perDatagram }, () => ({
    src4: 0,
    dst4: 0,
    srcPort: 0,
    dstPort: 0,
    proto: 6,
    tcpFlags: 0,
    packets: 0,
    bytes: 0,
    startMs: 0,
    endMs: 0,
    inputIf: 0,
    outputIf: 0,
    direction: 0,
  }));
  for (let n = 0; n < count; n++) {
    const idx = n % nodes.length;
    for (const f of flows) {
      fillFlow(f, rand, nAddr, now, addressOf);
      // Drawn only when asked for, so streams without ICMP stay what they were for a seed.
      if (icmp > 0 && rand() < icmp) toIcmp(f);
    }
    const { payload, taken } = nodes[idx].pack(flows, 0, now, perDatagram);
    let bytes = 0;
    let packets = 0;
    for (let i = 0; i < taken; i++) {
      bytes += flows[i].bytes;
      packets += flows[i].packets;
    }
    yield { exporterIndex: idx, exporter: names[idx], payload, records: taken, bytes, packets, nowMs: now };
    now += step;
  }
}

function fillFlow(f: IptFlow, rand: () => number, nAddr: number, now: number, addressOf: (k: number) => number): void {
  const client = Math.floor(rand() * nAddr);
  let server = Math.floor(rand() * nAddr);
  if (server === client) server = (server + 1) % nAddr;
  const udp = rand() < 0.2;
  const sport = (udp ? SERVER_PORTS_UDP : SERVER_PORTS_TCP)[Math.floor(rand() * (udp ? SERVER_PORTS_UDP.length : SERVER_PORTS_TCP.length))];
  const eport = 32768 + Math.floor(rand() * 28232);
  // FORWARD-chain flows come in both halves; half the records are the server's replies.
  const reply = rand() < 0.5;
  f.src4 = addressOf(reply ? server : client);
  f.dst4 = addressOf(reply ? client : server);
  f.srcPort = reply ? sport : eport;
  f.dstPort = reply ? eport : sport;
  f.proto = udp ? 17 : 6;
  f.tcpFlags = udp ? 0 : 0x1b;
  f.packets = 1 + Math.floor(rand() * 200);
  f.bytes = f.packets * (40 + Math.floor(rand() * 1460));
  f.endMs = now - Math.floor(rand() * 1000);
  f.startMs = f.endMs - Math.floor(rand() * 60_000);
  f.inputIf = 1 + Math.floor(rand() * 2);
  f.outputIf = 1 + Math.floor(rand() * 2);
  f.direction = reply ? 1 : 0;
}

/** An ICMP echo request: ipt-netflow reports type and code in the destination port. */
function toIcmp(f: IptFlow): void {
  f.proto = 1;
  f.srcPort = 0;
  f.dstPort = 8 << 8;
  f.tcpFlags = 0;
}
