/**
 * Tolerant HPRIM Santé reader. Bytes → charset (H-15 when declared, else UTF-8 when the bytes are
 * valid UTF-8 with non-ASCII characters, else ISO 8859-15) → physical lines (CR, CRLF or LF) →
 * records (`A|` lines appended to the previous record) → delimiters from H-2 → ADM mapping
 * (H, P, AP, AC, L) to `Admission` objects (lib/model/admission.ts, the shape lib/hl7 produces
 * too). Field positions are in ./profile.ts.
 *
 * Strict where it matters: a file without its L trailer, with a trailer cut short or with L counts
 * that do not match is refused, and every error names line, record type and field.
 */
import { isUtf8 } from 'buffer';
import {
  normaliseNumeroAmc,
  type Admission,
  type AdmissionIssue,
  type Coverage,
  type Identifier,
  type RocMeaning,
} from '../model/admission';
import { decodeBytes, type Charset } from '../model/charset';
import { digitsDateToIso } from '../model/dates';
import {
  AC_FIELDS,
  ADM_MESSAGE_TYPES,
  AP_FIELDS,
  CHARSET_NAMES,
  CONTINUATION_PREFIX,
  DEFAULT_CHARSET,
  DEFAULT_DELIMITERS,
  ERROR_CODES,
  WARNING_LABELS,
  EVENT_INFERENCE,
  EVENT_MEANINGS,
  H_FIELDS,
  L_FIELDS,
  P_FIELDS,
  P_REQUIRED,
  PATIENT_CLASS_TO_VENUE,
  RECORD_TYPES,
  type FieldPos,
  type HprimErrorCode,
  type HprimWarningCode,
} from './profile';
import type { HprimIssue, HprimReadResult } from './types';

export interface HprimDelimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

/** One logical record: its physical line(s) joined, split in raw fields (fields[0] = type). */
export interface HprimRecord {
  type: string;
  /** First physical line (1-based). */
  line: number;
  /** Physical lines it spans (1 + continuation lines). */
  lineCount: number;
  /** Raw fields, escapes kept: fields[n - 1] is field n in ASTM numbering. */
  fields: string[];
}

export interface HprimRecords {
  delimiters: HprimDelimiters;
  records: HprimRecord[];
  /** Non-blank physical lines. */
  physicalLines: number;
  /** True when the text ends with a line end (the last record is complete). */
  endsWithLineEnd: boolean;
  /** Structural errors (no H, bad delimiters, orphan continuation). */
  errors: HprimIssue[];
}

export interface SanteOptions {
  /** Force a charset (ignores H-15 and sniffing). */
  charset?: Charset;
  /** Used when H-15 is absent and the bytes are not UTF-8 (default ISO 8859-15). */
  defaultCharset?: Charset;
}

