/**
 * The test PKI: certificates chain to the CA, carry the right usages and names, and the client
 * PKCS#12 is readable by Node's own TLS stack (OpenSSL 3) and usable for a real mutual-TLS
 * handshake.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { generateTestPki } from '../../lib/security/pki';

const pki = generateTestPki({ p12Passphrase: 'Roc-Bridge-2026!' });
const ca = new X509Certificate(pki.caCert);
const server = new X509Certificate(pki.serverCert);
const client = new X509Certificate(pki.clientCert);

test('server and client certificates are signed by the CA; the CA is a CA, the others are not', () => {
  expect(ca.ca).toBe(true);
  expect(ca.verify(ca.publicKey)).toBe(true);
  expect(server.verify(ca.publicKey)).toBe(true);
  expect(client.verify(ca.publicKey)).toBe(true);
  expect(server.checkIssued(ca)).toBe(true);
  expect(client.checkIssued(ca)).toBe(true);
  expect(server.ca).toBe(false);
  expect(client.ca).toBe(false);
  expect(server.verify(new X509Certificate(generateTestPki().caCert).publicKey)).toBe(false);
});

test('the server certificate names localhost and 127.0.0.1 and is for TLS servers', () => {
  expect(server.checkHost('localhost')).toBe('localhost');
  expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
  expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
});

test('extra server names go into the SAN', () => {
  const p = generateTestPki({ serverNames: ['amc-miroir.roc.test', '10.1.2.3'] });
  const s = new X509Certificate(p.serverCert);
  expect(s.checkHost('amc-miroir.roc.test')).toBe('amc-miroir.roc.test');
  expect(s.checkIP('10.1.2.3')).toBe('10.1.2.3');
  expect(s.checkHost('localhost')).toBeUndefined();
});

test('the client certificate looks like an IGC-Santé organisation certificate and is for TLS clients', () => {
  expect(client.subject.split('\n')).toEqual(['CN=CH TEST ROC BRIDGE', 'OU=750712184', 'O=CENTRE HOSPITALIER DE TEST ROC BRIDGE', 'C=FR']);
  expect(client.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  expect(client.checkPrivateKey(createPrivateKey(pki.clientKey))).toBe(true);
});

test('the PKCS#12 loads in tls.createSecureContext with its passphrase, and not with another', () => {
  const pfx = Buffer.from(pki.clientP12Base64, 'base64');
  expect(() => tls.createSecureContext({ pfx, passphrase: 'Roc-Bridge-2026!' })).not.toThrow();
  expect(() => tls.createSecureContext({ pfx, passphrase: 'wrong' })).toThrow(/mac verify failure/);
});

test('a random passphrase is generated when none is given', () => {
  const p = generateTestPki();
  expect(p.p12Passphrase.length).toBeGreaterThanOrEqual(12);
  expect(() => tls.createSecureContext({ pfx: Buffer.from(p.clientP12Base64, 'base64'), passphrase: p.p12Passphrase })).not.toThrow();
});

test('clientNotAfter sets the client certificate’s end of validity', () => {
  const end = new Date(Date.now() + 10 * 86_400_000);
  const c = new X509Certificate(generateTestPki({ clientNotAfter: end }).clientCert);
  expect(Math.abs(new Date(c.validTo).getTime() - end.getTime())).toBeLessThan(1000);
});

test('a mutual-TLS handshake works with the PKCS#12 and is refused without it', async () => {
  const srv = https.createServer(
    { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = (req.socket as tls.TLSSocket).getPeerCertificate();
      res.end(peer.subject.CN);
    },
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const get = (opts: https.RequestOptions) =>
    new Promise<string>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port, path: '/', agent: false, ca: pki.caCert, servername: 'localhost', ...opts },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.end();
    });
  try {
    expect(await get({ pfx: Buffer.from(pki.clientP12Base64, 'base64'), passphrase: 'Roc-Bridge-2026!' })).toBe('CH TEST ROC BRIDGE');
    await expect(get({})).rejects.toThrow();
  } finally {
    await new Promise((r) => srv.close(r));
  }
});
