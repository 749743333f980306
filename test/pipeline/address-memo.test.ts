import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressMemo, type AddressFacts } from '../../src/pipeline/address-memo.ts';

const T = Date.UTC(2026, 10, 26, 12);
const at = (ms: number) => AddressMemo.time(ms);
const facts = (over: Partial<AddressFacts> = {}): AddressFacts => ({
  end: 7,
  ports: [],
  unknown: false,
  node: '',
  podNode: '',
  from: -Infinity,
  to: Infinity,
  ...over,
});

test('remembers what an address means, and only for its span', () => {
  const m = new AddressMemo();
  const ports = [(6 << 16) | 8080];
  m.remember(0x0a000001, facts({ end: 3, ports, node: 'n1', podNode: 'n1', from: T, to: T + 60_000 }));
  m.remember(0x0a000002, facts({ end: 4, unknown: true }));
  const a = m.find(0x0a000001, at(T + 1000));
  assert.ok(a >= 0);
  assert.equal(m.end(a), 3);
  assert.equal(m.ports(a), ports);
  assert.equal(m.unknown(a), false);
  assert.equal(m.node(a), m.nodeId('n1'));
  assert.equal(m.podNode(a), m.nodeId('n1'));
  assert.notEqual(m.nodeId('n1'), 0);
  assert.equal(m.nodeId(''), 0);
  const b = m.find(0x0a000002, at(0));
  assert.ok(b >= 0, 'a timeless answer holds at any time');
  assert.equal(m.end(b), 4);
  assert.equal(m.unknown(b), true);
  assert.deepEqual(m.ports(b), []);
  assert.equal(m.node(b), 0);
  assert.equal(m.find(0x0a000001, at(T - 1000)), -1, 'before the span');
  assert.equal(m.find(0x0a000001, at(T + 61_000)), -1, 'after the span');
  assert.equal(m.find(0x0a000003, at(T)), -1, 'never remembered');
  assert.equal(m.size, 2);
});

test('spans are rounded inwards to whole seconds, never outwards', () => {
  const m = new AddressMemo();
  const from = T + 400; // rounds up to T + 1000
  const to = T + 5600; // rounds down to T + 5000
  m.remember(1, facts({ from, to }));
  assert.equal(m.find(1, at(from)), -1, 'the rounded-off start is left to the identity index');
  assert.equal(m.find(1, at(T + 999)), -1);
  assert.ok(m.find(1, at(T + 1000)) >= 0);
  assert.ok(m.find(1, at(T + 5000)) >= 0);
  assert.equal(m.find(1, at(T + 5001)), -1);
  assert.equal(m.find(1, at(to)), -1, 'the rounded-off end is left to the identity index');
  // A span within one second rounds to nothing and is not kept.
  m.remember(2, facts({ from: T + 100, to: T + 900 }));
  m.remember(3, facts({ from: Infinity, to: -Infinity }));
  assert.equal(m.find(2, at(T + 500)), -1);
  assert.equal(m.size, 1);
});

test('a later answer for an address replaces the earlier one', () => {
  const m = new AddressMemo();
  m.remember(5, facts({ end: 1, from: T, to: T + 10_000 }));
  m.remember(5, facts({ end: 2, from: T + 20_000, to: Infinity }));
  assert.equal(m.size, 1);
  assert.equal(m.find(5, at(T + 5000)), -1);
  assert.equal(m.end(m.find(5, at(T + 30_000))), 2);
});

test('forget() empties it at once; node numbers stay', () => {
  const m = new AddressMemo();
  const n = m.nodeId('n1');
  for (let ip = 0; ip < 100; ip++) m.remember(ip, facts({ end: ip }));
  m.forget();
  assert.equal(m.size, 0);
  for (let ip = 0; ip < 100; ip++) assert.equal(m.find(ip, at(T)), -1);
  assert.equal(m.nodeId('n1'), n);
  m.remember(42, facts({ end: 9 }));
  assert.equal(m.end(m.find(42, at(T))), 9);
});

test('grows past its starting size and keeps every address, edge addresses included', () => {
  const m = new AddressMemo(4);
  // Consecutive addresses, addresses 2^16 apart (same low bits) and the two ends of the range.
  const ips = [0, 0xffffffff, 0x80000000, 0x7fffffff];
  for (let i = 0; i < 3000; i++) ips.push(0x0a000000 + i, 0xc0a80000 + (i << 16));
  ips.forEach((ip, i) => m.remember(ip, facts({ end: i, node: `n${i % 50}` })));
  assert.equal(m.size, ips.length);
  ips.forEach((ip, i) => {
    const s = m.find(ip, at(T));
    assert.ok(s >= 0, `address ${ip >>> 0} found`);
    assert.equal(m.end(s), i);
    assert.equal(m.node(s), m.nodeId(`n${i % 50}`));
  });
});

