/**
 * S/MIME for the DRE-ES transport (issue 10 item 3), pure (no I/O): a DRE-ES file is
 * zlib-compressed (RFC 1950), wrapped as a MIME entity `application/EDI-consent` (base64,
 * `Content-Description: IRIS/B2/Z`), optionally signed (CMS SignedData, the content inside:
 * `application/pkcs7-mime; smime-type=signed-data`), then encrypted for the recipient's
 * certificate (CMS EnvelopedData, RSA key transport, AES-256-CBC by default or 3DES for legacy
 * partners) → `application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m`.
 *
 * The CMS structures are written and read here with a small bounded DER/BER codec; node-forge
 * parses certificates, does the RSA key transport (Node refuses PKCS#1 v1.5 private decryption)
 * and checks the signer's chain; Node's crypto does the symmetric cipher, the digests and the
 * RSA signatures. Interoperable with `openssl cms` / `openssl smime` (tested both ways).
 *
 * Errors are `BillingTransportError` with a code; their messages never quote the file's content
 * (DRE-ES records carry NIRs): only codes, sizes, OIDs, certificate serials and subjects.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  randomBytes,
  sign as rsaSign,
  verify as rsaVerify,
} from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import forge from 'node-forge';

export type BillingTransportErrorCode =
  | 'BAD_INPUT' // a caller's argument is unusable (filename, empty file, unknown cipher)
  | 'CERT_INVALID' // a certificate or key cannot be read, is not RSA, or may not be used for this
  | 'CERT_EXPIRED' // the recipient's (or signer's) certificate is expired or not yet valid
  | 'TOO_LARGE' // an input above its size cap, or a file that inflates beyond the cap
  | 'MALFORMED' // not a MIME entity / bad base64 / bad DER, BER or CMS structure
  | 'NOT_ENCRYPTED' // a MIME entity that is not S/MIME EnvelopedData
  | 'NOT_FOR_US' // EnvelopedData with no recipient matching our certificate
  | 'UNSUPPORTED_ALGORITHM' // a key transport, cipher or digest we do not implement
  | 'DECRYPT_FAILED' // the key or the content does not decrypt
  | 'BAD_SIGNATURE' // a SignedData whose digest or signature does not verify
  | 'UNTRUSTED_SIGNER' // a valid signature by a certificate the trusted CA did not issue (or expired)
  | 'SIGNATURE_REQUIRED' // an unsigned content when a signature is required
  | 'NOT_EDI_CONSENT' // the decrypted content is not an application/EDI-consent entity
  | 'BAD_COMPRESSION' // the EDI-consent body does not inflate
  | 'SEND_FAILED'; // smtp.ts: the SMTP server refused the message or could not be reached

/** A transport failure: `code` for the caller's decision, a message without any file content. */
export class BillingTransportError extends Error {
  constructor(
    readonly code: BillingTransportErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BillingTransportError';
  }
}

const fail = (code: BillingTransportErrorCode, message: string): never => {
  throw new BillingTransportError(code, message);
};

// ---------------------------------------------------------------------------------------------
// Limits

/** Default cap of a DRE-ES file before sealing and after opening (100,000 invoices ≈ 38 MB). */
export const DEFAULT_MAX_FILE_BYTES = 128 * 1024 * 1024;
/** Default cap of an S/MIME entity to open. */
export const DEFAULT_MAX_SMIME_BYTES = 64 * 1024 * 1024;
const MAX_HEADER_BYTES = 32 * 1024;
const MAX_DEPTH = 24;
const MAX_NODES = 100_000;
const MAX_RECIPIENTS = 64;
const MAX_CERT_PEM = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// OIDs

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

