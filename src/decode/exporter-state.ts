/**
 * What the decoder keeps per exporter (its domains, held data, templates and place in the
 * eviction order) and what each piece weighs against the state budget.
 */
import type { Exporter } from './record.ts';
import { bufferBytes, type Held as PooledHeld } from './held-pool.ts';
import type { DomainState } from './options-data.ts';
import type { Template } from './template.ts';

/**
 * What the budget charges. Estimates of V8's real cost (objects, Map entries, strings), on the
 * high side; RSS under the hostile test in test/e2e/run-hostile.test.ts is what keeps them honest.
 */
export const HELD_ENTRY_BYTES = 512;
export const EXPORTER_BYTES = 512;
export const DOMAIN_BYTES = 640;
export const TEMPLATE_BYTES = 512;
export const TEMPLATE_FIELD_BYTES = 80;
export const OPTION_ENTRY_BYTES = 128;

export const templateCost = (fields: number): number => TEMPLATE_BYTES + TEMPLATE_FIELD_BYTES * fields;
/** What a held data set of `len` body bytes weighs: its pooled buffer (held-pool.ts), its set header and the entry. */
export const heldWeight = (len: number): number => 4 + bufferBytes(len) + HELD_ENTRY_BYTES;

export type Held = PooledHeld<ExporterState>;

/** Domains (v9 source IDs, IPFIX observation domains) one exporter may have (a hostile one must not exhaust memory). */
export const MAX_DOMAINS_PER_EXPORTER = 1024;

/** v9 and IPFIX domains with the same number are different scopes. */
export const domainKey = (version: number, sourceId: number): number => sourceId * 2 + (version === 10 ? 1 : 0);
export const versionOfDomain = (dk: number): 9 | 10 => (dk % 2 === 1 ? 10 : 9);
export const sourceIdOfDomain = (dk: number): number => Math.floor(dk / 2);
/** (domain, template ID) in one number: domainKey < 2^33, so this stays below 2^49. */
export const addressKey = (dk: number, id: number): number => dk * 65536 + id;
/** The address part of an exporter key (`address|port`). */
export const addressOf = (key: string): string => {
  const bar = key.lastIndexOf('|');
  return bar < 0 ? key : key.slice(0, bar);
};

/** A template as the decoder keeps it: with its owner, so the address index can lead back. */
export interface LiveTemplate extends Template {
  readonly es: ExporterState;
  readonly dk: number;
  readonly dom: DomainState;
  readonly bytes: number;
}

export class ExporterState {
  readonly domains = new Map<number, DomainState>();
  pending: Held[] = [];
  heldBytes = 0;
  /** Everything this exporter costs the budget, held data included. */
  bytes = EXPORTER_BYTES;
  templateCount = 0;
  /** A template arrived in the current datagram: held data may now be decodable. */
  newTemplate = false;
  /** Last datagram (or shared set) from it. */
  touchedMs = -Infinity;
  /**
   * Seen since the eviction hand last passed it (CLOCK, a second chance): a datagram only sets
   * this flag on the object it touches anyway. Moving the exporter in a list on every datagram
   * cost three more cache misses, a tenth of the decode time with 50,000 exporters.
   */
  referenced = false;
  /** Neighbours in the eviction order: oldest first, and whoever the hand spares goes to the end. */
  older: ExporterState | undefined = undefined;
  newer: ExporterState | undefined = undefined;
  /** Evicted or forgotten: queued references to it are stale. */
  gone = false;
  /** Its bucket in the template-expiry wheel, 0 when none. */
  wheelSec = 0;
  readonly key: string;
  readonly address: string;
  /** The first Exporter object it came with: records of held data decoded for a sibling session name it. */
  readonly exporter: Exporter;
  constructor(key: string, address: string, exporter: Exporter) {
    this.key = key;
    this.address = address;
    this.exporter = exporter;
  }
}

/** What a pooled held entry, or a context between datagrams, points to: no exporter. */
export const VACANT = new ExporterState('', '', { address: '', port: 0, key: '' });
VACANT.gone = true;

/** Sessions of one exporter address, and the template each (version, domain, ID) had last there. */
export class AddressState {
  readonly sessions = new Set<ExporterState>();
  readonly templates = new Map<number, LiveTemplate>();
}
