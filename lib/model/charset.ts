/**
 * The character sets the bridge reads and writes (HL7 frames, HPRIM files), and byte decoding.
 * Shared by lib/hl7 and lib/hprim: which charset a message declares is each format's business
 * (MSH-18, H-15, the XML declaration), turning bytes into text is not.
 */
import * as iconv from 'iconv-lite';

/** The charsets the bridge can decode and encode (Node / iconv-lite names). */
export type Charset = 'iso-8859-15' | 'latin1' | 'utf8' | 'windows-1252';

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;

/**
 * ISO 8859-15 differs from latin1 in eight code points only. Decoding as latin1 (native) and
 * replacing those eight is about twice as fast as iconv-lite on a 1.4 KB ADT; the test suite
 * checks the result equals iconv-lite's for all 256 byte values. iconv-lite still encodes.
 */
const LATIN9_FROM_LATIN1: Record<string, string> = {
  '\u00a4': '\u20ac', // €
  '\u00a6': '\u0160', // Š
  '\u00a8': '\u0161', // š
  '\u00b4': '\u017d', // Ž
  '\u00b8': '\u017e', // ž
  '\u00bc': '\u0152', // Œ
  '\u00bd': '\u0153', // œ
  '\u00be': '\u0178', // Ÿ
};
const LATIN9_RE = /[\u00a4\u00a6\u00a8\u00b4\u00b8\u00bc\u00bd\u00be]/g;

/** Bytes → text in a charset (a UTF-8 BOM is dropped). Never throws on content. */
export function decodeBytes(bytes: Buffer, charset: Charset): string {
  switch (charset) {
    case 'utf8': {
      const bom = bytes.length >= 3 && bytes[0] === UTF8_BOM[0] && bytes[1] === UTF8_BOM[1] && bytes[2] === UTF8_BOM[2];
      return bytes.toString('utf8', bom ? 3 : 0);
    }
    case 'latin1':
      return bytes.toString('latin1');
    case 'iso-8859-15': {
      const s = bytes.toString('latin1');
      return s.replace(LATIN9_RE, (c) => LATIN9_FROM_LATIN1[c]);
    }
    default:
      return iconv.decode(bytes, charset);
  }
}
