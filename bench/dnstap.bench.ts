/**
 * dnstap: (1) messages per second through the receiver on one core: Frame Streams reading,
 * dnstap protobuf decode, DNS response parse, suffix grouping and the name table, over a
 * pre-built stream of CLIENT_RESPONSE frames fed in 64 KiB chunks (what a socket hands us);
 * (2) the cost per record of DNS naming on a receiving thread: the thread bench's stream
 * (decode → identify → count) where a quarter of the addresses are outside the cluster, without
 * names and with 100,000 addresses named (those among them). Runs alternate; best of each.
 *
 *   node bench/dnstap.bench.ts
 */
import { defaultRunConfig } from '../src/config/run-options.ts';
import { buildWorkerParts } from '../src/pipeline/build-parts.ts';
import { UdpReceiver } from '../src/ingest/udp-receiver.ts';
import { iptNetflowStream, podAddress } from '../src/generate/ipt-netflow-stream.ts';
import { ipv4ToString } from '../src/decode/record.ts';
import { DnstapReceiver, type ConnectionState } from '../src/dns/dnstap-receiver.ts';
import { DnsNames, clientKey4, type LearnOp } from '../src/dns/dns-names.ts';
import { dnsSuffixesFromOption } from '../src/dns/dns-suffixes.ts';
import { CONTROL_START, FrameStreamReader, controlFrame, dataFrame } from '../src/dns/frame-streams.ts';
import { encodeDnstap } from '../src/dns/dnstap-decode.ts';
import { buildDnsResponse, type BuildRecord } from '../src/dns/dns-message.ts';
import { DnsFlowCount } from '../src/dns/dns-flow-count.ts';
import { pod } from './thread.bench.ts';

const MESSAGES = 50_000;
const ADDRESSES = 4000;
const PODS = 3000;
const NAMES = 100_000;

function receiverBench(): void {
  const frames: Uint8Array[] = [controlFrame(CONTROL_START)];
  for (let n = 0; n < MESSAGES; n++) {
    const q = n % 3 === 0 ? `bucket-${n}.s3.eu-west-1.amazonaws.com` : `api-${n % 5000}.example.com`;
    const addr = `100.${(n >>> 16) & 63}.${(n >>> 8) & 255}.${n & 255}`;
    // A quarter come through a CNAME, as CDN-fronted names do.
    const edge = `edge-${n % 97}.cdn.example.net`;
    const answers: BuildRecord[] =
      n % 4 === 0
        ? [
            { name: q, type: 'CNAME', ttl: 600, data: edge },
            { name: edge, type: 'A', ttl: 300, data: addr },
          ]
        : [{ name: q, type: 'A', ttl: 300, data: addr }];
    frames.push(
      dataFrame(
        encodeDnstap({
          type: 6,
          queryAddress: Uint8Array.of(10, 244, (n >>> 8) & 15, n & 255),
          timeMs: Date.now(),
          responseMessage: buildDnsResponse(q, answers),
        }),
      ),
    );
  }
  const stream = Buffer.concat(frames);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += 65_536) chunks.push(stream.subarray(at, at + 65_536));
  const names = new DnsNames({ maxAddresses: NAMES });
  const r = new DnstapReceiver({ suffixes: dnsSuffixesFromOption(['default']), onLearn: () => {} });
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const once = (): number => {
    const conn: ConnectionState = { sawClient: false };
    let ops: LearnOp[] = [];
    const reader = new FrameStreamReader({ ready() {}, start() {}, stop() {}, data: (f) => r.ingest(f, conn, ops) });
    const t0 = cpuMs();
    for (const c of chunks) {
      reader.push(c);
      for (const op of ops) names.learn(op);
      ops = [];
    }
    return (MESSAGES * 1000) / (cpuMs() - t0);
  };
  once();
  const rates = [once(), once(), once()];
  console.log(
    `dnstap receiver on one core (framing → protobuf → DNS parse → suffixes → name table), ${fmt(MESSAGES)} CLIENT_RESPONSE messages, ${(stream.length / MESSAGES).toFixed(0)} bytes each:`,
  );
  console.log(
    `  ${rates.map(fmt).join(' / ')} messages per CPU second (best ${fmt(Math.max(...rates))}); ${fmt(names.size)} addresses, ${fmt(names.names)} names held`,
  );
}

