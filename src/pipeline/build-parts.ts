/**
 * Builds one receiving thread's parts from the run config: decoder → pipeline (identify, dedup)
 * → a delta table whose batches go to the main thread's pair store (store.ts builds that one, so
 * a thread never loads the store's code). Also checks, on the main thread before any thread
 * starts, the identity settings that read files, so a bad one fails with its field name.
 */
import type { RunConfig } from '../config/run-options.ts';
import { ConfigError } from '../config/config-error.ts';
import { Decoder, type DecoderOptions } from '../decode/decoder.ts';
import { IdentityIndex } from '../identify/identity-index.ts';
import { networksFromOption, type NamedNetworks } from '../identify/networks.ts';
import { AsnDatabase } from '../identify/asn.ts';
import { DeltaTable } from '../aggregate/delta-table.ts';
import type { Dimensions } from '../aggregate/aggregation-level.ts';
import { RecordPipeline, type RecordPipelineOptions } from './record-pipeline.ts';
import { dnsNamesFor } from '../dns/dnstap-options.ts';

export interface WorkerParts {
  decoder: Decoder;
  identity: IdentityIndex;
  counts: DeltaTable;
  pipeline: RecordPipeline;
}

function identityOptions(cfg: RunConfig): { networks: NamedNetworks; asn: AsnDatabase | undefined } {
  let networks: NamedNetworks;
  try {
    networks = networksFromOption(cfg.networks);
  } catch (err) {
    throw new ConfigError('networks', (err as Error).message);
  }
  let asn: AsnDatabase | undefined;
  if (cfg.asnDb !== undefined) {
    try {
      asn = AsnDatabase.open(cfg.asnDb);
    } catch (err) {
      throw new ConfigError('asnDb', (err as Error).message);
    }
  }
  return { networks, asn };
}

/** Throws a ConfigError naming the field when --networks or --asn-db cannot be used. */
export function checkIdentityConfig(cfg: RunConfig): void {
  identityOptions(cfg);
}

/** --extra-labels as the store's dimensions (and the Prometheus page's extra labels). */
export function dimensionsOf(cfg: RunConfig): Dimensions {
  return {
    kind: cfg.extraLabels.includes('kind'),
    role: cfg.extraLabels.includes('role'),
    protocol: cfg.extraLabels.includes('protocol'),
    serverPort: cfg.extraLabels.includes('port'),
    zone: cfg.extraLabels.includes('zone'),
  };
}

/**
 * A receiving thread's counts between merges, with room for the series cap per interval: an
 * interval that sees more distinct pairs than that means the main store overflows anyway, and a
 * larger table would only hand the main thread more rows to merge when it is busiest.
 */
export function deltaTableFor(cfg: RunConfig): DeltaTable {
  // Conversations name workloads: at the namespace level there is nothing to write a policy for.
  const conversations = cfg.level !== 'namespace' && cfg.maxConversations > 0;
  // Rows are then per pair and server port: room for the conversations too, so a pair using
  // several ports does not push other pairs into the overflow row below the series cap.
  const maxRows = cfg.maxSeries + (conversations ? cfg.maxConversations : 0);
  return new DeltaTable({ level: cfg.level, dims: dimensionsOf(cfg), maxRows, conversations });
}

/** The identity index a run config describes (its inventory is fed separately). */
export function identityFor(cfg: RunConfig): IdentityIndex {
  const { networks, asn } = identityOptions(cfg);
  return new IdentityIndex({
    ephemeralPorts: [cfg.ephemeralPorts.lo, cfg.ephemeralPorts.hi],
    networks,
    asn,
    dnsNames: dnsNamesFor(cfg.dnstap),
    dnsOverNetworks: cfg.dnstap?.overNetworks,
  });
}

export async function buildWorkerParts(cfg: RunConfig, opts: RecordPipelineOptions = {}): Promise<WorkerParts> {
  const identity = identityFor(cfg);
  const counts = deltaTableFor(cfg);
  const pipeline = new RecordPipeline(identity, counts, cfg.dedup, opts);
  const decoder = new Decoder(pipeline.sink, decoderOptions(cfg));
  return { decoder, identity, counts, pipeline };
}

/** The decoder's settings from the run config (the templates file's merge uses them too). */
export function decoderOptions(cfg: RunConfig): Partial<DecoderOptions> {
  return {
    templateTtlMs: cfg.templateTtlMs,
    templateScope: cfg.templateScope,
    maxExporters: cfg.maxExporters,
    stateBudgetBytes: cfg.decoderStateBudget,
    maxTemplatesPerExporter: cfg.maxTemplatesPerExporter,
    maxTemplateFields: cfg.maxTemplateFields,
  };
}
