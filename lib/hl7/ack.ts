/**
 * HL7 v2.5 acknowledgements, strict on output: standard delimiters `|^~\&`, CR segment ends,
 * values escaped, ERR segments in the v2.5 layout.
 *
 * - Original mode (MSH-15 and MSH-16 empty): one ACK, MSA-1 = AA / AE / AR.
 * - Enhanced mode (MSH-15 or MSH-16 valued): a commit ACK (CA / CE / CR) sent when MSH-15 asks for
 *   it, then an application ACK (AA / AE / AR) when MSH-16 asks for it. Conditions: AL always,
 *   NE never, ER only on error/reject, SU only on success; an empty condition in enhanced mode
 *   counts as AL (the sender may be waiting on the socket).
 *
 * MSA-2 always echoes MSH-10 when it can be found, even in a half-broken message (read from the
 * raw MSH line). The ACK's MSH swaps sending/receiving application and facility, echoes MSH-11
 * (processing id), MSH-12 (version), MSH-17 (country), MSH-18 (charset) and MSH-19 (language),
 * and carries a new control id. ERR: ERR-2 location `SEG^seq^field^repetition^component`
 * (ERL), ERR-3 `code^text^HL70357`, ERR-4 severity E/W, ERR-8 the French user message.
 */
import { readRawMsh, charsetFromMsh18, encode, msh18For } from './charset';
import { escapeValue, unescapeValue, type Delimiters, type Er7Message } from './er7';
import { DEFAULT_CHARSET, TABLE_0357 } from './profile';
import type { Hl7Charset, Hl7Issue, Hl7Location } from './types';

export type ApplicationAckCode = 'AA' | 'AE' | 'AR';
export type CommitAckCode = 'CA' | 'CE' | 'CR';
export type AckCode = ApplicationAckCode | CommitAckCode;
export type AckMode = 'original' | 'enhanced';

/** What an ACK needs from the original message, fields already in standard ER7 encoding. */
export interface AckContext {
  /** MSH-10 of the original (unescaped), when found. */
  controlId?: string;
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** MSH-9.2 trigger event, echoed in the ACK's MSH-9.2. */
  event?: string;
  processingId?: string;
  version?: string;
  /** MSH-15 / MSH-16 as sent (AL, NE, ER, SU or empty). */
  acceptAckType?: string;
  applicationAckType?: string;
  country?: string;
  language?: string;
  /** MSH-18 as sent (re-encoded), echoed. */
  charsetField?: string;
  /** Charset used to encode the ACK bytes. */
  charset: Hl7Charset;
}

/** Re-encode a raw field from the sender's delimiters into standard ones. */
function reencode(raw: string, from: Delimiters): string {
  if (from.field === '|' && from.component === '^' && from.repetition === '~' && from.escape === '\\' && from.subcomponent === '&')
    return raw;
  return raw
    .split(from.repetition)
    .map((rep) =>
      rep
        .split(from.component)
        .map((comp) =>
          comp
            .split(from.subcomponent)
            .map((sub) => escapeValue(unescapeValue(sub, from)))
            .join('&'),
        )
        .join('^'),
    )
    .join('~');
}

function contextFromFields(f: string[], d: Delimiters | undefined, charset: Hl7Charset): AckContext {
  const get = (n: number): string => {
    const v = f[n] ?? '';
    return d ? reencode(v, d) : /^[A-Za-z0-9 ._\-:/]*$/.test(v) ? v : '';
  };
  const comp = (n: number, c: number): string => {
    const v = f[n] ?? '';
    if (!d) {
      const c0 = (v.split('^')[c - 1] ?? '').trim();
      return /^[A-Za-z0-9]*$/.test(c0) ? c0 : '';
    }
    // Stryker disable next-line StringLiteral: split() gives at least one piece (the first `?? ''` is never used); a missing component 2 only feeds the event, which must be three letters or digits
    return unescapeValue((v.split(d.repetition)[0] ?? '').split(d.component)[c - 1] ?? '', d);
  };
  const ctx: AckContext = {
    sendingApplication: get(3),
    sendingFacility: get(4),
    receivingApplication: get(5),
    receivingFacility: get(6),
    charset,
  };
  const rawId = (f[10] ?? '').trim();
  if (rawId) ctx.controlId = d ? unescapeValue(rawId, d) : rawId;
  const event = comp(9, 2).trim();
  if (/^[A-Z0-9]{3}$/i.test(event)) ctx.event = event.toUpperCase();
  const set = <K extends keyof AckContext>(k: K, v: string): void => {
    if (v) (ctx as unknown as Record<string, string>)[k] = v;
  };
  set('processingId', get(11));
  set('version', get(12));
  set('acceptAckType', comp(15, 1).trim().toUpperCase());
  set('applicationAckType', comp(16, 1).trim().toUpperCase());
  set('country', get(17));
  set('charsetField', get(18));
  set('language', get(19));
  return ctx;
}

