/** Byte decoding shared by HL7 frames and HPRIM files. */
import * as iconv from 'iconv-lite';
import { decodeBytes } from '../../lib/model/charset';
import { decodeBytes as hl7DecodeBytes } from '../../lib/hl7/charset';

describe('decodeBytes', () => {
  it('ISO 8859-15 differs from latin1 where it matters: € and œ (Œuvre, Cœur)', () => {
    const bytes = Buffer.from([0x43, 0xbd, 0x75, 0x72, 0x20, 0xa4]);
    expect(decodeBytes(bytes, 'iso-8859-15')).toBe('Cœur €');
    expect(decodeBytes(bytes, 'latin1')).toBe('C½ur ¤');
  });

  it('ISO 8859-15 equals iconv-lite for all 256 byte values', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_v, i) => i));
    expect(decodeBytes(all, 'iso-8859-15')).toBe(iconv.decode(all, 'iso-8859-15'));
  });

  it('UTF-8 drops a BOM; windows-1252 reads œ and € at their own bytes', () => {
    expect(decodeBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Hélène', 'utf8')]), 'utf8')).toBe('Hélène');
    expect(decodeBytes(Buffer.from([0x9c, 0x80]), 'windows-1252')).toBe('œ€');
  });

  it('lib/hl7 decodeBytes gives the same text', () => {
    const b = Buffer.from([0x4c, 0xe9, 0x6f, 0x6e, 0xa4]);
    for (const cs of ['iso-8859-15', 'latin1', 'utf8', 'windows-1252'] as const) expect(hl7DecodeBytes(b, cs)).toBe(decodeBytes(b, cs));
  });
});
