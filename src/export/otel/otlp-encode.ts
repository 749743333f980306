/**
 * OTLP metrics as protobuf, the bytes the SDK's ProtobufMetricsSerializer (otlp-transformer 0.301)
 * writes, with one difference in cost: a data point's attributes are encoded once per attributes
 * object and copied afterwards. The store's producer hands every pair the same attributes object
 * collection after collection (producer.ts), so an export of 60,000 points encodes each
 * pair's 13 attributes once in its life instead of twice per point per export (the SDK sizes,
 * then writes): measured 200 to 390 ms of CPU per export with the SDK's serializer
 * (bench/export.bench.ts). test/export/otlp-encode.test.ts checks the bytes against the SDK's.
 * Sums and gauges of numbers only; anything else goes to the SDK's serializer whole.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { Out, isAscii, split64, textEncoder, varintSize } from './proto-out.ts';

const EMPTY = new Uint8Array(0);

/** [seconds, nanoseconds] as fixed64 nanoseconds, exactly as the SDK splits it. */
function hrTime(out: Out, t: HrTime): void {
  const seconds = t[0],
    nanos = t[1];
  const lower = (seconds & 65535) * 1e9;
  const upper = ((seconds / 65536) >>> 0) * 1e9;
  const low32 = (lower >>> 0) + (((upper & 65535) * 65536) >>> 0) + nanos;
  const high = (Math.floor(lower / 4294967296) + ((upper / 65536) >>> 0) + Math.floor(low32 / 4294967296)) >>> 0;
  out.fixed64(low32 >>> 0, high);
}

const MIN_INT64 = -(2 ** 63),
  MAX_INT64 = 2 ** 63;

function anyValue(out: Out, value: unknown): void {
  if (typeof value === 'string') {
    out.tag(1, 2);
    out.string(value);
  } else if (typeof value === 'boolean') {
    out.tag(2, 0);
    out.varint(value ? 1 : 0);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
      out.tag(3, 0);
      out.varint(value);
    } else {
      out.tag(4, 1);
      out.double(value);
    }
  } else if (value instanceof Uint8Array) {
    out.tag(7, 2);
    out.varint(value.length);
    out.raw(value);
  } else if (Array.isArray(value)) {
    out.tag(5, 2);
    out.nested(() => {
      for (const item of value) {
        out.tag(1, 2);
        out.nested(() => anyValue(out, item));
      }
    });
  } else if (typeof value === 'object' && value !== null) {
    out.tag(6, 2);
    out.nested(() => {
      for (const k in value) {
        if (!Object.hasOwn(value, k)) continue;
        out.tag(1, 2);
        out.nested(() => keyValue(out, k, (value as Record<string, unknown>)[k]));
      }
    });
  }
}

function keyValue(out: Out, key: string, value: unknown): void {
  out.tag(1, 2);
  out.string(key);
  out.tag(2, 2);
  out.nested(() => anyValue(out, value));
}

/**
 * A KeyValue's key field (tag, length, bytes) by key. The same few keys (`k8s.src.namespace`...)
 * recur in every pair's attributes, so each is encoded once; bounded in case keys are not few.
 */
const keyFields = new Map<string, Uint8Array>();
const KEY_FIELDS_MAX = 1024;

function keyField(key: string): Uint8Array {
  let b = keyFields.get(key);
  if (b === undefined) {
    const o = new Out(16 + 3 * key.length);
    o.tag(1, 2);
    o.string(key);
    b = o.take();
    if (keyFields.size < KEY_FIELDS_MAX) keyFields.set(key, b);
  }
  return b;
}

/** A KeyValue field up to its AnyValue's body, which is `any` bytes long and comes next. */
function keyValueHead(out: Out, field: number, key: string, any: number): void {
  const k = keyField(key);
  out.tag(field, 2);
  out.varint(k.length + 1 + varintSize(any) + any);
  out.raw(k);
  out.tag(2, 2);
  out.varint(any);
}

/**
 * The attributes as repeated KeyValue fields. String values (nearly all of ours) and small
 * non-negative integers (ports) are written with their lengths worked out first, so nothing is
 * moved after it is written (see Out.nested); a pair's attributes come in many shapes (which keys
 * an end has), and this path has no closures for the compiler to give up on. Bytes as the SDK
 * writes them, either way.
 */
