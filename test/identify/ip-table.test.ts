import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { V4Table, V6Table } from '../../src/identify/ip-table.ts';
import { ipv6ToString } from '../../src/decode/record.ts';
import { parseAddress, parseIPv4, parseIPv6 } from '../../src/identify/ip.ts';

test('V4Table behaves like a Map under random sets and deletes (backward-shift deletion, growth, shrink)', () => {
  // A small key space forces collisions, long probe chains and repeated deletes.
  const op = fc.record({
    del: fc.boolean(),
    key: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(0xffffffff, 0x80000000, 0x7fffffff)),
    val: fc.integer(),
  });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 2000 }), (ops) => {
      const t = new V4Table<number>();
      const m = new Map<number, number>();
      for (const o of ops) {
        if (o.del) assert.equal(t.delete(o.key), m.delete(o.key));
        else {
          t.set(o.key, o.val);
          m.set(o.key, o.val);
        }
      }
      assert.equal(t.size, m.size);
      for (let k = 0; k <= 300; k++) assert.equal(t.get(k), m.get(k));
      for (const k of [0xffffffff, 0x80000000, 0x7fffffff]) assert.equal(t.get(k), m.get(k));
      assert.deepEqual(new Map(t.entries()), m);
    }),
    { numRuns: 200 },
  );
});

test('V6Table behaves like a Map keyed by the 16 bytes', () => {
  const key = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
    b[0] = b[0] & 3;
    b.fill(0, 1, 14);
    return b;
  });
  fc.assert(
    fc.property(fc.array(fc.record({ del: fc.boolean(), key, val: fc.integer() }), { maxLength: 1000 }), (ops) => {
      const t = new V6Table<number>();
      const m = new Map<string, number>();
      for (const o of ops) {
        const k = ipv6ToString(o.key);
        if (o.del) assert.equal(t.delete(o.key), m.delete(k));
        else {
          t.set(o.key, o.val);
          m.set(k, o.val);
        }
      }
      assert.equal(t.size, m.size);
      for (const o of ops) assert.equal(t.get(o.key), m.get(ipv6ToString(o.key)));
    }),
    { numRuns: 200 },
  );
});

test('address parsing', () => {
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIPv4('10.0.0.1'), 0x0a000001);
  assert.equal(parseIPv4('10.0.0.256'), -1);
  assert.equal(parseIPv4('fd00::1'), -1);
  assert.deepEqual([...parseIPv6('2001:db8::1')!], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...parseIPv6('::')!], new Array(16).fill(0));
  assert.deepEqual([...parseIPv6('fe80::1%eth0')!].slice(0, 2), [0xfe, 0x80]);
  assert.deepEqual([...parseIPv6('64:ff9b::192.0.2.33')!].slice(12), [192, 0, 2, 33]);
  assert.equal(parseIPv6('1.2.3.4'), undefined);
  assert.deepEqual(parseAddress('::ffff:10.1.2.3'), { family: 4, v4: 0x0a010203 });
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      const text = ipv6ToString(b);
      const back = parseAddress(text);
      if (back?.family === 4) assert.equal(text.startsWith('::ffff:'), true);
      else assert.deepEqual(back?.v6, b);
    }),
  );
});
