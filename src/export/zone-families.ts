/**
 * The zone families, defined once for both conventions: names, units, help and labels, and the
 * samples read from the store. /metrics renders them with the Prometheus names
 * (prometheus/zones.ts); OTLP and /metrics/otel with the OpenTelemetry ones (otel/zone-series.ts).
 *
 *   netflow_zone_traffic_bytes_total{src_zone, dst_zone, class}   (+ _packets_total, _flows_total)
 *   netflow_workload_traffic_bytes_total{namespace, app, class, direction}
 *   netflow_workload_traffic_cost_total{namespace, app, class, direction="egress", currency}
 *
 *   netflow.zone.traffic.bytes / .packets / .flows   {src.zone, dst.zone, netflow.zone.class}
 *   netflow.workload.traffic.bytes                   {k8s.namespace.name, k8s.app.name,
 *                                                     netflow.zone.class, network.io.direction}
 *   netflow.workload.traffic.cost                    {... , network.io.direction=transmit, currency}
 *
 * `app` is the seed's srchost/dsthost value. `src.zone` / `dst.zone` are the names OBI gives its
 * inter-zone metric's attributes. Direction is the semantic conventions' `network.io.direction`
 * in OpenTelemetry: transmit is our egress, receive ingress.
 */
import type { PairStore } from '../aggregate/pair-store.ts';
import { ZONE_CLASSES } from '../aggregate/zone-class.ts';
import { costOf, type Prices } from '../config/prices.ts';
import { WorkloadTable } from './workload-rows.ts';

export interface ZoneLabel {
  readonly prometheus: string;
  readonly otel: string;
  /** OpenTelemetry's word for a value, where it has another. */
  readonly otelValues?: Readonly<Record<string, string>>;
}

export interface ZoneFamily {
  /** The /metrics name, `_total` included. */
  readonly prometheus: string;
  readonly otel: string;
  /** OpenTelemetry's unit; undefined: the prices' currency (`{USD}`). */
  readonly unit: string | undefined;
  /** /metrics' HELP. */
  readonly help: string;
  /** OpenTelemetry's description. */
  readonly description: string;
  /** The cost is money, the rest are counts. */
  readonly double: boolean;
  /** In OpenTelemetry's attribute order; /metrics sorts them by name. */
  readonly labels: readonly ZoneLabel[];
}

const SRC_ZONE: ZoneLabel = { prometheus: 'src_zone', otel: 'src.zone' };
const DST_ZONE: ZoneLabel = { prometheus: 'dst_zone', otel: 'dst.zone' };
const CLASS: ZoneLabel = { prometheus: 'class', otel: 'netflow.zone.class' };
const NAMESPACE: ZoneLabel = { prometheus: 'namespace', otel: 'k8s.namespace.name' };
const APP: ZoneLabel = { prometheus: 'app', otel: 'k8s.app.name' };
const DIRECTION: ZoneLabel = {
  prometheus: 'direction',
  otel: 'network.io.direction',
  otelValues: { egress: 'transmit', ingress: 'receive' },
};
const CURRENCY: ZoneLabel = { prometheus: 'currency', otel: 'currency' };

const zonePairFamily = (what: string, What: string, unit: string): ZoneFamily => {
  const help = `${What} per source zone, destination zone and zone class`;
  return {
    prometheus: `netflow_zone_traffic_${what}_total`,
    otel: `netflow.zone.traffic.${what}`,
    unit,
    help,
    description: help,
    double: false,
    labels: [SRC_ZONE, DST_ZONE, CLASS],
  };
};

export const ZONE_BYTES = zonePairFamily('bytes', 'Bytes', 'By');
export const ZONE_PACKETS = zonePairFamily('packets', 'Packets', '{packet}');
export const ZONE_FLOWS = zonePairFamily('flows', 'Flows', '{flow}');

export const WORKLOAD_BYTES: ZoneFamily = {
  prometheus: 'netflow_workload_traffic_bytes_total',
  otel: 'netflow.workload.traffic.bytes',
  unit: 'By',
  help: "Bytes a workload (the seed's srchost/dsthost) sent (egress) or received (ingress), per zone class",
  description: 'Bytes a workload sent (transmit) or received (receive), per zone class',
  double: false,
  labels: [NAMESPACE, APP, CLASS, DIRECTION],
};

