/**
 * What traffic costs per zone class: `--prices FILE` (YAML: a currency and a price per GiB per
 * class) or a preset built from a cloud's public list prices (`aws`, `gcp`, `azure`; sources and
 * dates in docs/operations.md). Cost is bytes ÷ 2^30 × the class's price, charged to the sender.
 * A class without a price has no cost series.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './options.ts';
import { ZONE_CLASSES, type ZoneClass } from '../aggregate/zone-class.ts';

export interface Prices {
  readonly currency: string;
  /** Price per GiB by class; absent classes cost nothing and get no series. */
  readonly perGiB: Readonly<Partial<Record<ZoneClass, number>>>;
  /** Where the figures come from (a preset's name, or the file's path). */
  readonly source: string;
}

/**
 * List prices per GB as the providers publish them, cheapest tier, used per GiB. A cross-zone GB
 * is billed on both sides by AWS (0.01 out + 0.01 in): charged here once, to the sender, as 0.02.
 */
export const PRICE_PRESETS: Readonly<Record<'aws' | 'gcp' | 'azure', Prices>> = {
  // aws.amazon.com/ec2/pricing/on-demand/ "Data Transfer": across AZs $0.01/GB each way; to
  // another region $0.02/GB (US and EU regions); to the internet $0.09/GB (first 10 TB a month).
  aws: { currency: 'USD', perGiB: { 'cross-zone': 0.02, 'cross-region': 0.02, internet: 0.09 }, source: 'aws' },
  // cloud.google.com/vpc/network-pricing: between zones of one region $0.01/GB; between regions
  // on one continent $0.02/GB; Premium Tier internet egress $0.12/GB (first TiB a month).
  gcp: { currency: 'USD', perGiB: { 'cross-zone': 0.01, 'cross-region': 0.02, internet: 0.12 }, source: 'gcp' },
  // azure.microsoft.com/pricing/details/bandwidth/: transfer between availability zones is not
  // charged; between regions within a continent $0.02/GB; internet egress $0.087/GB (first 10 TB,
  // after 100 GB free).
  azure: { currency: 'USD', perGiB: { 'cross-zone': 0, 'cross-region': 0.02, internet: 0.087 }, source: 'azure' },
};

export const PRICE_PRESET_NAMES = Object.keys(PRICE_PRESETS) as (keyof typeof PRICE_PRESETS)[];

/** A preset name or a YAML/JSON file; throws ConfigError('prices', ...) naming the bad field. */
export function loadPrices(value: string): Prices {
  const preset = (PRICE_PRESETS as Record<string, Prices>)[value];
  if (preset !== undefined) return preset;
  if (!existsSync(value)) {
    throw new ConfigError('prices', `${JSON.stringify(value)} is neither a preset (${PRICE_PRESET_NAMES.join(', ')}) nor a file`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(value, 'utf8'));
  } catch (err) {
    throw new ConfigError('prices', `${value}: ${(err as Error).message}`);
  }
  return parsePrices(doc, value);
}

/** A parsed price document to Prices; `where` names it in errors. */
export function parsePrices(doc: unknown, where: string): Prices {
  const fail = (field: string, msg: string): never => {
    throw new ConfigError('prices', `${where}: ${field}: ${msg}`);
  };
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return fail('(top level)', 'expected a mapping with currency and perGiB');
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'currency' && k !== 'perGiB') fail(k, 'unknown field; expected currency and perGiB');
  if (o.currency === undefined) fail('currency', 'missing (e.g. currency: USD)');
  if (typeof o.currency !== 'string' || !/^[A-Za-z][A-Za-z0-9_$€£¥.-]{0,15}$/.test(o.currency))
    fail('currency', `${JSON.stringify(o.currency)} is not a currency code`);
  if (o.perGiB === undefined) fail('perGiB', 'missing (e.g. perGiB: { cross-zone: 0.02 })');
  if (!o.perGiB || typeof o.perGiB !== 'object' || Array.isArray(o.perGiB)) fail('perGiB', 'expected a mapping of class to price');
  const perGiB: Partial<Record<ZoneClass, number>> = {};
  for (const [cls, price] of Object.entries(o.perGiB as Record<string, unknown>)) {
    if (!(ZONE_CLASSES as readonly string[]).includes(cls))
      fail(`perGiB.${cls}`, `unknown class; expected some of ${ZONE_CLASSES.join(', ')}`);
    if (typeof price !== 'number' || !Number.isFinite(price)) fail(`perGiB.${cls}`, `${JSON.stringify(price)} is not a number`);
    if ((price as number) < 0) fail(`perGiB.${cls}`, `${String(price)} is negative`);
    perGiB[cls as ZoneClass] = price as number;
  }
  return { currency: o.currency as string, perGiB, source: where };
}

/** Cost of `bytes` at `perGiB` (exact in the sense of one rounding: a product and a power of two). */
export function costOf(bytes: number, perGiB: number): number {
  return (bytes / 1073741824) * perGiB;
}
