import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureError, DAT_EXPORTER, newCaptureStats, readCapture } from '../../src/ingest/capture.ts';
import type { CapturePacket } from '../../src/ingest/capture.ts';
import { pcapBytes } from '../../src/generate/pcap-writer.ts';

const TESTDATA = new URL('../../../shared/testdata/netflow/', import.meta.url).pathname;
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const SOFTFLOWD_V9 = join(TESTDATA, 'generated/softflowd-v9-basic.pcap');

interface Copy {
  tsMs: number;
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
  payload: Buffer;
}

function readAll(path: string, stats = newCaptureStats()): Copy[] {
  const out: Copy[] = [];
  for (const p of readCapture(path, stats)) out.push({ ...p, payload: Buffer.from(p.payload) });
  return out;
}

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'nfk-capture-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The softflowd v9 datagram: 1152 bytes of UDP payload (tshark: udp.length 1160), sent from
// 127.0.0.1:46159 at epoch 1795673753.689924 s.
const softflowdPayload = (): Buffer => readFileSync(SOFTFLOWD_V9).subarray(24 + 16 + 14 + 20 + 8);

test('classic pcap, Ethernet, microseconds: the datagram, its exporter and its time', () => {
  const stats = newCaptureStats();
  const pk = readAll(SOFTFLOWD_V9, stats);
  assert.equal(pk.length, 1);
  assert.equal(pk[0].srcAddr, '127.0.0.1');
  assert.equal(pk[0].srcPort, 46159);
  assert.equal(pk[0].dstPort, 2055);
  assert.equal(pk[0].payload.length, 1152);
  assert.equal(pk[0].payload.readUInt16BE(0), 9);
  assert.equal(pk[0].tsMs, 1795673753689);
  assert.deepEqual(stats, { ...newCaptureStats(), frames: 1, datagrams: 1 });
});

test('pcapng and nanosecond pcap written by editcap read the same as the original', () => {
  const want = softflowdPayload();
  for (const f of ['ethernet.pcapng', 'ethernet-ns.pcap']) {
    const pk = readAll(join(FIXTURES, f));
    assert.equal(pk.length, 1, f);
    assert.equal(pk[0].srcAddr, '127.0.0.1', f);
    assert.equal(pk[0].srcPort, 46159, f);
    assert.equal(pk[0].tsMs, 1795673753689, f);
    assert.deepEqual(pk[0].payload, want, f);
  }
});

test('Linux cooked captures (SLL in pcap, SLL2 in pcapng with ns timestamps) from dumpcap: IPv4, IPv6, TCP skipped', () => {
  const want = softflowdPayload();
  const cases: Array<[string, number]> = [
    ['sll-v4-v6.pcap', 1795677534053], // tshark frame.time_epoch 1795677534.053229
    ['sll2-v4-v6.pcapng', 1795677531769], // 1795677531.769192381
  ];
  for (const [f, firstTs] of cases) {
    const stats = newCaptureStats();
    const pk = readAll(join(FIXTURES, f), stats);
    assert.equal(pk.length, 2, f);
    assert.equal(pk[0].srcAddr, '127.0.0.1', f);
    assert.equal(pk[1].srcAddr, '::1', f);
    assert.equal(pk[0].dstPort, 39517, f);
    assert.equal(pk[0].tsMs, firstTs, f);
    assert.ok(pk[1].tsMs >= pk[0].tsMs, f);
    for (const p of pk) assert.deepEqual(p.payload, want, f);
    assert.equal(stats.frames, 4, f);
    assert.equal(stats.nonUdp, 2, f);
  }
});

test('big-endian pcap: the same file with every header byte-swapped', () => {
  const src = readFileSync(SOFTFLOWD_V9);
  const be = Buffer.from(src);
  for (const o of [0, 8, 12, 16, 20]) be.writeUInt32BE(src.readUInt32LE(o), o);
  for (const o of [4, 6]) be.writeUInt16BE(src.readUInt16LE(o), o);
  for (let o = 24; o < src.length; ) {
    const incl = src.readUInt32LE(o + 8);
    for (let k = 0; k < 16; k += 4) be.writeUInt32BE(src.readUInt32LE(o + k), o + k);
    o += 16 + incl;
  }
  withTmp((dir) => {
    const f = join(dir, 'be.pcap');
    writeFileSync(f, be);
    const pk = readAll(f);
    assert.equal(pk.length, 1);
    assert.equal(pk[0].tsMs, 1795673753689);
    assert.deepEqual(pk[0].payload, softflowdPayload());
  });
});

