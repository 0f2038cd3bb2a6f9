/**
 * A generic fixed-width record codec driven by a layout kept as data (layouts/*.json, [profile]).
 *
 * Field kinds:
 * - `K` constant (the record type, a norm name…): written as is, checked on read;
 * - `N` numeric identifier (FINESS, numéro AMC, NIR): digits only, zero-padded, read back as a string;
 * - `I` integer (counts, amounts in cents): zero-padded, read back as a number;
 * - `A` text: upper-case ASCII without accents, space-padded on the right, read back trimmed;
 * - `D` date AAAAMMJJ, given and read back as `YYYY-MM-DD`;
 * - `F` filler: spaces.
 *
 * Encoding refuses a value that does not fit (never truncates); decoding is strict (record length,
 * digits, real dates) and its errors name the line, record, field and position — never the value,
 * since records carry patient identifiers.
 */

export type FieldKind = 'K' | 'N' | 'I' | 'A' | 'D' | 'F';

export interface FieldSpec {
  name: string;
  /** 1-based position of the first character. */
  start: number;
  length: number;
  kind: FieldKind;
  /** For `K` fields: the constant. */
  value?: string;
  /** `A`/`D`/`N` fields that may be left blank (spaces). */
  optional?: boolean;
  description?: string;
}

export interface RecordSpec {
  name: string;
  type: string;
  description?: string;
  fields: FieldSpec[];
}

export interface LayoutData {
  name: string;
  version: string;
  status?: string;
  recordLength: number;
  lineEnding: 'CRLF' | 'LF';
  typeLength: number;
  records: RecordSpec[];
}

export interface Layout extends LayoutData {
  eol: string;
  byName: Map<string, RecordSpec>;
  byType: Map<string, RecordSpec>;
}

export type FieldValue = string | number | undefined | null;
export type RecordValues = Record<string, FieldValue>;
export type DecodedValues = Record<string, string | number>;

export interface DecodedRecord {
  /** 1-based line number in the file. */
  line: number;
  record: string;
  type: string;
  values: DecodedValues;
}

/** An error in a record: names the layout, line, record, field and 1-based position (never the value). */
export class RecordError extends Error {
  constructor(
    readonly detail: string,
    readonly where: { layout: string; line?: number; record?: string; field?: string; position?: number },
  ) {
    const parts: string[] = [where.layout];
    if (where.line !== undefined) parts.push(`line ${where.line}`);
    if (where.record !== undefined) parts.push(`record ${where.record}`);
    if (where.field !== undefined) parts.push(`field ${where.field}`);
    if (where.position !== undefined) parts.push(`position ${where.position}`);
    super(`${parts.join(', ')}: ${detail}`);
    this.name = 'RecordError';
  }
}

/** Checks a layout (fields contiguous from 1, lengths adding up to the record length, a type field first). */
export function compileLayout(data: LayoutData): Layout {
  const byName = new Map<string, RecordSpec>();
  const byType = new Map<string, RecordSpec>();
  const bad = (msg: string): never => {
    throw new Error(`layout ${data.name} ${data.version}: ${msg}`);
  };
  if (data.lineEnding !== 'CRLF' && data.lineEnding !== 'LF') bad(`lineEnding must be CRLF or LF`);
  for (const r of data.records) {
    if (byName.has(r.name)) bad(`record ${r.name} defined twice`);
    if (byType.has(r.type)) bad(`record type ${r.type} defined twice`);
    if (r.type.length !== data.typeLength) bad(`record ${r.name}: type ${r.type} is not ${data.typeLength} characters`);
    const first = r.fields[0];
    if (!first || first.kind !== 'K' || first.value !== r.type || first.start !== 1) {
      bad(`record ${r.name}: the first field must be the constant type ${r.type}`);
    }
    let next = 1;
    const names = new Set<string>();
    for (const f of r.fields) {
      if (f.start !== next) bad(`record ${r.name} field ${f.name} starts at ${f.start}, expected ${next}`);
      if (!(f.length > 0)) bad(`record ${r.name} field ${f.name} has no length`);
      if (!['K', 'N', 'I', 'A', 'D', 'F'].includes(f.kind)) bad(`record ${r.name} field ${f.name}: unknown kind ${f.kind}`);
      if (f.kind === 'K' && (f.value === undefined || f.value.length !== f.length))
        bad(`record ${r.name} field ${f.name}: constant does not fill its length`);
      if (f.kind === 'D' && f.length !== 8) bad(`record ${r.name} field ${f.name}: a date is 8 characters`);
      if (f.kind === 'I' && f.length > 15) bad(`record ${r.name} field ${f.name}: integers up to 15 digits`);
      if (f.kind !== 'F' && names.has(f.name)) bad(`record ${r.name} field ${f.name} defined twice`);
      names.add(f.name);
      next += f.length;
    }
    if (next - 1 !== data.recordLength) bad(`record ${r.name} is ${next - 1} characters, not ${data.recordLength}`);
    byName.set(r.name, r);
    byType.set(r.type, r);
  }
  return { ...data, eol: data.lineEnding === 'CRLF' ? '\r\n' : '\n', byName, byType };
}

