/**
 * External addresses named by their autonomous system, from a MaxMind-format database in the
 * GeoLite2-ASN layout (`--asn-db`). Lookups allocate (the reader takes address text), so the
 * index calls this only on a miss of its own per-address cache.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AsnResponse, Reader } from 'maxmind';

// Loaded on the first open only: most deployments give no ASN database, and every receiving
// thread would otherwise carry the reader's modules (about 0.7 MiB of heap per isolate).
const loadReader = (): typeof Reader => (createRequire(import.meta.url)('maxmind') as typeof import('maxmind')).Reader;

// The organization is missing for some networks, whatever the library's type says.
type AsnRecord = AsnResponse;

export class AsnDatabase {
  readonly #reader: Reader<AsnRecord>;
  readonly path: string;

  private constructor(reader: Reader<AsnRecord>, path: string) {
    this.#reader = reader;
    this.path = path;
  }

  /** Open and validate the file now, so a bad `--asn-db` fails at start with its name in the error. */
  static open(path: string): AsnDatabase {
    let reader: Reader<AsnRecord>;
    try {
      reader = new (loadReader())<AsnRecord>(readFileSync(path));
    } catch (err) {
      throw new Error(`asn-db ${path}: ${(err as Error).message}`);
    }
    const type = reader.metadata.databaseType;
    if (!/ASN/i.test(type)) throw new Error(`asn-db ${path}: database type ${type} is not an ASN database (GeoLite2-ASN layout)`);
    return new AsnDatabase(reader, path);
  }

  /** `AS15169 Google Inc.`, or `AS7018` when the database has no organization; undefined when not listed. */
  lookup(address: string): string | undefined {
    let rec: AsnRecord | null;
    try {
      rec = this.#reader.get(address);
    } catch {
      return undefined;
    }
    const asn = rec?.autonomous_system_number as number | undefined;
    if (typeof asn !== 'number') return undefined;
    const org = rec?.autonomous_system_organization as string | undefined;
    return org ? `AS${asn} ${org}` : `AS${asn}`;
  }
}