const CIPHERS: Record<string, { name: string; key: number; iv: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', key: 16, iv: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', key: 24, iv: 16 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', key: 32, iv: 16 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', key: 24, iv: 8 },
};
const CIPHER_OID: Record<'aes-256-cbc' | 'des-ede3-cbc', string> = {
  'aes-256-cbc': '2.16.840.1.101.3.4.1.42',
  'des-ede3-cbc': '1.2.840.113549.3.7',
};
const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const RSA_SIGNATURES: Record<string, string | undefined> = {
  '1.2.840.113549.1.1.1': undefined, // rsaEncryption: the digest algorithm says which hash
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

// ---------------------------------------------------------------------------------------------
// DER writer (definite lengths, Buffers all the way: the encrypted content can be megabytes)

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const der = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
const seq = (...p: Buffer[]) => der(0x30, ...p);
const set = (...p: Buffer[]) => der(0x31, ...p);
const octets = (b: Buffer) => der(0x04, b);
const int = (n: number) => der(0x02, Buffer.from([n]));
const NULL = Buffer.from([0x05, 0x00]);
const oid = (o: string) => der(0x06, Buffer.from(forge.asn1.oidToDer(o).getBytes(), 'binary'));
const explicit = (n: number, ...p: Buffer[]) => der(0xa0 | n, ...p);
function utcTime(d: Date): Buffer {
  const p = (x: number) => String(x).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return der(0x17, Buffer.from(s, 'ascii'));
}

// ---------------------------------------------------------------------------------------------
// DER/BER reader: bounded depth and node count, indefinite lengths, exact raw bytes kept

interface Tlv {
  cls: number; // 0 universal, 1 application, 2 context, 3 private
  constructed: boolean;
  tag: number;
  /** Whole element (header + content + end-of-contents), as read. */
  raw: Buffer;
  /** Content octets of a primitive element. */
  value: Buffer;
  children: Tlv[];
}

class BerReader {
  private nodes = 0;
  constructor(private readonly buf: Buffer) {}

  read(): Tlv {
    const [t, end] = this.element(0, this.buf.length, 0);
    if (end !== this.buf.length) throw new Error('trailing bytes after the ASN.1 element');
    return t;
  }

  private element(pos: number, limit: number, depth: number): [Tlv, number] {
    if (depth > MAX_DEPTH) throw new Error('ASN.1 nesting too deep');
    if (++this.nodes > MAX_NODES) throw new Error('too many ASN.1 elements');
    const b = this.buf;
    const start = pos;
    if (pos + 2 > limit) throw new Error('ASN.1 element cut short');
    const first = b[pos++];
    let tag = first & 0x1f;
    if (tag === 0x1f) {
      tag = 0;
      for (let i = 0; ; i++) {
        if (i >= 4 || pos >= limit) throw new Error('bad ASN.1 tag');
        const x = b[pos++];
        tag = tag * 128 + (x & 0x7f);
        if (!(x & 0x80)) break;
      }
    }
    const constructed = (first & 0x20) !== 0;
    if (pos >= limit) throw new Error('ASN.1 element cut short');
    let len = b[pos++];
    let indefinite = false;
    if (len === 0x80) {
      if (!constructed) throw new Error('indefinite length on a primitive element');
      indefinite = true;
    } else if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 4 || pos + n > limit) throw new Error('bad ASN.1 length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[pos++];
    }
    const children: Tlv[] = [];
    let end: number;
    if (indefinite) {
      let p = pos;
      for (;;) {
        if (p + 2 > limit) throw new Error('ASN.1 indefinite element cut short');
        if (b[p] === 0 && b[p + 1] === 0) {
          end = p + 2;
          break;
        }
        const [c, next] = this.element(p, limit, depth + 1);
        children.push(c);
        p = next;
      }
    } else {
      end = pos + len;
      if (end > limit) throw new Error('ASN.1 element cut short');
      if (constructed) {
        let p = pos;
        while (p < end) {
          const [c, next] = this.element(p, end, depth + 1);
          children.push(c);
          p = next;
        }
      }
    }
    const value = constructed ? Buffer.alloc(0) : b.subarray(pos, end);
    return [{ cls: first >> 6, constructed, tag, raw: b.subarray(start, end), value, children }, end];
  }
}

function parseBer(buf: Buffer, what: string): Tlv {
  try {
    return new BerReader(buf).read();
  } catch (e) {
    return fail('MALFORMED', `${what}: ${(e as Error).message}`);
  }
}

