/**
 * parseAttestation: the text read from an attestation DataMatrix → `msg.roc.attestation`.
 *
 * The text may come from a keyboard-wedge hand scanner (with its artefacts) or from the image
 * decoder. The parser:
 *  1. refuses what is empty, binary or far too long;
 *  2. tries the text as received, then with the keyboard mix-ups undone (QWERTY scanner on an
 *     AZERTY workstation and the reverse, Caps Lock); a mix-up is only "repaired" when the result
 *     validates completely against a grammar;
 *  3. removes unambiguous artefacts (CR/LF/tab suffix, AIM symbology prefix, GS sent as text or
 *     as another control character, GS dropped when the grammar has fixed widths);
 *  4. parses with each registered grammar in order and validates every field;
 *  5. otherwise says what the code is (NIR / Vitale, 2D-Doc, GS1, EAN, URL, half scan…).
 */
import { compileDateFormat, DEFAULT_GRAMMARS, canRecoverWithoutSeparators } from './grammar';
import { undoMixup, swapCase } from './keyboard';
import { REFUSALS, REPAIRS, WARNINGS, quote } from './messages';
import { nirKeyMatches } from '../model/nir';
import type {
  AdressageSesam,
  AttestationGrammar,
  AttestationLue,
  AttestationNote,
  GrammarField,
  ParseFailure,
  ParseOptions,
  ParseResult,
} from './types';

const GS = '\u001d';

/** Longest text accepted (a DataMatrix holds at most ~2300 characters; an attestation ~100). */
export const MAX_TEXT_LENGTH = 1000;

/** GS written as text by scanners or by people copying a scan (case-insensitive). */
const GS_TOKENS = /<GS>|\[GS\]|\{GS\}|<FNC1>|\[FNC1\]|\{FNC1\}|\^\]|\u241d|\\x1d|\\u001d|\^029|<029>|\{029\}/gi;

/**
 * Characters some scanners send instead of GS: FS, RS, US, EOT, tab, CR, LF, and `è` (byte 232,
 * the DataMatrix FNC1 codeword, output as a Latin-1 character by naive decoders). Only taken as
 * separators when the text contains no GS at all and one of them comes right after the prefix.
 */
const SEPARATOR_ALTERNATIVES = ['\u001c', '\u001e', '\u001f', '\u0004', '\t', '\r', '\n', '\u00e8', '|'];

/** Rank of a failure: the most advanced reading explains best what went wrong. */
const enum Rank {
  Unknown = 0,
  OtherCode = 1,
  Structure = 2,
  Field = 3,
}

interface Failure {
  code: string;
  reason: string;
  rank: Rank;
  grammar?: AttestationGrammar;
  repairs: AttestationNote[];
  maskRaw?: boolean;
}

interface FieldValues {
  numeroAmc?: string;
  numeroAmcBrut?: string;
  typesConvention?: string[];
  csr?: string;
  numeroAdherent?: string;
  adressage?: string;
  adressageSesam?: AdressageSesam;
  debutValidite?: string;
  finValidite?: string;
}

type Attempt =
  { ok: true; values: FieldValues; text: string; grammar: AttestationGrammar; repairs: AttestationNote[] } | ({ ok: false } & Failure);

function note(code: keyof typeof REPAIRS, ...args: string[]): AttestationNote {
  const fn = REPAIRS[code] as (...a: string[]) => string;
  return { code, message: fn(...args) };
}

function fail(code: keyof typeof REFUSALS, rank: Rank, ...args: unknown[]): Failure {
  const fn = REFUSALS[code] as (...a: unknown[]) => string;
  return { code, reason: fn(...args), rank, repairs: [] };
}

// ---------------------------------------------------------------------------------------------
// Input screening

