/**
 * Tolerant ER7 (pipe-and-hat) parser, hand-written for speed and for the tolerances real PAM-FR
 * feeds need (hl7-standard is not installed here; see bench/hl7-parse.ts for the measured speed).
 *
 * Input tolerances: a BOM and blank lines before MSH; segment ends CR, LF or CRLF (mixed);
 * trailing blank lines; a line that does not start with a segment id (a raw line break inside a
 * value) is joined to the previous segment with "\n" and reported as a warning. Delimiters come
 * from MSH-1/MSH-2 and are checked (distinct, not alphanumeric, not blank): a message without MSH
 * or with wrong delimiters is refused with an `Er7Error` naming the place (code + location).
 *
 * Parsing is two-level: segments and fields are split eagerly (cheap); repetitions, components,
 * subcomponents and escape sequences are resolved on access.
 *
 * ## Accessing values
 *
 * Paths: `SEG[occurrence]-field[repetition].component.subcomponent`, every index 1-based and
 * every bracket or dot part optional; `.` may replace `-` (`PID.3.1`). Examples:
 *
 * - `msg.get('PID-3[2].1')`   second PID-3 repetition, first component, unescaped
 * - `msg.get('IN1[2]-3')`     IN1-3 of the second IN1 segment
 * - `msg.get('PID-3[1].4.2')` universal id of the first identifier's assigning authority
 * - `msg.get('MSH-9')`        'ADT': an omitted repetition/component/subcomponent means the first
 * - `msg.raw('MSH-9')`        'ADT^A01^ADT_A01': the text at that level, delimiters and escapes kept
 *
 * `get` returns '' for anything absent, never throws on a well-formed path. The typed API is
 * `msg.segment('PID')`, `msg.all('IN1')`, `seg.get(field, rep, comp, sub)`,
 * `seg.repetitions(field)` → `Repetition` (`get(comp, sub)`, `raw(comp?)`).
 */
import { isUtf8 } from 'node:buffer';
import type { Hl7ErrorCode, Hl7Location } from './types';

export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
  /** HL7 2.7 truncation character, when MSH-2 has five characters. */
  truncation?: string;
}

export const STANDARD_DELIMITERS: Readonly<Delimiters> = {
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
};

/** A message the parser refuses: the listener answers it with a NACK carrying code and location. */
export class Er7Error extends Error {
  constructor(
    readonly code: Hl7ErrorCode,
    readonly location: Hl7Location,
    message: string,
  ) {
    super(message);
    this.name = 'Er7Error';
  }
}

export interface Er7Warning {
  code: Hl7ErrorCode;
  location: Hl7Location;
  message: string;
  /** 1-based line number in the text. */
  line: number;
}

