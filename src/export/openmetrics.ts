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
      const k = p.slice(0, eq).trim().toLowerCase(), v = p.slice(eq + 1).trim();
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
 * lines, then its samples) in OpenMetrics 1.0.0. Only comment lines change, and they are found
 * with indexOf, so the cost stays far below the render's on a 20,000-series page.
 */
export function toOpenMetrics(classic: string): string {
  let out = '';
  let from = 0;
  // A HELP line is held until its TYPE line tells how to name the family.
  let help: string | undefined;
  const nextComment = (pos: number): number => {
    const nl = classic.indexOf('\n# ', pos);
    return nl < 0 ? -1 : nl + 1;
  };
  for (let start = classic.startsWith('# ') ? 0 : nextComment(0); start >= 0; ) {
    out += classic.slice(from, start);
    let end = classic.indexOf('\n', start);
    if (end < 0) end = classic.length;
    const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(classic.slice(start, end));
    if (m?.[1] === 'HELP') help = m[3] ?? '';
    else if (m) {
      let name = m[2];
      let type = m[3] ?? 'unknown';
      if (type === 'counter') {
        if (name.endsWith('_total')) name = name.slice(0, -'_total'.length);
        else type = 'unknown';
      } else if (type === 'untyped') type = 'unknown';
      if (help !== undefined) out += `# HELP ${name} ${escapeOmHelp(help)}\n`;
      out += `# TYPE ${name} ${type}\n`;
      help = undefined;
    }
    // Other comments have no place in OpenMetrics and are left out.
    from = end + 1;
    start = nextComment(end);
  }
  if (from < classic.length) out += classic.slice(from);
  if (out.length > 0 && !out.endsWith('\n')) out += '\n';
  return `${out}# EOF\n`;
}