function isBinary(text: string): boolean {
  if (text.includes('\u0000')) return true;
  let bad = 0;
  let total = 0;
  for (const ch of text) {
    total++;
    const c = ch.codePointAt(0) ?? 0;
    const allowedControl = c === 0x09 || c === 0x0a || c === 0x0d || c === 0x04 || (c >= 0x1c && c <= 0x1f);
    if ((c < 0x20 && !allowedControl) || (c >= 0x7f && c < 0xa0) || c === 0xfffd || (c > 0xff && c !== 0x241d && c !== 0x2026)) bad++;
  }
  return bad >= 3 && bad / total > 0.15;
}

/** Steps that do not depend on the grammar: keyboard suffix/prefix, AIM symbology identifier. */
function baseCleanup(text: string): { text: string; repairs: AttestationNote[]; aim?: string } {
  const repairs: AttestationNote[] = [];
  let t = text.replace(/^\ufeff/, '');
  const trailing = /[\r\n\t ]*[\r\n\t][\r\n\t ]*$/.exec(t);
  const leading = /^[\r\n\t]+/.exec(t);
  if (trailing || leading) {
    t = t.slice(leading ? leading[0].length : 0, trailing ? trailing.index : t.length);
    repairs.push(note('SUFFIXE_CLAVIER'));
  }
  let aim: string | undefined;
  for (let pass = 0; pass < 2; pass++) {
    if (t.startsWith(GS) && t.length > 1 && !repairs.some((r) => r.code === 'FNC1_INITIAL')) {
      t = t.slice(1);
      repairs.push(note('FNC1_INITIAL'));
    }
    const m = aim === undefined ? /^\][A-Za-z][0-9A-Za-z]/.exec(t) : null;
    if (m) {
      aim = m[0];
      t = t.slice(3);
      repairs.push(note('PREFIXE_AIM', aim));
    }
  }
  return { text: t, repairs, aim };
}

// ---------------------------------------------------------------------------------------------
// Recognising other codes

const NIR_15 = /(?<![0-9])([1278][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{6})([0-9]{2})(?![0-9])/gi;

function containsNir(text: string): boolean {
  const compact = text.replace(/[ .-]/g, '');
  for (const m of compact.matchAll(NIR_15)) if (nirKeyMatches(m[1], m[2])) return true;
  return /^[1278][0-9]{4}(2A|2B)[0-9]{6}$/i.test(compact);
}

/** Mask a NIR read by mistake: keep its first character. */
function maskNir(text: string): string {
  return text.replace(/[0-9][0-9AB .-]{11,}[0-9]/gi, (s) => s[0] + s.slice(1).replace(/[0-9AB]/gi, '*'));
}

function gs1CheckOk(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length - 1; i++) {
    const d = Number(digits[digits.length - 2 - i]);
    sum += i % 2 === 0 ? d * 3 : d;
  }
  return (10 - (sum % 10)) % 10 === Number(digits[digits.length - 1]);
}

function classify(text: string, aim: string | undefined, grammars: readonly AttestationGrammar[]): Failure {
  const t = text.trim();
  // A NIR with a valid key anywhere, or a bare 13-digit NIR that is not a valid EAN-13.
  if (containsNir(t) || (/^[1278][0-9]{12}$/.test(t.replace(/ /g, '')) && !gs1CheckOk(t.replace(/ /g, ''))))
    return { ...fail('CARTE_VITALE', Rank.OtherCode), maskRaw: true };
  if (/^DC\d{2}[A-Z0-9]{4}/.test(t)) return fail('DEUX_D_DOC', Rank.OtherCode);
  if ((aim && /^\](d2|Q3|C1|e0)$/i.test(aim)) || /^(\(01\)|01)\d{14}/.test(t) || /^\(0[01]\)\d/.test(t))
    return fail('CODE_GS1', Rank.OtherCode);
  if (/^([a-z][a-z0-9+.-]*:\/\/|www\.)/i.test(t)) return fail('URL', Rank.OtherCode);
  if (/^\d{6,20}$/.test(t)) return fail('CODE_BARRES_PRODUIT', Rank.OtherCode, t.length);
  for (const g of grammars) {
    if (t.length >= 2 && g.prefix.startsWith(t)) return fail('SCAN_INCOMPLET', Rank.Structure, `seul le début « ${t} » a été lu`);
  }
  for (const g of grammars) {
    if (g.family && t.startsWith(g.family)) {
      const tag = /^[A-Za-z0-9]*/.exec(t)?.[0] ?? t;
      return fail('VERSION_NON_PRISE_EN_CHARGE', Rank.Structure, tag.slice(0, 12));
    }
  }
  const expected = [...new Set(grammars.map((g) => `« ${g.prefix} »`))].join(' ou ');
  return fail('PAS_UNE_ATTESTATION', Rank.Unknown, expected);
}

