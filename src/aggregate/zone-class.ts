/**
 * The zone class of a flow: where its two ends are relative to each other, which is what a cloud
 * bills traffic by. A flow's class depends only on its two ends' places (zone, region, and for
 * ends outside the cluster the class their network forces) and on whether both ends are on one
 * node, so it is decided once per pair of ends, never per record.
 */

export type ZoneClass = 'unknown' | 'same-node' | 'same-zone' | 'cross-zone' | 'cross-region' | 'internet' | 'external';

/** In code order: a class's code is its index (3 bits; 0 is unknown, so an unset code is unknown). */
export const ZONE_CLASSES: readonly ZoneClass[] = [
  'unknown',
  'same-node',
  'same-zone',
  'cross-zone',
  'cross-region',
  'internet',
  'external',
];

/** What an end outside the cluster forces, whatever the other end: '' for an end that is compared by zone. */
export type Outside = '' | 'internet' | 'external';

/** Where one end is. In-cluster ends take their node's zone and region; '' when not known. */
export interface Place {
  readonly zone: string;
  readonly region: string;
  readonly outside: Outside;
}

const places = new Map<string, Place>();

/** The one Place object for these values in this thread, so places compare (and key maps) by reference. */
export function internPlace(zone: string, region: string, outside: Outside): Place {
  const key = `${zone}\u0000${region}\u0000${outside}`;
  let p = places.get(key);
  if (p === undefined) {
    // Zones and regions are few; a table that somehow grew past any real cloud starts over.
    if (places.size >= 100_000) places.clear();
    p = Object.freeze({ zone, region, outside });
    places.set(key, p);
  }
  return p;
}

/** Not known: a Service ClusterIP, a node without a zone label, a loopback or link-local address. */
export const NOWHERE: Place = internPlace('', '', '');
export const INTERNET: Place = internPlace('', '', 'internet');
export const EXTERNAL: Place = internPlace('', '', 'external');

/**
 * The class of a flow between places `a` and `b`; `sameNode` when both ends are on one known
 * node. An outside end decides first (internet over external: the dearer one is what the bill
 * shows); then one node; then a missing zone makes the flow unknown; then zones and regions.
 * A region missing on either side is taken as the same region: a zone is never in two regions,
 * and clusters that label zones but not regions are single-region.
 */
export function classOf(a: Place, b: Place, sameNode: boolean): number {
  if (a.outside === 'internet' || b.outside === 'internet') return 5;
  if (a.outside === 'external' || b.outside === 'external') return 6;
  if (sameNode) return 1;
  if (a.zone === '' || b.zone === '') return 0;
  if (a.zone === b.zone) return 2;
  if (a.region !== '' && b.region !== '' && a.region !== b.region) return 4;
  return 3;
}

/**
 * The `src_zone` / `dst_zone` value of a place: its zone; for an outside end without one, the
 * class it forces (`internet`, `external`); `unknown` otherwise.
 */
export function zoneLabel(p: Place): string {
  return p.zone !== '' ? p.zone : p.outside !== '' ? p.outside : 'unknown';
}
