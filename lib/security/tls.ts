/**
 * TLS material for the ROC online services: turn what an integrator configures (an IGC-Santé
 * PKCS#12 with its passphrase, or PEM certificate + key) into Node TLS options, with errors that
 * say what is wrong; and report how long a certificate has left before it expires.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import forge from 'node-forge';

export interface TlsMaterialInput {
  /** PKCS#12 (.p12 / .pfx), base64. */
  p12Base64?: string;
  /** Passphrase of the PKCS#12 (or of an encrypted PEM key). */
  passphrase?: string;
  certPem?: string;
  keyPem?: string;
  /** Trusted CA certificate(s) of the peer, PEM. */
  caPem?: string;
}

export interface TlsOptions {
  pfx?: Buffer;
  passphrase?: string;
  cert?: string;
  key?: string;
  ca?: string;
}

/** A configuration error of the TLS material; `field` names the setting to fix. */
export class TlsMaterialError extends Error {
  constructor(
    readonly field: 'p12' | 'passphrase' | 'cert' | 'key' | 'ca',
    message: string,
  ) {
    super(message);
    this.name = 'TlsMaterialError';
  }
}

export type CertificateLevel = 'ok' | 'warning' | 'expired';

export interface CertificateStatus {
  /** Subject as `CN=…, OU=…, O=…, C=…`. */
  subject: string;
  issuer: string;
  /** End of validity, ISO date-time. */
  notAfter: string;
  /** Whole days left (negative once expired). */
  daysLeft: number;
  level: CertificateLevel;
}

/** A certificate is flagged `warning` when it expires within this many days. */
export const EXPIRY_WARNING_DAYS = 30;

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function decodeP12(p12Base64: string): Buffer {
  const clean = p12Base64.replace(/\s+/g, '');
  if (!clean || !/^[A-Za-z0-9+/]+={0,2}$/.test(clean)) {
    throw new TlsMaterialError('p12', 'PKCS#12: the value is not base64 (expected the content of a .p12/.pfx file, base64-encoded)');
  }
  return Buffer.from(clean, 'base64');
}

function parseCert(pem: string, field: 'cert' | 'ca'): X509Certificate {
  const label = field === 'cert' ? 'certificate' : 'CA certificate';
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) {
    throw new TlsMaterialError(field, `${label}: not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
  }
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsMaterialError(field, `${label}: unreadable PEM certificate (${(err as Error).message})`);
  }
}

function parseKey(pem: string, passphrase: string | undefined): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new TlsMaterialError('key', 'private key: not a PEM private key (expected "-----BEGIN PRIVATE KEY-----")');
  }
  const encrypted = /ENCRYPTED/.test(pem);
  if (encrypted && !passphrase) throw new TlsMaterialError('passphrase', 'private key: the key is encrypted and no passphrase was given');
  try {
    return createPrivateKey(encrypted ? { key: pem, passphrase } : pem);
  } catch (err) {
    if (encrypted) throw new TlsMaterialError('passphrase', 'private key: wrong passphrase for the encrypted key');
    throw new TlsMaterialError('key', `private key: unreadable (${(err as Error).message})`);
  }
}

function checkCaPem(caPem: string): void {
  const blocks = caPem.match(PEM_CERT_RE);
  if (!blocks) throw new TlsMaterialError('ca', 'CA certificate: not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")');
  for (const b of blocks) parseCert(b, 'ca');
}

/**
 * Build Node TLS options from a PKCS#12 or a PEM certificate/key pair (plus an optional CA).
 * Throws TlsMaterialError naming the problem: bad base64, not a PKCS#12, wrong passphrase,
 * certificate without key (or the reverse), key not matching the certificate, unreadable PEM.
 */
export function tlsOptionsFrom(input: TlsMaterialInput): TlsOptions {
  const out: TlsOptions = {};
  const hasP12 = !!input.p12Base64 && input.p12Base64.trim() !== '';
  const hasCert = !!input.certPem && input.certPem.trim() !== '';
  const hasKey = !!input.keyPem && input.keyPem.trim() !== '';

  if (hasP12 && (hasCert || hasKey)) {
    throw new TlsMaterialError('p12', 'give either a PKCS#12 or a PEM certificate and key, not both');
  }
  if (input.caPem && input.caPem.trim() !== '') {
    checkCaPem(input.caPem);
    out.ca = input.caPem;
  }

  if (hasP12) {
    const pfx = decodeP12(input.p12Base64 as string);
    const passphrase = input.passphrase ?? '';
    try {
      createSecureContext({ pfx, passphrase });
    } catch (err) {
      const msg = (err as Error).message;
      if (/mac verify failure|invalid password|bad decrypt/i.test(msg)) {
        throw new TlsMaterialError('passphrase', 'PKCS#12: wrong passphrase (the file could not be decrypted)');
      }
      if (/unsupported/i.test(msg)) {
        throw new TlsMaterialError(
          'p12',
          `PKCS#12: encryption algorithm not supported by this Node/OpenSSL (${msg}); re-export it with AES-256 or 3DES`,
        );
      }
      throw new TlsMaterialError('p12', `PKCS#12: not a readable .p12/.pfx file (${msg})`);
    }
    out.pfx = pfx;
    out.passphrase = passphrase;
    return out;
  }

  if (hasCert && !hasKey) throw new TlsMaterialError('key', 'a certificate was given without its private key');
  if (hasKey && !hasCert) throw new TlsMaterialError('cert', 'a private key was given without its certificate');
  if (hasCert && hasKey) {
    const certPem = input.certPem as string;
    const keyPem = input.keyPem as string;
    const cert = parseCert(certPem, 'cert');
    const key = parseKey(keyPem, input.passphrase);
    if (!cert.checkPrivateKey(key)) {
      throw new TlsMaterialError('key', `private key does not match the certificate ${oneLine(cert.subject)}`);
    }
    out.cert = certPem;
    out.key = keyPem;
    if (/ENCRYPTED/.test(keyPem)) out.passphrase = input.passphrase;
  }
  return out;
}

