/**
 * S/MIME transport of DRE-ES files: round trips, interoperability with the openssl command line
 * both ways (encryption and signature), legacy 3DES, and every bad input refused with its code.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { writeDreEs } from '../../lib/billing/dre-es';
import { sampleFile, sampleInvoices } from '../../lib/billing/sample';
import {
  BillingTransportError,
  ediConsentEntity,
  envelopeEntity,
  openEdiConsent,
  sealEdiConsent,
  signEntity,
} from '../../lib/billing/transport/smime';
import { generateTestPki } from '../../lib/security/pki';

/** The AMC (recipient: the PKI's server certificate) and the hospital (signer: the client certificate). */
const pki = generateTestPki();
const amc = { certPem: pki.serverCert, keyPem: pki.serverKey };
const hospital = { certPem: pki.clientCert, keyPem: pki.clientKey };
const other = generateTestPki();
const encryptInnerForAmc = (inner: Buffer) => envelopeEntity(inner, { recipientCertPem: amc.certPem });
const dre = writeDreEs(sampleFile(sampleInvoices(40, { seed: 7 }), { numero: 12 }));

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-smime-'));
  const w = (n: string, s: string) => fs.writeFileSync(path.join(dir, n), s, { mode: 0o600 });
  w('amc.crt', pki.serverCert);
  w('amc.key', pki.serverKey);
  w('hosp.crt', pki.clientCert);
  w('hosp.key', pki.clientKey);
  w('ca.crt', pki.caCert);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const f = (n: string) => path.join(dir, n);
function openssl(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('openssl', args, { maxBuffer: 64 * 1024 * 1024 }, (err, _out, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) });
    });
  });
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof BillingTransportError) return e.code;
    throw e;
  }
  return 'NO ERROR';
}

/** The body of a MIME entity, base64-decoded. */
function mimeBody(entity: Buffer): { headers: string; body: Buffer } {
  const s = entity.toString('latin1');
  const i = s.search(/\r?\n\r?\n/);
  return { headers: s.slice(0, i), body: Buffer.from(s.slice(i).replace(/\s+/g, ''), 'base64') };
}

describe('round trip', () => {
  test('sealed, the file opens again, byte for byte, with its filename; the MIME layout is the documented one', () => {
    const sealed = sealEdiConsent(dre, { recipientCertPem: amc.certPem, filename: 'DREES00000012.Z' });
    const head = sealed.toString('latin1').split('\r\n\r\n')[0];
    expect(head).toContain('MIME-Version: 1.0');
    expect(head).toContain('Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"');
    expect(head).toContain('Content-Transfer-Encoding: base64');
    const out = openEdiConsent(sealed, amc);
    expect(out.file.equals(dre)).toBe(true);
    expect(out.filename).toBe('DREES00000012.Z');
    expect(out.signer).toBeUndefined();
    // nothing of the file in clear
    expect(sealed.toString('latin1')).not.toContain(sampleInvoices(1, { seed: 7 })[0].nir);
  });

  test('signed: the signer is reported; a signature can be required and its CA enforced', () => {
    const sealed = sealEdiConsent(dre, { recipientCertPem: amc.certPem, signer: hospital });
    const out = openEdiConsent(sealed, { ...amc, requireSignature: true, trustedSignerCaPem: pki.caCert });
    expect(out.file.equals(dre)).toBe(true);
    expect(out.signer?.subject).toContain('CN=CH TEST ROC BRIDGE');
    expect(out.signer?.serial).toMatch(/^[0-9a-f]+$/);
    expect(code(() => openEdiConsent(sealed, { ...amc, trustedSignerCaPem: other.caCert }))).toBe('UNTRUSTED_SIGNER');
    const unsigned = sealEdiConsent(dre, { recipientCertPem: amc.certPem });
    expect(code(() => openEdiConsent(unsigned, { ...amc, requireSignature: true }))).toBe('SIGNATURE_REQUIRED');
  });

  test('3DES for legacy partners; another compression level', () => {
    const sealed = sealEdiConsent(dre, { recipientCertPem: amc.certPem, cipher: 'des-ede3-cbc' });
    expect(openEdiConsent(sealed, amc).file.equals(dre)).toBe(true);
    const fast = sealEdiConsent(dre, { recipientCertPem: amc.certPem, compressionLevel: 1 });
    expect(openEdiConsent(fast, amc).file.equals(dre)).toBe(true);
    expect(code(() => sealEdiConsent(dre, { recipientCertPem: amc.certPem, compressionLevel: 0 }))).toBe('BAD_INPUT');
  });

  test('a 1 MB file, and the bare DER of a .p7m', () => {
    const big = writeDreEs(sampleFile(sampleInvoices(2700, { seed: 3 })));
    expect(big.length).toBeGreaterThan(1_000_000);
    const sealed = sealEdiConsent(big, { recipientCertPem: amc.certPem, signer: hospital });
    expect(openEdiConsent(sealed, amc).file.equals(big)).toBe(true);
    expect(openEdiConsent(mimeBody(sealed).body, amc).file.equals(big)).toBe(true);
  });
});

