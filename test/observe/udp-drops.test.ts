/** Kernel UDP drops: /proc/net/udp parsing per port, and the live reading of a real socket. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { parseProcNetUdp, socketDrops, snmpUdp } from '../../src/observe/udp-drops.ts';

const SAMPLE = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0100007F:0807 00000000:0000 07 00000000:00000A00 00:00000000 00000000     0        0 4242 2 0000000000000000 17
  124: 00000000:0807 00000000:0000 07 00000000:00000100 00:00000000 00000000     0        0 4243 2 0000000000000000 3
  125: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4244 2 0000000000000000 99
`;

test('drops and queued bytes of every socket on the port are summed', () => {
  const d = parseProcNetUdp(SAMPLE, 2055);
  assert.deepEqual(d, { sockets: 2, drops: 20, rxQueue: 0xa00 + 0x100 });
  assert.deepEqual(parseProcNetUdp(SAMPLE, 53), { sockets: 1, drops: 99, rxQueue: 0 });
  assert.deepEqual(parseProcNetUdp(SAMPLE, 9), { sockets: 0, drops: 0, rxQueue: 0 });
});

test('a real socket shows up with its queue', { skip: existsSync('/proc/net/udp') ? false : 'no /proc/net/udp' }, async (t) => {
  const rx = createSocket('udp4');
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
  t.after(() => rx.close());
  const port = rx.address().port;
  const tx = createSocket('udp4');
  await new Promise<void>((r) => tx.send(Buffer.alloc(100), port, '127.0.0.1', () => r()));
  tx.close();
  const d = socketDrops(port);
  assert.ok(d && d.sockets === 1, 'the socket is found by its port');
  assert.equal(d!.drops, 0);
  const s = snmpUdp();
  assert.ok(s && s.inDatagrams > 0);
});
