/**
 * What the web configuration asks of each connection and request: the TLS server options, the
 * client-certificate policies Node's options cannot say alone, and HTTP basic auth against
 * bcrypt hashes, as the Prometheus exporter-toolkit does it.
 *
 * bcrypt is slow on purpose (a cost-10 check is tens of milliseconds of CPU), so bcryptjs runs
 * it in small async steps, and a credential that once matched is remembered (as a SHA-256 of
 * user and password, never the password) so a Prometheus scraping every 15 s pays it once.
 * An unknown user is checked against a dummy hash, so timing does not tell which users exist.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import type { ServerOptions as HttpsOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { WebTls } from './web-config.ts';

type Bcrypt = typeof import('bcryptjs').default;
/** bcryptjs, loaded when there are users to check: most collectors have none (it is 0.7 MiB of heap). */
const loadBcrypt = (): Bcrypt => createRequire(import.meta.url)('bcryptjs') as Bcrypt;

export function tlsServerOptions(tls: WebTls): HttpsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa ? { ca: tls.clientCa } : {}),
    requestCert: tls.clientAuth !== 'NoClientCert',
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
    minVersion: tls.minVersion,
    ...(tls.maxVersion ? { maxVersion: tls.maxVersion } : {}),
  };
}

/** Why a connection's client certificate does not satisfy the policy, or undefined when it does. */
export function clientCertRefusal(tls: WebTls, socket: TLSSocket): string | undefined {
  if (tls.clientAuth === 'NoClientCert' || tls.clientAuth === 'RequestClientCert') return undefined;
  const cert = socket.getPeerCertificate();
  const given = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
  if (tls.clientAuth === 'RequireAnyClientCert') return given ? undefined : 'no client certificate';
  if (tls.clientAuth === 'VerifyClientCertIfGiven')
    return !given || socket.authorized ? undefined : `client certificate not verified: ${String(socket.authorizationError)}`;
  // RequireAndVerifyClientCert: the handshake already refused unverified certificates.
  if (tls.clientAllowedSans.length === 0) return undefined;
  const sans = (cert.subjectaltname ?? '').split(', ').map((s) => s.replace(/^(DNS|IP Address|URI|email):/, ''));
  return sans.some((s) => tls.clientAllowedSans.includes(s)) ? undefined : 'client certificate SAN not allowed';
}

export type AuthResult = 'ok' | 'missing' | 'wrong';

export class BasicAuth {
  readonly #users: Map<string, string>;
  readonly #matched = new Map<string, string>();
  readonly #dummy: string;
  readonly #bcrypt: Bcrypt | undefined;

  constructor(users: Map<string, string>) {
    this.#users = users;
    this.#bcrypt = users.size > 0 ? loadBcrypt() : undefined;
    // Same cost as the first real hash, so an unknown user takes as long as a wrong password.
    this.#dummy = this.#bcrypt?.hashSync('netflow-k8s-dummy', this.#bcrypt.getRounds(users.values().next().value!)) ?? '';
  }

  get enabled(): boolean {
    return this.#users.size > 0;
  }

  async check(req: IncomingMessage): Promise<AuthResult> {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return 'missing';
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'wrong';
    const user = decoded.slice(0, colon),
      password = decoded.slice(colon + 1);
    const hash = this.#users.get(user);
    const key = createHash('sha256').update(user).update('\0').update(password).digest('hex');
    const seen = this.#matched.get(key);
    if (hash !== undefined && seen !== undefined && seen.length === hash.length && timingSafeEqual(Buffer.from(seen), Buffer.from(hash)))
      return 'ok';
    if (this.#bcrypt === undefined) return 'wrong';
    const ok = await this.#bcrypt.compare(password, hash ?? this.#dummy);
    if (!ok || hash === undefined) return 'wrong';
    // A few users scrape; the bound only guards against a flood of distinct good passwords.
    if (this.#matched.size >= 256) this.#matched.clear();
    this.#matched.set(key, hash);
    return 'ok';
  }
}