describe('interoperability with the openssl command line', () => {
  test('what we seal, openssl cms -decrypt and openssl smime -decrypt open (AES-256 and 3DES)', async () => {
    for (const cipher of ['aes-256-cbc', 'des-ede3-cbc'] as const) {
      fs.writeFileSync(f('ours.eml'), sealEdiConsent(dre, { recipientCertPem: amc.certPem, cipher, filename: 'DREES12.Z' }));
      for (const tool of ['cms', 'smime']) {
        const r = await openssl([
          tool,
          '-decrypt',
          '-in',
          f('ours.eml'),
          '-recip',
          f('amc.crt'),
          '-inkey',
          f('amc.key'),
          '-out',
          f('inner.eml'),
        ]);
        expect(r).toEqual({ code: 0, stderr: '' });
        const inner = mimeBody(fs.readFileSync(f('inner.eml')));
        expect(inner.headers).toContain('Content-Type: application/EDI-consent; name="DREES12.Z"');
        expect(inner.headers).toContain('Content-Description: IRIS/B2/Z');
        expect(inflateSync(inner.body).equals(dre)).toBe(true);
      }
    }
  });

  test('what we sign, openssl cms -verify accepts (and refuses with another CA)', async () => {
    fs.writeFileSync(f('ours-signed.eml'), sealEdiConsent(dre, { recipientCertPem: amc.certPem, signer: hospital }));
    let r = await openssl([
      'cms',
      '-decrypt',
      '-in',
      f('ours-signed.eml'),
      '-recip',
      f('amc.crt'),
      '-inkey',
      f('amc.key'),
      '-out',
      f('signed.eml'),
    ]);
    expect(r.code).toBe(0);
    r = await openssl(['cms', '-verify', '-in', f('signed.eml'), '-CAfile', f('ca.crt'), '-purpose', 'any', '-out', f('content.eml')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Verification successful');
    expect(inflateSync(mimeBody(fs.readFileSync(f('content.eml'))).body).equals(dre)).toBe(true);
    fs.writeFileSync(f('other-ca.crt'), other.caCert);
    r = await openssl([
      'cms',
      '-verify',
      '-in',
      f('signed.eml'),
      '-CAfile',
      f('other-ca.crt'),
      '-purpose',
      'any',
      '-out',
      f('content2.eml'),
    ]);
    expect(r.code).not.toBe(0);
  });

  test('what openssl cms -encrypt makes (AES-256, 3DES, OAEP, key identifier), we open', async () => {
    fs.writeFileSync(f('edi.eml'), ediConsentEntity(dre, 'DREES12.Z'));
    const variants: string[][] = [
      ['-aes256'],
      ['-des3'],
      ['-aes128', '-keyid'],
      ['-aes256', '-recip', f('amc.crt'), '-keyopt', 'rsa_padding_mode:oaep'],
    ];
    for (const v of variants) {
      const recip = v.includes('-recip') ? [] : [f('amc.crt')];
      const r = await openssl(['cms', '-encrypt', '-in', f('edi.eml'), '-out', f('theirs.eml'), ...v, ...recip]);
      expect({ v, ...r }).toEqual({ v, code: 0, stderr: '' });
      const out = openEdiConsent(fs.readFileSync(f('theirs.eml')), amc);
      expect(out.file.equals(dre)).toBe(true);
      expect(out.filename).toBe('DREES12.Z');
    }
    // not for the other AMC
    expect(code(() => openEdiConsent(fs.readFileSync(f('theirs.eml')), { certPem: other.serverCert, keyPem: other.serverKey }))).toBe(
      'NOT_FOR_US',
    );
  });

  test('what openssl cms -sign signs (then -encrypt), we verify; a signature by another CA is untrusted', async () => {
    fs.writeFileSync(f('edi.eml'), ediConsentEntity(dre, 'DREES12.Z'));
    let r = await openssl([
      'cms',
      '-sign',
      '-nodetach',
      '-in',
      f('edi.eml'),
      '-signer',
      f('hosp.crt'),
      '-inkey',
      f('hosp.key'),
      '-out',
      f('their-signed.eml'),
    ]);
    expect(r.code).toBe(0);
    r = await openssl(['cms', '-encrypt', '-aes256', '-in', f('their-signed.eml'), '-out', f('theirs-signed.eml'), f('amc.crt')]);
    expect(r.code).toBe(0);
    const sealed = fs.readFileSync(f('theirs-signed.eml'));
    const out = openEdiConsent(sealed, { ...amc, requireSignature: true, trustedSignerCaPem: pki.caCert });
    expect(out.file.equals(dre)).toBe(true);
    expect(out.signer?.subject).toContain('O=CENTRE HOSPITALIER DE TEST ROC BRIDGE');
    expect(code(() => openEdiConsent(sealed, { ...amc, trustedSignerCaPem: other.caCert }))).toBe('UNTRUSTED_SIGNER');
  });
});

describe('bad input', () => {
  const sealed = sealEdiConsent(dre, { recipientCertPem: amc.certPem, signer: hospital });

  test('the wrong key → DECRYPT_FAILED; another recipient → NOT_FOR_US', () => {
    expect(code(() => openEdiConsent(sealed, { certPem: amc.certPem, keyPem: other.serverKey }))).toBe('DECRYPT_FAILED');
    expect(code(() => openEdiConsent(sealed, { certPem: other.serverCert, keyPem: other.serverKey }))).toBe('NOT_FOR_US');
  });

  test('a tampered signature → BAD_SIGNATURE (and the message never quotes the content)', () => {
    // Re-seal a signed entity whose signature bytes were altered: encryption intact, signature broken.
    // (The message names the signer and its random serial in hex, which may hold 13 digits in a row.)
    const crack = (mutate: (der: Buffer) => void): Buffer => {
      const signedEntity = signEntity(ediConsentEntity(dre, 'DREES12.Z'), hospital);
      const { headers, body } = mimeBody(signedEntity);
      mutate(body);
      const inner = Buffer.from(`${headers}\r\n\r\n${body.toString('base64')}\r\n`, 'latin1');
      return encryptInnerForAmc(inner);
    };
    const lastByte = crack((der) => {
      der[der.length - 1] ^= 0x01; // the last byte of the signature
    });
    let err: unknown;
    try {
      openEdiConsent(lastByte, amc);
    } catch (e) {
      err = e;
    }
    expect((err as BillingTransportError).code).toBe('BAD_SIGNATURE');
    expect((err as Error).message.replace(/\(serial [0-9a-f]+\)/gi, '')).not.toMatch(/F26\d{7}|\d{13}/);
    // a byte of the signed content (the digest no longer matches)
    const content = crack((der) => {
      const i = der.indexOf(Buffer.from('IRIS/B2/Z'));
      der[i] = 'J'.charCodeAt(0);
    });
    expect(code(() => openEdiConsent(content, amc))).toBe('BAD_SIGNATURE');
  });

  test('truncated input at any cut → a typed error, never a crash', () => {
    for (const cut of [0, 10, 100, 300, Math.floor(sealed.length / 2), sealed.length - 10, sealed.length - 3]) {
      expect(code(() => openEdiConsent(sealed.subarray(0, cut), amc))).not.toBe('NO ERROR');
    }
    const der = mimeBody(sealed).body;
    expect(code(() => openEdiConsent(der.subarray(0, der.length - 40), amc))).toBe('MALFORMED');
  });

  test('an expired or not yet valid recipient certificate is refused before encrypting', () => {
    const expired = generateTestPki({ clientNotAfter: new Date(Date.now() - 86_400_000) });
    let err: unknown;
    try {
      sealEdiConsent(dre, { recipientCertPem: expired.clientCert });
    } catch (e) {
      err = e;
    }
    expect((err as BillingTransportError).code).toBe('CERT_EXPIRED');
    expect((err as Error).message).toMatch(/expired on \d{4}-\d\d-\d\d/);
    expect(code(() => sealEdiConsent(dre, { recipientCertPem: amc.certPem, now: new Date(Date.now() - 5 * 86_400_000) }))).toBe(
      'CERT_EXPIRED',
    );
    expect(code(() => sealEdiConsent(dre, { recipientCertPem: 'not a certificate' }))).toBe('CERT_INVALID');
  });

  test('size caps: the input, and a file that inflates beyond its cap', () => {
    expect(code(() => openEdiConsent(sealed, { ...amc, maxSmimeBytes: 1000 }))).toBe('TOO_LARGE');
    expect(code(() => openEdiConsent(sealed, { ...amc, maxFileBytes: 1000 }))).toBe('TOO_LARGE');
    expect(code(() => sealEdiConsent(dre, { recipientCertPem: amc.certPem, maxFileBytes: 1000 }))).toBe('TOO_LARGE');
  });

  test('not EDI-consent, not encrypted, bad compression', () => {
    const plain = Buffer.from('Content-Type: text/plain\r\n\r\nbonjour\r\n');
    expect(code(() => openEdiConsent(plain, amc))).toBe('NOT_ENCRYPTED');
    expect(code(() => openEdiConsent(encryptInnerForAmc(plain), amc))).toBe('NOT_EDI_CONSENT');
    const notZlib = Buffer.from(
      `Content-Type: application/EDI-consent; name="X.Z"\r\nContent-Transfer-Encoding: base64\r\nContent-Description: IRIS/B2/Z\r\n\r\n${Buffer.from('pas du zlib du tout').toString('base64')}\r\n`,
    );
    expect(code(() => openEdiConsent(encryptInnerForAmc(notZlib), amc))).toBe('BAD_COMPRESSION');
  });

  test('mutated inputs: openEdiConsent throws nothing but BillingTransportError (fast-check, fixed seed)', () => {
    const small = sealEdiConsent(writeDreEs(sampleFile(sampleInvoices(2, { seed: 1 }))), {
      recipientCertPem: amc.certPem,
      signer: hospital,
    });
    const der = mimeBody(small).body;
    fc.assert(
      fc.property(
        fc.constantFrom(small, der),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat()),
        (base, edits, cut) => {
          const b = Buffer.from(base);
          for (const [pos, byte] of edits) b[pos % b.length] = byte;
          const input = cut === null ? b : b.subarray(0, cut % b.length);
          try {
            openEdiConsent(input, amc);
          } catch (e) {
            expect(e).toBeInstanceOf(BillingTransportError);
          }
        },
      ),
      { seed: 20261206, numRuns: 150 },
    );
  });

  test('mutated signed content inside a valid envelope: still only BillingTransportError (fast-check, fixed seed)', () => {
    const inner = signEntity(ediConsentEntity(writeDreEs(sampleFile(sampleInvoices(2, { seed: 1 }))), 'D.Z'), hospital);
    const der = mimeBody(inner);
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.option(fc.nat()),
        (inDer, edits, cut) => {
          const b = Buffer.from(inDer ? der.body : inner);
          for (const [pos, byte] of edits) b[pos % b.length] = byte;
          let mutated = cut === null ? b : b.subarray(0, cut % b.length);
          if (inDer) mutated = Buffer.from(`${der.headers}\r\n\r\n${mutated.toString('base64')}\r\n`, 'latin1');
          try {
            openEdiConsent(encryptInnerForAmc(mutated), amc);
          } catch (e) {
            expect(e).toBeInstanceOf(BillingTransportError);
          }
        },
      ),
      { seed: 20261207, numRuns: 40 },
    );
  });
});
