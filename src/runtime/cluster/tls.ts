import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterTls } from './index';

function openssl(args: string[], cwd: string): void {
  const out = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (out.error)
    throw new Error(`openssl is needed to make the cluster's certificates: ${out.error.message}`);
  if (out.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${out.stderr}`);
}

/**
 * A certificate authority of the cluster's own and, signed by it, a certificate for the server's
 * services (for 127.0.0.1 and localhost; also used between them) and one for Steward's processes.
 * Made with `openssl` in `dir` (kept when present); for a test or a laptop, not for production,
 * where certificates come from your own PKI.
 */
export function makeClusterCertificates(dir: string, serverName = 'localhost'): ClusterTls {
  const files: ClusterTls = {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    serverName,
  };
  if (Object.values(files).every((f) => f === serverName || existsSync(f))) return files;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const days = '30';
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      days,
      '-subj',
      '/CN=Steward cluster CA',
    ],
    dir,
  );
  const issue = (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        subject,
      ],
      dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        days,
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  };
  // The server's services use their certificate both ways (serving, and calling one another).
  issue(
    'server',
    `/CN=${serverName}`,
    `subjectAltName=DNS:${serverName},DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
  );
  issue('client', '/CN=steward', 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  return files;
}
