/**
 * otel/*.yaml: each OpenTelemetry Collector configuration parses, wires only components it
 * defines, and names only real components of the otelcol-contrib distribution (the fixture lists
 * the distribution's modules from its manifest and the type names from each component's
 * metadata.yaml). The sidecar configs listen on localhost only, bound memory, batch, and export to a
 * gateway or by remote write; every environment variable they need is set where they run.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { buildResource } from '../../src/export/otel/resource.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OTEL = join(ROOT, 'otel');

type Kind = 'receivers' | 'processors' | 'exporters' | 'extensions' | 'connectors';
const KINDS: Kind[] = ['receivers', 'processors', 'exporters', 'extensions', 'connectors'];

interface Fixture {
  source: { repository: string; path: string; commit: string };
  image: string;
  modules: Record<Kind, string[]>;
  types: Record<Kind, { type: string; module: string; metadata: { repository: string; path: string; commit: string } }[]>;
}
const FIXTURE = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'otelcol-contrib-components.json'), 'utf8'),
) as Fixture;

// Collector configs are free-form YAML maps.
type Config = Record<string, any>;

/** Problems with a Collector config: unknown component types, undefined or unused components. */
export function checkComponents(cfg: Config): string[] {
  const problems: string[] = [];
  const defined = new Map<string, Set<string>>();
  for (const kind of KINDS) {
    const ids = Object.keys((cfg[kind] ?? {}) as Config);
    defined.set(kind, new Set(ids));
    const known = new Map(FIXTURE.types[kind].map((t) => [t.type, t.module]));
    for (const id of ids) {
      const type = id.split('/')[0];
      const module = known.get(type);
      if (!module) problems.push(`${kind}.${id}: "${type}" is not a known otelcol-contrib ${kind.slice(0, -1)} type`);
      else if (!FIXTURE.modules[kind].includes(module)) problems.push(`${kind}.${id}: ${module} is not in the otelcol-contrib manifest`);
    }
  }
  const used = new Map<string, Set<string>>(KINDS.map((k) => [k, new Set<string>()]));
  const pipelines = (cfg.service?.pipelines ?? {}) as Record<string, Config>;
  if (Object.keys(pipelines).length === 0) problems.push('service.pipelines is empty');
  for (const [name, p] of Object.entries(pipelines)) {
    if (!/^(metrics|traces|logs|profiles)(\/.+)?$/.test(name)) problems.push(`pipeline ${name}: not a signal`);
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      for (const id of (p[kind] ?? []) as string[]) {
        const isConnector = kind !== 'processors' && defined.get('connectors')!.has(id);
        if (!defined.get(kind)!.has(id) && !isConnector) problems.push(`pipeline ${name}: ${kind.slice(0, -1)} ${id} is not defined`);
        used.get(isConnector ? 'connectors' : kind)!.add(id);
      }
    }
    if (((p.receivers ?? []) as string[]).length === 0 || ((p.exporters ?? []) as string[]).length === 0)
      problems.push(`pipeline ${name}: needs receivers and exporters`);
  }
  for (const id of (cfg.service?.extensions ?? []) as string[]) {
    if (!defined.get('extensions')!.has(id)) problems.push(`service.extensions: ${id} is not defined`);
    used.get('extensions')!.add(id);
  }
  for (const kind of KINDS)
    for (const id of defined.get(kind)!) if (!used.get(kind)!.has(id)) problems.push(`${kind}.${id} is defined but not used`);
  return problems;
}

/** Environment variables a config reads: name → has a default. */
export function envRefs(text: string): Map<string, boolean> {
  const refs = new Map<string, boolean>();
  for (const m of text.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g))
    refs.set(m[1], (refs.get(m[1]) ?? false) || m[2] !== undefined);
  return refs;
}

const configs = readdirSync(OTEL)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .sort();

function load(file: string): { text: string; cfg: Config } {
  const text = readFileSync(join(OTEL, file), 'utf8');
  // The yaml package rejects duplicate keys, which the Collector's own loader would also refuse.
  return { text, cfg: parseYaml(text) as Config };
}

/** The env of a container in a plain manifest file, by container name. */
function manifestEnv(file: string, container: string): { env: Set<string>; image: string; args: string[] } {
  for (const doc of parseAllDocuments(readFileSync(join(ROOT, file), 'utf8'))) {
    const o = doc.toJS() as Config;
    const spec = o?.spec?.template?.spec;
    for (const c of [...((spec?.containers ?? []) as Config[]), ...((spec?.initContainers ?? []) as Config[])]) {
      if (c.name === container && c.image)
        return {
          env: new Set(((c.env ?? []) as Config[]).map((e) => String(e.name))),
          image: String(c.image),
          args: (c.args ?? []) as string[],
        };
    }
  }
  throw new Error(`${file}: no container ${container} with an image`);
}