function issue(
  code: HprimErrorCode | HprimWarningCode,
  detail: string,
  place: { line?: number; record?: string; field?: number } = {},
): HprimIssue {
  const label = (ERROR_CODES as Record<string, string>)[code] ?? (WARNING_LABELS as Record<string, string>)[code];
  const where = [
    place.line !== undefined ? `ligne ${place.line}` : '',
    place.record ? `enregistrement ${place.record}` : '',
    place.field !== undefined ? `champ ${place.field}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const message = `${label ?? code}${detail ? ' : ' + detail : ''}${where ? ` (${where})` : ''}`;
  const out: HprimIssue = { code, message };
  if (place.line !== undefined) out.line = place.line;
  if (place.record !== undefined) out.record = place.record;
  if (place.field !== undefined) out.field = place.field;
  return out;
}

// ---- bytes → text -----------------------------------------------------------------------------

function firstLineLatin1(bytes: Buffer): string {
  let start = 0;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  let end = start;
  const limit = Math.min(bytes.length, start + 4096);
  while (end < limit && bytes[end] !== 0x0d && bytes[end] !== 0x0a) end++;
  return bytes.toString('latin1', start, end);
}

/** The charset named in H-15, raw, when present. */
export function declaredCharset(bytes: Buffer): string | undefined {
  const h = firstLineLatin1(bytes);
  if (!h.startsWith('H') || h.length < 2) return undefined;
  const fields = h.split(h[1]);
  const raw = (fields[H_FIELDS.charset.field - 1] ?? '').trim();
  return raw === '' ? undefined : raw;
}

export interface DecodedHprim {
  text: string;
  charset: Charset;
  source: 'option' | 'declared' | 'sniffed' | 'default';
  /** H-15 value the profile does not know (the fallback was used). */
  unknownDeclared?: string;
}

export function decodeHprim(bytes: Buffer, options: SanteOptions = {}): DecodedHprim {
  if (options.charset) return { text: decodeBytes(bytes, options.charset), charset: options.charset, source: 'option' };
  const declared = declaredCharset(bytes);
  let unknownDeclared: string | undefined;
  if (declared) {
    const cs = CHARSET_NAMES[declared.toUpperCase()];
    if (cs) return { text: decodeBytes(bytes, cs), charset: cs, source: 'declared' };
    unknownDeclared = declared;
  }
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const highBytes = bytes.some((b) => b >= 0x80);
  if (bom || (highBytes && isUtf8(bytes))) return { text: decodeBytes(bytes, 'utf8'), charset: 'utf8', source: 'sniffed', unknownDeclared };
  const cs = options.defaultCharset ?? DEFAULT_CHARSET;
  return { text: decodeBytes(bytes, cs), charset: cs, source: 'default', unknownDeclared };
}

// ---- text → records ---------------------------------------------------------------------------

/**
 * Split an HPRIM Santé text in records. Works for any message type (ADM, ORU…): H is required
 * first, `A|` lines continue the previous record, blank lines are skipped.
 */
export function parseHprimRecords(text: string): HprimRecords {
  const errors: HprimIssue[] = [];
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const endsWithLineEnd = /[\r\n]$/.test(body);
  const lines = body.split(/\r\n|\r|\n/);
  const delimiters: HprimDelimiters = { ...DEFAULT_DELIMITERS };
  const records: HprimRecord[] = [];
  const rawRecords: { line: number; lineCount: number; text: string }[] = [];
  let physicalLines = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '') continue;
    physicalLines++;
    if (l.startsWith(CONTINUATION_PREFIX)) {
      const prev = rawRecords[rawRecords.length - 1];
      if (!prev) {
        errors.push(issue('RECORD_ORDER', 'ligne de continuation A sans enregistrement précédent', { line: i + 1, record: 'A' }));
        continue;
      }
      prev.text += l.slice(CONTINUATION_PREFIX.length);
      prev.lineCount++;
      continue;
    }
    rawRecords.push({ line: i + 1, lineCount: 1, text: l });
  }
  if (rawRecords.length === 0) {
    errors.push(issue('EMPTY', '', { line: 1 }));
    return { delimiters, records, physicalLines, endsWithLineEnd, errors };
  }
  const h = rawRecords[0];
  if (!h.text.startsWith(RECORD_TYPES.header) || h.text.length < 2) {
    errors.push(issue('NO_HEADER', '', { line: h.line }));
    return { delimiters, records, physicalLines, endsWithLineEnd, errors };
  }
  delimiters.field = h.text[1];
  const declared = h.text.slice(2).split(delimiters.field)[0];
  const chars = [delimiters.field, ...declared];
  const bad = declared.length < 2 || new Set(chars).size !== chars.length || chars.some((c) => /[\sA-Za-z0-9]/.test(c));
  if (bad) {
    errors.push(
      issue('BAD_DELIMITERS', 'séparateur de champ puis composant, répétition, échappement, sous-composant attendus', {
        line: h.line,
        record: 'H',
        field: H_FIELDS.delimiters.field,
      }),
    );
    return { delimiters, records, physicalLines, endsWithLineEnd, errors };
  }
  delimiters.component = declared[0];
  delimiters.repetition = declared[1];
  if (declared[2]) delimiters.escape = declared[2];
  if (declared[3]) delimiters.subcomponent = declared[3];
  for (const r of rawRecords) {
    const fields = r.text.split(delimiters.field);
    records.push({ type: fields[0].trim(), line: r.line, lineCount: r.lineCount, fields });
  }
  return { delimiters, records, physicalLines, endsWithLineEnd, errors };
}

/** Decode HPRIM escapes (\F\ \S\ \R\ \E\ \T\, read with the declared delimiters). */
export function unescapeHprim(s: string, d: HprimDelimiters): string {
  if (s.indexOf(d.escape) < 0) return s;
  const map: Record<string, string> = { F: d.field, S: d.component, R: d.repetition, E: d.escape, T: d.subcomponent };
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === d.escape) {
      const end = s.indexOf(d.escape, i + 1);
      const code = end > i ? s.slice(i + 1, end) : '';
      if (code in map) {
        out += map[code];
        i = end;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** A record's field value: first repetition, then the component (default 1), decoded and trimmed. */
export function fieldValue(rec: HprimRecord, pos: FieldPos, d: HprimDelimiters): string {
  let s = rec.fields[pos.field - 1];
  if (!s) return '';
  // indexOf walks instead of split(): this runs ~40 times per patient.
  let i = s.indexOf(d.repetition);
  if (i >= 0) s = s.slice(0, i);
  for (let c = pos.component ?? 1; c > 1; c--) {
    i = s.indexOf(d.component);
    if (i < 0) return '';
    s = s.slice(i + 1);
  }
  i = s.indexOf(d.component);
  if (i >= 0) s = s.slice(0, i);
  i = s.indexOf(d.subcomponent);
  if (i >= 0) s = s.slice(0, i);
  return unescapeHprim(s, d).trim();
}

/** Every repetition of a field (first component of each). */
export function fieldRepetitions(rec: HprimRecord, pos: FieldPos, d: HprimDelimiters): string[] {
  const raw = rec.fields[pos.field - 1] ?? '';
  if (raw === '') return [];
  return raw
    .split(d.repetition)
    .map((r) => unescapeHprim(r.split(d.component)[(pos.component ?? 1) - 1] ?? '', d).trim())
    .filter(Boolean);
}

// ---- ADM mapping ------------------------------------------------------------------------------

class Ctx {
  errors: HprimIssue[] = [];
  warnings: HprimIssue[] = [];
  constructor(readonly d: HprimDelimiters) {}
  v(rec: HprimRecord, pos: FieldPos): string {
    return fieldValue(rec, pos, this.d);
  }
  date(rec: HprimRecord, pos: FieldPos, what: string): string | undefined {
    const s = this.v(rec, pos);
    if (!s) return undefined;
    const iso = digitsDateToIso(s);
    if (!iso)
      this.errors.push(issue('BAD_DATE', `${what} : AAAAMMJJ[HHMM[SS]] attendu`, { line: rec.line, record: rec.type, field: pos.field }));
    return iso;
  }
}

function warnAsAdmissionIssue(w: HprimIssue, code: AdmissionIssue['code']): AdmissionIssue {
  return { code, severity: 'W', message: w.message, location: w.record ? { segment: w.record, field: w.field } : undefined };
}

function mapPatient(ctx: Ctx, p: HprimRecord, header: Partial<Admission>): Admission {
  const v = (pos: FieldPos) => ctx.v(p, pos);
  for (const key of P_REQUIRED) {
    if (!v(P_FIELDS[key]))
      ctx.errors.push(issue('MISSING_FIELD', key.toUpperCase(), { line: p.line, record: 'P', field: P_FIELDS[key].field }));
  }
  const ippValue = v(P_FIELDS.ipp);
  const ipp: Identifier | undefined = ippValue ? { value: ippValue, type: 'PI' } : undefined;
  const adm: Admission = {
    messageType: header.messageType ?? 'ADM',
    event: '',
    meaning: 'IGNORE',
    controlId: `${header.controlId ?? ''}#${v(P_FIELDS.sequence) || '1'}`,
    patient: { identifiers: ipp ? [ipp] : [] },
    coverages: [],
    finess: {},
    warnings: [],
  };
  for (const k of [
    'sendingApplication',
    'sendingFacility',
    'receivingApplication',
    'receivingFacility',
    'messageDateTime',
    'version',
    'charset',
  ] as const) {
    if (header[k] !== undefined) (adm as unknown as Record<string, unknown>)[k] = header[k];
  }
  const pt = adm.patient;
  if (ipp) pt.ipp = ipp;
  const nom = v(P_FIELDS.nom);
  if (nom) pt.nom = nom;
  const prenom = v(P_FIELDS.prenom);
  if (prenom) pt.prenom = prenom;
  const nomNaissance = v(P_FIELDS.nomNaissance);
  if (nomNaissance) pt.nomNaissance = nomNaissance;
  const dn = ctx.date(p, P_FIELDS.dateNaissance, 'date de naissance');
  if (dn) pt.dateNaissance = dn.slice(0, 10);
  const sexe = v(P_FIELDS.sexe);
  if (sexe) pt.sexe = sexe.toUpperCase();

  const venue: NonNullable<Admission['venue']> = {};
  const nda = v(P_FIELDS.nda);
  if (nda) venue.nda = { value: nda, type: 'AN' };
  const nv = v(P_FIELDS.numeroVenue);
  if (nv) venue.numeroVenue = { value: nv, type: 'VN' };
  const cls = v(P_FIELDS.patientClass).toUpperCase();
  if (cls) {
    venue.patientClass = cls;
    const t = PATIENT_CLASS_TO_VENUE[cls];
    if (t) venue.type = t;
    else {
      const w = issue('UNKNOWN_CLASS', 'statut de venue inconnu du profil', {
        line: p.line,
        record: 'P',
        field: P_FIELDS.patientClass.field,
      });
      ctx.warnings.push(w);
      adm.warnings.push(warnAsAdmissionIssue(w, '103'));
    }
  }
  const admit = ctx.date(p, P_FIELDS.admitDate, "date d'entrée");
  if (admit) venue.admitDateTime = admit;
  const disch = ctx.date(p, P_FIELDS.dischargeDate, 'date de sortie');
  if (disch) venue.dischargeDateTime = disch;
  const loc = v(P_FIELDS.location);
  if (loc) {
    venue.ufMedicale = { code: loc };
    const room = ctx.v(p, { field: P_FIELDS.location.field, component: 2 });
    const bed = ctx.v(p, { field: P_FIELDS.location.field, component: 3 });
    venue.location = { pointOfCare: loc, ...(room ? { room } : {}), ...(bed ? { bed } : {}) };
  }
  adm.venue = venue;

  const code = v(P_FIELDS.event).toUpperCase();
  let meaning: RocMeaning;
  if (code) {
    adm.event = code;
    meaning = EVENT_MEANINGS[code] ?? 'IGNORE';
    if (!EVENT_MEANINGS[code]) {
      const w = issue('UNKNOWN_EVENT', 'code de mouvement inconnu du profil : ignoré', {
        line: p.line,
        record: 'P',
        field: P_FIELDS.event.field,
      });
      ctx.warnings.push(w);
      adm.warnings.push(warnAsAdmissionIssue(w, '201'));
    }
  } else {
    const inf = disch ? EVENT_INFERENCE.withDischarge : EVENT_INFERENCE.admitOnly;
    adm.event = inf.event;
    meaning = inf.meaning;
  }
  adm.meaning = meaning;

  if (meaning === 'IDB' || meaning === 'CLC' || meaning === 'DEL' || meaning === 'UPDATE') {
    if (!nv && !nda) {
      ctx.errors.push(issue('MISSING_FIELD', 'numéro de venue ou NDA', { line: p.line, record: 'P', field: P_FIELDS.numeroVenue.field }));
    } else if (!nv) {
      const w = issue('VENUE_FROM_NDA', 'numéro de venue absent, le NDA sert de clé', {
        line: p.line,
        record: 'P',
        field: P_FIELDS.numeroVenue.field,
      });
      ctx.warnings.push(w);
      adm.warnings.push(warnAsAdmissionIssue(w, '101'));
    }
    if (meaning === 'IDB' && !admit)
      ctx.errors.push(issue('MISSING_FIELD', "date d'entrée", { line: p.line, record: 'P', field: P_FIELDS.admitDate.field }));
    if (meaning === 'CLC' && !disch)
      ctx.errors.push(issue('MISSING_FIELD', 'date de sortie', { line: p.line, record: 'P', field: P_FIELDS.dischargeDate.field }));
  }
  // Same semantic sources as PAM-FR (venue number, NDA, IPP), named with their HL7 equivalents.
  if (nv) {
    adm.orderingKey = nv;
    adm.orderingKeySource = 'PV1-19';
  } else if (nda) {
    adm.orderingKey = nda;
    adm.orderingKeySource = 'PID-18';
  } else if (ippValue) {
    adm.orderingKey = ippValue;
    adm.orderingKeySource = 'PID-3';
  }
  return adm;
}