export const WORKLOAD_COST: ZoneFamily = {
  prometheus: 'netflow_workload_traffic_cost_total',
  otel: 'netflow.workload.traffic.cost',
  unit: undefined,
  help: "What the bytes a workload sent cost, per zone class (bytes / 2^30 x the class's price per GiB)",
  description: 'What the bytes a workload sent cost, per zone class',
  double: true,
  labels: [NAMESPACE, APP, CLASS, DIRECTION, CURRENCY],
};

export interface ZoneSample {
  /**
   * In the order of the family's labels. The same array for the same series from collection to
   * collection while the series lasts, so renderers cache what they make of it by identity (label
   * bytes, attribute objects, delta keys) in WeakMaps: rebuilt at each scrape, the workload
   * families alone made some 7 MiB of garbage per /metrics at 4,000 apps.
   */
  readonly values: readonly string[];
  readonly value: number;
}

export interface ZoneFamilySamples {
  readonly family: ZoneFamily;
  readonly samples: ZoneSample[];
}

export interface WorkloadTrafficRow {
  readonly namespace: string;
  readonly app: string;
  /** Bytes sent and received per class code. */
  readonly sent: number[];
  readonly received: number[];
}

/** One table per store, shared by the renderers, so the series' label arrays are the same for all. */
const workloadTables = new WeakMap<PairStore, WorkloadTable>();

function workloadTable(store: PairStore): WorkloadTable {
  let t = workloadTables.get(store);
  if (t === undefined) workloadTables.set(store, (t = new WorkloadTable()));
  return t;
}

/** The store's ends summed per (namespace, app): what the workload families show. */
export function workloadTraffic(store: PairStore): WorkloadTrafficRow[] {
  const t = workloadTable(store);
  return t.collect(store).map((r) => ({
    namespace: r.namespace,
    app: r.app,
    sent: ZONE_CLASSES.map((_, c) => t.sent(r, c)),
    received: ZONE_CLASSES.map((_, c) => t.received(r, c)),
  }));
}

/** Label values kept per zone-pair row (store.zones' rows live as long as their series). */
const zoneValues = new WeakMap<object, readonly string[]>();

/**
 * Ends outside the cluster (the seed's `external` and `unknown` pseudo-namespaces) pay nothing:
 * what they send is inbound traffic, which the clouds do not bill.
 */
export const outsideSender = (namespace: string): boolean => namespace === 'external' || namespace === 'unknown';

/** Every zone family with its samples, read from the store now, in a fixed order; the cost family only with prices. */
export function zoneSamples(store: PairStore, prices: Prices | undefined): ZoneFamilySamples[] {
  const bytes: ZoneSample[] = [],
    packets: ZoneSample[] = [],
    flows: ZoneSample[] = [];
  for (const r of store.zones.rows) {
    let values = zoneValues.get(r);
    if (values === undefined) zoneValues.set(r, (values = [r.srcZone, r.dstZone, r.cls]));
    bytes.push({ values, value: r.bytes });
    packets.push({ values, value: r.packets });
    flows.push({ values, value: r.flows });
  }
  const workload: ZoneSample[] = [],
    cost: ZoneSample[] = [];
  const table = workloadTable(store);
  for (const r of table.collect(store)) {
    const v = r.values;
    for (let c = 0; c < ZONE_CLASSES.length; c++) {
      const cls = ZONE_CLASSES[c];
      const sent = table.sent(r, c),
        received = table.received(r, c);
      if (sent > 0) workload.push({ values: (v[2 * c] ??= [r.namespace, r.app, cls, 'egress']), value: sent });
      if (received > 0) workload.push({ values: (v[2 * c + 1] ??= [r.namespace, r.app, cls, 'ingress']), value: received });
      const price = prices?.perGiB[cls];
      if (prices && price !== undefined && sent > 0 && !outsideSender(r.namespace)) {
        const values = (v[2 * ZONE_CLASSES.length + c] ??= [r.namespace, r.app, cls, 'egress', prices.currency]);
        cost.push({ values, value: costOf(sent, price) });
      }
    }
  }
  const families: ZoneFamilySamples[] = [
    { family: ZONE_BYTES, samples: bytes },
    { family: ZONE_PACKETS, samples: packets },
    { family: ZONE_FLOWS, samples: flows },
    { family: WORKLOAD_BYTES, samples: workload },
  ];
  if (prices) families.push({ family: WORKLOAD_COST, samples: cost });
  return families;
}
