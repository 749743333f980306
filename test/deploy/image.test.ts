/**
 * The container image without a Docker engine: the Dockerfile is checked for what issue 6 asks
 * (multi-stage, Node 24, production dependencies only, non-root, ports, labels), and
 * scripts/image-build.sh, which performs the Dockerfile's steps on a clean copy of the build
 * context, is checked to run every RUN and COPY. Then the script builds the image's /app, and the
 * result runs from there with production dependencies only, as an unprivileged user who can write
 * nothing but the state volume: it answers /healthz and /readyz, names and counts a NetFlow
 * datagram, and stops on SIGTERM.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePromText, pollUntil } from '../support/run-collector.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const SCRIPT_PATH = join(ROOT, 'scripts', 'image-build.sh');
const SCRIPT = readFileSync(SCRIPT_PATH, 'utf8');

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s+(.*)$/.exec(full);
    if (!m) continue;
    const op = m[1].toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2].trim(), stage });
  }
  return out;
}

const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
const INS = instructions(DOCKERFILE);
const stages = INS.filter((i) => i.op === 'FROM');
const runtimeStage = stages.length - 1;

describe('image: the Dockerfile', () => {
  test('multi-stage on Node 24, production dependencies only in the runtime stage', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    const arg = INS.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    assert.match(arg?.args ?? '', /^NODE_IMAGE=node:24[-.\w]*$/, 'Node 24 base');
    assert.match(stages[0].args, /AS build$/i);
    const runtimeRuns = INS.filter((i) => i.stage === runtimeStage && i.op === 'RUN').map((i) => i.args);
    const ci = runtimeRuns.find((r) => r.includes('npm ci'));
    assert.ok(ci?.includes('--omit=dev') && ci.includes('--ignore-scripts'), `runtime npm ci: ${ci}`);
    const buildRuns = INS.filter((i) => i.stage === 0 && i.op === 'RUN').map((i) => i.args);
    assert.ok(
      buildRuns.some((r) => r.includes('npm run build')),
      'the build stage compiles',
    );
    assert.ok(
      INS.some((i) => i.stage === runtimeStage && i.op === 'COPY' && /--from=build \/src\/dist \.\/dist/.test(i.args)),
      'dist/ from the build stage',
    );
    assert.ok(
      !INS.some((i) => i.stage === runtimeStage && i.op === 'COPY' && /\bsrc\b/.test(i.args) && !i.args.includes('--from')),
      'no sources in the runtime stage',
    );
  });

  test('non-root, ports, labels, entry point, a volume for the templates file', () => {
    const rt = INS.filter((i) => i.stage === runtimeStage);
    const user = rt.filter((i) => i.op === 'USER').at(-1)?.args ?? '';
    assert.match(user, /^[1-9]\d*(:[1-9]\d*)?$/, `numeric non-root USER (for runAsNonRoot): ${user}`);
    const exposed = rt.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    assert.ok(exposed.includes('2055/udp') && exposed.includes('8080/tcp'), `EXPOSE ${exposed.join(' ')}`);
    const labels = rt
      .filter((i) => i.op === 'LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const l of ['title', 'description', 'licenses', 'version', 'revision'])
      assert.ok(labels.includes(`org.opencontainers.image.${l}=`), `OCI label ${l}`);
    const entry = rt.find((i) => i.op === 'ENTRYPOINT');
    // The V8 flag bounds the main thread's young generation (issue 15: peak RSS 405-545 MiB without, 264-419 with).
    assert.deepEqual(JSON.parse(entry!.args), ['node', '--max-semi-space-size=2', '/app/bin/netflow-k8s.js']);
    assert.ok(rt.some((i) => i.op === 'VOLUME' && i.args.includes('/var/lib/netflow-k8s')));
    assert.ok(rt.some((i) => i.op === 'ENV' && i.args.includes('NETFLOW_K8S_TEMPLATES_FILE=/var/lib/netflow-k8s/')));
  });

  test('scripts/image-build.sh performs every RUN and COPY of the Dockerfile', () => {
    const script = norm(SCRIPT.replace(/\\\n/g, ' '));
    for (const i of INS) {
      if (i.op === 'RUN') {
        const cmd = i.args.replace(/^(--mount=\S+\s+)+/, '');
        for (const part of cmd.split('&&')) assert.ok(script.includes(norm(part)), `the script runs: ${norm(part)}`);
      }
      if (i.op === 'COPY') {
        const words = i.args.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='));
        const sources = words.filter((w) => !w.startsWith('--')).slice(0, -1);
        for (const s of sources) {
          const expect = from ? `"$BUILD/${s.replace(/^\/src\//, '')}"` : `"$ROOT/${s}"`;
          assert.ok(SCRIPT.includes(expect), `the script copies ${s} (${expect})`);
        }
      }
    }
    // Its copy holds only what the build context lets in (.dockerignore allow-list).
    const allowed = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/\*\*$/, ''));
    for (const m of SCRIPT.matchAll(/"\$ROOT\/([^"]+)"/g))
      assert.ok(allowed.includes(m[1]), `${m[1]} is in the build context (.dockerignore)`);
  });
});

// ---------------------------------------------------------------------------------------------

const INVENTORY = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-a', uid: 'n-a' },
      status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] },
    },
    ...[
      ['web-7d4b9c-aaaaa', 'web', '10.244.1.10', 'p-1'],
      ['db-0', 'db', '10.244.1.20', 'p-2'],
    ].map(([name, app, ip, uid]) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'shop', uid, labels: { app }, creationTimestamp: '2020-01-01T00:00:00Z' },
      spec: { nodeName: 'node-a', containers: [{ name: 'main', image: 'x', ports: [] }] },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], startTime: '2020-01-01T00:00:00Z' },
    })),
  ],
};

/** One NetFlow v5 datagram with one flow: web (10.244.1.10:40000) → db (10.244.1.20:5432), TCP. */
function v5Datagram(packets: number, bytes: number): Buffer {
  const b = Buffer.alloc(24 + 48);
  b.writeUInt16BE(5, 0);
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(100_000, 4);
  b.writeUInt32BE(Math.floor(Date.now() / 1000), 8);
  const r = 24;
  [10, 244, 1, 10].forEach((o, i) => b.writeUInt8(o, r + i));
  [10, 244, 1, 20].forEach((o, i) => b.writeUInt8(o, r + 4 + i));
  b.writeUInt32BE(packets, r + 16);
  b.writeUInt32BE(bytes, r + 20);
  b.writeUInt32BE(90_000, r + 24);
  b.writeUInt32BE(99_000, r + 28);
  b.writeUInt16BE(40_000, r + 32);
  b.writeUInt16BE(5432, r + 34);
  b.writeUInt8(0x1b, r + 37);
  b.writeUInt8(6, r + 38);
  return b;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

describe('image: built by scripts/image-build.sh and run from its runtime directory', () => {
  let out = '';
  let runtime = '';

  before(
    () => {
      out = mkdtempSync(join(tmpdir(), 'netflow-k8s-image-test-'));
      const printed = execFileSync('bash', [SCRIPT_PATH, out], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 280_000,
        maxBuffer: 64 << 20,
      });
      runtime = printed.trim().split('\n').at(-1)!;
    },
    { timeout: 300_000 },
  );

  after(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('production dependencies only, compiled JavaScript, no sources, no type declarations', () => {
    assert.equal(runtime, join(out, 'runtime'));
    const pkg = JSON.parse(readFileSync(join(runtime, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dev of Object.keys(pkg.devDependencies)) {
      if (pkg.dependencies[dev]) continue;
      // A dev dependency may still arrive as some production package's dependency, but not these tools.
      if (['typescript', 'fast-check', 'playwright-core', 'kubernetes-models'].includes(dev))
        assert.ok(!existsSync(join(runtime, 'node_modules', dev)), `${dev} is not installed`);
    }
    for (const dep of Object.keys(pkg.dependencies))
      assert.ok(existsSync(join(runtime, 'node_modules', dep, 'package.json')), `${dep} is installed`);
    assert.ok(existsSync(join(runtime, 'dist', 'cli', 'main.js')));
    // The native UDP receiver, built in the build stage, where dist/ looks for it.
    if (process.platform === 'linux')
      assert.ok(existsSync(join(runtime, 'native', 'build', 'Release', 'udp_recv.node')), 'native/build/Release/udp_recv.node');
    assert.ok(!existsSync(join(runtime, 'native', 'udp_recv.c')), 'no C sources');
    assert.ok(!existsSync(join(runtime, 'src')), 'no TypeScript sources');
    assert.ok(!existsSync(join(runtime, 'node_modules', '.bin', 'tsc')));
    const pruned = listFiles(join(runtime, 'node_modules')).filter((f) => /\.(d\.[mc]?ts|map)$/.test(f));
    assert.deepEqual(pruned.slice(0, 3), [], 'type declarations and source maps of dependencies are pruned');
  });

  test('every production dependency still loads after pruning', () => {
    const pkg = JSON.parse(readFileSync(join(runtime, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const names = Object.keys(pkg.dependencies);
    const code = `for (const d of ${JSON.stringify(names)}) await import(d);`;
    execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: runtime, stdio: ['ignore', 'pipe', 'pipe'] });
  });

  test('--version and run --help work from the runtime directory', () => {
    const version = execFileSync(process.execPath, ['bin/netflow-k8s.js', '--version'], { cwd: runtime, encoding: 'utf8' });
    assert.match(version, /^netflow-k8s \d+\.\d+\.\d+/);
    const help = execFileSync(process.execPath, ['bin/netflow-k8s.js', 'run', '--help'], { cwd: runtime, encoding: 'utf8' });
    for (const flag of ['--listen', '--http', '--templates-file', '--otlp-endpoint'])
      assert.ok(help.includes(flag), `run --help lists ${flag}`);
  });

  test('runs unprivileged, writes only its state volume, serves health, counts a flow, stops on SIGTERM', async (t) => {
    // The image runs as uid 1000 on a read-only root FS; here: as nobody, with /app not writable,
    // where this Node binary is reachable by nobody (not when it lives under a private /root).
    const asRoot = process.getuid?.() === 0 && spawnSync(process.execPath, ['-e', '0'], { uid: 65534, gid: 65534 }).status === 0;
    if (!asRoot) t.diagnostic('running as the current user: cannot switch to nobody with this Node binary');
    const uid = asRoot ? 65534 : undefined;
    const gid = asRoot ? 65534 : undefined;
    const state = join(out, 'state');
    mkdirSync(state);
    const inventory = join(out, 'inventory.json');
    writeFileSync(inventory, JSON.stringify(INVENTORY));
    if (asRoot) {
      for (const d of [out, runtime]) chmodSync(d, 0o755);
      chmodSync(inventory, 0o644);
      chownSync(state, uid!, gid!);
    }
    const marker = Date.now();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: '/nonexistent',
      NODE_ENV: 'production',
      NETFLOW_K8S_TEMPLATES_FILE: join(state, 'templates.json'),
    };
    const child = spawn(
      process.execPath,
      ['bin/netflow-k8s.js', 'run', '--inventory', inventory, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--log-level', 'info'],
      {
        cwd: runtime,
        env,
        uid,
        gid,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const listening = await pollUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}\n${stdout}`);
        for (const line of stdout.split('\n')) {
          try {
            const l = JSON.parse(line) as { msg?: string; udp?: { port: number }; http?: { port: number } };
            if (l.msg === 'listening') return l;
          } catch {
            // not a JSON log line
          }
        }
        return undefined;
      },
      30_000,
      100,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    });
    const base = `http://127.0.0.1:${listening.http!.port}`;
    // The default backend (auto) finds the image's addon and takes the native path.
    if (process.platform === 'linux') assert.match(stdout, /"backend":"native"/, 'the receiving thread uses the native UDP backend');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    await pollUntil(async () => (await fetch(`${base}/readyz`)).status === 200, 30_000, 100);

    const sock = createSocket('udp4');
    t.after(() => sock.close());
    await new Promise<void>((resolve, reject) =>
      sock.send(v5Datagram(10, 1000), listening.udp!.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
    const sample = await pollUntil(
      async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return parsePromText(text).find(
          (s) => s.name === 'netflow_connection_bytes' && s.labels.srchost === 'web' && s.labels.dsthost === 'db',
        );
      },
      30_000,
      200,
    );
    assert.equal(sample.value, 1000);
    assert.deepEqual([sample.labels.srcnamespace, sample.labels.dstnamespace], ['shop', 'shop']);

    // The operations guide's troubleshooting names only self-metrics the collector has.
    const exposition = await (await fetch(`${base}/metrics`)).text();
    const families = new Set([...exposition.matchAll(/^# (?:HELP|TYPE) (\S+)/gm)].map((m) => m[1]));
    for (const s of parsePromText(exposition)) families.add(s.name);
    const documented = new Set(readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8').match(/netflow_k8s_[a-z0-9_]+/g));
    // OTLP's own counters exist only while OTLP is on.
    const missing = [...documented].filter(
      (n) =>
        !families.has(n) &&
        !families.has(n.replace(/_total$/, '')) &&
        !n.startsWith('netflow_k8s_otlp_') &&
        !n.startsWith('netflow_k8s_dns'),
    );
    assert.deepEqual(missing, [], 'self-metrics named in docs/operations.md exist');

    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
    assert.equal(code, 0, `clean exit on SIGTERM\n${stderr}`);
    const written = listFiles(runtime).filter((f) => statSync(f).mtimeMs >= marker);
    assert.deepEqual(written, [], 'nothing written outside the state volume');
  });
});
