/**
 * The own /metrics/otel renderer against the official @opentelemetry/exporter-prometheus, kept
 * here as the reference (test/support/otel-prometheus-reference.ts): on the same store, registry
 * and resource the two pages are equal byte for byte, for hand-picked edge cases and for random
 * label text. And the page loads no OpenTelemetry package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { PairStore } from '../../src/aggregate/pair-store.ts';
import { buildResource } from '../../src/export/otel/resource.ts';
import { OtelPrometheusText } from '../../src/export/otel/prometheus-text.ts';
import { MetricsRegistry } from '../../src/observe/metrics.ts';
import { OtelPrometheus } from '../support/otel-prometheus-reference.ts';
import { ep, rec } from '../aggregate/fixtures.ts';
import { heapAfterGc } from '../support/heap.ts';

const T0 = 1_700_000_000_000;
/** The server end the heap tests' pairs share. */
const postgres = () =>
  ep({ kind: 'pod', namespace: 'payments', name: 'postgres-0', ownerKind: 'StatefulSet', ownerName: 'postgres', nodeName: 'n1' });

/** The official exporter's page for the same inputs. */
async function officialPage(
  store: PairStore,
  registry: MetricsRegistry | undefined,
  resource = buildResource({ clusterName: 'c1', env: {} }),
): Promise<string> {
  const otel = new OtelPrometheus({ store, resource, registry });
  try {
    return await new Promise<string>((resolve) => {
      const res = { statusCode: 0, setHeader() {}, end: (b: string) => resolve(b) };
      otel.handler({} as never, res as never);
    });
  } finally {
    await otel.shutdown();
  }
}

function ours(store: PairStore, registry: MetricsRegistry | undefined, resource = buildResource({ clusterName: 'c1', env: {} })): string {
  return new OtelPrometheusText({ store, resourceAttributes: resource.attributes, registry }).render();
}

function edgeStore(): PairStore {
  const s = new PairStore({ level: 'pod', dims: { protocol: true, serverPort: true }, maxSeries: 4 });
  const web = ep({ kind: 'pod', namespace: 'shop', name: 'web-1', app: 'web', ownerKind: 'Deployment', ownerName: 'web', nodeName: 'n1' });
  const db = ep({
    kind: 'pod',
    namespace: 'data',
    name: 'db-"0"\\x\nz',
    app: 'db',
    ownerKind: 'StatefulSet',
    ownerName: 'db',
    nodeName: 'n2',
  });
  const ext = ep({ kind: 'external', namespace: '', name: 'AS15169 Google ü', app: 'AS15169 Google' });
  const node = ep({ kind: 'node', namespace: '', name: 'node-a', nodeName: 'node-a' });
  s.add(web, db, 'src-client', rec(1000, 10, { proto: 6, srcPort: 40000, dstPort: 5432 }), T0);
  s.add(web, db, 'src-client', rec(2 ** 53 - 1, 5, { proto: 6, srcPort: 40001, dstPort: 5432 }), T0 + 10);
  s.add(db, web, 'src-server', rec(9000, 8, { proto: 6, srcPort: 5432, dstPort: 40000 }), T0 + 20);
  s.add(web, ext, 'unknown', rec(7, 1, { proto: 17 }), T0 + 30);
  s.add(node, ext, 'unknown', rec(0.5e21, 1, { proto: 1 }), T0 + 40);
  // Past maxSeries: the overflow pair.
  for (let i = 0; i < 3; i++) s.add(ep({ name: `p${i}` }), web, 'src-client', rec(3, 1, { proto: 6, dstPort: 80 }), T0 + 50 + i);
  return s;
}

function registry(): MetricsRegistry {
  const reg = new MetricsRegistry();
  reg.counter('datagrams_received', 'Datagrams\nreceived \\ per "exporter"', ['exporter']).labels('10.0.0.1').inc(4);
  reg.counter('nothing_yet', 'A counter with no samples', ['x']);
  reg.counter('plain', 'Unlabelled').inc(1.5);
  reg.gauge('threads', 'Threads', ['thread', 'kind']).labels('0', 'recv"x').set(-2);
  reg.callback('broken', 'A callback that throws', 'gauge', () => {
    throw new Error('boom');
  });
  reg.callback('nan', 'A callback without a value', 'gauge', () => NaN);
  return reg;
}

