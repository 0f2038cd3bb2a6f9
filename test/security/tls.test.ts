/**
 * TLS material from what an integrator configures, with errors that name the problem, and the
 * certificate expiry status shown to operations.
 */
import { generateTestPki } from '../../lib/security/pki';
import { certificateStatus, tlsOptionsFrom, TlsMaterialError } from '../../lib/security/tls';
import forge from 'node-forge';
import { createPrivateKey } from 'node:crypto';

const pki = generateTestPki({ p12Passphrase: 'Roc-Bridge-2026!' });
const other = generateTestPki();

function errorOf(fn: () => unknown): TlsMaterialError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TlsMaterialError);
    return e as TlsMaterialError;
  }
  throw new Error('no error thrown');
}

describe('tlsOptionsFrom', () => {
  test('a PKCS#12 with its passphrase and a CA', () => {
    const o = tlsOptionsFrom({ p12Base64: pki.clientP12Base64, passphrase: 'Roc-Bridge-2026!', caPem: pki.caCert });
    expect(o.pfx).toBeInstanceOf(Buffer);
    expect(o.passphrase).toBe('Roc-Bridge-2026!');
    expect(o.ca).toBe(pki.caCert);
    expect(o.cert).toBeUndefined();
  });

  test('a PEM certificate and its key', () => {
    expect(tlsOptionsFrom({ certPem: pki.clientCert, keyPem: pki.clientKey })).toEqual({ cert: pki.clientCert, key: pki.clientKey });
  });

  test('an encrypted PEM key with its passphrase', () => {
    const enc = createPrivateKey(pki.clientKey).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 's3cret',
    }) as string;
    expect(tlsOptionsFrom({ certPem: pki.clientCert, keyPem: enc, passphrase: 's3cret' }).passphrase).toBe('s3cret');
    expect(errorOf(() => tlsOptionsFrom({ certPem: pki.clientCert, keyPem: enc, passphrase: 'nope' })).message).toBe(
      'private key: wrong passphrase for the encrypted key',
    );
    expect(errorOf(() => tlsOptionsFrom({ certPem: pki.clientCert, keyPem: enc })).field).toBe('passphrase');
  });

  test('nothing configured gives empty options', () => {
    expect(tlsOptionsFrom({})).toEqual({});
  });

  test.each([
    [
      'wrong PKCS#12 passphrase',
      { p12Base64: pki.clientP12Base64, passphrase: 'wrong' },
      'passphrase',
      'PKCS#12: wrong passphrase (the file could not be decrypted)',
    ],
    [
      'PKCS#12 without passphrase',
      { p12Base64: pki.clientP12Base64 },
      'passphrase',
      'PKCS#12: wrong passphrase (the file could not be decrypted)',
    ],
    ['a PKCS#12 that is not base64', { p12Base64: '%%% not base64 %%%', passphrase: 'x' }, 'p12', /not base64/],
    [
      'base64 that is not a PKCS#12',
      { p12Base64: Buffer.from('hello world, not a p12').toString('base64'), passphrase: 'x' },
      'p12',
      /PKCS#12: not a readable \.p12\/\.pfx file/,
    ],
    ['a certificate without its key', { certPem: pki.clientCert }, 'key', 'a certificate was given without its private key'],
    ['a key without its certificate', { keyPem: pki.clientKey }, 'cert', 'a private key was given without its certificate'],
    [
      'a key that does not match the certificate',
      { certPem: pki.clientCert, keyPem: other.clientKey },
      'key',
      'private key does not match the certificate CN=CH TEST ROC BRIDGE, OU=750712184, O=CENTRE HOSPITALIER DE TEST ROC BRIDGE, C=FR',
    ],
    ['a certificate that is not PEM', { certPem: 'MIIB...', keyPem: pki.clientKey }, 'cert', /certificate: not a PEM certificate/],
    ['a key that is not PEM', { certPem: pki.clientCert, keyPem: 'secret' }, 'key', /private key: not a PEM private key/],
    [
      'a broken PEM certificate',
      { certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', keyPem: pki.clientKey },
      'cert',
      /certificate: unreadable PEM certificate/,
    ],
    ['a CA that is not a certificate', { caPem: 'ca please' }, 'ca', /CA certificate: not a PEM certificate/],
    [
      'both PKCS#12 and PEM',
      { p12Base64: pki.clientP12Base64, passphrase: 'Roc-Bridge-2026!', certPem: pki.clientCert, keyPem: pki.clientKey },
      'p12',
      /either a PKCS#12 or a PEM/,
    ],
  ])('%s', (_name, input, field, message) => {
    const e = errorOf(() => tlsOptionsFrom(input));
    expect(e.field).toBe(field);
    if (typeof message === 'string') expect(e.message).toBe(message);
    else expect(e.message).toMatch(message);
  });

  test('a PKCS#12 holding only the key and its certificate (no CA chain) is accepted, and its status read', () => {
    const key = forge.pki.privateKeyFromPem(pki.clientKey);
    const cert = forge.pki.certificateFromPem(pki.clientCert);
    const p12 = forge.util.encode64(forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(key, [cert], 'pw', { algorithm: '3des' })).getBytes());
    expect(tlsOptionsFrom({ p12Base64: p12, passphrase: 'pw' }).pfx).toBeInstanceOf(Buffer);
    expect(certificateStatus({ p12Base64: p12, passphrase: 'pw' }).subject).toMatch(/^CN=CH TEST ROC BRIDGE/);
  });
});