function delimitersFromMsh(f: string[]): Delimiters | undefined {
  const sep = f[1];
  // Stryker disable next-line StringLiteral: any other text for a missing MSH-2 is refused by the length check too
  const enc = [...(f[2] ?? '')];
  if (enc.length < 4 || enc.length > 5) return undefined;
  const all = [sep, ...enc];
  if (new Set(all).size !== all.length || all.some((c) => /[A-Za-z0-9\s]/.test(c))) return undefined;
  return { field: sep, component: enc[0], repetition: enc[1], escape: enc[2], subcomponent: enc[3], truncation: enc[4] };
}

/**
 * Everything an ACK needs, read tolerantly from the raw bytes: works on a message the parser
 * refused (wrong delimiters: MSH-10 is still found when the field separator is usable; without
 * MSH: an empty context and MSA-2 empty).
 */
export function ackContextFromBytes(bytes: Buffer, charset?: Hl7Charset): AckContext {
  const f = readRawMsh(bytes);
  const fallback = charset ?? DEFAULT_CHARSET;
  if (!f || !f[1] || /[A-Za-z0-9\s]/.test(f[1])) {
    return { sendingApplication: '', sendingFacility: '', receivingApplication: '', receivingFacility: '', charset: fallback };
  }
  const d = delimitersFromMsh(f);
  const declared = charsetFromMsh18(f[18] ? f[18].split(d?.repetition ?? '~')[0].split(d?.component ?? '^')[0] : undefined);
  return contextFromFields(f, d, charset ?? declared ?? fallback);
}

/** The ACK context of a parsed message. */
export function ackContextFromMessage(msg: Er7Message, charset: Hl7Charset): AckContext {
  const f = msg.msh.fields;
  return contextFromFields(f, msg.delimiters, charset);
}

export function ackModeOf(ctx: AckContext): AckMode {
  return ctx.acceptAckType || ctx.applicationAckType ? 'enhanced' : 'original';
}

/** Whether an enhanced-mode condition (MSH-15/16) asks for an ACK for this outcome. */
export function shouldSendAck(condition: string | undefined, success: boolean): boolean {
  // Stryker disable next-line StringLiteral: without a condition, any text that is not NE, ER or SU falls to the default (AL)
  switch ((condition ?? '').toUpperCase()) {
    case 'NE':
      return false;
    case 'ER':
      return !success;
    case 'SU':
      return success;
    default:
      return true; // AL or empty
  }
}

let counter = Math.floor(Math.random() * 36 ** 3);
/** A new message control id: ≤ 20 characters (ST length in v2.5), time-ordered, unique per process. */
export function newControlId(now: Date = new Date()): string {
  counter = (counter + 1) % 36 ** 4;
  return `ACK${now.getTime().toString(36).toUpperCase()}${counter.toString(36).toUpperCase().padStart(4, '0')}`;
}

/** HL7 TS, local time, to the second: YYYYMMDDHHMMSS. */
export function hl7Timestamp(d: Date = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getFullYear(), 4)}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** ERR-2 (ERL): segment^sequence^field^repetition^component^subcomponent. */
export function formatErl(l: Hl7Location): string {
  const parts = [l.segment, String(l.sequence ?? 1)];
  if (l.field !== undefined) {
    parts.push(String(l.field), String(l.repetition ?? 1));
    if (l.component !== undefined) {
      parts.push(String(l.component));
      if (l.subcomponent !== undefined) parts.push(String(l.subcomponent));
    }
  }
  return parts.map((p) => escapeValue(p)).join('^');
}

