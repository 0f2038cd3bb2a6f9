/**
 * Property-based tests (fast-check, fixed seed, bounded runs) of the HPRIM readers: HPRIM Santé
 * (readHprimSante) and HPRIM XML (readHprimXml) on random bytes, on token soups of their own syntax
 * and on the fixtures of test/fixtures/hprim mutated (bytes flipped, ranges cut or duplicated,
 * delimiters and markup inserted, lines swapped, truncation). Whatever the input, a reader never
 * throws and returns a coherent result: ok exactly when there is no error, no admission from a
 * refused file, and every issue a code, a message and its place (line, record, field) — never the
 * patient's NIR, name or birth date.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { readHprimSante, readHprimXml, type HprimIssue, type HprimReadResult } from '../../lib/hprim';

const SEED = 20260312;
const RUNS = 250;
const FIX = path.join(__dirname, '..', 'fixtures', 'hprim');
const SANTE = ['hprim-own-adm-2-patients-utf8-cr.hpr', 'hprim-own-adm-sortie-8859-15-crlf.hpr'].map((f) =>
  fs.readFileSync(path.join(FIX, f)),
);
const XML = ['hprimxml-own-venue-debiteurs.xml', 'hprimxml-own-mouvement-8859-15.xml'].map((f) => fs.readFileSync(path.join(FIX, f)));
/** Patient data of the fixtures: never in an issue's message. */
const PATIENT_DATA = [
  'DUPRÉ',
  'Hélène',
  'LEFÈVRE',
  'François',
  'CŒUR',
  'Zoé',
  '19780314',
  '1978-03-14',
  '19650722',
  '2780345123456',
  '278034512345677',
  '2850213005042',
];

/** One edit of a byte buffer; positions are fractions of the length so they fit any input. */
type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate'; at: number; len: number; to: number }
  | { kind: 'truncate'; at: number };

function mutation(tokens: string[]): fc.Arbitrary<Mutation> {
  const at = fc.double({ min: 0, max: 1, noNaN: true });
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('delete' as const), at, len: fc.integer({ min: 1, max: 40 }) }),
    fc.record({
      kind: fc.constant('insert' as const),
      at,
      bytes: fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 12 }),
        fc.constantFrom(...tokens).map((t) => new Uint8Array(Buffer.from(t, 'utf8'))),
      ),
    }),
    fc.record({ kind: fc.constant('duplicate' as const), at, len: fc.integer({ min: 1, max: 200 }), to: at }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
  );
}

function apply(input: Buffer, muts: Mutation[]): Buffer {
  let b = input;
  for (const m of muts) {
    const i = Math.floor(m.at * b.length);
    switch (m.kind) {
      case 'flip':
        if (b.length) {
          b = Buffer.from(b);
          b[Math.min(i, b.length - 1)] = m.byte;
        }
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, i), b.subarray(i + m.len)]);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, i), Buffer.from(m.bytes), b.subarray(i)]);
        break;
      case 'duplicate': {
        const slice = b.subarray(i, i + m.len);
        const to = Math.floor(m.to * b.length);
        b = Buffer.concat([b.subarray(0, to), slice, b.subarray(to)]);
        break;
      }
      case 'truncate':
        b = b.subarray(0, i);
        break;
    }
  }
  return b;
}

