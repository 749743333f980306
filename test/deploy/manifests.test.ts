/**
 * deploy/: every kustomization renders (kubectl kustomize), every object validates against the
 * Kubernetes OpenAPI schemas and has no unknown fields, and the rendered overlays keep the promises
 * of issue 6: least-privilege RBAC, non-root read-only pods with limits and probes, only the node
 * setup privileged, the ipt-netflow settings, and the collector's settings being real options.
 * Then the node-setup script itself, run against stand-ins for the host's tools.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunConfig } from '../../src/config/run-options.ts';
import {
  containerEnv,
  findKubectl,
  kustomizationDirs,
  kustomize,
  longRunningContainers,
  parseYamlDocs,
  podSpecs,
  unknownFields,
  validateSchema,
  type K8sObject,
} from './k8s-validate.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEPLOY = join(ROOT, 'deploy');
const KUBECTL = findKubectl();
const NO_KUBECTL =
  "kubectl is not installed (it comes from Google Cloud's packages, not Debian's): only the plain resource files were validated";

const DASHBOARDS = ['netflow-seed.json', 'netflow-nodegraph.json', 'netflow-k8s-health.json'];
const dashboardsMissing = DASHBOARDS.filter((f) => !existsSync(join(DEPLOY, 'grafana', f)));

const kustomizations = [...kustomizationDirs(DEPLOY), ...kustomizationDirs(join(ROOT, 'otel'))].filter((k) => k.kind === 'Kustomization');
const rel = (dir: string): string => relative(ROOT, dir);

const renderCache = new Map<string, K8sObject[]>();
function render(dir: string): K8sObject[] {
  let objs = renderCache.get(dir);
  if (!objs) {
    objs = kustomize(KUBECTL!, join(ROOT, dir));
    renderCache.set(dir, objs);
  }
  return objs;
}
const find = (objs: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o;
};

async function assertValid(objs: K8sObject[], where: string): Promise<void> {
  for (const obj of objs) {
    const id = `${where}: ${obj.apiVersion} ${obj.kind}/${obj.metadata?.name}`;
    const schema = await validateSchema(obj);
    if (schema === 'no-schema') {
      // No schema ships for it (Deckhouse's NodeGroupConfiguration): check its basic shape.
      assert.equal(obj.kind, 'NodeGroupConfiguration', `${id}: every kind but Deckhouse's has a schema`);
      assert.equal(obj.apiVersion, 'deckhouse.io/v1alpha1', id);
      assert.match(String(obj.metadata?.name), /^[a-z0-9][a-z0-9.-]*$/, id);
      assert.equal(typeof obj.spec?.content, 'string', `${id}: spec.content`);
      assert.ok(Number.isInteger(obj.spec?.weight), `${id}: spec.weight`);
      assert.ok(Array.isArray(obj.spec?.nodeGroups) && Array.isArray(obj.spec?.bundles), `${id}: nodeGroups, bundles`);
      assert.deepEqual(Object.keys(obj.spec).sort(), ['bundles', 'content', 'nodeGroups', 'weight'], `${id}: spec fields`);
      continue;
    }
    assert.deepEqual(schema, [], `${id} validates against its OpenAPI schema`);
    const unknown = unknownFields(obj);
    if (unknown !== 'no-model') assert.deepEqual(unknown, [], `${id} has no unknown fields`);
  }
}

describe('deploy: schemas', () => {
  test('the schema check rejects what it must (a wrong type, an unknown field)', async () => {
    const bad = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'x' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 'http' }], readinesProbe: {} }] } },
      },
    };
    const schema = await validateSchema(bad);
    assert.ok(Array.isArray(schema) && schema.length === 1 && /containerPort must be integer/.test(schema[0]), String(schema));
    assert.deepEqual(unknownFields(bad), ['DaemonSet.spec.template.spec.containers[0].readinesProbe: not a field of V1Container']);
    const monitor = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'x' },
      spec: { selector: {}, podMetricsEndpoints: [{ port: 8080 }] },
    };
    const m = await validateSchema(monitor);
    assert.ok(Array.isArray(m) && m.length === 1, `PodMonitor port must be a string: ${String(m)}`);
  });

  test('every plain resource file validates (no kustomize needed)', async () => {
    let files = 0;
    for (const k of kustomizations) {
      for (const r of (k.spec.resources ?? []) as string[]) {
        const p = join(k.dir, r);
        if (!r.endsWith('.yaml') || !existsSync(p)) continue;
        files++;
        await assertValid(parseYamlDocs(readFileSync(p, 'utf8'), p), rel(p));
      }
    }
    assert.ok(files >= 10, `found ${files} resource files`);
  });

  for (const k of kustomizations) {
    const dir = rel(k.dir);
    const skip = !KUBECTL
      ? NO_KUBECTL
      : dir === 'deploy/grafana' && dashboardsMissing.length > 0
        ? `dashboards not written yet: ${dashboardsMissing.join(', ')}`
        : false;
    test(`kubectl kustomize ${dir} renders valid objects`, { skip }, async () => {
      const objs = render(dir);
      // A kustomization of local-config objects only (the script the Deckhouse variant copies in) emits nothing.
      const localOnly = k.spec.generatorOptions?.annotations?.['config.kubernetes.io/local-config'] === 'true' && !k.spec.resources;
      assert.equal(objs.length > 0, !localOnly, `${dir} renders ${localOnly ? 'nothing' : 'something'}`);
      await assertValid(objs, dir);
      for (const o of objs)
        assert.notEqual(
          o.metadata?.annotations?.['config.kubernetes.io/local-config'],
          'true',
          `${dir}: local-config ${o.kind} is not emitted`,
        );
    });
  }
});

// What the kubelet would put into fieldRef env vars, for checking expanded values.
const FIELDS = { 'status.hostIP': '10.0.0.5', 'status.podIP': '10.0.0.5', 'spec.nodeName': 'node-a', 'metadata.name': 'pod-a' };

function checkCollectorPod(
  objs: K8sObject[],
  where: string,
  kind: string,
): { env: Record<string, string>; spec: K8sObject; meta: K8sObject } {
  const workload = find(objs, kind, 'netflow-k8s');
  const [{ spec, meta }] = podSpecs(workload);
  assert.equal(spec.serviceAccountName, 'netflow-k8s', where);
  const collector = (spec.containers as K8sObject[]).find((c) => c.name === 'collector');
  assert.ok(collector, `${where}: collector container`);
  assert.deepEqual(collector.args, ['run'], where);
  const env = containerEnv(collector, FIELDS);
  // Every NETFLOW_K8S_* variable is an option of `netflow-k8s run`, and together they parse.
  const netflowEnv = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('NETFLOW_K8S_') || k.startsWith('OTEL_')));
  const parsed = parseRunConfig([], netflowEnv);
  assert.ok(parsed.config, `${where}: the collector's environment is a valid run configuration`);
  assert.equal(parsed.config.templatesFile, '/var/lib/netflow-k8s/templates.json', `${where}: templates persist on the volume`);
  const mounts = (collector.volumeMounts ?? []) as K8sObject[];
  const stateMount = mounts.find((m) => m.mountPath === '/var/lib/netflow-k8s');
  assert.ok(stateMount, `${where}: /var/lib/netflow-k8s is mounted`);
  const vol = (spec.volumes as K8sObject[]).find((v) => v.name === stateMount.name);
  assert.ok(vol?.emptyDir, `${where}: the templates volume is an emptyDir`);
  // Probes on /healthz and /readyz at the HTTP port the collector listens on.
  const httpPort = (collector.ports as K8sObject[]).find((p) => p.name === 'http');
  assert.equal(httpPort?.containerPort, parsed.config.http.port, `${where}: container port http = --http port`);
  assert.equal(collector.livenessProbe?.httpGet?.path, '/healthz', where);
  assert.equal(collector.readinessProbe?.httpGet?.path, '/readyz', where);
  assert.equal(collector.startupProbe?.httpGet?.path, '/healthz', where);
  for (const p of [collector.livenessProbe, collector.readinessProbe]) assert.equal(p.httpGet.port, 'http', where);
  const udpPort = (collector.ports as K8sObject[]).find((p) => p.name === 'netflow');
  assert.deepEqual([udpPort?.containerPort, udpPort?.protocol], [parsed.config.listen.port, 'UDP'], `${where}: UDP port = --listen port`);
  // Prometheus annotations point at the metrics port.
  assert.equal(meta.annotations?.['prometheus.io/scrape'], 'true', where);
  assert.equal(meta.annotations?.['prometheus.io/port'], String(parsed.config.http.port), where);
  assert.equal(meta.annotations?.['prometheus.io/path'], '/metrics', where);
  return { env, spec, meta };
}

function checkPolicies(objs: K8sObject[], where: string): void {
  for (const obj of objs) {
    for (const { workload, spec } of podSpecs(obj)) {
      const id = `${where}: ${workload}`;
      const nodeSetup = obj.metadata?.name === 'netflow-node-setup';
      for (const c of [...longRunningContainers(spec), ...((spec.initContainers ?? []) as K8sObject[])]) {
        const cid = `${id} container ${c.name}`;
        assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${cid}: requests`);
        assert.ok(c.resources?.limits?.memory && c.resources?.limits?.cpu, `${cid}: limits`);
        assert.doesNotMatch(String(c.image), /:latest$|^[^:]+$/, `${cid}: image ${c.image} has a fixed tag`);
        if (nodeSetup) continue;
        const sc = c.securityContext ?? {};
        assert.notEqual(sc.privileged, true, `${cid}: not privileged`);
        assert.equal(sc.readOnlyRootFilesystem, true, `${cid}: read-only root FS`);
        assert.equal(sc.allowPrivilegeEscalation, false, `${cid}: no privilege escalation`);
        assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${cid}: drops all capabilities`);
        assert.ok(sc.runAsNonRoot === true || spec.securityContext?.runAsNonRoot === true, `${cid}: runs as non-root`);
        const uid = sc.runAsUser ?? spec.securityContext?.runAsUser;
        assert.ok(typeof uid === 'number' && uid > 0, `${cid}: a numeric non-root uid`);
      }
      if (!nodeSetup) assert.ok(!spec.hostPID && !spec.hostIPC, `${id}: no host PID/IPC namespaces`);
    }
  }
  // Only the node setup is privileged, and it has no API access.
  const privileged = objs.filter((o) =>
    podSpecs(o).some(({ spec }) => (spec.containers as K8sObject[]).some((c) => c.securityContext?.privileged)),
  );
  assert.deepEqual(
    privileged.map((o) => `${o.kind}/${o.metadata.name}`),
    ['DaemonSet/netflow-node-setup'],
    `${where}: the privileged workloads`,
  );
  const setup = find(objs, 'DaemonSet', 'netflow-node-setup');
  assert.equal(setup.spec.template.spec.automountServiceAccountToken, false, `${where}: node setup has no API token`);

  // RBAC: get, list, watch on pods, nodes, services and batch jobs; nothing more.
  const role = find(objs, 'ClusterRole', 'netflow-k8s');
  const grants = new Set<string>();
  for (const r of role.rules as K8sObject[]) {
    assert.deepEqual(Object.keys(r).sort(), ['apiGroups', 'resources', 'verbs'], `${where}: plain rules only`);
    for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) grants.add(`${g || 'core'}/${res}:${v}`);
  }
  const want = new Set<string>();
  for (const res of ['core/pods', 'core/nodes', 'core/services', 'batch/jobs'])
    for (const v of ['get', 'list', 'watch']) want.add(`${res}:${v}`);
  assert.deepEqual([...grants].sort(), [...want].sort(), `${where}: ClusterRole grants`);
  assert.equal(objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').length, 1, `${where}: one role`);
  const binding = find(objs, 'ClusterRoleBinding', 'netflow-k8s');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'netflow-k8s', namespace: 'netflow-k8s' }], where);
  assert.equal(binding.roleRef.name, 'netflow-k8s', where);

  // Every ConfigMap a pod mounts is rendered alongside it.
  for (const obj of objs) {
    for (const { spec } of podSpecs(obj)) {
      for (const v of (spec.volumes ?? []) as K8sObject[]) if (v.configMap) find(objs, 'ConfigMap', v.configMap.name);
    }
  }
}

function nodeSetupEnv(objs: K8sObject[], where: string): Record<string, string> {
  const setup = find(objs, 'DaemonSet', 'netflow-node-setup');
  const spec = setup.spec.template.spec;
  assert.equal(spec.hostPID, true, `${where}: node setup enters the host's namespaces`);
  assert.ok(
    (spec.tolerations as K8sObject[]).some((t) => t.operator === 'Exists' && !t.key),
    `${where}: node setup runs on every node`,
  );
  const env = containerEnv(spec.containers[0], FIELDS);
  assert.equal(env.NETFLOW_PROTOCOL, '9', where);
  assert.equal(env.NETFLOW_ACTIVE_TIMEOUT, '60', where);
  assert.ok(
    Number(env.NETFLOW_TIMEOUT_RATE) > 0 && Number(env.NETFLOW_TIMEOUT_RATE) < 30,
    `${where}: templates resent more often than the module's 30 minutes`,
  );
  assert.ok(env.NETFLOW_INTERFACES.split(' ').length >= 1, where);
  assert.equal(env.NETFLOW_NODE_NAME, 'node-a', `${where}: the engine id derives from the node name`);
  const script = find(objs, 'ConfigMap', spec.volumes[0].configMap.name);
  assert.equal(script.data['node-setup.sh'], readFileSync(join(DEPLOY, 'node-setup', 'script', 'node-setup.sh'), 'utf8'), where);
  return env;
}

describe('deploy: overlays keep their promises', { skip: KUBECTL ? false : NO_KUBECTL }, () => {
  test("Deployment: the seed's shape behind a fixed ClusterIP that the node setup sends to", () => {
    const where = 'deploy/overlays/deployment';
    const objs = render(where);
    checkPolicies(objs, where);
    const { env } = checkCollectorPod(objs, where, 'Deployment');
    const deployment = find(objs, 'Deployment', 'netflow-k8s');
    assert.equal(deployment.spec.replicas, 1, where);
    assert.equal(deployment.spec.strategy.type, 'Recreate', `${where}: never two collectors behind one IP`);
    const svc = find(objs, 'Service', 'netflow-k8s');
    assert.match(svc.spec.clusterIP, /^\d+\.\d+\.\d+\.\d+$/, `${where}: fixed ClusterIP`);
    const ports = (svc.spec.ports as K8sObject[]).map((p) => `${p.protocol}/${p.port}`).sort();
    assert.deepEqual(ports, ['TCP/8080', 'UDP/2055'], where);
    assert.equal(nodeSetupEnv(objs, where).NETFLOW_DESTINATION, `${svc.spec.clusterIP}:2055`, `${where}: ipt-netflow sends to the Service`);
    assert.equal(svc.metadata.annotations?.['prometheus.io/scrape'], undefined, `${where}: scraped as a pod, not through the Service too`);
    assert.equal(env.NETFLOW_K8S_LISTEN, '0.0.0.0:2055', where);
    for (const o of objs)
      if (o.kind !== 'Namespace' && o.kind !== 'ClusterRole' && o.kind !== 'ClusterRoleBinding')
        assert.equal(o.metadata.namespace, 'netflow-k8s', `${o.kind}/${o.metadata.name} namespace`);
  });

  test("DaemonSet: one collector per node on the node's address, OTLP through the sidecar", () => {
    const where = 'deploy/overlays/daemonset';
    const objs = render(where);
    checkPolicies(objs, where);
    const { env, spec } = checkCollectorPod(objs, where, 'DaemonSet');
    assert.equal(spec.hostNetwork, true, where);
    assert.equal(spec.dnsPolicy, 'ClusterFirstWithHostNet', where);
    assert.equal(env.NETFLOW_K8S_LISTEN, '10.0.0.5:2055', `${where}: listens on the node's address`);
    assert.equal(env.NETFLOW_K8S_ALLOW_EXPORTERS, '10.0.0.5/32', `${where}: accepts only its own node`);
    assert.equal(nodeSetupEnv(objs, where).NETFLOW_DESTINATION, '10.0.0.5:2055', `${where}: ipt-netflow sends to its own node`);

    // The sidecar: otelcol-contrib, its config in the generated ConfigMap, on the port the collector exports to.
    const sidecar = (spec.initContainers as K8sObject[]).find((c) => c.name === 'otelcol');
    assert.ok(sidecar, `${where}: sidecar`);
    assert.equal(sidecar.restartPolicy, 'Always', `${where}: a native sidecar`);
    assert.match(sidecar.image, /^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/, where);
    const configArg = (sidecar.args as string[]).find((a) => a.startsWith('--config='))!;
    const mount = (sidecar.volumeMounts as K8sObject[])[0];
    assert.ok(configArg.startsWith(`--config=${mount.mountPath}/`), where);
    const cmName = (spec.volumes as K8sObject[]).find((v) => v.name === mount.name)?.configMap.name;
    const cm = find(objs, 'ConfigMap', cmName);
    const configKey = configArg.slice(`--config=${mount.mountPath}/`.length);
    assert.equal(cm.data[configKey], readFileSync(join(ROOT, 'otel', configKey), 'utf8'), `${where}: sidecar runs otel/${configKey}`);
    const sideEnv = containerEnv(sidecar, FIELDS);
    const otlp = new URL(env.NETFLOW_K8S_OTLP_ENDPOINT);
    assert.equal(otlp.hostname, '127.0.0.1', `${where}: OTLP stays on localhost`);
    assert.equal(otlp.port, sideEnv.OTEL_SIDECAR_OTLP_PORT, `${where}: collector exports to the sidecar's port`);
    assert.ok(cm.data[configKey].includes('127.0.0.1:${env:OTEL_SIDECAR_OTLP_PORT'), `${where}: sidecar receiver on localhost`);
    const parsed = parseRunConfig([], Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('NETFLOW_K8S_'))));
    assert.equal(parsed.config?.otlpEndpoint, env.NETFLOW_K8S_OTLP_ENDPOINT, where);
    // ...and the gateway it forwards to is part of the same overlay, on the same ConfigMap.
    checkPoliciesGateway(objs);
    const gw = find(objs, 'Service', 'otel-gateway');
    assert.equal(
      sideEnv.OTEL_GATEWAY_ENDPOINT,
      `${gw.metadata.name}.${gw.metadata.namespace}.svc:4317`,
      `${where}: sidecar sends to the gateway Service`,
    );
  });

  test('prometheus-operator overlays add a ServiceMonitor or PodMonitor on the metrics port', () => {
    const sm = find(render('deploy/overlays/deployment-prometheus-operator'), 'ServiceMonitor', 'netflow-k8s');
    const svc = find(render('deploy/overlays/deployment-prometheus-operator'), 'Service', 'netflow-k8s');
    assert.ok(
      (svc.spec.ports as K8sObject[]).some((p) => p.name === sm.spec.endpoints[0].port),
      'ServiceMonitor port names a Service port',
    );
    assert.deepEqual(sm.spec.selector.matchLabels, svc.spec.selector);
    const objs = render('deploy/overlays/daemonset-prometheus-operator');
    const pm = find(objs, 'PodMonitor', 'netflow-k8s');
    const ds = find(objs, 'DaemonSet', 'netflow-k8s');
    assert.deepEqual(pm.spec.selector.matchLabels, ds.spec.selector.matchLabels);
    assert.equal(pm.spec.podMetricsEndpoints[0].port, 'http');
    assert.equal(pm.spec.podMetricsEndpoints[0].path, '/metrics');
    // The plain overlays do not need the CRDs.
    for (const o of ['deploy/overlays/deployment', 'deploy/overlays/daemonset'])
      assert.ok(!render(o).some((x) => String(x.apiVersion).startsWith('monitoring.coreos.com/')), o);
  });

  test('Deployment with OTLP, Deployment on Deckhouse: the same collector, its pods kept to the same rules', () => {
    const otel = render('deploy/overlays/deployment-otel');
    checkPolicies(otel, 'deploy/overlays/deployment-otel');
    const { env } = checkCollectorPod(otel, 'deploy/overlays/deployment-otel', 'Deployment');
    assert.equal(new URL(env.NETFLOW_K8S_OTLP_ENDPOINT).hostname, '127.0.0.1', 'OTLP to the sidecar');
    checkPoliciesGateway(otel);
    const deckhouse = render('deploy/overlays/deployment-deckhouse');
    checkCollectorPod(deckhouse, 'deploy/overlays/deployment-deckhouse', 'Deployment');
    assert.ok(!deckhouse.some((o) => o.metadata?.name === 'netflow-node-setup'), 'no node-setup DaemonSet beside bashible');
  });

  test('the OTel gateway runs otel/gateway.yaml with a remote-write URL', () => {
    const objs = render('deploy/otel-gateway');
    checkPoliciesGateway(objs);
  });

  test('Deckhouse: the NodeGroupConfiguration runs the very same node-setup script', () => {
    const objs = render('deploy/deckhouse');
    const ngc = find(objs, 'NodeGroupConfiguration', 'netflow-k8s-ipt-netflow.sh');
    assert.equal(ngc.spec.content, readFileSync(join(DEPLOY, 'node-setup', 'script', 'node-setup.sh'), 'utf8'));
    const envNgc = find(objs, 'NodeGroupConfiguration', 'netflow-k8s-env.sh');
    assert.ok(envNgc.spec.weight < ngc.spec.weight, 'settings are written before the script runs');
    // The first line holds the ClusterIP that overlays/deployment-deckhouse copies from the Service.
    assert.match(envNgc.spec.content, /^cluster_ip="\d+\.\d+\.\d+\.\d+"\n/);
    assert.match(envNgc.spec.content, /^NETFLOW_DESTINATION=\$\{cluster_ip\}:2055$/m);
    assert.match(envNgc.spec.content, /\/etc\/netflow-k8s\/node-setup\.env/);
    assert.equal(objs.length, 2, 'the script ConfigMap is local-config and not emitted');
  });

  test('Grafana dashboards are ConfigMaps the sidecar discovers', {
    skip: dashboardsMissing.length > 0 ? `dashboards not written yet: ${dashboardsMissing.join(', ')}` : false,
  }, () => {
    const objs = render('deploy/grafana');
    // Every dashboard file in deploy/grafana is wrapped, one ConfigMap each.
    const files = readdirSync(join(DEPLOY, 'grafana'))
      .filter((f) => f.endsWith('.json'))
      .sort();
    const wrapped = objs.flatMap((cm) => Object.keys(cm.data as Record<string, string>)).sort();
    assert.deepEqual(wrapped, files);
    for (const cm of objs) {
      assert.equal(cm.kind, 'ConfigMap');
      assert.equal(cm.metadata.labels.grafana_dashboard, '1');
      const [file, json] = Object.entries(cm.data as Record<string, string>)[0];
      const dash = JSON.parse(json) as { title?: unknown };
      assert.equal(typeof dash.title, 'string', `${file} is a dashboard`);
    }
  });
});

function checkPoliciesGateway(objs: K8sObject[]): void {
  const dep = find(objs, 'Deployment', 'otel-gateway');
  const c = dep.spec.template.spec.containers[0];
  assert.match(c.image, /^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/);
  assert.deepEqual(c.args, ['--config=/etc/otelcol/gateway.yaml']);
  const env = containerEnv(c, FIELDS);
  assert.match(env.PROMETHEUS_REMOTE_WRITE_URL, /^https?:\/\/.+\/api\/v1\/(write|push)$/);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(dep.spec.template.spec.securityContext.runAsNonRoot, true);
  const cm = find(objs, 'ConfigMap', dep.spec.template.spec.volumes[0].configMap.name);
  assert.ok(cm.data['gateway.yaml']);
  const svc = find(objs, 'Service', 'otel-gateway');
  assert.ok((svc.spec.ports as K8sObject[]).some((p) => p.port === 4317 && p.name === 'otlp-grpc'));
  // The sidecar's default gateway address is this Service.
  const sidecar = readFileSync(join(ROOT, 'otel', 'collector.yaml'), 'utf8');
  assert.ok(sidecar.includes(`${svc.metadata.name}.${svc.metadata.namespace}.svc:4317`));
}

// ---------------------------------------------------------------------------------------------
// The node-setup script, run against stand-ins for modinfo, modprobe, sysctl, iptables, apt-get.

const SCRIPT = join(DEPLOY, 'node-setup', 'script', 'node-setup.sh');

const STUBS: Record<string, string> = {
  // Records calls; the module "exists" when $STUB/installed does.
  modinfo: `[ -e "$STUB/installed" ]`,
  'apt-get': `echo "apt-get $*" >> "$STUB/calls"; [ "$1" = install ] && touch "$STUB/installed"; exit 0`,
  // Loading the module: its parameters and sysctls appear, taken from the modprobe.d options line.
  modprobe: `echo "modprobe $*" >> "$STUB/calls"
mkdir -p "$NETFLOW_HOST_ROOT/sys/module/ipt_NETFLOW/parameters"
for kv in $(sed -n 's/^options ipt_NETFLOW //p' "$NETFLOW_HOST_ROOT/etc/modprobe.d/ipt_NETFLOW.conf"); do
  k=\${kv%%=*}; v=\${kv#*=}
  case $k in engine_id) echo "$v" > "$NETFLOW_HOST_ROOT/sys/module/ipt_NETFLOW/parameters/engine_id";;
    refresh_rate) echo "net.netflow.refresh-rate=$v" >> "$STUB/sysctl";;
    timeout_rate) echo "net.netflow.timeout-rate=$v" >> "$STUB/sysctl";;
    *) echo "net.netflow.$k=$v" >> "$STUB/sysctl";; esac
done`,
  sysctl: `q=; w=; while [ $# -gt 0 ]; do case $1 in -n) q=1;; -q) ;; -w) w=1;; *) arg=$1;; esac; shift; done
if [ -n "$w" ]; then echo "sysctl -w $arg" >> "$STUB/calls"; k=\${arg%%=*}; grep -v "^$k=" "$STUB/sysctl" > "$STUB/sysctl.tmp"; mv "$STUB/sysctl.tmp" "$STUB/sysctl"; echo "$arg" >> "$STUB/sysctl"; exit 0; fi
v=$(sed -n "s/^$arg=//p" "$STUB/sysctl" | tail -1); [ -n "$v" ] || exit 1; echo "$v"`,
  // A rule table in a file, one `-A CHAIN ...` or `-N CHAIN` line each.
  iptables: `[ "$1" = -w ] && shift; op=$1; chain=$2; shift 2; rest="$*"; st="$STUB/$(basename "$0").rules"; touch "$st"
case $op in
  -N) grep -qx -- "-N $chain" "$st" && exit 1; echo "-N $chain" >> "$st"; echo "$(basename "$0") -N $chain" >> "$STUB/calls";;
  -F) grep -v -- "^-A $chain " "$st" > "$st.tmp"; mv "$st.tmp" "$st"; echo "$(basename "$0") -F $chain" >> "$STUB/calls";;
  -A) echo "-A $chain $rest" >> "$st"; echo "$(basename "$0") -A $chain $rest" >> "$STUB/calls";;
  -I) case $1 in [0-9]*) shift; rest="$*";; esac; echo "-A $chain $rest" >> "$st"; echo "$(basename "$0") -I $chain $rest" >> "$STUB/calls";;
  -C) grep -qx -- "-A $chain $rest" "$st";;
  -S) grep -qx -- "-N $chain" "$st" || exit 1; echo "-N $chain"; grep -- "^-A $chain " "$st";;
esac`,
};

interface Host {
  dir: string;
  stub: string;
  root: string;
  run(env: Record<string, string>): { status: number | null; stdout: string; stderr: string };
  calls(): string[];
  rules(tool?: string): string[];
  clearCalls(): void;
}

function fakeHost(opts: { installed: boolean }): Host {
  const dir = mkdtempSync(join(tmpdir(), 'netflow-node-setup-'));
  const stub = join(dir, 'stub');
  const bin = join(dir, 'bin');
  const root = join(dir, 'root');
  mkdirSync(stub);
  mkdirSync(bin);
  mkdirSync(root);
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  writeFileSync(join(bin, 'ip6tables'), readFileSync(join(bin, 'iptables')));
  chmodSync(join(bin, 'ip6tables'), 0o755);
  writeFileSync(join(stub, 'sysctl'), 'net.core.rmem_max=212992\n');
  writeFileSync(join(stub, 'calls'), '');
  if (opts.installed) writeFileSync(join(stub, 'installed'), '');
  const read = (f: string): string[] => (existsSync(join(stub, f)) ? readFileSync(join(stub, f), 'utf8').split('\n').filter(Boolean) : []);
  return {
    dir,
    stub,
    root,
    run(env) {
      const r = spawnSync('/bin/sh', [SCRIPT], {
        encoding: 'utf8',
        env: { PATH: `${bin}:/usr/bin:/bin`, STUB: stub, NETFLOW_HOST_ROOT: root, ...env },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    calls: () => read('calls'),
    rules: (tool = 'iptables') => read(`${tool}.rules`),
    clearCalls: () => writeFileSync(join(stub, 'calls'), ''),
  };
}

describe('deploy: node-setup script', () => {
  const base = { NETFLOW_DESTINATION: '10.96.100.100:2055', NETFLOW_NODE_NAME: 'node-a', NETFLOW_INTERFACES: 'cali+ cni0' };

  test('loads ipt_NETFLOW with v9, the destination, a per-node engine id, short timeouts; builds the chain once', (t) => {
    const host = fakeHost({ installed: true });
    t.after(() => rmSync(host.dir, { recursive: true, force: true }));
    const r = host.run(base);
    assert.equal(r.status, 0, r.stderr);
    const conf = readFileSync(join(host.root, 'etc/modprobe.d/ipt_NETFLOW.conf'), 'utf8');
    const opts = Object.fromEntries(
      /^options ipt_NETFLOW (.*)$/m
        .exec(conf)![1]
        .split(' ')
        .map((kv) => kv.split('=') as [string, string]),
    );
    assert.equal(opts.destination, '10.96.100.100:2055');
    assert.equal(opts.protocol, '9');
    assert.equal(opts.active_timeout, '60');
    assert.equal(opts.timeout_rate, '1');
    assert.equal(opts.refresh_rate, '20');
    const engineId = Number(opts.engine_id);
    assert.ok(Number.isInteger(engineId) && engineId >= 1 && engineId <= 2 ** 31 - 1, `engine_id ${opts.engine_id}`);
    assert.deepEqual(
      host.calls().filter((c) => c.startsWith('modprobe')),
      ['modprobe ipt_NETFLOW'],
    );
    assert.ok(host.calls().includes('sysctl -w net.core.rmem_max=16777216'), 'receive buffer cap raised');
    assert.ok(!host.calls().some((c) => c.startsWith('apt-get')), 'nothing installed when the module exists');
    assert.deepEqual(
      host.rules().sort(),
      [
        '-A FORWARD -j NETFLOW-K8S',
        '-N NETFLOW-K8S',
        '-A NETFLOW-K8S -i cali+ -j NETFLOW',
        '-A NETFLOW-K8S -i cali+ -j RETURN',
        '-A NETFLOW-K8S -i cni0 -j NETFLOW',
        '-A NETFLOW-K8S -i cni0 -j RETURN',
        '-A NETFLOW-K8S -o cali+ -j NETFLOW',
        '-A NETFLOW-K8S -o cali+ -j RETURN',
        '-A NETFLOW-K8S -o cni0 -j NETFLOW',
        '-A NETFLOW-K8S -o cni0 -j RETURN',
      ].sort(),
    );
    assert.deepEqual(host.rules('ip6tables'), [], 'IPv6 rules only when asked');

    // Again: nothing changes, nothing is reloaded or rebuilt.
    host.clearCalls();
    const again = host.run(base);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(host.calls(), []);
    assert.equal(readFileSync(join(host.root, 'sys/module/ipt_NETFLOW/parameters/engine_id'), 'utf8').trim(), opts.engine_id);

    // A new destination and interface list on the loaded module: set at run time, chain rebuilt.
    host.clearCalls();
    const moved = host.run({ ...base, NETFLOW_DESTINATION: '10.96.0.50:2055', NETFLOW_INTERFACES: 'lxc+', NETFLOW_IPV6: 'true' });
    assert.equal(moved.status, 0, moved.stderr);
    assert.ok(host.calls().includes('sysctl -w net.netflow.destination=10.96.0.50:2055'), host.calls().join('\n'));
    assert.ok(!host.calls().some((c) => c.startsWith('modprobe')));
    assert.deepEqual(
      host.rules().filter((l) => l.startsWith('-A NETFLOW-K8S')),
      [
        '-A NETFLOW-K8S -i lxc+ -j NETFLOW',
        '-A NETFLOW-K8S -i lxc+ -j RETURN',
        '-A NETFLOW-K8S -o lxc+ -j NETFLOW',
        '-A NETFLOW-K8S -o lxc+ -j RETURN',
      ],
    );
    assert.equal(host.rules().filter((l) => l === '-A FORWARD -j NETFLOW-K8S').length, 1, 'one jump from FORWARD');
    assert.equal(host.rules('ip6tables').filter((l) => l.startsWith('-A NETFLOW-K8S')).length, 4);
  });

  test('engine ids: stable per node name, different between nodes', (t) => {
    const ids: string[] = [];
    for (const node of ['node-a', 'node-b', 'node-a']) {
      const host = fakeHost({ installed: true });
      t.after(() => rmSync(host.dir, { recursive: true, force: true }));
      assert.equal(host.run({ ...base, NETFLOW_NODE_NAME: node }).status, 0);
      ids.push(/engine_id=(\d+)/.exec(readFileSync(join(host.root, 'etc/modprobe.d/ipt_NETFLOW.conf'), 'utf8'))![1]);
    }
    assert.equal(ids[0], ids[2]);
    assert.notEqual(ids[0], ids[1]);
    const host = fakeHost({ installed: true });
    t.after(() => rmSync(host.dir, { recursive: true, force: true }));
    assert.equal(host.run({ ...base, NETFLOW_ENGINE_ID: '4242' }).status, 0);
    assert.match(readFileSync(join(host.root, 'etc/modprobe.d/ipt_NETFLOW.conf'), 'utf8'), / engine_id=4242 /);
  });

  test('a missing module is installed with apt (auto) or is an error (never); bad settings fail', (t) => {
    const host = fakeHost({ installed: false });
    t.after(() => rmSync(host.dir, { recursive: true, force: true }));
    const never = host.run({ ...base, NETFLOW_INSTALL: 'never' });
    assert.notEqual(never.status, 0);
    assert.match(never.stderr, /not installed/);
    const auto = host.run(base);
    assert.equal(auto.status, 0, auto.stderr);
    assert.ok(
      host.calls().some((c) => /^apt-get install .*iptables-netflow-dkms/.test(c) && c.includes('linux-headers-')),
      host.calls().join('\n'),
    );
    const bads: Record<string, string>[] = [
      { NETFLOW_DESTINATION: '' },
      { NETFLOW_DESTINATION: '$(HOST_IP):2055' },
      { NETFLOW_PROTOCOL: '5' },
    ];
    for (const bad of bads) {
      const r = host.run({ ...base, ...bad });
      assert.notEqual(r.status, 0, JSON.stringify(bad));
    }
  });
});

test('scripts are valid POSIX sh', () => {
  execFileSync('sh', ['-n', SCRIPT]);
});
