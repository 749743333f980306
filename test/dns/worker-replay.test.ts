/**
 * A receiving thread that starts after answers were learnt (a late or restarted thread) is handed
 * the main thread's table first, so it names ends like the others; answers learnt later reach it
 * through the relay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { WorkerPool } from '../../src/pipeline/threads/pool.ts';
import { defaultRunConfig } from '../../src/config/run-options.ts';
import { storeFor } from '../../src/pipeline/store.ts';
import { DnsNames, NO_CLIENT } from '../../src/dns/dns-names.ts';
import { IptNetflowExporter } from '../../src/generate/ipt-netflow.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';

test('a thread started after answers were learnt gets them; later answers are relayed', { timeout: 60_000 }, async (t) => {
  const config = defaultRunConfig({
    listen: { host: '127.0.0.1', port: 0 },
    workers: 1,
    logLevel: 'silent',
    dnstap: { listen: undefined, socket: '/nonexistent', maxNames: 100, graceMs: 600_000, overNetworks: false, nameSuffixes: ['default'] },
  });
  const store = storeFor(config);
  const quiet = { info() {}, warn() {}, error() {}, limited() {} };
  const pool = new WorkerPool(config, store, quiet);
  const names = new DnsNames({ maxAddresses: 100 });
  const now = Date.now();
  names.learn([4, parseIPv4('198.51.100.10'), null, NO_CLIENT, 'before.example', now - 1000, 300]);
  pool.dnsNames = names;
  const bound = await pool.start(undefined);
  t.after(() => pool.stop());
  const later: [4, number, null, number, string, number, number] = [
    4,
    parseIPv4('198.51.100.11'),
    null,
    NO_CLIENT,
    'after.example',
    now - 1000,
    300,
  ];
  names.learn(later);
  pool.learnNames([later]);
  // The relay and the thread's replies share one port, in order: after this flush the answer is applied.
  await new Promise((r) => setImmediate(r));
  await pool.flush();

  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  t.after(() => sock.close());
  const exp = new IptNetflowExporter({ protocol: 9 });
  const flow = (dst: string) => ({
    src4: parseIPv4('10.0.0.1'),
    dst4: parseIPv4(dst),
    srcPort: 40000,
    dstPort: 443,
    proto: 6,
    packets: 1,
    bytes: 100,
    startMs: now - 2000,
    endMs: now - 500,
  });
  const { payload } = exp.pack([flow('198.51.100.10'), flow('198.51.100.11'), flow('198.51.100.12')], 0, Date.now());
  await new Promise<void>((res, rej) => sock.send(payload, bound.port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  for (let waited = 0; store.pairs.reduce((n, p) => n + p.flows, 0) < 3 && waited < 20_000; waited += 50) {
    await pool.flush();
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(store.pairs.map((p) => p.dst.labels.host).sort(), ['after.example', 'before.example', 'unknown']);
});
