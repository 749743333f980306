/**
 * End to end: the real `netflow-k8s run` (spawned, static inventory of 4,000 pods, OTLP every 5 s
 * to a gRPC sink) receives ipt-netflow-shaped NetFlow v9 (27 records per datagram)
 * from a separate sender process (bench/sender.ts) at rising rates. Per step it reports records
 * sent and counted, kernel drops on the collector's sockets, collector CPU per million records and
 * RSS, while a scraper reads /metrics (about 20,000 series) every second, so every step also shows
 * whether scrapes and OTLP collections cost datagrams. nfcapd (Debian's nfdump package) runs the
 * same steps when present. Whole bench: about 1 to 2 minutes.
 *
 *   node bench/e2e.bench.ts [--workers N] [--seconds S] [--rates 10000,20000,...] [--backend auto|native|dgram]
 *                           [--spread auto|exporter|datagram] [--skip-nfcapd] [--sender node|nfgen|both]
 *
 * --sender: the smooth Node sender (8 exporters), nfgen (one exporter, bursts; compiled from
 * ../shared/tools/nfgen.c or NFGEN_SOURCE, skipped with a note when missing), or both (default),
 * each with its own side-by-side summary.
 *
 * --backend and --spread are passed to the collector as --udp-backend and --udp-spread (default:
 * datagram for the Node sender's 8 exporters, a Deployment's load, as that manifest sets; auto for
 * nfgen's one exporter, a DaemonSet collector's); the report
 * names the receive path each thread took and how datagrams reached it, so they can be compared
 * run against run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCollectorProcess, parsePromText, type CollectorProcess } from '../test/support/run-collector.ts';
import { freePort } from '../test/support/prometheus.ts';
import { appPodList } from '../test/support/kube-objects.ts';
import { buildNfgen, runNfgen } from './footprint.bench.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { speedNote } from './thread.bench.ts';

const SENDER = fileURLToPath(new URL('./sender.ts', import.meta.url));
const ADDRESSES = 4000;

interface SendResult {
  datagrams: number;
  records: number;
  bytes: number;
  seconds: number;
  rate: number;
  cpuSeconds: number;
}

/** One side's outcome, for the side-by-side summary. */
interface Outcome {
  best?: { rate: number; cpuPerM: number };
  rssMiB: number;
  exportSteps: number;
  exportStepsLossy: number;
  backend?: string;
}

/** nfgen's binary while the bursty pass runs (see main); undefined for the smooth Node sender. */
let nfgen: string | undefined;

function runSender(ports: number[], rate: number, seconds: number, exporters: number): Promise<SendResult> {
  if (nfgen) {
    // One exporter sending in sendmmsg bursts of 64, as a busy kernel exporter flushes.
    return runNfgen(nfgen, ports[0], rate, Math.round(rate * seconds)).then((r) => ({
      datagrams: r.packets,
      records: r.records,
      bytes: NaN,
      seconds: r.seconds,
      rate: r.pps,
      cpuSeconds: NaN,
    }));
  }
  return new Promise((resolve, reject) => {
    const args = [
      SENDER,
      '--rate',
      String(rate),
      '--seconds',
      String(seconds),
      '--exporters',
      String(exporters),
      '--addresses',
      String(ADDRESSES),
    ];
    for (const p of ports) args.push('--port', String(p));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as SendResult) : reject(new Error(`sender exited ${code}`))));
  });
}

function inventoryFile(dir: string): string {
  const file = join(dir, 'inventory.json');
  writeFileSync(file, JSON.stringify(appPodList(ADDRESSES, { namespaces: 16, nodes: ['node-0', 'node-1', 'node-2', 'node-3'] })));
  return file;
}

interface Snapshot {
  records: number;
  drops: number;
  cpu: number;
  rss: number;
  series: number;
  otlpOk: number;
  datagrams: number;
  perThread: number[];
}

