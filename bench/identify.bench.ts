/**
 * Identity lookups: IPv4 and IPv6 resolveSrc/resolveDst (+ role) per record over a cluster of
 * 5,000 pods on 60 nodes with 300 Services, and the index's memory for that cluster. Also
 * counts garbage collections during the lookup loops: none means the hot path allocates nothing.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FlowRecord } from '../src/decode/record.ts';
import { IdentityIndex } from '../src/identify/identity-index.ts';
import type { SlimPod, SlimService } from '../src/identify/inventory.ts';
import { parseAddress } from '../src/identify/ip.ts';
import { networksFromOption } from '../src/identify/networks.ts';

const PODS = 5000;
const NODES = 60;
const SERVICES = 300;
const SECONDS = 1.2;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap after full collections, with turns of the event loop between them so finalizers run. */
async function heap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  return process.memoryUsage().heapUsed;
}

function cluster(): { pods: SlimPod[]; services: SlimService[]; now: number } {
  const now = Date.now();
  const pods: SlimPod[] = [];
  for (let i = 0; i < PODS; i++) {
    const app = `app-${i % 400}`;
    const ns = `team-${i % 25}`;
    pods.push({
      uid: `0b6f1e2a-${i.toString(16).padStart(4, '0')}-4c1d-9e8f-5a6b7c8d9e0f`,
      namespace: ns,
      name: `${app}-7d9f8b6c5-${(i * 7919).toString(36).slice(-5)}`,
      nodeName: `node-${i % NODES}`,
      hostNetwork: false,
      ips: [`10.244.${i >> 8}.${i & 255}`, `fd00:10:244::${i.toString(16)}`],
      phase: 'Running',
      startMs: now - 3_600_000,
      appLabel: app,
      ownerKind: 'Deployment',
      ownerName: app,
      labels: { app, 'pod-template-hash': '7d9f8b6c5', 'app.kubernetes.io/part-of': ns },
      ports: [
        { port: 8080, name: 'http', protocol: 'TCP' },
        { port: 9090, name: 'metrics', protocol: 'TCP' },
      ],
    });
  }
  const services: SlimService[] = [];
  for (let i = 0; i < SERVICES; i++) {
    services.push({
      uid: `svc-${i}`,
      namespace: `team-${i % 25}`,
      name: `app-${i}`,
      clusterIPs: [`10.96.${i >> 8}.${i & 255}`],
      ports: [{ port: 80, protocol: 'TCP' }],
      targetPorts: ['http'],
      selector: { app: `app-${i}` },
    });
  }
  return { pods, services, now };
}

function records(family: 4 | 6, n: number, now: number, mix: 'pods' | 'mixed'): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = new FlowRecord();
    const a = (i * 2654435761) % PODS;
    const b = (i * 40503 + 17) % PODS;
    const kind = mix === 'pods' ? 0 : i % 4; // pod, node, service, external
    const srcText = family === 4 ? `10.244.${a >> 8}.${a & 255}` : `fd00:10:244::${a.toString(16)}`;
    const dstText =
      kind === 0
        ? family === 4
          ? `10.244.${b >> 8}.${b & 255}`
          : `fd00:10:244::${b.toString(16)}`
        : kind === 1
          ? `192.168.${(b % NODES) >> 8}.${(b % NODES) & 255}`
          : kind === 2
            ? `10.96.${(b % SERVICES) >> 8}.${(b % SERVICES) & 255}`
            : `203.0.113.${b & 255}`;
    const s = parseAddress(srcText)!;
    const d = parseAddress(dstText)!;
    r.family = s.family === 4 && d.family === 4 ? 4 : 6;
    if (s.family === 4) r.src4 = s.v4;
    else r.src6.set(s.v6);
    if (d.family === 4) r.dst4 = d.v4;
    else r.dst6.set(d.v6);
    if (r.family === 6 && (s.family === 4 || d.family === 4)) continue;
    r.proto = 6;
    r.srcPort = 32768 + (i % 28000);
    r.dstPort = i % 3 === 0 ? 8080 : 443;
    r.endMs = now;
    out.push(r);
  }
  return out;
}

