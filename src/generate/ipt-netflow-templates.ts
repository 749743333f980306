/**
 * ipt-netflow's flows and the templates it builds for them (ipt_NETFLOW.c): which template a flow
 * needs, the fields of each, and the sizes the packer plans with.
 */
import { IE, recordFields, SCOPE } from './fields.ts';
import type { FieldSpec, TemplateSpec } from './fields.ts';
import { recordLength } from './flowsets.ts';

export interface IptFlow {
  /** 4 (default) or 6. */
  family?: 4 | 6;
  /** IPv4 addresses as unsigned 32-bit integers. */
  src4?: number;
  dst4?: number;
  /** IPv6 addresses (16 bytes). */
  src6?: Uint8Array;
  dst6?: Uint8Array;
  srcPort: number;
  /** For ICMP: type * 256 + code. */
  dstPort: number;
  proto: number;
  tcpFlags?: number;
  tos?: number;
  packets: number;
  bytes: number;
  /** Absolute flow start and end, Unix epoch milliseconds. */
  startMs: number;
  endMs: number;
  inputIf?: number;
  outputIf?: number;
  /** 0 ingress, 1 egress (DIRECTION field). */
  direction?: number;
}

export type TemplateKind = 'ipv4' | 'ipv4-icmp' | 'ipv4-other' | 'ipv6' | 'ipv6-icmp' | 'ipv6-other' | 'ifnames';

/** How the module was built and what it sends: what its templates depend on. */
export interface IptBuild {
  /** 9 or 10 (v5 has no templates). */
  readonly protocol: 5 | 9 | 10;
  /** ENABLE_DIRECTION. */
  readonly direction: boolean;
  /** ENABLE_PHYSDEV. */
  readonly physdev: boolean;
}

/** A template as ipt-netflow builds it, with its place in the export state. */
export interface IptTemplate {
  readonly spec: TemplateSpec;
  readonly options: boolean;
  readonly ids: Int32Array;
  readonly lengths: Int32Array;
  readonly recSize: number;
  readonly tplSize: number;
  /** The packet count and time it was last sent at (0: never). */
  exportedCnt: number;
  exportedTs: number;
}

/** Which of ipt-netflow's templates a flow needs (TCP, UDP, SCTP and UDP-Lite carry ports). */
export function kindOf(f: IptFlow): TemplateKind {
  const six = f.family === 6;
  if (f.proto === 6 || f.proto === 17 || f.proto === 132 || f.proto === 136) return six ? 'ipv6' : 'ipv4';
  if (f.proto === 1 || f.proto === 58) return six ? 'ipv6-icmp' : 'ipv4-icmp';
  return six ? 'ipv6-other' : 'ipv4-other';
}

/** Template `id` of `kind`, not sent yet. */
export function iptTemplate(build: IptBuild, kind: TemplateKind, id: number): IptTemplate {
  const spec = templateSpec(build, kind, id);
  const all = recordFields(spec);
  const options = spec.scopeFields !== undefined;
  // v9 and IPFIX options template headers are both 10 bytes (scope/option lengths vs field/scope counts).
  const tplSize = (options ? 10 : 8) + all.length * 4;
  return {
    spec,
    options,
    ids: Int32Array.from(all.map((f) => f.id)),
    lengths: Int32Array.from(all.map((f) => f.length)),
    recSize: recordLength(spec) ?? 0,
    tplSize,
    exportedCnt: 0,
    exportedTs: 0,
  };
}

function templateSpec(build: IptBuild, kind: TemplateKind, id: number): TemplateSpec {
  const f = (fid: number, length: number): FieldSpec => ({ id: fid, length });
  const v9 = build.protocol === 9;
  if (kind === 'ifnames') {
    // v9 has no observationDomainId scope: ipt-netflow maps it to the System scope.
    return {
      id,
      scopeFields: [f(v9 ? SCOPE.SYSTEM : IE.OBSERVATION_DOMAIN_ID, 4)],
      fields: [f(IE.INPUT_SNMP, 2), f(IE.IF_NAME, 16), f(IE.IF_DESC, 32)],
    };
  }
  const fields: FieldSpec[] = [];
  const six = kind.startsWith('ipv6');
  if (six) fields.push(f(IE.IPV6_SRC_ADDR, 16), f(IE.IPV6_DST_ADDR, 16), f(IE.IPV6_NEXT_HOP, 16));
  else fields.push(f(IE.IPV4_SRC_ADDR, 4), f(IE.IPV4_DST_ADDR, 4), f(IE.IPV4_NEXT_HOP, 4));
  const icmp = kind.endsWith('icmp');
  if (icmp && !v9) fields.push(f(six ? IE.ICMP_TYPE_CODE_IPV6 : IE.ICMP_TYPE, 2));
  if (kind === 'ipv4' || kind === 'ipv6') fields.push(f(IE.L4_SRC_PORT, 2), f(IE.L4_DST_PORT, 2), f(IE.TCP_FLAGS, 1));
  else if (icmp && v9) fields.push(f(IE.L4_SRC_PORT, 2), f(IE.L4_DST_PORT, 2));
  fields.push(f(IE.INPUT_SNMP, 2), f(IE.OUTPUT_SNMP, 2));
  if (build.physdev) fields.push(f(IE.INGRESS_PHYSICAL_INTERFACE, 2), f(IE.EGRESS_PHYSICAL_INTERFACE, 2));
  fields.push(f(IE.IN_PKTS, 4), f(IE.IN_BYTES, 4));
  if (v9) fields.push(f(IE.FIRST_SWITCHED, 4), f(IE.LAST_SWITCHED, 4));
  else fields.push(f(IE.FLOW_START_MILLISECONDS, 8), f(IE.FLOW_END_MILLISECONDS, 8));
  fields.push(f(IE.PROTOCOL, 1), f(IE.TOS, 1));
  if (!v9) fields.push(f(IE.FLOW_END_REASON, 1));
  if (build.direction) fields.push(f(IE.DIRECTION, 1));
  return { id, fields };
}