function snapshot(text: string): Snapshot {
  const s = parsePromText(text);
  const sum = (name: string, label?: [string, string]) =>
    s.filter((x) => x.name === name && (!label || x.labels[label[0]] === label[1])).reduce((a, x) => a + x.value, 0);
  return {
    records: sum('netflow_k8s_flow_records_total'),
    datagrams: sum('netflow_k8s_datagrams_total'),
    drops: sum('netflow_k8s_udp_socket_drops_total'),
    cpu: sum('netflow_k8s_process_cpu_seconds_total'),
    rss: sum('netflow_k8s_process_resident_memory_bytes'),
    series: s.filter((x) => x.name === 'netflow_connection_count').length,
    otlpOk: sum('netflow_k8s_otlp_exports_total', ['result', 'success']),
    perThread: s
      .filter((x) => x.name === 'netflow_k8s_receive_thread_datagrams_total')
      .sort((a, b) => Number(a.labels.thread) - Number(b.labels.thread))
      .map((x) => x.value),
  };
}

/** Scrape /metrics every `everyMs` while `run` goes on; returns the slowest and the count. */
async function whileScraping<T>(
  c: CollectorProcess,
  everyMs: number,
  run: () => Promise<T>,
): Promise<{ result: T; maxMs: number; scrapes: number; bytes: number }> {
  let stop = false;
  let maxMs = 0;
  let scrapes = 0;
  let bytes = 0;
  const loop = (async () => {
    while (!stop) {
      const t0 = performance.now();
      const r = await c.get('/metrics');
      maxMs = Math.max(maxMs, performance.now() - t0);
      bytes = r.body.length;
      scrapes++;
      await new Promise((res) => setTimeout(res, everyMs));
    }
  })();
  const result = await run();
  stop = true;
  await loop;
  return { result, maxMs, scrapes, bytes };
}