/** Structure assertions: a CMS element of the expected shape, or MALFORMED naming it. */
function expect(t: Tlv | undefined, what: string, cls: number, tag: number, constructed?: boolean): Tlv {
  if (!t || t.cls !== cls || t.tag !== tag || (constructed !== undefined && t.constructed !== constructed))
    fail('MALFORMED', `CMS: ${what} missing or of the wrong type`);
  return t as Tlv;
}
const U = 0;
const CTX = 2;
function oidOf(t: Tlv | undefined, what: string): string {
  const o = expect(t, what, U, 6, false);
  try {
    return forge.asn1.derToOid(forge.util.createBuffer(o.value.toString('binary')));
  } catch {
    return fail('MALFORMED', `CMS: ${what} is not an OID`);
  }
}
/** Content octets of an OCTET STRING, primitive or constructed (BER chunks, bounded by the reader). */
function octetsOf(t: Tlv, what: string, depth = 0): Buffer {
  if (!t.constructed) return t.value;
  if (depth > 4) fail('MALFORMED', `CMS: ${what} nested too deep`);
  return Buffer.concat(
    t.children.map((c) => {
      if (c.cls !== U || c.tag !== 4) fail('MALFORMED', `CMS: ${what} has a chunk that is not an OCTET STRING`);
      return octetsOf(c, what, depth + 1);
    }),
  );
}
/** An INTEGER's magnitude without leading zero bytes (serial numbers compare this way). */
function intBytes(t: Tlv): Buffer {
  let v = t.value;
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Certificates

interface CertInfo {
  forge: forge.pki.Certificate;
  der: Buffer;
  issuerRaw: Buffer;
  serialRaw: Buffer; // full INTEGER TLV
  serial: Buffer; // magnitude
  ski?: Buffer;
  subject: string;
}

function dn(attrs: forge.pki.CertificateField[]): string {
  const short: Record<string, string> = {
    commonName: 'CN',
    organizationalUnitName: 'OU',
    organizationName: 'O',
    countryName: 'C',
    localityName: 'L',
    stateOrProvinceName: 'ST',
  };
  return attrs.map((a) => `${(a.name && short[a.name]) || a.shortName || a.type}=${String(a.value)}`).join(', ');
}

function certFromDer(derBytes: Buffer, role: string): CertInfo {
  const t = parseBer(derBytes, `${role} certificate`);
  const tbs = expect(t.children[0], `${role} certificate body`, U, 16);
  let i = 0;
  if (tbs.children[0]?.cls === CTX && tbs.children[0].tag === 0) i = 1; // [0] version
  const serialT = expect(tbs.children[i], `${role} certificate serial`, U, 2, false);
  const issuerT = expect(tbs.children[i + 2], `${role} certificate issuer`, U, 16);
  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromAsn1(forge.asn1.fromDer(derBytes.toString('binary')));
  } catch (e) {
    const m = (e as Error).message ?? '';
    return fail('CERT_INVALID', `${role} certificate: ${/OID is not RSA/.test(m) ? 'not an RSA key' : 'cannot be read'}`);
  }
  const skiExt = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null;
  return {
    forge: cert,
    der: derBytes,
    issuerRaw: issuerT.raw,
    serialRaw: serialT.raw,
    serial: intBytes(serialT),
    ski: skiExt?.subjectKeyIdentifier ? Buffer.from(skiExt.subjectKeyIdentifier, 'hex') : undefined,
    subject: dn(cert.subject.attributes),
  };
}

function certFromPem(pem: string, role: string): CertInfo {
  if (typeof pem !== 'string' || pem.length > MAX_CERT_PEM) fail('CERT_INVALID', `${role} certificate: not a PEM text of a sensible size`);
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) return fail('CERT_INVALID', `${role} certificate: no PEM certificate found`);
  return certFromDer(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'), role);
}

function checkValidity(c: CertInfo, role: string, now: Date): void {
  const { notBefore, notAfter } = c.forge.validity;
  const serial = c.serial.toString('hex');
  if (now.getTime() > notAfter.getTime())
    fail('CERT_EXPIRED', `${role} certificate (${c.subject}, serial ${serial}) expired on ${notAfter.toISOString()}`);
  if (now.getTime() < notBefore.getTime())
    fail('CERT_EXPIRED', `${role} certificate (${c.subject}, serial ${serial}) is not valid before ${notBefore.toISOString()}`);
}

function privateKey(pem: string, role: string): forge.pki.rsa.PrivateKey {
  try {
    if (typeof pem !== 'string' || pem.length > MAX_CERT_PEM) throw new Error();
    return forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  } catch {
    return fail('CERT_INVALID', `${role} key: not an unencrypted RSA private key in PEM`);
  }
}

function sameKey(cert: CertInfo, key: forge.pki.rsa.PrivateKey): boolean {
  const pub = cert.forge.publicKey as forge.pki.rsa.PublicKey;
  return pub.n.equals(key.n) && pub.e.equals(key.e);
}

// ---------------------------------------------------------------------------------------------
// MIME

const CRLF = '\r\n';

function base64Lines(b: Buffer): string {
  const s = b.toString('base64');
  const out: string[] = [];
  for (let i = 0; i < s.length; i += 76) out.push(s.slice(i, i + 76));
  return out.join(CRLF) + CRLF;
}

function entity(headers: Array<[string, string]>, body: Buffer): Buffer {
  const head = headers.map(([k, v]) => `${k}: ${v}`).join(CRLF) + CRLF + CRLF;
  return Buffer.concat([Buffer.from(head, 'ascii'), Buffer.from(base64Lines(body), 'ascii')]);
}

interface MimeEntity {
  /** Lower-cased header name → unfolded value (first occurrence). */
  headers: Map<string, string>;
  /** Lower-cased type/subtype. */
  type: string;
  params: Map<string, string>;
  body: Buffer;
}

function parseParams(v: string): { value: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  const parts = v.split(';');
  const value = parts.shift()!.trim().toLowerCase();
  for (const p of parts) {
    const m = /^\s*([A-Za-z0-9._*-]+)\s*=\s*(?:"([^"]*)"|([^\s;]*))\s*$/.exec(p);
    if (m) params.set(m[1].toLowerCase(), m[2] ?? m[3] ?? '');
  }
  return { value, params };
}

