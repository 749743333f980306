/**
 * Glue for tests that drive the real informers (src/identify/kube-source.ts) against the fake
 * API server into the real IdentityIndex: start both, wait for conditions, name a flow's ends
 * (flow records come from test/identify/helpers.ts).
 */
import type { FlowRecord } from '../../src/decode/record.ts';
import { IdentityIndex, type IdentityIndexOptions } from '../../src/identify/identity-index.ts';
import { loadKubeConfig } from '../../src/identify/kube-config.ts';
import { KubeSource, type KubeSourceOptions } from '../../src/identify/kube-source.ts';
import { FakeApiServer, type FakeApiServerOptions } from './fake-apiserver.ts';

/** Polls `cond` every few milliseconds until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Harness {
  server: FakeApiServer;
  index: IdentityIndex;
  source: KubeSource;
  /** Stops the source, then the server, and removes the temp files. */
  close(): Promise<void>;
}

export interface HarnessOptions {
  server?: FakeApiServerOptions;
  index?: IdentityIndexOptions;
  source?: Partial<Omit<KubeSourceOptions, 'kubeConfig' | 'listener'>>;
  /** A token other than the server's (to test 401). */
  token?: string;
  /** Objects to create before the source starts. */
  seed?: (server: FakeApiServer) => void;
}

/** A fake API server and a KubeSource on a real --kubeconfig file, feeding a real IdentityIndex. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const server = await FakeApiServer.start(opts.server);
  opts.seed?.(server);
  const { kubeConfig } = loadKubeConfig({ kubeconfig: server.writeKubeconfig(opts.token) });
  const index = new IdentityIndex(opts.index);
  const source = new KubeSource({ backoff: { initialMs: 20, maxMs: 200 }, ...opts.source, kubeConfig, listener: index });
  source.onReady(() => {
    index.ready = true;
  });
  source.start();
  return {
    server,
    index,
    source,
    async close() {
      await source.stop();
      await server.close();
    },
  };
}

/** `kind:namespace/name` of what the index says the source of `rec` is. */
export function srcName(index: IdentityIndex, rec: FlowRecord): string {
  const ep = index.resolveSrc(rec);
  return `${ep.kind}:${ep.namespace}/${ep.name}`;
}

export function dstName(index: IdentityIndex, rec: FlowRecord): string {
  const ep = index.resolveDst(rec);
  return `${ep.kind}:${ep.namespace}/${ep.name}`;
}
