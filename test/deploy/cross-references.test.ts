/**
 * Every overlay in deploy/overlays, rendered, against what the docs, the dashboards and its own
 * objects say about it: the Services an operator is told to reach exist in every overlay and lead
 * to a process that listens there; every in-cluster address a pod is configured with (the
 * sidecar's gateway, above all) is a Service rendered beside it; the collector's OTLP endpoint is
 * a sidecar in its own pod; nothing is scraped twice; ipt-netflow is set up once, towards the
 * collector. Each overlay is checked as `kubectl apply -k` would apply it, on its own.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/options.ts';
import { parseRunConfig } from '../../src/config/run-options.ts';
import { NODEGRAPH_OPTIONS } from '../../src/cli/nodegraph.ts';
import { containerEnv, findKubectl, kustomize, longRunningContainers, podSpecs, type K8sObject } from './k8s-validate.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEPLOY = join(ROOT, 'deploy');
const KUBECTL = findKubectl();
const NS = 'netflow-k8s';
// What the kubelet would put into fieldRef env vars.
const FIELDS = { 'status.hostIP': '10.0.0.5', 'status.podIP': '10.0.0.5', 'spec.nodeName': 'node-a', 'metadata.name': 'pod-a' };

const OVERLAYS = readdirSync(join(DEPLOY, 'overlays'))
  .filter((d) => existsSync(join(DEPLOY, 'overlays', d, 'kustomization.yaml')))
  .sort();
const rendered = new Map<string, K8sObject[]>();
const render = (overlay: string): K8sObject[] => {
  let objs = rendered.get(overlay);
  if (!objs) rendered.set(overlay, (objs = kustomize(KUBECTL!, join(DEPLOY, 'overlays', overlay))));
  return objs;
};

/** ${env:NAME} and ${env:NAME:-default} as the Collector expands them. */
const expandCollectorEnv = (s: string, env: Record<string, string>): string =>
  s.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def?: string) => env[name] ?? def ?? '');

const portOf = (hostport: string): number => Number(/:(\d+)$/.exec(hostport.replace(/\/.*$/, '').replace(/^\w+:\/\//, ''))?.[1]);

interface Listener {
  container: string;
  proto: 'TCP' | 'UDP';
  port: number;
  what: string;
}

/** What a container really listens on, read from its own configuration: netflow-k8s's options or the Collector's config file. */
function listeners(c: K8sObject, spec: K8sObject, objs: K8sObject[]): Listener[] {
  const env = containerEnv(c, FIELDS);
  const args = (c.args ?? []) as string[];
  const own = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('NETFLOW_K8S_')));
  if (args[0] === 'run') {
    const cfg = parseRunConfig([], own).config!;
    return [
      { container: c.name, proto: 'TCP', port: cfg.http.port, what: 'run: HTTP (/metrics, Node Graph API, map)' },
      { container: c.name, proto: 'UDP', port: cfg.listen.port, what: 'run: NetFlow' },
    ];
  }
  if (args[0] === 'nodegraph') {
    const http = parseConfig(NODEGRAPH_OPTIONS, [], own).values.http as { port: number };
    return [{ container: c.name, proto: 'TCP', port: http.port, what: 'nodegraph: HTTP (Node Graph API, map)' }];
  }
  const config = otelConfig(c, spec, objs);
  if (!config) return [];
  const out: Listener[] = [];
  for (const [id, r] of Object.entries((config.receivers ?? {}) as K8sObject)) {
    for (const [proto, p] of Object.entries((r?.protocols ?? {}) as K8sObject)) {
      if (p?.endpoint)
        out.push({ container: c.name, proto: 'TCP', port: portOf(expandCollectorEnv(p.endpoint, env)), what: `${id} ${proto}` });
    }
  }
  const hc = config.extensions?.health_check?.endpoint;
  if (hc) out.push({ container: c.name, proto: 'TCP', port: portOf(expandCollectorEnv(hc, env)), what: 'health_check' });
  for (const [id, e] of Object.entries((config.exporters ?? {}) as K8sObject)) {
    if (id.split('/')[0] === 'prometheus')
      out.push({ container: c.name, proto: 'TCP', port: portOf(expandCollectorEnv(e.endpoint, env)), what: id });
  }
  return out;
}

/** The Collector config a container runs (--config=DIR/FILE from a mounted ConfigMap), parsed. */
function otelConfig(c: K8sObject, spec: K8sObject, objs: K8sObject[]): K8sObject | undefined {
  const arg = ((c.args ?? []) as string[]).find((a) => a.startsWith('--config='));
  if (!arg) return undefined;
  const path = arg.slice('--config='.length);
  const mount = ((c.volumeMounts ?? []) as K8sObject[]).find((m) => path.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `${c.name}: ${path} is on a mounted volume`);
  const cmName = ((spec.volumes ?? []) as K8sObject[]).find((v) => v.name === mount.name)?.configMap?.name;
  const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName);
  assert.ok(cm, `${c.name}: ConfigMap ${cmName} is rendered beside it`);
  const text = cm.data?.[path.slice(mount.mountPath.length + 1)];
  assert.equal(typeof text, 'string', `${c.name}: ${path} is in ConfigMap ${cmName}`);
  return parseYaml(text) as K8sObject;
}

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