function mapAmo(ctx: Ctx, r: HprimRecord, adm: Admission): void {
  const v = (pos: FieldPos) => ctx.v(r, pos);
  const cov: Coverage = { kind: 'AMO', extras: [], taux: [] };
  const seq = v(AP_FIELDS.sequence);
  if (/^\d+$/.test(seq)) cov.setId = Number(seq);
  const code = v(AP_FIELDS.regime) + v(AP_FIELDS.caisse) + v(AP_FIELDS.centre);
  if (code) {
    cov.numeroAmcBrut = code;
    cov.organisme = code;
    if (!/^\d{9}$/.test(code)) {
      const w = issue('AMO_CODE', 'régime (2) + caisse (3) + centre (4) chiffres attendus', {
        line: r.line,
        record: 'AP',
        field: AP_FIELDS.regime.field,
      });
      ctx.warnings.push(w);
      adm.warnings.push(warnAsAdmissionIssue(w, '102'));
    }
  }
  const deb = ctx.date(r, AP_FIELDS.debutDroits, 'début de droits AMO');
  if (deb) cov.debutDroits = deb.slice(0, 10);
  const fin = ctx.date(r, AP_FIELDS.finDroits, 'fin de droits AMO');
  if (fin) cov.finDroits = fin.slice(0, 10);
  const nir = v(AP_FIELDS.nir).replace(/\s/g, '');
  if (nir) {
    const key = v(AP_FIELDS.nirKey).replace(/\s/g, '');
    if (!/^[0-9][0-9AB]{12}$/i.test(nir) || (key && !/^\d{2}$/.test(key))) {
      ctx.errors.push(
        issue('BAD_VALUE', 'NIR : 13 caractères puis clé de 2 chiffres attendus', {
          line: r.line,
          record: 'AP',
          field: AP_FIELDS.nir.field,
        }),
      );
    } else if (!adm.patient.nir) {
      const id: Identifier = { value: nir.toUpperCase() + key, type: 'NH' };
      adm.patient.nir = id;
      adm.patient.identifiers.push(id);
    }
  }
  adm.coverages.push(cov);
}

