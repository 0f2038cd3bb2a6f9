/**
 * DFT^P03 from the GAP: the invoice part (ZFA header, FT1 + ZFT per line) → `Admission.facture`
 * (docs/dft-intake.md, profile in ./profile.ts DFT_PROFILE and lib/dossier/invoice.ts FT1_FIELDS).
 *
 * `parseAdmission` (./pamfr.ts) dispatches on MSH-9.1: for a DFT it reads MSH, EVN, PID, PV1, IN1
 * exactly as for an ADT (same code, same venue key, same ordering key), then calls `readInvoice`
 * here for the invoice segments. Every problem is a table-0357 issue whose location names the
 * segment occurrence and the field, so the AE's ERR-2 points at the line:
 * - 100: no ZFA, no FT1, an FT1 without its ZFT right after it, a ZFT without an FT1 before it;
 * - 101: a required field empty (ZFA-1, FT1-4, -6, -7, -10, -11, -12, ZFT-2…4, one of ZFA-3…6
 *   when another is sent);
 * - 102: a number that is not HL7 NM (euros with a `.`), a date that is not YYYYMMDD, an FT1-1 that
 *   is not the line's rank, a ZFT-1 that is not its FT1's set id, and every `checkInvoice` issue
 *   (amounts that do not add up, rates outside 0…100, end before start…);
 * - 103: FT1-6 other than CG.
 * Messages are French, name the field and carry amounts only (never patient data).
 */
import { compactDateToIso } from '../model/dates';
import { FT1_FIELDS, checkInvoice, type InvoiceField, type InvoiceIssue } from '../dossier/invoice';
import { formatLocation, type Er7Message, type Segment } from './er7';
import { errorIssue, fieldLabel } from './issue';
import { DFT_PROFILE, type Hl7ErrorCode } from './profile';
import type { AdmissionInvoice, Hl7Issue, Hl7Location, InvoiceLine, InvoiceTotals } from './types';

/** What `readInvoice` found: the invoice when it is valid, the errors (severity E) otherwise. */
export interface InvoiceReading {
  /** Set only when `errors` is empty. */
  facture?: AdmissionInvoice;
  errors: Hl7Issue[];
}

/** HL7 NM: optional sign, digits, optional `.` decimals (no `,`, no exponent, no blanks). */
const NM = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

const TOTAL_FIELDS = ['total', 'amo', 'amc', 'patient'] as const;

function clean(v: string): string {
  return v === '""' ? '' : v.trim();
}

/** Where a line field sits, from FT1_FIELDS (the profile). */
function fieldOf(f: InvoiceField): { segment: string; field: number } {
  const w = FT1_FIELDS[f];
  if (!w) throw new Error(`FT1_FIELDS has no ${f}`);
  return w;
}

class InvoiceReader {
  readonly errors: Hl7Issue[] = [];
  private readonly reported = new Set<string>();

  error(code: Hl7ErrorCode, location: Hl7Location, detail: string): void {
    const key = formatLocation(location);
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.errors.push(errorIssue(code, location, detail));
  }

  /** A required NM field: undefined when absent (101) or invalid (102). */
  number(seg: Segment, field: number): number | undefined {
    const raw = clean(seg.get(field));
    if (raw === '') {
      this.error('101', seg.location(field), `${fieldLabel(seg.name, field)} absent`);
      return undefined;
    }
    if (!NM.test(raw)) {
      this.error('102', seg.location(field), `${fieldLabel(seg.name, field)} : nombre attendu (euros, point décimal)`);
      return undefined;
    }
    return Number(raw);
  }

  /** A DT (YYYYMMDD, a longer TS is cut to its date): '' absent, undefined invalid (102). */
  date(seg: Segment, field: number, component = 1): string | '' | undefined {
    const raw = clean(seg.get(field, 1, component));
    if (raw === '') return '';
    const iso = raw.length >= 8 ? compactDateToIso(raw) : undefined;
    if (iso === undefined) {
      this.error('102', seg.location(field), `${fieldLabel(seg.name, field)} : date invalide, format attendu AAAAMMJJ`);
      return undefined;
    }
    return iso.slice(0, 10);
  }
}

/** One FT1 and the ZFT that follows it. */
interface LineSegments {
  ft1: Segment;
  zft?: Segment;
}

/**
 * Reads and checks the invoice segments of a DFT^P03. Never throws on message content; the profile
 * (segment names, ZFA fields) is DFT_PROFILE, the line fields FT1_FIELDS.
 */