// ---------------------------------------------------------------------------------------------
// Fields

class FieldError extends Error {
  constructor(readonly failure: Failure) {
    super(failure.reason);
  }
}

function fieldFail(code: keyof typeof REFUSALS, ...args: unknown[]): never {
  throw new FieldError(fail(code, Rank.Field, ...args));
}

const MONTHS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function parseDate(value: string, f: GrammarField, g: AttestationGrammar, isLast: boolean): string {
  const fmt = compileDateFormat(g.dateFormat);
  const m = fmt.regex.exec(value);
  if (!m || !m.groups) {
    if (isLast && value.length < fmt.width && /^[0-9]*$/.test(value))
      throw new FieldError(fail('SCAN_INCOMPLET', Rank.Structure, `la ${f.label} est coupée`));
    if (value === '') fieldFail('DATE_INVALIDE', f.label, value, 'elle est absente');
    fieldFail('DATE_INVALIDE', f.label, value, `format attendu ${g.dateFormat} (${fmt.width} caractères)`);
  }
  let y = Number(m.groups.y);
  if (fmt.twoDigitYear) y += 2000;
  const mo = Number(m.groups.m);
  const d = Number(m.groups.d);
  const minY = g.minYear ?? 1900;
  const maxY = g.maxYear ?? 2199;
  if (mo < 1 || mo > 12) fieldFail('DATE_INVALIDE', f.label, value, `le mois ${m.groups.m} n’existe pas`);
  if (d < 1 || d > daysInMonth(y, mo))
    fieldFail('DATE_INVALIDE', f.label, value, `le ${d} ${MONTHS[mo - 1]} ${y} n’existe pas dans le calendrier`);
  if (y < minY || y > maxY) fieldFail('DATE_INVALIDE', f.label, value, `l’année ${y} n’est pas plausible (${minY} à ${maxY})`);
  return `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function lengthDetail(f: GrammarField, unit: string): string {
  const min = f.minLength ?? (f.required ? 1 : 0);
  const max = f.maxLength;
  if (max === undefined) return `${min} ${unit} au moins`;
  return min === max ? `exactement ${max} ${unit}` : `de ${Math.max(min, 1)} à ${max} ${unit}`;
}

function parseField(raw: string, f: GrammarField, g: AttestationGrammar, isLast: boolean, out: FieldValues): void {
  // Padding of fixed-width fields.
  let value = raw;
  if (f.width !== undefined && f.type !== 'digits' && f.type !== 'date') {
    const pad = f.pad ?? ' ';
    while (value.endsWith(pad)) value = value.slice(0, -1);
    while (value.startsWith(' ')) value = value.slice(1);
  }
  switch (f.type) {
    case 'digits': {
      const v = value.trim();
      const code = f.key === 'numeroAmc' ? 'NUMERO_AMC_INVALIDE' : 'CHAMP_INVALIDE';
      const err = (detail: string): never =>
        code === 'NUMERO_AMC_INVALIDE' ? fieldFail(code, v, detail) : fieldFail('CHAMP_INVALIDE', f.label, detail);
      if (v === '') {
        if (f.required) err('il est absent');
        return;
      }
      if (!/^[0-9]+$/.test(v)) err(`il ne doit contenir que des chiffres (${lengthDetail(f, 'chiffres')})`);
      if (v.length < (f.minLength ?? 1) || (f.maxLength !== undefined && v.length > f.maxLength))
        err(`il doit comporter ${lengthDetail(f, 'chiffres')}`);
      if (f.key === 'numeroAmc' && /^0+$/.test(v)) err('il ne peut pas être nul');
      const normalised = f.normaliseTo ? v.padStart(f.normaliseTo, '0') : v;
      if (f.key === 'numeroAmc') {
        out.numeroAmc = normalised;
        out.numeroAmcBrut = v;
      } else (out as Record<string, unknown>)[f.key] = normalised;
      return;
    }
    case 'codes': {
      const seps = f.codeSeparators ?? '';
      let v = '';
      for (const ch of value.trim()) if (!seps.includes(ch)) v += ch;
      const list = g.codeLists[f.codeList ?? ''] ?? [];
      const isConv = f.key === 'typesConvention';
      if (v === '') {
        if (f.required && isConv) fieldFail('CONVENTION_ABSENTE');
        if (f.required) fieldFail('CHAMP_INVALIDE', f.label, 'il est absent');
        (out as Record<string, unknown>)[f.key] = [];
        return;
      }
      const len = f.codeLength ?? 2;
      const codes: string[] = [];
      for (let i = 0; i < v.length; i += len) codes.push(v.slice(i, i + len));
      for (const c of codes) {
        if (c.length !== len || !list.includes(c)) {
          const shown = c.length !== len ? v : c;
          if (isConv) fieldFail('CONVENTION_INCONNUE', shown, list);
          fieldFail('CHAMP_INVALIDE', f.label, `code ${quote(shown)} inconnu (codes acceptés : ${list.join(', ')})`);
        }
      }
      if (f.maxCount !== undefined && codes.length > f.maxCount)
        fieldFail('CHAMP_INVALIDE', f.label, `${codes.length} codes lus, ${f.maxCount} au plus`);
      if (f.minCount !== undefined && codes.length < f.minCount)
        fieldFail('CHAMP_INVALIDE', f.label, `${codes.length} code(s) lu(s), ${f.minCount} au moins`);
      (out as Record<string, unknown>)[f.key] = codes;
      return;
    }
    case 'text': {
      const v = value.trim();
      const err = (detail: string): never =>
        f.key === 'csr'
          ? fieldFail('CSR_INVALIDE', v, detail)
          : f.key === 'numeroAdherent'
            ? fieldFail('NUMERO_ADHERENT_INVALIDE', detail)
            : fieldFail('CHAMP_INVALIDE', f.label, detail);
      if (v === '') {
        if (f.required) err('il est absent');
        (out as Record<string, unknown>)[f.key] = '';
        return;
      }
      if ((f.minLength !== undefined && v.length < f.minLength) || (f.maxLength !== undefined && v.length > f.maxLength))
        err(`il doit comporter ${lengthDetail(f, 'caractères')}, ${v.length} lus`);
      if (f.pattern && !new RegExp(f.pattern).test(v)) err(`caractères autorisés : ${f.patternLabel ?? f.pattern}`);
      (out as Record<string, unknown>)[f.key] = v;
      return;
    }
    case 'adressage': {
      const v = value.trim();
      const spec = g.adressage;
      if (v === '' || !spec) {
        if (f.required) fieldFail('ADRESSAGE_INVALIDE', v, 'absent', spec?.example ?? '');
        return;
      }
      if (f.maxLength !== undefined && v.length > f.maxLength)
        fieldFail('ADRESSAGE_INVALIDE', v, `${v.length} caractères, ${f.maxLength} au plus`, spec.example);
      const parts = v.split(spec.separator);
      if (parts.length !== spec.parts.length)
        fieldFail('ADRESSAGE_INVALIDE', v, `${parts.length} partie(s) au lieu de ${spec.parts.length}`, spec.example);
      const obj: Record<string, string> = {};
      spec.parts.forEach((p, i) => {
        if (!new RegExp(p.pattern).test(parts[i]))
          fieldFail('ADRESSAGE_INVALIDE', v, `${p.label} ${quote(parts[i])} incorrect`, spec.example);
        obj[p.key] = parts[i];
      });
      out.adressage = v;
      out.adressageSesam = obj as unknown as AdressageSesam;
      return;
    }
    case 'date': {
      (out as Record<string, unknown>)[f.key] = parseDate(value, f, g, isLast);
      return;
    }
  }
}

function parseFields(parts: string[], g: AttestationGrammar): FieldValues {
  const out: FieldValues = {};
  g.fields.forEach((f, i) => parseField(parts[i], f, g, i === g.fields.length - 1, out));
  if (out.debutValidite && out.finValidite && out.debutValidite > out.finValidite)
    fieldFail('PERIODE_INVERSEE', out.debutValidite, out.finValidite);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Structure

function sliceByWidths(body: string, g: AttestationGrammar): string[] | Failure {
  const fixedTotal = g.fields.reduce((n, f) => n + (f.width ?? 0), 0);
  const lastFixed = g.fields[g.fields.length - 1].width !== undefined;
  if (body.length < fixedTotal) return fail('SCAN_INCOMPLET', Rank.Structure, `${body.length} caractères lus sur ${fixedTotal} attendus`);
  if (lastFixed && body.length > fixedTotal) {
    if (body.slice(fixedTotal).trim() !== '') return fail('LONGUEUR_INATTENDUE', Rank.Structure, body.length, fixedTotal);
  }
  const parts: string[] = [];
  let pos = 0;
  for (const f of g.fields) {
    const w = f.width ?? body.length - pos;
    parts.push(body.slice(pos, pos + w));
    pos += w;
  }
  return parts;
}

function parseWithGrammar(input: string, g: AttestationGrammar): Attempt {
  const repairs: AttestationNote[] = [];
  let body = input.slice(g.prefix.length);
  const n = g.fields.length;
  const done = (p: string[]): Attempt => {
    try {
      return { ok: true, values: parseFields(p, g), text: g.prefix + body, grammar: g, repairs };
    } catch (e) {
      if (e instanceof FieldError) return { ok: false, ...e.failure, grammar: g, repairs };
      throw e;
    }
  };
  if (g.layout === 'fixed') {
    const sliced = sliceByWidths(body, g);
    if (!Array.isArray(sliced)) return { ok: false, ...sliced, grammar: g, repairs };
    return done(sliced);
  }
  const sep = g.separator as string;
  // GS sent as text.
  const tokens = body.match(GS_TOKENS);
  if (tokens) {
    body = body.replace(GS_TOKENS, sep);
    repairs.push(note('SEPARATEUR_TEXTE', tokens[0]));
  }
  if (body === '')
    return { ok: false, ...fail('SCAN_INCOMPLET', Rank.Structure, `seul l’en-tête « ${g.prefix} » a été lu`), grammar: g, repairs };
  if (body[0] !== sep && !body.includes(sep) && SEPARATOR_ALTERNATIVES.includes(body[0])) {
    const alt = body[0];
    body = body.split(alt).join(sep);
    repairs.push(note('SEPARATEUR_CONTROLE', alt === '\u00e8' ? 'è (FNC1)' : alt));
  }
  if (!body.includes(sep)) {
    if (!canRecoverWithoutSeparators(g)) return { ok: false, ...fail('SEPARATEURS_ABSENTS', Rank.Structure), grammar: g, repairs };
    const sliced = sliceByWidths(body, g);
    if (!Array.isArray(sliced)) return { ok: false, ...sliced, grammar: g, repairs };
    repairs.push(note('SEPARATEURS_ABSENTS_RECONSTITUES'));
    body = sep + sliced.join(sep);
    return done(sliced);
  }
  if (body[0] !== sep) {
    const tag = g.prefix + (/^[A-Za-z0-9]*/.exec(body)?.[0] ?? '');
    return { ok: false, ...fail('VERSION_NON_PRISE_EN_CHARGE', Rank.Structure, tag.slice(0, 12)), grammar: g, repairs };
  }
  const parts = body.slice(1).split(sep);
  while (parts.length > n && parts[parts.length - 1] === '') parts.pop();
  if (parts.length > n) return { ok: false, ...fail('CHAMPS_EN_TROP', Rank.Structure, parts.length, n), grammar: g, repairs };
  if (parts.length < n) {
    // Ends with the two validity dates: the scan is complete but a field (or a GS) is missing.
    const [f1, f2] = g.fields.slice(-2);
    const isDate = (v: string, f: GrammarField) => {
      try {
        parseDate(v, f, g, false);
        return true;
      } catch {
        return false;
      }
    };
    if (
      parts.length >= 2 &&
      f1?.type === 'date' &&
      f2?.type === 'date' &&
      isDate(parts[parts.length - 2], f1) &&
      isDate(parts[parts.length - 1], f2)
    )
      return { ok: false, ...fail('CHAMPS_MANQUANTS', Rank.Structure, parts.length, n), grammar: g, repairs };
    return { ok: false, ...fail('SCAN_INCOMPLET', Rank.Structure, `${parts.length} champ(s) lu(s) sur ${n}`), grammar: g, repairs };
  }
  return done(parts);
}

// ---------------------------------------------------------------------------------------------
// Candidates (keyboard mix-ups)

interface Candidate {
  text: string;
  repairs: AttestationNote[];
}

function candidates(raw: string): Candidate[] {
  const list: Candidate[] = [
    { text: raw, repairs: [] },
    { text: swapCase(raw), repairs: [note('VERROUILLAGE_MAJUSCULES')] },
    { text: undoMixup(raw, 'qwertyOnAzerty'), repairs: [note('AZERTY_DIGITS')] },
    { text: undoMixup(swapCase(raw), 'qwertyOnAzerty'), repairs: [note('AZERTY_DIGITS'), note('VERROUILLAGE_MAJUSCULES')] },
    { text: undoMixup(raw, 'azertyOnQwerty'), repairs: [note('QWERTY_DIGITS')] },
    { text: undoMixup(swapCase(raw), 'azertyOnQwerty'), repairs: [note('QWERTY_DIGITS'), note('VERROUILLAGE_MAJUSCULES')] },
  ];
  const seen = new Set<string>();
  return list.filter((c) => (seen.has(c.text) ? false : (seen.add(c.text), true)));
}

function attempt(c: Candidate, grammars: readonly AttestationGrammar[]): Attempt {
  const base = baseCleanup(c.text);
  let best: Failure | undefined;
  for (const g of grammars) {
    if (!base.text.startsWith(g.prefix)) continue;
    const a = parseWithGrammar(base.text, g);
    if (a.ok) return { ...a, repairs: [...c.repairs, ...base.repairs, ...a.repairs] };
    if (!best || a.rank > best.rank) best = a;
  }
  const failure = best ?? classify(base.text, base.aim, grammars);
  return { ok: false, ...failure, repairs: [...c.repairs, ...base.repairs, ...failure.repairs] };
}

// ---------------------------------------------------------------------------------------------

function refuse(raw: string, f: Failure): ParseFailure {
  const out: ParseFailure = { ok: false, reason: f.reason, code: f.code, raw: f.maskRaw ? maskNir(raw) : raw };
  if (f.repairs.length) out.repairs = f.repairs;
  if (f.grammar) out.grammar = { id: f.grammar.id, version: f.grammar.version };
  return out;
}

function checkPeriod(a: AttestationLue, admissionDate: string | undefined): void {
  if (admissionDate === undefined || admissionDate === '') return;
  const m = typeof admissionDate === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(admissionDate) : null;
  const real = m && Number(m[2]) >= 1 && Number(m[2]) <= 12 && Number(m[3]) >= 1 && Number(m[3]) <= daysInMonth(Number(m[1]), Number(m[2]));
  if (!real) {
    a.warnings.push({ code: 'DATE_ADMISSION_IGNOREE', message: WARNINGS.DATE_ADMISSION_IGNOREE(String(admissionDate)) });
    return;
  }
  if (admissionDate < a.debutValidite)
    a.warnings.push({
      code: 'ATTESTATION_PAS_ENCORE_VALIDE',
      message: WARNINGS.ATTESTATION_PAS_ENCORE_VALIDE(a.debutValidite, admissionDate),
    });
  else if (admissionDate > a.finValidite)
    a.warnings.push({ code: 'ATTESTATION_EXPIREE', message: WARNINGS.ATTESTATION_EXPIREE(a.finValidite, admissionDate) });
}

/**
 * Read the text of an attestation DataMatrix. Never throws on bad input: a refusal carries a
 * French sentence for the clerk (`reason`), a stable `code` and the `raw` text.
 */
export function parseAttestation(text: string, opts: ParseOptions = {}): ParseResult {
  if (typeof text !== 'string') {
    return {
      ok: false,
      code: 'ENTREE_INVALIDE',
      reason: REFUSALS.ENTREE_INVALIDE(),
      raw: text === undefined || text === null ? '' : String(text).slice(0, 200),
    };
  }
  const raw = text;
  const grammars = opts.grammars && opts.grammars.length ? opts.grammars : DEFAULT_GRAMMARS;
  if (raw.length > MAX_TEXT_LENGTH) return refuse(raw, fail('TEXTE_TROP_LONG', Rank.Unknown, raw.length, MAX_TEXT_LENGTH));
  if ([...raw].every((ch) => ch <= ' ' || ch === '\ufeff' || ch === '\u00a0')) return refuse(raw, fail('SCAN_VIDE', Rank.Unknown));
  if (isBinary(raw)) return refuse(raw, fail('ILLISIBLE', Rank.Unknown));

  let best: Failure | undefined;
  let bestIsMixup = false;
  for (const c of candidates(raw)) {
    const a = attempt(c, grammars);
    if (a.ok) {
      const v = a.values;
      const attestation: AttestationLue = {
        numeroAmc: v.numeroAmc as string,
        numeroAmcBrut: v.numeroAmcBrut as string,
        typesConvention: v.typesConvention ?? [],
        csr: v.csr ?? '',
        numeroAdherent: v.numeroAdherent ?? '',
        debutValidite: v.debutValidite as string,
        finValidite: v.finValidite as string,
        ...(v.adressage ? { adressage: v.adressage, adressageSesam: v.adressageSesam } : {}),
        raw,
        text: a.text,
        grammar: { id: a.grammar.id, version: a.grammar.version },
        warnings: [],
        repairs: a.repairs,
      };
      checkPeriod(attestation, opts.admissionDate);
      return { ok: true, attestation };
    }
    if (!best || a.rank > best.rank) {
      best = a;
      bestIsMixup = c.repairs.length > 0;
    }
  }
  const f = best as Failure;
  if (bestIsMixup && f.rank >= Rank.Structure) {
    // The text only made sense once a keyboard mix-up was undone: say so, then the problem.
    const kb = f.repairs
      .filter((r) => r.code === 'AZERTY_DIGITS' || r.code === 'QWERTY_DIGITS' || r.code === 'VERROUILLAGE_MAJUSCULES')
      .map((r) => r.message)
      .join(' ');
    f.reason = `${f.reason} Remarque : ${kb}`;
  }
  return refuse(raw, f);
}
