/**
 * The native receive path over real loopback UDP: payloads arrive byte for byte with their
 * source, in IPv4, IPv6 and dual stack; SO_REUSEPORT lets two sockets share a port; a datagram
 * longer than its slot is counted and never decoded; close() twice is harmless; bind errors say
 * what failed. Then the same datagrams through both backends count alike in UdpReceiver.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import {
  loadNativeUdp,
  openNativeUdp,
  META_FAMILY,
  META_LENGTH,
  META_PORT,
  META_TRUNCATED,
  META_WORDS,
  type DatagramBatch,
  type NativeUdpHandle,
  trimNativeHeap,
} from '../../src/ingest/native-udp.ts';
import { fullGc } from '../../src/observe/full-gc.ts';
import { UdpReceiver } from '../../src/ingest/udp-receiver.ts';
import { openReceiveSocket } from '../../src/ingest/udp-backend.ts';
import { socketDrops } from '../../src/observe/udp-drops.ts';
import { parseCidr } from '../../src/config/run-options.ts';
import type { Exporter } from '../../src/decode/record.ts';

const loaded = loadNativeUdp();
// Only where the addon cannot exist; on Linux a missing build is a failure, not a skip.
const skip = process.platform !== 'linux' ? `the native receive path is Linux-only (${process.platform})` : false;
const addon = () => {
  if (!('addon' in loaded)) throw new Error(loaded.error);
  return loaded.addon;
};

interface Received {
  payload: Buffer;
  family: number;
  port: number;
  address: string;
  truncated: boolean;
  length: number;
}

/** A native socket that copies every datagram out of the shared buffer (the test keeps them past the callback). */
function collect(
  host: string,
  port = 0,
  opts: { reusePort?: boolean; slotSize?: number; slots?: number } = {},
): { h: NativeUdpHandle; got: Received[]; batches: number[] } {
  const got: Received[] = [];
  const batches: number[] = [];
  const h = openNativeUdp(addon(), host, port, { recvBuffer: 1 << 20, ...opts }, (b: DatagramBatch, n: number) => {
    batches.push(n);
    for (let i = 0; i < n; i++) {
      const o = i * META_WORDS;
      const len = b.meta[o + META_LENGTH];
      const family = b.meta[o + META_FAMILY];
      const addrBytes = new Uint8Array(b.meta.buffer, (o + 4) * 4, 16);
      const address =
        family === 4 ? [24, 16, 8, 0].map((s) => (b.meta[o + 4] >>> s) & 255).join('.') : Buffer.from(addrBytes).toString('hex');
      got.push({
        payload: Buffer.from(b.bytes.subarray(i * b.slotSize, i * b.slotSize + Math.min(len, b.slotSize))),
        family,
        port: b.meta[o + META_PORT],
        address,
        truncated: b.meta[o + META_TRUNCATED] === 1,
        length: len,
      });
    }
  });
  return { h, got, batches };
}

