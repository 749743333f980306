/**
 * `netflow-k8s replay [OPTIONS] FILE...`: decode captures offline and print what the decoder
 * made of them.
 *
 * The work is a pipeline built once: captures → CaptureFeeder → Decoder → record sink. The sink
 * counts the record and hands it to the output chosen by --format (which names both ends when
 * it shows them). A new format is one more entry in OUTPUTS.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseReplayConfig, replayHelp } from '../config/replay-options.ts';
import type { ReplayConfig } from '../config/replay-options.ts';
import { Decoder } from '../decode/decoder.ts';
import type { SavedTemplates } from '../decode/saved-state.ts';
import { loadTemplateFile } from '../decode/template-file.ts';
import { dstAddrString, srcAddrString } from '../decode/record.ts';
import type { FlowRecord } from '../decode/record.ts';
import { CaptureError, readCapture } from '../ingest/capture.ts';
import { CaptureFeeder } from '../ingest/capture-replay.ts';
import type { Endpoint, Role } from '../identify/endpoint.ts';
import { UNKNOWN_ENDPOINT, type IdentityIndex } from '../identify/identity-index.ts';
import { StaticInventory } from '../identify/static-inventory.ts';
import { dimensionsOf, identityFor } from '../pipeline/build-parts.ts';
import { storeFor } from '../pipeline/store.ts';
import { RecordPipeline } from '../pipeline/record-pipeline.ts';
import { PrometheusTextRenderer } from '../export/prometheus/text.ts';
import { ZonePrometheusRenderer } from '../export/prometheus/zones.ts';
import { ReplayProgress, wantsProgress, type ProgressOut } from './replay-progress.ts';

export interface ReplayIO {
  stdout: Writable;
  stderr: Writable;
}

/** Where flow records go: called once per record (valid only during the call), then ended once. */
export interface RecordOutput {
  record(rec: FlowRecord): void;
  /** Resolves when the consumer is ready for more, or undefined when it already is. */
  ready(): Promise<void> | undefined;
  /** True once nobody reads any more (a closed pipe): replay stops early. */
  stopped(): boolean;
  end(): Promise<void>;
}

/**
 * Names both ends of the record being replayed, exactly as the collector's pipeline would: an
 * output that shows the names calls `hook` and then reads `src`, `dst` and `role`.
 */
export class Naming {
  src: Endpoint = UNKNOWN_ENDPOINT;
  dst: Endpoint = UNKNOWN_ENDPOINT;
  role: Role = 'unknown';
  readonly identity: IdentityIndex;
  readonly hook: (rec: FlowRecord) => void;
  constructor(identity: IdentityIndex) {
    this.identity = identity;
    this.hook = (rec) => {
      this.src = identity.resolveSrc(rec);
      this.dst = identity.resolveDst(rec);
      this.role = identity.role(rec, this.src, this.dst);
    };
  }
}

/** An endpoint as JSON, built once per interned endpoint. */
const endpointJson = new WeakMap<Endpoint, string>();

function jsonEndpoint(ep: Endpoint): string {
  let j = endpointJson.get(ep);
  if (j === undefined) {
    j = JSON.stringify({
      kind: ep.kind,
      namespace: ep.namespace,
      name: ep.name,
      app: ep.app,
      ownerKind: ep.ownerKind,
      ownerName: ep.ownerName,
      node: ep.nodeName,
    });
    endpointJson.set(ep, j);
  }
  return j;
}

export const OUTPUTS: Record<string, (io: ReplayIO, config: ReplayConfig, naming: Naming | undefined) => RecordOutput> = {
  json: (io, _config, naming) => {
    const w = new LineWriter(io.stdout);
    const record =
      naming === undefined
        ? (rec: FlowRecord) => w.push(`${jsonFields(rec)}}`)
        : (rec: FlowRecord) => {
            naming.hook(rec);
            w.push(`${jsonFields(rec)},"src":${jsonEndpoint(naming.src)},"dst":${jsonEndpoint(naming.dst)},"role":"${naming.role}"}`);
          };
    return { record, ready: () => w.ready(), stopped: () => w.closed, end: () => w.end() };
  },
  none: () => ({ record: () => {}, ready: () => undefined, stopped: () => false, end: async () => {} }),
  // The collector's own pipeline (identity, dedup, pair store) and /metrics serializers, fed from captures.
  prometheus: (io, config, naming) => {
    const cfg = { ...config.run, seriesTtlMs: Number.POSITIVE_INFINITY };
    const store = storeFor(cfg);
    const pipeline = new RecordPipeline(naming?.identity ?? identityFor(cfg), store, cfg.dedup);
    const renderer = new PrometheusTextRenderer(store, { labels: dimensionsOf(cfg) });
    const zones = new ZonePrometheusRenderer(store, cfg.prices);
    return {
      record: pipeline.sink,
      ready: () => undefined,
      stopped: () => false,
      end: async () => {
        const w = new LineWriter(io.stdout);
        // As the live /metrics: the seed's families, then the zone families.
        w.push((renderer.render() + zones.render()).replace(/\n$/, ''));
        await w.end();
      },
    };
  },
};