test('two pcapng sections with different link types in one file', () => {
  withTmp((dir) => {
    const f = join(dir, 'two.pcapng');
    writeFileSync(f, Buffer.concat([readFileSync(join(FIXTURES, 'ethernet.pcapng')), readFileSync(join(FIXTURES, 'sll2-v4-v6.pcapng'))]));
    const pk = readAll(f);
    assert.deepEqual(
      pk.map((p) => p.srcAddr),
      ['127.0.0.1', '127.0.0.1', '::1'],
    );
    assert.deepEqual(
      pk.map((p) => p.srcPort),
      [46159, pk[1].srcPort, pk[2].srcPort],
    );
  });
});

const PAYLOAD = Uint8Array.from([0, 9, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

test('raw IP, BSD loopback and VLAN-tagged Ethernet, IPv4 and IPv6', () => {
  const packets = [
    { tsMs: 1_700_000_000_123, srcAddr: '10.1.2.3', srcPort: 4000, dstAddr: '10.9.9.9', dstPort: 2055, payload: PAYLOAD },
    { tsMs: 1_700_000_001_456, srcAddr: 'fd00::1:2', srcPort: 4001, dstAddr: 'fd00::9', dstPort: 4739, payload: PAYLOAD },
    { tsMs: 1_700_000_002_789, srcAddr: '::ffff:192.0.2.7', srcPort: 4002, payload: PAYLOAD },
  ];
  withTmp((dir) => {
    for (const [name, opts] of [
      ['raw', { linkType: 101 }],
      ['null', { linkType: 0 }],
      ['vlan', { vlan: 42 }],
    ] as const) {
      const f = join(dir, `${name}.pcap`);
      writeFileSync(f, pcapBytes(packets, opts));
      const pk = readAll(f);
      assert.deepEqual(
        pk.map((p) => [p.tsMs, p.srcAddr, p.srcPort, p.dstPort]),
        [
          [1_700_000_000_123, '10.1.2.3', 4000, 2055],
          [1_700_000_001_456, 'fd00::1:2', 4001, 4739],
          // An IPv4-mapped source is unwrapped, as the UDP socket reports it.
          [1_700_000_002_789, '192.0.2.7', 4002, 2055],
        ],
        name,
      );
      for (const p of pk) assert.deepEqual(new Uint8Array(p.payload), PAYLOAD, name);
    }
  });
});

/** A raw-IP pcap of hand-made IP packets. */
function rawPcap(ipPackets: Uint8Array[]): Buffer {
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(101, 20);
  const parts: Buffer[] = [gh];
  for (const ip of ipPackets) {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(ip.length, 8);
    rh.writeUInt32LE(ip.length, 12);
    parts.push(rh, Buffer.from(ip));
  }
  return Buffer.concat(parts);
}

function ipv4(proto: number, flagsFrag: number, body: Uint8Array): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + body.length, 2);
  h.writeUInt16BE(flagsFrag, 6);
  h[8] = 64;
  h[9] = proto;
  h.set([10, 0, 0, 1], 12);
  h.set([10, 0, 0, 2], 16);
  return Buffer.concat([h, body]);
}

function udp(payload: Uint8Array, udpLen = 8 + payload.length): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(5000, 0);
  h.writeUInt16BE(2055, 2);
  h.writeUInt16BE(udpLen, 4);
  return Buffer.concat([h, payload]);
}

function ipv6(next: number, body: Uint8Array): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(body.length, 4);
  h[6] = next;
  h[7] = 64;
  h[8] = 0xfd;
  h[23] = 1;
  h[24] = 0xfd;
  h[39] = 2;
  return Buffer.concat([h, body]);
}