const PLAIN = /^[A-Z0-9 .,'/()+*:;_&-]*$/;
const PRINTABLE = /^[\x20-\x7E]*$/;

/** Upper-case ASCII without accents (é → E, œ → OE); undefined when a character has no ASCII form. */
export function normaliseText(s: string): string | undefined {
  if (PLAIN.test(s)) return s;
  const t = s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[œŒ]/g, 'OE')
    .replace(/[æÆ]/g, 'AE')
    .replace(/ß/g, 'SS')
    .replace(/[\u2019\u2018]/g, "'")
    .toUpperCase();
  return PRINTABLE.test(t) ? t : undefined;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True when y-m-d is a real calendar date (years 1900–2199). */
export function realDate(y: number, m: number, d: number): boolean {
  if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return d <= (m === 2 && leap ? 29 : DAYS[m - 1]);
}

const DIGITS = /^[0-9]*$/;

function fieldError(layout: Layout, rec: RecordSpec, f: FieldSpec, detail: string): never {
  throw new RecordError(detail, { layout: layout.name, record: rec.name, field: f.name, position: f.start });
}

const isDigitString = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
};

/** Writes an ASCII string byte by byte (faster than Buffer#write for short fields). */
function put(buf: Buffer, at: number, str: string): void {
  for (let i = 0; i < str.length; i++) buf[at + i] = str.charCodeAt(i);
}

function zeros(buf: Buffer, from: number, to: number): void {
  for (let i = from; i < to; i++) buf[i] = 48;
}

/** Writes one field at `at` (the record is already filled with spaces). */
function writeField(buf: Buffer, at: number, layout: Layout, rec: RecordSpec, f: FieldSpec, v: FieldValue): void {
  const blank = v === undefined || v === null || v === '';
  switch (f.kind) {
    case 'K':
      put(buf, at, f.value as string);
      return;
    case 'F':
      return;
    case 'I': {
      if (blank) fieldError(layout, rec, f, 'missing value');
      if (typeof v === 'number') {
        if (!Number.isSafeInteger(v) || v < 0) fieldError(layout, rec, f, 'not a non-negative integer');
        let x = v;
        for (let i = f.length - 1; i >= 0; i--) {
          buf[at + i] = 48 + (x % 10);
          x = Math.floor(x / 10);
        }
        if (x > 0) fieldError(layout, rec, f, `does not fit in ${f.length} digits`);
        return;
      }
      const str = String(v);
      if (!isDigitString(str)) fieldError(layout, rec, f, 'not digits');
      if (str.length > f.length) fieldError(layout, rec, f, `does not fit in ${f.length} digits`);
      zeros(buf, at, at + f.length - str.length);
      put(buf, at + f.length - str.length, str);
      return;
    }
    case 'N': {
      if (blank) {
        if (f.optional) return;
        fieldError(layout, rec, f, 'missing value');
      }
      const str = String(v);
      if (!isDigitString(str)) fieldError(layout, rec, f, 'not digits');
      if (str.length > f.length) fieldError(layout, rec, f, `does not fit in ${f.length} digits`);
      zeros(buf, at, at + f.length - str.length);
      put(buf, at + f.length - str.length, str);
      return;
    }
    case 'D': {
      if (blank) {
        if (f.optional) return;
        fieldError(layout, rec, f, 'missing date');
      }
      const str = String(v);
      let ymd: string | undefined;
      if (str.length === 10 && str.charCodeAt(4) === 45 && str.charCodeAt(7) === 45)
        ymd = str.slice(0, 4) + str.slice(5, 7) + str.slice(8, 10);
      else if (str.length === 8) ymd = str;
      if (ymd === undefined || !isDigitString(ymd) || !realDate(+ymd.slice(0, 4), +ymd.slice(4, 6), +ymd.slice(6, 8))) {
        fieldError(layout, rec, f, 'not a real date (YYYY-MM-DD)');
      }
      put(buf, at, ymd);
      return;
    }
    case 'A': {
      if (blank) {
        if (f.optional) return;
        fieldError(layout, rec, f, 'missing value');
      }
      const str = normaliseText(String(v));
      if (str === undefined) fieldError(layout, rec, f, 'a character has no upper-case ASCII form');
      if (str.length > f.length) fieldError(layout, rec, f, `does not fit in ${f.length} characters`);
      put(buf, at, str);
      return;
    }
  }
}

