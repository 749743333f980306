/**
 * What the live inventory costs for 5,000 realistic pods (managedFields, env, volumes, status)
 * served by the fake API server over HTTPS: heap held after the first list by a plain
 * client-node informer (makeInformer, which caches whole objects) against kube-source (slim
 * stand-ins only), and how long each takes to list. Each side runs in its own child process with
 * --expose-gc so the heap figures are not mixed up.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const PODS = 5000;
const MODE_ENV = 'NETFLOW_K8S_BENCH_INFORMER';

interface Figures {
  mode: string;
  pods: number;
  heapBytes: number;
  listMs: number;
}

async function child(mode: 'full' | 'slim'): Promise<Figures> {
  const { CoreV1Api, makeInformer } = await import('@kubernetes/client-node');
  const { FakeApiServer } = await import('../test/support/fake-apiserver.ts');
  const { pod } = await import('../test/support/kube-objects.ts');
  const { loadKubeConfig } = await import('../src/identify/kube-config.ts');
  const { KubeSource } = await import('../src/identify/kube-source.ts');
  const gc = (globalThis as { gc?: () => void }).gc!;
  const server = await FakeApiServer.start();
  for (let i = 0; i < PODS; i++) {
    server.create(
      'pods',
      pod({
        name: `app-${i % 50}-7d9f8-${i}`,
        namespace: `ns-${i % 20}`,
        ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        labels: { app: `app-${i % 50}`, 'pod-template-hash': '7d9f8', tier: 'backend' },
        ports: [8080, { port: 9090, name: 'metrics' }],
        owner: { kind: 'ReplicaSet', name: `app-${i % 50}-7d9f8` },
      }),
    );
  }
  const { kubeConfig } = loadKubeConfig({ kubeconfig: server.writeKubeconfig() });
  const core = kubeConfig.makeApiClient(CoreV1Api);
  // Warm the TLS and HTTP paths so the baseline holds the client's own buffers.
  await core.listNode();
  gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let held: { count: () => number; stop: () => Promise<void> };
  if (mode === 'full') {
    const informer = makeInformer(kubeConfig, '/api/v1/pods', () => core.listPodForAllNamespaces());
    await informer.start();
    held = { count: () => informer.list().length, stop: () => informer.stop() };
  } else {
    const slimPods: unknown[] = [];
    const source = new KubeSource({
      kubeConfig,
      // The index would hold the same slim objects; here a list stands in for it.
      listener: {
        upsertPod: (p) => slimPods.push(p),
        deletePod() {},
        upsertNode() {},
        deleteNode() {},
        upsertService() {},
        deleteService() {},
      },
    });
    source.start();
    await source.ready;
    held = { count: () => source.stats().kinds.pods.objects, stop: () => source.stop() };
  }
  const listMs = performance.now() - t0;
  gc();
  const heapBytes = process.memoryUsage().heapUsed - before;
  const pods = held.count();
  await held.stop();
  await server.close();
  return { mode, pods, heapBytes, listMs };
}

export async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const run = async (mode: string): Promise<Figures> => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', self], {
      env: { ...process.env, [MODE_ENV]: mode },
      timeout: 120_000,
    });
    return JSON.parse(stdout) as Figures;
  };
  const full = await run('full');
  const slim = await run('slim');
  for (const f of [full, slim]) {
    const label = f.mode === 'full' ? 'makeInformer (whole objects)' : 'kube-source (slim)          ';
    console.log(
      `informer ${label}: ${f.pods} pods held, heap ${(f.heapBytes / 1048576).toFixed(1)} MiB (${Math.round(f.heapBytes / f.pods)} B/pod), first list ${f.listMs.toFixed(0)} ms`,
    );
  }
  console.log(`informer memory: slim holds ${(full.heapBytes / Math.max(1, slim.heapBytes)).toFixed(1)}x less for ${PODS} pods`);
}

const mode = process.env[MODE_ENV];
if (mode === 'full' || mode === 'slim') {
  process.stdout.write(JSON.stringify(await child(mode)) + '\n');
}
