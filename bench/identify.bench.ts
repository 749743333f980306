/**
 * Identity lookups: IPv4 and IPv6 resolveSrc/resolveDst (+ role) per record over a cluster of
 * 5,000 pods on 60 nodes with 300 Services, and the index's memory for that cluster. Also
 * counts garbage collections during the lookup loops: none means the hot path allocates nothing.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FlowRecord } from '../src/decode/record.ts';
import { IdentityIndex } from '../src/identify/index.ts';
import type { SlimPod, SlimService } from '../src/identify/inventory.ts';
import { parseAddress } from '../src/identify/ip.ts';
import { networksFromOption } from '../src/identify/networks.ts';

const PODS = 5000;
const NODES = 60;
const SERVICES = 300;
const SECONDS = 1.2;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heap(): number {
  gc();
  gc();
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
      ports: [{ port: 8080, name: 'http', protocol: 'TCP' }, { port: 9090, name: 'metrics', protocol: 'TCP' }],
    });
  }
  const services: SlimService[] = [];
  for (let i = 0; i < SERVICES; i++) {
    services.push({ uid: `svc-${i}`, namespace: `team-${i % 25}`, name: `app-${i}`, clusterIPs: [`10.96.${i >> 8}.${i & 255}`], ports: [{ port: 80, protocol: 'TCP' }], targetPorts: ['http'], selector: { app: `app-${i}` } });
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
      kind === 0 ? (family === 4 ? `10.244.${b >> 8}.${b & 255}` : `fd00:10:244::${b.toString(16)}`)
      : kind === 1 ? `192.168.${(b % NODES) >> 8}.${(b % NODES) & 255}`
      : kind === 2 ? `10.96.${(b % SERVICES) >> 8}.${(b % SERVICES) & 255}`
      : `203.0.113.${b & 255}`;
    const s = parseAddress(srcText)!;
    const d = parseAddress(dstText)!;
    r.family = s.family === 4 && d.family === 4 ? 4 : 6;
    if (s.family === 4) r.src4 = s.v4; else r.src6.set(s.v6);
    if (d.family === 4) r.dst4 = d.v4; else r.dst6.set(d.v6);
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
  const obs = new PerformanceObserver((list) => { n += list.getEntries().length; });
  obs.observe({ entryTypes: ['gc'] });
  return { stop: () => { obs.disconnect(); return n; } };
}

function lookupRate(idx: IdentityIndex, recs: FlowRecord[], withRole: boolean): { perSec: number; gcs: number; check: number } {
  let check = 0;
  // Warm up so the timed loop runs optimised code.
  for (let k = 0; k < 50; k++) for (const r of recs) check += idx.resolveSrc(r).id + idx.resolveDst(r).id;
  const gcs = countGcs();
  let lookups = 0;
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
  return { perSec: lookups / elapsed, gcs: gcs.stop(), check };
}

export async function main(): Promise<void> {
  const { pods, services, now } = cluster();
  const before = heap();
  const idx = new IdentityIndex({ networks: networksFromOption('docs=203.0.113.0/24') });
  for (let n = 0; n < NODES; n++) idx.upsertNode({ name: `node-${n}`, addresses: [`192.168.${n >> 8}.${n & 255}`] });
  for (const s of services) idx.upsertService(s);
  for (const p of pods) idx.upsertPod(p);
  const after = heap();
  const st = idx.stats;
  console.log(`identify: index for ${PODS} pods (v4+v6), ${NODES} nodes, ${SERVICES} services: ${((after - before) / 1048576).toFixed(2)} MB heap for the index on top of the slim objects, of which address tables ${(st.tableBytes / 1048576).toFixed(2)} MB, ${st.ipv4Addresses} v4 + ${st.ipv6Addresses} v6 addresses`);

  const fmt = (r: { perSec: number; gcs: number }): string => `${(r.perSec / 1e6).toFixed(1)} M lookups/s, ${r.gcs} GCs while timed`;
  const pods4 = records(4, 4096, now, 'pods');
  console.log(`identify: IPv4 pod→pod resolveSrc+resolveDst: ${fmt(lookupRate(idx, pods4, false))} (target ≥ 10 M/s)`);
  const mixed4 = records(4, 4096, now, 'mixed');
  console.log(`identify: IPv4 mixed pod/node/service/external: ${fmt(lookupRate(idx, mixed4, false))}`);
  console.log(`identify: IPv4 mixed with role(): ${fmt(lookupRate(idx, mixed4, true))}`);
  const pods6 = records(6, 4096, now, 'pods');
  console.log(`identify: IPv6 pod→pod resolveSrc+resolveDst: ${fmt(lookupRate(idx, pods6, false))}`);

}

if (import.meta.url === `file://${process.argv[1]}`) await main();