export function errSegment(issue: Hl7Issue): string {
  const t = TABLE_0357[issue.code];
  return [
    'ERR',
    '',
    issue.location ? formatErl(issue.location) : '',
    `${issue.code}^${escapeValue(t.text)}^HL70357`,
    issue.severity,
    '',
    '',
    '',
    escapeValue(issue.message),
  ].join('|');
}

export interface AckOptions {
  code: AckCode;
  issues?: readonly Hl7Issue[];
  /** New control id (default newControlId()). */
  controlId?: string;
  now?: Date;
  /** Our application/facility, used when the original had no receiving ones. */
  application?: string;
  facility?: string;
}

export interface AckMessage {
  code: AckCode;
  controlId: string;
  /** ER7 text, CR segment ends. */
  text: string;
  /** The text encoded in the context's charset (frame it with mllp.frame). */
  bytes: Buffer;
}

/** Build one ACK message. */
export function buildAck(ctx: AckContext, options: AckOptions): AckMessage {
  const now = options.now ?? new Date();
  const controlId = options.controlId ?? newControlId(now);
  const msh = [
    'MSH',
    '^~\\&',
    ctx.receivingApplication || escapeValue(options.application ?? ''),
    ctx.receivingFacility || escapeValue(options.facility ?? ''),
    ctx.sendingApplication,
    ctx.sendingFacility,
    hl7Timestamp(now),
    '',
    ctx.event ? `ACK^${ctx.event}^ACK` : 'ACK',
    escapeValue(controlId),
    ctx.processingId || 'P',
    ctx.version || '2.5',
    '',
    '',
    '',
    '',
    ctx.country ?? '',
    ctx.charsetField || msh18For(ctx.charset),
    ctx.language ?? '',
  ];
  // Trailing empty fields dropped; MSH-12 (the version) is never empty, so the header keeps MSH-1…12.
  while (msh[msh.length - 1] === '') msh.pop();
  const segments = [msh.join('|'), `MSA|${options.code}|${escapeValue(ctx.controlId ?? '')}`];
  for (const i of options.issues ?? []) segments.push(errSegment(i));
  const text = segments.join('\r') + '\r';
  return { code: options.code, controlId, text, bytes: encode(text, ctx.charset) };
}

export interface AckOutcome {
  /** Receipt: CA stored, CE could not be stored (retry), CR refused (structure, type…). */
  commit: CommitAckCode;
  /** Application result, when processing happened (defaults: AA after CA, AE after CE, AR after CR). */
  application?: ApplicationAckCode;
  issues?: readonly Hl7Issue[];
}

export interface AckPlan {
  mode: AckMode;
  /** Enhanced mode: the commit ACK, when MSH-15 asks for it. */
  commit?: AckMessage;
  /** The application ACK (original mode: the only one), when due. */
  application?: AckMessage;
}

/**
 * The ACKs to send for an outcome, per the original message's mode and conditions.
 * Original mode: one ACK (a CE/CR receipt becomes AE/AR). Enhanced mode: the commit ACK per
 * MSH-15, then, if the message was committed (CA), the application ACK per MSH-16.
 */
export function planAcks(ctx: AckContext, outcome: AckOutcome, options: Omit<AckOptions, 'code' | 'issues'> = {}): AckPlan {
  const mode = ackModeOf(ctx);
  const issues = outcome.issues ?? [];
  // A receipt that is not CA becomes its application code: CE → AE, CR → AR.
  const appCode: ApplicationAckCode = outcome.commit === 'CA' ? (outcome.application ?? 'AA') : outcome.commit === 'CE' ? 'AE' : 'AR';
  if (mode === 'original') {
    return { mode, application: buildAck(ctx, { ...options, code: appCode, issues }) };
  }
  const plan: AckPlan = { mode };
  if (shouldSendAck(ctx.acceptAckType, outcome.commit === 'CA')) {
    const commitIssues = outcome.commit === 'CA' ? [] : issues;
    plan.commit = buildAck(ctx, { ...options, code: outcome.commit, issues: commitIssues });
  }
  if (outcome.commit === 'CA' && shouldSendAck(ctx.applicationAckType, appCode === 'AA')) {
    const appOptions = { ...options, controlId: undefined };
    plan.application = buildAck(ctx, { ...appOptions, code: appCode, issues });
  }
  return plan;
}
