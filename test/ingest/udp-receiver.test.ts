/**
 * What a receiving thread says it heard: the sources (address and port) that sent allowed
 * datagrams since its last report, which the pool counts to decide how many threads to run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RemoteInfo } from 'node:dgram';
import { SOURCES_KEPT, UdpReceiver } from '../../src/ingest/udp-receiver.ts';
import { parseCidr } from '../../src/config/cidr.ts';

const from = (address: string, port: number): RemoteInfo => ({ address, port, family: 'IPv4', size: 1 });
const noDecoder = { decode() {} };

test('sources heard since the last report: once each, allowed only, a new round each time', () => {
  const r = new UdpReceiver(noDecoder, [parseCidr('10.0.0.0/8', 'allowExporters')]);
  const d = Buffer.alloc(4);
  r.receive(d, from('10.0.0.1', 2055));
  r.receive(d, from('10.0.0.1', 40000)); // the same address from another port: another place in the kernel's hash
  r.receive(d, from('10.0.0.1', 2055));
  r.receive(d, from('192.168.1.1', 2055)); // refused by the allowlist
  r.receive(d, from('::ffff:10.0.0.2', 2055)); // one exporter has one name whichever socket family saw it
  assert.deepEqual(r.takeHeard(), ['10.0.0.1|2055', '10.0.0.1|40000', '10.0.0.2|2055']);
  assert.deepEqual(r.takeHeard(), [], 'nothing since');
  r.receive(d, from('10.0.0.1', 40000));
  assert.deepEqual(r.takeHeard(), ['10.0.0.1|40000']);
});

test('sources heard are capped: enough to tell they outnumber any thread count', () => {
  const r = new UdpReceiver(noDecoder, undefined);
  for (let p = 1; p <= 3 * SOURCES_KEPT; p++) r.receive(Buffer.alloc(4), from('10.0.0.1', p));
  assert.equal(r.takeHeard().length, SOURCES_KEPT);
  assert.ok(SOURCES_KEPT > 64, 'more than --workers allows');
});
