/**
 * The per-node footprint under the issue-15 load, side by side with nfcapd: the real `netflow-k8s
 * run` (--workers 2, 4,000 pods, --max-series 20000, OTLP every 5 s to a sink that does not
 * decode) is fed by nfgen, the C bursty sender (`nfgen -P 4000 -C 20000 -x 5 -r RATE`), for S
 * seconds straight after /readyz answers, while /metrics is scraped every second and /metrics/otel
 * every 5 s. It prints RSS idle and peak, the slowest scrape of each page, the datagrams lost and
 * in which second, and the memory breakdown per isolate (V8 heaps of the main thread and each
 * receiving thread, from a diagnostic report) next to /proc's view of the whole process.
 * nfcapd (-B 8388608) then gets the same stream for its RSS and loss. nfgen is one exporter, so
 * under --udp-spread auto one thread takes it and the second never starts (WorkerPool); the idle
 * RSS with both threads started (--udp-spread datagram) is printed beside.
 *
 *   node bench/footprint.bench.ts [--rate 60000] [--seconds 20] [--workers 2] [--spread auto] [--skip-nfcapd]
 *                                 [--node-options '--max-semi-space-size=1']
 * --node-options: Node flags for the collector; default the image's (its Dockerfile ENTRYPOINT).
 *
 * nfgen is compiled from ../shared/tools/nfgen.c (beside the project, as in CI) or NFGEN_SOURCE; the
 * bench says so and stops when neither is there. A few minutes in all.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCollectorProcess, parsePromText, type CollectorProcess } from '../test/support/run-collector.ts';
import { freePort } from '../test/support/prometheus.ts';
import { appPodList } from '../test/support/kube-objects.ts';
import { fill, otlpEncoding } from './export.bench.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { speedNote } from './thread.bench.ts';
import { OtlpMetricsEncoder } from '../src/export/otel/otlp-encode.ts';
import { otlpEncodeRound } from '../src/export/otel/otlp.ts';
import { warmExports } from '../src/pipeline/warm-exports.ts';
import { defaultRunConfig } from '../src/config/run-options.ts';
import { emptyResource } from '@opentelemetry/resources';
import { timedGet } from './scrape.bench.ts';
import { socketDrops } from '../src/observe/udp-drops.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The Node flags the image runs the collector with (its ENTRYPOINT), so the bench measures what ships. */
function imageNodeFlags(): string {
  const m = /^ENTRYPOINT\s+(\[.*\])/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const args = m ? (JSON.parse(m[1]) as string[]) : [];
  return args.filter((a) => a.startsWith('--')).join(' ');
}
const MiB = 2 ** 20;

/** Newest modification time under `dir`, in ms. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs);
  return t;
}

/**
 * The bench measures the compiled program the image runs: from the sources, Node would load its
 * type-stripping compiler into every isolate. `npm run bench` builds first; run alone, the bench
 * compiles when dist/ is missing or older than src/.
 */
function ensureBuilt(): void {
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newest(join(ROOT, 'src'))) return;
  console.log('footprint: dist/ is missing or older than src/: compiling (tsc -p tsconfig.build.json)');
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error('footprint: tsc failed');
}

/** Compiles nfgen once into a temporary directory; undefined (with the reason printed) when it cannot. */
export function buildNfgen(dir: string): string | undefined {
  const src = process.env.NFGEN_SOURCE ?? join(ROOT, '..', 'shared', 'tools', 'nfgen.c');
  if (!existsSync(src)) {
    console.log(`nfgen: ${src} not found (set NFGEN_SOURCE): skipping the bursty sender`);
    return undefined;
  }
  const out = join(dir, 'nfgen');
  const r = spawnSync('gcc', ['-O2', '-o', out, src, '-lm'], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`nfgen: gcc failed (${r.error ? String(r.error) : r.stderr.trim()}): skipping the bursty sender`);
    return undefined;
  }
  return out;
}

export interface NfgenResult {
  packets: number;
  records: number;
  seconds: number;
  pps: number;
}

