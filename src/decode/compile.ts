/**
 * Per-template compiled readers: for each flow template layout we generate one JavaScript
 * function (the way fast-json-stringify does) that walks a data set, reads each field at a
 * constant offset straight into the reused FlowRecord and calls the sink. V8 then sees
 * monomorphic code with constant offsets, which is what makes ~20 M records/s possible; a
 * generic per-field loop with a switch runs several times slower.
 *
 * Only integers taken from the template (offsets, lengths, field numbers) are ever written into
 * the generated source, so hostile templates cannot inject code.
 */
import type { FlowReader, Role } from './read-context.ts';
import { IE, REVERSE_PEN, isVariable, layoutOf, type TemplateField } from './template.ts';

/** A field's role and its priority (lower wins when several fields map to one role). */
function roleOf(f: TemplateField): [Role, number] | undefined {
  if (f.scope) return undefined;
  if (f.enterprise === REVERSE_PEN) {
    switch (f.type) {
      case IE.octetDeltaCount:
        return ['RB', 0];
      case IE.octetTotalCount:
        return ['RB', 1];
      case IE.packetDeltaCount:
        return ['RP', 0];
      case IE.packetTotalCount:
        return ['RP', 1];
    }
    return undefined;
  }
  if (f.enterprise !== 0) return undefined;
  const len = f.length;
  switch (f.type) {
    case IE.octetDeltaCount:
      return ['B', 0];
    case IE.octetTotalCount:
      return ['B', 1];
    case IE.initiatorOctets:
      return ['B', 2];
    case IE.packetDeltaCount:
      return ['P', 0];
    case IE.packetTotalCount:
      return ['P', 1];
    case IE.initiatorPackets:
      return ['P', 2];
    case IE.sourceIPv4Address:
      return len === 4 ? ['S4', 0] : undefined;
    case IE.destinationIPv4Address:
      return len === 4 ? ['D4', 0] : undefined;
    case IE.sourceIPv6Address:
      return len === 16 ? ['S6', 0] : undefined;
    case IE.destinationIPv6Address:
      return len === 16 ? ['D6', 0] : undefined;
    case IE.sourceTransportPort:
      return ['SP', 0];
    case IE.destinationTransportPort:
      return ['DP', 0];
    case IE.protocolIdentifier:
      return ['PR', 0];
    case IE.tcpControlBits:
      return ['FL', 0];
    case IE.ingressInterface:
      return ['II', 0];
    case IE.egressInterface:
      return ['OI', 0];
    case IE.icmpTypeCodeIPv4:
      return ['IC', 0];
    case IE.icmpTypeCodeIPv6:
      return ['IC', 1];
    case IE.samplerId:
      return ['SID', 0];
    case IE.systemInitTimeMilliseconds:
      return ['INIT', 0];
    case IE.flowStartSysUpTime:
      return ['SU', 0];
    case IE.flowEndSysUpTime:
      return ['EU', 0];
    case IE.flowStartSeconds:
      return ['SS', 0];
    case IE.flowEndSeconds:
      return ['ES', 0];
    case IE.flowStartMilliseconds:
      return ['SM', 0];
    case IE.flowEndMilliseconds:
      return ['EM', 0];
    case IE.flowStartMicroseconds:
    case IE.flowStartNanoseconds:
      return len === 8 ? ['SN', 0] : undefined;
    case IE.flowEndMicroseconds:
    case IE.flowEndNanoseconds:
      return len === 8 ? ['EN', 0] : undefined;
    case IE.flowStartDeltaMicroseconds:
      return ['SD', 0];
    case IE.flowEndDeltaMicroseconds:
      return ['ED', 0];
  }
  return undefined;
}

/** Big-endian unsigned read of `len` bytes at `off` (a JS expression). Exact up to 2^53. */
function readNum(off: string, len: number): string {
  switch (len) {
    case 0:
      return '0';
    case 1:
      return `u[${off}]`;
    case 2:
      return `v.getUint16(${off})`;
    case 3:
      return `((u[${off}] << 16) | (u[${off} + 1] << 8) | u[${off} + 2])`;
    case 4:
      return `v.getUint32(${off})`;
  }
  // Longer counters (8-byte octetDeltaCount): hi * 2^32 + lo. Beyond 8 bytes keep the low 8.
  if (len > 8) return readNum(`${off} + ${len - 8}`, 8);
  return `(${readNum(off, len - 4)} * 4294967296 + v.getUint32(${off} + ${len - 4}))`;
}

/** NTP 64-bit timestamp (IPFIX dateTimeMicroseconds / Nanoseconds) to Unix milliseconds. */
function readNtpMs(off: string): string {
  return `((v.getUint32(${off}) - 2208988800) * 1000 + Math.round(v.getUint32(${off} + 4) / 4294967.296))`;
}

const LOCAL_ROLES: readonly Role[] = [
  'B',
  'P',
  'RB',
  'RP',
  'SID',
  'INIT',
  'IC',
  'SU',
  'EU',
  'SS',
  'ES',
  'SM',
  'EM',
  'SN',
  'EN',
  'SD',
  'ED',
];