export interface Er7Path {
  segment: string;
  occurrence: number;
  field: number;
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

const PATH_RE = /^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?[-.](\d+)(?:\[(\d+)\])?(?:\.(\d+))?(?:\.(\d+))?$/;
const pathCache = new Map<string, Er7Path>();

/** Parse an accessor path (cached). Throws a TypeError on a malformed path (a programming error). */
export function parsePath(path: string): Er7Path {
  const cached = pathCache.get(path);
  if (cached) return cached;
  const m = PATH_RE.exec(path);
  if (!m) throw new TypeError(`Invalid HL7 path "${path}" (expected e.g. PID-3[2].1)`);
  const p: Er7Path = {
    segment: m[1],
    occurrence: m[2] ? Number(m[2]) : 1,
    field: Number(m[3]),
    repetition: m[4] ? Number(m[4]) : undefined,
    component: m[5] ? Number(m[5]) : undefined,
    subcomponent: m[6] ? Number(m[6]) : undefined,
  };
  // (PATH_RE reads the field as digits: never negative.)
  if (p.occurrence < 1 || p.repetition === 0 || p.component === 0 || p.subcomponent === 0) {
    throw new TypeError(`Invalid HL7 path "${path}" (indexes are 1-based)`);
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the cache's bound only limits memory; the path read is the same
  if (pathCache.size < 1000) pathCache.set(path, p);
  return p;
}

/** Format a location the way people write it: PID-3[2].1 */
export function formatLocation(l: Hl7Location): string {
  let s = l.segment;
  if (l.sequence && l.sequence > 1) s += `[${l.sequence}]`;
  if (l.field !== undefined) {
    s += `-${l.field}`;
    if (l.repetition && l.repetition > 1) s += `[${l.repetition}]`;
    if (l.component !== undefined) s += `.${l.component}`;
    if (l.subcomponent !== undefined) s += `.${l.subcomponent}`;
  }
  return s;
}

function decodeHex(hex: string, hexCharset: 'utf8' | 'latin1' | undefined): string | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined; // '' fails the pattern too
  const bytes = Buffer.from(hex, 'hex');
  if (hexCharset === 'latin1') return bytes.toString('latin1');
  // Bytes that are not UTF-8 in a UTF-8 message: kept as sent (the escape), never U+FFFD.
  if (hexCharset === 'utf8') return isUtf8(bytes) ? bytes.toString('utf8') : undefined;
  // Unknown: UTF-8 when the bytes are valid UTF-8, else latin1.
  const s = bytes.toString('utf8');
  return s.includes('\uFFFD') ? bytes.toString('latin1') : s;
}

/**
 * Resolve escape sequences: \F\ \S\ \T\ \R\ \E\ (\P\ truncation), \Xhh…\ (hex bytes), \.br\
 * (line break); \H\ \N\ (highlighting) are dropped; anything else is kept literally.
 */
export function unescapeValue(value: string, d: Delimiters, hexCharset?: 'utf8' | 'latin1'): string {
  const e = d.escape;
  let i = value.indexOf(e);
  if (i === -1) return value;
  let out = '';
  let last = 0;
  while (i !== -1) {
    const j = value.indexOf(e, i + 1);
    if (j === -1) break;
    const seq = value.slice(i + 1, j);
    let rep: string | undefined;
    switch (seq) {
      case 'F':
        rep = d.field;
        break;
      case 'S':
        rep = d.component;
        break;
      case 'T':
        rep = d.subcomponent;
        break;
      case 'R':
        rep = d.repetition;
        break;
      case 'E':
        rep = d.escape;
        break;
      case 'P':
        rep = d.truncation;
        break;
      case 'H':
      case 'N':
        rep = '';
        break;
      case '.br':
        rep = '\n';
        break;
      default:
        if (seq[0] === 'X') rep = decodeHex(seq.slice(1), hexCharset);
    }
    if (rep === undefined) {
      // Unknown sequence: keep it as is, resume after its closing escape.
      out += value.slice(last, j + 1);
    } else {
      out += value.slice(last, i) + rep;
    }
    last = j + 1;
    i = value.indexOf(e, last);
  }
  return out + value.slice(last);
}

/** Escape a value for output (escape character first, then the delimiters, then CR/LF). */
export function escapeValue(value: string, d: Delimiters = STANDARD_DELIMITERS): string {
  let out = '';
  for (const ch of value) {
    if (ch === d.escape) out += `${d.escape}E${d.escape}`;
    else if (ch === d.field) out += `${d.escape}F${d.escape}`;
    else if (ch === d.component) out += `${d.escape}S${d.escape}`;
    else if (ch === d.subcomponent) out += `${d.escape}T${d.escape}`;
    else if (ch === d.repetition) out += `${d.escape}R${d.escape}`;
    else if (d.truncation && ch === d.truncation) out += `${d.escape}P${d.escape}`;
    else if (ch === '\r') out += `${d.escape}X0D${d.escape}`;
    else if (ch === '\n') out += `${d.escape}X0A${d.escape}`;
    else out += ch;
  }
  return out;
}

/** One repetition of a field: components and subcomponents resolved on access. */
export class Repetition {
  private comps?: string[];
  constructor(
    private readonly text: string,
    private readonly msg: Er7Message,
  ) {}
  /** Unescaped component (1-based) and subcomponent; '' when absent. */
  get(component = 1, subcomponent = 1): string {
    // Components are split once per repetition: mappers read several from the same one.
    const comps = (this.comps ??= this.text.split(this.msg.delimiters.component));
    const c = comps[component - 1];
    if (c === undefined || c === '') return '';
    return this.msg.leaf(c, 1, subcomponent, true);
  }
  /** Raw text of the repetition, or of one component. */
  raw(component?: number): string {
    if (component === undefined) return this.text;
    return nth(this.text, this.msg.delimiters.component, component);
  }
  get isEmpty(): boolean {
    return this.text === '' || this.text === '""';
  }
}

/** The n-th (1-based) piece of s split on sep, without allocating the whole split. */
function nth(s: string, sep: string, n: number): string {
  let start = 0;
  for (let k = 1; k < n; k++) {
    const p = s.indexOf(sep, start);
    if (p === -1) return '';
    start = p + 1;
  }
  const end = s.indexOf(sep, start);
  return end === -1 ? s.slice(start) : s.slice(start, end);
}

export class Segment {
  /** fields[n] is the raw text of field n (fields[0] is the segment name; for MSH, fields[1] is the separator). */
  constructor(
    readonly name: string,
    readonly fields: string[],
    /** Occurrence of this segment name in the message, 1-based. */
    readonly sequence: number,
    /** Position among all segments, 1-based. */
    readonly position: number,
    /** Line number in the text, 1-based. */
    readonly line: number,
    private readonly msg: Er7Message,
  ) {}

