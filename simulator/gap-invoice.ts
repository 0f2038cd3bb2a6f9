/**
 * The GAP's invoices for the simulated day: DFT^P03 per /docs/dft-profile.md (ZFA header with the
 * totals, one FT1 + ZFT per line). Amounts are computed in integer cents so every figure adds up
 * exactly: quantity × unit price = amount, AMO = base × rate / 100 (rounded to the cent),
 * AMO + AMC + patient = total. The AMC pays what the AMO does not, except the part of a private
 * room above the contract's ceiling for the `chambre-plafond` beneficiary (the patient pays it).
 *
 * Tariffs and shares are DATA (INVOICE_TARIFFS); FT1/ZFT field numbers come from the profile
 * (lib/dossier/invoice.ts FT1_FIELDS). All amounts are fictitious but in the range of a French
 * public hospital (GHS forfait, forfait journalier 20 €, chambre particulière).
 */
import { escapeValue } from '../lib/hl7/er7';
import { FT1_FIELDS } from '../lib/dossier/invoice';

/** Tariffs and draws of the simulated billing office (euros in cents). */
export const INVOICE_TARIFFS = {
  /** Length of an inpatient stay in days (the day compresses stays: the invoice bills the drawn length). */
  stayDays: { min: 1, max: 10 },
  /** GHS forfait (1 × a price drawn in this range). */
  ghs: { code: 'GHS', label: 'Forfait GHS', min: 2000_00, max: 6000_00 },
  /** Share of GHS lines covered at 100 % by the AMO (ALD, acte ≥ 120 €…); else 80 %. */
  ghsFullRateShare: 0.3,
  /** Forfait journalier: per day, never paid by the AMO. */
  fj: { code: 'FJ', label: 'Forfait journalier', unit: 20_00 },
  /** Chambre particulière: per night (days - 1), a price drawn in this range (whole euros), AMO 0. */
  cp: { code: 'CP', label: 'Chambre particulière', min: 60_00, max: 90_00 },
  /** Ceiling per night of the `chambre-plafond` beneficiary's contract: above it the patient pays. */
  cpCeiling: { scenario: 'chambre-plafond', perNight: 60_00 },
  /**
   * External consultations (PV1-2 = O), with the prestation codes of the SEL profile's code list
   * (lib/sel/profile.ts `codeLists.prestation`: ACE = consultation ou acte externe): a code outside
   * it would be refused by the bridge before any call (BR-INVALID).
   */
  consultations: [
    { code: 'ACE', label: 'Consultation externe', unit: 30_00, rate: 70 },
    { code: 'ACE', label: 'Avis ponctuel de consultant', unit: 55_00, rate: 70 },
  ],
  /** Emergencies (PV1-2 = E): the act, covered at 100 % by the AMO, and the participation forfaitaire (AMO 0). */
  emergency: [
    { code: 'ACE', label: 'Acte aux urgences', unit: 30_00, rate: 100 },
    { code: 'PFB', label: 'Participation forfaitaire', unit: 24_00, rate: 0 },
  ],
} as const;

export interface GapInvoiceLine {
  code: string;
  label: string;
  /** YYYYMMDD. */
  start: string;
  end: string;
  quantity: number;
  /** Cents. */
  unit: number;
  amount: number;
  amoBase: number;
  /** Percent, 0..100. */
  amoRate: number;
  amoAmount: number;
  /** The part the patient pays on this line (cents; 0 but for a room above the ceiling). */
  patient: number;
}

export interface GapInvoice {
  /** ZFA-1: the same for an amended invoice. */
  number: string;
  /** ZFA-2, YYYYMMDD. */
  date: string;
  /** 1 for the first invoice, 2 for the amended one. */
  version: number;
  lines: GapInvoiceLine[];
  /** Cents. */
  totals: { total: number; amo: number; amc: number; patient: number };
}