test('IP fragments: the first is read (its payload is what arrived), later ones are skipped and counted; non-UDP counted', () => {
  const first = ipv4(17, 0x2000, udp(PAYLOAD, 8 + 3000)); // MF set, offset 0: a 3000-byte datagram's head
  const later = ipv4(17, 0x2000 | 185, PAYLOAD); // offset 1480
  const tcp = ipv4(6, 0, Buffer.alloc(20));
  const whole = ipv4(17, 0x4000, udp(PAYLOAD)); // DF only
  // IPv6: hop-by-hop options, then a first fragment header, then UDP; and a later fragment.
  const hbh = Buffer.from([44, 0, 1, 4, 0, 0, 0, 0]);
  const frag0 = Buffer.from([17, 0, 0, 1, 0, 0, 0, 7]);
  const frag1 = Buffer.from([17, 0, 0x05, 0xc8, 0, 0, 0, 7]);
  const v6first = ipv6(0, Buffer.concat([hbh, frag0, udp(PAYLOAD)]));
  const v6later = ipv6(44, Buffer.concat([frag1, PAYLOAD]));
  const esp = ipv6(50, Buffer.alloc(16));
  withTmp((dir) => {
    const f = join(dir, 'frag.pcap');
    writeFileSync(f, rawPcap([first, later, tcp, whole, v6first, v6later, esp]));
    const stats = newCaptureStats();
    const pk = readAll(f, stats);
    assert.equal(pk.length, 3);
    assert.deepEqual(new Uint8Array(pk[0].payload), PAYLOAD);
    assert.deepEqual(new Uint8Array(pk[1].payload), PAYLOAD);
    assert.equal(pk[2].srcAddr, 'fd00::1');
    assert.equal(pk[2].dstAddr, 'fd00::2');
    assert.deepEqual(new Uint8Array(pk[2].payload), PAYLOAD);
    assert.equal(stats.fragments, 2);
    assert.equal(stats.firstFragments, 2);
    assert.equal(stats.nonUdp, 2);
    assert.equal(stats.frames, 7);
  });
});

test('Ethernet padding after a short datagram is not part of the payload', () => {
  withTmp((dir) => {
    const f = join(dir, 'pad.pcap');
    const frame = Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0]), ipv4(17, 0, udp(Uint8Array.of(0, 5))), Buffer.alloc(16)]);
    const gh = rawPcap([]);
    gh.writeUInt32LE(1, 20);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(frame.length, 8);
    rh.writeUInt32LE(frame.length, 12);
    writeFileSync(f, Buffer.concat([gh, rh, frame]));
    const pk = readAll(f);
    assert.deepEqual([...pk[0].payload], [0, 5]);
  });
});

test('.dat: one datagram from the fixed pretend exporter', () => {
  const f = join(TESTDATA, 'logstash-codec-netflow/ipfix.dat');
  const pk = readAll(f);
  assert.equal(pk.length, 1);
  assert.equal(pk[0].srcAddr, DAT_EXPORTER.address);
  assert.equal(pk[0].srcPort, DAT_EXPORTER.port);
  assert.deepEqual(pk[0].payload, readFileSync(f));
});

test('large captures stream across read chunks without losing or mangling a packet', () => {
  withTmp((dir) => {
    const f = join(dir, 'big.pcap');
    const n = 3000;
    const packets = Array.from({ length: n }, (_, i) => {
      const payload = new Uint8Array(1400).fill(i & 255);
      payload[0] = i >> 8;
      payload[1] = i & 255;
      return { tsMs: 1_700_000_000_000 + i, srcAddr: `10.0.${i >> 8}.${i & 255}`, srcPort: 1000 + (i % 50000), payload };
    });
    writeFileSync(f, pcapBytes(packets));
    let i = 0;
    for (const p of readCapture(f)) {
      assert.equal((p.payload[0] << 8) | p.payload[1], i);
      assert.equal(p.payload[1399], i & 255);
      assert.equal(p.payload.length, 1400);
      assert.equal(p.srcAddr, `10.0.${i >> 8}.${i & 255}`);
      assert.equal(p.tsMs, 1_700_000_000_000 + i);
      i++;
    }
    assert.equal(i, n);
  });
});

test('a capture cut short ends after the last whole packet and counts the cut one', () => {
  withTmp((dir) => {
    const f = join(dir, 'cut.pcap');
    const whole = pcapBytes([1, 2, 3].map((i) => ({ tsMs: i, srcAddr: '10.0.0.1', srcPort: i, payload: PAYLOAD })));
    writeFileSync(f, whole.subarray(0, whole.length - 5));
    const stats = newCaptureStats();
    const pk = readAll(f, stats);
    assert.deepEqual(
      pk.map((p) => p.srcPort),
      [1, 2],
    );
    assert.equal(stats.truncated, 1);
  });
});

test('files that cannot be read or are not captures: a CaptureError naming the file', () => {
  withTmp((dir) => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello, this is not a capture at all\n');
    const empty = join(dir, 'empty.dat');
    writeFileSync(empty, '');
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const badLink = join(dir, 'link.pcap');
    const b = rawPcap([]);
    b.writeUInt32LE(147, 20); // a user link type
    writeFileSync(badLink, b);
    const shortPcap = join(dir, 'short.pcap');
    writeFileSync(shortPcap, rawPcap([]).subarray(0, 10));
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'missing.pcap'), /missing\.pcap: cannot read/],
      [text, /notes\.txt: not a capture/],
      [empty, /empty\.dat: empty/],
      [sub, /sub: cannot read/],
      [badLink, /link\.pcap: unsupported link type 147/],
      [shortPcap, /short\.pcap: truncated pcap header/],
    ];
    for (const [f, re] of cases) {
      assert.throws(
        () => readAll(f),
        (err: unknown) => err instanceof CaptureError && re.test(err.message) && err.file === f,
        f,
      );
    }
  });
});

