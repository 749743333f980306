/**
 * `--web-config-file`: the Prometheus exporter-toolkit web configuration, the file node_exporter
 * and every other Prometheus exporter already take, for all of our HTTP endpoints:
 *
 *   tls_server_config:      cert_file, key_file (or inline cert, key), client_ca_file,
 *                           client_auth_type, client_allowed_sans, min_version, max_version
 *   http_server_config:     headers (the toolkit's five security headers), http2
 *   basic_auth_users:       user: bcrypt hash
 *
 * Relative paths are taken from the file's own directory, as the toolkit does. A setting the
 * toolkit has and we do not implement (cipher_suites, ...) is an error rather than silently
 * weaker security. Every error names the key.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SecureVersion } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config/options.ts';

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

/** The toolkit allows these response headers only, some with fixed values. */
const HEADER_VALUES: Record<string, RegExp | undefined> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': /^nosniff$/,
  'X-Frame-Options': /^(deny|sameorigin)$/i,
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

export interface WebTls {
  cert: Buffer;
  key: Buffer;
  clientCa: Buffer | undefined;
  clientAuth: ClientAuthType;
  /** Accepted client certificates must carry one of these SANs (empty: any). */
  clientAllowedSans: string[];
  minVersion: SecureVersion;
  maxVersion: SecureVersion | undefined;
}

export interface WebConfig {
  readonly file: string;
  /** The file and the TLS files it names: what to watch for changes. */
  readonly files: string[];
  tls: WebTls | undefined;
  /** user -> bcrypt hash; empty: no authentication. */
  users: Map<string, string>;
  headers: Record<string, string>;
}

type Doc = Record<string, unknown>;

function mapping(v: unknown, key: string, file: string): Doc {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError('webConfigFile', `${file}: ${key} must be a mapping`);
  return v as Doc;
}

function onlyKeys(doc: Doc, allowed: readonly string[], where: string, file: string): void {
  for (const k of Object.keys(doc)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(
        'webConfigFile',
        `${file}: ${where}${k} is ${KNOWN_UNSUPPORTED.has(k) ? 'not supported by netflow-k8s' : 'not a known key'} ` +
          `(supported: ${allowed.join(', ')})`,
      );
    }
  }
}
const KNOWN_UNSUPPORTED = new Set(['cipher_suites', 'curve_preferences', 'prefer_server_cipher_suites', 'rate_limit']);