/**
 * Which field gives each role: per role the field with the best priority (first one on ties).
 * Variable-length fields never take a role. Shared by the compiled and the interpreted reader.
 */
export function chooseRoles(fields: readonly TemplateField[]): Map<number, Role> {
  const chosen = new Map<Role, { index: number; prio: number }>();
  fields.forEach((f, index) => {
    if (isVariable(f)) return;
    const rp = roleOf(f);
    if (!rp) return;
    const [role, prio] = rp;
    const cur = chosen.get(role);
    if (!cur || prio < cur.prio) chosen.set(role, { index, prio });
  });
  const roleAt = new Map<number, Role>();
  for (const [role, { index }] of chosen) roleAt.set(index, role);
  return roleAt;
}

/** Generates the reader source for a flow template. Exported for tests and debugging. */
export function readerSource(version: 9 | 10, fields: readonly TemplateField[]): string {
  const roleAt = chooseRoles(fields);
  const chosen = new Set(roleAt.values());
  const has = (r: Role): boolean => chosen.has(r);

  const { fixedLength: fixedLen, minLength: minLen } = layoutOf(fields);
  const variable = fixedLen < 0;

  // Body: reads, segment by segment (a segment ends at a variable-length field).
  let k = 0;
  let segLines: string[] = [];
  const segments: { lines: string[]; bytes: number }[] = [];
  const flushSegment = (bytes: number): void => {
    segments.push({ lines: segLines, bytes });
    segLines = [];
  };
  fields.forEach((f, index) => {
    if (isVariable(f)) {
      // k fixed bytes precede the 1-byte length prefix in this segment.
      segLines.push(`L = u[q + ${k}]; q += ${k + 1};`);
      segLines.push(`if (L === 255) { if (q + 2 > end) { c.truncated = true; break; } L = (u[q] << 8) | u[q + 1]; q += 2; }`);
      segLines.push('q += L;');
      flushSegment(k + 1);
      k = 0;
      return;
    }
    const role = roleAt.get(index);
    const off = `q + ${k}`;
    if (role) {
      const len = f.length;
      switch (role) {
        case 'S4':
          segLines.push(`r.src4 = v.getUint32(${off});`);
          break;
        case 'D4':
          segLines.push(`r.dst4 = v.getUint32(${off});`);
          break;
        case 'S6':
          segLines.push(`s6 = ${off};`);
          break;
        case 'D6':
          segLines.push(`d6 = ${off};`);
          break;
        case 'SP':
          segLines.push(`r.srcPort = ${readNum(off, Math.min(len, 4))};`);
          break;
        case 'DP':
          segLines.push(`r.dstPort = ${readNum(off, Math.min(len, 4))};`);
          break;
        case 'PR':
          segLines.push(`r.proto = ${readNum(off, Math.min(len, 4))};`);
          break;
        case 'FL':
          segLines.push(`r.tcpFlags = ${readNum(off, Math.min(len, 4))};`);
          break;
        case 'II':
          segLines.push(`r.inputIf = ${readNum(off, len)};`);
          break;
        case 'OI':
          segLines.push(`r.outputIf = ${readNum(off, len)};`);
          break;
        case 'SN':
        case 'EN':
          segLines.push(`${role} = ${readNtpMs(off)};`);
          break;
        default:
          segLines.push(`${role} = ${readNum(off, len)};`);
      }
    }
    k += f.length;
  });
  flushSegment(k);

  const locals = LOCAL_ROLES.filter(has);
  const pre: string[] = [];
  // Locals need no reset: every role a template has is read before the record is sunk.
  if (!has('S4')) pre.push('r.src4 = 0;');
  if (!has('D4')) pre.push('r.dst4 = 0;');
  if (!has('SP')) pre.push('r.srcPort = 0;');
  if (!has('DP')) pre.push('r.dstPort = 0;');
  if (!has('PR')) pre.push('r.proto = 0;');
  if (!has('FL')) pre.push('r.tcpFlags = 0;');
  if (!has('II')) pre.push('r.inputIf = 0;');
  if (!has('OI')) pre.push('r.outputIf = 0;');

  // After all reads: family, addresses, counters, sampling, times, then the sink.
  const post: string[] = [];
  const v4 = has('S4') || has('D4');
  const v6 = has('S6') || has('D6');
  if (v4 && v6) post.push('r.family = (r.src4 === 0 && r.dst4 === 0) ? 6 : 4;');
  else post.push(`r.family = ${v6 ? 6 : 4};`);
  if (v6) {
    post.push(has('S6') ? 'for (i = 0; i < 16; i++) r.src6[i] = u[s6 + i];' : 'r.src6.fill(0);');
    post.push(has('D6') ? 'for (i = 0; i < 16; i++) r.dst6[i] = u[d6 + i];' : 'r.dst6.fill(0);');
  }
  if (has('IC')) post.push('if (r.dstPort === 0 && IC !== 0) r.dstPort = IC;');
  if (has('SID')) post.push('rate = c.samplers.get(SID); if (rate === undefined) rate = c.rate;');
  post.push(`r.bytes = ${has('B') ? 'B * rate' : '0'};`);
  post.push(`r.packets = ${has('P') ? 'P * rate' : '0'};`);
  post.push('r.samplingRate = rate;');

  const startExpr = timeExpr(version, 'S', has);
  const endExpr = timeExpr(version, 'E', has);
  if (startExpr && endExpr) {
    post.push(`r.startMs = ${startExpr};`, `r.endMs = ${endExpr};`);
  } else if (startExpr) {
    post.push(`r.startMs = ${startExpr};`, 'r.endMs = r.startMs;');
  } else if (endExpr) {
    post.push(`r.endMs = ${endExpr};`, 'r.startMs = r.endMs;');
  } else {
    post.push('r.startMs = 0;', 'r.endMs = 0;');
  }
  post.push('sink(r); n++;');

  if (has('RB') || has('RP')) {
    // RFC 5103: the reverse direction is a flow of its own, with both ends swapped.
    post.push(`if (${has('RB') ? 'RB' : '0'} !== 0 || ${has('RP') ? 'RP' : '0'} !== 0) {`);
    post.push('t = r.src4; r.src4 = r.dst4; r.dst4 = t;');
    post.push('t = r.srcPort; r.srcPort = r.dstPort; r.dstPort = t;');
    post.push('t = r.inputIf; r.inputIf = r.outputIf; r.outputIf = t;');
    if (v6) post.push('for (i = 0; i < 16; i++) { t = r.src6[i]; r.src6[i] = r.dst6[i]; r.dst6[i] = t; }');
    post.push(`r.bytes = ${has('RB') ? 'RB * rate' : '0'};`);
    post.push(`r.packets = ${has('RP') ? 'RP * rate' : '0'};`);
    post.push('sink(r); n++;');
    post.push('}');
  }

  const lines: string[] = [];
  lines.push('"use strict";');
  lines.push('return function read(v, u, p, end, r, sink, c) {');
  lines.push('var n = 0, q = 0, L = 0, t = 0, i = 0, s6 = 0, d6 = 0, rate = c.rate, base = c.baseMs, up = c.uptime, init = c.initMs;');
  if (locals.length) lines.push(`var ${locals.map((l) => `${l} = 0`).join(', ')};`);
  lines.push('r.version = c.version; r.exporter = c.exporter; r.sourceId = c.sourceId;');
  if (!variable) {
    lines.push(`for (; p + ${fixedLen} <= end; p += ${fixedLen}) {`);
    lines.push('q = p;');
    lines.push(...pre);
    lines.push(...segments[0].lines);
  } else {
    lines.push(`while (p + ${minLen} <= end) {`);
    lines.push('q = p;');
    lines.push(...pre);
    segments.forEach((seg, i) => {
      // Segment 0 is covered by the minLen check; later ones start after a variable field.
      if (i > 0) lines.push(`if (q + ${seg.bytes} > end) { c.truncated = true; break; }`);
      lines.push(...seg.lines);
    });
    lines.push(`p = q + ${segments[segments.length - 1].bytes};`);
  }
  lines.push(...post);
  lines.push('}');
  lines.push('c.stop = p;');
  lines.push('return n;');
  lines.push('};');
  return lines.join('\n');
}