  /** Number of the last field present. */
  get fieldCount(): number {
    return this.fields.length - 1;
  }

  private isLiteral(field: number): boolean {
    return this.name === 'MSH' && (field === 1 || field === 2);
  }

  /** Raw text of a field (all repetitions), or of one repetition/component/subcomponent. */
  raw(field: number, repetition?: number, component?: number, subcomponent?: number): string {
    const f = this.fields[field] ?? '';
    if (repetition === undefined && component === undefined && subcomponent === undefined) return f;
    if (this.isLiteral(field)) return f;
    const d = this.msg.delimiters;
    let t = nth(f, d.repetition, repetition ?? 1);
    if (component === undefined) return t;
    t = nth(t, d.component, component);
    if (subcomponent === undefined) return t;
    return nth(t, d.subcomponent, subcomponent);
  }

  /** Unescaped value; omitted indexes mean the first. '' when absent. */
  get(field: number, repetition = 1, component = 1, subcomponent = 1): string {
    const f = this.fields[field];
    if (f === undefined || f === '') return '';
    if (this.isLiteral(field)) return f;
    const d = this.msg.delimiters;
    const rep = f.indexOf(d.repetition) === -1 ? (repetition === 1 ? f : '') : nth(f, d.repetition, repetition);
    return this.msg.leaf(rep, component, subcomponent);
  }

  /** The repetitions of a field (none when the field is empty). */
  repetitions(field: number): Repetition[] {
    const f = this.fields[field];
    if (f === undefined || f === '') return [];
    if (this.isLiteral(field)) return [new Repetition(f, this.msg)];
    return f.split(this.msg.delimiters.repetition).map((t) => new Repetition(t, this.msg));
  }

  /** True when the field has a non-empty value. */
  has(field: number): boolean {
    const f = this.fields[field];
    return f !== undefined && f !== '';
  }

  /** Where this segment (or one of its fields) is, for error reports. */
  location(field?: number, component?: number, repetition?: number): Hl7Location {
    const l: Hl7Location = { segment: this.name, sequence: this.sequence };
    if (field !== undefined) l.field = field;
    if (repetition !== undefined) l.repetition = repetition;
    if (component !== undefined) l.component = component;
    return l;
  }
}

export interface ParseOptions {
  /** How \Xhh\ sequences are decoded (default: UTF-8 when valid, else latin1). */
  hexCharset?: 'utf8' | 'latin1';
}

export class Er7Message {
  readonly segments: Segment[] = [];
  readonly warnings: Er7Warning[] = [];
  private readonly byName = new Map<string, Segment[]>();

  constructor(
    readonly delimiters: Delimiters,
    private readonly hexCharset?: 'utf8' | 'latin1',
  ) {}

  /** @internal */
  add(name: string, fields: string[], line: number): void {
    let list = this.byName.get(name);
    if (!list) {
      list = [];
      this.byName.set(name, list);
    }
    const seg = new Segment(name, fields, list.length + 1, this.segments.length + 1, line, this);
    list.push(seg);
    this.segments.push(seg);
  }

  /** @internal Component/subcomponent of a repetition's text, unescaped. */
  leaf(rep: string, component: number, subcomponent: number, isComponent = false): string {
    if (rep === '') return '';
    const d = this.delimiters;
    let t = isComponent || (component === 1 && rep.indexOf(d.component) === -1) ? rep : nth(rep, d.component, component);
    if (t.indexOf(d.subcomponent) !== -1 || subcomponent !== 1) t = nth(t, d.subcomponent, subcomponent);
    return t.indexOf(d.escape) === -1 ? t : unescapeValue(t, d, this.hexCharset);
  }

  /** The n-th (1-based) segment with that name. */
  segment(name: string, occurrence = 1): Segment | undefined {
    return this.byName.get(name)?.[occurrence - 1];
  }

  /** All segments with that name, in order. */
  all(name: string): Segment[] {
    return this.byName.get(name) ?? [];
  }

  get msh(): Segment {
    return this.segments[0];
  }

