import type { Endpoint, EndpointKind } from '../../src/identify/endpoint.ts';
import { FlowRecord } from '../../src/decode/record.ts';

let nextId = 1;
/** Interned-looking endpoints for tests: each call is a new identity with a new id. */
export function ep(fields: Partial<Omit<Endpoint, 'id'>> & { app?: string }): Endpoint {
  const kind: EndpointKind = fields.kind ?? 'pod';
  const name = fields.name ?? fields.app ?? 'x';
  return Object.freeze({
    id: nextId++,
    kind,
    namespace: fields.namespace ?? 'default',
    name,
    app: fields.app ?? name,
    ownerKind: fields.ownerKind ?? '',
    ownerName: fields.ownerName ?? '',
    nodeName: fields.nodeName ?? '',
  });
}

export function rec(bytes: number, packets: number, fields: Partial<Pick<FlowRecord, 'proto' | 'srcPort' | 'dstPort'>> = {}): FlowRecord {
  const r = new FlowRecord();
  r.bytes = bytes;
  r.packets = packets;
  r.proto = fields.proto ?? 6;
  r.srcPort = fields.srcPort ?? 40000;
  r.dstPort = fields.dstPort ?? 80;
  return r;
}
