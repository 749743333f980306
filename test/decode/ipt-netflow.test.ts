/**
 * ipt-netflow's own layout (DESIGN.md) in a generated capture: two nodes that both number their
 * first template 256 with source ID 0 but with different layouts, a template refresh in mid-stream,
 * a node whose module is reloaded with another layout under the same template ID, and data that
 * reaches a freshly started collector before its template. Every record must decode with its own
 * exporter's layout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder } from '../../src/decode/decoder.ts';
import { CaptureFeeder } from '../../src/ingest/capture-replay.ts';
import { IptNetflowExporter } from '../../src/generate/ipt-netflow.ts';
import { podAddress } from '../../src/generate/ipt-netflow-stream.ts';
import type { IptFlow } from '../../src/generate/ipt-netflow.ts';
import { writePcapFile } from '../../src/generate/pcap-writer.ts';
import type { PcapPacket } from '../../src/generate/pcap-writer.ts';

interface Seen {
  exporter: string;
  version: number;
  sourceId: number;
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  proto: number;
  tcpFlags: number;
  packets: number;
  bytes: number;
  startMs: number;
  endMs: number;
  inputIf: number;
  outputIf: number;
}

const T0 = 1_790_000_000_000; // a whole second: v9 export time is in seconds, so times come back exact

function flow(node: number, i: number, now: number): IptFlow {
  return {
    src4: podAddress(node * 256 + (i % 200)),
    dst4: podAddress(10_000 + node * 256 + ((i * 7) % 200)),
    srcPort: 32768 + i,
    dstPort: node === 1 ? 8080 : 53,
    proto: node === 1 ? 6 : 17,
    tcpFlags: node === 1 ? 0x1b : 0,
    packets: 1 + i,
    bytes: 100 * (1 + i) + node,
    // Flows end before the export packet that carries them, as on a real node.
    startMs: now - 60_000 + (i % 500),
    endMs: now - 1000 + (i % 500),
    inputIf: node,
    outputIf: node + 10,
    direction: i % 2,
  };
}

function expected(exporter: string, f: IptFlow): Seen {
  return {
    exporter,
    version: 9,
    sourceId: 0,
    src: f.src4!,
    dst: f.dst4!,
    srcPort: f.srcPort,
    dstPort: f.dstPort,
    proto: f.proto,
    tcpFlags: f.tcpFlags ?? 0,
    packets: f.packets,
    bytes: f.bytes,
    startMs: f.startMs,
    endMs: f.endMs,
    inputIf: f.inputIf ?? 0,
    outputIf: f.outputIf ?? 0,
  };
}

/** The set IDs of a v9 datagram, in order. */
function setIds(payload: Uint8Array): number[] {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const ids: number[] = [];
  for (let p = 20; p + 4 <= payload.length; ) {
    ids.push(dv.getUint16(p));
    const len = dv.getUint16(p + 2);
    if (len < 4) break;
    p += len;
  }
  return ids;
}

