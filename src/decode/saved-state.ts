/**
 * The decoder's state as it leaves a decoder: a set handed to the other receiving threads
 * (SharedSet), and the JSON snapshot of templates and options state written to disk
 * (SavedTemplates).
 */

/**
 * A set that changed a decoder's state: templates and options templates (new, changed or
 * withdrawn) and options data that changed a sampling rate, an interface name or the init time.
 * When one exporter's datagrams are spread over several receiving threads, each thread hands
 * these to the others (Decoder.onShare → Decoder.applyShared), so every thread can decode every
 * datagram of the exporter and applies the same sampling. Only sets read without an error are
 * shared, so nothing is counted twice as malformed.
 */
export interface SharedSet {
  version: 9 | 10;
  sourceId: number;
  /** As sent: 0/1 (v9) or 2/3 (IPFIX) for template sets; an options template's ID for options data. */
  setId: number;
  /** The set's body, after its 4-byte header (a copy). */
  body: Uint8Array;
  baseMs: number;
  uptime: number;
}

/** JSON form of the decoder's state: templates plus what options data taught us. */
export interface SavedTemplates {
  format: 'netflow-k8s-templates';
  formatVersion: 1;
  exporters: SavedExporter[];
}

export interface SavedExporter {
  key: string;
  domains: SavedDomain[];
}

export interface SavedDomain {
  version: 9 | 10;
  sourceId: number;
  templates: { id: number; options: boolean; fields: [type: number, length: number, enterprise: number, scope: 0 | 1][] }[];
  defaultRate: number;
  samplers: [id: number, rate: number][];
  initMs: number;
  ifNames: [ifIndex: number, name: string][];
}
