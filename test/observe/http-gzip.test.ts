/**
 * gzip of response bodies: a large body is deflated in pieces side by side, and what goes out is
 * still one gzip member holding one deflate stream, byte for byte the body, whatever its size,
 * lines or characters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { gzipBody } from '../../src/observe/http-gzip.ts';

function page(bytes: number, seed: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  let x = seed;
  while (n < bytes) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const l = `netflow_connection_bytes{dsthost="api-${x % 977}",dstnamespace="shop",srchost="web-${x % 131}",srcnamespace="é"} ${x}\n`;
    lines.push(l);
    n += Buffer.byteLength(l);
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

for (const [name, body] of [
  ['empty', Buffer.alloc(0)],
  ['small', page(300, 1)],
  ['just under one piece', page((1 << 20) - 1, 2)],
  ['two pieces and a bit', page(2 * (1 << 20) + 7, 3)],
  ['the /metrics size, four pieces', page(8_400_000, 4)],
  ['one long line (no newline to cut at)', Buffer.alloc(3 << 20, 0x61)],
] as const) {
  test(`gzip: ${name}`, async () => {
    const gz = await gzipBody(body);
    assert.deepEqual(gunzipSync(gz), body);
    // One member: a 10-byte header, one deflate stream, the CRC and size of the whole body.
    assert.deepEqual([...gz.subarray(0, 3)], [0x1f, 0x8b, 8]);
    assert.deepEqual(inflateRawSync(gz.subarray(10, gz.length - 8)), body);
    assert.equal(gz.readUInt32LE(gz.length - 8), crc32(body) >>> 0);
    assert.equal(gz.readUInt32LE(gz.length - 4), body.length);
  });
}

test('pieces compress nearly as well as the whole', async () => {
  const body = page(8_400_000, 5);
  const whole = (await gzipBody(body.subarray(0, (1 << 20) - 1))).length / ((1 << 20) - 1);
  const pieces = (await gzipBody(body)).length / body.length;
  assert.ok(pieces < whole * 1.02, `ratio ${pieces.toFixed(4)} in pieces against ${whole.toFixed(4)} whole`);
});