function mapAmc(ctx: Ctx, r: HprimRecord, adm: Admission): void {
  const v = (pos: FieldPos) => ctx.v(r, pos);
  const cov: Coverage = { kind: 'AMC', extras: fieldRepetitions(r, AC_FIELDS.garanties, ctx.d), taux: [] };
  const seq = v(AC_FIELDS.sequence);
  if (/^\d+$/.test(seq)) cov.setId = Number(seq);
  const amc = v(AC_FIELDS.numeroAmc);
  if (!amc) ctx.errors.push(issue('MISSING_FIELD', 'numéro AMC', { line: r.line, record: 'AC', field: AC_FIELDS.numeroAmc.field }));
  else {
    cov.numeroAmcBrut = amc;
    const n = normaliseNumeroAmc(amc);
    if (n) cov.numeroAmc = n;
    else
      ctx.errors.push(
        issue('BAD_VALUE', 'numéro AMC : 10 chiffres au plus attendus', { line: r.line, record: 'AC', field: AC_FIELDS.numeroAmc.field }),
      );
  }
  const org = v(AC_FIELDS.organisme);
  if (org) cov.organisme = org;
  const adh = v(AC_FIELDS.numeroAdherent);
  if (adh) cov.numeroAdherent = adh;
  const tc = v(AC_FIELDS.typeConvention);
  if (tc) cov.typeConvention = tc;
  const csr = v(AC_FIELDS.csr);
  if (csr) cov.csr = csr;
  const deb = ctx.date(r, AC_FIELDS.debutDroits, 'début de droits AMC');
  if (deb) cov.debutDroits = deb.slice(0, 10);
  const fin = ctx.date(r, AC_FIELDS.finDroits, 'fin de droits AMC');
  if (fin) cov.finDroits = fin.slice(0, 10);
  adm.coverages.push(cov);
}

