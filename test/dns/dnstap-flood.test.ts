/**
 * A DNS server flooding answers for ever new addresses past the cap: the heap holding the name
 * tables (the main thread's and a receiving thread's, fed the same answers) stays flat. Measured
 * after full collections, so garbage not yet collected does not count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DnstapReceiver } from '../../src/dns/dnstap-receiver.ts';
import { DnsNames } from '../../src/dns/dns-names.ts';
import { DnsSuffixes } from '../../src/dns/dns-suffixes.ts';
import { CONTROL_START, controlFrame, dataFrame } from '../../src/dns/frame-streams.ts';
import { encodeDnstap } from '../../src/dns/dnstap-decode.ts';
import { buildDnsResponse } from '../../src/dns/dns-message.ts';
import { IdentityIndex } from '../../src/identify/identity-index.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settledHeap(): Promise<number> {
  // Interned endpoints leave through a FinalizationRegistry, which needs turns of the event loop.
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().heapUsed;
}

test('flooding past --dnstap-max-names: the cap holds and the heap stays flat', { timeout: 120_000 }, async (t) => {
  const main = new DnsNames({ maxAddresses: 2000 });
  const thread = new DnsNames({ maxAddresses: 2000 });
  const idx = new IdentityIndex({ dnsNames: thread });
  let learned = 0;
  const r = new DnstapReceiver({
    suffixes: new DnsSuffixes(),
    onLearn: (ops) => {
      for (const op of ops) {
        main.learn(op);
        thread.learn(op);
      }
      learned += ops.length;
    },
  });
  t.after(() => r.close());
  const { port } = await r.listenTcp('127.0.0.1', 0);
  const sock = connect({ port, host: '127.0.0.1' });
  t.after(() => sock.destroy());
  await new Promise<void>((res) => sock.once('connect', () => res()));
  sock.write(controlFrame(CONTROL_START));
  let n = 0;
  const round = async (answers: number) => {
    let chunk: Uint8Array[] = [];
    for (let i = 0; i < answers; i++, n++) {
      const q = `h${n}.flood.example`;
      chunk.push(
        dataFrame(
          encodeDnstap({
            type: 6,
            queryAddress: Uint8Array.of(10, 0, 0, n & 255),
            timeMs: Date.now(),
            responseMessage: buildDnsResponse(q, [
              { name: q, type: 'A', ttl: 300, data: `100.${(n >>> 16) & 63}.${(n >>> 8) & 255}.${n & 255}` },
            ]),
          }),
        ),
      );
      if (chunk.length === 500) {
        if (!sock.write(Buffer.concat(chunk))) await new Promise((res) => sock.once('drain', res));
        chunk = [];
      }
    }
    for (let waited = 0; learned < n; waited += 10) {
      if (waited > 60_000) throw new Error(`learnt ${learned} of ${n}`);
      await new Promise((res) => setTimeout(res, 10));
    }
  };
  await round(20_000);
  await round(20_000);
  const before = await settledHeap();
  await round(40_000);
  await round(40_000);
  const after = await settledHeap();
  assert.equal(main.size, 2000);
  assert.equal(thread.size, 2000);
  assert.equal(main.names, 2000);
  assert.equal(main.stats.evictions, n - 2000);
  assert.ok(idx.stats.endpoints < 10_000, `interned endpoints are let go: ${idx.stats.endpoints}`);
  assert.ok(after - before < 4 * 1024 * 1024, `heap grew ${((after - before) / 1048576).toFixed(1)} MiB over 80,000 more answers`);
});