interface Pod {
  workload: string;
  spec: K8sObject;
  meta: K8sObject;
  namespace: string;
}
const pods = (objs: K8sObject[]): Pod[] =>
  objs.flatMap((o) => podSpecs(o).map((p) => ({ ...p, namespace: String(o.metadata?.namespace) })));

/**
 * The Service NAME.NAMESPACE:PORT in `objs`, followed to the containers behind it; fails unless
 * at least one selected pod has a container that listens on the target port.
 */
function reach(objs: K8sObject[], name: string, namespace: string, port: number, where: string): Listener[] {
  const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === name && o.metadata.namespace === namespace);
  assert.ok(svc, `${where}: Service ${name}.${namespace} is rendered`);
  const sp = ((svc.spec.ports ?? []) as K8sObject[]).find((p) => p.port === port);
  assert.ok(sp, `${where}: Service ${name} has port ${port}`);
  const proto = (sp.protocol ?? 'TCP') as 'TCP' | 'UDP';
  const behind = pods(objs).filter((p) => p.namespace === namespace && selects(svc.spec.selector, p.meta.labels));
  assert.ok(behind.length > 0, `${where}: Service ${name} selects a pod`);
  const found: Listener[] = [];
  for (const p of behind) {
    for (const c of longRunningContainers(p.spec)) {
      const cp = ((c.ports ?? []) as K8sObject[]).find(
        (x) =>
          (typeof sp.targetPort === 'string' ? x.name === sp.targetPort : x.containerPort === (sp.targetPort ?? sp.port)) &&
          (x.protocol ?? 'TCP') === proto,
      );
      if (!cp) continue;
      found.push(...listeners(c, p.spec, objs).filter((l) => l.port === cp.containerPort && l.proto === proto));
    }
  }
  assert.ok(found.length > 0, `${where}: something listens behind Service ${name}:${port} (${proto})`);
  return found;
}

/** In-cluster Service addresses (NAME.NAMESPACE.svc[:PORT]) in a text. */
function serviceRefs(text: string): { name: string; namespace: string; port: number | undefined; ref: string }[] {
  return [...text.matchAll(/\b([a-z0-9]([a-z0-9-]*[a-z0-9])?)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?(?::(\d+))?/g)].map((m) => ({
    name: m[1],
    namespace: m[3],
    port: m[4] === undefined ? undefined : Number(m[4]),
    ref: m[0],
  }));
}

const DOCS = ['README.md', 'docs/operations.md'].map((f) => ({ file: f, text: readFileSync(join(ROOT, f), 'utf8') }));
const DASHBOARDS = readdirSync(join(DEPLOY, 'grafana')).filter((f) => f.endsWith('.json'));