/** Trailer checks: present, complete, counts matching. Pushes errors/warnings on ctx. */
function checkTrailer(ctx: Ctx, parsed: HprimRecords, patientCount: number, checkCounts: boolean): void {
  const recs = parsed.records;
  const last = recs[recs.length - 1];
  const lIndex = recs.findIndex((r) => r.type === RECORD_TYPES.trailer);
  if (lIndex < 0) {
    const lastLine = last.line + last.lineCount - 1;
    ctx.errors.push(
      issue(
        'TRUNCATED',
        `pas d'enregistrement L de fin, le fichier s'arrête dans l'enregistrement ${last.type} au champ ${last.fields.length}`,
        {
          line: lastLine,
          record: last.type,
          field: last.fields.length,
        },
      ),
    );
    return;
  }
  if (lIndex !== recs.length - 1) {
    const after = recs[lIndex + 1];
    ctx.errors.push(issue('RECORD_ORDER', `enregistrement ${after.type} après le L de fin`, { line: after.line, record: after.type }));
  }
  const l = recs[lIndex];
  const pc = ctx.v(l, L_FIELDS.patientCount);
  const lc = ctx.v(l, L_FIELDS.lineCount);
  if (!parsed.endsWithLineEnd && lIndex === recs.length - 1 && (!pc || !lc)) {
    ctx.errors.push(
      issue('TRUNCATED', `enregistrement L incomplet, fin de fichier au champ ${l.fields.length}`, {
        line: l.line,
        record: 'L',
        field: l.fields.length,
      }),
    );
    return;
  }
  if (!checkCounts) return; // L-4/L-5 are defined here for ADM files only
  if (!pc && !lc) {
    ctx.warnings.push(
      issue('COUNT_ABSENT', 'compteurs du L absents, non vérifiés', { line: l.line, record: 'L', field: L_FIELDS.patientCount.field }),
    );
    return;
  }
  const check = (value: string, expected: number, pos: FieldPos, what: string) => {
    if (!value) return;
    if (!/^\d+$/.test(value)) {
      ctx.errors.push(issue('BAD_VALUE', `${what} : nombre attendu`, { line: l.line, record: 'L', field: pos.field }));
    } else if (Number(value) !== expected) {
      ctx.errors.push(
        issue('COUNT_MISMATCH', `${what} annoncé ${Number(value)}, trouvé ${expected} (fichier incomplet ?)`, {
          line: l.line,
          record: 'L',
          field: pos.field,
        }),
      );
    }
  };
  check(pc, patientCount, L_FIELDS.patientCount, 'nombre de patients');
  // L-5 counts the non-blank physical lines from H to L, continuation lines included.
  let linesUpToL = 0;
  for (let i = 0; i <= lIndex; i++) linesUpToL += recs[i].lineCount;
  check(lc, linesUpToL, L_FIELDS.lineCount, 'nombre de lignes');
}

