// A throwaway certificate authority for the TLS tests: a CA, a server
// certificate for 127.0.0.1/localhost and a client certificate, made with the
// real `openssl` CLI into a directory the test owns. Tests reuse it instead of
// checking key material into the tree (keys in git expire and get copied).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// One certificate signed by the CA in dir; `ext` is its extensions section.
function signed(dir, name, subject, ext, serial) {
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-set_serial', String(serial), '-days', '2', '-sha256', '-extfile', `${name}.ext`,
    '-out', `${name}.pem`], dir);
}

// makeCerts(dir, {serial}) -> {ca, cert, key, clientCert, clientKey} (paths).
// `serial` is the server certificate's serial number (default 1000), so a
// rotation test can tell the old certificate from the new one.
export function makeCerts(dir, { serial = 1000 } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, 'ca.pem'))) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=jugglite test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  }
  signed(dir, 'server', '/CN=localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n', serial);
  signed(dir, 'client', '/CN=jugglite test client', 'extendedKeyUsage=clientAuth\n', serial + 1);
  return {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'client.pem'),
    clientKey: path.join(dir, 'client.key'),
  };
}