test('two ipt-netflow nodes, both template 256 with source ID 0 but different layouts, a refresh and a reload mid-stream', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfk-ipt-'));
  try {
    // Node A: a build with ENABLE_DIRECTION (15 fields, 40-byte records). Node B: without it but
    // with ENABLE_PHYSDEV (16 fields, 43 bytes). Templates resent every 5 packets.
    const a = new IptNetflowExporter({ refreshRate: 5, direction: true, bootMs: T0 - 3_600_000 });
    let b = new IptNetflowExporter({ refreshRate: 5, direction: false, physdev: true, bootMs: T0 - 7_200_000 });
    assert.equal(a.ipv4Template.id, 256);
    assert.equal(b.ipv4Template.id, 256);
    assert.equal(a.ipv4Template.fields.length, 15);
    assert.equal(
      a.ipv4Template.fields.reduce((n, f) => n + f.length, 0),
      40,
    );
    assert.equal(b.ipv4Template.fields.length, 16);
    assert.notDeepEqual(a.ipv4Template.fields, b.ipv4Template.fields);

    const packets: PcapPacket[] = [];
    const want: Seen[] = [];
    let refreshesSeen = 0;
    let i = 0;
    for (let n = 0; n < 40; n++) {
      const now = T0 + n * 1000;
      const isA = n % 2 === 0;
      if (n === 24) {
        // Node B's module is reloaded with another build: template 256 now means the 15-field layout.
        b = new IptNetflowExporter({ refreshRate: 5, direction: true, bootMs: now - 120_000 });
      }
      const node = isA ? a : b;
      const flows = Array.from({ length: 27 }, (_, k) => flow(isA ? 1 : 2, i + k, now));
      const { payload, taken } = node.pack(flows, 0, now, 27);
      assert.equal(taken, 27, 'templates and interface names still leave room for 27 records in 1400 bytes');
      i += taken;
      const ids = setIds(payload);
      if (n > 2 && ids.includes(0)) refreshesSeen++;
      const address = isA ? '10.1.0.1' : '10.1.0.2';
      // The collector starts late: it never sees node B's first two packets (with its first
      // templates), so B's next data waits for the refresh.
      if (!isA && n < 4) continue;
      packets.push({ tsMs: now, srcAddr: address, srcPort: 50_000, payload });
      for (const f of flows.slice(0, taken)) want.push(expected(address, f));
    }
    assert.ok(refreshesSeen >= 4, `templates are refreshed mid-stream (${refreshesSeen})`);

    const file = join(dir, 'ipt.pcap');
    writePcapFile(file, packets);
    const seen: Seen[] = [];
    const decoder = new Decoder((r) => {
      seen.push({
        exporter: r.exporter.address,
        version: r.version,
        sourceId: r.sourceId,
        src: r.src4,
        dst: r.dst4,
        srcPort: r.srcPort,
        dstPort: r.dstPort,
        proto: r.proto,
        tcpFlags: r.tcpFlags,
        packets: r.packets,
        bytes: r.bytes,
        startMs: r.startMs,
        endMs: r.endMs,
        inputIf: r.inputIf,
        outputIf: r.outputIf,
      });
    });
    const feeder = new CaptureFeeder(decoder);
    feeder.feedAll([file]);
    feeder.finish();

    // Held records come out when their template arrives, so compare per exporter, in order, and
    // check node B's held data was decoded rather than lost.
    assert.ok(decoder.stats.heldDecoded > 0, 'node B data that came before its template was held and decoded');
    assert.equal(decoder.stats.heldDropped, 0);
    const key = (s: Seen): string => `${s.exporter}|${s.srcPort}|${s.startMs}`;
    const byKey = (xs: Seen[]): Seen[] => [...xs].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
    assert.equal(seen.length, want.length);
    assert.deepEqual(byKey(seen), byKey(want));
    assert.equal(decoder.stats.errors.exception, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ipt-netflow v9 datagram layout: header, template flowset, options for interface names, unpadded last flowset', () => {
  const node = new IptNetflowExporter({ direction: false, interfaces: ['lo', 'eth0', 'cni0'] });
  const flows = Array.from({ length: 3 }, (_, k) => flow(1, k, T0));
  const { payload, taken } = node.pack(flows, 0, T0);
  assert.equal(taken, 3);
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  assert.equal(dv.getUint16(0), 9);
  // 1 options template + 3 interface records + 1 template + 3 flows.
  assert.equal(dv.getUint16(2), 8);
  assert.equal(dv.getUint32(16), 0, 'source ID 0 without engine_id');
  // Options template (v9 set 1), 26 bytes: ipt-netflow does not pad template flowsets.
  assert.equal(dv.getUint16(20), 1);
  assert.equal(dv.getUint16(22), 26);
  assert.equal(dv.getUint16(24), 257);
  // Then the interface names: 3 records of 54 bytes (4 + 2 + 16 + 32), 166 bytes padded to 168
  // because another flowset follows.
  assert.equal(dv.getUint16(46), 257);
  assert.equal(dv.getUint16(48), 168);
  assert.equal(new TextDecoder().decode(payload.subarray(50 + 6, 50 + 8)), 'lo');
  // Template 256 (14 fields without DIRECTION), then its data: 3 records of 39 bytes, unpadded.
  const t = 46 + 168;
  assert.equal(dv.getUint16(t), 0);
  assert.equal(dv.getUint16(t + 4), 256);
  assert.equal(dv.getUint16(t + 6), 14);
  const d = t + dv.getUint16(t + 2);
  assert.equal(dv.getUint16(d), 256);
  assert.equal(dv.getUint16(d + 2), 4 + 3 * 39);
  assert.equal(d + 4 + 3 * 39, payload.length);

  // The decoder learns the interface names from the options records.
  const decoder = new Decoder(() => {});
  const exporter = { address: '10.1.0.1', port: 9999, key: '10.1.0.1|9999' };
  decoder.decode(payload, exporter, T0);
  assert.equal(decoder.interfaceName(exporter, 0, 3), 'cni0');
  assert.equal(decoder.stats.records.v9, 3);
});
