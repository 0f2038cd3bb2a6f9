/**
 * A throw-away test PKI (CA, server and client certificates) for the simulator, the tests and
 * the dev runtime. Keys come from Node's crypto (RSA 2048); certificates are signed with
 * node-forge. The client certificate imitates an IGC-Santé organisation certificate of a
 * hospital (CN, O, OU carrying the FINESS). Never use it outside a test bench.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface TestPkiOptions {
  /** Validity of the CA and server certificates, in days (default 825). */
  days?: number;
  /** End of validity of the client certificate (default: same as the others). */
  clientNotAfter?: Date;
  /** DNS names (and IP addresses) of the server certificate (default localhost + 127.0.0.1). */
  serverNames?: string[];
  /** Passphrase of the client PKCS#12 (default: random). */
  p12Passphrase?: string;
  /** Subject of the client certificate (defaults to a fictitious hospital). */
  client?: { cn?: string; o?: string; ou?: string };
}

export interface TestPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Client certificate + key (+ CA) as PKCS#12, 3DES-encrypted, base64. */
  clientP12Base64: string;
  p12Passphrase: string;
}

export const TEST_CLIENT_SUBJECT = {
  cn: 'CH TEST ROC BRIDGE',
  o: 'CENTRE HOSPITALIER DE TEST ROC BRIDGE',
  ou: '750712184',
} as const;

const DAY_MS = 86_400_000;
const IPV4_RE = /^\d{1,3}(\.\d{1,3}){3}$/;

function rsaPair(): { pub: forge.pki.PublicKey; priv: forge.pki.rsa.PrivateKey; privPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    pub: forge.pki.publicKeyFromPem(publicKey),
    priv: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    privPem: privateKey,
  };
}

function serial(): string {
  // Positive 16-byte serial (high bit cleared).
  const b = randomBytes(16);
  b[0] &= 0x7f;
  return b.toString('hex');
}

function newCert(pub: forge.pki.PublicKey, notBefore: Date, notAfter: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = serial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  return cert;
}

/** Generate a CA, a server certificate (TLS server) and a client certificate (TLS client). */
export function generateTestPki(opts: TestPkiOptions = {}): TestPki {
  const days = opts.days ?? 825;
  const now = Date.now();
  const notBefore = new Date(now - DAY_MS); // tolerate clock skew
  const notAfter = new Date(now + days * DAY_MS);
  const clientNotAfter = opts.clientNotAfter ?? notAfter;
  if (Number.isNaN(clientNotAfter.getTime())) throw new Error('generateTestPki: clientNotAfter is not a valid date');
  // An already-expired client certificate (for expiry tests) starts 30 days before its end.
  const clientNotBefore = new Date(Math.min(notBefore.getTime(), clientNotAfter.getTime() - 30 * DAY_MS));
  const serverNames = opts.serverNames && opts.serverNames.length > 0 ? opts.serverNames : ['localhost', '127.0.0.1'];
  const passphrase = opts.p12Passphrase ?? randomBytes(12).toString('base64url');

  // ---- CA ----------------------------------------------------------------------------------
  const ca = rsaPair();
  const caCert = newCert(ca.pub, clientNotBefore, new Date(Math.max(notAfter.getTime(), clientNotAfter.getTime()) + DAY_MS));
  const caSubject = [
    { name: 'commonName', value: 'ROC Bridge TEST CA (ne pas utiliser en production)' },
    { name: 'organizationName', value: 'ROC Bridge TEST' },
    { name: 'countryName', value: 'FR' },
  ];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(ca.priv, forge.md.sha256.create());

  // ---- server ------------------------------------------------------------------------------
  const srv = rsaPair();
  const srvCert = newCert(srv.pub, notBefore, notAfter);
  srvCert.setSubject([
    { name: 'commonName', value: serverNames[0] },
    { name: 'organizationName', value: 'AMC MIROIR (simulateur ROC Bridge)' },
    { name: 'countryName', value: 'FR' },
  ]);
  srvCert.setIssuer(caSubject);
  srvCert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: serverNames.map((n) => (IPV4_RE.test(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  srvCert.sign(ca.priv, forge.md.sha256.create());

  // ---- client (imitates an IGC-Santé organisation certificate) -----------------------------
  const cli = rsaPair();
  const cliCert = newCert(cli.pub, clientNotBefore, clientNotAfter);
  const subj = { ...TEST_CLIENT_SUBJECT, ...opts.client };
  cliCert.setSubject([
    { name: 'commonName', value: subj.cn },
    { name: 'organizationalUnitName', value: subj.ou },
    { name: 'organizationName', value: subj.o },
    { name: 'countryName', value: 'FR' },
  ]);
  cliCert.setIssuer(caSubject);
  cliCert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cliCert.sign(ca.priv, forge.md.sha256.create());

  // 3DES (pbeWithSHAAnd3-KeyTripleDES-CBC) + SHA-1 MAC: readable by OpenSSL 3 without the
  // legacy provider (forge's AES/PBES2 output is not).
  const p12Asn1 = forge.pkcs12.toPkcs12Asn1(cli.priv, [cliCert, caCert], passphrase, {
    algorithm: '3des',
    friendlyName: subj.cn,
  });
  const clientP12Base64 = forge.util.encode64(forge.asn1.toDer(p12Asn1).getBytes());

  return {
    caCert: forge.pki.certificateToPem(caCert),
    caKey: ca.privPem,
    serverCert: forge.pki.certificateToPem(srvCert),
    serverKey: srv.privPem,
    clientCert: forge.pki.certificateToPem(cliCert),
    clientKey: cli.privPem,
    clientP12Base64,
    p12Passphrase: passphrase,
  };
}
