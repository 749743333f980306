/**
 * The address memo is a cache in front of the identity index: with it or without it, the counts
 * must be the same to the byte. A seeded random run with pod churn (sole pods, reused addresses,
 * hostNetwork pods, completions, deletions, pruning), Services, nodes, dedup, flows reported late
 * and at interval edges, and a delta table that starts its end numbering over, compares the two.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowRecord, type Exporter } from '../../src/decode/record.ts';
import { IdentityIndex } from '../../src/identify/identity-index.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';
import type { SlimPod } from '../../src/identify/inventory.ts';
import { DeltaTable } from '../../src/aggregate/delta-table.ts';
import type { DeltaBatch } from '../../src/aggregate/delta-batch.ts';
import { endKey, type EndLabels } from '../../src/aggregate/aggregation-level.ts';
import { RecordPipeline } from '../../src/pipeline/record-pipeline.ts';
import { NOWHERE, type Place } from '../../src/aggregate/zone-class.ts';
import { prng } from '../../src/generate/ipt-netflow-stream.ts';

const T0 = Date.UTC(2026, 10, 26, 12);
const NODES = ['n0', 'n1', 'n2'];
const nodeIp = (i: number) => `192.168.0.${i + 1}`;
const podIp = (i: number) => `10.244.0.${i + 1}`;

/** Totals per (source labels, destination labels, dims), read back from a table's drains. */
class Totals {
  readonly rows = new Map<string, number[]>();
  #labels: EndLabels[] = [];
  #places: Place[] = [];