/**
 * Read an HPRIM Santé ADM file. Never throws: bad input gives `ok: false` and errors naming the
 * place. A file whose H-7 is not ADM is refused with NOT_ADM (its records stay readable through
 * `parseHprimRecords`).
 */
export function readHprimSante(input: Buffer | string, options: SanteOptions = {}): HprimReadResult {
  const result: HprimReadResult = { ok: false, format: 'hprim-sante', admissions: [], errors: [], warnings: [] };
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    const dec = decodeHprim(input, options);
    text = dec.text;
    result.charset = dec.charset;
    if (dec.unknownDeclared)
      result.warnings.push(
        issue('UNKNOWN_CHARSET', `jeu déclaré inconnu, ${dec.charset} utilisé`, { line: 1, record: 'H', field: H_FIELDS.charset.field }),
      );
  }
  const parsed = parseHprimRecords(text);
  result.errors.push(...parsed.errors);
  if (parsed.records.length === 0 || parsed.errors.some((e) => e.code === 'NO_HEADER' || e.code === 'BAD_DELIMITERS' || e.code === 'EMPTY'))
    return result;
  const ctx = new Ctx(parsed.delimiters);
  const h = parsed.records[0];
  const hv = (pos: FieldPos) => ctx.v(h, pos);
  result.messageId = hv(H_FIELDS.messageId) || undefined;
  result.sender = hv(H_FIELDS.sender) || undefined;
  result.receiver = hv(H_FIELDS.receiver) || undefined;
  const type = hv(H_FIELDS.messageType).toUpperCase();
  result.messageType = type || undefined;
  const isAdm = ADM_MESSAGE_TYPES.includes(type);
  // A header cut before H-7 ends is a truncation, not a wrong type.
  const typeComplete = h.fields.length > H_FIELDS.messageType.field || parsed.records.length > 1 || parsed.endsWithLineEnd;
  if (!isAdm && typeComplete) {
    ctx.errors.push(
      issue('NOT_ADM', type ? `type ${type} en H-7, ADM attendu` : 'H-7 vide, ADM attendu', {
        line: h.line,
        record: 'H',
        field: H_FIELDS.messageType.field,
      }),
    );
  }
  const header: Partial<Admission> = { messageType: type, controlId: result.messageId ?? '' };
  const sc = ctx.v(h, { field: H_FIELDS.sender.field, component: 2 });
  if (result.sender) header.sendingApplication = result.sender;
  if (sc) header.sendingFacility = sc;
  const rc = ctx.v(h, { field: H_FIELDS.receiver.field, component: 2 });
  if (result.receiver) header.receivingApplication = result.receiver;
  if (rc) header.receivingFacility = rc;
  const dt = ctx.date(h, H_FIELDS.dateTime, 'date du message');
  if (dt) header.messageDateTime = dt;
  const version = hv(H_FIELDS.version);
  if (version) header.version = version;
  if (result.charset) header.charset = result.charset;

  let current: Admission | undefined;
  let patients = 0;
  for (let i = 1; isAdm && i < parsed.records.length; i++) {
    const r = parsed.records[i];
    switch (r.type) {
      case RECORD_TYPES.header:
        ctx.errors.push(issue('RECORD_ORDER', 'second enregistrement H', { line: r.line, record: 'H' }));
        break;
      case RECORD_TYPES.patient:
        patients++;
        current = mapPatient(ctx, r, header);
        result.admissions.push(current);
        break;
      case RECORD_TYPES.amo:
      case RECORD_TYPES.amc:
        if (!current) ctx.errors.push(issue('RECORD_ORDER', `${r.type} avant tout enregistrement P`, { line: r.line, record: r.type }));
        else if (r.type === RECORD_TYPES.amo) mapAmo(ctx, r, current);
        else mapAmc(ctx, r, current);
        break;
      default:
        break; // L is checked below; other records (C, OBR…) are not part of an admission
    }
  }
  const before = ctx.errors.length;
  checkTrailer(ctx, parsed, patients, isAdm);
  const truncated = ctx.errors.slice(before).find((e) => e.code === 'TRUNCATED');
  if (truncated) {
    // The truncation comes first; errors on the cut record itself are its consequences.
    const last = parsed.records[parsed.records.length - 1];
    const cutLines = (e: HprimIssue) => e.line !== undefined && e.line >= last.line && e.line < last.line + last.lineCount;
    ctx.errors = [truncated, ...ctx.errors.filter((e) => e !== truncated && !cutLines(e))];
  }
  result.errors.push(...ctx.errors);
  result.warnings.push(...ctx.warnings);
  result.ok = result.errors.length === 0;
  if (!result.ok) result.admissions = [];
  return result;
}