/** Sends `packets` datagrams at `rate` to 127.0.0.1:port with the issue's shape of traffic. */
export function runNfgen(bin: string, port: number, rate: number, packets: number, extra: string[] = []): Promise<NfgenResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      bin,
      ['-d', String(port), '-n', String(packets), '-r', String(rate), '-P', '4000', '-C', '20000', '-x', '5', ...extra],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const f = (k: string) => Number(new RegExp(`${k}=([\\d.]+)`).exec(out)?.[1] ?? NaN);
      if (code !== 0) reject(new Error(`nfgen exited ${code}: ${out}`));
      else resolve({ packets: f('packets'), records: f('records'), seconds: f('elapsed'), pps: f('pps') });
    });
  });
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** /proc/PID/smaps_rollup in MiB: anonymous memory (heaps, buffers) against file-backed (code). */
function smapsRollup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const m of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').matchAll(/^(\w+):\s+(\d+) kB/gm)) out[m[1]] = Number(m[2]) / 1024;
  } catch {
    // not Linux
  }
  return out;
}

interface HeapReport {
  used: number;
  committed: number;
  spaces: Record<string, number>;
}
interface IsolateBreakdown {
  name: string;
  heap: HeapReport;
}

function heapOf(r: {
  javascriptHeap?: { totalMemory: number; usedMemory: number; heapSpaces: Record<string, { memorySize: number; used: number }> };
}): HeapReport {
  const h = r.javascriptHeap;
  const spaces: Record<string, number> = {};
  for (const [k, v] of Object.entries(h?.heapSpaces ?? {})) spaces[k] = v.memorySize / MiB;
  return { used: (h?.usedMemory ?? 0) / MiB, committed: (h?.totalMemory ?? 0) / MiB, spaces };
}

/** A diagnostic report of the live collector (SIGUSR2, --report-on-signal): one heap per isolate. */
async function isolateBreakdown(pid: number, dir: string): Promise<IsolateBreakdown[]> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const f = readdirSync(dir).find((x) => x.endsWith('.json') && !before.has(x));
    if (!f) continue;
    let report: { javascriptHeap?: never; workers?: { javascriptHeap?: never; header?: { threadId?: number } }[] };
    try {
      report = JSON.parse(readFileSync(join(dir, f), 'utf8')) as typeof report;
    } catch {
      continue; // still being written
    }
    rmSync(join(dir, f));
    return [{ name: 'main', heap: heapOf(report) }, ...(report.workers ?? []).map((w, i) => ({ name: `receiving ${i}`, heap: heapOf(w) }))];
  }
  return [];
}

function printBreakdown(label: string, pid: number, isolates: IsolateBreakdown[]): void {
  const s = smapsRollup(pid);
  const heaps = isolates.reduce((a, x) => a + x.heap.committed, 0);
  console.log(
    `  ${label}: RSS ${s.Rss?.toFixed(0)} MiB = anonymous ${s.Anonymous?.toFixed(0)} + file-backed ${((s.Rss ?? 0) - (s.Anonymous ?? 0)).toFixed(0)} (code, shared libraries); V8 heaps committed ${heaps.toFixed(0)} MiB, the rest of the anonymous memory is native (buffers, malloc, thread stacks)`,
  );
  for (const x of isolates) {
    const sp = x.heap.spaces;
    const young = (sp.new_space ?? 0) + (sp.semi_space ?? 0);
    const code = (sp.code_space ?? 0) + (sp.code_large_object_space ?? 0);
    const large = (sp.large_object_space ?? 0) + (sp.new_large_object_space ?? 0);
    console.log(
      `    ${x.name.padEnd(12)} heap committed ${x.heap.committed.toFixed(1).padStart(6)} MiB (used ${x.heap.used.toFixed(1)}): new ${young.toFixed(1)}, old ${(sp.old_space ?? 0).toFixed(1)}, code ${code.toFixed(1)}, large objects ${large.toFixed(1)}, other ${(x.heap.committed - young - code - large - (sp.old_space ?? 0)).toFixed(1)}`,
    );
  }
}

const sum = (text: string, name: string) =>
  parsePromText(text)
    .filter((x) => x.name === name)
    .reduce((a, x) => a + x.value, 0);

/**
 * One scrape as Prometheus makes it (gzip accepted), timed to its last byte: what the collector
 * controls. The body is not decompressed: on these 2 cores a Prometheus in the bench's process
 * would compete with the receiving thread (gunzip and decode of 8 MiB a second and 33 MiB every
 * 5 s), where a real one runs on another node. Drops come from the kernel's table instead.
 */
