/** The receiver over real loopback TCP and a unix socket, with writers that behave and writers that do not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DnstapReceiver } from '../../src/dns/dnstap-receiver.ts';
import { DnsSuffixes, dnsSuffixesFromOption, DnsSuffixError } from '../../src/dns/dns-suffixes.ts';
import {
  CONTROL_ACCEPT,
  CONTROL_FINISH,
  CONTROL_READY,
  CONTROL_START,
  CONTROL_STOP,
  DNSTAP_CONTENT_TYPE,
  controlFrame,
  dataFrame,
} from '../../src/dns/frame-streams.ts';
import { encodeDnstap } from '../../src/dns/dnstap-decode.ts';

const CLIENT_QUERY = 5;
import { buildDnsResponse } from '../../src/dns/dns-message.ts';
import type { LearnOp } from '../../src/dns/dns-names.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';

function answerFrame(qname: string, addr: string, client = [10, 244, 1, 10], type = 6): Uint8Array {
  return dataFrame(
    encodeDnstap({
      type,
      queryAddress: Uint8Array.from(client),
      timeMs: Date.now(),
      responseMessage: buildDnsResponse(qname, [{ name: qname, type: 'A', ttl: 60, data: addr }]),
    }),
  );
}

async function open(target: { port: number } | { path: string }): Promise<{ sock: Socket; got: () => Buffer; closed: Promise<void> }> {
  const sock = connect(target as never);
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => (buf = Buffer.concat([buf, d])));
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  return { sock, got: () => buf, closed };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (let t = 0; !cond(); t += 10) {
    if (t > ms) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function receiver(extra: Partial<ConstructorParameters<typeof DnstapReceiver>[0]> = {}) {
  const learned: LearnOp[] = [];
  const warnings: string[] = [];
  const r = new DnstapReceiver({
    suffixes: new DnsSuffixes(),
    onLearn: (ops) => learned.push(...ops),
    log: { info() {}, warn: (k) => warnings.push(k) },
    ...extra,
  });
  return { r, learned, warnings };
}

test('a bidirectional writer over TCP: READY → ACCEPT, START, answers, STOP → FINISH', async (t) => {
  const { r, learned } = receiver();
  t.after(() => r.close());
  const { port } = await r.listenTcp('127.0.0.1', 0);
  const w = await open({ port });
  w.sock.write(controlFrame(CONTROL_READY, [DNSTAP_CONTENT_TYPE]));
  await until(() => w.got().length > 0);
  assert.deepEqual([...w.got()], [...controlFrame(CONTROL_ACCEPT, [DNSTAP_CONTENT_TYPE])]);
  w.sock.write(
    Buffer.concat([
      controlFrame(CONTROL_START, [DNSTAP_CONTENT_TYPE]),
      answerFrame('api.stripe.com', '198.51.100.10'),
      answerFrame('x.example', '198.51.100.11', [10, 244, 1, 10], CLIENT_QUERY),
    ]),
  );
  w.sock.write(controlFrame(CONTROL_STOP));
  await w.closed;
  assert.ok(
    w
      .got()
      .subarray(w.got().length - 12)
      .equals(Buffer.from(controlFrame(CONTROL_FINISH))),
  );
  assert.deepEqual(
    learned.map((o) => [o[1], o[4], o[6]]),
    [[parseIPv4('198.51.100.10'), 'api.stripe.com', 60]],
  );
  assert.equal(r.stats.messages[6], 1);
  assert.equal(r.stats.messages[5], 1);
  assert.equal(r.stats.accepted, 1);
  await until(() => r.stats.open === 0);
});

test('several servers at once; one sending garbage, one oversized, one silent are dropped and counted, the rest go on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dnstap-'));
  const { r, learned, warnings } = receiver({ handshakeMs: 300, maxFrame: 4096 });
  t.after(async () => {
    await r.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { port } = await r.listenTcp('127.0.0.1', 0);
  const path = join(dir, 'dnstap.sock');
  await r.listenUnix(path);
  const good1 = await open({ port });
  const good2 = await open({ path });
  const garbage = await open({ port });
  const huge = await open({ port });
  const silent = await open({ path });
  for (const g of [good1, good2]) g.sock.write(controlFrame(CONTROL_START));
  garbage.sock.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  huge.sock.write(Buffer.concat([controlFrame(CONTROL_START), Buffer.from([0, 1, 0, 0])]));
  await Promise.all([garbage.closed, huge.closed, silent.closed]);
  good1.sock.write(answerFrame('one.example', '198.51.100.1'));
  good2.sock.write(answerFrame('two.example', '198.51.100.2'));
  await until(() => learned.length === 2);
  assert.deepEqual(learned.map((o) => o[4]).sort(), ['one.example', 'two.example']);
  // "GET " read as a frame length is 1.2 GB: the garbage is dropped as oversized too.
  assert.equal(r.stats.dropped.oversized, 2, JSON.stringify(r.stats.dropped));
  assert.equal(r.stats.dropped['handshake-timeout'], 1);
  assert.equal(r.stats.open, 2);
  assert.ok(warnings.some((k) => k === 'dnstap:oversized'));
  good1.sock.destroy();
  good2.sock.destroy();
});

test('fuzzed data frames: decode errors are counted, nothing throws', () => {
  const { r } = receiver();
  const good = encodeDnstap({
    type: 6,
    queryAddress: Uint8Array.of(10, 0, 0, 1),
    timeMs: Date.now(),
    responseMessage: buildDnsResponse('a.example', [{ name: 'a.example', type: 'A', ttl: 5, data: '192.0.2.1' }]),
  });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 5 }),
      fc.uint8Array({ maxLength: 80 }),
      (flips, junk) => {
        const m = good.slice();
        for (const [i, v] of flips) m[i] = v;
        const ops: LearnOp[] = [];
        r.ingest(m, { sawClient: false }, ops);
        r.ingest(junk, { sawClient: false }, ops);
      },
    ),
    { numRuns: 3000 },
  );
  assert.ok(r.stats.decodeErrors.protobuf + r.stats.decodeErrors.dns > 0);
});

test('resolver-side answers count only from servers that log no client responses', () => {
  const { r } = receiver();
  const resolverAnswer = encodeDnstap({
    type: 4,
    timeMs: Date.now(),
    responseMessage: buildDnsResponse('r.example', [{ name: 'r.example', type: 'A', ttl: 5, data: '192.0.2.9' }]),
  });
  const only: LearnOp[] = [];
  r.ingest(resolverAnswer, { sawClient: false }, only);
  assert.equal(only.length, 1);
  assert.ok(only[0][3] < 0, 'no client: the resolver itself asked');
  const both: LearnOp[] = [];
  r.ingest(resolverAnswer, { sawClient: true }, both);
  assert.equal(both.length, 0);
});

test('--dns-name-suffixes: grouping rules, defaults, bad rules named', () => {
  const s = dnsSuffixesFromOption(['default', '*.internal.example=internal']);
  assert.equal(s.group('my-bucket.s3.amazonaws.com'), 's3.amazonaws.com');
  assert.equal(s.group('my-bucket.s3.eu-west-1.amazonaws.com'), 's3.eu-west-1.amazonaws.com');
  assert.equal(s.group('d111111abcdef8.cloudfront.net'), 'cloudfront.net');
  assert.equal(s.group('a.b.internal.example'), 'internal');
  assert.equal(s.group('api.stripe.com'), 'api.stripe.com');
  assert.equal(s.group('s3.amazonaws.com'), 's3.amazonaws.com');
  assert.equal(dnsSuffixesFromOption(['none']).group('x.s3.amazonaws.com'), 'x.s3.amazonaws.com');
  for (const bad of ['s3.amazonaws.com', '*.*', '*.a*b.com', '*.x='])
    assert.throws(() => dnsSuffixesFromOption([bad]), DnsSuffixError, bad);
});

test('an answer is timed by the DNS server, unless its clock is far off ours', () => {
  const now = 1_800_000_000_000;
  const { r } = receiver({ now: () => now });
  const at = (timeMs: number) => {
    const ops: LearnOp[] = [];
    r.ingest(
      encodeDnstap({
        type: 6,
        queryAddress: Uint8Array.of(10, 0, 0, 1),
        timeMs,
        responseMessage: buildDnsResponse('t.example', [{ name: 't.example', type: 'A', ttl: 5, data: '192.0.2.1' }]),
      }),
      { sawClient: false },
      ops,
    );
    return ops[0][5];
  };
  assert.equal(at(now - 3000), now - 3000);
  assert.equal(at(now - 86_400_000), now, 'a day off: our time');
  assert.equal(at(now + 3_600_000), now, 'an hour ahead: our time');
});