test('the yielded packet is reused: consumers copy what they keep', () => {
  const seen: CapturePacket[] = [];
  for (const p of readCapture(join(FIXTURES, 'sll2-v4-v6.pcapng'))) seen.push(p);
  assert.equal(seen.length, 2);
  assert.equal(seen[0], seen[1]);
});

test('mutated captures never throw anything but CaptureError, and always end', async () => {
  const fc = await import('fast-check');
  const sources = ['sll2-v4-v6.pcapng', 'ethernet.pcapng', 'sll-v4-v6.pcap', 'ethernet-ns.pcap'].map((f) =>
    readFileSync(join(FIXTURES, f)),
  );
  withTmp((dir) => {
    const f = join(dir, 'mutant.pcapng');
    fc.assert(
      fc.property(
        fc.nat(sources.length - 1),
        fc.array(fc.tuple(fc.nat(4095), fc.nat(255)), { minLength: 1, maxLength: 12 }),
        fc.nat(4096),
        (which, flips, cut) => {
          const b = Buffer.from(sources[which]);
          for (const [at, v] of flips) b[at % b.length] = v;
          writeFileSync(f, b.subarray(0, Math.max(1, b.length - (cut % 64 === 0 ? cut % b.length : 0))));
          const stats = newCaptureStats();
          try {
            let n = 0;
            for (const p of readCapture(f, stats)) {
              assert.ok(p.payload.length <= 65535);
              n++;
            }
            assert.ok(n <= stats.frames);
          } catch (err) {
            if (!(err instanceof CaptureError)) throw err;
          }
        },
      ),
      { numRuns: 400, seed: 42 },
    );
  });
});

/** One pcapng block, little-endian, body padded to 4 bytes. */
function block(type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const h = Buffer.alloc(8);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(12 + padded.length, 4);
  const t = Buffer.alloc(4);
  t.writeUInt32LE(12 + padded.length, 0);
  return Buffer.concat([h, padded, t]);
}

function option(code: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(code, 0);
  h.writeUInt16LE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

test('pcapng: binary timestamp resolution, if_tsoffset, Simple Packet Blocks, unknown blocks skipped', () => {
  const shb = block(0x0a0d0d0a, Buffer.from([0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  const idbBody = (link: number, opts: Buffer[]): Buffer => {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(link, 0);
    h.writeUInt32LE(0, 4);
    return Buffer.concat([h, ...opts, option(0, Buffer.alloc(0))]);
  };
  const offset = Buffer.alloc(8);
  offset.writeBigUInt64LE(1_700_000_000n);
  // Interface 0: raw IP, 2^-10 s units, offset 1.7e9 s. Interface 1: Ethernet, default µs.
  const idb0 = block(1, idbBody(101, [option(9, Buffer.from([0x80 | 10])), option(14, offset)]));
  const idb1 = block(1, idbBody(1, []));
  const ip = ipv4(17, 0, udp(PAYLOAD));
  const epb = (iface: number, ts: bigint, frame: Buffer): Buffer => {
    const h = Buffer.alloc(20);
    h.writeUInt32LE(iface, 0);
    h.writeUInt32LE(Number(ts >> 32n), 4);
    h.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    h.writeUInt32LE(frame.length, 12);
    h.writeUInt32LE(frame.length, 16);
    return block(6, Buffer.concat([h, frame]));
  };
  const eth = Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00]), ip]);
  const spbLen = Buffer.alloc(4);
  spbLen.writeUInt32LE(ip.length, 0);
  const custom = block(0x40000bad, Buffer.from('ignored'));
  withTmp((dir) => {
    const f = join(dir, 'hand.pcapng');
    writeFileSync(
      f,
      Buffer.concat([
        shb,
        idb0,
        idb1,
        epb(0, 1536n, ip),
        custom,
        epb(1, 1_700_000_000_250_000n, eth),
        block(3, Buffer.concat([spbLen, ip])),
      ]),
    );
    const pk = readAll(f);
    // 1536 / 1024 s = 1.5 s after the offset; the SPB has no time of its own.
    assert.deepEqual(
      pk.map((p) => p.tsMs),
      [1_700_000_001_500, 1_700_000_000_250, 0],
    );
    for (const p of pk) assert.deepEqual(new Uint8Array(p.payload), PAYLOAD);
  });
});
