import { readFileSync } from 'fs';
import * as path from 'path';
import * as iconv from 'iconv-lite';
import { charsetFromMsh18, decodeBytes, decodeFrame, encode, readMsh18, readRawMsh } from '../../lib/hl7/charset';

const FIX = path.join(__dirname, '..', 'fixtures', 'hl7');
const utf8 = readFileSync(path.join(FIX, 'pamfr-own-adt-a01-amo-amc-utf8.hl7'));
const iso = readFileSync(path.join(FIX, 'pamfr-own-adt-a01-amo-amc-8859-15.hl7'));
const isoNoMsh18 = readFileSync(path.join(FIX, 'pamfr-own-adt-a03-sortie-8859-15-sans-msh18.hl7'));

describe('charsets', () => {
  it('the ISO 8859-15 fixture really holds single-byte œ (0xBD) and € (0xA4)', () => {
    expect(iso.includes(Buffer.from([0xbd]))).toBe(true);
    expect(iso.includes(Buffer.from([0xa4]))).toBe(true);
    expect(utf8.includes(Buffer.from('€', 'utf8'))).toBe(true);
  });

  it('reads MSH-18 from the raw bytes before decoding', () => {
    expect(readMsh18(utf8)).toBe('UNICODE UTF-8');
    expect(readMsh18(iso)).toBe('8859/15');
    expect(readMsh18(isoNoMsh18)).toBeUndefined();
    expect(readMsh18(Buffer.from('PID|1||x'))).toBeUndefined();
    expect(readRawMsh(utf8)?.[10]).toBe('A01-UTF8-0001');
  });

  it('maps the MSH-18 spellings met in the field', () => {
    expect(charsetFromMsh18('8859/15')).toBe('iso-8859-15');
    expect(charsetFromMsh18('8859/1')).toBe('latin1');
    expect(charsetFromMsh18('UNICODE UTF-8')).toBe('utf8');
    expect(charsetFromMsh18('utf-8')).toBe('utf8');
    expect(charsetFromMsh18('EBCDIC')).toBeUndefined();
  });

  it('decodes the same admission identically from UTF-8 and ISO 8859-15 bytes', () => {
    const a = decodeFrame(utf8);
    const b = decodeFrame(iso);
    expect(a.charset).toBe('utf8');
    expect(b.charset).toBe('iso-8859-15');
    expect(a.source).toBe('msh-18');
    for (const word of ['LEFÈVRE-BŒUF', 'Hélène', 'FRANÇOIS', '45 € / jour', 'cœur', 'Œuvres']) {
      expect(a.text).toContain(word);
      expect(b.text).toContain(word);
    }
  });

  it('uses the listener default when MSH-18 is empty (ISO 8859-15 unless configured)', () => {
    const d = decodeFrame(isoNoMsh18);
    expect(d).toMatchObject({ charset: 'iso-8859-15', source: 'default', unknownDeclared: false });
    expect(d.text).toContain('Hélène');
    // A listener configured for UTF-8 would misread these ISO bytes: the default matters.
    expect(decodeFrame(isoNoMsh18, { defaultCharset: 'utf8' }).text).not.toContain('Hélène');
  });

  it('can sniff UTF-8 when MSH-18 is empty and the bytes are valid UTF-8', () => {
    const undeclared = Buffer.from(utf8.toString('utf8').replace('UNICODE UTF-8', ''), 'utf8');
    expect(decodeFrame(undeclared).text).not.toContain('Hélène'); // default 8859-15: mojibake
    const d = decodeFrame(undeclared, { sniffUtf8: true });
    expect(d).toMatchObject({ charset: 'utf8', source: 'sniffed' });
    expect(d.text).toContain('Hélène');
    expect(decodeFrame(isoNoMsh18, { sniffUtf8: true }).charset).toBe('iso-8859-15');
  });

  it('falls back to the default on an unknown MSH-18 and says so', () => {
    const odd = Buffer.from(iso.toString('latin1').replace('8859/15', 'KLINGON'), 'latin1');
    expect(decodeFrame(odd)).toMatchObject({ charset: 'iso-8859-15', declared: 'KLINGON', unknownDeclared: true });
  });

  it('decodes ISO 8859-15 exactly as iconv-lite does, for every byte value', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(decodeBytes(all, 'iso-8859-15')).toBe(iconv.decode(all, 'iso-8859-15'));
    expect(decodeBytes(Buffer.from([0xa4, 0xbc, 0xbd, 0xbe, 0xe7]), 'iso-8859-15')).toBe('€ŒœŸç');
    expect(decodeBytes(Buffer.from([0xef, 0xbb, 0xbf, 0x41]), 'utf8')).toBe('A');
  });

  it('encodes answers in the message charset', () => {
    expect(encode('Réf. 45 €', 'iso-8859-15')).toEqual(Buffer.from([0x52, 0xe9, 0x66, 0x2e, 0x20, 0x34, 0x35, 0x20, 0xa4]));
    expect(encode('Réf. 45 €', 'utf8')).toEqual(Buffer.from('Réf. 45 €', 'utf8'));
    expect(encode('€', 'latin1')).toEqual(Buffer.from('?'));
  });
});
