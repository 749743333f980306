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
import type { End, PairStore } from '../aggregate/pair-store.ts';
import { ZONE_CLASSES } from '../aggregate/zone-class.ts';
import { costOf, type Prices } from '../config/prices.ts';

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

/** A workload's row, kept while the workload has traffic in the store. */
class WorkloadRow implements WorkloadTrafficRow {
  readonly namespace: string;
  readonly app: string;
  readonly sent = [0, 0, 0, 0, 0, 0, 0];
  readonly received = [0, 0, 0, 0, 0, 0, 0];
  /** The collection that last summed it; -1 once it left the table. */
  epoch = 0;
  /** Its live ends and the traffic each had at the last collection. */
  readonly ends = new Map<End, readonly number[]>();
  /**
   * What ends that left the store had sent and received: a pod's end is freed when its pairs
   * expire, and the workload's counters must not go down while its other pods carry on.
   */
  readonly baseSent = [0, 0, 0, 0, 0, 0, 0];
  readonly baseReceived = [0, 0, 0, 0, 0, 0, 0];
  /** Sample label values per class code and direction (egress 2c, ingress 2c+1), then cost per class. */
  readonly values: (readonly string[] | undefined)[] = [];
  constructor(namespace: string, app: string) {
    this.namespace = namespace;
    this.app = app;
  }
}

interface WorkloadTable {
  readonly rows: Map<string, WorkloadRow>;
  readonly byEnd: WeakMap<End, WorkloadRow>;
  /** The collection that last saw each end. */
  readonly seen: WeakMap<End, number>;
  epoch: number;
}
const workloadTables = new WeakMap<PairStore, WorkloadTable>();

/** The store's ends summed per (namespace, app): what the workload families show. */
export function workloadTraffic(store: PairStore): WorkloadTrafficRow[] {
  return workloadRows(store);
}

function workloadRows(store: PairStore): WorkloadRow[] {
  let table = workloadTables.get(store);
  if (table === undefined) workloadTables.set(store, (table = { rows: new Map(), byEnd: new WeakMap(), seen: new WeakMap(), epoch: 0 }));
  const epoch = ++table.epoch;
  const out: WorkloadRow[] = [];
  for (const e of store.ends()) {
    const t = e.traffic();
    if (t === undefined) continue;
    let r = table.byEnd.get(e);
    if (r === undefined || r.epoch < 0) {
      const key = `${e.labels.namespace}\u0000${e.labels.host}`;
      r = table.rows.get(key);
      if (r === undefined) table.rows.set(key, (r = new WorkloadRow(e.labels.namespace, e.labels.host)));
      table.byEnd.set(e, r);
    }
    if (r.epoch !== epoch) {
      r.epoch = epoch;
      for (let c = 0; c < ZONE_CLASSES.length; c++) {
        r.sent[c] = r.baseSent[c];
        r.received[c] = r.baseReceived[c];
      }
      out.push(r);
    }
    r.ends.set(e, t);
    table.seen.set(e, epoch);
    for (let c = 0; c < ZONE_CLASSES.length; c++) {
      r.sent[c] += t[c];
      r.received[c] += t[ZONE_CLASSES.length + c];
    }
  }
  for (const [key, r] of table.rows) {
    if (r.epoch !== epoch) {
      // No end of it is left: the series goes, as a seed row does when its last pair expires.
      table.rows.delete(key);
      r.epoch = -1;
      continue;
    }
    for (const [e, last] of r.ends) {
      if (table.seen.get(e) === epoch) continue;
      // Gone since the last collection: what it had counted stays in the workload's totals.
      r.ends.delete(e);
      for (let c = 0; c < ZONE_CLASSES.length; c++) {
        r.baseSent[c] += last[c];
        r.baseReceived[c] += last[ZONE_CLASSES.length + c];
        r.sent[c] += last[c];
        r.received[c] += last[ZONE_CLASSES.length + c];
      }
    }
  }
  return out;
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
  for (const r of workloadRows(store)) {
    const v = r.values;
    for (let c = 0; c < ZONE_CLASSES.length; c++) {
      const cls = ZONE_CLASSES[c];
      if (r.sent[c] > 0) workload.push({ values: (v[2 * c] ??= [r.namespace, r.app, cls, 'egress']), value: r.sent[c] });
      if (r.received[c] > 0) workload.push({ values: (v[2 * c + 1] ??= [r.namespace, r.app, cls, 'ingress']), value: r.received[c] });
      const price = prices?.perGiB[cls];
      if (prices && price !== undefined && r.sent[c] > 0 && !outsideSender(r.namespace)) {
        const values = (v[2 * ZONE_CLASSES.length + c] ??= [r.namespace, r.app, cls, 'egress', prices.currency]);
        cost.push({ values, value: costOf(r.sent[c], price) });
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