function countGcs(): { stop: () => number } {
  let n = 0;
  const obs = new PerformanceObserver((list) => {
    n += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    stop: () => {
      obs.disconnect();
      return n;
    },
  };
}

function lookupRate(
  idx: IdentityIndex,
  recs: FlowRecord[],
  withRole: boolean,
): { perSec: number; wallPerSec: number; gcs: number; check: number } {
  let check = 0;
  // Warm up so the timed loop runs optimised code.
  for (let k = 0; k < 50; k++) for (const r of recs) check += idx.resolveSrc(r).id + idx.resolveDst(r).id;
  const gcs = countGcs();
  let lookups = 0;
  // CPU time of this thread, not wall time: the machine may be shared, and the target is per core.
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let elapsed = 0;
  do {
    for (let k = 0; k < 20; k++) {
      for (let i = 0; i < recs.length; i++) {
        const r = recs[i];
        const s = idx.resolveSrc(r);
        const d = idx.resolveDst(r);
        check += s.id ^ d.id;
        if (withRole && idx.role(r, s, d) === 'src-client') check++;
      }
    }
    lookups += 40 * recs.length;
    elapsed = (performance.now() - t0) / 1000;
  } while (elapsed < SECONDS);
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  return { perSec: lookups / cpuSec, wallPerSec: lookups / elapsed, gcs: gcs.stop(), check };
}

export async function main(): Promise<void> {
  const { pods, services, now } = cluster();
  const build = (dual: boolean): IdentityIndex => {
    const idx = new IdentityIndex({ networks: networksFromOption('docs=203.0.113.0/24') });
    for (let n = 0; n < NODES; n++) idx.upsertNode({ name: `node-${n}`, addresses: [`192.168.${n >> 8}.${n & 255}`] });
    for (const s of services) idx.upsertService(s);
    for (const p of pods) idx.upsertPod(dual ? p : { ...p, ips: p.ips.slice(0, 1) });
    return idx;
  };
  // The index's own memory (the slim objects it is fed are the inventory source's): heap with
  // the index minus heap once it is dropped.
  for (const dual of [false, true]) {
    let held: IdentityIndex | undefined = build(dual);
    const withIndex = await heap();
    const st = held.stats;
    held = undefined;
    const without = await heap();
    console.log(
      `identify: index memory for ${PODS} pods (${dual ? 'dual-stack' : 'IPv4'}), ${NODES} nodes, ${SERVICES} services: ${((withIndex - without) / 1048576).toFixed(2)} MB (${((withIndex - without) / PODS).toFixed(0)} B a pod; address tables ${(st.tableBytes / 1048576).toFixed(2)} MB for ${st.ipv4Addresses} v4 + ${st.ipv6Addresses} v6 addresses)`,
    );
  }
  const t0 = performance.now();
  const idx = build(true);
  const buildMs = performance.now() - t0;
  console.log(
    `identify: building the dual-stack index (${PODS} pods, ${NODES} nodes, ${SERVICES} services): ${buildMs.toFixed(0)} ms (${((PODS + NODES + SERVICES) / (buildMs / 1000) / 1000).toFixed(0)}k objects/s)`,
  );

  const fmt = (r: { perSec: number; wallPerSec: number; gcs: number }): string =>
    `${(r.perSec / 1e6).toFixed(1)} M lookups per CPU-second (${(r.wallPerSec / 1e6).toFixed(1)} M/s wall clock), ${r.gcs} GCs while timed`;
  const pods4 = records(4, 4096, now, 'pods');
  console.log(`identify: IPv4 pod→pod resolveSrc+resolveDst: ${fmt(lookupRate(idx, pods4, false))} (target ≥ 10 M/s)`);
  const mixed4 = records(4, 4096, now, 'mixed');
  console.log(`identify: IPv4 mixed pod/node/service/external: ${fmt(lookupRate(idx, mixed4, false))}`);
  console.log(`identify: IPv4 mixed with role(): ${fmt(lookupRate(idx, mixed4, true))}`);
  const pods6 = records(6, 4096, now, 'pods');
  console.log(`identify: IPv6 pod→pod resolveSrc+resolveDst: ${fmt(lookupRate(idx, pods6, false))}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