function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/** The end-entity certificate of a PKCS#12 (the one whose key is in the file), as PEM. */
function certFromP12(p12Base64: string, passphrase: string | undefined): string {
  const der = decodeP12(p12Base64);
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, passphrase ?? '');
  } catch (err) {
    const msg = (err as Error).message;
    if (/MAC could not be verified|Invalid password/i.test(msg)) {
      throw new TlsMaterialError('passphrase', 'PKCS#12: wrong passphrase (the file could not be decrypted)');
    }
    throw new TlsMaterialError('p12', `PKCS#12: not a readable .p12/.pfx file (${msg})`);
  }
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
  ];
  const certs = certBags.filter((b) => b.cert).map((b) => b.cert as forge.pki.Certificate);
  if (certs.length === 0) throw new TlsMaterialError('p12', 'PKCS#12: the file holds no certificate');
  // The leaf: the certificate whose public key matches the private key of the file.
  const key = keyBags.find((b) => b.key)?.key as forge.pki.rsa.PrivateKey | undefined;
  const leaf =
    (key &&
      certs.find((c) => {
        const pub = c.publicKey as forge.pki.rsa.PublicKey;
        return pub.n !== undefined && pub.n.equals(key.n);
      })) ||
    certs.find((c) => !c.getExtension('basicConstraints') || !(c.getExtension('basicConstraints') as { cA?: boolean }).cA) ||
    certs[0];
  return forge.pki.certificateToPem(leaf);
}

/**
 * Expiry status of the configured certificate (PEM `certPem`, or the end-entity certificate of
 * a PKCS#12): `warning` when it expires within 30 days, `expired` once past its end of validity.
 */
export function certificateStatus(input: TlsMaterialInput, now: Date = new Date()): CertificateStatus {
  let pem: string;
  if (input.p12Base64 && input.p12Base64.trim() !== '') pem = certFromP12(input.p12Base64, input.passphrase);
  else if (input.certPem && input.certPem.trim() !== '') pem = input.certPem;
  else throw new TlsMaterialError('cert', 'no certificate configured (give a PKCS#12 or a PEM certificate)');
  const cert = parseCert(pem, 'cert');
  const notAfter = new Date(cert.validTo);
  const ms = notAfter.getTime() - now.getTime();
  const daysLeft = Math.floor(ms / 86_400_000);
  const level: CertificateLevel = ms <= 0 ? 'expired' : ms < EXPIRY_WARNING_DAYS * 86_400_000 ? 'warning' : 'ok';
  return { subject: oneLine(cert.subject), issuer: oneLine(cert.issuer), notAfter: notAfter.toISOString(), daysLeft, level };
}
