/**
 * Options data records are state, not flows: sampling intervals, interface names and the
 * system init time, kept per (exporter, source ID / observation domain). They are rare, so a
 * plain interpreted walk is fine here; only flow records get compiled readers.
 */
import { num } from './interpret.ts';
import { IE, V9_SCOPE_INTERFACE, isVariable, type Template } from './template.ts';

/** What one observation domain told us about itself. */
export class DomainState {
  readonly templates = new Map<number, Template>();
  /** Sampler ID (field 48 / 302) → sampling interval. */
  readonly samplers = new Map<number, number>();
  /** Interval from options without a sampler ID (field 34, 50, or 305/306); 1 = unsampled. */
  defaultRate = 1;
  /** IPFIX systemInitTimeMilliseconds (field 160), 0 when not sent. */
  initMs = 0;
  /** ifIndex → interface name (field 82). */
  readonly ifNames = new Map<number, string>();
  /** Bumped whenever options data changes any of the above (what other threads must hear of). */
  changes = 0;
  /** What the decoder's state budget charged for the samplers and names above. */
  optionBytes = 0;
}

/** A hostile exporter must not make us keep unbounded option state. */
export const MAX_OPTION_ENTRIES = 65536;

const text = new TextDecoder('utf-8', { fatal: false });

/**
 * Reads the options records in u[p, end) into `dom`. Returns the number of records read and
 * whether a variable-length field ran past the end (`truncated`).
 */
export function readOptionsData(
  tpl: Template,
  dom: DomainState,
  v: DataView,
  u: Uint8Array,
  p: number,
  end: number,
  nfdumpSampling = false,
  /** Sampler and interface-name entries this domain may hold (the decoder's state budget). */
  maxEntries = MAX_OPTION_ENTRIES,
): { records: number; truncated: boolean } {
  let records = 0;
  const fields = tpl.fields;
  while (p + tpl.minLength <= end) {
    let q = p;
    let samplerId = -1;
    let interval = 0;
    let pktInterval = 0;
    let pktSpace = 0;
    let ifIndex = -1;
    let ifName: string | undefined;
    let init = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      let len = f.length;
      if (isVariable(f)) {
        if (q + 1 > end) return { records, truncated: true };
        len = u[q++];
        if (len === 255) {
          if (q + 2 > end) return { records, truncated: true };
          len = v.getUint16(q);
          q += 2;
        }
      }
      if (q + len > end) return { records, truncated: true };
      if (f.scope && tpl.version === 9) {
        if (f.type === V9_SCOPE_INTERFACE) ifIndex = num(v, u, q, len);
      } else if (f.enterprise === 0) {
        switch (f.type) {
          case IE.samplingInterval:
          case IE.samplerRandomInterval:
            interval = num(v, u, q, len);
            break;
          case IE.samplerId:
          case IE.selectorId:
            samplerId = num(v, u, q, len);
            break;
          case IE.samplingPacketInterval:
            pktInterval = num(v, u, q, len);
            break;
          case IE.samplingPacketSpace:
            pktSpace = num(v, u, q, len);
            break;
          case IE.ingressInterface:
            if (ifIndex < 0) ifIndex = num(v, u, q, len);
            break;
          case IE.interfaceName: {
            let e = q;
            while (e < q + len && u[e] !== 0) e++;
            ifName = text.decode(u.subarray(q, e));
            break;
          }
          case IE.systemInitTimeMilliseconds:
            init = num(v, u, q, len);
            break;
        }
      }
      q += len;
    }
    records++;
    // packetInterval of every (packetInterval + packetSpace) packets is sampled.
    const rate = interval > 0 ? interval : pktInterval > 0 ? (pktInterval + pktSpace) / pktInterval : 0;
    // nfdump 1.7 keeps only the first record of a sampler options set, and only samplers with
    // an ID: reproduce that when asked, so counts can be compared with its output.
    if (rate > 0 && (!nfdumpSampling || (records === 1 && samplerId >= 0))) {
      if (samplerId < 0) {
        if (dom.defaultRate !== rate) {
          dom.defaultRate = rate;
          dom.changes++;
        }
      } else if ((dom.samplers.size < maxEntries || dom.samplers.has(samplerId)) && dom.samplers.get(samplerId) !== rate) {
        dom.samplers.set(samplerId, rate);
        dom.changes++;
      }
    }
    if (
      ifName !== undefined &&
      ifIndex >= 0 &&
      (dom.ifNames.size < maxEntries || dom.ifNames.has(ifIndex)) &&
      dom.ifNames.get(ifIndex) !== ifName
    ) {
      dom.ifNames.set(ifIndex, ifName);
      dom.changes++;
    }
    if (init > 0 && dom.initMs !== init) {
      dom.initMs = init;
      dom.changes++;
    }
    if (q === p) break; // an all-zero-length record: nothing more to read here
    p = q;
  }
  return { records, truncated: false };
}
