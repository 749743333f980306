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
  /** The series' label values, in the family's label order (delta temporality keys the last value by them). */
  values: readonly string[];
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

/**
 * Attributes per series, by its label values (kept by zoneSamples while the series lasts): the
 * same attributes object from export to export is what lets the OTLP encoder reuse its encoded
 * bytes (otlp-encode.ts). Only the object: a key string and a holder per series were 90 bytes of
 * 16,000 workload series' 200.
 */
const identities = new WeakMap<readonly string[], Record<string, string>>();

function attributesOf(labels: ZoneFamily['labels'], values: readonly string[]): Record<string, string> {
  let attributes = identities.get(values);
  if (attributes === undefined) {
    attributes = {};
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      attributes[l.otel] = l.otelValues?.[values[i]] ?? values[i];
    }
    identities.set(values, attributes);
  }
  return attributes;
}

/** Every zone family, in a fixed order; the cost family only with prices. */
export function zoneSeries(store: PairStore, prices: Prices | undefined): ZoneSeries[] {
  return zoneSamples(store, prices).map(({ family, samples }) => ({
    name: family.otel,
    unit: family.unit ?? `{${prices?.currency}}`,
    description: family.description,
    double: family.double,
    points: samples.map((s) => ({ attributes: attributesOf(family.labels, s.values), values: s.values, value: s.value })),
  }));
}
