/**
 * The main thread's warm-up, before the collector says ready: the merge of the threads' batches,
 * the /metrics page, the OTLP export and the /metrics/otel page run a few rounds over a scratch
 * store of synthetic pairs, so V8 has compiled them before live traffic needs them. Run cold, the
 * first of each took several times its later cost, all of it while the receiving threads took their
 * first burst (measured under the footprint bench's load: the first OTLP export 414 ms of the main
 * thread's CPU against about 50 later, the first /metrics 147 ms, and code that is not optimised
 * yet boxes every double it computes, so each also left tens of MiB of garbage behind).
 *
 * Everything here is scratch (a store, renderers, an encoder, conversations) and is dropped at the
 * end; nothing reaches the real store, the registry or a socket. The threads' warm-up
 * (threads/warm-up.ts) does the same for the receive path.
 */
import type { RunConfig } from '../config/run-options.ts';
import { DeltaTable } from '../aggregate/delta-table.ts';
import type { End } from '../aggregate/pair.ts';
import type { PairStore } from '../aggregate/pair-store.ts';
import type { Endpoint, EndpointKind, Role } from '../identify/endpoint.ts';
import { FlowRecord } from '../decode/record.ts';
import { INTERNET, internPlace, NOWHERE, type Place } from '../aggregate/zone-class.ts';
import { ConversationStore } from '../policy/conversations.ts';
import { dimensionsOf } from './build-parts.ts';
import { storeFor } from './store.ts';

/** One export of each kind the collector runs, over the store given (renderers made for it, dropped with it). */
export type ExportRound = (store: PairStore) => () => unknown;

export interface WarmExportsOptions {
  /** Distinct synthetic pairs. Default 3,000: enough loop iterations for V8 to optimise, about 200 ms in all. */
  pairs?: number;
  /** Batches merged and exports run. Default 4. */
  rounds?: number;
}

export interface WarmExportsReport {
  pairs: number;
  rounds: number;
  /** Pairs in the scratch store at the end. */
  storePairs: number;
  ms: number;
}

const KINDS: readonly EndpointKind[] = ['pod', 'pod', 'pod', 'pod', 'service', 'node', 'external', 'unknown'];
const OWNERS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', ''];
const ROLES: readonly Role[] = ['src-client', 'src-client', 'src-server', 'unknown'];
const PORTS = [443, 80, 8080, 5432, 6379, 53, 9090, 4317];

/** Synthetic end k: every kind, owners and none, many namespaces and nodes, as a real inventory gives. */
function end(k: number): Endpoint {
  const kind = KINDS[k % KINDS.length];
  const owner = OWNERS[k % OWNERS.length];
  return {
    id: k + 1,
    kind,
    namespace: kind === 'external' ? 'external' : `warm-ns-${k % 23}`,
    name: kind === 'external' ? `AS${64512 + (k % 97)} Warm Net` : `warm-${kind}-${k}`,
    app: `warm-app-${k}`,
    ownerKind: kind === 'pod' ? owner : '',
    ownerName: kind === 'pod' && owner !== '' ? `warm-owner-${k % 307}` : '',
    nodeName: kind === 'external' || kind === 'unknown' ? '' : `warm-node-${k % 7}`,
  };
}

/**
 * Fills a scratch store the way the receiving threads do (a delta table drained into mergeBatch
 * each round, conversations alongside) and runs `round`'s exports after each merge.
 */
export async function warmExports(config: RunConfig, round: ExportRound, opts: WarmExportsOptions = {}): Promise<WarmExportsReport> {
  const t0 = performance.now();
  const pairs = opts.pairs ?? 3000;
  const rounds = opts.rounds ?? 4;
  const store = storeFor({ ...config, maxSeries: Math.max(pairs, 1) });
  const withConversations = config.level !== 'namespace' && config.maxConversations > 0;
  const table = new DeltaTable({ level: config.level, dims: dimensionsOf(config), maxRows: pairs * 2, conversations: withConversations });
  const conversations = withConversations ? new ConversationStore({ max: pairs * 2, ttlMs: config.seriesTtlMs }) : undefined;
  const ends: End[] = [];
  const run = round(store);
  const places: Place[] = [internPlace('warm-a', 'warm-r', ''), internPlace('warm-b', 'warm-r', ''), NOWHERE];
  const endpoints = Array.from({ length: Math.max(2, pairs >> 1) }, (_, k) => end(k));
  const rec = new FlowRecord();
  for (let r = 0; r < rounds; r++) {
    const now = Date.now();
    for (let i = 0; i < pairs; i++) {
      // The same pairs each round (their counts grow), and a tenth new ones (a merge's other branch).
      const src = endpoints[i % endpoints.length];
      const dst = endpoints[(i * 7 + 3 + (i % 10 === 0 ? r : 0)) % endpoints.length];
      rec.proto = i % 5 === 0 ? 17 : 6;
      rec.srcPort = 32768 + (i % 20000);
      rec.dstPort = PORTS[i % PORTS.length];
      rec.bytes = 1500 * (i + r + 1);
      rec.packets = i + r + 1;
      const sp = dst.kind === 'external' ? INTERNET : places[i % places.length];
      table.add(src, dst, ROLES[i % ROLES.length], rec, now, places[(i >> 1) % places.length], sp);
    }
    const batch = table.drain();
    store.mergeBatch(batch, ends);
    if (batch.conversations) conversations?.merge(batch.conversations, ends);
    await run();
  }
  return { pairs, rounds, storePairs: store.pairs.length, ms: performance.now() - t0 };
}