function parseMime(buf: Buffer, what: string): MimeEntity {
  const window = buf.subarray(0, MAX_HEADER_BYTES).toString('latin1');
  const crlf = window.indexOf('\r\n\r\n');
  const lf = window.indexOf('\n\n');
  let end: number;
  let sep: number;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) [end, sep] = [crlf, 4];
  else if (lf >= 0) [end, sep] = [lf, 2];
  else return fail('MALFORMED', `${what}: no end of MIME headers in the first ${MAX_HEADER_BYTES} bytes`);
  const headers = new Map<string, string>();
  const lines = window.slice(0, end).split(/\r?\n/);
  let current: [string, string] | undefined;
  const flush = () => {
    if (current && !headers.has(current[0])) headers.set(current[0], current[1].trim());
  };
  for (const line of lines) {
    if (/^[ \t]/.test(line) && current) {
      current[1] += ' ' + line.trim();
      continue;
    }
    flush();
    const m = /^([!-9;-~]+):(.*)$/.exec(line);
    if (!m) return fail('MALFORMED', `${what}: a MIME header line is not "Name: value"`);
    current = [m[1].toLowerCase(), m[2]];
  }
  flush();
  const ct = parseParams(headers.get('content-type') ?? 'text/plain');
  return { headers, type: ct.value, params: ct.params, body: buf.subarray(end + sep) };
}

const typeToken = (t: string) => (/^[a-z0-9.+-]{1,40}\/[a-z0-9.+-]{1,60}$/.test(t) ? t : 'an unexpected type');

function decodeBody(e: MimeEntity, what: string): Buffer {
  const cte = (e.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (cte === 'binary' || cte === '8bit' || cte === '7bit') return e.body;
  if (cte !== 'base64') return fail('MALFORMED', `${what}: unsupported Content-Transfer-Encoding`);
  const s = e.body.toString('latin1').replace(/[\r\n\t ]+/g, '');
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return fail('MALFORMED', `${what}: the base64 body is not valid base64`);
  return Buffer.from(s, 'base64');
}

function safeFilename(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 100);
  return clean || undefined;
}

const isPkcs7Mime = (t: string) => t === 'application/pkcs7-mime' || t === 'application/x-pkcs7-mime';

// ---------------------------------------------------------------------------------------------
// SignedData

function signedAttrs(content: Buffer, now: Date): Buffer[] {
  const digest = createHash('sha256').update(content).digest();
  const attrs = [
    seq(oid(OID.contentType), set(oid(OID.data))),
    seq(oid(OID.signingTime), set(utcTime(now))),
    seq(oid(OID.messageDigest), set(octets(digest))),
  ];
  return attrs.sort(Buffer.compare); // DER: a SET OF sorted by encoding
}

function buildSignedData(content: Buffer, signer: CertInfo, keyPem: string, now: Date): Buffer {
  const attrs = signedAttrs(content, now);
  const signature = rsaSign('sha256', set(...attrs), keyPem); // PKCS#1 v1.5 over the DER SET
  const signerInfo = seq(
    int(1),
    seq(signer.issuerRaw, signer.serialRaw),
    seq(oid(OID.sha256)),
    der(0xa0, ...attrs),
    seq(oid(OID.rsaEncryption), NULL),
    octets(signature),
  );
  const sd = seq(
    int(1),
    set(seq(oid(OID.sha256))),
    seq(oid(OID.data), explicit(0, octets(content))),
    der(0xa0, signer.der),
    set(signerInfo),
  );
  return seq(oid(OID.signedData), explicit(0, sd));
}

interface SignedResult {
  content: Buffer;
  signer: CertInfo;
}

