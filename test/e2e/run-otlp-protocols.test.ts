/**
 * Every OTLP protocol out of the real program, configured only through the standard
 * OTEL_EXPORTER_OTLP_* variables (and --otlp-protocol), to a receiver serving TLS or mTLS with
 * certificates made here by openssl: each delivers the same per-pair totals as /metrics, with
 * the headers, compression and temporality asked for. A CA that did not sign the receiver's
 * certificate fails every interval with one warn line and counts the failures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { connect, createServer, type Server } from 'node:net';
import { startCollectorProcess, parsePromText, pollUntil, type CollectorProcess } from '../support/run-collector.ts';
import { runSoftflowd, softflowdAvailable } from '../support/softflowd.ts';
import { OtlpReceiver, type ReceiverOptions } from '../support/otlp-receiver.ts';
import { makePki, opensslAvailable, type CertFiles, type Pki } from '../support/certs.ts';
import { PCAP, pairKey } from './fixtures/k8s-basic.ts';

const INVENTORY = fileURLToPath(new URL('./fixtures/k8s-basic-inventory.json', import.meta.url));
const skip = !softflowdAvailable()
  ? 'softflowd is not installed (scripts/setup-debian.sh installs it)'
  : !opensslAvailable()
    ? 'openssl is not installed'
    : false;
const METRICS = [
  ['netflow.connection.count', 'netflow_connection_count'],
  ['netflow.connection.bytes', 'netflow_connection_bytes'],
  ['netflow.connection.packets', 'netflow_connection_packets'],
] as const;

/** Per pair, the totals the receiver holds: the latest point (cumulative) or the sum of all points (delta). */
function otlpPairs(rx: OtlpReceiver, metric: string, delta: boolean): Map<string, number> {
  const out = new Map<string, number>();
  const points = delta ? rx.points().filter((p) => p.metric === metric) : [...rx.latest(metric).values()];
  for (const p of points) {
    const a = p.attributes;
    const k = pairKey(String(a['k8s.src.namespace']), String(a['k8s.src.name']), String(a['k8s.dst.namespace']), String(a['k8s.dst.name']));
    out.set(k, (out.get(k) ?? 0) + p.value);
  }
  return out;
}

function promPairs(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of parsePromText(text)) {
    if (s.name !== name) continue;
    const k = pairKey(s.labels.srcnamespace, s.labels.srchost, s.labels.dstnamespace, s.labels.dsthost);
    out.set(k, (out.get(k) ?? 0) + s.value);
  }
  return out;
}

const show = (m: Map<string, number>) => JSON.stringify([...m].sort(([a], [b]) => a.localeCompare(b)));

type CasPki = Pki & { files: Record<'ca' | 'server' | 'client' | 'otherCa', CertFiles> };

interface Case {
  receiver: (pki: CasPki) => ReceiverOptions;
  /** `url`: the receiver's, or the byte-counting proxy's with `countBytes`. */
  args: (rx: OtlpReceiver, url: string) => string[];
  env: (rx: OtlpReceiver, pki: CasPki) => NodeJS.ProcessEnv;
  check: (rx: OtlpReceiver, wireBytes: number) => void;
  delta?: boolean;
  countBytes?: boolean;
}