describe('certificateStatus', () => {
  const DAY = 86_400_000;

  test('ok: a two-year certificate', () => {
    const s = certificateStatus({ certPem: pki.clientCert });
    expect(s.level).toBe('ok');
    expect(s.subject).toBe('CN=CH TEST ROC BRIDGE, OU=750712184, O=CENTRE HOSPITALIER DE TEST ROC BRIDGE, C=FR');
    expect(s.daysLeft).toBeGreaterThan(800);
    expect(s.notAfter).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  test('warning: expires in 10 days (read from the PKCS#12 with its passphrase)', () => {
    const p = generateTestPki({ clientNotAfter: new Date(Date.now() + 10 * DAY + 60_000), p12Passphrase: 'pw' });
    const s = certificateStatus({ p12Base64: p.clientP12Base64, passphrase: 'pw' });
    expect(s.level).toBe('warning');
    expect(s.daysLeft).toBe(10);
    expect(s.subject).toMatch(/^CN=CH TEST ROC BRIDGE/);
  });

  test('the warning starts under 30 days', () => {
    const end = new Date(Date.now() + 45 * DAY);
    const p = generateTestPki({ clientNotAfter: end });
    expect(certificateStatus({ certPem: p.clientCert }).level).toBe('ok');
    expect(certificateStatus({ certPem: p.clientCert }, new Date(end.getTime() - 30 * DAY - 60_000)).level).toBe('ok');
    expect(certificateStatus({ certPem: p.clientCert }, new Date(end.getTime() - 29 * DAY)).level).toBe('warning');
    expect(certificateStatus({ certPem: p.clientCert }, new Date(end.getTime() + 1000)).level).toBe('expired');
  });

  test('expired: a client certificate whose end of validity has passed', () => {
    const p = generateTestPki({ clientNotAfter: new Date(Date.now() - 3 * DAY), p12Passphrase: 'pw' });
    const s = certificateStatus({ p12Base64: p.clientP12Base64, passphrase: 'pw' });
    expect(s.level).toBe('expired');
    expect(s.daysLeft).toBeLessThanOrEqual(-3);
  });

  test('the PKCS#12 leaf is the certificate of the key, not the CA bundled with it', () => {
    expect(certificateStatus({ p12Base64: pki.clientP12Base64, passphrase: 'Roc-Bridge-2026!' }).subject).toMatch(/^CN=CH TEST ROC BRIDGE/);
  });

  test('clear errors: wrong passphrase, nothing configured', () => {
    expect(errorOf(() => certificateStatus({ p12Base64: pki.clientP12Base64, passphrase: 'x' })).field).toBe('passphrase');
    expect(errorOf(() => certificateStatus({})).message).toBe('no certificate configured (give a PKCS#12 or a PEM certificate)');
  });
});
