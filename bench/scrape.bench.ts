/**
 * A whole /metrics scrape over HTTP at 20,000 series (pod level, realistic names), as a
 * Prometheus does it: classic text and OpenMetrics, plain and gzipped, with the time to the
 * last byte, the bytes on the wire and the longest event-loop stall during the scrape (the
 * receive path's merges wait on that loop). The budget is 50 ms per scrape.
 */
import { request } from 'node:http';
import { gzip, constants } from 'node:zlib';
import { promisify } from 'node:util';
import { openMetricsBytes } from '../src/export/prometheus/openmetrics.ts';
import { PrometheusTextRenderer } from '../src/export/prometheus/text.ts';
import { metricsHandler } from '../src/export/prometheus/endpoint.ts';
import { ByteWriter } from '../src/observe/byte-writer.ts';
import { HttpServer } from '../src/observe/http.ts';
import { fill } from './export.bench.ts';

/**
 * One GET timed to its last byte, as a scraper sees the collector's part of it; the body is kept
 * as it came over the wire (gzipped when the headers asked and the server agreed).
 */
export function timedGet(url: string, headers: Record<string, string>): Promise<{ ms: number; wire: Buffer; gzip: boolean }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const chunks: Buffer[] = [];
    request(url, { headers }, (res) => {
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ ms: performance.now() - t, wire: Buffer.concat(chunks), gzip: res.headers['content-encoding'] === 'gzip' }),
      );
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const scrape = async (port: number, headers: Record<string, string>) => {
  const r = await timedGet(`http://127.0.0.1:${port}/metrics`, headers);
  return { ms: r.ms, wire: r.wire.length };
};

export async function main(): Promise<void> {
  // An app per pod: the longest label text, the largest page.
  const store = fill((i) => `checkout-service-${i}`);
  const prom = new PrometheusTextRenderer(store);
  const plain = prom.render();
  const server = new HttpServer().route(
    'GET',
    '/metrics',
    metricsHandler((w) => prom.renderInto(w)),
  );
  const { port } = await server.listen('127.0.0.1', 0);
  const cases: [string, Record<string, string>][] = [
    ['classic, identity', {}],
    ['classic, gzip', { 'accept-encoding': 'gzip' }],
    [
      'openmetrics, gzip (what Prometheus asks)',
      { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5', 'accept-encoding': 'gzip' },
    ],
  ];
  console.log(`scrape: ${store.pairs.length} series x 3 families, ${(Buffer.byteLength(plain) / 1048576).toFixed(1)} MiB uncompressed`);
  for (const [name, headers] of cases) {
    await scrape(port, headers);
    const times: number[] = [];
    let wire = 0;
    let stall = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, 1);
    for (let i = 0; i < 15; i++) {
      const r = await scrape(port, headers);
      times.push(r.ms);
      wire = r.wire;
    }
    clearInterval(tick);
    times.sort((a, b) => a - b);
    console.log(
      `  ${name}: median ${times[7].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[14].toFixed(1)}), ${(wire / 1048576).toFixed(2)} MiB on the wire, longest event-loop stall ${stall.toFixed(1)} ms`,
    );
  }
  await server.close();

  // Where a scrape's time goes, step by step (medians of 15).
  const gz = promisify(gzip);
  const steps: Record<string, number[]> = {
    'render into the kept buffer': [],
    'to OpenMetrics': [],
    'gzip (thread pool)': [],
  };
  const w = new ByteWriter();
  for (let i = 0; i < 15; i++) {
    let t = performance.now();
    w.reset();
    prom.renderInto(w);
    const bytes = w.view();
    steps['render into the kept buffer'].push(performance.now() - t);
    t = performance.now();
    const om = openMetricsBytes(bytes);
    steps['to OpenMetrics'].push(performance.now() - t);
    t = performance.now();
    await gz(om, { level: constants.Z_BEST_SPEED, chunkSize: 256 * 1024 });
    steps['gzip (thread pool)'].push(performance.now() - t);
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[7].toFixed(1);
  console.log(
    `  steps (median ms): ${Object.entries(steps)
      .map(([k, v]) => `${k} ${med(v)}`)
      .join(', ')}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