/**
 * Writes records of a layout one after the other into a growing buffer, each followed by the
 * layout's line ending: the file is built without intermediate strings.
 */
export class RecordWriter {
  private buf: Buffer;
  private len = 0;
  private readonly stride: number;
  count = 0;

  constructor(
    readonly layout: Layout,
    expectedRecords = 64,
  ) {
    this.stride = layout.recordLength + layout.eol.length;
    this.buf = Buffer.allocUnsafe(Math.max(1, expectedRecords) * this.stride);
  }

  /** Encodes and appends one record; on a refused value nothing is appended and a RecordError is thrown. */
  add(recordName: string, values: RecordValues): this {
    const rec = this.layout.byName.get(recordName);
    if (!rec) throw new RecordError('unknown record', { layout: this.layout.name, record: recordName });
    if (this.len + this.stride > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + this.stride));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const at = this.len;
    const buf = this.buf;
    for (let i = at, end = at + this.layout.recordLength; i < end; i++) buf[i] = 32;
    for (const f of rec.fields) writeField(buf, at + f.start - 1, this.layout, rec, f, values[f.name]);
    put(buf, at + this.layout.recordLength, this.layout.eol);
    this.len += this.stride;
    this.count++;
    return this;
  }

  /** The bytes written so far (a copy). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** Encodes one record of the layout (without line ending). */
export function encodeRecord(layout: Layout, recordName: string, values: RecordValues): string {
  return new RecordWriter(layout, 1).add(recordName, values).finish().toString('latin1', 0, layout.recordLength);
}

/** Decodes one record (without its line ending); `line` is 1-based, for the errors. */
export function decodeRecord(layout: Layout, text: string, line: number): DecodedRecord {
  const type = text.slice(0, layout.typeLength);
  const rec = layout.byType.get(type);
  const where = { layout: layout.name, line };
  if (!rec) throw new RecordError(`unknown record type "${PRINTABLE.test(type) ? type : '?'}"`, { ...where, position: 1 });
  if (text.length !== layout.recordLength) {
    throw new RecordError(`record is ${text.length} characters, expected ${layout.recordLength}`, { ...where, record: rec.name });
  }
  if (!PRINTABLE.test(text)) {
    let i = 0;
    while (i < text.length && PRINTABLE.test(text[i])) i++;
    throw new RecordError('character outside printable ASCII', { ...where, record: rec.name, position: i + 1 });
  }
  const values: DecodedValues = {};
  for (const f of rec.fields) {
    const raw = text.slice(f.start - 1, f.start - 1 + f.length);
    const err = (detail: string): never => {
      throw new RecordError(detail, { ...where, record: rec.name, field: f.name, position: f.start });
    };
    switch (f.kind) {
      case 'K':
        if (raw !== f.value) err(`expected "${f.value}"`);
        break;
      case 'F':
        break;
      case 'I':
        if (!DIGITS.test(raw)) err('not digits');
        values[f.name] = Number(raw);
        break;
      case 'N':
        if (f.optional && raw.trim() === '') values[f.name] = '';
        else if (!DIGITS.test(raw)) err('not digits');
        else values[f.name] = raw;
        break;
      case 'D':
        if (f.optional && raw.trim() === '') {
          values[f.name] = '';
          break;
        }
        if (!DIGITS.test(raw) || !realDate(+raw.slice(0, 4), +raw.slice(4, 6), +raw.slice(6, 8))) err('not a real date AAAAMMJJ');
        values[f.name] = `${raw.slice(0, 4)}-${raw.slice(4, 6)}-${raw.slice(6, 8)}`;
        break;
      case 'A': {
        const t = raw.trimEnd();
        if (t === '' && !f.optional) err('missing value');
        values[f.name] = t;
        break;
      }
    }
  }
  return { line, record: rec.name, type, values };
}

/**
 * Splits a file into its records and decodes each. A last record without its line ending is read
 * when complete; a partial one is a RecordError (a truncated file).
 */
export function decodeFile(layout: Layout, data: Buffer): DecodedRecord[] {
  const text = data.toString('latin1');
  const parts = text.split('\n');
  const out: DecodedRecord[] = [];
  for (let i = 0; i < parts.length; i++) {
    let p = parts[i];
    const last = i === parts.length - 1;
    if (last && p === '') break;
    if (p.endsWith('\r')) p = p.slice(0, -1);
    if (last && p.length < layout.recordLength) {
      throw new RecordError(`truncated: last record is ${p.length} characters, expected ${layout.recordLength}`, {
        layout: layout.name,
        line: i + 1,
      });
    }
    out.push(decodeRecord(layout, p, i + 1));
  }
  return out;
}