export interface InvoiceDraft {
  number: string;
  /** PV1-2: I inpatient, O outpatient, E emergency. */
  klass: string;
  /** Discharge day, YYYY-MM-DD. */
  discharge: string;
  /** IN2-28 asked for a private room (PRI). */
  privateRoom: boolean;
  /** Seed scenario of the beneficiary (the room ceiling). */
  scenario: string;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** Cents → HL7 NM with a `.` decimal separator, two decimals. */
export const nm = (cents: number): string => `${cents < 0 ? '-' : ''}${Math.floor(Math.abs(cents) / 100)}.${pad(Math.abs(cents) % 100, 2)}`;

function ymdMinusDays(iso: string, days: number): string {
  const d = new Date(Date.parse(`${iso}T12:00:00Z`) - days * 86_400_000);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}`;
}

const between = (r: () => number, min: number, max: number): number => min + Math.floor(r() * (max - min + 1));

function line(
  code: string,
  label: string,
  start: string,
  end: string,
  quantity: number,
  unit: number,
  amoRate: number,
  patient = 0,
): GapInvoiceLine {
  const amount = quantity * unit;
  return {
    code,
    label,
    start,
    end,
    quantity,
    unit,
    amount,
    amoBase: amount,
    amoRate,
    amoAmount: Math.round((amount * amoRate) / 100),
    patient,
  };
}

function withTotals(inv: Omit<GapInvoice, 'totals'>): GapInvoice {
  let total = 0;
  let amo = 0;
  let patient = 0;
  for (const l of inv.lines) {
    total += l.amount;
    amo += l.amoAmount;
    patient += l.patient;
  }
  return { ...inv, totals: { total, amo, amc: total - amo - patient, patient } };
}

/** The first invoice of a venue. */
export function draftInvoice(r: () => number, d: InvoiceDraft): GapInvoice {
  const T = INVOICE_TARIFFS;
  const end = d.discharge.replace(/-/g, '');
  const lines: GapInvoiceLine[] = [];
  if (d.klass === 'I') {
    const days = between(r, T.stayDays.min, T.stayDays.max);
    const start = ymdMinusDays(d.discharge, days - 1);
    const ghs = between(r, T.ghs.min, T.ghs.max);
    lines.push(line(T.ghs.code, T.ghs.label, start, end, 1, ghs, r() < T.ghsFullRateShare ? 100 : 80));
    lines.push(line(T.fj.code, T.fj.label, start, end, days, T.fj.unit, 0));
    const nights = days - 1;
    if (d.privateRoom && nights > 0) {
      const unit = between(r, T.cp.min / 100, T.cp.max / 100) * 100;
      const over = d.scenario === T.cpCeiling.scenario ? Math.max(0, unit - T.cpCeiling.perNight) * nights : 0;
      lines.push(line(T.cp.code, T.cp.label, start, end, nights, unit, 0, over));
    }
  } else {
    const list = d.klass === 'E' ? T.emergency : [T.consultations[Math.floor(r() * T.consultations.length)]];
    for (const c of list) lines.push(line(c.code, c.label, end, end, 1, c.unit, c.rate));
  }
  return withTotals({ number: d.number, date: end, version: 1, lines });
}

/**
 * The amended invoice: same number, one line changed (the GHS re-grouped, a day more or less of
 * forfait journalier, or the act re-priced), totals recomputed.
 */
export function amendInvoice(r: () => number, inv: GapInvoice): GapInvoice {
  const T = INVOICE_TARIFFS;
  const lines = inv.lines.map((l) => ({ ...l }));
  const i = Math.floor(r() * lines.length);
  const l = lines[i];
  let unit = l.unit;
  let quantity = l.quantity;
  if (l.code === T.fj.code || l.code === T.cp.code) quantity = quantity > 1 && r() < 0.5 ? quantity - 1 : quantity + 1;
  else if (l.code === T.ghs.code) {
    do unit = between(r, T.ghs.min, T.ghs.max);
    while (unit === l.unit);
  } else unit = l.unit + 100 * between(r, 1, 10);
  const perUnitPatient = l.quantity ? l.patient / l.quantity : 0;
  lines[i] = line(l.code, l.label, l.start, l.end, quantity, unit, l.amoRate, Math.round(perUnitPatient * quantity));
  return withTotals({ number: inv.number, date: inv.date, version: inv.version + 1, lines });
}

/** Build a segment from a sparse field list (index = field number). */
function seg(name: string, fields: Record<number, string>): string {
  const max = Math.max(0, ...Object.keys(fields).map(Number));
  const out: string[] = [name];
  for (let i = 1; i <= max; i++) out.push(fields[i] ?? '');
  return out.join('|');
}

/** Field number of a line item in the profile (FT1_FIELDS is the source of truth). */
function at(key: keyof typeof FT1_FIELDS, segment: 'FT1' | 'ZFT'): number {
  const w = FT1_FIELDS[key];
  if (!w || w.segment !== segment) throw new Error(`invoice profile: ${key} is not in ${segment}`);
  return w.field;
}

/** ZFA, then FT1 + ZFT for each line (per the profile). */
export function invoiceSegments(inv: GapInvoice): string[] {
  const t = inv.totals;
  const out = [seg('ZFA', { 1: inv.number, 2: inv.date, 3: nm(t.total), 4: nm(t.amo), 5: nm(t.amc), 6: nm(t.patient) })];
  inv.lines.forEach((l, k) => {
    const n = String(k + 1);
    out.push(
      seg('FT1', {
        1: n,
        2: `${inv.number}-${n}`,
        [at('dateDebut', 'FT1')]: l.start,
        [at('dateFin', 'FT1')]: l.end,
        6: 'CG',
        [at('code', 'FT1')]: `${l.code}^${escapeValue(l.label)}`,
        [at('quantite', 'FT1')]: String(l.quantity),
        [at('montant', 'FT1')]: nm(l.amount),
        [at('prixUnitaire', 'FT1')]: nm(l.unit),
      }),
    );
    out.push(
      seg('ZFT', {
        1: n,
        [at('baseAmo', 'ZFT')]: nm(l.amoBase),
        [at('tauxAmo', 'ZFT')]: String(l.amoRate),
        [at('montantAmo', 'ZFT')]: nm(l.amoAmount),
      }),
    );
  });
  return out;
}