function attributes(out: Out, attrs: Attributes, field: number): void {
  for (const key in attrs) {
    if (!Object.hasOwn(attrs, key)) continue;
    const value = attrs[key];
    if (typeof value === 'number' && value >= 0 && value <= 0xffffffff && Number.isInteger(value)) {
      // A port: AnyValue's int_value.
      keyValueHead(out, field, key, 1 + varintSize(value));
      out.tag(3, 0);
      out.varint(value);
      continue;
    }
    if (typeof value !== 'string') {
      out.tag(field, 2);
      out.nested(() => keyValue(out, key, value));
      continue;
    }
    const utf8 = isAscii(value) ? undefined : textEncoder.encode(value);
    const n = utf8 === undefined ? value.length : utf8.length;
    keyValueHead(out, field, key, 1 + varintSize(n) + n);
    out.tag(1, 2);
    out.varint(n);
    if (utf8 === undefined) out.ascii(value);
    else out.raw(utf8);
  }
}

function temporality(t: AggregationTemporality): number {
  return t === AggregationTemporality.DELTA ? 1 : t === AggregationTemporality.CUMULATIVE ? 2 : 0;
}

/** Chunk size of the attribute-bytes store: few, large, long-lived allocations. */
const SLAB = 256 * 1024;
const SLAB_BITS = 18;
/** Before each entry's bytes in a slab: their length, then the export that last used them (32 bits each). */
const HEAD = 8;

export class OtlpMetricsEncoder {
  /**
   * A data point's attributes (field 7 of NumberDataPoint, tags included), by attributes object,
   * kept in large slabs. Twenty thousand small buffers of their own, interleaved with each
   * export's large transient request buffers, fragmented malloc's heap: RSS grew by 50 MiB where
   * the SDK's serializer grew it by 2 to 5. An entry is a small integer, its slab's number and
   * its place in it (a view object per entry was 100 bytes of heap each, 3.6 MiB at 36,000
   * attribute sets); the entry's length and the last export that used it are written before its
   * bytes. Pairs that expire leave dead bytes in the slabs, so once the slabs hold more than twice
   * what an export uses (plus a slab), they start over: the next export encodes each pair's
   * attributes again.
   */
  #encoded = new WeakMap<object, number>();
  #slabs: Uint8Array[] = [];
  #slab = new Uint8Array(0);
  #slabIndex = -1;
  #slabPos = 0;
  #slabBytes = 0;
  /** The export being encoded (a number that moves on at each), and the attribute bytes it used so far; the last whole one's. */
  #export = 0;
  #usedNow = 0;
  #usedLast = 0;
  #lastEncodeMs = 0;
  readonly #scratch = new Out();
  /** Reused from request to request (each is encoded in one go): it grows to the largest request. */
  readonly #out = new Out();

  /** Bytes held for attributes (for tests and the sizing notes). */
  get attributeStoreBytes(): number {
    return this.#slabBytes;
  }

