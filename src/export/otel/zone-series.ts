/**
 * The zone families in OpenTelemetry terms, without loading any OpenTelemetry package: the OTLP
 * producer (zones.ts) adds times and temporality, and the `/metrics/otel` page
 * (prometheus-text.ts) renders them as the official Prometheus exporter would.
 *
 *   netflow.zone.traffic.bytes / .packets / .flows   {src.zone, dst.zone, netflow.zone.class}
 *   netflow.workload.traffic.bytes                   {k8s.namespace.name, k8s.app.name, netflow.zone.class, network.io.direction}
 *   netflow.workload.traffic.cost                    {... , network.io.direction=transmit, currency}
 *
 * `src.zone` / `dst.zone` are the names OBI gives its inter-zone metric's attributes. Direction
 * is the semantic conventions' `network.io.direction`: transmit is our egress, receive ingress.
 */
import type { PairStore } from '../../aggregate/pair-store.ts';
import { ZONE_CLASSES } from '../../aggregate/zone-class.ts';
import { costOf, type Prices } from '../../config/prices.ts';
import { outsideSender, workloadTraffic } from '../prometheus/zones.ts';

export interface ZonePoint {
  attributes: Record<string, string>;
  /** Identifies the series across collections (delta temporality keeps the last value by it). */
  key: string;
  value: number;
}

export interface ZoneSeries {
  name: string;
  unit: string;
  description: string;
  /** The cost is money, the rest are counts. */
  double: boolean;
  points: ZonePoint[];
}

/** Every zone family, in a fixed order; the cost family only with prices. */
export function zoneSeries(store: PairStore, prices: Prices | undefined): ZoneSeries[] {
  const zb: ZonePoint[] = [],
    zp: ZonePoint[] = [],
    zf: ZonePoint[] = [];
  for (const r of store.zones.rows) {
    const attributes = { 'src.zone': r.srcZone, 'dst.zone': r.dstZone, 'netflow.zone.class': r.cls };
    const key = `${r.srcZone}\u0000${r.dstZone}\u0000${r.cls}`;
    zb.push({ attributes, key, value: r.bytes });
    zp.push({ attributes, key, value: r.packets });
    zf.push({ attributes, key, value: r.flows });
  }
  const wb: ZonePoint[] = [],
    wc: ZonePoint[] = [];
  for (const r of workloadTraffic(store)) {
    for (let c = 0; c < ZONE_CLASSES.length; c++) {
      const cls = ZONE_CLASSES[c];
      const base = { 'k8s.namespace.name': r.namespace, 'k8s.app.name': r.app, 'netflow.zone.class': cls };
      const key = `${r.namespace}\u0000${r.app}\u0000${cls}`;
      if (r.sent[c] > 0) wb.push({ attributes: { ...base, 'network.io.direction': 'transmit' }, key: `${key}\u0000t`, value: r.sent[c] });
      if (r.received[c] > 0)
        wb.push({ attributes: { ...base, 'network.io.direction': 'receive' }, key: `${key}\u0000r`, value: r.received[c] });
      const price = prices?.perGiB[cls];
      if (prices && price !== undefined && r.sent[c] > 0 && !outsideSender(r.namespace)) {
        wc.push({
          attributes: { ...base, 'network.io.direction': 'transmit', currency: prices.currency },
          key,
          value: costOf(r.sent[c], price),
        });
      }
    }
  }
  const series: ZoneSeries[] = [
    {
      name: 'netflow.zone.traffic.bytes',
      unit: 'By',
      description: 'Bytes per source zone, destination zone and zone class',
      double: false,
      points: zb,
    },
    {
      name: 'netflow.zone.traffic.packets',
      unit: '{packet}',
      description: 'Packets per source zone, destination zone and zone class',
      double: false,
      points: zp,
    },
    {
      name: 'netflow.zone.traffic.flows',
      unit: '{flow}',
      description: 'Flows per source zone, destination zone and zone class',
      double: false,
      points: zf,
    },
    {
      name: 'netflow.workload.traffic.bytes',
      unit: 'By',
      description: 'Bytes a workload sent (transmit) or received (receive), per zone class',
      double: false,
      points: wb,
    },
  ];
  if (prices)
    series.push({
      name: 'netflow.workload.traffic.cost',
      unit: `{${prices.currency}}`,
      description: 'What the bytes a workload sent cost, per zone class',
      double: true,
      points: wc,
    });
  return series;
}