export function readInvoice(msg: Er7Message): InvoiceReading {
  const P = DFT_PROFILE;
  const r = new InvoiceReader();

  // ---- ZFA header
  const zfa = msg.segment(P.header);
  let numero = '';
  let dateFacture: string | undefined;
  let totaux: InvoiceTotals | undefined;
  if (!zfa) {
    r.error('100', { segment: P.header, sequence: 1 }, `segment ${P.header} (en-tête de facture) absent`);
  } else {
    numero = clean(zfa.get(P.zfa.numero));
    if (!numero) r.error('101', zfa.location(P.zfa.numero), `${fieldLabel(P.header, P.zfa.numero)} absent`);
    const d = r.date(zfa, P.zfa.dateFacture);
    if (d) dateFacture = d;
    const sent = TOTAL_FIELDS.filter((f) => clean(zfa.get(P.zfa[f])) !== '');
    if (sent.length > 0) {
      const values = TOTAL_FIELDS.map((f) => r.number(zfa, P.zfa[f]));
      if (values.every((v): v is number => v !== undefined)) {
        totaux = { total: values[0], amo: values[1], amc: values[2], patient: values[3] };
      }
    }
  }

  // ---- FT1 lines, each followed by its ZFT
  const groups: LineSegments[] = [];
  for (const s of msg.segments) {
    if (s.name === P.line) groups.push({ ft1: s });
    else if (s.name === P.lineAmo) {
      // Its FT1 is the last one read, and only when that FT1 is the segment right before it.
      const last = groups[groups.length - 1];
      if (last && last.ft1 === msg.segments[s.position - 2]) last.zft = s;
      else r.error('100', s.location(), `segment ${P.lineAmo} sans ${P.line} juste avant`);
    }
  }
  if (groups.length === 0) {
    r.error('100', { segment: P.line, sequence: 1 }, `facture sans ligne : aucun segment ${P.line}`);
  }

  const lines: InvoiceLine[] = [];
  groups.forEach((g, i) => {
    const n = i + 1;
    const { ft1, zft } = g;
    const setId = clean(ft1.get(P.ft1SetId));
    if (setId !== '' && setId !== String(n)) {
      r.error(
        '102',
        ft1.location(P.ft1SetId),
        `${fieldLabel(P.line, P.ft1SetId)} : ${n} attendu (lignes numérotées 1, 2, 3… dans l’ordre)`,
      );
    }
    const type = clean(ft1.get(P.ft1Type)).toUpperCase();
    if (!type) r.error('101', ft1.location(P.ft1Type), `${fieldLabel(P.line, P.ft1Type)} absent`);
    else if (type !== P.ft1TypeCharge)
      r.error('103', ft1.location(P.ft1Type), `${fieldLabel(P.line, P.ft1Type)} : seul ${P.ft1TypeCharge} (débit) est traité`);

    const at = (f: InvoiceField): Segment | undefined => (fieldOf(f).segment === P.line ? ft1 : zft);
    const num = (f: InvoiceField): number => {
      const seg = at(f);
      if (!seg) return NaN;
      return r.number(seg, fieldOf(f).field) ?? NaN;
    };
    const dateOf = (f: InvoiceField, required: boolean): string | undefined => {
      const seg = at(f);
      if (!seg) return undefined;
      const w = fieldOf(f);
      const d = r.date(seg, w.field);
      if (d === '' && required) r.error('101', seg.location(w.field), `${fieldLabel(seg.name, w.field)} absent`);
      return d === '' ? undefined : d;
    };
    const codeField = fieldOf('code');
    const code = clean(ft1.get(codeField.field));
    if (!code) r.error('101', ft1.location(codeField.field), `${fieldLabel(P.line, codeField.field)} absent`);
    if (!zft) r.error('100', { segment: P.lineAmo, sequence: n }, `segment ${P.lineAmo} absent juste après la ligne ${P.line} n° ${n}`);
    else {
      const ref = clean(zft.get(P.zftSetId));
      if (ref !== '' && ref !== (setId || String(n)))
        r.error(
          '102',
          zft.location(P.zftSetId),
          `${fieldLabel(P.lineAmo, P.zftSetId)} : ${setId || n} attendu (le numéro de sa ligne ${P.line})`,
        );
    }
    const line: InvoiceLine = {
      numero: n,
      code,
      dateDebut: dateOf('dateDebut', true) ?? '',
      quantite: num('quantite'),
      prixUnitaire: num('prixUnitaire'),
      montant: num('montant'),
      baseAmo: num('baseAmo'),
      tauxAmo: num('tauxAmo'),
      montantAmo: num('montantAmo'),
    };
    const fin = dateOf('dateFin', false);
    if (fin) line.dateFin = fin;
    lines.push(line);
  });

  // ---- Consistency: checkInvoice, each issue placed on its FT1/ZFT occurrence and field.
  if (lines.length > 0 && zfa) {
    // Totals are compared once every line reads well (a missing amount would make them look wrong).
    for (const x of checkInvoice({ numero, lignes: lines }, r.errors.length ? undefined : totaux)) {
      // r.error keeps the first error of a place: one already reported as absent or unreadable stays.
      const loc = locate(x, groups, zfa);
      if (loc) r.error('102', loc, x.message);
    }
  }

  if (r.errors.length) return { errors: r.errors };
  const facture: AdmissionInvoice = { numero, lignes: lines };
  if (dateFacture) facture.dateFacture = dateFacture;
  if (totaux) facture.totaux = totaux;
  return { facture, errors: [] };
}

/** The message location of a checkInvoice issue: the line's FT1 or ZFT segment, or a ZFA field. */
function locate(x: InvoiceIssue, groups: LineSegments[], zfa: Segment): Hl7Location | undefined {
  if (x.ligne !== undefined) {
    const g = groups[x.ligne - 1];
    if (!g) return undefined;
    if (x.field === 'numero') return g.ft1.location(DFT_PROFILE.ft1SetId);
    const w = FT1_FIELDS[x.field];
    if (!w) return g.ft1.location();
    const seg = w.segment === DFT_PROFILE.line ? g.ft1 : g.zft;
    return seg?.location(w.field); // no ZFT: already reported (100)
  }
  // ('lignes', an invoice without lines, never comes here: readInvoice checks only when there are lines.)
  if (x.field === 'numero') return zfa.location(DFT_PROFILE.zfa.numero);
  if (x.field === 'total' || x.field === 'amo' || x.field === 'amc' || x.field === 'patient') return zfa.location(DFT_PROFILE.zfa[x.field]);
  return zfa.location();
}
