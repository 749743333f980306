/**
 * A small batch of ipt-netflow flows for tests that send real datagrams: `n` TCP clients at
 * consecutive addresses from 10.244.0.1, each to one server at 10.244.1.1:8080, ended a second ago.
 */
import type { IptFlow } from '../../src/generate/ipt-netflow.ts';

export function fanInFlows(n: number, now = Date.now()): IptFlow[] {
  return Array.from({ length: n }, (_, i) => ({
    src4: 0x0af40001 + i,
    dst4: 0x0af40101,
    srcPort: 40000 + i,
    dstPort: 8080,
    proto: 6,
    packets: 2,
    bytes: 300 + i,
    startMs: now - 2000,
    endMs: now - 1000,
  }));
}
