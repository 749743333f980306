/** The ipt-netflow stream generator: its ground truth matches what the real decoder reads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder } from '../../src/decode/decoder.ts';
import type { Exporter } from '../../src/decode/record.ts';
import { iptNetflowStream, podAddress } from '../../src/generate/ipt-netflow-stream.ts';
import type { IptFlow } from '../../src/generate/ipt-netflow.ts';
import type { IptDatagram } from '../../src/generate/ipt-netflow-stream.ts';

function templateSets(payload: Uint8Array): number {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const header = dv.getUint16(0) === 9 ? 20 : 16;
  let n = 0;
  for (let p = header; p + 4 <= payload.length; ) {
    const id = dv.getUint16(p);
    if (id === 0 || id === 2) n++;
    const len = dv.getUint16(p + 2);
    if (len < 4) break;
    p += len;
  }
  return n;
}

for (const protocol of [9, 10, 5] as const) {
  test(`v${protocol} stream: decoded records, bytes and packets equal the generator's ground truth, per exporter`, () => {
    const exporters = new Map<string, Exporter>();
    const got = new Map<string, [number, number, number]>();
    const want = new Map<string, [number, number, number]>();
    let minAddr = Infinity;
    let maxAddr = 0;
    const decoder = new Decoder((r) => {
      const t = got.get(r.exporter.address) ?? [0, 0, 0];
      t[0]++;
      t[1] += r.bytes;
      t[2] += r.packets;
      got.set(r.exporter.address, t);
      minAddr = Math.min(minAddr, r.src4, r.dst4);
      maxAddr = Math.max(maxAddr, r.src4, r.dst4);
      assert.equal(r.sourceId, 0);
    });
    const datagrams: IptDatagram[] = [];
    for (const d of iptNetflowStream({
      protocol,
      exporters: 3,
      count: 90,
      recordsPerDatagram: 34,
      addresses: 500,
      startMs: 1_790_000_000_000,
      seed: 7,
    })) {
      datagrams.push(d);
      let e = exporters.get(d.exporter);
      if (!e) {
        e = { address: d.exporter, port: 2055, key: `${d.exporter}|2055` };
        exporters.set(d.exporter, e);
      }
      decoder.decode(d.payload, e, d.nowMs);
      const w = want.get(d.exporter) ?? [0, 0, 0];
      w[0] += d.records;
      w[1] += d.bytes;
      w[2] += d.packets;
      want.set(d.exporter, w);
    }
    assert.deepEqual([...exporters.keys()], ['10.1.0.1', '10.1.0.2', '10.1.0.3']);
    assert.deepEqual(got, want);
    assert.equal(decoder.stats.templateMisses, 0);
    assert.ok(minAddr >= podAddress(0) && maxAddr <= podAddress(499), 'addresses stay within the asked count');
    if (protocol === 5) {
      assert.ok(
        datagrams.every((d) => d.records === 30),
        'v5 carries at most 30 records',
      );
    } else {
      // v9: 34 records of 40 bytes fit in ipt-netflow's 1400 bytes except where templates share the
      // packet, which then carries fewer. IPFIX records are 49 bytes: at most 28 fit.
      const most = protocol === 9 ? 34 : 28;
      assert.ok(datagrams.every((d) => d.records <= most && d.records >= most - 8));
      assert.ok(datagrams.filter((d) => d.records === most).length > 60);
      assert.ok(datagrams.every((d) => d.payload.length <= (protocol === 9 ? 20 : 16) + 1400));
      // Each node resends its templates once more than 20 packets went out: at its packets 0, 21 (of 30).
      const perNode = datagrams.filter((d) => d.exporterIndex === 0).map((d) => templateSets(d.payload) > 0);
      assert.deepEqual(
        perNode.flatMap((has, i) => (has ? [i] : [])),
        [0, 21],
      );
    }
  });
}

test('the stream is reproducible from its seed and different across seeds', () => {
  const take = (seed: number) =>
    [...iptNetflowStream({ count: 5, seed, startMs: 1_790_000_000_000 })].map((d) => Buffer.from(d.payload).toString('hex'));
  assert.deepEqual(take(3), take(3));
  assert.notDeepEqual(take(3), take(4));
});

test('mixed flows (IPv4 TCP, ICMP, other protocols, IPv6 UDP) get their own templates and decode back, v9 and IPFIX', async () => {
  const { IptNetflowExporter } = await import('../../src/generate/ipt-netflow.ts');
  const { ipv6Bytes } = await import('../../src/generate/fields.ts');
  const { srcAddrString, dstAddrString } = await import('../../src/decode/record.ts');
  const now = 1_790_000_000_000;
  const base = { packets: 3, bytes: 300, startMs: now - 5000, endMs: now - 2000, inputIf: 1, outputIf: 2 };
  const flows: IptFlow[] = [
    { ...base, src4: podAddress(1), dst4: podAddress(2), srcPort: 40000, dstPort: 80, proto: 6, tcpFlags: 0x1b },
    { ...base, src4: podAddress(1), dst4: podAddress(3), srcPort: 0, dstPort: 8 * 256, proto: 1 },
    { ...base, src4: podAddress(4), dst4: podAddress(5), srcPort: 0, dstPort: 0, proto: 47 },
    { ...base, family: 6, src6: ipv6Bytes('fd00::a'), dst6: ipv6Bytes('fd00::b'), srcPort: 5353, dstPort: 53, proto: 17 },
    { ...base, src4: podAddress(6), dst4: podAddress(7), srcPort: 40001, dstPort: 443, proto: 6, tcpFlags: 0x10 },
  ];
  for (const protocol of [9, 10] as const) {
    const node = new IptNetflowExporter({ protocol });
    const { payload, taken } = node.pack(flows, 0, now);
    assert.equal(taken, flows.length);
    assert.deepEqual(
      node.templateSpecs.map((t) => t.id),
      [256, 257, 258, 259, 260],
    );
    const got: string[] = [];
    const d = new Decoder((r) => {
      got.push(
        [
          srcAddrString(r),
          dstAddrString(r),
          r.srcPort,
          r.dstPort,
          r.proto,
          r.packets,
          r.bytes,
          r.startMs,
          r.endMs,
          r.inputIf,
          r.outputIf,
        ].join(' '),
      );
    });
    d.decode(payload, { address: '10.1.0.1', port: 2055, key: '10.1.0.1|2055' }, now);
    assert.equal(d.stats.templateMisses, 0, `v${protocol}`);
    const text = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
    assert.deepEqual(
      got,
      flows.map((f) =>
        [
          f.family === 6 ? 'fd00::a' : text(f.src4!),
          f.family === 6 ? 'fd00::b' : text(f.dst4!),
          f.srcPort,
          f.dstPort,
          f.proto,
          3,
          300,
          now - 5000,
          now - 2000,
          1,
          2,
        ].join(' '),
      ),
      `v${protocol}`,
    );
  }
});

test('v9 and v5 flow times stay between boot and the packet: never 49 days off after the uint32 wrap', async () => {
  const { IptNetflowExporter } = await import('../../src/generate/ipt-netflow.ts');
  const now = 1_790_000_000_000;
  for (const protocol of [9, 5] as const) {
    const node = new IptNetflowExporter({ protocol, bootMs: now - 10_000 });
    // One flow "from the future", one from before the node booted.
    const flows: IptFlow[] = [
      {
        src4: podAddress(1),
        dst4: podAddress(2),
        srcPort: 1,
        dstPort: 2,
        proto: 6,
        packets: 1,
        bytes: 40,
        startMs: now - 500,
        endMs: now + 700,
      },
      {
        src4: podAddress(1),
        dst4: podAddress(2),
        srcPort: 3,
        dstPort: 4,
        proto: 6,
        packets: 1,
        bytes: 40,
        startMs: now - 60_000,
        endMs: now - 100,
      },
    ];
    const times: number[] = [];
    const d = new Decoder((r) => {
      times.push(r.startMs, r.endMs);
    });
    d.decode(node.pack(flows, 0, now).payload, { address: '10.1.0.1', port: 1, key: '10.1.0.1|1' }, now);
    assert.deepEqual(times, [now - 500, now, now - 10_000, now - 100], `v${protocol}`);
  }
});

test('addressOf and icmpShare: the addresses asked for, some ICMP echo; without them a seed gives the same stream', () => {
  const records = (opts: { addressOf?: (k: number) => number; icmpShare?: number }) => {
    const out: { src: number; dst: number; proto: number; dstPort: number }[] = [];
    const decoder = new Decoder((r) => out.push({ src: r.src4, dst: r.dst4, proto: r.proto, dstPort: r.dstPort }));
    const exporter: Exporter = { address: '10.1.0.1', port: 2055, key: '10.1.0.1|2055' };
    for (const d of iptNetflowStream({ count: 20, addresses: 100, startMs: 1_790_000_000_000, seed: 3, ...opts }))
      decoder.decode(d.payload, exporter, d.nowMs);
    return out;
  };
  const plain = records({});
  assert.deepEqual(records({ addressOf: podAddress, icmpShare: 0 }), plain, 'the defaults, given, change nothing');
  assert.ok(plain.every((r) => r.proto === 6 || r.proto === 17));
  const mixed = records({ addressOf: (k) => (0xc0a80000 + k) >>> 0, icmpShare: 0.2 });
  assert.ok(mixed.every((r) => r.src >= 0xc0a80000 && r.src < 0xc0a80000 + 100 && r.dst >= 0xc0a80000 && r.dst < 0xc0a80000 + 100));
  const icmp = mixed.filter((r) => r.proto === 1);
  assert.ok(icmp.length > 0.1 * mixed.length && icmp.length < 0.3 * mixed.length, `${icmp.length} of ${mixed.length}`);
  assert.ok(
    icmp.every((r) => r.dstPort === 8 << 8),
    'echo request: type 8 code 0',
  );
});
