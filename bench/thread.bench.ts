/**
 * One receiving thread's work per datagram, without the socket: UdpReceiver → decoder → identity
 * → dedup → delta table, over the end-to-end bench's stream (ipt-netflow-shaped v9, 27 records per
 * datagram, 8 exporters, 4,000 pods) and the run command's default config. It shows how much of a
 * core a record costs behind the socket, which with the receive cost (udp.bench.ts) bounds what
 * one thread can take. Drains every 250 ms of work, like --merge-interval.
 *
 *   node bench/thread.bench.ts [--no-memo] [--churn N] [--no-conversations]
 *
 * --no-memo: every record through the identity index, to compare. --churn N: N pod updates a
 * second reach the thread meanwhile, as an informer delivers them; each one empties the memo.
 * --no-conversations: the delta table keeps no conversations (--max-conversations 0), to compare.
 */
import { parseArgs } from 'node:util';
import { defaultRunConfig } from '../src/config/run-options.ts';
import { buildWorkerParts } from '../src/pipeline/build-parts.ts';
import { UdpReceiver } from '../src/ingest/udp-receiver.ts';
import { iptNetflowStream, podAddress } from '../src/generate/ipt-netflow-stream.ts';
import type { SlimPod } from '../src/identify/inventory.ts';
import { ipv4ToString } from '../src/decode/record.ts';

const ADDRESSES = 4000;
const EXPORTERS = 8;
const POOL = 20_000;

/** Synthetic pod k at podAddress(k), of app-k (also the dnstap bench's inventory). */
export function pod(k: number): SlimPod {
  const ip = ipv4ToString(podAddress(k));
  return {
    uid: `uid-${k}`,
    name: `app-${k}-0`,
    namespace: `ns-${k % 16}`,
    nodeName: `node-${k % 4}`,
    hostNetwork: false,
    ips: [ip],
    phase: 'Running',
    startMs: 0,
    appLabel: `app-${k}`,
    ownerKind: '',
    ownerName: '',
    labels: { app: `app-${k}` },
    ports: [],
  };
}

/** The thread's parts over the bench's stream, and a timed run of them. */
async function receivePath(opts: { memo?: boolean; churn?: number; conversations?: boolean } = {}) {
  const churn = opts.churn ?? 0;
  const parts = await buildWorkerParts(defaultRunConfig(opts.conversations === false ? { maxConversations: 0 } : {}), {
    memo: opts.memo ?? true,
  });
  const { decoder, identity, counts, pipeline } = parts;
  for (let k = 0; k < ADDRESSES; k++) identity.upsertPod(pod(k));
  const receiver = new UdpReceiver(decoder, undefined, (now) => (pipeline.nowMs = now));

  const stream: { payload: Buffer; rinfo: { address: string; port: number; family: 'IPv4'; size: number } }[] = [];
  let records = 0;
  for (const d of iptNetflowStream({ exporters: EXPORTERS, recordsPerDatagram: 27, addresses: ADDRESSES, count: POOL, seed: 42 })) {
    stream.push({
      payload: Buffer.from(d.payload),
      rinfo: { address: d.exporter, port: 40000 + d.exporterIndex, family: 'IPv4', size: d.payload.length },
    });
    records += d.records;
  }
  const perDatagram = records / stream.length;

  let changes = 0;
  const run = (seconds: number): { nsPerRecord: number; datagrams: number } => {
    const t0 = performance.now();
    let lastDrain = t0;
    let n = 0;
    let now = t0;
    let nextChange = t0;
    while (now - t0 < seconds * 1000) {
      for (let i = 0; i < 1000; i++) {
        const d = stream[n++ % stream.length];
        receiver.receive(d.payload, d.rinfo);
      }
      now = performance.now();
      if (now - lastDrain >= 250) {
        counts.drain();
        lastDrain = now;
      }
      // An update that changes nothing still counts as a change: the memo cannot tell.
      for (; churn > 0 && nextChange <= now; nextChange += 1000 / churn) identity.upsertPod(pod(changes++ % ADDRESSES));
    }
    return { nsPerRecord: ((now - t0) * 1e6) / (n * perDatagram), datagrams: n };
  };
  return { parts, perDatagram, run };
}

/**
 * How fast this machine is right now, in the receive path's own work: ns a record on one core
 * (best of three half-second runs after a warm one). The same code took 110 ns on a quiet 2-core
 * machine here and 290 when the host was busy, so benches that measure loss print it beside, and
 * runs are compared only at like speeds (it moves with the code too: compare builds turn about).
 */
export async function receivePathGauge(): Promise<number> {
  const { run } = await receivePath();
  run(0.5);
  return Math.min(run(0.5).nsPerRecord, run(0.5).nsPerRecord, run(0.5).nsPerRecord);
}

/** The gauge as a line for benches whose figures depend on it (`when`: before, after the load...). */
export async function speedNote(when: string): Promise<string> {
  const ns = await receivePathGauge();
  return `  machine speed ${when}: the receive path's own work takes ${ns.toFixed(0)} ns a record on one core (thread.bench.ts; the host's load moves it 2.5x: compare runs at like speeds)`;
}

export async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'no-memo': { type: 'boolean', default: false },
      churn: { type: 'string', default: '0' },
      'no-conversations': { type: 'boolean', default: false },
    },
  });
  const memo = !values['no-memo'];
  const churn = Number(values.churn);
  const { parts, perDatagram, run } = await receivePath({ memo, churn, conversations: !values['no-conversations'] });
  const { counts, pipeline } = parts;
  run(1); // warm up: templates, JIT, every pair seen once
  const before = pipeline.counters.records;
  const rememberedBefore = pipeline.counters.remembered;
  const results = [run(2), run(2), run(2)];
  const best = Math.min(...results.map((r) => r.nsPerRecord));
  const unknown = pipeline.counters.unknownSrc + pipeline.counters.unknownDst;
  const measured = pipeline.counters.records - before;
  const remembered = (100 * (pipeline.counters.remembered - rememberedBefore)) / measured;
  console.log(
    `receiving thread behind the socket (decode → identify → count${memo ? '' : ', address memo off'}${churn > 0 ? `, ${churn} pod updates/s` : ''}${values['no-conversations'] ? ', no conversations' : ''}), ${perDatagram.toFixed(0)} records/datagram, ${EXPORTERS} exporters, ${ADDRESSES} pods, ${counts.stats().rows} pairs this interval:`,
  );
  console.log(
    `  ${results.map((r) => r.nsPerRecord.toFixed(0)).join(' / ')} ns per record (best ${best.toFixed(0)}: ${(1e9 / best / 1e6).toFixed(2)} M records/s, ${fmt(1e9 / best / perDatagram)} datagrams/s on one core), ${fmt(measured)} records (${remembered.toFixed(1)}% named from the address memo), ${unknown} with an unknown end`,
  );
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

if (import.meta.url === `file://${process.argv[1]}`) await main();