const SANTE_TOKENS = [
  'H|',
  'P|',
  'AP|',
  'AC|',
  'L|',
  'A|',
  '|',
  '~',
  '^',
  '\\',
  '&',
  '\r',
  '\n',
  '\r\n',
  '~^\\&|',
  '1',
  '2',
  '9',
  '20260312',
  '20261399',
  'ADM',
  'ORU',
  'UTF-8',
  '8859/15',
  'A',
  'S',
  'IP',
  'é',
  'Œ',
  '\u0000',
  '\xff',
];
const XML_TOKENS = [
  '<',
  '>',
  '</',
  '/>',
  '<!--',
  '-->',
  '<![CDATA[',
  ']]>',
  '<!DOCTYPE x>',
  '<!DOCTYPE',
  '<!ENTITY e "x">',
  '&',
  '&amp;',
  '&#233;',
  '&#x0;',
  '&e;',
  '"',
  "'",
  '=',
  '<?xml version="1.0"?>',
  '<?pi x?>',
  '<evenementsPatients xmlns="http://www.hprim.org/hprimXML">',
  '</evenementsPatients>',
  '<evenementPatient>',
  '</evenementPatient>',
  '<venuePatient action="création">',
  '<mouvementPatient action="x">',
  '<debiteursVenue>',
  '<date>2026-13-45</date>',
  '<patient>',
  '</patient>',
  'é',
  '\n',
  ' ',
];

/** The lines of what the reader read (line numbers in issues may point one past the end: "after the last line"). */
function lineCount(input: Buffer): number {
  return input.toString('latin1').split(/\r\n|\r|\n/).length;
}

function checkResult(r: HprimReadResult, format: 'hprim-sante' | 'hprim-xml', input: Buffer): void {
  expect(r.format).toBe(format);
  expect(typeof r.ok).toBe('boolean');
  expect(Array.isArray(r.admissions) && Array.isArray(r.errors) && Array.isArray(r.warnings)).toBe(true);
  expect(r.ok).toBe(r.errors.length === 0);
  if (!r.ok) expect(r.admissions).toEqual([]);
  const lines = lineCount(input);
  const check = (i: HprimIssue) => {
    expect(typeof i.code).toBe('string');
    expect(i.code.length).toBeGreaterThan(0);
    expect(typeof i.message).toBe('string');
    expect(i.message.length).toBeGreaterThan(0);
    // a place: a line, a record (or element), or both
    expect(i.line !== undefined || (typeof i.record === 'string' && i.record.length > 0)).toBe(true);
    if (i.line !== undefined) {
      expect(Number.isInteger(i.line)).toBe(true);
      expect(i.line).toBeGreaterThanOrEqual(1);
      expect(i.line).toBeLessThanOrEqual(lines + 1);
    }
    if (i.field !== undefined) {
      expect(Number.isInteger(i.field)).toBe(true);
      expect(i.field).toBeGreaterThanOrEqual(1);
      expect(i.record).toBeDefined();
    }
    for (const p of PATIENT_DATA) expect(i.message).not.toContain(p);
  };
  r.errors.forEach(check);
  r.warnings.forEach(check);
}

function readSanteSafely(input: Buffer): HprimReadResult {
  let r: HprimReadResult | undefined;
  expect(() => {
    r = readHprimSante(input);
  }).not.toThrow();
  return r!;
}
function readXmlSafely(input: Buffer): HprimReadResult {
  let r: HprimReadResult | undefined;
  expect(() => {
    r = readHprimXml(input);
  }).not.toThrow();
  return r!;
}

/** Fixed seed, bounded runs, and a time bound per property (a slow shared machine ends a property early, not in a timeout). */
const opts = (runs = RUNS) => ({ seed: SEED, numRuns: runs, interruptAfterTimeLimit: 10_000, markInterruptAsFailure: false });
jest.setTimeout(60_000);

