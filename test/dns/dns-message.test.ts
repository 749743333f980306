import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DnsMessageError, buildDnsResponse, parseDnsResponse } from '../../src/dns/dns-message.ts';
import { parseIPv4 } from '../../src/identify/ip.ts';

test('A and AAAA answers of the question name, lower-cased, with their TTLs', () => {
  const m = buildDnsResponse('API.Stripe.com', [
    { name: 'api.stripe.com', type: 'A', ttl: 300, data: '198.51.100.1' },
    { name: 'api.stripe.com', type: 'A', ttl: 120, data: '198.51.100.2' },
    { name: 'api.stripe.com', type: 'AAAA', ttl: 60, data: '2001:db8::1' },
  ]);
  const a = parseDnsResponse(m)!;
  assert.equal(a.qname, 'api.stripe.com');
  assert.deepEqual(
    a.addresses.map((x) => [x.family, x.family === 4 ? x.v4 : [...x.v6!].slice(0, 2), x.ttl]),
    [
      [4, parseIPv4('198.51.100.1'), 300],
      [4, parseIPv4('198.51.100.2'), 120],
      [6, [0x20, 0x01], 60],
    ],
  );
});

test('a CNAME chain: the addresses at its end belong to the question, with the shortest TTL along it', () => {
  const m = buildDnsResponse('www.shop.example', [
    { name: 'www.shop.example', type: 'CNAME', ttl: 60, data: 'shop.cdn.example' },
    { name: 'shop.cdn.example', type: 'CNAME', ttl: 3600, data: 'e1.edge.example' },
    { name: 'e1.edge.example', type: 'A', ttl: 20, data: '203.0.113.5' },
    { name: 'e1.edge.example', type: 'A', ttl: 600, data: '203.0.113.6' },
    // Not on the chain: ignored.
    { name: 'other.example', type: 'A', ttl: 600, data: '203.0.113.99' },
  ]);
  const a = parseDnsResponse(m)!;
  assert.equal(a.qname, 'www.shop.example');
  assert.deepEqual(
    a.addresses.map((x) => [x.v4, x.ttl]),
    [
      [parseIPv4('203.0.113.5'), 20],
      [parseIPv4('203.0.113.6'), 60],
    ],
  );
});

test('compression pointers are followed; loops and out-of-range pointers are malformed', () => {
  // The builder compresses owner names equal to the question to a pointer at offset 12.
  const m = buildDnsResponse('a.example', [{ name: 'a.example', type: 'A', ttl: 5, data: '192.0.2.1' }]);
  assert.equal(parseDnsResponse(m)!.addresses.length, 1);
  const loop = m.slice();
  // The answer's owner points at itself.
  const ptrAt = 12 + 11 + 4;
  loop[ptrAt] = 0xc0;
  loop[ptrAt + 1] = ptrAt;
  assert.throws(() => parseDnsResponse(loop), DnsMessageError);
  const far = m.slice();
  far[ptrAt + 1] = 250;
  assert.throws(() => parseDnsResponse(far), DnsMessageError);
});

test('queries, errors and empty answers teach nothing', () => {
  const m = buildDnsResponse('x.example', [{ name: 'x.example', type: 'A', ttl: 5, data: '192.0.2.1' }]);
  const q = m.slice();
  q[2] &= 0x7f;
  assert.equal(parseDnsResponse(q), null);
  const nx = m.slice();
  nx[3] = (nx[3] & 0xf0) | 3;
  assert.equal(parseDnsResponse(nx), null);
  assert.deepEqual(parseDnsResponse(buildDnsResponse('y.example', []))!.addresses, []);
});

test('fuzzed and truncated messages: a result or DnsMessageError, nothing else', () => {
  const good = buildDnsResponse('www.shop.example', [
    { name: 'www.shop.example', type: 'CNAME', ttl: 60, data: 'e.cdn.example' },
    { name: 'e.cdn.example', type: 'A', ttl: 20, data: '203.0.113.5' },
  ]);
  for (let n = 0; n < good.length; n++) {
    try {
      parseDnsResponse(good.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof DnsMessageError);
    }
  }
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (flips) => {
      const m = good.slice();
      for (const [i, v] of flips) m[i] = v;
      try {
        parseDnsResponse(m);
      } catch (e) {
        assert.ok(e instanceof DnsMessageError, String(e));
      }
    }),
    { numRuns: 3000 },
  );
});
