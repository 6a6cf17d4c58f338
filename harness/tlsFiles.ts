/**
 * A throwaway certificate authority and a server certificate signed by it, made with the machine's
 * `openssl`, for TLS-only and plain-only test servers (pgCluster's `tls` option).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCa {
  dir: string;
  /** The CA certificate: what a client's sslrootcert names. */
  caCert: string;
  /** The server's certificate and key, for 127.0.0.1 and localhost only. */
  serverCert: string;
  serverKey: string;
  /** Removes the directory. */
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/**
 * Makes a CA and a server certificate whose names are `names` (default 127.0.0.1 and localhost):
 * verify-full to any other name fails, verify-ca does not check the name.
 */
export function makeTestCa(names: { ips?: string[]; dns?: string[] } = {}): TestCa {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pool-capacity-tls-'));
  const ips = names.ips ?? ['127.0.0.1'];
  const dns = names.dns ?? ['localhost'];
  const san = [...ips.map((ip) => `IP:${ip}`), ...dns.map((d) => `DNS:${d}`)].join(',');
  writeFileSync(path.join(dir, 'server.ext'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
  const key = ['-newkey', 'rsa:2048', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...key,
      '-days',
      '2',
      '-subj',
      '/CN=pool-capacity test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  openssl(
    ['req', ...key, '-subj', '/CN=pool-capacity test server', '-keyout', 'server.key', '-out', 'server.csr'],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
    ].concat(['-extfile', 'server.ext', '-out', 'server.crt']),
    dir,
  );
  return {
    dir,
    caCert: path.join(dir, 'ca.crt'),
    serverCert: path.join(dir, 'server.crt'),
    serverKey: path.join(dir, 'server.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