/** A TCP proxy in front of `port` that counts the bytes clients send (TLS and all). */
async function countingProxy(port: number): Promise<{ server: Server; url: string; sent: () => number }> {
  let sent = 0;
  const server = createServer((down) => {
    const up = connect(port, '127.0.0.1');
    down.on('data', (d: Buffer) => (sent += d.length));
    down.pipe(up).pipe(down);
    const close = () => {
      down.destroy();
      up.destroy();
    };
    down.on('error', close).on('close', close);
    up.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `https://127.0.0.1:${(server.address() as { port: number }).port}`, sent: () => sent };
}

/** One CA for the receivers, one the collector is told to trust in the wrong-CA case. */
function pkiWithCas(): CasPki {
  const pki = makePki();
  const ca = pki.ca('ca');
  const files = { ca, server: pki.leaf(ca, 'server', 'server'), client: pki.leaf(ca, 'client', 'client'), otherCa: pki.ca('other-ca') };
  return Object.assign(pki, { files });
}

async function deliversSameTotals(t: import('node:test').TestContext, c: Case): Promise<void> {
  const pki = pkiWithCas();
  t.after(() => pki.remove());
  const rx = await OtlpReceiver.start(c.receiver(pki));
  let col: CollectorProcess | undefined;
  t.after(async () => {
    if (col) await col.stop('SIGKILL');
    await rx.stop();
  });
  const proxy = c.countBytes ? await countingProxy(rx.port) : undefined;
  t.after(() => proxy?.server.close());
  col = await startCollectorProcess(
    ['--inventory', INVENTORY, '--merge-interval', '100ms', '--otlp-interval', '500ms', ...c.args(rx, proxy?.url ?? rx.url)],
    { env: c.env(rx, pki) },
  );
  const v9 = await runSoftflowd({ pcap: PCAP, host: '127.0.0.1', port: col.udpPort, version: 9 });
  assert.equal(v9.code, 0, v9.log);
  const page = await pollUntil(async () => {
    const body = (await col!.get('/metrics')).body;
    return [...promPairs(body, 'netflow_connection_count').values()].reduce((a, b) => a + b, 0) === 19 && body;
  }, 30_000);
  for (const [otlpName, promName] of METRICS) {
    const want = promPairs(page, promName);
    await rx
      .waitFor(() => show(otlpPairs(rx, otlpName, c.delta ?? false)) === show(want), 30_000)
      .catch((err: Error) =>
        assert.fail(
          `${otlpName}: ${err.message}\n want ${show(want)}\n  got ${show(otlpPairs(rx, otlpName, c.delta ?? false))}\n${col!.stderr()}`,
        ),
      );
  }
  c.check(rx, proxy?.sent() ?? 0);
  const exit = await col.stop('SIGTERM');
  col = undefined;
  assert.equal(exit.code, 0);
}

test('OTLP grpc over TLS with a custom CA, a bearer header and gzip', { skip, timeout: 120_000 }, async (t) => {
  await deliversSameTotals(t, {
    countBytes: true,
    receiver: (pki) => ({ transport: 'grpc', tls: { cert: pki.files.server.certPem(), key: pki.files.server.keyPem() } }),
    args: (_rx, url) => ['--otlp-protocol', 'grpc', '--otlp-endpoint', url],
    env: (_rx, pki) => ({
      OTEL_EXPORTER_OTLP_CERTIFICATE: pki.files.ca.cert,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer s3cret-token',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    }),
    check: (rx, wire) => {
      assert.ok(rx.requests.length > 0);
      for (const r of rx.requests) {
        assert.equal(r.format, 'grpc');
        assert.equal(r.headers.authorization, 'Bearer s3cret-token', 'the receiver sees the bearer header');
      }
      assert.equal(rx.points()[0].temporality, 'cumulative');
      // grpc-js decompresses before the handler and hides grpc-encoding, so gzip shows in the
      // bytes on the wire (TLS, HTTP/2 framing and all) against the decoded requests' size.
      const decoded = rx.requests.reduce((a, r) => a + r.bytes, 0);
      assert.ok(wire < decoded * 0.6, `gzip on the wire: ${wire} bytes sent for ${decoded} bytes of requests`);
    },
  });
});

test('OTLP grpc over mTLS with the signal-specific variables (OTEL_EXPORTER_OTLP_METRICS_*)', { skip, timeout: 120_000 }, async (t) => {
  await deliversSameTotals(t, {
    receiver: (pki) => ({
      transport: 'grpc',
      tls: { cert: pki.files.server.certPem(), key: pki.files.server.keyPem(), clientCa: pki.files.ca.certPem() },
    }),
    args: () => [],
    env: (rx, pki) => ({
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: rx.url,
      OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: pki.files.ca.cert,
      OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: pki.files.client.key,
      OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE: pki.files.client.cert,
      // The general forms lose to the signal-specific ones.
      OTEL_EXPORTER_OTLP_CERTIFICATE: pki.files.otherCa.cert,
    }),
    check: (rx) => {
      assert.ok(rx.requests.length > 0);
      assert.ok(rx.requests.every((r) => r.format === 'grpc'));
    },
  });
});

test('OTLP http/protobuf over mTLS from OTEL_EXPORTER_OTLP_PROTOCOL and the base OTEL_EXPORTER_OTLP_ENDPOINT, gzip', {
  skip,
  timeout: 120_000,
}, async (t) => {
  await deliversSameTotals(t, {
    receiver: (pki) => ({
      transport: 'http',
      tls: { cert: pki.files.server.certPem(), key: pki.files.server.keyPem(), clientCa: pki.files.ca.certPem() },
    }),
    args: () => [],
    env: (rx, pki) => ({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_EXPORTER_OTLP_CERTIFICATE: pki.files.ca.cert,
      OTEL_EXPORTER_OTLP_CLIENT_KEY: pki.files.client.key,
      OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: pki.files.client.cert,
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-scope-orgid=tenant-a',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    }),
    check: (rx) => {
      for (const r of rx.requests) {
        assert.equal(r.format, 'application/x-protobuf');
        assert.equal(r.encoding, 'gzip');
        assert.equal(r.headers['x-scope-orgid'], 'tenant-a');
      }
    },
  });
});

test('OTLP http/json from OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, delta temporality, a timeout from the environment', {
  skip,
  timeout: 120_000,
}, async (t) => {
  await deliversSameTotals(t, {
    delta: true,
    receiver: (pki) => ({ transport: 'http', tls: { cert: pki.files.server.certPem(), key: pki.files.server.keyPem() } }),
    args: () => [],
    env: (rx, pki) => ({
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: rx.metricsUrl,
      OTEL_EXPORTER_OTLP_CERTIFICATE: pki.files.ca.cert,
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
      OTEL_EXPORTER_OTLP_TIMEOUT: '4000',
    }),
    check: (rx) => {
      for (const r of rx.requests) {
        assert.equal(r.format, 'application/json');
        assert.equal(r.encoding, 'identity');
      }
      assert.ok(
        rx
          .points()
          .filter((p) => p.metric.startsWith('netflow.connection.'))
          .every((p) => p.temporality === 'delta'),
      );
    },
  });
});

test('OTLP to a receiver whose certificate the configured CA did not sign: one warn line per interval, failures counted', {
  skip,
  timeout: 120_000,
}, async (t) => {
  const pki = pkiWithCas();
  t.after(() => pki.remove());
  const rx = await OtlpReceiver.start({ transport: 'http', tls: { cert: pki.files.server.certPem(), key: pki.files.server.keyPem() } });
  let col: CollectorProcess | undefined;
  t.after(async () => {
    if (col) await col.stop('SIGKILL');
    await rx.stop();
  });
  const started = performance.now();
  col = await startCollectorProcess(
    ['--inventory', INVENTORY, '--otlp-protocol', 'http/protobuf', '--otlp-endpoint', rx.url, '--otlp-interval', '1s'],
    {
      env: { OTEL_EXPORTER_OTLP_CERTIFICATE: pki.files.otherCa.cert, OTEL_EXPORTER_OTLP_TIMEOUT: '800' },
    },
  );
  const c = col;
  const failures = async () =>
    parsePromText((await c.get('/metrics')).body).find((s) => s.name === 'netflow_k8s_otlp_exports_total' && s.labels.result === 'failure')
      ?.value ?? 0;
  await pollUntil(async () => (await failures()) >= 3, 30_000);
  const elapsedS = (performance.now() - started) / 1000;
  const lines = c.logs().filter((l) => l.msg === 'OTLP export failed');
  assert.ok(lines.length >= 2, `a warn line per failed interval: ${lines.length}`);
  assert.ok(lines.length <= Math.ceil(elapsedS) + 1, `at most one line per interval: ${lines.length} lines in ${elapsedS.toFixed(1)} s`);
  const line = lines[0];
  assert.equal(line.level, 40, 'warn');
  assert.equal(line.protocol, 'http/protobuf');
  assert.equal(line.endpoint, `${rx.url}/v1/metrics`);
  assert.match(String(line.err), /certificate|self.signed|issuer/i, `the error says why: ${String(line.err)}`);
  assert.equal(rx.requests.length, 0, 'nothing reached the receiver');
  assert.equal((await c.stop('SIGTERM')).code, 0);
  col = undefined;
});

test('OTEL_EXPORTER_OTLP_TIMEOUT is honoured: a receiver slower than it fails the exports, with a warn line', {
  skip,
  timeout: 120_000,
}, async (t) => {
  const rx = await OtlpReceiver.start({ transport: 'http' });
  rx.delayMs = 5000;
  let col: CollectorProcess | undefined;
  t.after(async () => {
    if (col) await col.stop('SIGKILL');
    await rx.stop();
  });
  col = await startCollectorProcess(['--inventory', INVENTORY, '--otlp-interval', '2s'], {
    env: {
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: rx.metricsUrl,
      OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '300',
    },
  });
  const c = col;
  // The receiver holds each answer 5 s; with the 2 s interval's own bound only, exports would succeed.
  await pollUntil(
    async () =>
      (parsePromText((await c.get('/metrics')).body).find(
        (s) => s.name === 'netflow_k8s_otlp_exports_total' && s.labels.result === 'failure',
      )?.value ?? 0) >= 2,
    30_000,
  );
  const line = c.logs().find((l) => l.msg === 'OTLP export failed');
  assert.ok(line, 'a warn line');
  assert.match(String(line.err), /timeout|timed out|abort/i, String(line.err));
  assert.equal(
    parsePromText((await c.get('/metrics')).body).find((s) => s.name === 'netflow_k8s_otlp_exports_total' && s.labels.result === 'success')
      ?.value,
    0,
  );
  assert.equal((await c.stop('SIGTERM')).code, 0);
  col = undefined;
});