test('the starting size must be a power of two', () => {
  assert.throws(() => new AddressMemo(1000), /power of two/);
});

test('forgetAddress() forgets one address and leaves the rest', () => {
  const m = new AddressMemo();
  for (let ip = 1; ip <= 50; ip++) m.remember(ip, facts({ end: ip }));
  m.forgetAddress(7);
  m.forgetAddress(999); // never remembered: nothing happens
  assert.equal(m.find(7, at(T)), -1);
  for (let ip = 1; ip <= 50; ip++) if (ip !== 7) assert.equal(m.end(m.find(ip, at(T))), ip);
  m.remember(7, facts({ end: 70 }));
  assert.equal(m.end(m.find(7, at(T))), 70, 'remembered again in its old slot');
  assert.equal(m.size, 50);
});

test('with too many node names numbered it keeps nothing more until forget()', () => {
  const m = new AddressMemo();
  for (let i = 0; m.remember(i, facts({ node: `n${i}` })); i++) assert.ok(i < 70_000, 'it stops somewhere');
  assert.equal(m.remember(1 << 20, facts()), false);
  m.forget();
  assert.equal(m.remember(1 << 20, facts({ node: 'x' })), true);
  assert.equal(m.node(m.find(1 << 20, at(T))), 1, 'the numbering started over');
});

test('growth moves the old slots a few per remember(), and every address stays found meanwhile', () => {
  const m = new AddressMemo(1024);
  const ips: number[] = [];
  // Half the slots fill it; the next address grows it to 2,048 slots.
  for (let i = 0; i < 512; i++) ips.push(0xc0a80000 + i * 7919);
  ips.forEach((ip, i) => m.remember(ip, facts({ end: i })));
  assert.equal(m.growing, 0, 'not grown yet');
  ips.push(0x0a000001);
  m.remember(0x0a000001, facts({ end: 512 }));
  // Counted, not timed: the remember() that grew it looked at 16 old slots at most.
  assert.ok(m.growing >= 1024 - 16, `${1024 - m.growing} old slots looked at in the growing call`);
  let calls = 0;
  while (m.growing > 0) {
    const before = m.growing;
    const ip = 0x0b000000 + calls;
    ips.push(ip);
    m.remember(ip, facts({ end: ips.length - 1 }));
    assert.ok(before - m.growing <= 16, 'at most 16 old slots per remember()');
    calls++;
    // Every address, moved or not yet, is found with its facts (a find moves the one it finds).
    if (calls % 16 === 1) ips.forEach((a, i) => assert.equal(m.end(m.find(a, at(T))), i, `address ${a >>> 0}`));
  }
  assert.ok(calls <= 64, `${calls} remember() calls to finish the move`);
  assert.equal(m.size, ips.length);
  ips.forEach((a, i) => assert.equal(m.end(m.find(a, at(T))), i));
});

test('while it grows, an address remembered again, forgotten or found counts once', () => {
  const m = new AddressMemo(64);
  for (let i = 0; i < 33; i++) m.remember(1000 + i, facts({ end: i }));
  assert.ok(m.growing > 0);
  m.remember(1005, facts({ end: 50 })); // an old entry written anew
  m.forgetAddress(1006);
  assert.ok(m.find(1007, at(T)) >= 0);
  assert.equal(m.size, 33);
  assert.equal(m.end(m.find(1005, at(T))), 50);
  assert.equal(m.find(1006, at(T)), -1);
  let added = 0;
  for (; m.growing > 0; added++) m.remember(2000 + added, facts({ end: 100 + added }));
  assert.ok(added > 0 && added <= 4, `${added} more remember() calls finished the move`);
  assert.equal(m.size, 33 + added);
  assert.equal(m.end(m.find(1005, at(T))), 50);
  assert.equal(m.find(1006, at(T)), -1);
  for (let i = 0; i < 33; i++) if (i !== 5 && i !== 6) assert.equal(m.end(m.find(1000 + i, at(T))), i);
  m.forget();
  assert.equal(m.size, 0);
  assert.equal(m.growing, 0);
});
