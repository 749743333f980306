/**
 * The end-to-end bench's traffic: a separate process that sends ipt-netflow-shaped NetFlow v9
 * (27 records per datagram, template refreshes every 20 packets) to one or more UDP targets at a
 * fixed rate, from several source sockets (one per pretend node, so SO_REUSEPORT spreads them
 * over the collector's threads). Datagrams are built before the clock starts, so the rate
 * measures the receiver, not the generator.
 *
 *   node bench/sender.ts --port 2055 [--port2 2056] --rate 40000 --seconds 3 [--exporters 8] [--addresses 4000]
 *
 * Prints one JSON line: { datagrams, records, bytes, seconds, rate } (records = flow records sent).
 */
import { createSocket, type Socket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { iptNetflowStream } from '../src/generate/ipt-netflow-stream.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', multiple: true },
    rate: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '3' },
    exporters: { type: 'string', default: '8' },
    addresses: { type: 'string', default: '4000' },
    pool: { type: 'string', default: '20000' },
  },
});

const ports = (values.port ?? ['2055']).map(Number);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const nExporters = Number(values.exporters);
const total = Math.round(rate * seconds);

// Each pretend node sends from its own socket; its stream (templates first) stays on that socket.
const perExporter: { payload: Uint8Array; records: number }[][] = Array.from({ length: nExporters }, () => []);
const poolSize = Math.min(total, Number(values.pool));
for (const d of iptNetflowStream({
  exporters: nExporters,
  recordsPerDatagram: 27,
  addresses: Number(values.addresses),
  count: poolSize,
  seed: 42,
})) {
  perExporter[d.exporterIndex].push({ payload: d.payload.slice(), records: d.records });
}
// One connected socket per (exporter, target port): send() then skips the per-datagram address
// lookup, which cost the sender more CPU than the syscall itself.
let refused = 0;
const sockets: Socket[][] = [];
for (let i = 0; i < nExporters; i++) {
  const row: Socket[] = [];
  for (const p of ports) {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, values.host, () => r()));
    await new Promise<void>((r) => s.connect(p, values.host, () => r()));
    s.setSendBufferSize(4 * 1024 * 1024);
    // A connected UDP socket hears ICMP refusals (nobody listening yet): counted, not fatal.
    s.on('error', () => refused++);
    row.push(s);
  }
  sockets.push(row);
}

let sent = 0;
let records = 0;
let bytes = 0;
const cursor = new Array<number>(nExporters).fill(0);
const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;

// Sends what is due (about a millisecond's worth), then sleeps; a send's callback is not awaited
// (the kernel queues it).
await new Promise<void>((done) => {
  const tick = () => {
    const due = Math.min(total, Math.floor(elapsed() * rate));
    while (sent < due) {
      const e = sent % nExporters;
      const list = perExporter[e];
      const d = list[cursor[e]++ % list.length];
      for (const s of sockets[e]) s.send(d.payload);
      records += d.records;
      bytes += d.payload.length;
      sent++;
    }
    if (sent >= total) done();
    // A timer, not setImmediate: spinning would burn a whole core of the two the collector needs.
    else setTimeout(tick, 1);
  };
  tick();
});
const secondsTaken = elapsed();
// Let the kernel drain the send queues before the sockets close.
await new Promise((r) => setTimeout(r, 100));
for (const row of sockets) for (const s of row) s.close();
const c = process.cpuUsage(cpu0);
process.stdout.write(
  JSON.stringify({
    datagrams: sent,
    records,
    bytes,
    seconds: secondsTaken,
    rate: sent / secondsTaken,
    refused,
    cpuSeconds: (c.user + c.system) / 1e6,
  }) + '\n',
);