  /** Unescaped value at a path (see the module doc); '' when absent. */
  get(path: string): string {
    const p = parsePath(path);
    const seg = this.segment(p.segment, p.occurrence);
    if (!seg) return '';
    return seg.get(p.field, p.repetition ?? 1, p.component ?? 1, p.subcomponent ?? 1);
  }

  /** Raw text at a path, at the level the path stops (delimiters and escapes kept). */
  raw(path: string): string {
    const p = parsePath(path);
    const seg = this.segment(p.segment, p.occurrence);
    if (!seg) return '';
    return seg.raw(p.field, p.repetition, p.component, p.subcomponent);
  }

  /** True when the path holds a non-empty value. */
  has(path: string): boolean {
    return this.raw(path) !== '';
  }
}

const SEGMENT_ID_RE = /^[A-Z][A-Z0-9]{2}$/;

function isDelimiterChar(c: string | undefined): boolean {
  return c !== undefined && c.length === 1 && !/[A-Za-z0-9\s]/.test(c) && c.charCodeAt(0) >= 0x21 && c.charCodeAt(0) < 0x7f;
}

/** Read and check the delimiters of a message that starts with MSH at `start`. */
function readDelimiters(text: string, start: number): Delimiters {
  const fieldSep = text[start + 3];
  if (!isDelimiterChar(fieldSep)) {
    throw new Er7Error('102', { segment: 'MSH', sequence: 1, field: 1 }, 'Séparateur de champs (MSH-1) absent ou invalide');
  }
  const end = text.indexOf(fieldSep, start + 4);
  let enc = end === -1 ? text.slice(start + 4) : text.slice(start + 4, end);
  const eol = enc.search(/[\r\n]/);
  if (eol !== -1) enc = enc.slice(0, eol);
  const chars = [...enc];
  const distinct = new Set([fieldSep, ...chars]).size === chars.length + 1;
  if ((chars.length !== 4 && chars.length !== 5) || !chars.every(isDelimiterChar) || !distinct) {
    throw new Er7Error(
      '102',
      { segment: 'MSH', sequence: 1, field: 2 },
      'Caractères de codage (MSH-2) invalides : 4 caractères distincts attendus, par exemple ^~\\&',
    );
  }
  return {
    field: fieldSep,
    component: chars[0],
    repetition: chars[1],
    escape: chars[2],
    subcomponent: chars[3],
    truncation: chars[4],
  };
}

/**
 * Parse ER7 text. Throws `Er7Error` (code 100 at MSH when the message does not start with MSH,
 * 102 at MSH-1/MSH-2 for wrong delimiters); every other oddity is a warning on the result.
 */
export function parseEr7(text: string, options: ParseOptions = {}): Er7Message {
  let start = 0;
  if (text.charCodeAt(0) === 0xfeff) start = 1;
  while (start < text.length) {
    const c = text.charCodeAt(start);
    if (c === 0x0d || c === 0x0a || c === 0x20 || c === 0x09) start++;
    else break;
  }
  if (text.startsWith('MSH', start) === false) {
    throw new Er7Error(
      '100',
      { segment: 'MSH', sequence: 1 },
      text.length - start === 0 ? 'Message vide : segment MSH attendu' : 'Le message ne commence pas par un segment MSH',
    );
  }
  const d = readDelimiters(text, start);
  const msg = new Er7Message(d, options.hexCharset);
  const body = start === 0 ? text : text.slice(start);
  const lines = body.split(/\r\n|\r|\n/);
  const fs = d.field;

  let pendingName: string | undefined;
  let pendingText = '';
  let pendingLine = 0;
  const flush = (): void => {
    if (pendingName === undefined) return;
    const fields = pendingText.split(fs);
    if (pendingName === 'MSH') fields.splice(1, 0, fs);
    msg.add(pendingName, fields, pendingLine);
  };

  for (let k = 0; k < lines.length; k++) {
    const line = lines[k];
    if (line === '' || line.trim() === '') continue;
    const name = line.slice(0, 3);
    if (SEGMENT_ID_RE.test(name) && (line.length === 3 || line[3] === fs)) {
      flush();
      pendingName = name;
      pendingText = line;
      pendingLine = k + 1;
      continue;
    }
    // Not a segment start: a raw line break inside a value. Keep the text, report it.
    const lineNo = k + 1;
    msg.warnings.push({
      code: '100',
      location: { segment: pendingName ?? 'MSH', sequence: pendingName ? msg.all(pendingName).length + 1 : 1 },
      message: `Ligne ${lineNo} : pas un début de segment, rattachée au segment précédent`,
      line: lineNo,
    });
    pendingText += '\n' + line;
  }
  flush();
  return msg;
}