test("/metrics/otel equals the official exporter's page byte for byte", async () => {
  const s = edgeStore();
  assert.ok(
    s.pairs.some((p) => p.overflow),
    'the overflow pair is on the page',
  );
  const reg = registry();
  assert.equal(ours(s, reg), await officialPage(s, reg));
  // Second render from the cached label text: still equal, and the store moved on in between.
  s.add(s.pairs[0].src.labels === undefined ? ep({}) : ep({ name: 'late' }), ep({ name: 'later' }), 'unknown', rec(1, 1), T0 + 99);
  assert.equal(ours(s, reg), await officialPage(s, reg));
  // Empty store, no registry; a resource with non-string attributes.
  const empty = new PairStore();
  const res = buildResource({ env: {} }).merge(resourceFromAttributes({ 'x.n': 3, 'x.b': true, 'x.list': ['a', 'b"'] }));
  assert.equal(ours(empty, undefined, res), await officialPage(empty, undefined, res));
  // The app level keeps other attributes.
  const app = new PairStore();
  app.add(
    ep({ app: 'web', namespace: 'shop', name: 'web-1', nodeName: 'n1' }),
    ep({ app: 'db', namespace: 'data' }),
    'unknown',
    rec(1, 1),
    T0,
  );
  assert.equal(ours(app, reg), await officialPage(app, reg));
});

test('/metrics/otel equals the official page for random label text and counts', async () => {
  const text = fc.string({ unit: 'binary', maxLength: 12 });
  const pair = fc.record({
    ns: text,
    name: text,
    owner: text,
    node: text,
    dst: text,
    bytes: fc.nat(),
    port: fc.integer({ min: 0, max: 65535 }),
    proto: fc.constantFrom(1, 6, 17, 132),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(pair, { maxLength: 8 }), async (pairs) => {
      const s = new PairStore({ level: 'pod', dims: { protocol: true, serverPort: true } });
      pairs.forEach((p, i) =>
        s.add(
          ep({ kind: 'pod', namespace: p.ns, name: p.name, ownerKind: 'Deployment', ownerName: p.owner, nodeName: p.node }),
          ep({ kind: 'service', namespace: 'x', name: p.dst }),
          i % 2 ? 'src-client' : 'unknown',
          rec(p.bytes, 1, { proto: p.proto, dstPort: p.port }),
          T0 + i,
        ),
      );
      assert.equal(ours(s, undefined), await officialPage(s, undefined));
    }),
    { numRuns: 150 },
  );
});

