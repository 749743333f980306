/** Small builders for identity tests: slim objects and flow records. */
import { FlowRecord } from '../../src/decode/record.ts';
import type { SlimPod, SlimPort, SlimService } from '../../src/identify/inventory.ts';
import { parseAddress } from '../../src/identify/ip.ts';

export const T0 = Date.parse('2026-03-01T12:00:00Z');
export const MIN = 60_000;

export function pod(p: Partial<SlimPod> & { uid: string; ips: readonly string[] }): SlimPod {
  return {
    namespace: 'default',
    name: p.uid,
    nodeName: 'node-a',
    hostNetwork: false,
    phase: 'Running',
    startMs: T0,
    appLabel: '',
    ownerKind: '',
    ownerName: '',
    labels: {},
    ports: [] as SlimPort[],
    ...p,
  };
}

export function service(s: Partial<SlimService> & { uid: string; name: string }): SlimService {
  return { namespace: 'default', clusterIPs: [], ports: [], targetPorts: [], selector: {}, ...s };
}

/** A flow record from text addresses (both of one family). */
export function flow(src: string, srcPort: number, dst: string, dstPort: number, endMs: number, proto = 6): FlowRecord {
  const rec = new FlowRecord();
  const s = parseAddress(src);
  const d = parseAddress(dst);
  if (!s || !d) throw new Error(`bad address ${src} or ${dst}`);
  if (s.family === 4 && d.family === 4) {
    rec.family = 4;
    rec.src4 = s.v4;
    rec.dst4 = d.v4;
  } else if (s.family === 6 && d.family === 6) {
    rec.family = 6;
    rec.src6.set(s.v6);
    rec.dst6.set(d.v6);
  } else {
    throw new Error('mixed families');
  }
  rec.srcPort = srcPort;
  rec.dstPort = dstPort;
  rec.proto = proto;
  rec.endMs = endMs;
  rec.startMs = endMs;
  return rec;
}