function verifySignedData(cms: Buffer, trustedCaPem: string | undefined, now: Date): SignedResult {
  const ci = expect(parseBer(cms, 'SignedData'), 'ContentInfo', U, 16);
  if (oidOf(ci.children[0], 'content type') !== OID.signedData) fail('MALFORMED', 'CMS: the signed part is not a SignedData');
  const sd = expect(expect(ci.children[1], 'SignedData wrapper', CTX, 0).children[0], 'SignedData', U, 16);
  const encap = expect(sd.children[2], 'encapsulated content', U, 16);
  const eType = oidOf(encap.children[0], 'encapsulated content type');
  const eWrap = encap.children[1];
  if (!eWrap) return fail('BAD_SIGNATURE', 'CMS: detached SignedData without its content');
  const content = octetsOf(expect(expect(eWrap, 'content', CTX, 0).children[0], 'content', U, 4), 'content');
  const certs: CertInfo[] = [];
  let k = 3;
  for (; sd.children[k] && sd.children[k].cls === CTX; k++) {
    if (sd.children[k].tag !== 0) continue; // [1] CRLs
    for (const c of sd.children[k].children.slice(0, 16)) {
      if (c.cls !== U || c.tag !== 16) continue;
      try {
        certs.push(certFromDer(Buffer.from(c.raw), 'signer'));
      } catch {
        // another certificate of the chain we cannot read (not RSA…): not the signer's, skipped
      }
    }
  }
  const infos = expect(sd.children[k], 'SignerInfos', U, 17);
  if (infos.children.length !== 1) fail('BAD_SIGNATURE', `CMS: ${infos.children.length} signer infos, expected exactly one`);
  const si = expect(infos.children[0], 'SignerInfo', U, 16);
  const sid = si.children[1];
  let cert: CertInfo | undefined;
  if (sid?.cls === U && sid.tag === 16) {
    const issuer = expect(sid.children[0], 'signer issuer', U, 16).raw;
    const serial = intBytes(expect(sid.children[1], 'signer serial', U, 2, false));
    cert = certs.find((c) => c.issuerRaw.equals(issuer) && c.serial.equals(serial));
  } else if (sid?.cls === CTX && sid.tag === 0) {
    cert = certs.find((c) => c.ski?.equals(sid.value));
  } else fail('MALFORMED', 'CMS: unknown signer identifier');
  if (!cert) return fail('BAD_SIGNATURE', 'CMS: the signer certificate is not in the message');
  const digestName = DIGESTS[oidOf(expect(si.children[2], 'digest algorithm', U, 16).children[0], 'digest algorithm')];
  if (!digestName) return fail('UNSUPPORTED_ALGORITHM', 'CMS: unsupported digest algorithm');
  let i = 3;
  let attrsT: Tlv | undefined;
  if (si.children[i]?.cls === CTX && si.children[i].tag === 0) attrsT = si.children[i++];
  const sigAlg = oidOf(expect(si.children[i], 'signature algorithm', U, 16).children[0], 'signature algorithm');
  if (!(sigAlg in RSA_SIGNATURES)) return fail('UNSUPPORTED_ALGORITHM', 'CMS: unsupported signature algorithm (RSA PKCS#1 v1.5 only)');
  const signature = expect(si.children[i + 1], 'signature', U, 4).value;
  const hash = RSA_SIGNATURES[sigAlg] ?? digestName;
  const digest = createHash(digestName).update(content).digest();
  let signedBytes: Buffer;
  if (attrsT) {
    let md: Buffer | undefined;
    let ct: string | undefined;
    for (const a of attrsT.children) {
      const type = oidOf(expect(a, 'signed attribute', U, 16).children[0], 'signed attribute type');
      const v = expect(a.children[1], 'signed attribute values', U, 17).children[0];
      if (type === OID.messageDigest) md = expect(v, 'message digest', U, 4, false).value;
      if (type === OID.contentType) ct = oidOf(v, 'content type attribute');
    }
    if (!md || !md.equals(digest)) fail('BAD_SIGNATURE', 'CMS: the content does not match the signed message digest');
    if (ct !== eType) fail('BAD_SIGNATURE', 'CMS: the signed content type does not match');
    // The signature covers the DER of the attributes with the SET OF tag instead of [0].
    signedBytes = Buffer.concat([Buffer.from([0x31]), attrsT.raw.subarray(1)]);
    if (attrsT.raw[1] === 0x80) fail('MALFORMED', 'CMS: signed attributes must be DER');
  } else signedBytes = content;
  let ok = false;
  try {
    const pub = createPublicKey(forge.pki.publicKeyToPem(cert.forge.publicKey));
    ok = rsaVerify(hash, signedBytes, pub, signature);
  } catch {
    ok = false;
  }
  if (!ok) fail('BAD_SIGNATURE', `CMS: the signature of ${cert.subject} (serial ${cert.serial.toString('hex')}) does not verify`);
  if (trustedCaPem !== undefined) {
    let trusted = false;
    try {
      const cas = trustedCaPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      const store = forge.pki.createCaStore(cas);
      trusted = cas.length > 0 && forge.pki.verifyCertificateChain(store, [cert.forge], { validityCheckDate: now });
    } catch {
      trusted = false;
    }
    if (!trusted)
      fail(
        'UNTRUSTED_SIGNER',
        `CMS: the signer ${cert.subject} (serial ${cert.serial.toString('hex')}) is not issued by the trusted CA, or its certificate is not valid now`,
      );
  }
  return { content, signer: cert };
}

// ---------------------------------------------------------------------------------------------
// EnvelopedData

function buildEnvelopedData(content: Buffer, recipient: CertInfo, cipherOid: string): Buffer {
  const c = CIPHERS[cipherOid];
  const key = randomBytes(c.key);
  const iv = randomBytes(c.iv);
  const cipher = createCipheriv(c.name, key, iv);
  const encrypted = Buffer.concat([cipher.update(content), cipher.final()]);
  const pub = recipient.forge.publicKey as forge.pki.rsa.PublicKey;
  const encKey = Buffer.from(pub.encrypt(key.toString('binary'), 'RSAES-PKCS1-V1_5'), 'binary');
  const ktri = seq(int(0), seq(recipient.issuerRaw, recipient.serialRaw), seq(oid(OID.rsaEncryption), NULL), octets(encKey));
  const eci = seq(oid(OID.data), seq(oid(cipherOid), octets(iv)), der(0x80, encrypted));
  return seq(oid(OID.envelopedData), explicit(0, seq(int(0), set(ktri), eci)));
}

