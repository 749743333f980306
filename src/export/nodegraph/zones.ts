/**
 * Zone classes on the Node Graph: each edge's class (the one most of its bytes have), its cost
 * per hour under --prices, a colour for the classes that cost money, and the totals the map
 * page's header shows ("cross-zone: X GiB/h, $Y/h"). Rates per class come from the live store;
 * Prometheus-backed graphs have no class per pair and leave edges `unknown`.
 */
import { ZONE_CLASSES, type ZoneClass } from '../../aggregate/zone-class.ts';
import { costOf, type Prices } from '../../config/prices.ts';

/** Colours of the classes worth seeing (amber, purple, magenta); the rest keep the default. */
export const CLASS_COLOURS: Readonly<Partial<Record<ZoneClass, string>>> = {
  'cross-zone': '#e8a33d',
  'cross-region': '#9b59d0',
  internet: '#d9488f',
};

const GiB = 2 ** 30;

/** The class with the most bytes per second ('unknown' when there are none). */
export function dominantClass(classBytesPerS: readonly number[] | undefined): ZoneClass {
  if (classBytesPerS === undefined) return 'unknown';
  let best = 0;
  for (let c = 1; c < classBytesPerS.length; c++) if (classBytesPerS[c] > classBytesPerS[best]) best = c;
  return classBytesPerS[best] > 0 ? ZONE_CLASSES[best] : 'unknown';
}

/** Money per hour for these bytes per second, per class. */
export function costPerHour(classBytesPerS: readonly number[] | undefined, prices: Prices | undefined): number {
  if (classBytesPerS === undefined || prices === undefined) return 0;
  let cost = 0;
  for (let c = 0; c < classBytesPerS.length; c++) {
    const price = prices.perGiB[ZONE_CLASSES[c]];
    if (price !== undefined && classBytesPerS[c] > 0) cost += costOf(classBytesPerS[c] * 3600, price);
  }
  return cost;
}

/** The header line's figures over the whole graph. */
export interface ZoneSummary {
  /** Bytes per hour per class, in GiB. */
  gibPerHour: Record<ZoneClass, number>;
  /** Money per hour per priced class, and in all. */
  costPerHour: Partial<Record<ZoneClass, number>>;
  totalCostPerHour: number;
  currency: string;
  /** The five apps whose sent cross-zone bytes cost most (by bytes when there are no prices), node ids. */
  topCrossZone: { id: string; gibPerHour: number; costPerHour: number }[];
}

/** Apps listed in the header's top list. */
export const TOP_APPS = 5;

/** GiB per hour per class, summed over these bytes per second per class. */
function gibPerHour(rates: Iterable<readonly number[]>): Record<ZoneClass, number> {
  const gib = Object.fromEntries(ZONE_CLASSES.map((c) => [c, 0])) as Record<ZoneClass, number>;
  for (const cb of rates) for (let c = 0; c < cb.length; c++) gib[ZONE_CLASSES[c]] += (cb[c] * 3600) / GiB;
  return gib;
}

/**
 * `perEdge`: bytes per second per class of every edge; `billed`: those its in-cluster ends sent
 * (what costs money); `perSender`: bytes per second per class by sending node id.
 */
export function summarize(
  perEdge: Iterable<readonly number[]>,
  prices: Prices | undefined,
  perSender: ReadonlyMap<string, readonly number[]>,
  billed: Iterable<readonly number[]>,
): ZoneSummary {
  const gib = gibPerHour(perEdge);
  const billedGib = gibPerHour(billed);
  const cost: Partial<Record<ZoneClass, number>> = {};
  let total = 0;
  if (prices) {
    for (const c of ZONE_CLASSES) {
      const price = prices.perGiB[c];
      if (price === undefined) continue;
      cost[c] = billedGib[c] * price;
      total += cost[c]!;
    }
  }
  const cz = ZONE_CLASSES.indexOf('cross-zone');
  const price = prices?.perGiB['cross-zone'] ?? 0;
  const top = [...perSender]
    .filter(([, cb]) => cb[cz] > 0)
    .map(([id, cb]) => ({ id, gibPerHour: (cb[cz] * 3600) / GiB, costPerHour: costOf(cb[cz] * 3600, price) }))
    .sort((a, b) => b.costPerHour - a.costPerHour || b.gibPerHour - a.gibPerHour || (a.id < b.id ? -1 : 1))
    .slice(0, TOP_APPS);
  return { gibPerHour: gib, costPerHour: cost, totalCostPerHour: total, currency: prices?.currency ?? '', topCrossZone: top };
}