  /** An ExportMetricsServiceRequest holding `rm`. */
  encode(rm: ResourceMetrics, nowMs = Date.now()): Uint8Array {
    // The requests of one export come within milliseconds of each other; a pause starts a new export.
    if (nowMs - this.#lastEncodeMs > 1000) {
      this.#usedLast = this.#usedNow;
      this.#usedNow = 0;
      this.#export = (this.#export + 1) >>> 0;
      if (this.#slabBytes > 2 * this.#usedLast + SLAB) this.#startOver();
    }
    this.#lastEncodeMs = nowMs;
    for (const s of rm.scopeMetrics) {
      for (const m of s.metrics) {
        if (m.dataPointType !== DataPointType.SUM && m.dataPointType !== DataPointType.GAUGE)
          return ProtobufMetricsSerializer.serializeRequest(rm)!;
      }
    }
    const out = this.#out;
    out.pos = 0;
    out.tag(1, 2);
    out.nested(() => {
      out.tag(1, 2);
      out.nested(() => {
        if (rm.resource.attributes) attributes(out, rm.resource.attributes, 1);
        out.tag(2, 0);
        out.varint(0);
      });
      for (const sm of rm.scopeMetrics) {
        out.tag(2, 2);
        out.nested(() => {
          out.tag(1, 2);
          out.nested(() => {
            out.tag(1, 2);
            out.string(sm.scope.name);
            if (sm.scope.version) {
              out.tag(2, 2);
              out.string(sm.scope.version);
            }
            const scope = sm.scope as { attributes?: Attributes; droppedAttributesCount?: number };
            if (scope.attributes) attributes(out, scope.attributes, 3);
            if (scope.droppedAttributesCount) {
              out.tag(4, 0);
              out.varint(scope.droppedAttributesCount);
            }
          });
          for (const m of sm.metrics) {
            out.tag(2, 2);
            out.nested(() => this.#metric(out, m));
          }
          if (sm.scope.schemaUrl) {
            out.tag(3, 2);
            out.string(sm.scope.schemaUrl);
          }
        });
      }
      if (rm.resource.schemaUrl) {
        out.tag(3, 2);
        out.string(rm.resource.schemaUrl);
      }
    });
    return out.take();
  }

  #metric(out: Out, m: MetricData): void {
    out.tag(1, 2);
    out.string(m.descriptor.name);
    if (m.descriptor.description) {
      out.tag(2, 2);
      out.string(m.descriptor.description);
    }
    if (m.descriptor.unit) {
      out.tag(3, 2);
      out.string(m.descriptor.unit);
    }
    out.tag(m.dataPointType === DataPointType.GAUGE ? 5 : 7, 2);
    out.nested(() => {
      const int = m.descriptor.valueType === ValueType.INT;
      // A point's length is known before it is written (three 9-byte fields and its attributes),
      // so no point needs the move that nested() makes.
      for (const p of m.dataPoints) {
        const at = p.attributes ? this.#attributeBytes(p.attributes) : -1;
        const slab = at < 0 ? EMPTY : this.#slabs[at >>> SLAB_BITS];
        const pos = at < 0 ? 0 : (at & (SLAB - 1)) + HEAD;
        const len = at < 0 ? 0 : readU32(slab, pos - HEAD);
        out.tag(1, 2);
        out.varint(27 + len);
        out.tag(2, 1);
        hrTime(out, p.startTime);
        out.tag(3, 1);
        hrTime(out, p.endTime);
        const v = p.value as number;
        if (int) {
          out.tag(6, 1);
          const [lo, hi] = split64(v);
          out.fixed64(lo, hi);
        } else {
          out.tag(4, 1);
          out.double(v);
        }
        out.raw(slab.subarray(pos, pos + len));
      }
      if (m.dataPointType === DataPointType.SUM) {
        const t = temporality(m.aggregationTemporality);
        if (t !== 0) {
          out.tag(2, 0);
          out.varint(t);
        }
        if (m.isMonotonic) {
          out.tag(3, 0);
          out.varint(1);
        }
      }
    });
  }

  /** Where the attributes' bytes are (see #encoded), encoding them first if they are not kept yet. */
  #attributeBytes(attrs: Attributes): number {
    let at = this.#encoded.get(attrs);
    if (at === undefined) {
      const s = this.#scratch;
      s.pos = 0;
      attributes(s, attrs, 7);
      at = this.#keep(s.buf, s.pos);
      this.#encoded.set(attrs, at);
    }
    const slab = this.#slabs[at >>> SLAB_BITS];
    const pos = at & (SLAB - 1);
    if (readU32(slab, pos + 4) !== this.#export) {
      writeU32(slab, pos + 4, this.#export);
      this.#usedNow += readU32(slab, pos);
    }
    return at;
  }

  /** A copy of `bytes[0, n)` in the slabs, with its head; where it is. */
  #keep(bytes: Uint8Array, n: number): number {
    if (HEAD + n > SLAB / 4) {
      // Large: a slab of its own (numbered like the others), and the current one goes on.
      this.#slabs.push(new Uint8Array(HEAD + n));
      this.#slabBytes += HEAD + n;
      return this.#put(this.#slabs.length - 1, 0, bytes, n);
    }
    if (this.#slabPos + HEAD + n > this.#slab.length) {
      this.#slab = new Uint8Array(SLAB);
      this.#slabIndex = this.#slabs.push(this.#slab) - 1;
      this.#slabPos = 0;
      this.#slabBytes += SLAB;
    }
    const at = this.#put(this.#slabIndex, this.#slabPos, bytes, n);
    this.#slabPos += HEAD + n;
    return at;
  }

  /** The entry written at `pos` of slab `index`: its length, no export yet (the one before this), its bytes. */
  #put(index: number, pos: number, bytes: Uint8Array, n: number): number {
    const slab = this.#slabs[index];
    writeU32(slab, pos, n);
    writeU32(slab, pos + 4, (this.#export - 1) >>> 0);
    slab.set(bytes.subarray(0, n), pos + HEAD);
    return index * SLAB + pos;
  }

  #startOver(): void {
    this.#encoded = new WeakMap();
    this.#slabs = [];
    this.#slab = new Uint8Array(0);
    this.#slabIndex = -1;
    this.#slabPos = 0;
    this.#slabBytes = 0;
  }
}

const readU32 = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 255;
  b[at + 1] = (v >>> 8) & 255;
  b[at + 2] = (v >>> 16) & 255;
  b[at + 3] = v >>> 24;
}
