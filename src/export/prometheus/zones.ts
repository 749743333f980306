/**
 * The zone families on /metrics: traffic per zone pair and class, traffic per workload and
 * class in each direction, and (with --prices) what each workload's sent traffic costs:
 *
 *   netflow_zone_traffic_bytes_total{src_zone, dst_zone, class}   (+ _packets_total, _flows_total)
 *   netflow_workload_traffic_bytes_total{namespace, app, class, direction}
 *   netflow_workload_traffic_cost_total{namespace, app, class, direction="egress", currency}
 *
 * `app` is the seed's srchost/dsthost value. Rendered from the store when scraped.
 */
import type { PairStore } from '../../aggregate/pair-store.ts';
import { ZONE_CLASSES, type ZoneClass } from '../../aggregate/zone-class.ts';
import { costOf, type Prices } from '../../config/prices.ts';
import { escapeLabelValue, formatNumber } from '../../observe/metrics.ts';

export interface WorkloadTrafficRow {
  readonly namespace: string;
  readonly app: string;
  /** Bytes sent and received per class code. */
  readonly sent: number[];
  readonly received: number[];
}

/** The store's ends summed per (namespace, app): what the workload families show. */
export function workloadTraffic(store: PairStore): WorkloadTrafficRow[] {
  const rows = new Map<string, WorkloadTrafficRow>();
  for (const e of store.ends()) {
    const t = e.traffic();
    if (t === undefined) continue;
    const key = `${e.labels.namespace}\u0000${e.labels.host}`;
    let r = rows.get(key);
    if (r === undefined) {
      r = { namespace: e.labels.namespace, app: e.labels.host, sent: [0, 0, 0, 0, 0, 0, 0], received: [0, 0, 0, 0, 0, 0, 0] };
      rows.set(key, r);
    }
    for (let c = 0; c < ZONE_CLASSES.length; c++) {
      r.sent[c] += t[c];
      r.received[c] += t[7 + c];
    }
  }
  return [...rows.values()];
}

/**
 * Ends outside the cluster (the seed's `external` and `unknown` pseudo-namespaces) pay nothing:
 * what they send is inbound traffic, which the clouds do not bill.
 */
export const outsideSender = (namespace: string): boolean => namespace === 'external' || namespace === 'unknown';

const head = (name: string, help: string): string => `# HELP ${name} ${help}\n# TYPE ${name} counter\n`;

export class ZonePrometheusRenderer {
  readonly #store: PairStore;
  readonly #prices: Prices | undefined;

  constructor(store: PairStore, prices?: Prices) {
    this.#store = store;
    this.#prices = prices;
  }

  render(): string {
    let bytes = head('netflow_zone_traffic_bytes_total', 'Bytes per source zone, destination zone and zone class');
    let packets = head('netflow_zone_traffic_packets_total', 'Packets per source zone, destination zone and zone class');
    let flows = head('netflow_zone_traffic_flows_total', 'Flows per source zone, destination zone and zone class');
    for (const r of this.#store.zones.rows) {
      const l = `class="${r.cls}",dst_zone="${escapeLabelValue(r.dstZone)}",src_zone="${escapeLabelValue(r.srcZone)}"`;
      bytes += `netflow_zone_traffic_bytes_total{${l}} ${formatNumber(r.bytes)}\n`;
      packets += `netflow_zone_traffic_packets_total{${l}} ${formatNumber(r.packets)}\n`;
      flows += `netflow_zone_traffic_flows_total{${l}} ${formatNumber(r.flows)}\n`;
    }
    let wl = head(
      'netflow_workload_traffic_bytes_total',
      "Bytes a workload (the seed's srchost/dsthost) sent (egress) or received (ingress), per zone class",
    );
    const prices = this.#prices;
    let cost = prices
      ? head(
          'netflow_workload_traffic_cost_total',
          "What the bytes a workload sent cost, per zone class (bytes / 2^30 x the class's price per GiB)",
        )
      : '';
    const currency = prices ? escapeLabelValue(prices.currency) : '';
    for (const r of workloadTraffic(this.#store)) {
      const who = `app="${escapeLabelValue(r.app)}"`;
      const ns = `namespace="${escapeLabelValue(r.namespace)}"`;
      for (let c = 0; c < ZONE_CLASSES.length; c++) {
        const cls: ZoneClass = ZONE_CLASSES[c];
        if (r.sent[c] > 0)
          wl += `netflow_workload_traffic_bytes_total{${who},class="${cls}",direction="egress",${ns}} ${formatNumber(r.sent[c])}\n`;
        if (r.received[c] > 0)
          wl += `netflow_workload_traffic_bytes_total{${who},class="${cls}",direction="ingress",${ns}} ${formatNumber(r.received[c])}\n`;
        const price = prices?.perGiB[cls];
        if (price !== undefined && r.sent[c] > 0 && !outsideSender(r.namespace)) {
          cost += `netflow_workload_traffic_cost_total{${who},class="${cls}",currency="${currency}",direction="egress",${ns}} ${formatNumber(costOf(r.sent[c], price))}\n`;
        }
      }
    }
    return bytes + packets + flows + wl + cost;
  }
}