/** Every module URL (ESM and CommonJS) a child process loads while it runs `body`. */
export function modulesLoadedBy(body: string): string[] {
  const code = `
    const { registerHooks } = await import('node:module');
    const seen = [];
    registerHooks({ load(url, ctx, next) { seen.push(url); return next(url, ctx); } });
    ${body}
    process.stdout.write(JSON.stringify(seen));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

test('rendering /metrics/otel loads no OpenTelemetry package', () => {
  const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const loaded = modulesLoadedBy(`
    const { PairStore } = await import(${url('../../src/aggregate/pair-store.ts')});
    const { OtelPrometheusText } = await import(${url('../../src/export/otel/prometheus-text.ts')});
    new OtelPrometheusText({ store: new PairStore(), resourceAttributes: { 'service.name': 'x' } }).render();
  `);
  assert.ok(
    loaded.some((u) => u.endsWith('otel/prometheus-text.ts')),
    'the hook sees our modules',
  );
  assert.deepEqual(
    loaded.filter((u) => u.includes('@opentelemetry')),
    [],
  );
  // The control: the reference does load the exporter.
  const ref = modulesLoadedBy(`await import(${url('../support/otel-prometheus-reference.ts')});`);
  assert.ok(
    ref.some((u) => u.includes('@opentelemetry/exporter-prometheus')),
    ref.join('\n'),
  );
});

test('the page is streamed in pieces over HTTP and arrives whole', async () => {
  const s = new PairStore({ level: 'pod', dims: { protocol: true, serverPort: true } });
  const db = ep({ kind: 'pod', namespace: 'data', name: 'db-0' });
  for (let i = 0; i < 3000; i++)
    s.add(
      ep({ kind: 'pod', namespace: `ns-${i % 7}`, name: `web-${i}`, nodeName: 'n1' }),
      db,
      'src-client',
      rec(i, 1, { dstPort: 5432 }),
      T0 + i,
    );
  const page = new OtelPrometheusText({ store: s, resourceAttributes: { 'service.name': 'x' }, registry: registry() });
  const pieces = [...page.chunks()];
  assert.ok(pieces.length > 10, `${pieces.length} pieces`);
  assert.ok(pieces.every((c) => c.length < 70 * 1024));
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => {
    res.writeHead(200);
    void page.write(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as import('node:net').AddressInfo;
    const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.equal(body, pieces.join(''));
  } finally {
    server.close();
  }
});

test('the page keeps no label text per pair: 20,000 pairs between 100 ends', () => {
  const s = new PairStore({ level: 'pod', dims: { protocol: true, serverPort: true }, maxSeries: 50_000 });
  const db = postgres();
  const web = Array.from({ length: 100 }, (_, i) =>
    ep({ kind: 'pod', namespace: `team-${i % 40}`, name: `checkout-7d9f8c6b5-${i}`, ownerKind: 'Deployment', ownerName: 'checkout' }),
  );
  for (let i = 0; i < 20_000; i++) s.add(web[i % 100], db, 'src-client', rec(1000, 3, { dstPort: 1000 + Math.floor(i / 100) }), T0);
  const page = new OtelPrometheusText({ store: s, resourceAttributes: { 'service.name': 'x' } });
  // Pages are hashed in a function of their own, so nothing of this one keeps 30 MB of text alive.
  const digest = () => createHash('sha256').update(page.render()).digest('hex');
  // The first page builds what is shared (the ends' text, the tails); forget what it left on the pairs.
  const first = digest();
  for (const p of s.pairs) p.otelTextCache = undefined;
  const before = heapAfterGc();
  assert.equal(digest(), first);
  const perPair = (heapAfterGc() - before) / s.pairs.length;
  // A rope of the pair's whole `{...}` cached on each pair was about 190 bytes.
  assert.ok(perPair < 48, `${perPair.toFixed(0)} bytes kept per pair`);
});

test("the text a page keeps is its ends' (flat, not ropes); a zone series' is joined per line, not kept", () => {
  const s = new PairStore({ level: 'pod' });
  const db = postgres();
  for (let i = 0; i < 5000; i++) {
    const web = ep({
      kind: 'pod',
      namespace: `team-${i % 40}`,
      name: `web-${i}`,
      ownerKind: 'Deployment',
      ownerName: `web-${i}`,
      nodeName: 'n1',
    });
    s.add(web, db, 'src-client', rec(1000, 3, { dstPort: 5432 }), T0);
  }
  const digest = (page: OtelPrometheusText) => createHash('sha256').update(page.render()).digest('hex');
  // The first page builds what pages share (workload rows, zone series); a second page object its own text.
  // (Objects are made in functions of their own: a register of this one would keep them alive.)
  const fresh = () => new OtelPrometheusText({ store: s, resourceAttributes: { 'service.name': 'x' } });
  const first = (() => digest(fresh()))();
  const before = heapAfterGc();
  const page = fresh();
  assert.equal(digest(page), first);
  // Per web pod: its text as source and as destination, some 450 bytes flat. Its two workload series'
  // text kept made it 670; all of it built with += (ropes), 1,400.
  const perEnd = (heapAfterGc() - before) / 5000;
  assert.ok(page instanceof OtelPrometheusText, 'the page lived until measured');
  assert.ok(perEnd < 580, `${perEnd.toFixed(0)} bytes kept per end`);
});
