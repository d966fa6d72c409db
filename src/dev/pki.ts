import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './binaries.ts';

/**
 * A small certificate authority for the local control plane: a serving certificate for
 * the apiserver, client certificates for users, and the service-account signing key.
 * openssl does the work (Debian always has it); EC P-256 keys keep it fast.
 */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
/** A new P-256 key and a certificate for ten years (self-signed, or signed with -CA). */
const NEW_CERT = ['req', '-x509', ...EC, '-days', '3650'];

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

export async function createPki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const pki: Pki = {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
  if (!(await exists(pki.caCert))) {
    await run('openssl', [
      ...NEW_CERT,
      '-subj',
      '/CN=sluice-local-ca',
      '-keyout',
      pki.caKey,
      '-out',
      pki.caCert,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
  }
  if (!(await exists(pki.serverCert))) {
    await issue(pki, pki.serverCert, pki.serverKey, '/CN=kube-apiserver', [
      'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
      'extendedKeyUsage=serverAuth',
    ]);
  }
  if (!(await exists(pki.serviceAccountKey))) {
    await run('openssl', [
      'ecparam',
      '-name',
      'prime256v1',
      '-genkey',
      '-noout',
      '-out',
      pki.serviceAccountKey,
    ]);
    await run('openssl', ['ec', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub]);
  }
  return pki;
}

async function issue(
  pki: Pki,
  cert: string,
  key: string,
  subject: string,
  extensions: string[],
): Promise<void> {
  await run('openssl', [
    ...NEW_CERT,
    '-subj',
    subject,
    '-CA',
    pki.caCert,
    '-CAkey',
    pki.caKey,
    '-keyout',
    key,
    '-out',
    cert,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    ...extensions.flatMap((e) => ['-addext', e]),
  ]);
}

/** A client certificate: the apiserver reads the user from CN and the groups from O. */
export async function issueClientCert(
  pki: Pki,
  user: string,
  groups: string[],
): Promise<{ cert: string; key: string }> {
  const safe = user.replace(/[^a-zA-Z0-9_.-]/g, '_');
  const cert = join(pki.dir, `user-${safe}.crt`);
  const key = join(pki.dir, `user-${safe}.key`);
  if (!(await exists(cert))) {
    const subject = `${groups.map((g) => `/O=${g}`).join('')}/CN=${user}`;
    await issue(pki, cert, key, subject, ['extendedKeyUsage=clientAuth']);
  }
  return { cert, key };
}
