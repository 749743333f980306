/**
 * dnstap end to end: a real unbound streams its answers to the real collector, pods (loopback
 * addresses in the inventory) resolve with dig, and NetFlow for their connections is named by
 * what they resolved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startCollectorProcess, metricSum, parsePromText, pollUntil, type CollectorProcess } from '../support/run-collector.ts';
import { Unbound, haveUnbound } from '../support/unbound.ts';
import { IptNetflowExporter, type IptFlow } from '../../src/generate/ipt-netflow.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';
import { CONTROL_START, controlFrame, dataFrame } from '../../src/dns/frame-streams.ts';
import { encodeDnstap } from '../../src/dns/dnstap-decode.ts';
import { buildDnsResponse } from '../../src/dns/dns-message.ts';

const skip = haveUnbound() ? false : 'needs unbound and dig (apt-get install unbound dnsutils)';

function pod(name: string, ip: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${name}-0`,
      namespace: 'shop',
      uid: `uid-${name}`,
      labels: { app: name },
      creationTimestamp: '2020-01-01T00:00:00Z',
    },
    spec: { nodeName: 'node-a', containers: [{ name: 'main', image: 'x', ports: [] }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], startTime: '2020-01-01T00:00:00Z' },
  };
}

function setup(t: import('node:test').TestContext): { dir: string; inventory: string } {
  const dir = mkdtempSync(join(tmpdir(), 'run-dnstap-'));
  const inventory = join(dir, 'inventory.json');
  writeFileSync(inventory, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [pod('web', '127.0.0.2'), pod('batch', '127.0.0.3')] }));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, inventory };
}

function dnstapPort(c: CollectorProcess): number {
  const l = c.logs().find((x) => x.msg === 'listening') as { dnstap?: { tcp: { port: number } } };
  return l.dnstap!.tcp.port;
}

async function sender(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

// One exporter per collector: a new collector needs the template again.
const exporters = new Map<number, IptNetflowExporter>();
async function sendFlows(s: Socket, port: number, flows: IptFlow[]): Promise<void> {
  let exporter = exporters.get(port);
  if (exporter === undefined) exporters.set(port, (exporter = new IptNetflowExporter({ protocol: 9 })));
  for (let from = 0; from < flows.length; ) {
    const { payload, taken } = exporter.pack(flows, from, Date.now());
    await new Promise<void>((res, rej) => s.send(payload, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
    from += taken;
  }
}
function flows(src: string, dst: string, n: number, endMs = Date.now() - 500): IptFlow[] {
  return Array.from({ length: n }, (_, i) => ({
    src4: parseIPv4(src),
    dst4: parseIPv4(dst),
    srcPort: 40000 + i,
    dstPort: 443,
    proto: 6,
    packets: 2,
    bytes: 300,
    startMs: endMs - 1000,
    endMs,
  }));
}

const count = (body: string, labels: Record<string, string>) => metricSum(body, 'netflow_connection_count', labels);

/**
 * A connection starts after the answer it used, and its flow ends later still. NetFlow v9 headers
 * carry whole seconds, so a flow's end can read up to a second early: flows made right after a
 * dig could seem to end before the answer (and rightly go unnamed). Wait that out.
 */
async function afterAnswers(answeredBy: number): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, answeredBy + 2000 - Date.now())));
}

/**
 * Until the collector knows `addresses` DNS-named addresses and every receiving thread has applied
 * every answer: flows sent before that could reach a thread ahead of the names (in a cluster, a
 * flow is reported seconds after the answer that preceded it).
 */
async function namesApplied(c: CollectorProcess, addresses: number, threads = 1): Promise<void> {
  await pollUntil(
    async () => {
      const b = (await c.get('/metrics')).body;
      const learned = metricSum(b, 'netflow_k8s_dns_answers_learned_total');
      const perThread = parsePromText(b).filter((x) => x.name === 'netflow_k8s_dns_thread_answers_learned_total');
      return (
        metricSum(b, 'netflow_k8s_dns_addresses') === addresses &&
        perThread.length === threads &&
        perThread.every((x) => x.value === learned)
      );
    },
    60_000,
    100,
  );
}

