import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteWriter } from '../../src/observe/byte-writer.ts';
import { formatNumber } from '../../src/observe/metrics.ts';

test('sample values are written exactly as formatNumber writes them, digits in place or not', () => {
  const w = new ByteWriter(8);
  const special = [
    0,
    1,
    9,
    10,
    99,
    100,
    2 ** 31,
    2 ** 32 + 1,
    Number.MAX_SAFE_INTEGER,
    2 ** 53,
    1e21,
    -1,
    -0,
    0.5,
    1e-7,
    NaN,
    Infinity,
    -Infinity,
  ];
  fc.assert(
    fc.property(fc.oneof(fc.constantFrom(...special), fc.nat(), fc.maxSafeNat(), fc.double()), (v) => {
      w.reset();
      w.sampleValue(v);
      assert.equal(w.toString(), formatNumber(v));
    }),
    { numRuns: 5000 },
  );
});

test('a writer grows past its first capacity and keeps what was written; reset keeps the capacity', () => {
  const w = new ByteWriter(4);
  w.text('héllo ');
  w.bytes(Buffer.from('wörld'));
  w.byte(0x21);
  w.sampleValue(1234567890123);
  assert.equal(w.toString(), 'héllo wörld!1234567890123');
  assert.equal(w.view().length, Buffer.byteLength('héllo wörld!1234567890123'));
  const cap = w.capacity;
  w.reset();
  w.text('x');
  assert.equal(w.toString(), 'x');
  assert.equal(w.capacity, cap);
});

test('again copies what this page already holds, growing the buffer if need be; ascii writes one byte a character', () => {
  const w = new ByteWriter(8);
  w.ascii('ab{x="1"} ');
  const end = w.length;
  for (let i = 0; i < 5; i++) w.again(2, end);
  w.text('é');
  w.again(0, 2);
  assert.equal(w.toString(), `ab${'{x="1"} '.repeat(6)}éab`);
  assert.ok(w.capacity >= w.length);
});

test('a writer kept for the next page holds at most a quarter more than its largest page', () => {
  const w = new ByteWriter();
  const line = Buffer.from(`netflow_connection_bytes{dsthost="postgres",srchost="checkout-7"} 1234567890\n`);
  for (let i = 0; i < 120_000; i++) w.bytes(line);
  assert.equal(w.length, 120_000 * line.length);
  // Doubling from 64 KiB kept 16 MiB for this 9 MiB page.
  assert.ok(w.capacity <= 1.25 * w.length + line.length, `${w.capacity} bytes for a page of ${w.length}`);
});
