import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { portInodes, probePort, strangersOnPort } from '../../src/ingest/port-owner.ts';
import { ConfigError } from '../../src/config/options.ts';

const TABLE = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 0100007F:0807 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 5551 2 0000000000000000 0
  102: 00000000:0807 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5552 2 0000000000000000 3
  103: 0100007F:0808 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5553 2 0000000000000000 0
`;

test('portInodes: the inodes of the sockets on one port', () => {
  assert.deepEqual(portInodes(TABLE, 0x807), ['5551', '5552']);
  assert.deepEqual(portInodes(TABLE, 0x808), ['5553']);
  assert.deepEqual(portInodes(TABLE, 9), []);
});

async function bind(port: number, reusePort: boolean): Promise<Socket> {
  const s = createSocket({ type: 'udp4', reusePort });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve());
  });
  return s;
}

test('probePort: a free port is ours; one held by any socket, reuseport or not, is refused naming listen', async (t) => {
  const free = await probePort('127.0.0.1', 0);
  assert.ok(free > 0);
  const plain = await bind(0, false);
  const group = await bind(0, true);
  t.after(() => {
    plain.close();
    group.close();
  });
  for (const s of [plain, group]) {
    await assert.rejects(
      probePort('127.0.0.1', s.address().port),
      (err: unknown) => err instanceof ConfigError && err.field === 'listen' && /EADDRINUSE/.test(err.message),
    );
  }
});

test('strangersOnPort: our own sockets do not count', { skip: process.platform !== 'linux' && 'reads /proc/net/udp' }, async (t) => {
  const ours = await bind(0, true);
  t.after(() => ours.close());
  assert.equal(strangersOnPort(ours.address().port), 0);
});
