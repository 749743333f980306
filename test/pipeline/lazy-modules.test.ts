/**
 * Packages a collector does not use stay unloaded: without OTLP no OpenTelemetry package, gRPC or
 * the SDK; with a static inventory no Kubernetes client; without an ASN database no MaxMind
 * reader; without basic auth no bcrypt, without dnstap no protobuf reader. A scrape of
 * /metrics/otel loads the resource package alone (for target_info), never the SDK or the official
 * exporter. Each is some MiB of heap in an agent that runs on every node. A receiving thread loads
 * no package at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);

/** Packages the main thread loaded by the time the collector was ready, and after a /metrics/otel scrape. */
function packagesLoaded(otlpEndpoint: string | undefined): { atStart: string[]; afterOtelScrape: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-'));
  try {
    const inv = join(dir, 'inventory.json');
    writeFileSync(inv, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
    const code = `
      const { registerHooks } = await import('node:module');
      const seen = new Set();
      registerHooks({ load(u, ctx, next) { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(u); if (m) seen.add(m[1]); return next(u, ctx); } });
      const { startCollector } = await import(${url('../../src/pipeline/collector.ts')});
      const { defaultRunConfig } = await import(${url('../../src/config/run-options.ts')});
      const cfg = { ...defaultRunConfig(), listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, workers: 1,
        udpBackend: 'dgram', udpSpread: 'exporter', inventory: ${JSON.stringify(inv)}, logLevel: 'error', otlpEndpoint: ${JSON.stringify(otlpEndpoint ?? null)} ?? undefined };
      const c = await startCollector(cfg);
      const atStart = [...seen].sort();
      const r = await fetch('http://127.0.0.1:' + c.http.port + '/metrics/otel');
      if (r.status !== 200 || !(await r.text()).includes('target_info')) throw new Error('no page');
      const afterOtelScrape = [...seen].sort();
      await c.stop();
      process.stdout.write(JSON.stringify({ atStart, afterOtelScrape }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { atStart: string[]; afterOtelScrape: string[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('without OTLP the collector loads no OpenTelemetry, gRPC, Kubernetes, MaxMind, bcrypt or protobuf package', {
  timeout: 90_000,
}, () => {
  const { atStart, afterOtelScrape } = packagesLoaded(undefined);
  assert.ok(atStart.includes('pino'), `the hook sees packages: ${atStart.join(', ')}`);
  const unwanted = (l: string[]) =>
    l.filter(
      (p) =>
        p.startsWith('@opentelemetry/') ||
        p.startsWith('@grpc/') ||
        p === '@kubernetes/client-node' ||
        p === 'maxmind' ||
        // Basic auth's hashes (no --web-config-file) and dnstap's protobuf reader (no --dnstap-*).
        p === 'bcryptjs' ||
        p === 'protobufjs',
    );
  assert.deepEqual(unwanted(atStart), []);
  // The page needs the resource's attributes only.
  assert.deepEqual(
    unwanted(afterOtelScrape).filter(
      (p) => !['@opentelemetry/resources', '@opentelemetry/core', '@opentelemetry/api', '@opentelemetry/semantic-conventions'].includes(p),
    ),
    [],
  );
  assert.ok(afterOtelScrape.includes('@opentelemetry/resources'));
});

test('with OTLP the gRPC exporter is loaded (the control)', { timeout: 90_000 }, () => {
  const { atStart } = packagesLoaded('http://127.0.0.1:9');
  assert.ok(atStart.includes('@grpc/grpc-js') && atStart.includes('@opentelemetry/sdk-metrics'), atStart.join(', '));
  assert.ok(!atStart.includes('@opentelemetry/exporter-prometheus'), 'the official Prometheus exporter is never loaded');
});

/** The modules (src/ paths and packages) each receiving thread loaded by the time the collector was ready. */
function threadModules(): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-threads-'));
  try {
    const inv = join(dir, 'inventory.json');
    writeFileSync(inv, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
    // Preloaded in every thread (workers inherit the flags): each thread lists what it loads in its own file.
    const hook = join(dir, 'hook.mjs');
    writeFileSync(
      hook,
      `import { registerHooks } from 'node:module';
       import { appendFileSync } from 'node:fs';
       import { threadId } from 'node:worker_threads';
       registerHooks({ load(u, ctx, next) { appendFileSync(${JSON.stringify(dir)} + '/thread-' + threadId, u + '\\n'); return next(u, ctx); } });`,
    );
    const code = `
      const { startCollector } = await import(${url('../../src/pipeline/collector.ts')});
      const { defaultRunConfig } = await import(${url('../../src/config/run-options.ts')});
      const cfg = { ...defaultRunConfig(), listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, workers: 2,
        udpSpread: 'datagram', inventory: ${JSON.stringify(inv)}, logLevel: 'error', otlpEndpoint: 'http://127.0.0.1:9' };
      const c = await startCollector(cfg);
      await c.stop();`;
    const r = spawnSync(process.execPath, [`--import=${pathToFileURL(hook).href}`, '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(dir).filter((f) => f.startsWith('thread-') && f !== 'thread-0');
    return files.map((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((u) => u.startsWith('file:'))
        .map((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1] ?? u.replace(/^.*\/src\//, '')),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a receiving thread loads no package and no option parser: its heap holds only the receive path', { timeout: 90_000 }, () => {
  const threads = threadModules();
  assert.equal(threads.length, 2, 'the hook saw both receiving threads');
  for (const mods of threads) {
    assert.ok(mods.includes('pipeline/threads/receiver-thread.ts') && mods.includes('decode/decoder.ts'), mods.join(', '));
    // The YAML parser alone was about 1 MiB of each thread's heap; the store's code is the main thread's.
    const unwanted = mods.filter(
      (m) => !m.endsWith('.ts') || m.startsWith('config/options') || m.startsWith('config/run-op') || m === 'aggregate/pair-store.ts',
    );
    assert.deepEqual(unwanted, []);
  }
});
