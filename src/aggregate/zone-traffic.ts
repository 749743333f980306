/**
 * Traffic per zone pair and class: `netflow_zone_traffic_*{src_zone, dst_zone, class}`. Kept
 * apart from the pair store because it is small (zones² × classes) and must never expire or
 * overflow: it is what a cloud bill is reconciled against. Fed by the pair store as it counts.
 */
import { ZONE_CLASSES, zoneLabel, type Place, type ZoneClass } from './zone-class.ts';

export class ZoneRow {
  readonly srcZone: string;
  readonly dstZone: string;
  readonly cls: ZoneClass;
  flows = 0;
  bytes = 0;
  packets = 0;
  constructor(srcZone: string, dstZone: string, cls: ZoneClass) {
    this.srcZone = srcZone;
    this.dstZone = dstZone;
    this.cls = cls;
  }
}

export class ZoneTraffic {
  /** Rows in the order they appeared (exports iterate this). */
  readonly rows: ZoneRow[] = [];
  readonly #byKey = new Map<string, ZoneRow>();
  /** (source place, destination place) → row per class code: places are interned, so two Map reads find a row. */
  readonly #byPlaces = new Map<Place, Map<Place, (ZoneRow | undefined)[]>>();

  add(src: Place, dst: Place, cls: number, flows: number, bytes: number, packets: number): void {
    const r = this.rowFor(src, dst, cls);
    r.flows += flows;
    r.bytes += bytes;
    r.packets += packets;
  }

  /** The row (src zone, dst zone, class) of two places; rows live as long as the table. */
  rowFor(src: Place, dst: Place, cls: number): ZoneRow {
    let byDst = this.#byPlaces.get(src);
    if (byDst === undefined) {
      byDst = new Map();
      this.#byPlaces.set(src, byDst);
    }
    let byCls = byDst.get(dst);
    if (byCls === undefined) {
      byCls = [];
      byDst.set(dst, byCls);
    }
    return byCls[cls] ?? (byCls[cls] = this.#row(zoneLabel(src), zoneLabel(dst), ZONE_CLASSES[cls] ?? 'unknown'));
  }

  /** Bytes per class over every zone pair (tests, headers). */
  bytesByClass(): Record<ZoneClass, number> {
    const out = Object.fromEntries(ZONE_CLASSES.map((c) => [c, 0])) as Record<ZoneClass, number>;
    for (const r of this.rows) out[r.cls] += r.bytes;
    return out;
  }

  #row(srcZone: string, dstZone: string, cls: ZoneClass): ZoneRow {
    const key = `${srcZone}\u0000${dstZone}\u0000${cls}`;
    let r = this.#byKey.get(key);
    if (r === undefined) {
      r = new ZoneRow(srcZone, dstZone, cls);
      this.#byKey.set(key, r);
      this.rows.push(r);
    }
    return r;
  }
}
