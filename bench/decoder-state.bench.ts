/**
 * Decoder state at scale: 50,000 exporters x 8 templates (ipt-netflow-shaped layouts, the same
 * on every exporter), at steady state. Each simulated second a thirtieth of the exporters
 * refreshes its templates, data datagrams arrive from exporters at random, and expire() runs once
 * as the receiving thread's 1 s timer does. Prints the decode rate with that much state, the
 * per-tick expiry cost (which walked every template of every exporter before the deadline wheel:
 * issue 12 measured 64 s for a replay of 100,000 datagrams), and memory.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Decoder } from '../src/decode/decoder.ts';
import type { Exporter, FlowRecord } from '../src/decode/record.ts';
import { encodeRecord, IE, type FieldSpec, type TemplateSpec } from '../src/generate/fields.ts';
import { encodeV9 } from '../src/generate/netflow-v9.ts';
import { prng } from '../src/generate/ipt-netflow-stream.ts';
import { heldFlood, hugeTemplate, templateFlood } from '../src/generate/hostile.ts';

const EXPORTERS = 50_000;
const TEMPLATES = 8;
/** Simulated seconds measured, after 30 s in which the loaded templates are first refreshed. */
const SIM_SECONDS = 60;
const DATA_PER_SECOND = 3_000;

/** ipt-netflow's IPv4 layout, then variants (IPv6, with and without direction and physdev fields). */
function layouts(): TemplateSpec[] {
  const v4: FieldSpec[] = [
    { id: IE.IPV4_SRC_ADDR, length: 4 },
    { id: IE.IPV4_DST_ADDR, length: 4 },
    { id: IE.IPV4_NEXT_HOP, length: 4 },
    { id: IE.L4_SRC_PORT, length: 2 },
    { id: IE.L4_DST_PORT, length: 2 },
    { id: IE.TCP_FLAGS, length: 1 },
    { id: IE.INPUT_SNMP, length: 2 },
    { id: IE.OUTPUT_SNMP, length: 2 },
    { id: IE.IN_PKTS, length: 4 },
    { id: IE.IN_BYTES, length: 4 },
    { id: IE.FIRST_SWITCHED, length: 4 },
    { id: IE.LAST_SWITCHED, length: 4 },
    { id: IE.PROTOCOL, length: 1 },
    { id: IE.TOS, length: 1 },
  ];
  const v6 = v4.map((f) =>
    f.id === IE.IPV4_SRC_ADDR
      ? { id: IE.IPV6_SRC_ADDR, length: 16 }
      : f.id === IE.IPV4_DST_ADDR
        ? { id: IE.IPV6_DST_ADDR, length: 16 }
        : f.id === IE.IPV4_NEXT_HOP
          ? { id: IE.IPV6_NEXT_HOP, length: 16 }
          : f,
  );
  const out: TemplateSpec[] = [];
  for (let i = 0; i < TEMPLATES; i++) {
    const base = i % 2 === 0 ? v4 : v6;
    const extra: FieldSpec[] = i >= 2 ? [{ id: IE.DIRECTION, length: 1 }] : [];
    if (i >= 4) extra.push({ id: IE.INGRESS_PHYSICAL_INTERFACE, length: 4 }, { id: IE.EGRESS_PHYSICAL_INTERFACE, length: 4 });
    if (i >= 6) extra.push({ id: IE.SRC_MAC, length: 6 });
    out.push({ id: 256 + i, fields: [...base, ...extra] });
  }
  return out;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

/** A full collection, also under `npm run bench` (no --expose-gc there): heap figures need one. */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export async function main(): Promise<void> {
  const specs = layouts();
  const rand = prng(12);
  const exporters: Exporter[] = Array.from({ length: EXPORTERS }, (_, i) => {
    const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    return { address, port: 2055, key: `${address}|2055` };
  });
  const t0Ms = 1_760_000_000_000;
  const hdr = (sequence: number, nowMs: number) => ({ sysUptimeMs: 3_600_000, unixSecs: Math.floor(nowMs / 1000), sequence, sourceId: 7 });
  const templateMsg = (nowMs: number) => encodeV9(hdr(0, nowMs), [{ kind: 'templates', templates: specs }]);
  // 64 data datagrams, 27 records each, over the 8 layouts; which exporter sends one is drawn per send.
  const dataMsgs = Array.from({ length: 64 }, (_, k) => {
    const t = specs[k % TEMPLATES];
    const records = Array.from({ length: 27 }, (_, r) =>
      encodeRecord(t, {
        [IE.IPV4_SRC_ADDR]: `10.244.${k}.${r + 1}`,
        [IE.IPV4_DST_ADDR]: `10.244.${r}.${k + 1}`,
        [IE.IPV6_SRC_ADDR]: `fd00::${k}:${r + 1}`,
        [IE.IPV6_DST_ADDR]: `fd00::${r}:${k + 1}`,
        [IE.L4_SRC_PORT]: 40_000 + r,
        [IE.L4_DST_PORT]: 8080,
        [IE.PROTOCOL]: 6,
        [IE.IN_PKTS]: 1 + r,
        [IE.IN_BYTES]: 100 * (1 + r),
        [IE.FIRST_SWITCHED]: 3_500_000,
        [IE.LAST_SWITCHED]: 3_599_000,
      }),
    );
    return encodeV9(hdr(k, t0Ms), [{ kind: 'data', templateId: t.id, records }]);
  });

  let check = 0;
  const sink = (r: FlowRecord): void => {
    check = (check + r.bytes + r.dstPort) | 0;
  };
  // Room for all of it: this bench measures cost at scale, the caps are tested elsewhere.
  const dec = new Decoder(sink, {
    maxExporters: EXPORTERS + 1,
    stateBudgetBytes: 2 ** 31,
    exporterShareBytes: 2 ** 31,
    templateTtlMs: 60_000,
  });
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const l0 = performance.now();
  for (let i = 0; i < EXPORTERS; i++) dec.decode(templateMsg(t0Ms), exporters[i], t0Ms + (i % 30) * 1000);
  const loadMs = performance.now() - l0;
  if (dec.stats.templates !== EXPORTERS * TEMPLATES) throw new Error(`${dec.stats.templates} templates loaded`);
  gc();
  const heapLoaded = process.memoryUsage().heapUsed - heap0;
  const counted = dec.stateBytes();

  const tick: number[] = [];
  let decodeMs = 0;
  let records = 0;
  const refresh = templateMsg(t0Ms);
  const cpu0 = process.cpuUsage();
  for (let sec = 30; sec < 60 + SIM_SECONDS; sec++) {
    const now = t0Ms + sec * 1000;
    // A thirtieth of the exporters refresh their templates this second.
    for (let i = sec % 30; i < EXPORTERS; i += 30) dec.decode(refresh, exporters[i], now);
    if (sec < 60) {
      // First refreshes: no deadline is due yet.
      dec.expire(now);
      continue;
    }
    const before = dec.stats.records.v9;
    const d0 = performance.now();
    for (let k = 0; k < DATA_PER_SECOND; k++) dec.decode(dataMsgs[k & 63], exporters[Math.floor(rand() * EXPORTERS)], now);
    decodeMs += performance.now() - d0;
    records += dec.stats.records.v9 - before;
    const e0 = performance.now();
    dec.expire(now);
    tick.push(performance.now() - e0);
  }
  const cpu = process.cpuUsage(cpu0);
  if (dec.stats.templates !== EXPORTERS * TEMPLATES || dec.stats.templateMisses !== 0)
    throw new Error(`steady state lost templates: ${dec.stats.templates}, misses ${dec.stats.templateMisses}`);
  // Then every exporter goes silent: the templates expire within one TTL and the tables empty.
  let drainMs = 0;
  let drainMax = 0;
  for (let sec = 60 + SIM_SECONDS; sec < 60 + SIM_SECONDS + 65; sec++) {
    const e0 = performance.now();
    dec.expire(t0Ms + sec * 1000);
    const dt = performance.now() - e0;
    drainMs += dt;
    drainMax = Math.max(drainMax, dt);
  }
  if (dec.stats.templates !== 0 || dec.stats.exporters !== 0 || dec.stateBytes() !== 0)
    throw new Error(`after expiry: ${dec.stats.templates} templates, ${dec.stats.exporters} exporters, ${dec.stateBytes()} bytes`);
  gc();
  const heapAfter = process.memoryUsage().heapUsed - heap0;
  console.log(
    `decoder state, ${EXPORTERS.toLocaleString('en')} exporters x ${TEMPLATES} templates: load ${(EXPORTERS / (loadMs / 1000) / 1e3).toFixed(0)}k template datagrams/s; ` +
      `steady state ${(records / (decodeMs / 1000) / 1e6).toFixed(1)} M records/s wall (${((DATA_PER_SECOND * SIM_SECONDS) / (decodeMs / 1000) / 1e3).toFixed(0)}k datagrams/s, exporters drawn at random), ` +
      `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU for ${SIM_SECONDS} simulated seconds`,
  );
  console.log(
    `  expire() per 1 s tick with ${(EXPORTERS * TEMPLATES).toLocaleString('en')} templates alive (a thirtieth of the exporters due each tick): median ${percentile(tick, 0.5).toFixed(2)} ms, p99 ${percentile(tick, 0.99).toFixed(2)} ms, max ${Math.max(...tick).toFixed(2)} ms; ` +
      `all expiring within one TTL: ${drainMs.toFixed(0)} ms over 65 ticks (max ${drainMax.toFixed(0)} ms)`,
  );
  console.log(
    `  heap: ${(heapLoaded / 2 ** 20).toFixed(0)} MiB for the templates (${(heapLoaded / (EXPORTERS * TEMPLATES)).toFixed(0)} B each, the budget counts ${(counted / (EXPORTERS * TEMPLATES)).toFixed(0)}), ${(heapAfter / 2 ** 20).toFixed(1)} MiB after expiry [check ${check & 0xff}]`,
  );
  hostileCosts();
}

/**
 * What one datagram costs the receiving thread, good and hostile, once the caps are reached (issue
 * 12 measured 10-17 ms per huge-template datagram and about 70 ms per held-data flood datagram).
 */
function hostileCosts(): void {
  const good = encodeV9({ sysUptimeMs: 3_600_000, unixSecs: 1_760_000_000, sequence: 1, sourceId: 1 }, [
    { kind: 'templates', templates: [layouts()[0]] },
  ]);
  const t = layouts()[0];
  const records = Array.from({ length: 27 }, (_, r) =>
    encodeRecord(t, { [IE.IPV4_SRC_ADDR]: `10.244.0.${r + 1}`, [IE.IN_PKTS]: 1, [IE.IN_BYTES]: 100 }),
  );
  const goodData = encodeV9({ sysUptimeMs: 3_600_000, unixSecs: 1_760_000_000, sequence: 2, sourceId: 1 }, [
    { kind: 'data', templateId: t.id, records },
  ]);
  const kinds: [string, (n: number) => { payload: Uint8Array; exporter: Exporter }][] = [
    ['good (27 ipt-netflow records)', () => ({ payload: goodData, exporter: { address: '10.0.0.1', port: 2055, key: '10.0.0.1|2055' } })],
    [
      'template flood (110 templates)',
      (n) => ({ payload: templateFlood(n), exporter: { address: '10.9.0.1', port: 1 + (n % 300), key: `10.9.0.1|${1 + (n % 300)}` } }),
    ],
    [
      'huge template (16,368 fields)',
      (n) => ({ payload: hugeTemplate(n), exporter: { address: '10.9.0.2', port: 1 + (n % 30), key: `10.9.0.2|${1 + (n % 30)}` } }),
    ],
    [
      'held flood (280 tiny sets, new exporter)',
      (n) => ({
        payload: heldFlood(n),
        exporter: { address: `10.8.${(n >> 8) & 255}.${n & 255}`, port: 9, key: `10.8.${(n >> 8) & 255}.${n & 255}|9` },
      }),
    ],
  ];
  const parts: string[] = [];
  for (const [label, make] of kinds) {
    const dec = new Decoder(() => {});
    dec.decode(good, kinds[0][1](0).exporter, 0);
    // Built first: only decode() is timed. Then past the caps, then timed.
    const [warm, timed] = label.startsWith('huge') ? [300, 200] : [2000, 1000];
    const inputs = Array.from({ length: warm + timed }, (_, n) => make(n));
    for (let n = 0; n < warm; n++) dec.decode(inputs[n].payload, inputs[n].exporter, n);
    const t0 = performance.now();
    for (let n = warm; n < warm + timed; n++) dec.decode(inputs[n].payload, inputs[n].exporter, n);
    parts.push(`${label} ${(((performance.now() - t0) / timed) * 1000).toFixed(1)} µs`);
  }
  console.log(`  one datagram past the caps (32 MiB budget): ${parts.join(', ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