async function sendAll(type: 'udp4' | 'udp6', payloads: Buffer[], port: number, host: string): Promise<Socket> {
  const s = createSocket(type);
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  for (const p of payloads) await new Promise<void>((resolve, reject) => s.send(p, port, host, (err) => (err ? reject(err) : resolve())));
  return s;
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sizes = [1, 17, 100, 1100, 1472, 8000, 65_507 - 28];

describe('native UDP socket', { skip }, () => {
  test('the addon loads on Linux', () => {
    assert.ok('addon' in loaded, 'error' in loaded ? loaded.error : '');
  });

  test('IPv4: datagrams of different sizes arrive byte for byte, with their source address and port', async () => {
    const { h, got } = collect('127.0.0.1');
    assert.equal(h.family, 4);
    assert.ok(h.port > 0);
    assert.ok(h.recvBufferBytes >= 1 << 20, `granted ${h.recvBufferBytes}`);
    const payloads = sizes.map((n) => randomBytes(n));
    const s = await sendAll('udp4', payloads, h.port, '127.0.0.1');
    await waitFor(() => got.length === payloads.length);
    const src = s.address().port;
    s.close();
    h.close();
    for (const [i, p] of payloads.entries()) {
      assert.ok(got[i].payload.equals(p), `datagram ${i} (${p.length} bytes) equal`);
      assert.equal(got[i].length, p.length);
      assert.deepEqual([got[i].family, got[i].address, got[i].port, got[i].truncated], [4, '127.0.0.1', src, false]);
    }
  });

  test('IPv6 ::1, and a dual-stack socket reports an IPv4 sender as IPv4', async () => {
    const { h, got } = collect('::1');
    assert.equal(h.family, 6);
    const payloads = [randomBytes(10), randomBytes(1500)];
    const s6 = await sendAll('udp6', payloads, h.port, '::1');
    await waitFor(() => got.length === 2);
    s6.close();
    h.close();
    assert.ok(got[0].payload.equals(payloads[0]) && got[1].payload.equals(payloads[1]));
    assert.equal(got[0].family, 6);
    assert.equal(got[0].address, '00000000000000000000000000000001');

    const dual = collect('::');
    const p4 = randomBytes(300);
    const s4 = await sendAll('udp4', [p4], dual.h.port, '127.0.0.1');
    await waitFor(() => dual.got.length === 1);
    assert.deepEqual([dual.got[0].family, dual.got[0].address, dual.got[0].port], [4, '127.0.0.1', s4.address().port]);
    assert.ok(dual.got[0].payload.equals(p4));
    s4.close();
    dual.h.close();
  });

  test('SO_REUSEPORT: a second socket binds the port the first got; between them they receive everything', async () => {
    const a = collect('127.0.0.1', 0, { reusePort: true });
    const b = collect('127.0.0.1', a.h.port, { reusePort: true });
    assert.equal(b.h.port, a.h.port);
    // The kernel hashes the 4-tuple: many senders spread over both sockets.
    const senders: Socket[] = [];
    for (let i = 0; i < 16; i++) senders.push(await sendAll('udp4', [Buffer.from([i])], a.h.port, '127.0.0.1'));
    await waitFor(() => a.got.length + b.got.length === 16);
    // /proc/net/udp still sees both sockets on the port, as the drop metrics read it.
    const drops = socketDrops(a.h.port);
    assert.equal(drops?.sockets, 2);
    for (const s of senders) s.close();
    a.h.close();
    b.h.close();
    const bytes = [...a.got, ...b.got].map((g) => g.payload[0]).sort((x, y) => x - y);
    assert.deepEqual(
      bytes,
      Array.from({ length: 16 }, (_, i) => i),
    );
  });

  test('a datagram longer than its slot is reported truncated with its real length; close twice is harmless', async () => {
    const { h, got } = collect('127.0.0.1', 0, { slotSize: 512, slots: 4 });
    const payloads = [randomBytes(512), randomBytes(513), randomBytes(4000), randomBytes(5)];
    const s = await sendAll('udp4', payloads, h.port, '127.0.0.1');
    await waitFor(() => got.length === 4);
    assert.deepEqual(
      got.map((g) => [g.truncated, g.length]),
      [
        [false, 512],
        [true, 513],
        [true, 4000],
        [false, 5],
      ],
    );
    assert.equal(h.stats().truncated, 2);
    assert.ok(got[0].payload.equals(payloads[0]) && got[3].payload.equals(payloads[3]));
    h.close();
    h.close();
    // Closed means closed: nothing more arrives.
    await new Promise<void>((r) => s.send(Buffer.from('late'), h.port, '127.0.0.1', () => r()));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.length, 4);
    s.close();
  });

  test('bind errors come back as exceptions naming the call, the address and the errno', () => {
    const a = collect('127.0.0.1');
    try {
      assert.throws(
        () => collect('127.0.0.1', a.h.port),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'EADDRINUSE');
          assert.match(err.message, new RegExp(`^bind 127\\.0\\.0\\.1:${a.h.port}: Address already in use \\(EADDRINUSE\\)$`));
          return true;
        },
      );
    } finally {
      a.h.close();
    }
    assert.throws(() => collect('not-an-address'), /^Error: bind not-an-address:0: not an IPv4 or IPv6 address \(EINVAL\)$/);
    assert.throws(() => collect('127.0.0.1', 70_000), /port must be an integer from 0 to 65535/);
  });

  test('a worker thread that ends without close() leaves no socket behind (env cleanup hook)', async () => {
    const { Worker } = await import('node:worker_threads');
    const { NATIVE_ADDON_PATH } = await import('../../src/ingest/native-udp.ts');
    for (const end of ['terminate', 'exit'] as const) {
      const code = `
        const { parentPort } = require('node:worker_threads');
        const h = require(${JSON.stringify(NATIVE_ADDON_PATH)}).open('127.0.0.1', 0, {}, () => {});
        parentPort.postMessage(h.port);
        ${end === 'exit' ? 'setTimeout(() => process.exit(0), 10);' : ''}`;
      const w = new Worker(code, { eval: true });
      const port = await new Promise<number>((r) => w.once('message', r));
      if (end === 'terminate') await w.terminate();
      else await new Promise((r) => w.once('exit', r));
      // The port is free again: no lingering fd holds it (no SO_REUSEPORT here).
      const again = collect('127.0.0.1', port);
      again.h.close();
    }
  });

  test('the stop flag: while it is set no batch is read (the datagrams wait in the kernel), once cleared they all arrive', async (t) => {
    const stop = new Int32Array(new SharedArrayBuffer(8));
    let got = 0;
    const h = openNativeUdp(addon(), '127.0.0.1', 0, { recvBuffer: 1 << 20, stop }, (_b, n) => (got += n));
    const senders: Socket[] = [];
    t.after(() => {
      for (const s of senders) s.close();
      h.close();
    });
    const s1 = await sendAll('udp4', [Buffer.from('one')], h.port, '127.0.0.1');
    senders.push(s1);
    await waitFor(() => got === 1);
    Atomics.store(stop, 0, 1);
    senders.push(
      await sendAll(
        'udp4',
        Array.from({ length: 5 }, () => Buffer.from('later')),
        h.port,
        '127.0.0.1',
      ),
    );
    await waitFor(() => (socketDrops(h.port)?.rxQueue ?? 0) > 0);
    // Several turns of the loop, each with the socket readable: nothing is read.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(got, 1);
    assert.ok((socketDrops(h.port)?.rxQueue ?? 0) > 0, 'the datagrams wait unread');
    Atomics.store(stop, 0, 0);
    // The poll is level-triggered: the waiting datagrams wake it again.
    await waitFor(() => got === 6);
  });

  test('many datagrams at once arrive in batches, none lost', async () => {
    const { h, got, batches } = collect('127.0.0.1', 0, { slots: 16 });
    const s = createSocket('udp4');
    const n = 500;
    for (let i = 0; i < n; i++) {
      const p = Buffer.alloc(64);
      p.writeUInt32BE(i, 0);
      s.send(p, h.port, '127.0.0.1');
    }
    await waitFor(() => got.length === n);
    s.close();
    h.close();
    assert.deepEqual(
      got.map((g) => g.payload.readUInt32BE(0)),
      Array.from({ length: n }, (_, i) => i),
    );
    assert.ok(
      batches.some((b) => b > 1),
      `some batch holds more than one datagram: ${batches.slice(0, 10).join(',')}`,
    );
    assert.ok(Math.max(...batches) <= 16);
  });
});