async function scrape(url: string, path: string): Promise<number> {
  const r = await timedGet(url + path, { 'accept-encoding': 'gzip' });
  return r.ms;
}

/** CPU seconds so far of each thread of `pid`, summed by the thread's name (comm). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  const tick = 100; // USER_HZ on Linux
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // comm may hold spaces: the fields after it start past the last ')'.
        const name = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / tick);
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out;
}

/** CPU seconds between two threadCpu readings, busiest first, as `name s` pairs. */
function cpuDelta(a: Map<string, number>, b: Map<string, number>): string {
  return [...b]
    .map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const)
    .filter(([, v]) => v >= 0.05)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

interface Ours {
  idleMiB: number;
  peakMiB: number;
  slowestMetricsMs: number;
  slowestOtelMs: number;
  otelAddMiB: number;
  lost: number;
  sent: number;
}

/** The collector under test: the issue's inventory, series cap and OTLP, started the way the image starts it. */
function startOurs(
  inv: string,
  otlpUrl: string,
  workers: number,
  spread: string,
  nodeOptions: string,
  reports: string,
): Promise<CollectorProcess> {
  return startCollectorProcess(
    [
      '--inventory',
      inv,
      '--workers',
      String(workers),
      '--max-series',
      '20000',
      '--otlp-endpoint',
      otlpUrl,
      '--otlp-interval',
      '5s',
      '--udp-spread',
      spread,
      '--log-level',
      'info',
    ],
    {
      built: true,
      env: {
        NODE_OPTIONS: `--report-on-signal --report-signal=SIGUSR2 --report-directory=${reports} --report-exclude-network --report-exclude-env ${nodeOptions}`,
      },
    },
  );
}

async function untilSettled(c: CollectorProcess): Promise<void> {
  while ((await c.get('/readyz')).status !== 200) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 3000));
}

/**
 * Idle RSS with every one of `workers` threads started (--udp-spread datagram starts them all;
 * auto starts one per exporter, so with nfgen's one exporter the load runs on one thread).
 */
