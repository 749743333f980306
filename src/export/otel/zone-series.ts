/**
 * The zone families (../zone-families.ts) in OpenTelemetry terms, without loading any
 * OpenTelemetry package: the OTLP producer (zones.ts) adds times and temporality, and the
 * `/metrics/otel` page (prometheus-text.ts) renders them as the official Prometheus exporter would.
 */
import type { PairStore } from '../../aggregate/pair-store.ts';
import type { Prices } from '../../config/prices.ts';
import { zoneSamples } from '../zone-families.ts';

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
  return zoneSamples(store, prices).map(({ family, samples }) => ({
    name: family.otel,
    unit: family.unit ?? `{${prices?.currency}}`,
    description: family.description,
    double: family.double,
    points: samples.map((s) => {
      const attributes: Record<string, string> = {};
      for (let i = 0; i < family.labels.length; i++) {
        const l = family.labels[i];
        attributes[l.otel] = l.otelValues?.[s.values[i]] ?? s.values[i];
      }
      return { attributes, key: s.values.join('\u0000'), value: s.value };
    }),
  }));
}
