/**
 * Where the Kubernetes credentials come from: `--kubeconfig FILE`, else `KUBECONFIG` (a list of
 * files, merged), else `~/.kube/config`, else the in-cluster service account. Unlike client-node's
 * loadFromDefault we never fall back to an unauthenticated http://localhost:8080: without any
 * credentials the collector must say so, not watch nothing.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConfigSource {
  /** An explicit kubeconfig file (`--kubeconfig`). */
  readonly kubeconfig?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Home folder, for ~/.kube/config. */
  readonly home?: string;
  /** A folder the in-cluster files live under (`PREFIX/var/run/secrets/...`); '' in a pod, a temp dir in tests. */
  readonly inClusterPrefix?: string;
}

export interface LoadedKubeConfig {
  readonly kubeConfig: KubeConfig;
  /** How it was found, for the startup log: `file:PATH`, `KUBECONFIG:PATHS`, `in-cluster`. */
  readonly origin: string;
  /** The API server URL of the current context. */
  readonly server: string;
}

export class KubeConfigError extends Error {}

function finish(kc: KubeConfig, origin: string): LoadedKubeConfig {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`kubernetes: ${origin} names no current cluster (check current-context)`);
  return { kubeConfig: kc, origin, server: cluster.server };
}

export function loadKubeConfig(src: KubeConfigSource = {}): LoadedKubeConfig {
  const env = src.env ?? process.env;
  const kc = new KubeConfig();
  if (src.kubeconfig) {
    if (!existsSync(src.kubeconfig)) throw new KubeConfigError(`kubernetes: kubeconfig ${src.kubeconfig} does not exist`);
    kc.loadFromFile(src.kubeconfig);
    return finish(kc, `file:${src.kubeconfig}`);
  }
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '' && existsSync(f));
  if (listed.length > 0) {
    kc.loadFromFile(listed[0]);
    for (const f of listed.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(f);
      kc.mergeConfig(more, true);
    }
    return finish(kc, `KUBECONFIG:${listed.join(delimiter)}`);
  }
  const home = join(src.home ?? homedir(), '.kube', 'config');
  if (existsSync(home)) {
    kc.loadFromFile(home);
    return finish(kc, `file:${home}`);
  }
  const prefix = src.inClusterPrefix ?? '';
  if (env.KUBERNETES_SERVICE_HOST && existsSync(prefix + SERVICE_ACCOUNT_TOKEN)) {
    // loadFromCluster reads the token file on every request, so rotated tokens are picked up.
    kc.loadFromCluster(prefix);
    return finish(kc, 'in-cluster');
  }
  throw new KubeConfigError(
    'kubernetes: no credentials: give --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run in a pod with a service account',
  );
}