test('a dnstap listener that cannot be opened stops the start with exit code 2 naming the field', { timeout: 60_000 }, async (t) => {
  const { dir, inventory } = setup(t);
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  for (const [args, re] of [
    [['--dnstap-listen', `127.0.0.1:${port}`], /dnstapListen/],
    [['--dnstap-socket', join(dir, 'no', 'such', 'dir', 'dnstap.sock')], /dnstapSocket/],
  ] as const) {
    const r = await runCli(['--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--inventory', inventory, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test('unbound → dnstap → names: resolved vs unresolved, a CNAME chain, two clients with different names, a reconnecting server', {
  skip,
  timeout: 120_000,
}, async (t) => {
  const { dir, inventory } = setup(t);
  let c: CollectorProcess | undefined;
  let u: Unbound | undefined;
  const s = await sender();
  t.after(async () => {
    s.close();
    await u?.stop();
    await c?.stop('SIGKILL');
  });
  c = await startCollectorProcess(['--inventory', inventory, '--dnstap-listen', '127.0.0.1:0', '--merge-interval', '100ms']);
  const col = c;
  u = await Unbound.start({
    dir,
    dnstapPort: dnstapPort(col),
    localData: [
      'api.stripe.test. 300 IN A 198.51.100.10',
      'a.cdn.test. 300 IN A 203.0.113.7',
      'b.cdn.test. 300 IN A 203.0.113.7',
      'later.test. 300 IN A 198.51.100.30',
    ],
    chainZone: [
      '$ORIGIN chain.',
      '@ 3600 IN SOA ns.chain. h.chain. 1 3600 600 86400 60',
      '@ 3600 IN NS ns.chain.',
      'ns 3600 IN A 127.0.0.1',
      'www.shop 60 IN CNAME edge.cdn',
      'edge.cdn 30 IN CNAME e1.edge.cdn',
      'e1.edge.cdn 20 IN A 198.51.100.20',
      '',
    ].join('\n'),
  });
  await pollUntil(async () => metricSum((await col.get('/metrics')).body, 'netflow_k8s_inventory_ready') === 1, 20_000);

  assert.deepEqual(await u.dig('api.stripe.test', '127.0.0.2'), ['198.51.100.10']);
  assert.deepEqual((await u.dig('www.shop.chain', '127.0.0.2')).at(-1), '198.51.100.20');
  assert.deepEqual(await u.dig('a.cdn.test', '127.0.0.2'), ['203.0.113.7']);
  assert.deepEqual(await u.dig('b.cdn.test', '127.0.0.3'), ['203.0.113.7']);
  const asked = Date.now();
  await namesApplied(col, 3);
  await afterAnswers(asked);

  await sendFlows(s, col.udpPort, [
    ...flows('127.0.0.2', '198.51.100.10', 5),
    ...flows('127.0.0.2', '198.51.100.99', 3),
    ...flows('127.0.0.2', '198.51.100.20', 4),
    ...flows('127.0.0.2', '203.0.113.7', 6),
    ...flows('127.0.0.3', '203.0.113.7', 7),
  ]);
  const body = await pollUntil(async () => {
    const b = (await col.get('/metrics')).body;
    return metricSum(b, 'netflow_connection_count') === 25 ? b : undefined;
  }, 30_000);
  const seen = body
    .split('\n')
    .filter((l) => l.startsWith('netflow_connection_count'))
    .join('\n');
  assert.equal(count(body, { srchost: 'web', dsthost: 'api.stripe.test', dstnamespace: 'external' }), 5, `resolved: named\n${seen}`);
  assert.equal(count(body, { srchost: 'web', dsthost: 'unknown' }), 3, `nobody resolved it: unknown\n${seen}`);
  assert.equal(count(body, { srchost: 'web', dsthost: 'www.shop.chain' }), 4, `the question name, through the CNAME chain\n${seen}`);
  assert.equal(count(body, { srchost: 'web', dsthost: 'a.cdn.test' }), 6, `each client gets the name it resolved\n${seen}`);
  assert.equal(count(body, { srchost: 'batch', dsthost: 'b.cdn.test' }), 7, seen);
  assert.equal(metricSum(body, 'netflow_k8s_dns_named_flows_total'), 22);
  assert.ok(metricSum(body, 'netflow_k8s_dnstap_messages_total', { type: 'CLIENT_RESPONSE' }) >= 4);
  assert.equal(metricSum(body, 'netflow_k8s_dnstap_connections'), 1);

  // The DNS server restarts: it connects again and what it answers next is learnt too.
  await u.stop();
  await pollUntil(async () => metricSum((await col.get('/metrics')).body, 'netflow_k8s_dnstap_connections') === 0, 20_000);
  await u.start();
  assert.deepEqual(await u.dig('later.test', '127.0.0.3'), ['198.51.100.30']);
  const askedLater = Date.now();
  await namesApplied(col, 4);
  await afterAnswers(askedLater);
  await sendFlows(s, col.udpPort, flows('127.0.0.3', '198.51.100.30', 2));
  const after = await pollUntil(async () => {
    const b = (await col.get('/metrics')).body;
    return count(b, { srchost: 'batch', dsthost: 'later.test' }) === 2 ? b : undefined;
  }, 30_000).catch(async (err: Error) => {
    const b = (await col.get('/metrics')).body;
    throw new Error(
      `${err.message}\n${b
        .split('\n')
        .filter((l) => /^netflow_connection_count|^netflow_k8s_(dns|flow_records|datagrams_total)/.test(l))
        .join('\n')}`,
    );
  });
  assert.equal(metricSum(after, 'netflow_k8s_dnstap_connections_accepted_total'), 2);
  assert.equal(count(after, { srchost: 'web', dsthost: 'api.stripe.test' }), 5, 'names learnt before the reconnect stay');
});

test('--dnstap-socket: unbound streams over a unix socket', { skip, timeout: 60_000 }, async (t) => {
  const { dir, inventory } = setup(t);
  let c: CollectorProcess | undefined;
  let u: Unbound | undefined;
  const s = await sender();
  t.after(async () => {
    s.close();
    await u?.stop();
    await c?.stop('SIGKILL');
  });
  const path = join(dir, 'dnstap.sock');
  c = await startCollectorProcess(['--inventory', inventory, '--dnstap-socket', path, '--merge-interval', '100ms']);
  const col = c;
  u = await Unbound.start({ dir, dnstapSocket: path, localData: ['unix.test. 300 IN A 198.51.100.50'] });
  await pollUntil(async () => metricSum((await col.get('/metrics')).body, 'netflow_k8s_inventory_ready') === 1, 20_000);
  assert.deepEqual(await u.dig('unix.test', '127.0.0.2'), ['198.51.100.50']);
  const asked = Date.now();
  await namesApplied(col, 1);
  await afterAnswers(asked);
  await sendFlows(s, col.udpPort, flows('127.0.0.2', '198.51.100.50', 4));
  await pollUntil(async () => count((await col.get('/metrics')).body, { srchost: 'web', dsthost: 'unix.test' }) === 4, 30_000);
});

test('TTL plus grace: a late flow that ended while the answer held is named, a flow ending after it is not', {
  skip,
  timeout: 60_000,
}, async (t) => {
  const { dir, inventory } = setup(t);
  let c: CollectorProcess | undefined;
  let u: Unbound | undefined;
  const s = await sender();
  t.after(async () => {
    s.close();
    await u?.stop();
    await c?.stop('SIGKILL');
  });
  c = await startCollectorProcess([
    '--inventory',
    inventory,
    '--dnstap-listen',
    '127.0.0.1:0',
    '--dns-grace',
    '1s',
    '--merge-interval',
    '100ms',
  ]);
  const col = c;
  u = await Unbound.start({ dir, dnstapPort: dnstapPort(col), localData: ['short.test. 1 IN A 198.51.100.40'] });
  await pollUntil(async () => metricSum((await col.get('/metrics')).body, 'netflow_k8s_inventory_ready') === 1, 20_000);
  const asked = Date.now();
  assert.deepEqual(await u.dig('short.test', '127.0.0.2'), ['198.51.100.40']);
  await namesApplied(col, 1);
  // TTL 1 s + grace 1 s have run out before either flow is reported. (NetFlow v9 headers carry
  // whole seconds and the table rounds outwards to seconds, so the margins are a second or more.)
  await new Promise((r) => setTimeout(r, Math.max(0, asked + 6000 - Date.now())));
  await sendFlows(s, col.udpPort, [
    ...flows('127.0.0.2', '198.51.100.40', 3, asked + 1500),
    ...flows('127.0.0.3', '198.51.100.40', 2, Date.now()),
  ]);
  const body = await pollUntil(async () => {
    const b = (await col.get('/metrics')).body;
    return metricSum(b, 'netflow_connection_count') === 5 ? b : undefined;
  }, 30_000);
  assert.equal(count(body, { srchost: 'web', dsthost: 'short.test' }), 3, 'ended inside TTL + grace, reported late');
  assert.equal(count(body, { srchost: 'batch', dsthost: 'unknown' }), 2, 'ended after TTL + grace');
});

test('a DNS server flooding names past --dnstap-max-names: the cap holds on every thread, evictions are counted', {
  timeout: 120_000,
}, async (t) => {
  const { inventory } = setup(t);
  const c = await startCollectorProcess([
    '--inventory',
    inventory,
    '--dnstap-listen',
    '127.0.0.1:0',
    '--dnstap-max-names',
    '5000',
    '--workers',
    '2',
    '--udp-spread',
    'datagram', // both threads from the start, with no traffic to bring the second
    '--merge-interval',
    '100ms',
  ]);
  t.after(() => c.stop('SIGKILL'));
  const sock = connect({ port: dnstapPort(c), host: '127.0.0.1' });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(controlFrame(CONTROL_START));
  const N = 60_000;
  const chunks: Uint8Array[] = [];
  for (let n = 0; n < N; n++) {
    const a = `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    const q = `host-${n}.flood.example`;
    chunks.push(
      dataFrame(
        encodeDnstap({
          type: 6,
          queryAddress: Uint8Array.of(127, 0, 0, 2),
          timeMs: Date.now(),
          responseMessage: buildDnsResponse(q, [{ name: q, type: 'A', ttl: 300, data: a }]),
        }),
      ),
    );
    if (chunks.length === 1000) {
      if (!sock.write(Buffer.concat(chunks))) await new Promise((r) => sock.once('drain', r));
      chunks.length = 0;
    }
  }
  const body = await pollUntil(
    async () => {
      const b = (await c.get('/metrics')).body;
      return metricSum(b, 'netflow_k8s_dns_answers_learned_total') === N ? b : undefined;
    },
    60_000,
    200,
  );
  sock.destroy();
  await namesApplied(c, 5000, 2);
  assert.equal(metricSum(body, 'netflow_k8s_dns_addresses'), 5000);
  assert.equal(metricSum(body, 'netflow_k8s_dns_evictions_total'), N - 5000);
  assert.equal(metricSum(body, 'netflow_k8s_dns_names'), 5000);
  // The receiving threads hold the same 5,000: the last answers name their flows, the first ones no longer do.
  const s = await sender();
  t.after(() => s.close());
  await sendFlows(s, c.udpPort, [
    ...flows('127.0.0.2', `10.0.${((N - 1) >>> 8) & 255}.${(N - 1) & 255}`, 3),
    ...flows('127.0.0.2', '10.0.0.0', 2),
  ]);
  const named = await pollUntil(async () => {
    const b = (await c.get('/metrics')).body;
    return metricSum(b, 'netflow_connection_count') === 5 ? b : undefined;
  }, 30_000);
  assert.equal(count(named, { dsthost: `host-${N - 1}.flood.example` }), 3);
  assert.equal(count(named, { dsthost: 'unknown' }), 2);
});