describe('HPRIM Santé reader under fuzz', () => {
  it('the fixtures themselves are accepted (the mutations start from good files)', () => {
    for (const f of SANTE) expect(readHprimSante(f).ok).toBe(true);
  });

  it('random bytes: never throws, refused with placed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        const input = Buffer.from(bytes);
        checkResult(readSanteSafely(input), 'hprim-sante', input);
      }),
      opts(),
    );
  });

  it('token soups of the HPRIM Santé syntax (H, P, AP, AC, L, A| lines, delimiters): never throws, coherent result', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...SANTE_TOKENS), { maxLength: 300 }), (tokens) => {
        const input = Buffer.from(tokens.join(''), 'latin1');
        checkResult(readSanteSafely(input), 'hprim-sante', input);
      }),
      opts(),
    );
  });

  it('mutated fixtures: never throws, every issue placed, no patient data in a message', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SANTE), fc.array(mutation(SANTE_TOKENS), { minLength: 1, maxLength: 6 }), (fixture, muts) => {
        const input = apply(fixture, muts);
        checkResult(readSanteSafely(input), 'hprim-sante', input);
      }),
      opts(400),
    );
  });

  it('a fixture with one line removed is refused, naming a line (the L counts or the order catch it)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SANTE), fc.nat(), (fixture, k) => {
        const text = fixture.toString('latin1');
        const sep = text.includes('\r\n') ? '\r\n' : '\r';
        const lines = text.split(sep).filter((l) => l.length > 0);
        const drop = 1 + (k % (lines.length - 2)); // not H, not L
        const input = Buffer.from(lines.filter((_l, i) => i !== drop).join(sep) + sep, 'latin1');
        const r = readSanteSafely(input);
        checkResult(r, 'hprim-sante', input);
        expect(r.ok).toBe(false);
        expect(r.errors.some((e) => e.line !== undefined)).toBe(true);
      }),
      opts(60),
    );
  });
});

describe('HPRIM XML reader under fuzz', () => {
  it('the fixtures themselves are accepted (the mutations start from good files)', () => {
    for (const f of XML) expect(readHprimXml(f).ok).toBe(true);
  });

  it('random bytes (with or without a leading "<"): never throws, refused with placed errors', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 3000 }), (lt, bytes) => {
        const input = Buffer.concat([Buffer.from(lt ? '<' : ''), Buffer.from(bytes)]);
        const r = readXmlSafely(input);
        checkResult(r, 'hprim-xml', input);
        expect(r.ok).toBe(false);
      }),
      opts(),
    );
  });

  it('token soups of XML markup (comments, CDATA, DOCTYPE, entities, HPRIM elements): never throws, coherent result', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...XML_TOKENS), { maxLength: 200 }), (tokens) => {
        const input = Buffer.from(tokens.join(''), 'utf8');
        const r = readXmlSafely(input);
        checkResult(r, 'hprim-xml', input);
        // a real declaration, wherever the soup put it outside comments and CDATA, is never accepted
        if (r.ok) expect(r.admissions.length).toBeGreaterThan(0);
      }),
      opts(),
    );
  });

  it('mutated fixtures: never throws, every issue placed, no patient data in a message', () => {
    fc.assert(
      fc.property(fc.constantFrom(...XML), fc.array(mutation(XML_TOKENS), { minLength: 1, maxLength: 6 }), (fixture, muts) => {
        const input = apply(fixture, muts);
        checkResult(readXmlSafely(input), 'hprim-xml', input);
      }),
      opts(400),
    );
  });

  it('a DOCTYPE or ENTITY declaration inserted between elements is always refused (XML_DTD); the same text in a comment or CDATA never is', () => {
    const good = XML[0].toString('utf8');
    const gaps = [...good.matchAll(/>\s*\n\s*</g)].map((m) => m.index! + 1);
    fc.assert(
      fc.property(
        fc.constantFrom(...gaps),
        fc.constantFrom(
          '<!DOCTYPE x [<!ENTITY e "y">]>',
          '<!ENTITY e SYSTEM "file:///etc/passwd">',
          '<!DOCTYPE evenementsPatients SYSTEM "hprim.dtd">',
        ),
        fc.constantFrom('comment', 'cdata', 'bare'),
        (at, decl, how) => {
          const wrapped = how === 'comment' ? `<!-- ${decl} -->` : how === 'cdata' ? `<libelle><![CDATA[${decl}]]></libelle>` : decl;
          const r = readXmlSafely(Buffer.from(good.slice(0, at) + wrapped + good.slice(at), 'utf8'));
          if (how === 'bare') expect(r.errors.map((e) => e.code)).toContain('XML_DTD');
          else expect(r.errors.map((e) => e.code)).not.toContain('XML_DTD');
        },
      ),
      opts(120),
    );
  });
});
