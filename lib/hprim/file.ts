/**
 * The one entry point for a dropped file (what roc-hprim-in's watcher calls): the format its bytes
 * announce, the reading, and the acknowledgement to write (file name and bytes). Pure: no file
 * system, no clock unless `now` is left out.
 *
 *   file ──detectHprimFormat()──▶ '<' → HPRIM XML · 'H' + delimiter → HPRIM Santé · else NOT_HPRIM
 *        ──readHprimXml() / readHprimSante()──▶ HprimReadResult
 *        ──acknowledgement──▶ <file>.ACK / <file>.ERR (Santé), <stem>.acq.xml (XML)
 *
 * Refusal codes, their texts and the acknowledgement names are data in ./profile.ts.
 */
import type { Charset } from '../model/charset';
import { ackXmlFor, buildAcquittementsPatients, buildSanteAck, santeAckFor } from './ack';
import { ACK_FILE_NAMES, ACK_STATUS, DEFAULT_MAX_FILE_BYTES, FILE_REFUSALS, REFUSAL_TEXT, type HprimFileRefusalCode } from './profile';
import { readHprimSante } from './sante';
import type { HprimIssue, HprimReadResult } from './types';
import { readHprimXml } from './xml';

export type HprimFormat = HprimReadResult['format'];

/**
 * The format a file's bytes announce, or undefined when neither: after a UTF-8 BOM and blanks,
 * `<` is HPRIM XML; `H` followed by a field delimiter (printable ASCII, neither a letter, a digit
 * nor a space) is HPRIM Santé. An empty or blank file announces nothing.
 */
export function detectHprimFormat(bytes: Buffer): HprimFormat | undefined {
  let i = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0d || bytes[i] === 0x0a)) i++;
  if (i >= bytes.length) return undefined;
  const c = bytes[i];
  if (c === 0x3c /* < */) return 'hprim-xml';
  if (c === 0x48 /* H */ && i + 1 < bytes.length) {
    const d = bytes[i + 1];
    const alnum = (d >= 0x30 && d <= 0x39) || (d >= 0x41 && d <= 0x5a) || (d >= 0x61 && d <= 0x7a);
    if (d > 0x20 && d < 0x7f && !alnum) return 'hprim-sante';
  }
  return undefined;
}

export interface HprimFileOptions {
  /** HPRIM Santé charset when H-15 is absent and the bytes are not UTF-8 (default ISO 8859-15). */
  defaultCharset?: Charset;
  /** Larger files are refused unread, FILE_TOO_LARGE (default 20 MB). */
  maxFileBytes?: number;
  /** Our application code in acknowledgements (default ROCBRIDGE). */
  application?: string;
  /** Date written in the acknowledgement (default: now). */
  now?: Date;
}

export interface HprimAck {
  /** Named after the dropped file ([profile] ACK_FILE_NAMES). */
  fileName: string;
  bytes: Buffer;
  format: HprimFormat;
}

export interface HprimFileReading {
  /** The format the bytes announce; absent when the file was refused before reading. */
  format?: HprimFormat;
  /** The reader's result; absent when the file was refused before reading (NOT_HPRIM, FILE_TOO_LARGE). */
  result?: HprimReadResult;
  ok: boolean;
  /** The readers' errors, or the refusal. Codes and places, never patient data. */
  errors: HprimIssue[];
  /** The acknowledgement to write. */
  ack: HprimAck;
}

/** A name usable in a directory: path separators and NUL replaced (a real file name has none). */
function safeName(name: string): string {
  return name.replace(/[/\\\0]/g, '_') || 'inconnu';
}

/** The acknowledgement file name for a dropped file ([profile] ACK_FILE_NAMES). */
export function ackFileName(file: string, format: HprimFormat, ok: boolean): string {
  const name = safeName(file);
  if (format === 'hprim-xml') return ACK_FILE_NAMES.xml.replace('{stem}', name.replace(ACK_FILE_NAMES.xmlName, ''));
  return (ok ? ACK_FILE_NAMES.santeAccepted : ACK_FILE_NAMES.santeRefused).replace('{file}', name);
}

/** A file refused before (or instead of) the readers: answered in the format its name suggests. */
function refused(name: string, issue: HprimIssue, options: HprimFileOptions): HprimFileReading {
  const format: HprimFormat = ACK_FILE_NAMES.xmlName.test(name) ? 'hprim-xml' : 'hprim-sante';
  const common = { acknowledgedId: name, statut: ACK_STATUS.erreur, emetteur: options.application, now: options.now };
  const bytes =
    format === 'hprim-xml'
      ? Buffer.from(
          buildAcquittementsPatients({
            ...common,
            observations: [{ code: issue.code, libelle: issue.message, location: issue.line ? `ligne ${issue.line}` : undefined }],
          }),
          'utf8',
        )
      : buildSanteAck({ ...common, issues: [{ ...issue, severity: 'error' }] }).bytes;
  return { ok: false, errors: [issue], ack: { fileName: ackFileName(name, format, false), bytes, format } };
}

function refusal(code: HprimFileRefusalCode, detail?: string, line?: number): HprimIssue {
  const issue: HprimIssue = { code, message: detail ? `${FILE_REFUSALS[code]} : ${detail}` : FILE_REFUSALS[code] };
  if (line !== undefined) issue.line = line;
  return issue;
}

/**
 * Read a dropped file of either format and build its acknowledgement. `name` is the file's name
 * (acknowledgement name; acknowledged id when the message's own H-3 / identifiantMessage cannot be
 * read). Pass `{ size }` instead of the bytes for a file not read because it is over the limit.
 * Never throws.
 */
export function readHprimFile(name: string, content: Buffer | { size: number }, options: HprimFileOptions = {}): HprimFileReading {
  const max = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const size = Buffer.isBuffer(content) ? content.length : content.size;
  if (!Buffer.isBuffer(content) || size > max) return refused(name, refusal('FILE_TOO_LARGE', `${size} octets, limite ${max}`), options);
  const format = detectHprimFormat(content);
  if (!format) return refused(name, refusal('NOT_HPRIM', undefined, 1), options);
  const result =
    format === 'hprim-xml'
      ? readHprimXml(content)
      : readHprimSante(content, options.defaultCharset ? { defaultCharset: options.defaultCharset } : {});
  // the acknowledged id is the message's own (H-3 / identifiantMessage), else the file name
  const named = { ...result, messageId: result.messageId ?? name };
  const ackOptions = { emetteur: options.application, now: options.now };
  const bytes = format === 'hprim-xml' ? Buffer.from(ackXmlFor(named, ackOptions), 'utf8') : santeAckFor(named, ackOptions).bytes;
  return { format, result, ok: result.ok, errors: result.errors, ack: { fileName: ackFileName(name, format, result.ok), bytes, format } };
}

/** The one-line text of a refused file (node errors, logs): its name, the first error, the acknowledgement. */
export function refusalText(o: { file: string; errors: readonly HprimIssue[]; ackFile?: string }): string {
  const first = o.errors[0];
  const more = o.errors.length > 1 ? REFUSAL_TEXT.more.replace('{n}', String(o.errors.length - 1)) : '';
  const values: Record<string, string> = {
    file: o.file,
    reason: first ? first.message : REFUSAL_TEXT.noReason,
    more,
    ack: o.ackFile ?? REFUSAL_TEXT.noAck,
  };
  return REFUSAL_TEXT.line.replace(/\{(file|reason|more|ack)\}/g, (_m, k: string) => values[k]);
}