function decryptEnvelopedData(cms: Buffer, me: CertInfo, key: forge.pki.rsa.PrivateKey): Buffer {
  const ci = expect(parseBer(cms, 'S/MIME body'), 'ContentInfo', U, 16);
  const type = oidOf(ci.children[0], 'content type');
  if (type !== OID.envelopedData) fail('NOT_ENCRYPTED', 'CMS: the message is not EnvelopedData (not encrypted)');
  const ed = expect(expect(ci.children[1], 'EnvelopedData wrapper', CTX, 0).children[0], 'EnvelopedData', U, 16);
  let i = 1;
  if (ed.children[i]?.cls === CTX && ed.children[i].tag === 0) i++; // originatorInfo
  const ris = expect(ed.children[i], 'RecipientInfos', U, 17);
  const eci = expect(ed.children[i + 1], 'EncryptedContentInfo', U, 16);
  if (ris.children.length > MAX_RECIPIENTS) fail('MALFORMED', `CMS: ${ris.children.length} recipients, at most ${MAX_RECIPIENTS}`);
  let mine: Tlv | undefined;
  for (const ri of ris.children) {
    if (ri.cls !== U || ri.tag !== 16) continue; // KEKRecipientInfo, KeyAgree…: not ours
    const rid = ri.children[1];
    if (rid?.cls === U && rid.tag === 16) {
      const issuer = rid.children[0];
      const serial = rid.children[1];
      if (issuer?.raw.equals(me.issuerRaw) && serial?.tag === 2 && intBytes(serial).equals(me.serial)) mine = ri;
    } else if (rid?.cls === CTX && rid.tag === 0 && me.ski?.equals(rid.value)) mine = ri;
    if (mine) break;
  }
  if (!mine)
    return fail('NOT_FOR_US', `CMS: ${ris.children.length} recipient(s), none is our certificate (serial ${me.serial.toString('hex')})`);
  const kea = oidOf(expect(mine.children[2], 'key encryption algorithm', U, 16).children[0], 'key encryption algorithm');
  if (kea !== OID.rsaEncryption && kea !== OID.rsaesOaep)
    fail('UNSUPPORTED_ALGORITHM', 'CMS: unsupported key transport (RSA PKCS#1 v1.5 or OAEP only)');
  if (kea === OID.rsaesOaep && (mine.children[2].children[1]?.children.length ?? 0) > 0)
    fail('UNSUPPORTED_ALGORITHM', 'CMS: RSA-OAEP with non-default parameters');
  const encKey = expect(mine.children[3], 'encrypted key', U, 4, false).value;
  const alg = expect(eci.children[1], 'content encryption algorithm', U, 16);
  const c = CIPHERS[oidOf(alg.children[0], 'content encryption algorithm')];
  if (!c) return fail('UNSUPPORTED_ALGORITHM', 'CMS: unsupported content cipher (AES-CBC or 3DES-CBC only)');
  const iv = expect(alg.children[1], 'cipher IV', U, 4, false).value;
  if (iv.length !== c.iv) fail('MALFORMED', `CMS: ${c.name} IV of ${iv.length} bytes`);
  const encT = eci.children[2];
  if (!encT || encT.cls !== CTX || encT.tag !== 0) return fail('MALFORMED', 'CMS: no encrypted content');
  const encrypted = encT.constructed ? octetsOf(encT, 'encrypted content') : encT.value;
  let cek: Buffer;
  try {
    cek = Buffer.from(key.decrypt(encKey.toString('binary'), kea === OID.rsaesOaep ? 'RSA-OAEP' : 'RSAES-PKCS1-V1_5'), 'binary');
  } catch {
    return fail('DECRYPT_FAILED', 'CMS: the content key does not decrypt with our private key');
  }
  if (cek.length !== c.key) fail('DECRYPT_FAILED', 'CMS: the decrypted content key has the wrong length');
  try {
    const d = createDecipheriv(c.name, cek, iv);
    return Buffer.concat([d.update(encrypted), d.final()]);
  } catch {
    return fail('DECRYPT_FAILED', `CMS: the content does not decrypt (${c.name})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

export interface SealOptions {
  /** The recipient AMC's encryption certificate (PEM; the first certificate is used). */
  recipientCertPem: string;
  /** AES-256-CBC by default; 3DES (des-ede3-cbc) for legacy partners. */
  cipher?: 'aes-256-cbc' | 'des-ede3-cbc';
  /** Sign with the establishment's certificate before encrypting (SignedData, SHA-256, RSA). */
  signer?: { certPem: string; keyPem: string };
  /** Name of the file inside the EDI-consent entity (safe characters only; default `DREES.Z`). */
  filename?: string;
  /** Clock for the certificate checks and the signing time (tests). */
  now?: Date;
  /** Cap of the file to seal (default DEFAULT_MAX_FILE_BYTES). */
  maxFileBytes?: number;
  /** zlib level 1–9 (default 6; 1–3 are about twice as fast for a few more bytes). */
  compressionLevel?: number;
}

/** The application/EDI-consent entity for a file (zlib-compressed, base64). Exported for tests and interop. */
export function ediConsentEntity(file: Buffer, filename: string, compressed = true, level = 6): Buffer {
  const body = compressed ? deflateSync(file, { level }) : file;
  return entity(
    [
      ['Content-Type', `application/EDI-consent; name="${filename}"`],
      ['Content-Transfer-Encoding', 'base64'],
      ['Content-Disposition', `attachment; filename="${filename}"`],
      ['Content-Description', compressed ? 'IRIS/B2/Z' : 'IRIS/B2'],
    ],
    body,
  );
}

/** An S/MIME signed-data entity (opaque signature, SHA-256 + RSA) wrapping `inner` (a MIME entity). */
export function signEntity(inner: Buffer, signer: { certPem: string; keyPem: string }, now: Date = new Date()): Buffer {
  const cert = certFromPem(signer.certPem, 'signer');
  checkValidity(cert, 'signer', now);
  if (!sameKey(cert, privateKey(signer.keyPem, 'signer'))) fail('CERT_INVALID', 'signer: the key does not match the certificate');
  let sd: Buffer;
  try {
    sd = buildSignedData(inner, cert, signer.keyPem, now);
  } catch {
    return fail('CERT_INVALID', 'signer: the key cannot sign');
  }
  return entity(
    [
      ['Content-Type', 'application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"'],
      ['Content-Transfer-Encoding', 'base64'],
      ['Content-Disposition', 'attachment; filename="smime.p7m"'],
    ],
    sd,
  );
}

/**
 * An S/MIME enveloped-data entity encrypting `inner` (a MIME entity) for the recipient's
 * certificate, checked first: expired or not yet valid → CERT_EXPIRED; not RSA or a key usage
 * without key encipherment → CERT_INVALID.
 */
export function envelopeEntity(
  inner: Buffer,
  o: { recipientCertPem: string; cipher?: 'aes-256-cbc' | 'des-ede3-cbc'; now?: Date },
): Buffer {
  const cipher = o.cipher ?? 'aes-256-cbc';
  if (!Object.prototype.hasOwnProperty.call(CIPHER_OID, cipher)) fail('BAD_INPUT', 'seal: cipher must be aes-256-cbc or des-ede3-cbc');
  const recipient = certFromPem(o.recipientCertPem, 'recipient');
  checkValidity(recipient, 'recipient', o.now ?? new Date());
  const ku = recipient.forge.getExtension('keyUsage') as { keyEncipherment?: boolean } | null;
  if (ku && !ku.keyEncipherment)
    fail('CERT_INVALID', `recipient certificate (${recipient.subject}): its key usage does not allow key encipherment`);
  const ed = buildEnvelopedData(inner, recipient, CIPHER_OID[cipher]);
  return entity(
    [
      ['MIME-Version', '1.0'],
      ['Content-Type', 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"'],
      ['Content-Transfer-Encoding', 'base64'],
      ['Content-Disposition', 'attachment; filename="smime.p7m"'],
    ],
    ed,
  );
}

/** Compress, wrap, optionally sign, and encrypt a DRE-ES file for its recipient: the S/MIME entity's bytes. */
export function sealEdiConsent(file: Buffer, o: SealOptions): Buffer {
  const now = o.now ?? new Date();
  if (!Buffer.isBuffer(file) || file.length === 0) fail('BAD_INPUT', 'seal: the file is empty');
  const max = o.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (file.length > max) fail('TOO_LARGE', `seal: the file is ${file.length} bytes, above the cap of ${max}`);
  const filename = o.filename ?? 'DREES.Z';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(filename))
    fail('BAD_INPUT', 'seal: the filename must be 1–100 characters among A-Z a-z 0-9 . _ -');
  // Check the recipient before any work (and before signing).
  const recipient = certFromPem(o.recipientCertPem, 'recipient');
  checkValidity(recipient, 'recipient', now);
  const level = o.compressionLevel ?? 6;
  if (!Number.isInteger(level) || level < 1 || level > 9) fail('BAD_INPUT', 'seal: compressionLevel must be an integer from 1 to 9');
  let inner = ediConsentEntity(file, filename, true, level);
  if (o.signer) inner = signEntity(inner, o.signer, now);
  return envelopeEntity(inner, { recipientCertPem: o.recipientCertPem, cipher: o.cipher, now });
}

export interface OpenOptions {
  /** Our certificate and key (the ones the sender encrypted for). */
  certPem: string;
  keyPem: string;
  /** When given, a signature must come from a certificate this CA issued (PEM, one or more). */
  trustedSignerCaPem?: string;
  /** Refuse an unsigned file (SIGNATURE_REQUIRED). */
  requireSignature?: boolean;
  now?: Date;
  /** Cap of the S/MIME input (default DEFAULT_MAX_SMIME_BYTES). */
  maxSmimeBytes?: number;
  /** Cap of the inflated file (default DEFAULT_MAX_FILE_BYTES). */
  maxFileBytes?: number;
}

export interface Opened {
  file: Buffer;
  /** From the EDI-consent entity, reduced to safe characters. */
  filename?: string;
  /** Present when the content was signed (and the signature verified). */
  signer?: { subject: string; serial: string };
}

/**
 * Open an S/MIME entity (or bare DER/BER EnvelopedData, as in a `.p7m` file): decrypt, verify
 * the signature when there is one, unwrap the EDI-consent entity, inflate. Throws only
 * BillingTransportError.
 */
export function openEdiConsent(smime: Buffer, o: OpenOptions): Opened {
  try {
    return open(smime, o);
  } catch (e) {
    if (e instanceof BillingTransportError) throw e;
    // A bug or an unforeseen input: never leak the cause's text (it could quote content).
    throw new BillingTransportError('MALFORMED', 'S/MIME: the message cannot be read');
  }
}

function open(smime: Buffer, o: OpenOptions): Opened {
  const now = o.now ?? new Date();
  const maxIn = o.maxSmimeBytes ?? DEFAULT_MAX_SMIME_BYTES;
  const maxFile = o.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!Buffer.isBuffer(smime) || smime.length === 0) fail('MALFORMED', 'S/MIME: empty message');
  if (smime.length > maxIn) fail('TOO_LARGE', `S/MIME: the message is ${smime.length} bytes, above the cap of ${maxIn}`);
  const me = certFromPem(o.certPem, 'our');
  const key = privateKey(o.keyPem, 'our');
  let cms: Buffer;
  if (smime[0] === 0x30) cms = smime;
  else {
    const outer = parseMime(smime, 'S/MIME');
    const st = (outer.params.get('smime-type') ?? '').toLowerCase();
    if (!isPkcs7Mime(outer.type) || (st && st !== 'enveloped-data'))
      fail(
        'NOT_ENCRYPTED',
        `S/MIME: the message is ${typeToken(outer.type)}${st ? ` (${typeToken('x/' + st).slice(2)})` : ''}, not enveloped-data`,
      );
    cms = decodeBody(outer, 'S/MIME');
  }
  let inner = parseMime(decryptEnvelopedData(cms, me, key), 'decrypted content');
  let signer: Opened['signer'];
  if (isPkcs7Mime(inner.type)) {
    const st = (inner.params.get('smime-type') ?? 'signed-data').toLowerCase();
    if (st !== 'signed-data') fail('NOT_EDI_CONSENT', 'decrypted content: a pkcs7-mime entity that is not signed-data');
    const v = verifySignedData(decodeBody(inner, 'signed entity'), o.trustedSignerCaPem, now);
    signer = { subject: v.signer.subject, serial: v.signer.serial.toString('hex') };
    inner = parseMime(v.content, 'signed content');
  } else if (inner.type === 'multipart/signed') {
    fail(
      'UNSUPPORTED_ALGORITHM',
      'decrypted content: multipart/signed (detached signature) is not supported; sign opaque (pkcs7-mime signed-data)',
    );
  } else if (o.requireSignature) fail('SIGNATURE_REQUIRED', 'S/MIME: the content is not signed and a signature is required');
  if (inner.type !== 'application/edi-consent')
    fail('NOT_EDI_CONSENT', `decrypted content is ${typeToken(inner.type)}, not application/EDI-consent`);
  const body = decodeBody(inner, 'EDI-consent entity');
  const desc = (inner.headers.get('content-description') ?? '').trim().toUpperCase();
  const compressed = desc ? desc.endsWith('/Z') : body.length >= 2 && (body[0] & 0x0f) === 8 && (body[0] * 256 + body[1]) % 31 === 0;
  let file = body;
  if (compressed) {
    try {
      file = inflateSync(body, { maxOutputLength: maxFile });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        fail('TOO_LARGE', `EDI-consent: the file inflates beyond the cap of ${maxFile} bytes`);
      fail('BAD_COMPRESSION', 'EDI-consent: the body is not valid zlib data');
    }
  } else if (file.length > maxFile) fail('TOO_LARGE', `EDI-consent: the file is above the cap of ${maxFile} bytes`);
  if (!file.length) fail('BAD_COMPRESSION', 'EDI-consent: empty file');
  const filename = safeFilename(
    parseParams(inner.headers.get('content-disposition') ?? '').params.get('filename') ?? inner.params.get('name'),
  );
  const out: Opened = { file };
  if (filename) out.filename = filename;
  if (signer) out.signer = signer;
  return out;
}
