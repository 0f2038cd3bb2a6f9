/**
 * Character sets of HL7 frames. MSH-18 is read from the raw bytes first (the MSH segment is ASCII
 * whatever the charset), mapped through the profile table MSH18_CHARSETS, and the whole frame is
 * then decoded. Without MSH-18 the listener's default applies (ISO 8859-15, the French default).
 */
import * as iconv from 'iconv-lite';
import { isUtf8 } from 'buffer';
import { decodeBytes as decodeCharset } from '../model/charset';
import { CHARSET_TO_MSH18, DEFAULT_CHARSET, MSH18_CHARSETS, type Hl7Charset } from './profile';

export type { Hl7Charset } from './profile';

export interface DecodeOptions {
  /** Charset used when MSH-18 is empty or unknown (default ISO 8859-15). */
  defaultCharset?: Hl7Charset;
  /**
   * When MSH-18 is empty and the bytes are valid UTF-8 containing non-ASCII characters, decode
   * as UTF-8 instead of the default (a field habit of GAPs that never fill MSH-18). Default false.
   */
  sniffUtf8?: boolean;
}

export interface DecodedFrame {
  text: string;
  charset: Hl7Charset;
  /** MSH-18 as sent (first repetition, first component), when any. */
  declared?: string;
  /** How the charset was chosen. */
  source: 'msh-18' | 'default' | 'sniffed';
  /** True when MSH-18 had a value the profile does not know (the default was used). */
  unknownDeclared: boolean;
  /**
   * True when the bytes are not valid in the charset used (today: UTF-8 with a malformed
   * sequence). `text` is then a lenient decoding (U+FFFD in place of the bad bytes) that must not
   * be sent on: the intake refuses the message (AE, ERR on MSH-18) and keeps the raw bytes.
   */
  invalid: boolean;
}

/** Position of the "MSH" that opens the message, skipping a BOM and leading whitespace. */
function mshStart(bytes: Buffer): number {
  let i = 0;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && (bytes[i] === 0x0d || bytes[i] === 0x0a || bytes[i] === 0x20 || bytes[i] === 0x09)) i++;
  if (bytes.length - i >= 4 && bytes[i] === 0x4d && bytes[i + 1] === 0x53 && bytes[i + 2] === 0x48) return i;
  return -1;
}

/**
 * The raw fields of the MSH segment, read from the bytes as latin1 (safe: the MSH header is
 * ASCII), numbered as HL7 does: result[1] = MSH-1 (the field separator), result[2] = MSH-2…
 * Returns undefined when the bytes do not start with MSH.
 */
export function readRawMsh(bytes: Buffer): string[] | undefined {
  const start = mshStart(bytes);
  if (start < 0) return undefined;
  let end = start;
  const limit = Math.min(bytes.length, start + 64 * 1024);
  while (end < limit && bytes[end] !== 0x0d && bytes[end] !== 0x0a) end++;
  const line = bytes.toString('latin1', start, end);
  const sep = line[3];
  const parts = line.split(sep);
  // parts[0] = 'MSH', parts[1] = MSH-2, parts[k] = MSH-(k+1)
  const fields: string[] = ['MSH', sep];
  for (let k = 1; k < parts.length; k++) fields.push(parts[k]);
  return fields;
}

/** MSH-18 as sent (first repetition, first component, trimmed), or undefined. */
export function readMsh18(bytes: Buffer): string | undefined {
  const f = readRawMsh(bytes);
  if (!f || f.length <= 18) return undefined;
  const enc = f[2] ?? '';
  const comp = enc[0] ?? '^';
  const rep = enc[1] ?? '~';
  const v = f[18].split(rep)[0].split(comp)[0].trim();
  return v === '' ? undefined : v;
}

const MSH18_INDEX = new Map(Object.entries(MSH18_CHARSETS).map(([k, v]) => [k.toUpperCase(), v]));

/** The charset for an MSH-18 value, or undefined when the profile does not know it. */
export function charsetFromMsh18(value: string | undefined): Hl7Charset | undefined {
  if (value === undefined) return undefined;
  return MSH18_INDEX.get(value.trim().toUpperCase().replace(/\s+/g, ' '));
}

/** The MSH-18 value to write for a charset (used when answering a message that declared none). */
export function msh18For(charset: Hl7Charset): string {
  return CHARSET_TO_MSH18[charset];
}

export function decodeBytes(bytes: Buffer, charset: Hl7Charset): string {
  return decodeCharset(bytes, charset); // shared with lib/hprim: lib/model/charset.ts
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Strict decoding: the text, or undefined when the bytes are not valid in `charset` (only UTF-8
 * can be invalid among the supported charsets: every byte is a character in ISO 8859-1/15, and
 * windows-1252's five unassigned bytes are kept as C1 controls, as browsers do).
 */
export function decodeStrict(bytes: Buffer, charset: Hl7Charset): string | undefined {
  if (charset !== 'utf8') return decodeBytes(bytes, charset);
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

function hasHighBytes(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return true;
  return false;
}

/**
 * Decode a frame's bytes to text using MSH-18, else the default. Never throws on content; bytes
 * invalid for the charset are flagged (`invalid`), never silently replaced.
 */
export function decodeFrame(bytes: Buffer, options: DecodeOptions = {}): DecodedFrame {
  const fallback = options.defaultCharset ?? DEFAULT_CHARSET;
  const declared = readMsh18(bytes);
  const known = charsetFromMsh18(declared);
  let charset: Hl7Charset = known ?? fallback;
  let source: DecodedFrame['source'] = known ? 'msh-18' : 'default';
  if (!declared && options.sniffUtf8 && charset !== 'utf8' && hasHighBytes(bytes) && isUtf8(bytes)) {
    charset = 'utf8';
    source = 'sniffed';
  }
  const strict = decodeStrict(bytes, charset);
  return {
    text: strict ?? decodeBytes(bytes, charset),
    charset,
    declared,
    source,
    unknownDeclared: declared !== undefined && !known,
    invalid: strict === undefined,
  };
}

/** Encode text (an answer) in a charset. Characters the charset lacks become '?'. */
export function encode(text: string, charset: Hl7Charset): Buffer {
  switch (charset) {
    case 'utf8':
      return Buffer.from(text, 'utf8');
    default:
      // iconv-lite, not Buffer 'latin1' (which would truncate € to a wrong byte instead of '?').
      return iconv.encode(text, charset === 'latin1' ? 'iso-8859-1' : charset);
  }
}