describe('otel: Collector configurations', () => {
  test('the fixture is consistent: every verified type is a module of the manifest', () => {
    assert.equal(FIXTURE.source.path, 'distributions/otelcol-contrib/manifest.yaml');
    assert.match(FIXTURE.source.commit, /^[0-9a-f]{40}$/);
    for (const kind of KINDS) {
      for (const t of FIXTURE.types[kind]) {
        assert.ok(FIXTURE.modules[kind].includes(t.module), `${kind} ${t.type}: ${t.module}`);
        assert.match(t.metadata.path, /metadata\.yaml$/);
      }
    }
    assert.ok(FIXTURE.modules.receivers.length > 50 && FIXTURE.modules.exporters.length > 30);
  });

  test('the checker rejects what it must', () => {
    const good = {
      receivers: { otlp: {} },
      exporters: { debug: {} },
      service: { pipelines: { metrics: { receivers: ['otlp'], exporters: ['debug'] } } },
    };
    assert.deepEqual(checkComponents(good), []);
    // A module name is not a type: the memory limiter's type is memory_limiter.
    const bad = {
      ...good,
      processors: { memorylimiter: {}, 'batch/x': {} },
      extensions: { health_check: {} },
      service: {
        pipelines: { metrics: { receivers: ['otlp'], processors: ['memorylimiter', 'batch'], exporters: ['debug', 'otlp/missing'] } },
      },
    };
    const problems = checkComponents(bad);
    assert.ok(
      problems.some((p) => p.includes('"memorylimiter" is not a known')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('processor batch is not defined')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('exporter otlp/missing is not defined')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('extensions.health_check is defined but not used')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('processors.batch/x is defined but not used')),
      problems.join('\n'),
    );
  });

  test('there are a sidecar, a remote-write sidecar and a gateway config', () => {
    assert.deepEqual(configs, ['collector-remote-write.yaml', 'collector.yaml', 'gateway.yaml']);
  });

  for (const file of configs) {
    test(`${file} parses and names only real otelcol-contrib components`, () => {
      const { text, cfg } = load(file);
      assert.deepEqual(checkComponents(cfg), []);
      // Only the ${env:NAME} form (plain $NAME is deprecated in the Collector).
      assert.doesNotMatch(text.replace(/^\s*#.*$/gm, ''), /\$(?!\{env:)[{A-Za-z]/, 'environment references use ${env:NAME}');
      const metrics = cfg.service.pipelines.metrics as Config;
      assert.equal(metrics.processors[0], 'memory_limiter', 'memory_limiter comes first');
      assert.ok((metrics.processors as string[]).includes('batch'), 'batched');
      assert.equal(cfg.processors.memory_limiter.check_interval, '1s');
      assert.ok(cfg.processors.batch.send_batch_max_size >= cfg.processors.batch.send_batch_size, 'batch max >= batch size');
      assert.ok(cfg.receivers.otlp.protocols.grpc.max_recv_msg_size_mib > 4, "accepts requests over gRPC's 4 MiB default");
      assert.ok(cfg.extensions.health_check.endpoint, 'health_check for probes');
    });
  }

  test('sidecars listen on localhost only and export to the gateway or by remote write', () => {
    for (const file of ['collector.yaml', 'collector-remote-write.yaml']) {
      const { cfg } = load(file);
      assert.match(cfg.receivers.otlp.protocols.grpc.endpoint, /^127\.0\.0\.1:/, `${file}: OTLP on localhost`);
      assert.equal(Object.keys(cfg.receivers.otlp.protocols).join(), 'grpc', `${file}: gRPC only`);
      const attrs = (cfg.processors.resource.attributes as Config[]).map((a) => a.key);
      assert.ok(attrs.includes('service.instance.id') && attrs.includes('k8s.node.name'), `${file}: series keep their node apart`);
      // An insert of a key netflow-k8s always sends would do nothing: it only fills in what is missing.
      const sent = Object.keys(buildResource({ env: {} }).attributes);
      assert.ok(sent.includes('service.instance.id'), 'the collector names its instance itself');
      for (const a of cfg.processors.resource.attributes as Config[]) {
        if (a.action === 'insert')
          assert.ok(!sent.includes(a.key), `${file}: insert of ${a.key}, which the collector always sends, does nothing`);
      }
      const instance = (cfg.processors.resource.attributes as Config[]).find((a) => a.key === 'service.instance.id')!;
      assert.deepEqual([instance.action, instance.value], ['upsert', '${env:K8S_NODE_NAME}'], `${file}: the node names the instance`);
    }
    const sidecar = load('collector.yaml').cfg;
    assert.deepEqual(sidecar.service.pipelines.metrics.exporters, ['otlp/gateway']);
    assert.ok(sidecar.exporters['otlp/gateway'].endpoint);
    const rw = load('collector-remote-write.yaml').cfg;
    assert.deepEqual(rw.service.pipelines.metrics.exporters, ['prometheusremotewrite']);
    const gw = load('gateway.yaml').cfg;
    assert.ok((gw.service.pipelines.metrics.exporters as string[]).includes('prometheusremotewrite'));
    assert.equal(gw.exporters.prometheusremotewrite.resource_to_telemetry_conversion.enabled, true, 'node and cluster names become labels');
  });

  test('every variable a config needs without a default is set where it runs; images match the fixture', () => {
    const sidecar = manifestEnv('deploy/components/otel-sidecar/sidecar.yaml', 'otelcol');
    const gateway = manifestEnv('deploy/otel-gateway/workload/deployment.yaml', 'otelcol');
    const where: Record<string, { env: Set<string> }> = {
      'collector.yaml': sidecar,
      'collector-remote-write.yaml': sidecar,
      'gateway.yaml': gateway,
    };
    for (const file of configs) {
      for (const [name, hasDefault] of envRefs(load(file).text)) {
        // The remote-write sidecar is opt-in: whoever switches to it sets the store's URL.
        if (file === 'collector-remote-write.yaml' && name === 'PROMETHEUS_REMOTE_WRITE_URL') continue;
        if (!hasDefault) assert.ok(where[file].env.has(name), `${file} needs ${name}, and its pod sets it`);
      }
    }
    assert.ok(sidecar.args.includes('--config=/etc/otelcol/collector.yaml'));
    assert.ok(gateway.args.includes('--config=/etc/otelcol/gateway.yaml'));
    assert.equal(sidecar.image, FIXTURE.image);
    assert.equal(gateway.image, FIXTURE.image);
  });
});