/** `"YYYY-MM-DDTHH:MM:SS` by whole second: Date#toISOString per record was most of replay's time. */
const isoSeconds = new Map<number, string>();

function isoOrNull(ms: number): string {
  // 0 means the exporter sent no times; beyond ±8.64e15 ms a Date cannot exist.
  if (ms === 0 || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return 'null';
  const sec = Math.floor(ms / 1000);
  let head = isoSeconds.get(sec);
  if (head === undefined) {
    if (isoSeconds.size >= 8192) isoSeconds.clear();
    head = `"${new Date(sec * 1000).toISOString().slice(0, -5)}`;
    isoSeconds.set(sec, head);
  }
  const frac = Math.floor(ms - sec * 1000);
  return `${head}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z"`;
}

/** One flow record as a JSON object, keys in a fixed order. Addresses are plain IP text: no escaping needed. */
export function jsonRecord(r: FlowRecord): string {
  return `${jsonFields(r)}}`;
}

/** The record's own fields as an unclosed JSON object, so the ends' names can follow. */
function jsonFields(r: FlowRecord): string {
  const e = r.exporter;
  return (
    `{"exporter":"${e.address}","exporterPort":${e.port},"version":${r.version},"sourceId":${r.sourceId},` +
    `"srcAddr":"${srcAddrString(r)}","dstAddr":"${dstAddrString(r)}","srcPort":${r.srcPort},"dstPort":${r.dstPort},` +
    `"proto":${r.proto},"bytes":${r.bytes},"packets":${r.packets},"samplingRate":${r.samplingRate},"tcpFlags":${r.tcpFlags},` +
    `"start":${isoOrNull(r.startMs)},"end":${isoOrNull(r.endMs)},"inputIf":${r.inputIf},"outputIf":${r.outputIf}`
  );
}

/**
 * Batches lines into large writes and honours backpressure. A closed pipe (`replay ... | head`)
 * ends the output quietly instead of failing.
 */
export class LineWriter {
  readonly #out: Writable;
  #lines: string[] = [];
  #size = 0;
  #waiting: Promise<void> | undefined;
  #failure: Error | undefined;
  closed = false;

  constructor(out: Writable) {
    this.#out = out;
    out.on('error', (err: NodeJS.ErrnoException) => {
      this.closed = true;
      if (err.code !== 'EPIPE') this.#failure = err;
    });
  }

  push(line: string): void {
    if (this.closed) return;
    this.#lines.push(line);
    this.#size += line.length + 1;
    if (this.#size >= 1 << 16) this.#flush();
  }

  ready(): Promise<void> | undefined {
    return this.#waiting;
  }

  #flush(): void {
    if (this.#out.destroyed || this.#out.errored) this.closed = true;
    if (this.#lines.length === 0 || this.closed) return;
    const text = `${this.#lines.join('\n')}\n`;
    this.#lines = [];
    this.#size = 0;
    if (!this.#out.write(text) && !this.#waiting) {
      this.#waiting = new Promise<void>((resolve) => {
        const done = (): void => {
          this.#out.off('drain', done);
          this.#out.off('close', done);
          this.#waiting = undefined;
          resolve();
        };
        this.#out.on('drain', done);
        this.#out.on('close', done);
      });
    }
  }

  /** Flushes what is left; rejects if the output failed for any reason but a closed pipe. */
  async end(): Promise<void> {
    this.#flush();
    if (this.#waiting) await this.#waiting;
    if (this.#failure) throw new Error(`cannot write the output: ${this.#failure.message}`);
  }
}

export interface ReplayTotals {
  records: number;
  bytes: number;
  packets: number;
}

/** Replays `config.files`; returns the exit code. Messages go to io.stderr. */
export async function replay(config: ReplayConfig, io: ReplayIO): Promise<number> {
  const fail = (message: string): number => {
    io.stderr.write(`netflow-k8s replay: ${message}\n`);
    return 1;
  };

  let saved: SavedTemplates | undefined;
  if (config.templates !== undefined) {
    try {
      // Checked on a throwaway decoder so a bad file fails before any output.
      if (!(await loadTemplateFile(config.templates, new Decoder(() => {}), 0)))
        return fail(`template file ${config.templates}: no such file`);
      saved = JSON.parse(readFileSync(config.templates, 'utf8')) as SavedTemplates;
    } catch (err) {
      return fail((err as Error).message);
    }
  }
  // Every file is opened and recognised before any is decoded: a typo fails fast, with no half output.
  for (const f of config.files) {
    const it = readCapture(f);
    try {
      it.next();
    } catch (err) {
      return fail(err instanceof CaptureError ? err.message : `${f}: ${(err as Error).message}`);
    } finally {
      it.return();
    }
  }

  let naming: Naming | undefined;
  if (config.naming) {
    try {
      naming = new Naming(identityFor(config.run));
      if (config.run.inventory !== undefined) {
        new StaticInventory(config.run.inventory, naming.identity, { appLabels: config.run.labelPrecedence, watch: false }).load();
      }
    } catch (err) {
      return fail((err as Error).message);
    }
  }
  const output = OUTPUTS[config.format](io, config, naming);
  const totals: ReplayTotals = { records: 0, bytes: 0, packets: 0 };
  const sink = (rec: FlowRecord): void => {
    totals.records++;
    totals.bytes += rec.bytes;
    totals.packets += rec.packets;
    output.record(rec);
  };
  const decoder = new Decoder(sink, { templateScope: config.run.templateScope });
  const feeder = new CaptureFeeder(decoder, saved);
  const progress = wantsProgress(io.stderr as ProgressOut, io.stdout as ProgressOut, config.format === 'json')
    ? new ReplayProgress(
        io.stderr as ProgressOut,
        config.files.reduce((n, f) => n + statSync(f).size, 0),
      )
    : undefined;
  try {
    files: for (const f of config.files) {
      for (const _ of feeder.feed(f)) {
        progress?.tick(feeder.progress.bytes, totals.records);
        const wait = output.ready();
        if (wait) await wait;
        if (output.stopped()) break files;
      }
    }
    feeder.finish();
    progress?.done();
    await output.end();
  } catch (err) {
    progress?.done();
    await output.end().catch(() => {});
    return fail(err instanceof CaptureError ? err.message : (err as Error).message);
  }

  if (config.summary) io.stderr.write(`${JSON.stringify(summarize(config, feeder, totals))}\n`);
  return 0;
}

export function summarize(config: ReplayConfig, feeder: CaptureFeeder, totals: ReplayTotals): Record<string, unknown> {
  const s = feeder.decoder.stats;
  const c = feeder.captureStats;
  return {
    files: config.files.length,
    datagrams: s.datagrams,
    records: totals.records,
    bytes: totals.bytes,
    packets: totals.packets,
    recordsByVersion: { ...s.records },
    optionsRecords: s.optionsRecords,
    templatesReceived: s.templatesReceived,
    templateMisses: s.templateMisses,
    held: s.held,
    heldDecoded: s.heldDecoded,
    heldDropped: s.heldDropped,
    setsRefused: s.setsRefused,
    templateScopeFallbacks: s.templateScopeFallbacks,
    capture: {
      frames: c.frames,
      nonUdp: c.nonUdp,
      nonIp: c.nonIp,
      fragments: c.fragments,
      firstFragments: c.firstFragments,
      truncated: c.truncated,
      unsupportedLink: c.unsupportedLink,
    },
    errors: { ...s.errors },
  };
}

export async function replayCommand(argv: string[]): Promise<number> {
  const config = parseReplayConfig(argv);
  if (config.help) {
    process.stdout.write(replayHelp());
    return 0;
  }
  return replay(config, { stdout: process.stdout, stderr: process.stderr });
}