function timeExpr(version: 9 | 10, side: 'S' | 'E', has: (r: Role) => boolean): string | undefined {
  const r = (x: string): Role => `${side}${x}` as Role;
  if (has(r('M'))) return r('M');
  if (has(r('S'))) return `${r('S')} * 1000`;
  if (has(r('N'))) return r('N');
  if (has(r('D'))) return `base - Math.floor(${r('D')} / 1000)`;
  if (has(r('U'))) {
    // v9: relative to the header's sysUptime; modulo 2^32 so a wrapped uptime still gives the
    // right absolute time. IPFIX: relative to systemInitTimeMilliseconds, if we know it.
    if (version === 9) return `base - ((up - ${r('U')}) >>> 0)`;
    const init = has('INIT') ? '(INIT || init)' : 'init';
    return `(${init} ? ${init} + ${r('U')} : 0)`;
  }
  return undefined;
}

const cache = new Map<string, FlowReader>();

/** The compiled reader for a layout if one exists already (compiled for any exporter). */
export function cachedReader(signature: string): FlowReader | undefined {
  return cache.get(signature);
}

/**
 * Compiles the reader for a layout; one per distinct signature, shared by all exporters. About
 * 0.1 ms each, so the decoder spends a small budget of compiles per datagram and interprets
 * (interpret.ts) what it could not compile yet: a flood of distinct templates cannot stall it.
 */
export function compileReader(version: 9 | 10, signature: string, fields: readonly TemplateField[]): FlowReader {
  let reader = cache.get(signature);
  if (!reader) {
    reader = new Function(readerSource(version, fields))() as FlowReader;
    // Distinct hostile layouts must not grow memory without bound.
    if (cache.size >= 4096) cache.clear();
    cache.set(signature, reader);
  }
  return reader;
}
