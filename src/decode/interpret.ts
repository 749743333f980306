/**
 * The interpreted flow reader: same results as a compiled reader (compile.ts), field by field
 * from an offset table, several times slower. The decoder uses it only for a template it has not
 * compiled yet because this datagram's compile budget is spent, so hostile floods of distinct
 * templates cost bounded time per datagram. test/decode/interpret.test.ts checks both agree.
 */
import type { FlowRecord, RecordSink } from './record.ts';
import { chooseRoles } from './compile.ts';
import type { ReadContext, ReadPlan, Role } from './read-context.ts';
import { isVariable, layoutOf, type TemplateField } from './template.ts';

export function makePlan(version: 9 | 10, fields: readonly TemplateField[]): ReadPlan {
  const roleAt = chooseRoles(fields);
  const lengths = Int32Array.from(fields, (f) => (isVariable(f) ? -1 : f.length));
  const { minLength } = layoutOf(fields);
  return { version, lengths, roles: fields.map((_, i) => roleAt.get(i)), has: new Set(roleAt.values()), minLength };
}

/** Big-endian unsigned integer of `len` bytes at q; exact up to 2^53, beyond 8 bytes the low 8. */
export function num(v: DataView, u: Uint8Array, q: number, len: number): number {
  switch (len) {
    case 0:
      return 0;
    case 1:
      return u[q];
    case 2:
      return v.getUint16(q);
    case 3:
      return (u[q] << 16) | (u[q + 1] << 8) | u[q + 2];
    case 4:
      return v.getUint32(q);
  }
  if (len > 8) return num(v, u, q + len - 8, 8);
  return num(v, u, q, len - 4) * 4294967296 + v.getUint32(q + len - 4);
}

const ntpMs = (v: DataView, q: number): number => (v.getUint32(q) - 2208988800) * 1000 + Math.round(v.getUint32(q + 4) / 4294967.296);

function time(plan: ReadPlan, c: ReadContext, x: Map<Role, number>, side: 'S' | 'E'): number | undefined {
  const has = plan.has;
  const get = (r: string): number => x.get(r as Role) ?? 0;
  if (has.has(`${side}M` as Role)) return get(`${side}M`);
  if (has.has(`${side}S` as Role)) return get(`${side}S`) * 1000;
  if (has.has(`${side}N` as Role)) return get(`${side}N`);
  if (has.has(`${side}D` as Role)) return c.baseMs - Math.floor(get(`${side}D`) / 1000);
  if (has.has(`${side}U` as Role)) {
    if (plan.version === 9) return c.baseMs - ((c.uptime - get(`${side}U`)) >>> 0);
    const init = (has.has('INIT') ? get('INIT') : 0) || c.initMs;
    return init ? init + get(`${side}U`) : 0;
  }
  return undefined;
}

/** Decodes the records in u[p, end) like the compiled reader would; returns records sunk. */
export function interpretSet(
  plan: ReadPlan,
  v: DataView,
  u: Uint8Array,
  p: number,
  end: number,
  r: FlowRecord,
  sink: RecordSink,
  c: ReadContext,
): number {
  const { lengths, roles, has } = plan;
  const x = new Map<Role, number>();
  let n = 0;
  r.version = c.version;
  r.exporter = c.exporter;
  r.sourceId = c.sourceId;
  records: while (p + plan.minLength <= end) {
    let q = p;
    let s6 = -1;
    let d6 = -1;
    x.clear();
    r.src4 = r.dst4 = r.srcPort = r.dstPort = r.proto = r.tcpFlags = r.inputIf = r.outputIf = 0;
    for (let i = 0; i < lengths.length; i++) {
      let len = lengths[i];
      if (len < 0) {
        if (q + 1 > end) {
          c.truncated = true;
          break records;
        }
        len = u[q++];
        if (len === 255) {
          if (q + 2 > end) {
            c.truncated = true;
            break records;
          }
          len = v.getUint16(q);
          q += 2;
        }
      }
      if (q + len > end) {
        c.truncated = true;
        break records;
      }
      const role = roles[i];
      if (role !== undefined) {
        switch (role) {
          case 'S4':
            r.src4 = v.getUint32(q);
            break;
          case 'D4':
            r.dst4 = v.getUint32(q);
            break;
          case 'S6':
            s6 = q;
            break;
          case 'D6':
            d6 = q;
            break;
          case 'SP':
            r.srcPort = num(v, u, q, Math.min(len, 4));
            break;
          case 'DP':
            r.dstPort = num(v, u, q, Math.min(len, 4));
            break;
          case 'PR':
            r.proto = num(v, u, q, Math.min(len, 4));
            break;
          case 'FL':
            r.tcpFlags = num(v, u, q, Math.min(len, 4));
            break;
          case 'II':
            r.inputIf = num(v, u, q, len);
            break;
          case 'OI':
            r.outputIf = num(v, u, q, len);
            break;
          case 'SN':
          case 'EN':
            x.set(role, ntpMs(v, q));
            break;
          default:
            x.set(role, num(v, u, q, len));
        }
      }
      q += len;
    }
    p = q;

    const v4 = has.has('S4') || has.has('D4');
    const v6 = has.has('S6') || has.has('D6');
    r.family = v4 && v6 ? (r.src4 === 0 && r.dst4 === 0 ? 6 : 4) : v6 ? 6 : 4;
    if (v6) {
      for (let i = 0; i < 16; i++) r.src6[i] = s6 >= 0 ? u[s6 + i] : 0;
      for (let i = 0; i < 16; i++) r.dst6[i] = d6 >= 0 ? u[d6 + i] : 0;
    }
    const ic = x.get('IC') ?? 0;
    if (has.has('IC') && r.dstPort === 0 && ic !== 0) r.dstPort = ic;
    let rate = c.rate;
    if (has.has('SID')) rate = c.samplers.get(x.get('SID') ?? 0) ?? c.rate;
    r.bytes = (x.get('B') ?? 0) * rate;
    r.packets = (x.get('P') ?? 0) * rate;
    r.samplingRate = rate;
    const start = time(plan, c, x, 'S');
    const endT = time(plan, c, x, 'E');
    r.startMs = start ?? endT ?? 0;
    r.endMs = endT ?? start ?? 0;
    sink(r);
    n++;
    if (has.has('RB') || has.has('RP')) {
      const rb = x.get('RB') ?? 0;
      const rp = x.get('RP') ?? 0;
      if (rb !== 0 || rp !== 0) {
        let t = r.src4;
        r.src4 = r.dst4;
        r.dst4 = t;
        t = r.srcPort;
        r.srcPort = r.dstPort;
        r.dstPort = t;
        t = r.inputIf;
        r.inputIf = r.outputIf;
        r.outputIf = t;
        if (v6)
          for (let i = 0; i < 16; i++) {
            t = r.src6[i];
            r.src6[i] = r.dst6[i];
            r.dst6[i] = t;
          }
        r.bytes = rb * rate;
        r.packets = rp * rate;
        sink(r);
        n++;
      }
    }
  }
  c.stop = p;
  return n;
}