function str(doc: Doc, key: string, where: string, file: string): string | undefined {
  const v = doc[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ConfigError('webConfigFile', `${file}: ${where}${key} must be a string`);
  return v;
}

function readPem(path: string, key: string, base: string, file: string, files: string[]): Buffer {
  files.push(resolve(base, path));
  try {
    return readFileSync(resolve(base, path));
  } catch (err) {
    throw new ConfigError(
      'webConfigFile',
      `${file}: tls_server_config.${key}: cannot read ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

/** Read and check the file; throws ConfigError naming `webConfigFile` and the key. */
export function loadWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('webConfigFile', `cannot read ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('webConfigFile', `${file} is not valid YAML: ${(err as Error).message}`);
  }
  const top = mapping(doc, 'the file', file);
  onlyKeys(top, ['tls_server_config', 'http_server_config', 'basic_auth_users'], '', file);
  const base = dirname(resolve(file));
  const files = [resolve(file)];

  let tls: WebTls | undefined;
  const t = mapping(top.tls_server_config, 'tls_server_config', file);
  const w = 'tls_server_config.';
  onlyKeys(
    t,
    ['cert_file', 'key_file', 'cert', 'key', 'client_ca_file', 'client_auth_type', 'client_allowed_sans', 'min_version', 'max_version'],
    w,
    file,
  );
  if (Object.keys(t).length > 0) {
    const certFile = str(t, 'cert_file', w, file),
      keyFile = str(t, 'key_file', w, file);
    const certInline = str(t, 'cert', w, file),
      keyInline = str(t, 'key', w, file);
    if (!certFile && !certInline) throw new ConfigError('webConfigFile', `${file}: tls_server_config needs cert_file (or cert)`);
    if (!keyFile && !keyInline) throw new ConfigError('webConfigFile', `${file}: tls_server_config needs key_file (or key)`);
    const cert = certInline ? Buffer.from(certInline) : readPem(certFile!, 'cert_file', base, file, files);
    const key = keyInline ? Buffer.from(keyInline) : readPem(keyFile!, 'key_file', base, file, files);
    const caFile = str(t, 'client_ca_file', w, file);
    const authText = str(t, 'client_auth_type', w, file) ?? 'NoClientCert';
    if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(authText)) {
      throw new ConfigError(
        'webConfigFile',
        `${file}: tls_server_config.client_auth_type: expected one of ${CLIENT_AUTH_TYPES.join(', ')}, got ${JSON.stringify(authText)}`,
      );
    }
    const clientAuth = authText as ClientAuthType;
    if (caFile && clientAuth === 'NoClientCert')
      throw new ConfigError('webConfigFile', `${file}: tls_server_config.client_ca_file is set but client_auth_type is NoClientCert`);
    if (!caFile && (clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert')) {
      throw new ConfigError('webConfigFile', `${file}: tls_server_config.client_auth_type ${clientAuth} needs client_ca_file`);
    }
    const sans = t.client_allowed_sans ?? [];
    if (!Array.isArray(sans) || sans.some((s) => typeof s !== 'string'))
      throw new ConfigError('webConfigFile', `${file}: tls_server_config.client_allowed_sans must be a list of strings`);
    if (sans.length > 0 && clientAuth !== 'RequireAndVerifyClientCert')
      throw new ConfigError(
        'webConfigFile',
        `${file}: tls_server_config.client_allowed_sans needs client_auth_type RequireAndVerifyClientCert`,
      );
    const version = (k: string, d: SecureVersion | undefined): SecureVersion | undefined => {
      const v = str(t, k, w, file);
      if (v === undefined) return d;
      if (!TLS_VERSIONS[v])
        throw new ConfigError(
          'webConfigFile',
          `${file}: tls_server_config.${k}: expected one of ${Object.keys(TLS_VERSIONS).join(', ')}, got ${JSON.stringify(v)}`,
        );
      return TLS_VERSIONS[v];
    };
    tls = {
      cert,
      key,
      clientAuth,
      clientCa: caFile ? readPem(caFile, 'client_ca_file', base, file, files) : undefined,
      clientAllowedSans: sans as string[],
      minVersion: version('min_version', 'TLSv1.2')!,
      maxVersion: version('max_version', undefined),
    };
  }

  const h = mapping(top.http_server_config, 'http_server_config', file);
  onlyKeys(h, ['headers', 'http2'], 'http_server_config.', file);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(mapping(h.headers, 'http_server_config.headers', file))) {
    const canonical = Object.keys(HEADER_VALUES).find((k) => k.toLowerCase() === name.toLowerCase());
    if (!canonical)
      throw new ConfigError(
        'webConfigFile',
        `${file}: http_server_config.headers.${name} is not allowed (allowed: ${Object.keys(HEADER_VALUES).join(', ')})`,
      );
    const pattern = HEADER_VALUES[canonical];
    if (typeof value !== 'string' || (pattern && !pattern.test(value)))
      throw new ConfigError('webConfigFile', `${file}: http_server_config.headers.${name}: bad value ${JSON.stringify(value)}`);
    headers[canonical] = value;
  }

  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(mapping(top.basic_auth_users, 'basic_auth_users', file))) {
    if (typeof hash !== 'string' || !/^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      throw new ConfigError(
        'webConfigFile',
        `${file}: basic_auth_users.${user} must be a bcrypt hash (e.g. from htpasswd -nBC 10 "" | tr -d ':\\n')`,
      );
    }
    if (user.includes(':'))
      throw new ConfigError('webConfigFile', `${file}: basic_auth_users: a user name cannot contain ':' (${JSON.stringify(user)})`);
    users.set(user, hash);
  }
  return { file, files, tls, users, headers };
}
