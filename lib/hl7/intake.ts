/**
 * One frame in, one verdict out: decode (charset) → parse (ER7) → map (PAM-FR) → what to answer.
 * Never throws: whatever the bytes, the result says AA / AE / AR with table-0357 issues that
 * name the place, and carries the ACK context (MSH-10 found even in a half-broken message).
 *
 * Verdicts: AR when the message cannot be read (no MSH, wrong delimiters: parser errors; 200
 * unsupported message type); AE when it was read but fails validation (101, 102, 103, 100 for a
 * missing segment) or an internal error happened (207); AA otherwise, including unknown events
 * (`ignored: true`, meaning IGNORE) and accepted-with-warnings messages (issues of severity W).
 */
import {
  ackContextFromBytes,
  ackContextFromMessage,
  planAcks,
  type AckContext,
  type AckOptions,
  type AckPlan,
  type ApplicationAckCode,
} from './ack';
import { charsetFromMsh18, decodeFrame, readMsh18, type DecodeOptions } from './charset';
import { Er7Error, parseEr7, type Er7Message } from './er7';
import { parseAdmission, type PamFrOptions } from './pamfr';
import { DEFAULT_CHARSET, TABLE_0357 } from './profile';
import type { Admission, Hl7Charset, Hl7Issue, RocMeaning } from './types';

export interface IntakeOptions extends DecodeOptions, Omit<PamFrOptions, 'charset'> {}

export interface Hl7Intake {
  /** AA accept, AE error, AR reject (original-mode code; see planAcks for enhanced mode). */
  ackCode: ApplicationAckCode;
  /** Errors (E) then warnings (W). */
  issues: Hl7Issue[];
  meaning: RocMeaning;
  /** True for events the bridge does not act on (answered AA). */
  ignored: boolean;
  admission?: Admission;
  context: AckContext;
  charset: Hl7Charset;
  /** MSH-18 as declared, when any. */
  declaredCharset?: string;
  /** The decoded text, when decoding happened. */
  text?: string;
  message?: Er7Message;
}

function charsetLabel(c: Hl7Charset): string {
  return c === 'utf8' ? 'UTF-8' : c.toUpperCase();
}

