import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnDatabase } from '../../src/identify/asn.ts';
import { IdentityIndex, UNKNOWN_ENDPOINT } from '../../src/identify/identity-index.ts';
import { NamedNetworks, NetworksError, addNetworkList, networksFromOption } from '../../src/identify/networks.ts';
import { parseIPv4, parseIPv6 } from '../../src/identify/ip.ts';
import { T0, flow, pod } from './helpers.ts';

// The shared test data sits beside the work tree, as for the decode tests.
const MMDB = new URL('../../../shared/testdata/mmdb/GeoLite2-ASN-Test.mmdb', import.meta.url).pathname;

test('named CIDRs: the narrowest match wins, v4 and v6', () => {
  const nets = new NamedNetworks();
  addNetworkList(nets, [
    'corp=10.0.0.0/8',
    'lab=10.1.0.0/16',
    'rack=10.1.2.0/24',
    'host=10.1.2.3',
    'everything=0.0.0.0/0',
    'v6corp=2001:db8::/32',
    'v6lab=2001:db8:1::/48',
  ]);
  assert.equal(nets.lookup4(parseIPv4('10.1.2.3')), 'host');
  assert.equal(nets.lookup4(parseIPv4('10.1.2.4')), 'rack');
  assert.equal(nets.lookup4(parseIPv4('10.1.9.9')), 'lab');
  assert.equal(nets.lookup4(parseIPv4('10.200.0.1')), 'corp');
  assert.equal(nets.lookup4(parseIPv4('8.8.8.8')), 'everything');
  assert.equal(nets.lookup6(parseIPv6('2001:db8:1::5')!), 'v6lab');
  assert.equal(nets.lookup6(parseIPv6('2001:db8:2::5')!), 'v6corp');
  assert.equal(nets.lookup6(parseIPv6('2001:db9::1')!), undefined);
  // Order of declaration does not matter.
  const rev = new NamedNetworks();
  addNetworkList(rev, ['rack=10.1.2.0/24', 'corp=10.0.0.0/8']);
  assert.equal(rev.lookup4(parseIPv4('10.1.2.200')), 'rack');
  // A host part in the CIDR is masked off.
  addNetworkList(rev, ['odd=192.168.7.77/24']);
  assert.equal(rev.lookup4(parseIPv4('192.168.7.1')), 'odd');
});

test('named CIDRs: bad entries are clear errors; files in YAML and JSON', () => {
  assert.throws(() => networksFromOption('office'), NetworksError);
  assert.throws(() => networksFromOption('office=10.0.0.0/33'), /prefix length/);
  assert.throws(() => networksFromOption('office=not-an-ip/8'), /not a CIDR/);
  assert.throws(() => networksFromOption('=10.0.0.0/8'), /needs a name/);
  const dir = mkdtempSync(join(tmpdir(), 'nets-'));
  try {
    const yaml = join(dir, 'nets.yaml');
    writeFileSync(yaml, 'office: 192.0.2.0/24\ncloud:\n  - 203.0.113.0/24\n  - 2001:db8::/32\n');
    const json = join(dir, 'nets.json');
    writeFileSync(
      json,
      JSON.stringify({
        networks: [
          { name: 'vpn', cidr: '198.51.100.0/24' },
          { name: 'dc', cidrs: ['100.64.0.0/10'] },
        ],
      }),
    );
    const nets = networksFromOption(`${yaml},${json},extra=172.16.0.0/12`);
    assert.equal(nets.size, 6);
    assert.equal(nets.lookup4(parseIPv4('192.0.2.7')), 'office');
    assert.equal(nets.lookup6(parseIPv6('2001:db8::1')!), 'cloud');
    assert.equal(nets.lookup4(parseIPv4('198.51.100.1')), 'vpn');
    assert.equal(nets.lookup4(parseIPv4('100.100.0.1')), 'dc');
    assert.equal(nets.lookup4(parseIPv4('172.20.0.1')), 'extra');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'office: [1, 2]\n');
    assert.throws(
      () => networksFromOption(bad),
      (e: Error) => e.message.includes(bad),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ASN names from the GeoLite2-ASN test database', () => {
  const db = AsnDatabase.open(MMDB);
  assert.equal(db.lookup('1.0.0.1'), 'AS15169 Google Inc.');
  assert.equal(db.lookup('1.128.0.1'), 'AS1221 Telstra Pty Ltd');
  assert.equal(db.lookup('12.81.96.1'), 'AS7018');
  assert.equal(db.lookup('10.0.0.1'), undefined);
  assert.throws(() => AsnDatabase.open('/nonexistent/asn.mmdb'), /asn-db \/nonexistent\/asn\.mmdb/);
});

test('external ends: inventory first, then named CIDR, then ASN, else unknown; answers cached', () => {
  const idx = new IdentityIndex({
    networks: networksFromOption('google-dns=1.0.0.0/28,pods=10.244.0.0/16'),
    asn: AsnDatabase.open(MMDB),
    externalCacheSize: 4,
  });
  idx.upsertPod(pod({ uid: 'p', name: 'web', ips: ['10.244.0.5'], appLabel: 'web' }));
  const t = T0 + 1000;
  assert.equal(idx.lookup('10.244.0.5', { t }).app, 'web');
  const named = idx.lookup('10.244.0.6', { t });
  assert.deepEqual([named.kind, named.namespace, named.app, named.name], ['external', 'external', 'pods', 'pods']);
  assert.equal(idx.lookup('1.0.0.1').app, 'google-dns', 'a named CIDR beats the ASN');
  const asn = idx.lookup('1.0.0.200');
  assert.deepEqual([asn.kind, asn.namespace, asn.app], ['external', 'external', 'AS15169 Google Inc.']);
  assert.equal(idx.lookup('12.81.96.77').app, 'AS7018');
  assert.equal(idx.lookup('192.0.2.1'), UNKNOWN_ENDPOINT);
  // The same object from the cache, and the cache stays within its bound.
  const r = flow('1.0.0.200', 443, '10.244.0.5', 40000, t);
  assert.equal(idx.resolveSrc(r), asn);
  assert.equal(idx.resolveSrc(r), asn);
  for (let i = 0; i < 50; i++) idx.lookup(`198.51.100.${i}`);
  assert.ok(idx.stats.externalCached <= 8, `cache bounded, got ${idx.stats.externalCached}`);
  // IPv6 through the ASN database too (2001:1700::/27 is AS6730 in the test data).
  assert.equal(idx.lookup('2001:1700::1').app, 'AS6730 Sunrise Communications AG');
  const r6 = flow('2001:1700::1', 443, 'fd00::1', 40000, t);
  assert.equal(idx.resolveSrc(r6), idx.lookup('2001:1700::1'));
  assert.equal(idx.lookup('2001:db8::1'), UNKNOWN_ENDPOINT);
});