async function idleAllThreads(workers: number, nodeOptions: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'footprint-idle-'));
  const inv = join(dir, 'inventory.json');
  writeFileSync(inv, JSON.stringify(appPodList(4000, { namespaces: 16, nodes: ['node-0', 'node-1', 'node-2', 'node-3'] })));
  const sink = await startOtlpSink();
  let c: CollectorProcess | undefined;
  try {
    c = await startOurs(inv, sink.url, workers, 'datagram', nodeOptions, dir);
    await untilSettled(c);
    return rssMiB(c.child.pid!);
  } finally {
    await c?.stop('SIGTERM');
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchOurs(
  nfgen: string | undefined,
  rate: number,
  seconds: number,
  workers: number,
  spread: string,
  nodeOptions: string,
): Promise<Ours> {
  const dir = mkdtempSync(join(tmpdir(), 'footprint-'));
  const reports = join(dir, 'reports');
  spawnSync('mkdir', [reports]);
  const inv = join(dir, 'inventory.json');
  writeFileSync(inv, JSON.stringify(appPodList(4000, { namespaces: 16, nodes: ['node-0', 'node-1', 'node-2', 'node-3'] })));
  const sink = await startOtlpSink();
  let c: CollectorProcess | undefined;
  try {
    c = await startOurs(inv, sink.url, workers, spread, nodeOptions, reports);
    const pid = c.child.pid!;
    await untilSettled(c);
    const idleMiB = rssMiB(pid);
    console.log(
      `netflow-k8s run: --workers ${workers}, 4,000 pods, OTLP every 5 s, --udp-spread ${spread}, node ${nodeOptions || '(no flags)'}`,
    );
    printBreakdown('idle', pid, await isolateBreakdown(pid, reports));
    if (!nfgen) return { idleMiB, peakMiB: NaN, slowestMetricsMs: NaN, slowestOtelMs: NaN, otelAddMiB: NaN, lost: NaN, sent: NaN };

    const t0 = performance.now();
    const cpu0 = threadCpu(pid);
    const scrapeMs: number[] = [];
    let peakMiB = idleMiB;
    let stop = false;
    const sampler = setInterval(() => (peakMiB = Math.max(peakMiB, rssMiB(pid))), 50);
    const drops: { s: number; drops: number }[] = [];
    let slowestMetricsMs = 0,
      slowestOtelMs = 0,
      otelAddMiB = 0;
    const failed: string[] = [];
    const scraper = (async () => {
      let last = 0;
      for (let i = 0; !stop; i++) {
        const a = performance.now();
        try {
          const ms = await scrape(c!.httpUrl, '/metrics');
          slowestMetricsMs = Math.max(slowestMetricsMs, ms);
          scrapeMs.push(ms);
        } catch (err) {
          // A main thread stalled past the keep-alive timeout resets the connection the client reuses.
          failed.push(
            `${Math.round((a - t0) / 1000)} s: ${String((err as Error).cause ?? err)} after ${Math.round(performance.now() - a)} ms`,
          );
        }
        const d = socketDrops(c!.udpPort)?.drops ?? 0;
        if (d > last) drops.push({ s: Math.round((a - t0) / 1000), drops: d - last });
        last = d;
        if (i % 5 === 2) {
          const r0 = rssMiB(pid);
          const b = performance.now();
          await scrape(c!.httpUrl, '/metrics/otel').then(
            (ms) => (slowestOtelMs = Math.max(slowestOtelMs, ms)),
            (err: unknown) => failed.push(`${Math.round((b - t0) / 1000)} s: /metrics/otel ${String((err as Error).cause ?? err)}`),
          );
          otelAddMiB = Math.max(otelAddMiB, rssMiB(pid) - r0);
        }
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - a))));
      }
    })();
    const sent = await runNfgen(nfgen, c.udpPort, rate, rate * seconds);
    const cpu1 = threadCpu(pid);
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await scraper.catch((err: unknown) => {
      throw new Error(
        `scrape failed (${String(err)}); collector stderr:\n${c!.stderr().slice(-3000)}\nlast log lines:\n${c!
          .logs()
          .slice(-10)
          .map((l) => JSON.stringify(l))
          .join('\n')}`,
      );
    });
    clearInterval(sampler);
    const text = (await c.get('/metrics')).body;
    const counted = sum(text, 'netflow_k8s_flow_records_total');
    const lost = sent.records - counted;
    console.log(
      `  nfgen: ${sent.packets.toLocaleString('en-US')} datagrams (${sent.records.toLocaleString('en-US')} records) at ${Math.round(sent.pps).toLocaleString('en-US')}/s; counted ${counted.toLocaleString('en-US')} records, lost ${lost.toLocaleString('en-US')}; kernel drops by second after ready: ${drops.length ? drops.map((d) => `${d.s} s: ${d.drops}`).join(', ') : 'none'}`,
    );
    if (failed.length > 0) console.log(`  failed scrapes: ${failed.join('; ')}`);
    console.log(
      `  /metrics to the last byte (gzip), ms: median ${quantile(scrapeMs, 0.5).toFixed(0)}, 90th ${quantile(scrapeMs, 0.9).toFixed(0)}, slowest ${slowestMetricsMs.toFixed(0)} (${scrapeMs.length} scrapes)`,
    );
    console.log(`  CPU s by thread during the load (${seconds} s): ${cpuDelta(cpu0, cpu1)}`);
    printBreakdown('after load', pid, await isolateBreakdown(pid, reports));
    console.log(
      `  receiving threads running after the load: ${sum(text, 'netflow_k8s_receive_threads')} of ${workers} (one per exporter's source under --udp-spread auto)`,
    );
    return { idleMiB, peakMiB, slowestMetricsMs, slowestOtelMs, otelAddMiB, lost, sent: sent.records };
  } finally {
    await c?.stop('SIGTERM');
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchNfcapd(nfgen: string, rate: number, seconds: number): Promise<{ rssMiB: number; lost: number } | undefined> {
  if (spawnSync('nfcapd', ['-V'], { stdio: 'ignore' }).error || spawnSync('nfdump', ['-V'], { stdio: 'ignore' }).error) {
    console.log('nfcapd/nfdump not installed (Debian package nfdump): no side-by-side figures');
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'footprint-nfcapd-'));
  const port = await freePort();
  const nf = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-B', '8388608'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 700));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(nf.pid!) || 0)), 50);
    const sent = await runNfgen(nfgen, port, rate, rate * seconds);
    await new Promise((r) => setTimeout(r, 1000));
    clearInterval(sampler);
    const exited = new Promise((r) => nf.once('exit', r));
    nf.kill('SIGTERM');
    await exited;
    const info = spawnSync('nfdump', ['-R', dir, '-I'], { encoding: 'utf8' }).stdout;
    const flows = [...info.matchAll(/^Flows: (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
    return { rssMiB: peak, lost: sent.records - flows };
  } finally {
    if (nf.exitCode === null) nf.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    strict: false,
    options: {
      rate: { type: 'string', default: '60000' },
      seconds: { type: 'string', default: '20' },
      workers: { type: 'string', default: '2' },
      spread: { type: 'string', default: 'auto' },
      'skip-nfcapd': { type: 'boolean', default: false },
      'node-options': { type: 'string', default: imageNodeFlags() },
    },
  });
  const rate = Number(values.rate),
    seconds = Number(values.seconds);
  ensureBuilt();
  const tmp = mkdtempSync(join(tmpdir(), 'nfgen-'));
  try {
    const nfgen = buildNfgen(tmp);
    console.log(
      `footprint: nfgen -P 4000 -C 20000 -x 5 -r ${rate} for ${seconds} s from the first second after ready; load average now ${(await import('node:os')).loadavg()[0].toFixed(1)}`,
    );
    console.log(await speedNote('before'));
    const workers = Number(values.workers);
    const ours = await benchOurs(nfgen, rate, seconds, workers, String(values.spread), String(values['node-options']));
    const idleAll = workers > 1 ? await idleAllThreads(workers, String(values['node-options'])) : ours.idleMiB;
    console.log(await speedNote('after the load'));
    const nf = nfgen && !values['skip-nfcapd'] ? await benchNfcapd(nfgen, rate, seconds) : undefined;
    const f = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(d));
    console.log('side by side (same nfgen stream):');
    console.log(`  ${''.padEnd(34)} | ${'netflow-k8s'.padEnd(12)} | nfcapd`);
    console.log(`  ${'RSS idle MiB'.padEnd(34)} | ${f(ours.idleMiB).padEnd(12)} | n/a`);
    console.log(`  ${`RSS idle MiB, ${workers} threads running`.padEnd(34)} | ${f(idleAll).padEnd(12)} | n/a   (--udp-spread datagram)`);
    console.log(`  ${'RSS peak MiB'.padEnd(34)} | ${f(ours.peakMiB).padEnd(12)} | ${f(nf?.rssMiB)}`);
    console.log(`  ${'slowest /metrics ms (last byte)'.padEnd(34)} | ${f(ours.slowestMetricsMs).padEnd(12)} | n/a`);
    console.log(
      `  ${'slowest /metrics/otel ms (+MiB)'.padEnd(34)} | ${`${f(ours.slowestOtelMs)} (+${f(ours.otelAddMiB)})`.padEnd(12)} | n/a`,
    );
    console.log(`  ${'records lost'.padEnd(34)} | ${f(ours.lost).padEnd(12)} | ${f(nf?.lost)}`);
    // In this process, on a store of 20,000 pairs: what one OTLP export's encoding costs the main
    // thread, after the warm-up the collector runs before it says ready (pipeline/warm-exports.ts).
    // The first export still encodes every pair's attributes for the first time.
    await warmExports({ ...defaultRunConfig(), otlpEndpoint: 'http://127.0.0.1:4317' }, (s) =>
      otlpEncodeRound(s, { resource: emptyResource() }),
    );
    const store = fill();
    const encoder = new OtlpMetricsEncoder();
    const enc = [0, 1, 2].map(() => otlpEncoding(store, encoder));
    const sdk = [0, 1, 2].map(() => otlpEncoding(store));
    console.log(
      `  ${`OTLP encoding CPU ms, ${enc[0].points} points (warm)`.padEnd(34)} | ${enc
        .map((e) => e.cpuMs.toFixed(0))
        .join(', ')
        .padEnd(12)} | n/a   (the SDK's serializer: ${sdk.map((e) => e.cpuMs.toFixed(0)).join(', ')})`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