/** Process one frame's bytes. Never throws. */
export function receive(bytes: Buffer, options: IntakeOptions = {}): Hl7Intake {
  let charset: Hl7Charset | undefined;
  try {
    const decoded = decodeFrame(bytes, options);
    charset = decoded.charset;
    const warnings: Hl7Issue[] = [];
    if (decoded.unknownDeclared) {
      warnings.push({
        code: '103',
        severity: 'W',
        location: { segment: 'MSH', sequence: 1, field: 18 },
        message: `${TABLE_0357['103'].fr} : jeu de caractères MSH-18 inconnu, ${charset} utilisé`,
      });
    }
    if (decoded.invalid) {
      // Bytes the declared (or default) charset cannot read: refuse them rather than pass on
      // mangled names (U+FFFD, '?'). 103 on MSH-18: the charset value does not match the bytes.
      // AE (original) / CA then AE (enhanced): the raw bytes are stored, never processed; a CE
      // would make the GAP resend the same bytes forever.
      return {
        context: ackContextFromBytes(bytes, charset),
        charset,
        declaredCharset: decoded.declared,
        ackCode: 'AE',
        issues: [
          {
            code: '103',
            severity: 'E',
            location: { segment: 'MSH', sequence: 1, field: 18 },
            message: `${TABLE_0357['103'].fr} : octets invalides pour le jeu de caractères ${decoded.declared ? `déclaré en MSH-18 (${charsetLabel(charset)})` : `par défaut (${charsetLabel(charset)}, MSH-18 vide)`}, message refusé sans être lu`,
          },
          ...warnings,
        ],
        meaning: 'IGNORE',
        ignored: false,
      };
    }
    let message: Er7Message;
    try {
      message = parseEr7(decoded.text, { hexCharset: charset === 'utf8' ? 'utf8' : 'latin1' });
    } catch (e) {
      if (e instanceof Er7Error) {
        const issue: Hl7Issue = { code: e.code, severity: 'E', location: e.location, message: `${TABLE_0357[e.code].fr} : ${e.message}` };
        return {
          // The parser refused the message: read what an ACK needs from the raw MSH line.
          context: ackContextFromBytes(bytes, charset),
          charset,
          declaredCharset: decoded.declared,
          text: decoded.text,
          ackCode: 'AR',
          issues: [issue, ...warnings],
          meaning: 'IGNORE',
          ignored: false,
        };
      }
      throw e;
    }
    for (const w of message.warnings)
      warnings.push({ code: w.code, severity: 'W', location: w.location, message: `${TABLE_0357[w.code].fr} : ${w.message}` });
    const result = parseAdmission(message, { ...options, charset });
    const issues = warnings.length ? [...result.errors, ...warnings, ...result.warnings] : [...result.errors, ...result.warnings];
    if (result.admission && warnings.length) result.admission.warnings = [...warnings, ...result.admission.warnings];
    const rejected = result.errors.some((e) => e.code === '200');
    return {
      context: ackContextFromMessage(message, charset),
      charset,
      declaredCharset: decoded.declared,
      text: decoded.text,
      message,
      ackCode: rejected ? 'AR' : result.errors.length ? 'AE' : 'AA',
      issues,
      meaning: result.meaning,
      ignored: result.errors.length === 0 && result.meaning === 'IGNORE',
      admission: result.admission,
    };
  } catch {
    // Never leak the exception text (it could quote patient data): a generic 207.
    let context: AckContext;
    try {
      context = ackContextFromBytes(bytes, charset);
    } catch {
      context = {
        sendingApplication: '',
        sendingFacility: '',
        receivingApplication: '',
        receivingFacility: '',
        charset: charset ?? DEFAULT_CHARSET,
      };
    }
    return {
      context,
      charset: context.charset,
      ackCode: 'AE',
      issues: [{ code: '207', severity: 'E', message: `${TABLE_0357['207'].fr} : le message n’a pas pu être traité` }],
      meaning: 'IGNORE',
      ignored: false,
    };
  }
}

/**
 * The ACK(s) for an intake once the listener knows whether it stored the message
 * (`stored: false` → CE / AE with 207). Convenience over planAcks.
 */
export function acksFor(intake: Hl7Intake, stored = true, options: Omit<AckOptions, 'code' | 'issues'> = {}): AckPlan {
  if (intake.ackCode === 'AR') return planAcks(intake.context, { commit: 'CR', issues: intake.issues }, options);
  if (!stored) {
    const issue: Hl7Issue = {
      code: '207',
      severity: 'E',
      message: `${TABLE_0357['207'].fr} : enregistrement impossible, renvoyer le message`,
    };
    return planAcks(intake.context, { commit: 'CE', issues: [issue] }, options);
  }
  return planAcks(intake.context, { commit: 'CA', application: intake.ackCode, issues: intake.issues }, options);
}

/**
 * The verdict for an MLLP `oversize` event: AR with a 207 naming the size, MSH-10 and the header
 * read from the kept head of the frame (so MSA-2 still echoes the sender's control id).
 */
export function rejectOversize(head: Buffer, size: number, maxFrameSize: number, options: DecodeOptions = {}): Hl7Intake {
  const declared = charsetFromMsh18(readMsh18(head));
  const charset = declared ?? options.defaultCharset ?? DEFAULT_CHARSET;
  const context = ackContextFromBytes(head, charset);
  return {
    context,
    charset,
    ackCode: 'AR',
    issues: [
      {
        code: '207',
        severity: 'E',
        message: `${TABLE_0357['207'].fr} : message trop volumineux (${size} octets, maximum ${maxFrameSize})`,
      },
    ],
    meaning: 'IGNORE',
    ignored: false,
  };
}
