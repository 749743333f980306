/**
 * The dnstap input on the collector's main thread: the receiver, the main thread's name table
 * (the one the self-metrics read and a restarted receiving thread starts from), the relay of
 * every answer to the receiving threads, and the self-metrics.
 *
 * Why names are relayed rather than applied when counts are merged: a receiving thread's counts
 * are already per pair of ends when they reach the main thread, so the external address a name
 * belongs to is gone by then. Each thread holds its own copy of the table (answers arrive in
 * batches, like inventory changes) and names ends as it counts them: exact per flow end time and
 * per client, and a lookup only on an address the thread's memo does not already hold.
 */
import type { RunConfig } from '../config/run-options.ts';
import { ConfigError } from '../config/options.ts';
import type { Logger } from '../observe/log.ts';
import type { RateLimitedLog } from '../observe/log.ts';
import type { MetricsRegistry } from '../observe/metrics.ts';
import type { WorkerPool } from '../pipeline/threads/pool.ts';
import type { WorkerReport } from '../pipeline/threads/protocol.ts';
import { DnstapReceiver } from './dnstap-receiver.ts';
import { dnsNamesFor } from './dnstap-options.ts';
import { dnsSuffixesFromOption } from './dns-suffixes.ts';
import { MESSAGE_TYPES } from './dnstap-decode.ts';
import type { DnsNames } from './dns-names.ts';

export interface DnstapHandle {
  readonly receiver: DnstapReceiver;
  readonly names: DnsNames;
  /** The TCP address bound (port 0 in the config: the port the system chose). */
  readonly tcp: { address: string; port: number } | undefined;
  registerMetrics(r: MetricsRegistry, reports: () => WorkerReport[]): void;
  stop(): Promise<void>;
}

export async function startDnstap(
  config: RunConfig,
  pool: WorkerPool,
  log: Logger,
  limited: RateLimitedLog,
): Promise<DnstapHandle | undefined> {
  const cfg = config.dnstap;
  if (cfg === undefined) return undefined;
  const names = dnsNamesFor(cfg, { publishNames: true })!;
  pool.dnsNames = names;
  const receiver = new DnstapReceiver({
    suffixes: dnsSuffixesFromOption(cfg.nameSuffixes),
    onLearn: (ops) => {
      for (const op of ops) names.learn(op);
      pool.learnNames(ops);
    },
    log: { info: (f, m) => log.info(f, m), warn: (k, f, m) => limited.warn(k, f, m) },
  });
  let tcp: { address: string; port: number } | undefined;
  try {
    if (cfg.listen !== undefined) {
      try {
        tcp = await receiver.listenTcp(cfg.listen.host, cfg.listen.port);
      } catch (err) {
        throw new ConfigError('dnstapListen', `cannot listen on ${cfg.listen.host}:${cfg.listen.port}: ${(err as Error).message}`);
      }
    }
    if (cfg.socket !== undefined) {
      try {
        await receiver.listenUnix(cfg.socket);
      } catch (err) {
        throw new ConfigError('dnstapSocket', `cannot listen on ${cfg.socket}: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    await receiver.close();
    throw err;
  }
  log.info({ tcp: tcp ?? null, socket: cfg.socket ?? null, maxNames: cfg.maxNames }, 'dnstap receiver listening');
  const prune = setInterval(() => names.prune(Date.now()), 10_000);
  prune.unref();
  return {
    receiver,
    names,
    tcp,
    registerMetrics(r, reports) {
      const st = receiver.stats;
      r.report('dnstap_connections', () => st.open);
      r.report('dnstap_connections_accepted', () => st.accepted);
      r.report('dnstap_connections_dropped', () => Object.entries(st.dropped).map(([k, v]) => [[k], v] as const));
      r.report('dnstap_frames', () => st.frames);
      r.report('dnstap_bytes', () => st.bytes);
      r.report('dnstap_messages', () => {
        const out: [string[], number][] = [];
        st.messages.forEach((n, i) => {
          if (n > 0 || i === 6) out.push([[MESSAGE_TYPES[i] || 'NONE'], n]);
        });
        return out;
      });
      r.report('dnstap_decode_errors', () => [
        [['protobuf'], st.decodeErrors.protobuf],
        [['dns'], st.decodeErrors.dns],
      ]);
      r.report('dns_answers_learned', () => names.stats.learned);
      r.report('dns_addresses', () => names.size);
      r.report('dns_names', () => names.names);
      r.report('dns_addresses_max', () => names.maxAddresses);
      r.report('dns_evictions', () => names.stats.evictions);
      r.report('dns_expired', () => names.stats.expired);
      r.report('dns_thread_answers_learned', () => {
        const latest = new Map<number, number>();
        for (const w of reports()) if (w.dns !== undefined) latest.set(w.thread, w.dns.learned);
        return [...latest].map(([i, v]) => [[String(i)], v] as const);
      });
      r.report('dns_named_flows', () => reports().reduce((a, w) => a + (w.dns?.namedFlows ?? 0), 0));
    },
    async stop() {
      clearInterval(prune);
      await receiver.close();
    },
  };
}
