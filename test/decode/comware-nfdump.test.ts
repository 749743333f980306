/**
 * The Comware capture through nfdump itself: Debian's nfcapd receives its datagrams over loopback
 * UDP (each exporter port kept), nfdump sums what it stored, and our decoder must give the same
 * flows, packets and bytes. This checks the numbers comware.test.ts pins against the reference
 * decoder rather than against our own generator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../src/ingest/capture.ts';
import { collecting, exporter, totals } from './util.ts';

const FIXTURE = new URL('./fixtures/comware-netstream-v9.pcap', import.meta.url).pathname;
const available =
  spawnSync('nfcapd', ['-V'], { stdio: 'ignore' }).error === undefined &&
  spawnSync('nfdump', ['-V'], { stdio: 'ignore' }).error === undefined;
const skip = available ? false : 'nfdump is not installed (scripts/setup-debian.sh installs it)';

/** A free UDP port (bound and released; nfcapd takes it a moment later). */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('comware: nfdump 1.7 and our decoder give the same flows, packets and bytes', { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'comware-nfcapd-'));
  const port = await freePort();
  const nfcapd = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-t', '3600'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  nfcapd.stdout.on('data', (d) => (log += d));
  nfcapd.stderr.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => nfcapd.on('exit', () => r()));
  const sockets = new Map<number, Socket>();
  t.after(() => {
    for (const s of sockets.values()) s.close();
    nfcapd.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise((r) => setTimeout(r, 1200));
  // Copied as read: the reader reuses its packet object and buffer.
  const packets = Array.from(readCapture(FIXTURE), (p) => ({ port: p.srcPort, payload: p.payload.slice(), tsMs: p.tsMs }));
  for (const p of packets) {
    // One socket per exporter source port, so nfcapd sees the restart as we do.
    let s = sockets.get(p.port);
    if (!s) {
      s = createSocket('udp4');
      await new Promise<void>((r) => s!.bind(0, '127.0.0.1', () => r()));
      sockets.set(p.port, s);
    }
    await new Promise<void>((resolve, reject) => s!.send(p.payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, 700));
  nfcapd.kill('SIGTERM');
  await exited;
  const out = spawnSync('nfdump', ['-N', '-q', '-R', dir, '-o', 'fmt:%fl %pkt %byt'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const nfdump = { flows: 0, packets: 0, bytes: 0 };
  for (const line of out.stdout.trim().split('\n')) {
    const [fl, pkt, byt] = line.trim().split(/\s+/).map(Number);
    if (!Number.isFinite(fl)) continue;
    nfdump.flows += fl;
    nfdump.packets += pkt;
    nfdump.bytes += byt;
  }
  const ours = collecting();
  for (const p of packets) ours.dec.decode(p.payload, exporter('192.0.2.77', p.port), p.tsMs);
  assert.ok(nfdump.flows > 0, `nfdump decoded nothing: ${out.stdout} ${out.stderr}; nfcapd: ${log}`);
  assert.deepEqual(totals(ours.recs), nfdump);
});
