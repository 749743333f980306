/**
 * The zone families (../zone-families.ts) in OpenTelemetry terms, without loading any
 * OpenTelemetry package: the OTLP producer (zones.ts) adds times and temporality, and the
 * `/metrics/otel` page (prometheus-text.ts) renders them as the official Prometheus exporter would.
 */
import type { PairStore } from '../../aggregate/pair-store.ts';
import type { Prices } from '../../config/prices.ts';
import { type ZoneFamily, zoneSamples } from '../zone-families.ts';

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

interface SeriesIdentity {
  readonly attributes: Record<string, string>;
  readonly key: string;
}
/**
 * Attributes and key per series, by its label values (kept by zoneSamples while the series
 * lasts): the same attributes object from export to export is what lets the OTLP encoder reuse
 * its encoded bytes (otlp-encode.ts).
 */
const identities = new WeakMap<readonly string[], SeriesIdentity>();

function identityOf(labels: ZoneFamily['labels'], values: readonly string[]): SeriesIdentity {
  let id = identities.get(values);
  if (id === undefined) {
    const attributes: Record<string, string> = {};
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      attributes[l.otel] = l.otelValues?.[values[i]] ?? values[i];
    }
    identities.set(values, (id = { attributes, key: values.join('\u0000') }));
  }
  return id;
}

/** Every zone family, in a fixed order; the cost family only with prices. */
export function zoneSeries(store: PairStore, prices: Prices | undefined): ZoneSeries[] {
  return zoneSamples(store, prices).map(({ family, samples }) => ({
    name: family.otel,
    unit: family.unit ?? `{${prices?.currency}}`,
    description: family.description,
    double: family.double,
    points: samples.map((s) => {
      const { attributes, key } = identityOf(family.labels, s.values);
      return { attributes, key, value: s.value };
    }),
  }));
}
