/**
 * Templates as the decoder keeps them, and the information element numbers it understands.
 * v9 (RFC 3954) and IPFIX (RFC 7011, IANA registry) share the numbers below 128 and most above.
 */
import type { FlowReader, ReadPlan } from './read-context.ts';

/** IANA / RFC 3954 information elements the decoder reads. */
export const IE = {
  octetDeltaCount: 1,
  packetDeltaCount: 2,
  protocolIdentifier: 4,
  tcpControlBits: 6,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  ingressInterface: 10,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  egressInterface: 14,
  flowEndSysUpTime: 21,
  flowStartSysUpTime: 22,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  icmpTypeCodeIPv4: 32,
  samplingInterval: 34,
  samplingAlgorithm: 35,
  samplerId: 48,
  samplerMode: 49,
  samplerRandomInterval: 50,
  interfaceName: 82,
  octetTotalCount: 85,
  packetTotalCount: 86,
  icmpTypeCodeIPv6: 139,
  flowStartSeconds: 150,
  flowEndSeconds: 151,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
  flowStartMicroseconds: 154,
  flowEndMicroseconds: 155,
  flowStartNanoseconds: 156,
  flowEndNanoseconds: 157,
  flowStartDeltaMicroseconds: 158,
  flowEndDeltaMicroseconds: 159,
  systemInitTimeMilliseconds: 160,
  /** Cisco NSEL (ASA) forward byte count: nfdump reads it as the input bytes. */
  initiatorOctets: 231,
  initiatorPackets: 298,
  selectorId: 302,
  samplingPacketInterval: 305,
  samplingPacketSpace: 306,
} as const;

/** RFC 5103 reverse information elements live under this private enterprise number. */
export const REVERSE_PEN = 29305;

/** v9 options scope field types (RFC 3954 section 6.1): a different number space from fields. */
export const V9_SCOPE_INTERFACE = 2;

/** IPFIX variable-length marker (RFC 7011 section 7). */
export const VARLEN = 65535;

export interface TemplateField {
  /** Information element (or v9 scope type when `scope` in a v9 options template). */
  readonly type: number;
  /** Bytes, or VARLEN (IPFIX, and v9 as Comware sends it). */
  readonly length: number;
  /** Private enterprise number; 0 for IANA elements. */
  readonly enterprise: number;
  readonly scope: boolean;
}

export interface Template {
  readonly version: 9 | 10;
  readonly id: number;
  readonly options: boolean;
  readonly fields: readonly TemplateField[];
  /** Sum of field lengths; -1 when a field has variable length. */
  readonly fixedLength: number;
  /** Fewest bytes a record can take (variable fields count their 1-byte length prefix). */
  readonly minLength: number;
  /** Same signature = same layout: compiled readers are shared between exporters by it. */
  readonly signature: string;
  lastSeenMs: number;
  /** Compiled flow reader (flow templates only), made on first use. */
  reader: FlowReader | undefined;
  /** Interpretation plan, for when the reader could not be compiled yet. */
  plan: ReadPlan | undefined;
}

export function templateSignature(version: number, options: boolean, fields: readonly TemplateField[]): string {
  let s = `${version}${options ? 'o' : 'd'}`;
  for (const f of fields) s += `,${f.scope ? 's' : ''}${f.enterprise ? `${f.enterprise}:` : ''}${f.type}/${f.length}`;
  return s;
}

/** Template layouts by signature, shared by every decoder of the thread (templates never change their fields). */
const layouts = new Map<string, { signature: string; fields: readonly TemplateField[] }>();
const MAX_SHARED_LAYOUTS = 4096;

/**
 * The one copy of a layout in this thread: exporters of one kind send the same layouts, so one
 * fields array and signature serve them all (50,000 exporters x 8 templates otherwise hold
 * 400,000 copies).
 */
export function sharedLayout(signature: string, fields: readonly TemplateField[]): { signature: string; fields: readonly TemplateField[] } {
  let layout = layouts.get(signature);
  if (layout === undefined) {
    if (layouts.size >= MAX_SHARED_LAYOUTS) layouts.clear();
    layout = { signature, fields };
    layouts.set(signature, layout);
  }
  return layout;
}

/**
 * RFC 7011 section 7's variable length. RFC 3954 has none, but H3C/HPE Comware NetStream v9
 * declares string fields with length 65535 and encodes them as IPFIX does (nfdump and logstash
 * decode them so); a fixed 65535-byte field could never fit a datagram anyway, so the marker
 * means the same in both versions.
 */
export function isVariable(f: TemplateField): boolean {
  return f.length === VARLEN;
}

export function layoutOf(fields: readonly TemplateField[]): { fixedLength: number; minLength: number } {
  let fixed = 0;
  let min = 0;
  let variable = false;
  for (const f of fields) {
    if (isVariable(f)) {
      variable = true;
      min += 1;
    } else {
      fixed += f.length;
      min += f.length;
    }
  }
  return { fixedLength: variable ? -1 : fixed, minLength: min };
}
