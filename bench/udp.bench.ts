/**
 * Receive cost per datagram, receive alone, for each UDP backend: 1,100-byte datagrams (an
 * ipt-netflow datagram's size) from 8 source ports are queued in the socket while this thread is
 * blocked (the sender runs under spawnSync), then the queue is drained through UdpReceiver
 * (exporter lookup, per-exporter counters) into a decoder that does nothing. Draining time over
 * datagrams drained is the per-datagram cost of the receive path; nothing else runs meanwhile.
 *
 *   node bench/udp.bench.ts [--rounds N]
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { UdpReceiver } from '../src/ingest/udp-receiver.ts';
import { openReceiveSocket, type ReceiveSocket } from '../src/ingest/udp-backend.ts';
import { loadNativeUdp } from '../src/ingest/native-udp.ts';

const SIZE = 1100;
// What fits in a receive buffer of 2 x the usual 4 MiB rmem_max (a loopback datagram takes ~2.3 KiB of it).
const PER_ROUND = 3000;

const SENDER = `
const dgram = require('node:dgram');
const [port, n, size] = process.argv.slice(1).map(Number);
const socks = Array.from({ length: 8 }, () => dgram.createSocket('udp4'));
const payload = Buffer.alloc(size, 7);
let sent = 0;
(async () => {
  while (sent < n) {
    const batch = [];
    for (let i = 0; i < 64 && sent < n; i++, sent++) batch.push(new Promise((r) => socks[sent % 8].send(payload, port, '127.0.0.1', r)));
    await Promise.all(batch);
  }
  for (const s of socks) s.close();
})();`;

async function measure(backend: 'native' | 'dgram', rounds: number): Promise<{ nsPerDatagram: number; received: number; sent: number }> {
  const receiver = new UdpReceiver({ decode: () => {} }, undefined);
  const sock: ReceiveSocket = await openReceiveSocket(
    backend,
    { host: '127.0.0.1', port: 0, recvBuffer: 8 << 20, reusePort: false },
    receiver,
    (err) => {
      throw err;
    },
  );
  let ns = 0;
  let sent = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      const before = receiver.datagrams;
      const child = spawnSync(process.execPath, ['-e', SENDER, String(sock.port), String(PER_ROUND), String(SIZE)], { stdio: 'inherit' });
      if (child.status !== 0) throw new Error(`sender exited ${child.status}`);
      sent += PER_ROUND;
      const t0 = performance.now();
      // The queue is full now; the loop drains it. Done when nothing more arrives for a moment.
      let last = receiver.datagrams;
      let lastAt = t0;
      for (;;) {
        await new Promise((res) => setImmediate(res));
        if (receiver.datagrams !== last) {
          last = receiver.datagrams;
          lastAt = performance.now();
        } else if (receiver.datagrams - before >= PER_ROUND || performance.now() - lastAt > 20) break;
      }
      ns += (lastAt - t0) * 1e6;
    }
  } finally {
    await new Promise<void>((res) => sock.close(res));
  }
  return { nsPerDatagram: ns / receiver.datagrams, received: receiver.datagrams, sent };
}

export async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { rounds: { type: 'string', default: '8' } }, strict: false });
  const rounds = Number(values.rounds);
  console.log(`udp: receive only (UdpReceiver, no decoding), ${SIZE}-byte datagrams, ${rounds} rounds of ${PER_ROUND} queued datagrams`);
  const backends: ('native' | 'dgram')[] = 'addon' in loadNativeUdp() ? ['native', 'dgram'] : ['dgram'];
  const results = new Map<string, number>();
  for (const b of backends) {
    const r = await measure(b, rounds);
    results.set(b, r.nsPerDatagram);
    const lost = r.sent - r.received;
    console.log(
      `  ${b.padEnd(6)} ${(r.nsPerDatagram / 1000).toFixed(2).padStart(6)} µs per datagram (${r.received} drained${lost > 0 ? `, ${lost} dropped by the kernel before the drain` : ''})`,
    );
  }
  if (results.size === 2)
    console.log(`  native costs ${((results.get('native')! / results.get('dgram')!) * 100).toFixed(0)}% of dgram per datagram`);
  else console.log(`  native: not available (${(loadNativeUdp() as { error: string }).error})`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
