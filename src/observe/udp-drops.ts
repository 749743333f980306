/**
 * Kernel UDP receive-buffer drops: the loss the collector cannot see from inside. Per socket from
 * /proc/net/udp{,6} (the `drops` column of every socket bound to our port), and host-wide (per
 * network namespace) from /proc/net/snmp{,6} RcvbufErrors / InErrors. Linux only; elsewhere the
 * readers return undefined and the metrics stay absent.
 */
import { readFileSync } from 'node:fs';

export interface SocketDrops {
  /** Sockets found bound to the port. */
  sockets: number;
  /** Sum of their drop counters. */
  drops: number;
  /** Sum of the bytes waiting in their receive queues right now. */
  rxQueue: number;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The whitespace-split rows of one /proc/net/udp or udp6 table whose local port is `port`. */
export function procUdpRows(text: string, port: number): string[][] {
  const rows: string[][] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].trim().split(/\s+/);
    // sl, local, remote, st, queues, tr, retrnsmt, uid, timeout, inode: the inode is the 10th.
    if (f.length < 10) continue;
    const local = f[1];
    const colon = local.lastIndexOf(':');
    if (colon >= 0 && parseInt(local.slice(colon + 1), 16) === port) rows.push(f);
  }
  return rows;
}

/** Parse one /proc/net/udp or udp6 table for sockets whose local port is `port`. */
export function parseProcNetUdp(text: string, port: number, into: SocketDrops = { sockets: 0, drops: 0, rxQueue: 0 }): SocketDrops {
  for (const f of procUdpRows(text, port)) {
    // The drops column is the last of 13.
    if (f.length < 13) continue;
    const queues = f[4].split(':');
    into.sockets++;
    into.rxQueue += parseInt(queues[1] ?? '0', 16) || 0;
    into.drops += Number(f[f.length - 1]) || 0;
  }
  return into;
}

/** Drops of every socket (IPv4 and IPv6 tables) bound to `port`. */
export function socketDrops(port: number, procNet = '/proc/net'): SocketDrops | undefined {
  const v4 = readText(`${procNet}/udp`);
  const v6 = readText(`${procNet}/udp6`);
  if (v4 === undefined && v6 === undefined) return undefined;
  const out: SocketDrops = { sockets: 0, drops: 0, rxQueue: 0 };
  if (v4 !== undefined) parseProcNetUdp(v4, port, out);
  if (v6 !== undefined) parseProcNetUdp(v6, port, out);
  return out;
}

export interface SnmpUdp {
  rcvbufErrors: number;
  inErrors: number;
  inDatagrams: number;
}

/** Host-wide (network namespace) UDP counters, IPv4 plus IPv6. */
export function snmpUdp(procNet = '/proc/net'): SnmpUdp | undefined {
  const snmp = readText(`${procNet}/snmp`);
  if (snmp === undefined) return undefined;
  const out: SnmpUdp = { rcvbufErrors: 0, inErrors: 0, inDatagrams: 0 };
  const udp = snmp.split('\n').filter((l) => l.startsWith('Udp: '));
  if (udp.length >= 2) {
    const names = udp[0].split(/\s+/).slice(1);
    const vals = udp[1].split(/\s+/).slice(1).map(Number);
    const get = (n: string) => vals[names.indexOf(n)] ?? 0;
    out.rcvbufErrors += get('RcvbufErrors');
    out.inErrors += get('InErrors');
    out.inDatagrams += get('InDatagrams');
  }
  const snmp6 = readText(`${procNet}/snmp6`);
  if (snmp6 !== undefined) {
    for (const line of snmp6.split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k === 'Udp6RcvbufErrors') out.rcvbufErrors += Number(v) || 0;
      else if (k === 'Udp6InErrors') out.inErrors += Number(v) || 0;
      else if (k === 'Udp6InDatagrams') out.inDatagrams += Number(v) || 0;
    }
  }
  return out;
}