/** Records what the decoder was handed. */
class Recorder {
  readonly seen: { bytes: Buffer; exporter: Exporter }[] = [];
  decode(datagram: Uint8Array, exporter: Exporter): void {
    this.seen.push({ bytes: Buffer.from(datagram), exporter });
  }
}

describe('both backends through UdpReceiver', { skip }, () => {
  for (const backend of ['native', 'dgram'] as const) {
    test(`${backend}: counts, allowlist, truncation and exporter objects alike`, async () => {
      const rec = new Recorder();
      const receiver = new UdpReceiver(rec, [parseCidr('127.0.0.1/32', 'allowExporters'), parseCidr('::1', 'allowExporters')]);
      const sock = await openReceiveSocket(backend, { host: '::', port: 0, recvBuffer: 1 << 20, reusePort: false }, receiver, (err) =>
        assert.fail(err),
      );
      assert.equal(sock.backend, backend);
      const payloads = [randomBytes(20), randomBytes(1400), randomBytes(9000)];
      const s4 = await sendAll('udp4', payloads, sock.port, '127.0.0.1');
      const s6 = await sendAll('udp6', [payloads[0]], sock.port, '::1');
      // 127.0.0.2 is outside the allowlist.
      const denied = createSocket('udp4');
      await new Promise<void>((r) => denied.bind(0, '127.0.0.2', () => r()));
      await new Promise<void>((r) => denied.send(Buffer.from('no'), sock.port, '127.0.0.1', () => r()));
      await waitFor(() => receiver.datagrams === 4 && receiver.denied === 1);
      await new Promise<void>((r) => sock.close(r));
      const [p4, p6] = [s4.address().port, s6.address().port];
      for (const s of [s4, s6, denied]) s.close();

      assert.equal(receiver.bytes, 20 + 1400 + 9000 + 20);
      assert.ok(rec.seen[0].bytes.equals(payloads[0]) && rec.seen[1].bytes.equals(payloads[1]) && rec.seen[2].bytes.equals(payloads[2]));
      assert.deepEqual(
        rec.seen.map((s) => s.exporter.address),
        ['127.0.0.1', '127.0.0.1', '127.0.0.1', '::1'],
      );
      assert.equal(rec.seen[0].exporter.key, `127.0.0.1|${p4}`);
      assert.equal(rec.seen[3].exporter.key, `::1|${p6}`);
      // One Exporter object per (address, port).
      assert.equal(rec.seen[0].exporter, rec.seen[1].exporter);
      assert.deepEqual(Object.fromEntries(receiver.perExporter), {
        '127.0.0.1': { datagrams: 3, bytes: 10_420, denied: 0 },
        '127.0.0.2': { datagrams: 0, bytes: 0, denied: 1 },
        '::1': { datagrams: 1, bytes: 20, denied: 0 },
      });
      assert.equal(receiver.truncated, 0);
      if (backend === 'native') assert.equal(sock.kernelDrops(), 0);
    });
  }

  test('a truncated datagram is counted, not decoded', async () => {
    const rec = new Recorder();
    const receiver = new UdpReceiver(rec, undefined);
    const { h } = { h: openNativeUdp(addon(), '127.0.0.1', 0, { slotSize: 100 }, (b, n) => receiver.receiveBatch(b, n)) };
    const s = await sendAll('udp4', [randomBytes(100), randomBytes(101), randomBytes(7)], h.port, '127.0.0.1');
    await waitFor(() => receiver.datagrams + receiver.truncated === 3);
    h.close();
    s.close();
    assert.equal(receiver.truncated, 1);
    assert.deepEqual(
      rec.seen.map((x) => x.bytes.length),
      [100, 7],
    );
    assert.equal(receiver.bytes, 107);
  });

  test('without the addon, native fails with the reason and auto falls back to dgram saying why', async () => {
    const missing = () => loadNativeUdp('/nonexistent/udp_recv.node');
    const receiver = new UdpReceiver(new Recorder(), undefined);
    const opts = { host: '127.0.0.1', port: 0, recvBuffer: 1 << 16, reusePort: false };
    await assert.rejects(
      openReceiveSocket('native', opts, receiver, () => {}, missing),
      /^Error: udpBackend: native asked for but the addon is unavailable: \/nonexistent\/udp_recv\.node not found/,
    );
    const sock = await openReceiveSocket('auto', opts, receiver, () => {}, missing);
    assert.equal(sock.backend, 'dgram');
    assert.match(sock.reason, /^auto: native addon unavailable \(\/nonexistent\/udp_recv\.node not found/);
    await new Promise<void>((r) => sock.close(r));
  });
});

test('trimNativeHeap hands the pages of freed malloc memory back to the system', { skip }, async () => {
  // ArrayBuffers of 16 KiB come from malloc's arenas; every 16th is kept, so the freed ones sit
  // between live ones where malloc, by itself, returns nothing.
  let bufs: ArrayBuffer[] | undefined = Array.from({ length: 4096 }, () => new ArrayBuffer(16 * 1024));
  for (const b of bufs) new Uint8Array(b).fill(1);
  const kept = bufs.filter((_, i) => i % 16 === 0);
  bufs = undefined;
  await new Promise((r) => setTimeout(r, 0));
  fullGc();
  await new Promise((r) => setTimeout(r, 100)); // backing stores are freed after the collection
  const before = process.memoryUsage.rss();
  assert.equal(trimNativeHeap(), true);
  const returned = before - process.memoryUsage.rss();
  assert.ok(returned > 32 * 2 ** 20, `RSS fell by ${(returned / 2 ** 20).toFixed(1)} MiB of the 60 freed`);
  assert.equal(kept.length, 256);
});
