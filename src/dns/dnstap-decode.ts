/**
 * The dnstap protobuf payload of one Frame Streams data frame, decoded with protobufjs. The schema
 * is the part of dnstap.proto (github.com/dnstap/dnstap.pb) a name learner reads, plus what
 * encodeDnstap writes; protobuf skips the fields left out without decoding them, so they cost
 * nothing per message and newer writers with more fields still decode.
 */
import protobuf from 'protobufjs/light.js';

export const MESSAGE_TYPES = [
  '',
  'AUTH_QUERY',
  'AUTH_RESPONSE',
  'RESOLVER_QUERY',
  'RESOLVER_RESPONSE',
  'CLIENT_QUERY',
  'CLIENT_RESPONSE',
  'FORWARDER_QUERY',
  'FORWARDER_RESPONSE',
  'STUB_QUERY',
  'STUB_RESPONSE',
  'TOOL_QUERY',
  'TOOL_RESPONSE',
  'UPDATE_QUERY',
  'UPDATE_RESPONSE',
] as const;
export const CLIENT_RESPONSE = 6;
export const RESOLVER_RESPONSE = 4;
export const FORWARDER_RESPONSE = 8;

const root = protobuf.Root.fromJSON({
  nested: {
    dnstap: {
      nested: {
        Dnstap: {
          fields: {
            identity: { type: 'bytes', id: 1 },
            type: { type: 'uint32', id: 15 },
            message: { type: 'Message', id: 14 },
          },
        },
        Message: {
          fields: {
            type: { type: 'uint32', id: 1 },
            socketFamily: { type: 'uint32', id: 2 },
            socketProtocol: { type: 'uint32', id: 3 },
            queryAddress: { type: 'bytes', id: 4 },
            queryTimeSec: { type: 'uint64', id: 8 },
            queryTimeNsec: { type: 'fixed32', id: 9 },
            responseTimeSec: { type: 'uint64', id: 12 },
            responseTimeNsec: { type: 'fixed32', id: 13 },
            responseMessage: { type: 'bytes', id: 14 },
          },
        },
      },
    },
  },
});
const DnstapType = root.lookupType('dnstap.Dnstap');

/** What a name learner needs from one dnstap message. */
export interface DnstapMessage {
  /** dnstap Message.Type (CLIENT_RESPONSE = 6, ...); 0 when the payload carries no message. */
  readonly type: number;
  /** The client (query_address): 4 or 16 bytes, or null. */
  readonly queryAddress: Uint8Array | null;
  /** Response time, else query time, in ms since the epoch; 0 when neither is there. */
  readonly timeMs: number;
  readonly responseMessage: Uint8Array | null;
}

interface Decoded {
  message?: {
    type?: number;
    queryAddress?: Uint8Array;
    queryTimeSec?: number | { toNumber(): number };
    queryTimeNsec?: number;
    responseTimeSec?: number | { toNumber(): number };
    responseTimeNsec?: number;
    responseMessage?: Uint8Array;
  };
}

const num = (v: number | { toNumber(): number } | undefined): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

/** Throws on a payload that is not protobuf. */
export function decodeDnstap(frame: Uint8Array): DnstapMessage {
  const d = DnstapType.decode(frame) as unknown as Decoded;
  const m = d.message;
  if (m === undefined) return { type: 0, queryAddress: null, timeMs: 0, responseMessage: null };
  const rs = num(m.responseTimeSec);
  const qs = num(m.queryTimeSec);
  const timeMs =
    rs > 0 ? rs * 1000 + Math.floor((m.responseTimeNsec ?? 0) / 1e6) : qs > 0 ? qs * 1000 + Math.floor((m.queryTimeNsec ?? 0) / 1e6) : 0;
  const qa = m.queryAddress;
  return {
    type: m.type ?? 0,
    queryAddress: qa !== undefined && (qa.length === 4 || qa.length === 16) ? qa : null,
    timeMs,
    responseMessage: m.responseMessage !== undefined && m.responseMessage.length > 0 ? m.responseMessage : null,
  };
}

/** A dnstap payload (tests, the demo's own stream). */
export function encodeDnstap(msg: {
  type: number;
  queryAddress?: Uint8Array;
  timeMs: number;
  responseMessage?: Uint8Array;
  identity?: string;
}): Uint8Array {
  const sec = Math.floor(msg.timeMs / 1000);
  const payload = {
    identity: msg.identity === undefined ? undefined : new TextEncoder().encode(msg.identity),
    type: 1,
    message: {
      type: msg.type,
      socketFamily: msg.queryAddress?.length === 16 ? 2 : 1,
      socketProtocol: 1,
      queryAddress: msg.queryAddress,
      queryTimeSec: sec,
      queryTimeNsec: (msg.timeMs - sec * 1000) * 1e6,
      responseTimeSec: sec,
      responseTimeNsec: (msg.timeMs - sec * 1000) * 1e6,
      responseMessage: msg.responseMessage,
    },
  };
  return DnstapType.encode(DnstapType.fromObject(payload)).finish();
}
