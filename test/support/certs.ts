/**
 * Certificates for tests, made with the real `openssl` in a temp dir: a CA, and server or client
 * certificates it signs (server ones valid for 127.0.0.1 and localhost). Paths are returned so
 * the program under test reads them the way an operator's files are read.
 *
 *   const pki = makePki();                    // t.after(() => pki.remove())
 *   const ca = pki.ca('test-ca');
 *   const server = pki.leaf(ca, 'server', 'server');
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const opensslAvailable = (): boolean => spawnSync('openssl', ['version'], { stdio: 'ignore' }).error === undefined;

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
  /** The PEM text of the certificate. */
  certPem(): Buffer;
  keyPem(): Buffer;
}

export interface Pki {
  readonly dir: string;
  ca(name: string): CertFiles;
  /** `san`: the subjectAltName (default: IP:127.0.0.1,DNS:localhost for servers, none for clients). */
  leaf(ca: CertFiles, name: string, use: 'server' | 'client', san?: string): CertFiles;
  remove(): void;
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { stdio: 'pipe' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr.toString()}`);
}

function files(dir: string, name: string): CertFiles {
  const cert = join(dir, `${name}.crt`),
    key = join(dir, `${name}.key`);
  return { cert, key, certPem: () => readFileSync(cert), keyPem: () => readFileSync(key) };
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'pki-'));
  return {
    dir,
    ca(name) {
      const f = files(dir, name);
      openssl([
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-keyout',
        f.key,
        '-out',
        f.cert,
      ]);
      return f;
    },
    leaf(ca, name, use, san) {
      const f = files(dir, name);
      const csr = join(dir, `${name}.csr`),
        ext = join(dir, `${name}.ext`);
      openssl([
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        f.key,
        '-out',
        csr,
      ]);
      const altName = san ?? (use === 'server' ? 'IP:127.0.0.1,DNS:localhost' : undefined);
      writeFileSync(
        ext,
        `${altName ? `subjectAltName=${altName}\n` : ''}extendedKeyUsage=${use === 'server' ? 'serverAuth' : 'clientAuth'}\n`,
      );
      openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca.cert,
        '-CAkey',
        ca.key,
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        ext,
        '-out',
        f.cert,
      ]);
      return f;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