  take(b: DeltaBatch): void {
    if (b.reset) {
      this.#labels = [];
      this.#places = [NOWHERE];
    }
    if (this.#places.length === 0) this.#places = [NOWHERE];
    assert.equal(b.firstEnd, this.#labels.length);
    this.#labels.push(...b.ends);
    assert.equal(b.firstPlace, this.#places.length);
    this.#places.push(...b.places!);
    for (let i = 0; i < b.src.length; i++) {
      // Where the ends are (zone, region, outside, same node) is part of the key: the memo must remember it exactly.
      const w = b.where![i];
      const where = `${JSON.stringify(this.#places[w >>> 16])}>${JSON.stringify(this.#places[(w >>> 1) & 0x7fff])}${w & 1 ? ' same-node' : ''}`;
      const key =
        b.src[i] === -1 ? 'overflow' : `${endKey(this.#labels[b.src[i]])} > ${endKey(this.#labels[b.dst[i]])} #${b.dims[i]} ${where}`;
      const t = this.rows.get(key) ?? [0, 0, 0, 0];
      t[0] += b.flows[i];
      t[1] += b.bytes[i];
      t[2] += b.packets[i];
      t[3] = Math.max(t[3], b.lastMs[i]);
      this.rows.set(key, t);
    }
  }
}

// Without a clock-skew margin, a flow just outside a pod's interval is no longer that pod's.
for (const [seed, clockSkewMs] of [
  [1, 5000],
  [2, 5000],
  [3, 0],
  [4, 0],
]) {
  test(`counts with the address memo equal counts without it (seed ${seed}, clock skew ${clockSkewMs} ms)`, () => {
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    let clock = T0;
    const identity = new IdentityIndex({ now: () => clock, retentionMs: 120_000, clockSkewMs });
    // Small tables: rows overflow and the end numbering starts over now and then.
    const tables = [
      new DeltaTable({ level: 'pod', dims: { protocol: true, serverPort: true }, maxRows: 300, maxEnds: 40 }),
      new DeltaTable({ level: 'pod', dims: { protocol: true, serverPort: true }, maxRows: 300, maxEnds: 40 }),
    ];
    const withMemo = new RecordPipeline(identity, tables[0], 'auto');
    const without = new RecordPipeline(identity, tables[1], 'auto', { memo: false });
    const totals = [new Totals(), new Totals()];

    NODES.forEach((name, i) => identity.upsertNode({ name, addresses: [nodeIp(i)], zone: `z${i}`, region: i < 2 ? 'r1' : 'r2' }));
    const live: SlimPod[] = [];
    // Start and end times of every pod so far: flows are often sent to just around them.
    const edges: number[] = [];
    let uid = 0;
    const newPod = (): void => {
      const host = rand() < 0.1;
      const node = Math.floor(rand() * NODES.length);
      const app = `app${Math.floor(rand() * 6)}`;
      const p: SlimPod = {
        uid: `u${uid++}`,
        namespace: 'ns',
        name: `${app}-${uid}`,
        nodeName: NODES[node],
        hostNetwork: host,
        // 48 pod addresses for all pods ever: addresses are reused, so history matters.
        ips: [host ? nodeIp(node) : podIp(Math.floor(rand() * 48))],
        phase: 'Running',
        startMs: clock - Math.floor(rand() * 3000),
        appLabel: app,
        ownerKind: '',
        ownerName: '',
        labels: { app },
        ports: rand() < 0.5 ? [{ port: 8080, protocol: 'TCP', name: 'http' }] : [],
      };
      identity.upsertPod(p);
      live.push(p);
      edges.push(p.startMs);
    };
    for (let i = 0; i < 20; i++) newPod();
    identity.upsertService({
      uid: 's1',
      namespace: 'ns',
      name: 'web',
      clusterIPs: ['10.96.0.10'],
      ports: [{ port: 80, protocol: 'TCP' }],
      targetPorts: ['http'],
      selector: { app: 'app1' },
    });

    const addresses = [
      ...Array.from({ length: 48 }, (_, i) => podIp(i)),
      ...NODES.map((_, i) => nodeIp(i)),
      '192.168.0.9',
      '10.96.0.10',
      '10.96.0.11',
      '10.96.0.12',
      '8.8.8.8',
      '1.1.1.1',
    ].map((a) => parseIPv4(a));
    const exporters: Exporter[] = [...NODES.map((_, i) => nodeIp(i)), '172.16.0.1'].map((address, i) => ({
      address,
      port: 9995,
      key: `${address}|9995`,
    }));
    const rec = new FlowRecord();
    let records = 0;
    for (let step = 0; step < 4000; step++) {
      clock += Math.floor(rand() * 400);
      // The inventory changes now and then.
      const r = rand();
      if (r < 0.02) newPod();
      else if (r < 0.035 && live.length > 0) {
        const p = live.splice(Math.floor(rand() * live.length), 1)[0];
        const at = clock - Math.floor(rand() * 2000);
        identity.deletePod(p.uid, at);
        edges.push(at);
      } else if (r < 0.04 && live.length > 0) {
        // Completed: the pod's interval ends at its finish time.
        const i = Math.floor(rand() * live.length);
        live[i] = { ...live[i], phase: 'Succeeded', endMs: clock - Math.floor(rand() * 1500) };
        identity.upsertPod(live[i]);
        edges.push(live[i].endMs!);
      } else if (r < 0.045) {
        // Moves between two ClusterIPs and two ports, or goes away.
        const port = pick([9000, 9001]);
        if (rand() < 0.2) identity.deleteService('s2');
        else
          identity.upsertService({
            uid: 's2',
            namespace: 'ns',
            name: 'api',
            clusterIPs: [pick(['10.96.0.11', '10.96.0.12'])],
            ports: [{ port, protocol: 'TCP' }],
            targetPorts: [port],
            selector: { app: pick(['app2', 'app3']) },
          });
      } else if (r < 0.05) {
        // A node moves between two addresses, or goes away.
        if (rand() < 0.3) identity.deleteNode('n2');
        else
          identity.upsertNode({
            name: 'n2',
            addresses: [pick([nodeIp(2), '192.168.0.9'])],
            ...(rand() < 0.5 ? { zone: pick(['z1', 'z2']), region: 'r2' } : {}),
          });
      } else if (r < 0.1) {
        identity.prune(clock);
      }
      for (const p of [withMemo, without]) p.nowMs = clock;
      const exporter = pick(exporters);
      for (let k = 0; k < 20; k++) {
        rec.exporter = exporter;
        rec.family = 4;
        rec.src4 = pick(addresses);
        rec.dst4 = pick(addresses);
        rec.proto = pick([6, 6, 17, 1]);
        rec.srcPort = pick([8080, 80, 9000, 9001, 443, 40000 + Math.floor(rand() * 20000), 0]);
        rec.dstPort = pick([8080, 80, 9000, 9001, 53, 40000 + Math.floor(rand() * 20000), 0]);
        rec.bytes = 1 + Math.floor(rand() * 100_000);
        rec.packets = 1 + Math.floor(rand() * 100);
        // Mostly recent; some late (up to five minutes, past the pruning of deleted pods), some
        // within 1.5 s of a pod's start or end, some without times.
        const late = rand();
        rec.endMs =
          late < 0.05
            ? 0
            : late < 0.2
              ? clock - Math.floor(rand() * 300_000)
              : late < 0.4
                ? pick(edges) + Math.floor(rand() * 3000) - 1500
                : clock - Math.floor(rand() * 1500);
        withMemo.sink(rec);
        without.sink(rec);
        records++;
      }
      if (step % 97 === 0) tables.forEach((t, i) => totals[i].take(t.drain()));
    }
    tables.forEach((t, i) => totals[i].take(t.drain()));

    const { remembered, ...counters } = withMemo.counters;
    const { remembered: none, ...counters2 } = without.counters;
    assert.deepEqual(counters, counters2);
    assert.equal(none, 0);
    assert.ok(remembered > records * 0.3, `the memo named ${remembered} of ${records} records`);
    assert.ok(counters.dedupSkipped > 0, 'dedup took decisions');
    assert.ok(tables[0].dictionary > 0, 'the end numbering started over');
    assert.ok(totals[0].rows.has('overflow'), 'rows overflowed');
    assert.deepEqual(new Map([...totals[0].rows].sort()), new Map([...totals[1].rows].sort()));
  });
}