/** Wait until the counted records stop moving (everything in the socket buffers decoded). */
async function settle(c: CollectorProcess, want: number): Promise<Snapshot> {
  let last = -1;
  let same = 0;
  for (let i = 0; i < 100; i++) {
    const s = snapshot((await c.get('/metrics')).body);
    if (s.records >= want) return s;
    same = s.records === last ? same + 1 : 0;
    if (same >= 3) return s;
    last = s.records;
    await new Promise((r) => setTimeout(r, 300));
  }
  return snapshot((await c.get('/metrics')).body);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * Rising rates for one receiver: the best is the highest step with no loss at it nor at any step
 * below; after the first lossy step one more runs, to show whether the loss persists.
 */
class Ladder {
  best: { rate: number; step: number; cpuPerM: number } | undefined;
  /** A step above the first loss that was lossless again (the machine, not the receiver, was busy then). */
  laterLossless: number | undefined;
  #lossy = 0;

  /** Records a step; false when the climb should stop. */
  step(rate: number, sentRate: number, ok: boolean, cpuPerM: number): boolean {
    // A sender that fell short of the rate does not show the receiver's limit.
    if (ok && sentRate >= rate * 0.95) {
      if (this.#lossy === 0) this.best = { rate: sentRate, step: rate, cpuPerM };
      else this.laterLossless = sentRate;
    }
    if (!ok) this.#lossy++;
    return this.#lossy < 2;
  }

  /** ' (and lossless again at X after a loss)' or ''. */
  get note(): string {
    return this.laterLossless === undefined ? '' : ` (lossless again at ${fmt(this.laterLossless)} after a loss)`;
  }
}

async function benchCollector(
  rates: number[],
  seconds: number,
  workers: number,
  exporters: number,
  backend: string,
  spread: string,
): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-bench-'));
  const rx = await startOtlpSink();
  let c: CollectorProcess | undefined;
  try {
    c = await startCollectorProcess([
      '--inventory',
      inventoryFile(dir),
      '--workers',
      String(workers),
      '--max-series',
      '20000',
      '--merge-interval',
      '250ms',
      '--otlp-endpoint',
      rx.url,
      '--otlp-interval',
      '5s',
      '--udp-backend',
      backend,
      '--udp-spread',
      spread,
      '--log-level',
      'info',
    ]);
    const used = c
      .logs()
      .filter((l) => typeof l.backend === 'string')
      .map((l) => String(l.backend));
    const why = c.logs().find((l) => typeof l.backend === 'string')?.reason;
    const usedBackend = [...new Set(used)].join('+') || 'unknown';
    const spreads = [
      ...new Set(
        c
          .logs()
          .filter((l) => typeof l.spread === 'string')
          .map((l) => `${String(l.spread)} (${String(l.spreadReason)})`),
      ),
    ].join(', ');
    // Fill the store to its cap first, so every step scrapes and exports ~20,000 series.
    const fill = await runSender([c.udpPort], 5000, 1, exporters);
    let before = await settle(c, fill.records);
    console.log(
      `collector: ${workers} receiving thread(s), UDP backend ${usedBackend} (--udp-backend ${backend}: ${String(why)}), datagrams spread by ${spreads}, ${exporters} exporters, ${before.series} series on /metrics`,
    );
    console.log(
      '  rate dgram/s | sent rate | records sent | counted | lost | kernel drops | CPU s / M records | RSS MiB | slowest scrape ms (n) | OTLP exports | thread split % | CPU s main/recv/v8/other | sender CPU s',
    );
    const ladder = new Ladder();
    // Steps during which a scrape and an OTLP collection of the whole store ran, and which of them lost.
    const exportSteps: { rate: number; ok: boolean }[] = [];
    for (const rate of rates) {
      const cpu0 = threadCpu(c.child.pid!);
      const run = await whileScraping(c, 1000, () => runSender([c!.udpPort], rate, seconds, exporters));
      const sent = run.result;
      const after = await settle(c, before.records + sent.records);
      const counted = after.records - before.records;
      const cpu1 = threadCpu(c.child.pid!);
      const byThread = (['main', 'receiving', 'v8', 'other'] as const).map((k) => (cpu1[k] - cpu0[k]).toFixed(2)).join('/');
      const drops = after.drops - before.drops;
      const cpuPerM = ((after.cpu - before.cpu) / counted) * 1e6;
      const ok = counted === sent.records && drops === 0;
      const split = after.perThread.map((n, i) => n - (before.perThread[i] ?? 0));
      const splitTotal = split.reduce((a, b) => a + b, 0) || 1;
      if (run.scrapes > 0 && after.otlpOk > before.otlpOk) exportSteps.push({ rate, ok });
      console.log(
        `  ${String(rate).padStart(12)} | ${fmt(sent.rate).padStart(9)} | ${fmt(sent.records).padStart(12)} | ${fmt(counted).padStart(9)} | ${fmt(sent.records - counted).padStart(7)} | ${String(drops).padStart(12)} | ${cpuPerM.toFixed(2).padStart(17)} | ${(after.rss / 2 ** 20).toFixed(0).padStart(7)} | ${run.maxMs.toFixed(0).padStart(8)} (${run.scrapes}, ${(run.bytes / 2 ** 20).toFixed(1)} MiB) | ${String(after.otlpOk - before.otlpOk).padStart(12)} | ${split
          .map((n) => Math.round((100 * n) / splitTotal))
          .join('/')
          .padStart(14)} | ${byThread.padStart(23)} | ${sent.cpuSeconds.toFixed(2).padStart(12)}${ok ? '' : '   LOSS'}`,
      );
      before = after;
      if (!ladder.step(rate, sent.rate, ok, cpuPerM)) break;
    }
    const best = ladder.best;
    console.log(`OTLP: ${rx.stats.requests} requests received, ${(rx.stats.bytes / 2 ** 20).toFixed(1)} MiB`);
    if (best)
      console.log(
        `collector lossless up to ${fmt(best.rate)} datagrams/s (${fmt(best.rate * 27)} records/s)${ladder.note}, ${best.cpuPerM.toFixed(2)} CPU s per million records, RSS ${(before.rss / 2 ** 20).toFixed(0)} MiB, with /metrics (${before.series} series) scraped every second and OTLP every 5 s`,
      );
    else console.log('collector: no lossless step (machine too busy?)');
    const upTo = exportSteps.filter((x) => best === undefined || x.rate <= best.step);
    return {
      best: best && { rate: best.rate, cpuPerM: best.cpuPerM },
      rssMiB: before.rss / 2 ** 20,
      exportSteps: upTo.length,
      exportStepsLossy: upTo.filter((x) => !x.ok).length,
      backend: usedBackend,
    };
  } finally {
    await c?.stop('SIGTERM');
    await rx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A /proc stat line's command name and CPU seconds (utime + stime, at the usual 100 ticks a second). */
function statCpu(stat: string): { name: string; cpu: number } {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpu: (Number(f[11]) + Number(f[12])) / 100 };
}

/**
 * CPU seconds per kind of thread of a live process, from /proc/PID/task (Linux): the main thread
 * (exports, merges), the receiving threads (named netflow-k8s-recv*), V8's helpers (GC, JIT) and
 * the rest (libuv's pool, signal handling).
 */
function threadCpu(pid: number): Record<ThreadKind, number> {
  const out: Record<ThreadKind, number> = { main: 0, receiving: 0, v8: 0, other: 0 };
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const { name, cpu } = statCpu(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'));
      const kind: ThreadKind =
        name === 'MainThread' ? 'main' : name.startsWith('netflow-k8s-rec') ? 'receiving' : name.startsWith('V8') ? 'v8' : 'other';
      out[kind] += cpu;
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}
type ThreadKind = 'main' | 'receiving' | 'v8' | 'other';

/** CPU seconds (user + system) and resident MiB of a live process, from /proc (Linux). */
function procUsage(pid: number): { cpu: number; rssMiB: number } {
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpu: statCpu(readFileSync(`/proc/${pid}/stat`, 'utf8')).cpu, rssMiB: rss ? Number(rss[1]) / 1024 : 0 };
  } catch {
    return { cpu: NaN, rssMiB: NaN };
  }
}

async function benchNfcapd(rates: number[], seconds: number, exporters: number): Promise<Outcome | undefined> {
  if (spawnSync('nfcapd', ['-V'], { stdio: 'ignore' }).error || spawnSync('nfdump', ['-V'], { stdio: 'ignore' }).error) {
    console.log('nfcapd/nfdump not installed: skipping the side-by-side comparison (Debian package nfdump)');
    return undefined;
  }
  console.log(`nfcapd (same stream, same ${exporters} exporters, -B 8388608):`);
  console.log('  rate dgram/s | sent rate | records sent | stored flows | lost | CPU s / M records | RSS MiB');
  const ladder = new Ladder();
  let rssMiB = 0;
  for (const rate of rates) {
    const dir = mkdtempSync(join(tmpdir(), 'nfcapd-bench-'));
    const port = await freePort();
    const nf = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-B', '8388608'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 700));
      const u0 = procUsage(nf.pid!);
      const sent = await runSender([port], rate, seconds, exporters);
      await new Promise((r) => setTimeout(r, 1000));
      // Before SIGTERM: its final file write is not part of receiving.
      const u1 = procUsage(nf.pid!);
      const exited = new Promise((r) => nf.once('exit', r));
      nf.kill('SIGTERM');
      await exited;
      const info = spawnSync('nfdump', ['-R', dir, '-I'], { encoding: 'utf8' }).stdout;
      const flows = [...info.matchAll(/^Flows: (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
      const ok = flows === sent.records;
      const cpuPerM = ((u1.cpu - u0.cpu) / flows) * 1e6;
      rssMiB = u1.rssMiB;
      console.log(
        `  ${String(rate).padStart(12)} | ${fmt(sent.rate).padStart(9)} | ${fmt(sent.records).padStart(12)} | ${fmt(flows).padStart(12)} | ${fmt(sent.records - flows).padStart(7)} | ${cpuPerM.toFixed(2).padStart(17)} | ${u1.rssMiB.toFixed(0).padStart(7)}${ok ? '' : '   LOSS'}`,
      );
      if (!ladder.step(rate, sent.rate, ok, cpuPerM)) break;
    } finally {
      if (nf.exitCode === null) nf.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const best = ladder.best;
  console.log(
    best
      ? `nfcapd lossless up to ${fmt(best.rate)} datagrams/s (${fmt(best.rate * 27)} records/s)${ladder.note}`
      : 'nfcapd: no lossless step',
  );
  return { best: best && { rate: best.rate, cpuPerM: best.cpuPerM }, rssMiB, exportSteps: 0, exportStepsLossy: 0 };
}

function summary(ours: Outcome, nf: Outcome | undefined): void {
  const rate = (o: Outcome | undefined) => (o?.best ? `${fmt(o.best.rate)} dgram/s (${fmt(o.best.rate * 27)} rec/s)` : o ? 'none' : 'n/a');
  const cpu = (o: Outcome | undefined) => (o?.best ? o.best.cpuPerM.toFixed(2) : 'n/a');
  const rss = (o: Outcome | undefined) => (o ? o.rssMiB.toFixed(0) : 'n/a');
  console.log('side by side (same sender, same stream, this run):');
  console.log(`  ${''.padEnd(42)} | ${`netflow-k8s run (${ours.backend ?? '?'})`.padEnd(32)} | nfcapd`);
  console.log(`  ${'lossless up to (no loss at any step below)'.padEnd(42)} | ${rate(ours).padEnd(32)} | ${rate(nf)}`);
  console.log(`  ${'CPU s per million records (at that rate)'.padEnd(42)} | ${cpu(ours).padEnd(32)} | ${cpu(nf)}`);
  console.log(`  ${'RSS MiB'.padEnd(42)} | ${rss(ours).padEnd(32)} | ${rss(nf)}`);
  const costs =
    ours.exportSteps === 0
      ? 'not shown (no step up to the best rate had both a scrape and an OTLP collection)'
      : ours.exportStepsLossy === 0
        ? `no (${ours.exportSteps} step(s) up to the best rate had scrapes and an OTLP collection, all lossless)`
        : `YES (${ours.exportStepsLossy} of ${ours.exportSteps} steps with scrapes + OTLP below the best rate lost)`;
  console.log(`  ${'scrapes / OTLP of ~20,000 series cost datagrams'.padEnd(42)} | ${costs}`);
}

export async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      backend: { type: 'string', default: 'auto' },
      spread: { type: 'string', default: '' },
      'skip-nfcapd': { type: 'boolean', default: false },
      sender: { type: 'string', default: 'both' },
      workers: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '3' },
      rates: { type: 'string', default: '20000,30000,40000,50000,60000,80000,100000' },
      exporters: { type: 'string', default: '8' },
    },
    strict: false,
  });
  const rates = String(values.rates).split(',').map(Number);
  const seconds = Number(values.seconds);
  const exporters = Number(values.exporters);
  console.log(
    `e2e: ipt-netflow-shaped NetFlow v9, 27 records per datagram, ${seconds} s per step, loopback; load average now ${(await import('node:os')).loadavg()[0].toFixed(1)} on ${(await import('node:os')).availableParallelism()} cores`,
  );
  console.log(await speedNote('before'));
  const senders = String(values.sender) === 'both' ? ['node', 'nfgen'] : [String(values.sender)];
  const tmp = mkdtempSync(join(tmpdir(), 'e2e-nfgen-'));
  try {
    for (const sender of senders) {
      nfgen = undefined;
      if (sender === 'nfgen') {
        nfgen = buildNfgen(tmp);
        if (!nfgen) continue;
        console.log('\nsender: nfgen (C, one exporter, bursts of 64 datagrams; -P 4000 -C 20000 -x 5)');
      } else {
        console.log(`\nsender: bench/sender.ts (Node, smooth, ${exporters} exporters)`);
      }
      // The Node sender's 8 exporters are a Deployment's load (datagram spread, as that manifest
      // sets); nfgen's one exporter is a DaemonSet collector's (the default, auto).
      const spread = String(values.spread) || (sender === 'nfgen' ? 'auto' : 'datagram');
      const ours = await benchCollector(
        rates,
        seconds,
        Number(values.workers),
        sender === 'nfgen' ? 1 : exporters,
        String(values.backend),
        spread,
      );
      if (values['skip-nfcapd']) continue;
      const nf = await benchNfcapd(rates, seconds, sender === 'nfgen' ? 1 : exporters);
      summary(ours, nf);
    }
    console.log(await speedNote('after'));
  } finally {
    nfgen = undefined;
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
