/**
 * Hostile NetFlow v9 / IPFIX input for the bounded-state tests and bench: what issue 12 measured
 * taking a collector from 115 MiB to gigabytes. Every datagram is well formed; only its intent is bad.
 */
import { encodeV9 } from './netflow-v9.ts';
import { encodeIpfix } from './ipfix.ts';
import type { FlowSet } from './flowsets.ts';
import type { TemplateSpec } from './fields.ts';

const v9 = (sourceId: number, sets: FlowSet[]): Uint8Array =>
  encodeV9({ sysUptimeMs: 1, unixSecs: 1_700_000_000, sequence: 0, sourceId }, sets);
const ipfix = (domain: number, sets: FlowSet[]): Uint8Array =>
  encodeIpfix({ exportTimeSecs: 1_700_000_000, sequence: 0, observationDomainId: domain }, sets);

/**
 * Template flood: datagram `n` holds `perDatagram` distinct two-field templates (IDs 256 + ...)
 * of a domain that changes every 4,096 templates, alternately v9 and IPFIX.
 */
export function templateFlood(n: number, perDatagram = 110): Uint8Array {
  const templates: TemplateSpec[] = [];
  const first = n * perDatagram;
  const domain = Math.floor(first / 4096);
  for (let i = 0; i < perDatagram; i++) {
    const k = (first + i) % 4096;
    templates.push({
      id: 256 + k,
      fields: [
        { id: 1 + (k % 100), length: 4 },
        { id: 2, length: 1 + (k % 8) },
      ],
    });
  }
  return n % 2 === 0 ? v9(domain, [{ kind: 'templates', templates }]) : ipfix(domain, [{ kind: 'templates', templates }]);
}

/** Huge template: one IPFIX template of `fields` one-byte fields (16,368 fill a 64 KiB datagram). */
export function hugeTemplate(n: number, fields = 16_368): Uint8Array {
  const spec: TemplateSpec = {
    id: 256 + (n % 65_000),
    fields: Array.from({ length: fields }, (_, i) => ({ id: 1 + (i % 300), length: 1 })),
  };
  return ipfix(n, [{ kind: 'templates', templates: [spec] }]);
}

/** Held-data flood: a datagram of `sets` tiny data sets (1-byte bodies) for templates that never come. */
export function heldFlood(n: number, sets = 280): Uint8Array {
  return v9(
    n,
    Array.from({ length: sets }, (_, i) => ({ kind: 'raw' as const, id: 256 + ((n * sets + i) % 65_000), body: Uint8Array.of(i & 255) })),
  );
}