describe('deploy: cross-references between the docs, the dashboards and every overlay', {
  skip: KUBECTL ? false : 'kubectl is not installed',
}, () => {
  test('the overlays the docs name exist, and every overlay is named in the docs', () => {
    const ops = DOCS.find((d) => d.file === 'docs/operations.md')!.text;
    for (const o of OVERLAYS) assert.ok(ops.includes(`overlays/${o}`), `docs/operations.md names overlays/${o}`);
    for (const { file, text } of DOCS) {
      for (const [, path] of text.matchAll(/`(deploy\/[\w./-]*[\w/])`/g)) {
        if (!path.includes('*')) assert.ok(existsSync(join(ROOT, path)), `${file} names ${path}, which exists`);
      }
    }
  });

  test('every Service the docs name (Service `NAME[:PORT]`) is rendered by an overlay, and something listens there', () => {
    let named = 0;
    for (const { file, text } of DOCS) {
      for (const m of text.matchAll(/Service `([a-z0-9-]+)(?::(\d+))?`/g)) {
        named++;
        const where = OVERLAYS.filter((o) => render(o).some((x) => x.kind === 'Service' && x.metadata.name === m[1]));
        assert.ok(where.length > 0, `${file}: ${m[0]} is rendered by some overlay`);
        const svc = render(where[0]).find((x) => x.kind === 'Service' && x.metadata.name === m[1])!;
        for (const o of where)
          for (const sp of (m[2] ? [{ port: Number(m[2]) }] : svc.spec.ports) as K8sObject[])
            reach(render(o), m[1], NS, sp.port, `${o} (${file}: ${m[0]})`);
      }
    }
    assert.ok(named > 0);
  });

  for (const overlay of OVERLAYS) {
    describe(`overlays/${overlay}`, () => {
      test('the Services the docs tell an operator to reach lead to a process listening there', () => {
        for (const { file, text } of DOCS) {
          // `kubectl -n NS port-forward svc/NAME PORT`: step 4 of the quick start, for every overlay.
          for (const m of text.matchAll(/kubectl -n ([a-z0-9-]+) port-forward svc\/([a-z0-9-]+) (\d+)/g)) {
            const [, namespace, name, port] = m;
            const l = reach(render(overlay), name, namespace, Number(port), `${overlay} (${file}: ${m[0]})`);
            assert.ok(
              l.some((x) => /HTTP/.test(x.what)),
              `${overlay}: ${m[0]} reaches the map page`,
            );
          }
        }
      });

      test("the dashboards' default Node Graph API URL is a Service of this overlay serving the API", () => {
        for (const f of DASHBOARDS) {
          const d = JSON.parse(readFileSync(join(DEPLOY, 'grafana', f), 'utf8')) as { templating?: { list?: K8sObject[] } };
          for (const v of d.templating?.list ?? []) {
            const def = typeof v.query === 'string' ? v.query : '';
            for (const ref of serviceRefs(def)) {
              const l = reach(render(overlay), ref.name, ref.namespace, ref.port ?? 80, `${overlay} (${f} variable ${v.name}: ${ref.ref})`);
              assert.ok(
                l.some((x) => /Node Graph API/.test(x.what)),
                `${overlay}: ${f}'s ${v.name} reaches a Node Graph API`,
              );
            }
          }
        }
      });

      test('every in-cluster address a pod is configured with is a Service rendered beside it', () => {
        const objs = render(overlay);
        let refs = 0;
        for (const p of pods(objs)) {
          for (const c of longRunningContainers(p.spec)) {
            const env = containerEnv(c, FIELDS);
            const texts = Object.values(env);
            // The Collector's exporters, with the defaults its config gives (${env:X:-default}).
            const cfg = otelConfig(c, p.spec, objs);
            for (const e of Object.values((cfg?.exporters ?? {}) as K8sObject))
              if (typeof e?.endpoint === 'string') texts.push(expandCollectorEnv(e.endpoint, env));
            for (const t of texts) {
              for (const ref of serviceRefs(t)) {
                if (ref.namespace !== NS) continue; // the operator's own services (Prometheus, a store)
                refs++;
                reach(objs, ref.name, ref.namespace, ref.port ?? 80, `${overlay}: ${p.workload} container ${c.name} (${ref.ref})`);
              }
            }
          }
        }
        const hasSidecar = pods(objs).some((p) => ((p.spec.initContainers ?? []) as K8sObject[]).some((c) => c.restartPolicy === 'Always'));
        if (hasSidecar) assert.ok(refs > 0, `${overlay}: the sidecar's gateway address was found and checked`);
      });

      test("the collector's OTLP endpoint is a sidecar in its own pod that listens there", () => {
        const objs = render(overlay);
        for (const p of pods(objs)) {
          for (const c of longRunningContainers(p.spec)) {
            const endpoint = containerEnv(c, FIELDS).NETFLOW_K8S_OTLP_ENDPOINT;
            if (endpoint === undefined) continue;
            const url = new URL(endpoint);
            if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
              for (const ref of serviceRefs(url.host))
                if (ref.namespace === NS) reach(objs, ref.name, ref.namespace, Number(url.port), `${overlay}: ${p.workload} OTLP`);
              continue;
            }
            const sidecars = longRunningContainers(p.spec).filter((s) => s !== c);
            const l = sidecars
              .flatMap((s) => listeners(s, p.spec, objs))
              .filter((x) => x.port === Number(url.port) && /^otlp/.test(x.what));
            assert.ok(l.length > 0, `${overlay}: ${p.workload} exports OTLP to ${endpoint}, and a sidecar of its pod receives there`);
          }
        }
      });

      test('no collector is scraped twice: scrape annotations on the pod or on its Service, not both', () => {
        const objs = render(overlay);
        for (const svc of objs.filter((o) => o.kind === 'Service' && o.metadata.annotations?.['prometheus.io/scrape'] === 'true')) {
          for (const p of pods(objs).filter((x) => selects(svc.spec.selector, x.meta.labels))) {
            assert.notEqual(
              p.meta.annotations?.['prometheus.io/scrape'],
              'true',
              `${overlay}: ${p.workload} is annotated and so is Service ${svc.metadata.name}`,
            );
          }
        }
        // An OpenTelemetry Collector that receives the collectors' OTLP and serves it for scraping
        // repeats their self-metrics under the same names: not annotated beside them.
        const annotated = pods(objs).filter((p) => p.meta.annotations?.['prometheus.io/scrape'] === 'true');
        const collectors = annotated.filter((p) =>
          longRunningContainers(p.spec).some((c) => (c.args as string[] | undefined)?.[0] === 'run'),
        );
        for (const p of annotated) {
          for (const c of longRunningContainers(p.spec)) {
            const cfg = otelConfig(c, p.spec, objs);
            const relays =
              cfg?.receivers?.otlp && Object.keys((cfg.exporters ?? {}) as K8sObject).some((id) => id.split('/')[0] === 'prometheus');
            if (relays)
              assert.equal(
                collectors.length,
                0,
                `${overlay}: ${p.workload} re-serves the collectors' metrics and is annotated beside them`,
              );
          }
        }
        // prometheus-operator objects name a real port of what they select.
        for (const sm of objs.filter((o) => o.kind === 'ServiceMonitor')) {
          const svcs = objs.filter((o) => o.kind === 'Service' && selects(sm.spec.selector.matchLabels, o.metadata.labels));
          assert.ok(svcs.length > 0, `${overlay}: ServiceMonitor ${sm.metadata.name} selects a Service`);
          for (const e of sm.spec.endpoints as K8sObject[])
            for (const s of svcs)
              assert.ok(
                (s.spec.ports as K8sObject[]).some((p) => p.name === e.port),
                `${overlay}: Service ${s.metadata.name} has port ${e.port}`,
              );
        }
        for (const pm of objs.filter((o) => o.kind === 'PodMonitor')) {
          const ps = pods(objs).filter((p) => selects(pm.spec.selector.matchLabels, p.meta.labels));
          assert.ok(ps.length > 0, `${overlay}: PodMonitor ${pm.metadata.name} selects a pod`);
          for (const e of pm.spec.podMetricsEndpoints as K8sObject[]) {
            for (const p of ps)
              assert.ok(
                longRunningContainers(p.spec).some((c) => ((c.ports ?? []) as K8sObject[]).some((x) => x.name === e.port)),
                `${overlay}: ${p.workload} has port ${e.port}`,
              );
          }
        }
      });

      test("ipt-netflow is set up one way only, towards this overlay's collector", () => {
        const objs = render(overlay);
        const daemonSet = objs.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'netflow-node-setup');
        const deckhouse = objs.filter((o) => o.kind === 'NodeGroupConfiguration');
        assert.ok(
          !!daemonSet !== deckhouse.length > 0,
          `${overlay}: the node-setup DaemonSet or Deckhouse's NodeGroupConfigurations, exactly one`,
        );
        const destination = daemonSet
          ? containerEnv(daemonSet.spec.template.spec.containers[0], FIELDS).NETFLOW_DESTINATION
          : deckhouseDestination(deckhouse);
        const svc = objs.find(
          (o) => o.kind === 'Service' && o.metadata.name === 'netflow-k8s' && o.spec.clusterIP && o.spec.clusterIP !== 'None',
        );
        const collectorDs = objs.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'netflow-k8s');
        if (collectorDs) {
          assert.equal(destination, `${FIELDS['status.hostIP']}:2055`, `${overlay}: each node sends to its own collector`);
        } else {
          assert.ok(svc, `${overlay}: the collector's Service with a fixed ClusterIP`);
          assert.equal(destination, `${svc.spec.clusterIP}:2055`, `${overlay}: ipt-netflow sends to the collector Service`);
          reach(objs, 'netflow-k8s', NS, 2055, `${overlay}: the destination`);
        }
      });
    });
  }

  test("the ClusterIP is set in one place: changing it in service.yaml moves every overlay's destination", () => {
    const dir = mkdtempSync(join(tmpdir(), 'nfk-deploy-'));
    try {
      cpSync(DEPLOY, join(dir, 'deploy'), { recursive: true });
      cpSync(join(ROOT, 'otel'), join(dir, 'otel'), { recursive: true });
      const svcFile = join(dir, 'deploy', 'collector', 'deployment', 'service.yaml');
      const text = readFileSync(svcFile, 'utf8');
      assert.match(text, /^ {2}clusterIP: \S+$/m);
      writeFileSync(svcFile, text.replace(/^ {2}clusterIP: \S+$/m, '  clusterIP: 10.100.7.9'));
      let checked = 0;
      for (const overlay of OVERLAYS) {
        const objs = kustomize(KUBECTL!, join(dir, 'deploy', 'overlays', overlay));
        if (!objs.some((o) => o.kind === 'Deployment' && o.metadata.name === 'netflow-k8s')) continue;
        const ds = objs.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'netflow-node-setup');
        const destination = ds
          ? containerEnv(ds.spec.template.spec.containers[0], FIELDS).NETFLOW_DESTINATION
          : deckhouseDestination(objs.filter((o) => o.kind === 'NodeGroupConfiguration'));
        assert.equal(destination, '10.100.7.9:2055', `${overlay} follows the Service`);
        checked++;
      }
      assert.ok(checked >= 3, `${checked} Deployment overlays checked`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** NETFLOW_DESTINATION as the settings NodeGroupConfiguration's script writes it: run the script in a scratch root. */
function deckhouseDestination(ngcs: K8sObject[]): string {
  const env = ngcs.find((o) => /-env\.sh$/.test(o.metadata.name));
  assert.ok(env, 'the settings NodeGroupConfiguration');
  const dir = mkdtempSync(join(tmpdir(), 'nfk-ngc-'));
  try {
    // The script writes to /etc/netflow-k8s: redirect the absolute paths into the scratch root.
    const script = String(env.spec.content).replaceAll('/etc/netflow-k8s', join(dir, 'etc/netflow-k8s'));
    const out = execSh(script, join(dir, 'etc/netflow-k8s/node-setup.env'));
    return /^NETFLOW_DESTINATION=(\S+)$/m.exec(out)?.[1] ?? '';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function execSh(script: string, thenPrint: string): string {
  // Then source the file the way node-setup.sh does and print the variable.
  return execFileSync('sh', ['-c', `${script}\n. '${thenPrint}'\necho "NETFLOW_DESTINATION=$NETFLOW_DESTINATION"`], { encoding: 'utf8' });
}