async function receivePathBench(): Promise<void> {
  const dnstap = {
    listen: { host: '127.0.0.1', port: 0 },
    socket: undefined,
    maxNames: NAMES,
    graceMs: 600_000,
    overNetworks: false,
    nameSuffixes: ['default'],
  };
  // The same external addresses named by --networks make the same ends and pairs as DNS names do:
  // against it, what is left is the cost of the DNS lookup itself.
  const networks = Array.from(
    { length: ADDRESSES - PODS },
    (_, i) => `svc-${PODS + i}.example.com=${ipv4ToString(podAddress(PODS + i))}/32`,
  ).join(',');
  const modes = ['unnamed', 'named by --networks', 'named by DNS', 'client-dependent DNS names'] as const;
  const setups = await Promise.all(
    modes.map(async (mode) => {
      const dns = mode === 'named by DNS' || mode === 'client-dependent DNS names';
      const parts = await buildWorkerParts(
        defaultRunConfig({ dnstap: dns ? dnstap : undefined, networks: mode === 'named by --networks' ? networks : undefined }),
      );
      for (let k = 0; k < PODS; k++) parts.identity.upsertPod(pod(k));
      if (dns) {
        const names = parts.identity.dnsNames!;
        const now = Date.now();
        // The stream's addresses past the pods are external and named; the rest of the 100,000 are other answers.
        for (let k = PODS; k < ADDRESSES; k++) {
          names.learn([4, podAddress(k), null, clientKey4(podAddress(k % PODS)), `svc-${k}.example.com`, now - 60_000, 3600]);
          // The worst case: another client got another name for the same address, so no answer holds for every client and the memo keeps none.
          if (mode === 'client-dependent DNS names')
            names.learn([4, podAddress(k), null, clientKey4(podAddress((k + 1) % PODS)), `cdn-${k}.example.net`, now - 60_000, 3600]);
        }
        for (let i = 0; names.size < NAMES; i++)
          names.learn([4, (0x64000000 + i) >>> 0, null, clientKey4(podAddress(i % PODS)), `other-${i}.example.org`, now - 60_000, 3600]);
      }
      const receiver = new UdpReceiver(parts.decoder, undefined, (now) => (parts.pipeline.nowMs = now));
      const named = new DnsFlowCount((n) => parts.identity.dnsNames?.hasName(n) ?? false);
      // Flows in rows, past the overflow pair: the delta table fills within an interval on this stream.
      const drained = { rows: 0 };
      return { mode, parts, receiver, named, drained };
    }),
  );
  const stream: { payload: Buffer; rinfo: { address: string; port: number; family: 'IPv4'; size: number } }[] = [];
  let records = 0;
  for (const d of iptNetflowStream({ exporters: 8, recordsPerDatagram: 27, addresses: ADDRESSES, count: 20_000, seed: 42 })) {
    stream.push({
      payload: Buffer.from(d.payload),
      rinfo: { address: d.exporter, port: 40000 + d.exporterIndex, family: 'IPv4', size: d.payload.length },
    });
    records += d.records;
  }
  const perDatagram = records / stream.length;
  // CPU time rather than wall time: on a shared machine the wall clock counts other processes' turns.
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const run = (s: (typeof setups)[number], seconds: number): number => {
    const c0 = cpuMs();
    const t0 = performance.now();
    let last = t0;
    let n = 0;
    let now = t0;
    while (now - t0 < seconds * 1000) {
      for (let i = 0; i < 1000; i++) {
        const d = stream[n++ % stream.length];
        s.receiver.receive(d.payload, d.rinfo);
      }
      now = performance.now();
      if (now - last >= 250) {
        const b = s.parts.counts.drain();
        s.named.add(b);
        for (let i = 0; i < b.src.length; i++) if (b.src[i] >= 0) s.drained.rows += b.flows[i];
        last = now;
      }
    }
    return ((cpuMs() - c0) * 1e6) / (n * perDatagram);
  };
  for (const s of setups) run(s, 0.4);
  // Short runs taken in turn, so a busy neighbour on the machine slows every setup alike.
  const ns: number[][] = setups.map(() => []);
  for (let i = 0; i < 6; i++) for (const [j, s] of setups.entries()) ns[j].push(run(s, 0.4));
  const best = ns.map((a) => Math.min(...a));
  const pct = (j: number, k: number) => `${best[j] >= best[k] ? '+' : ''}${(100 * (best[j] / best[k] - 1)).toFixed(1)}%`;
  console.log(
    `receiving thread (decode → identify → count), ${PODS} pods and ${ADDRESSES - PODS} external addresses (a quarter of each end's draws), ${fmt(NAMES)} addresses named by DNS:`,
  );
  for (const [j, s] of setups.entries()) {
    const c = s.parts.pipeline.counters;
    const vs =
      j < 2
        ? j === 1
          ? ` (${pct(1, 0)} against unnamed: more ends, more pairs)`
          : ''
        : `: ${pct(j, 1)} against --networks${j === 2 ? ' (target: at most +5%)' : ''}, ${pct(j, 0)} against unnamed`;
    console.log(
      `  ${s.mode}: ${ns[j].map((x) => x.toFixed(0)).join(' / ')} ns of CPU per record (best ${best[j].toFixed(0)})${vs}; ${((100 * s.named.total) / Math.max(1, s.drained.rows)).toFixed(1)}% of the flows in pairs named by DNS, ${((100 * c.remembered) / c.records).toFixed(1)}% from the address memo`,
    );
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export async function main(): Promise<void> {
  receiverBench();
  await receivePathBench();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
