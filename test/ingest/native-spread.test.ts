/**
 * The native socket's `spread` option over real loopback UDP: with it, a SO_REUSEPORT group
 * spreads one exporter's datagrams over both of its sockets, none lost; without it, the kernel's
 * 4-tuple hash keeps them all on one socket. A spread the addon cannot honour is refused, naming
 * the option.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { loadNativeUdp, openNativeUdp, type NativeUdpHandle } from '../../src/ingest/native-udp.ts';

const loaded = loadNativeUdp();
// As in native-udp.test.ts: only where the addon cannot exist; on Linux a missing build is a failure, not a skip.
const skip = process.platform !== 'linux' ? `the native receive path is Linux-only (${process.platform})` : false;
const addon = () => {
  if (!('addon' in loaded)) throw new Error(loaded.error);
  return loaded.addon;
};

const COUNT = 400;

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Two sockets sharing one port with reusePort and this spread, and what each received. */
function pair(spread: number): { sockets: NativeUdpHandle[]; counts: number[] } {
  const counts = [0, 0];
  const sockets: NativeUdpHandle[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const port = i === 0 ? 0 : sockets[0].port;
      sockets.push(
        openNativeUdp(addon(), '127.0.0.1', port, { recvBuffer: 1 << 20, reusePort: true, spread }, (_b, n) => (counts[i] += n)),
      );
    }
  } catch (err) {
    for (const s of sockets) s.close();
    throw err;
  }
  return { sockets, counts };
}

/** COUNT small datagrams from one source socket (one fixed source port, so one 4-tuple). */
async function sendFromOnePort(port: number): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  for (let i = 0; i < COUNT; i++) {
    const p = Buffer.alloc(16);
    p.writeUInt32BE(i, 0);
    await new Promise<void>((resolve, reject) => s.send(p, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }
  return s;
}

describe('native UDP spread over a SO_REUSEPORT group', { skip }, () => {
  test('spread 2: one exporter (one 4-tuple) reaches both sockets, every datagram once', async (t) => {
    const { sockets, counts } = pair(2);
    t.after(() => {
      for (const s of sockets) s.close();
    });
    assert.equal(sockets[1].port, sockets[0].port);
    const sender = await sendFromOnePort(sockets[0].port);
    t.after(() => sender.close());
    await waitFor(() => counts[0] + counts[1] >= COUNT);
    // Nothing more arrives after the last one either.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(counts[0] + counts[1], COUNT, `received ${counts.join(' + ')}`);
    // Random halves of 400: below 51 on either side is about 1e-55 likely.
    assert.ok(counts[0] > 50 && counts[1] > 50, `both sockets receive: ${counts.join(' + ')}`);
    for (const s of sockets) assert.equal(s.stats().kernelDrops, 0);
  });

  test('spread 0 (the control): the kernel hash keeps one 4-tuple on one socket', async (t) => {
    const { sockets, counts } = pair(0);
    t.after(() => {
      for (const s of sockets) s.close();
    });
    const sender = await sendFromOnePort(sockets[0].port);
    t.after(() => sender.close());
    await waitFor(() => counts[0] + counts[1] >= COUNT);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(counts[0] + counts[1], COUNT, `received ${counts.join(' + ')}`);
    assert.deepEqual(
      [...counts].sort((a, b) => a - b),
      [0, COUNT],
      `all on one socket: ${counts.join(' + ')}`,
    );
  });

  test('a spread outside 0..1024 or not a number is refused, naming the option', () => {
    for (const [spread, kind] of [
      [5000, RangeError],
      [1025, RangeError],
      [-1, TypeError],
      ['x', TypeError],
    ] as const) {
      assert.throws(
        () => openNativeUdp(addon(), '127.0.0.1', 0, { reusePort: true, spread: spread as number }, () => {}),
        (err: Error) => {
          assert.ok(err instanceof kind, `${String(spread)}: ${err.constructor.name} ${err.message}`);
          assert.match(err.message, /\bspread\b/);
          return true;
        },
      );
    }
    // The edges are accepted: 1 (off) and 1024, alone in its group or without reusePort.
    for (const opts of [
      { reusePort: true, spread: 1 },
      { reusePort: true, spread: 1024 },
      { reusePort: false, spread: 2 },
    ]) {
      openNativeUdp(addon(), '127.0.0.1', 0, opts, () => {}).close();
    }
  });
});
