/**
 * `--dns-name-suffixes`: names that would each make their own series (one per S3 bucket, per CDN
 * edge host) grouped under a shared suffix. A rule is `*.SUFFIX` (the name becomes the part of
 * it that SUFFIX matched) or `*.SUFFIX=GROUP`; a `*` label inside SUFFIX matches any one label,
 * so `*.s3.*.amazonaws.com` keeps the region: `bucket.s3.eu-west-1.amazonaws.com` →
 * `s3.eu-west-1.amazonaws.com`. The most specific rule (most labels) wins. The word `default`
 * stands for DEFAULT_DNS_SUFFIXES; `none` turns grouping off.
 */

export class DnsSuffixError extends Error {}

/** The big clouds' per-resource host names and the CDNs' edge names. */
export const DEFAULT_DNS_SUFFIXES: readonly string[] = [
  // AWS
  '*.s3.amazonaws.com',
  '*.s3.*.amazonaws.com',
  '*.s3-website.*.amazonaws.com',
  '*.*.elb.amazonaws.com',
  '*.elb.amazonaws.com',
  '*.compute.amazonaws.com',
  '*.compute-1.amazonaws.com',
  '*.execute-api.*.amazonaws.com',
  '*.lambda-url.*.on.aws',
  '*.cloudfront.net',
  '*.awsglobalaccelerator.com',
  // Google Cloud
  '*.storage.googleapis.com',
  '*.googleusercontent.com',
  '*.appspot.com',
  '*.run.app',
  '*.cloudfunctions.net',
  '*.bc.googleusercontent.com',
  // Azure
  '*.blob.core.windows.net',
  '*.queue.core.windows.net',
  '*.table.core.windows.net',
  '*.file.core.windows.net',
  '*.azurewebsites.net',
  '*.cloudapp.azure.com',
  '*.trafficmanager.net',
  '*.azureedge.net',
  '*.azurefd.net',
  '*.database.windows.net',
  '*.servicebus.windows.net',
  // CDNs and edge networks
  '*.akamaiedge.net',
  '*.akamaized.net',
  '*.akamai.net',
  '*.edgekey.net',
  '*.edgesuite.net',
  '*.akamaihd.net',
  '*.fastly.net',
  '*.fastlylb.net',
  '*.cdn.cloudflare.net',
  '*.r2.cloudflarestorage.com',
  '*.b-cdn.net',
  '*.cdn77.org',
  '*.digitaloceanspaces.com',
  '*.hwcdn.net',
  '*.llnwd.net',
];

interface Rule {
  /** SUFFIX labels, last label first; '*' matches any one label. */
  readonly labels: readonly string[];
  readonly group: string | undefined;
}

export class DnsSuffixes {
  readonly #rules: Rule[] = [];

  get size(): number {
    return this.#rules.length;
  }

  /** Throws DnsSuffixError naming the bad rule. */
  add(rule: string): void {
    const [pattern, group, extra] = rule.trim().toLowerCase().split('=');
    if (extra !== undefined || !pattern.startsWith('*.') || pattern.length < 3)
      throw new DnsSuffixError(`${JSON.stringify(rule)}: expected *.SUFFIX or *.SUFFIX=GROUP`);
    const labels = pattern.slice(2).replace(/\.$/, '').split('.');
    if (labels.some((l) => l === '' || (l !== '*' && l.includes('*'))))
      throw new DnsSuffixError(`${JSON.stringify(rule)}: each label is a name or a lone *`);
    if (labels.every((l) => l === '*')) throw new DnsSuffixError(`${JSON.stringify(rule)}: the suffix needs a named label`);
    if (group !== undefined && group.trim() === '') throw new DnsSuffixError(`${JSON.stringify(rule)}: empty group`);
    this.#rules.push({ labels: labels.reverse(), group: group?.trim() });
    this.#rules.sort((a, b) => b.labels.length - a.labels.length);
  }

  /** The name to count `name` under (itself when no rule matches). */
  group(name: string): string {
    if (this.#rules.length === 0) return name;
    const labels = name.split('.');
    next: for (const r of this.#rules) {
      const n = r.labels.length;
      if (labels.length <= n) continue;
      for (let i = 0; i < n; i++) {
        const want = r.labels[i];
        if (want !== '*' && want !== labels[labels.length - 1 - i]) continue next;
      }
      return r.group ?? labels.slice(labels.length - n).join('.');
    }
    return name;
  }
}

/** The option's entries, with `default` expanded and `none` meaning no grouping. */
export function dnsSuffixesFromOption(entries: readonly string[]): DnsSuffixes {
  const s = new DnsSuffixes();
  if (entries.length === 1 && entries[0].trim() === 'none') return s;
  for (const e of entries) {
    if (e.trim() === 'default') for (const d of DEFAULT_DNS_SUFFIXES) s.add(d);
    else s.add(e);
  }
  return s;
}
