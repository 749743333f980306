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

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** A growing buffer with the SDK writer's encodings (varints, little-endian fixed64, UTF-8). */
class Out {
  buf = new Uint8Array(1 << 16);
  view = new DataView(this.buf.buffer);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  varint(value: number): void {
    this.ensure(10);
    const b = this.buf;
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 127) {
        b[this.pos++] = (v & 127) | 128;
        v >>>= 7;
      }
      b[this.pos++] = v;
      return;
    }
    let [low, high] = split64(value);
    while (high > 0 || low > 127) {
      b[this.pos++] = (low & 127) | 128;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    b[this.pos++] = low & 127;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  fixed64(low: number, high: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, low >>> 0, true);
    this.view.setUint32(this.pos + 4, high >>> 0, true);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  string(s: string): void {
    let ascii = true;
    for (let i = 0; i < s.length; i++)
      if (s.charCodeAt(i) > 127) {
        ascii = false;
        break;
      }
    if (!ascii) {
      const bytes = encoder.encode(s);
      this.varint(bytes.length);
      this.raw(bytes);
      return;
    }
    this.varint(s.length);
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  /** A length-delimited message: its body is written by `body`, then its length put before it. */
  nested(body: () => void): void {
    const at = this.pos;
    this.ensure(1);
    this.pos += 1;
    body();
    const len = this.pos - at - 1;
    const size = varintSize(len);
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(at + size, at + 1, this.pos);
      this.pos += size - 1;
    }
    let v = len,
      p = at;
    while (v > 127) {
      this.buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  take(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Two's complement halves of an integer-valued double, as the SDK's writer computes them. */
function split64(value: number): [number, number] {
  if (value >= 0) return [value >>> 0, (value / 4294967296) >>> 0];
  const abs = Math.abs(value);
  let low = ~(abs >>> 0) >>> 0;
  let high = ~((abs / 4294967296) >>> 0) >>> 0;
  low = (low + 1) >>> 0;
  if (low === 0) high = (high + 1) >>> 0;
  return [low, high];
}

function varintSize(v: number): number {
  return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : v < 268435456 ? 4 : 5;
}

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

function attributes(out: Out, attrs: Attributes, field: number): void {
  for (const key in attrs) {
    if (!Object.hasOwn(attrs, key)) continue;
    out.tag(field, 2);
    out.nested(() => keyValue(out, key, attrs[key]));
  }
}

function temporality(t: AggregationTemporality): number {
  return t === AggregationTemporality.DELTA ? 1 : t === AggregationTemporality.CUMULATIVE ? 2 : 0;
}

/** Chunk size of the attribute-bytes store: few, large, long-lived allocations. */
const SLAB = 256 * 1024;

export class OtlpMetricsEncoder {
  /**
   * A data point's attributes (field 7 of NumberDataPoint, tags included), by attributes object,
   * as views into large slabs. Twenty thousand small buffers of their own, interleaved with each
   * export's large transient request buffers, fragmented malloc's heap: RSS grew by 50 MiB where
   * the SDK's serializer grew it by 2 to 5. Pairs that expire leave dead bytes in the slabs, so
   * once the slabs hold more than twice what an export uses (plus a slab), they start over:
   * the next export encodes each pair's attributes again.
   */
  #encoded = new WeakMap<object, Uint8Array>();
  #slab = new Uint8Array(0);
  #slabPos = 0;
  #slabBytes = 0;
  /** Attribute bytes an export used (each attributes object once): this one so far, and the last whole one. */
  #seenNow = new WeakSet<object>();
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
      this.#seenNow = new WeakSet();
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
        const attrs = p.attributes ? this.#attributeBytes(p.attributes) : EMPTY;
        out.tag(1, 2);
        out.varint(27 + attrs.length);
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
        out.raw(attrs);
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

  #attributeBytes(attrs: Attributes): Uint8Array {
    let b = this.#encoded.get(attrs);
    if (b === undefined) {
      const s = this.#scratch;
      s.pos = 0;
      attributes(s, attrs, 7);
      b = this.#keep(s.buf.subarray(0, s.pos));
      this.#encoded.set(attrs, b);
    }
    if (!this.#seenNow.has(attrs)) {
      this.#seenNow.add(attrs);
      this.#usedNow += b.length;
    }
    return b;
  }

  /** A copy of `bytes` in the slabs. */
  #keep(bytes: Uint8Array): Uint8Array {
    if (bytes.length > SLAB / 4) return bytes.slice();
    if (this.#slabPos + bytes.length > this.#slab.length) {
      this.#slab = new Uint8Array(SLAB);
      this.#slabPos = 0;
      this.#slabBytes += SLAB;
    }
    const view = this.#slab.subarray(this.#slabPos, this.#slabPos + bytes.length);
    view.set(bytes);
    this.#slabPos += bytes.length;
    return view;
  }

  #startOver(): void {
    this.#encoded = new WeakMap();
    this.#slab = new Uint8Array(0);
    this.#slabPos = 0;
    this.#slabBytes = 0;
  }
}
