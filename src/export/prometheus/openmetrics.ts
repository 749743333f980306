/**
 * OpenMetrics text 1.0.0 for /metrics, negotiated from the scraper's Accept header the way
 * client_golang does, and made from the classic page without rendering it twice.
 *
 * The sample names stay exactly those of the classic page, so the stored series are the same
 * whichever format a Prometheus asks for:
 * - a counter that ends in `_total` (every self-metric counter) becomes the family without the
 *   suffix, whose sample is `<family>_total` as OpenMetrics requires;
 * - a counter that does not (the seed's `netflow_connection_count`, `_bytes`, `_packets`) would
 *   be renamed `..._total` by OpenMetrics, so it is typed `unknown` instead: the sample names,
 *   and every query over them, stay as they are. `netflow_connection_count` as an `unknown`
 *   family is not a histogram's or summary's `_count`, which only exists inside those families.
 */

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type ScrapeFormat = 'classic' | 'openmetrics';

/**
 * The format to serve: OpenMetrics when the Accept header ranks `application/openmetrics-text`
 * (version 1.0.0 or unversioned) above the classic text format, else classic.
 */
export function negotiateFormat(accept: string | undefined): ScrapeFormat {
  if (!accept) return 'classic';
  let best: ScrapeFormat = 'classic';
  let bestQ = -1;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim());
    let q = 1;
    let version: string | undefined;
    for (const p of params) {
      const eq = p.indexOf('=');
      const k = p.slice(0, eq).trim().toLowerCase(),
        v = p.slice(eq + 1).trim();
      if (k === 'q') q = Number(v);
      else if (k === 'version') version = v;
    }
    if (!(q > 0)) continue;
    const t = type.toLowerCase();
    let format: ScrapeFormat | undefined;
    if (t === 'application/openmetrics-text' && (version === undefined || version === '1.0.0')) format = 'openmetrics';
    else if (t === 'text/plain' || t === '*/*' || t === 'text/*') format = 'classic';
    // Earlier ranges win ties, as in client_golang.
    if (format && q > bestQ) {
      best = format;
      bestQ = q;
    }
  }
  return best;
}

/** HELP text in OpenMetrics also escapes the double quote. */
const escapeOmHelp = (help: string): string => help.replace(/(\\*)"/g, (m: string, bs: string) => (bs.length % 2 ? m : `${bs}\\"`));

/**
 * The classic page (text format 0.0.4, as our renderers write it: each family's HELP and TYPE
 * lines, then its samples) in OpenMetrics 1.0.0. Only comment lines change. The page is worked
 * on as bytes: the samples between comment lines are copied once, never decoded, and the scan
 * for comment lines is Buffer.indexOf. (On a string, the scan flattened the renderer's rope and
 * the result had to be flattened and encoded again: three times the cost at 20,000 pairs.)
 */
export function openMetricsBytes(classic: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  // A HELP line is held until its TYPE line tells how to name the family.
  let help: string | undefined;
  const NL = 0x0a;
  const nextComment = (pos: number): number => {
    const nl = classic.indexOf('\n# ', pos);
    return nl < 0 ? -1 : nl + 1;
  };
  const startsWithComment = classic.length >= 2 && classic[0] === 0x23 && classic[1] === 0x20;
  for (let start = startsWithComment ? 0 : nextComment(0); start >= 0; ) {
    if (start > from) parts.push(classic.subarray(from, start));
    let end = classic.indexOf(NL, start);
    if (end < 0) end = classic.length;
    const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(classic.toString('utf8', start, end));
    if (m?.[1] === 'HELP') help = m[3] ?? '';
    else if (m) {
      let name = m[2];
      let type = m[3] ?? 'unknown';
      if (type === 'counter') {
        if (name.endsWith('_total')) name = name.slice(0, -'_total'.length);
        else type = 'unknown';
      } else if (type === 'untyped') type = 'unknown';
      parts.push(Buffer.from(`${help !== undefined ? `# HELP ${name} ${escapeOmHelp(help)}\n` : ''}# TYPE ${name} ${type}\n`));
      help = undefined;
    }
    // Other comments have no place in OpenMetrics and are left out.
    from = end + 1;
    start = nextComment(end);
  }
  if (from < classic.length) parts.push(classic.subarray(from));
  if (classic.length > 0 && classic[classic.length - 1] !== NL && from < classic.length) parts.push(Buffer.from('\n'));
  parts.push(Buffer.from('# EOF\n'));
  return Buffer.concat(parts);
}

/** The same on text (tests, small pages). */
export function toOpenMetrics(classic: string): string {
  return openMetricsBytes(Buffer.from(classic)).toString('utf8');
}
