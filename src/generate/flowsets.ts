/**
 * The body of a NetFlow v9 or IPFIX message: template, options template and data sets.
 * Sets are NOT padded unless asked (`pad: true`), because ipt-netflow and softflowd send an
 * unpadded last set and decoders must cope with both.
 */
import { concatBytes, recordFields, VARIABLE_LENGTH } from './fields.ts';
import type { FieldSpec, TemplateSpec } from './fields.ts';

export type FlowSet =
  /** Template records (v9 set 0, IPFIX set 2). A template with no fields is an IPFIX withdrawal. */
  | { readonly kind: 'templates'; readonly templates: readonly TemplateSpec[]; readonly pad?: boolean }
  /** Options template records (v9 set 1, IPFIX set 3). */
  | { readonly kind: 'options-templates'; readonly templates: readonly TemplateSpec[]; readonly pad?: boolean }
  /** Data records, already encoded (see encodeRecord), for template `templateId`. */
  | { readonly kind: 'data'; readonly templateId: number; readonly records: readonly Uint8Array[]; readonly pad?: boolean }
  /** Any bytes under any set ID: for malformed-input tests. The length field covers the body. */
  | { readonly kind: 'raw'; readonly id: number; readonly body: Uint8Array; readonly pad?: boolean };

export type Protocol = 9 | 10;

/** How many records the set holds, for the v9 header's count field. */
export function setRecordCount(s: FlowSet): number {
  switch (s.kind) {
    case 'templates':
    case 'options-templates':
      return s.templates.length;
    case 'data':
      return s.records.length;
    case 'raw':
      return 0;
  }
}

function fieldSpecBytes(f: FieldSpec, proto: Protocol, out: number[]): void {
  const ent = proto === 10 && f.enterprise ? f.enterprise : 0;
  const id = ent ? f.id | 0x8000 : f.id;
  out.push(id >> 8, id & 255, f.length >> 8, f.length & 255);
  if (ent) out.push(ent >>> 24, (ent >>> 16) & 255, (ent >>> 8) & 255, ent & 255);
}

function templateBytes(t: TemplateSpec, proto: Protocol, options: boolean): number[] {
  const out: number[] = [t.id >> 8, t.id & 255];
  const scope = t.scopeFields ?? [];
  if (!options) {
    out.push(t.fields.length >> 8, t.fields.length & 255);
  } else if (proto === 9) {
    const scopeLen = scope.length * 4;
    const optLen = t.fields.length * 4;
    out.push(scopeLen >> 8, scopeLen & 255, optLen >> 8, optLen & 255);
  } else {
    const total = scope.length + t.fields.length;
    out.push(total >> 8, total & 255, scope.length >> 8, scope.length & 255);
  }
  for (const f of scope) fieldSpecBytes(f, proto, out);
  for (const f of t.fields) fieldSpecBytes(f, proto, out);
  return out;
}

export function encodeSet(s: FlowSet, proto: Protocol): Uint8Array {
  let id: number;
  let body: Uint8Array;
  switch (s.kind) {
    case 'templates':
      id = proto === 9 ? 0 : 2;
      body = Uint8Array.from(s.templates.flatMap((t) => templateBytes(t, proto, false)));
      break;
    case 'options-templates':
      id = proto === 9 ? 1 : 3;
      body = Uint8Array.from(s.templates.flatMap((t) => templateBytes(t, proto, true)));
      break;
    case 'data':
      id = s.templateId;
      body = concatBytes(s.records);
      break;
    case 'raw':
      id = s.id;
      body = s.body;
      break;
  }
  const len = 4 + body.length;
  const padded = s.pad ? (len + 3) & ~3 : len;
  const out = new Uint8Array(padded);
  out[0] = id >> 8;
  out[1] = id & 255;
  out[2] = padded >> 8;
  out[3] = padded & 255;
  out.set(body, 4);
  return out;
}

/** Fixed record length of a template, or undefined when it has variable-length fields. */
export function recordLength(t: TemplateSpec): number | undefined {
  let n = 0;
  for (const f of recordFields(t)) {
    if (f.length === VARIABLE_LENGTH) return undefined;
    n += f.length;
  }
  return n;
}
