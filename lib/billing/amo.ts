/**
 * AMO payment notices: the fact that the AMO (assurance maladie obligatoire) paid its share of an
 * invoice, as the GAP or the billing system tells it. Pure: it reads the notice and answers the
 * payment or the reasons it is refused (French, never patient data); the roc-dre-es node records it
 * in the journal (`recordAmoPayment`) and re-examines the invoice.
 *
 * Two shapes:
 * - JSON (`POST /roc/amo-payment`): `{ cle | finessGeographique + numeroVenue, factureNumero,
 *   montantAmo (euros, a number with at most 2 decimals), datePaiement (YYYY-MM-DD) }`;
 * - HL7 v2.5 [profile], kept as data in AMO_PAYMENT_HL7: a `BAR^P05` (update account) whose PV1-19
 *   names the venue and whose `ZFA` segment (our invoice header Z-segment, the same as in the
 *   DFT^P03 invoice) carries ZFA-1 the invoice number, ZFA-4 the AMO amount and ZFA-7 "AMO payé
 *   le" (YYYYMMDD). A DFT^P03 carrying ZFA-7 is accepted too (a GAP that re-sends the invoice with
 *   the payment date). The FINESS géographique is the first one found in the identifiers' assigning
 * authorities (PID-3, PID-18, PV1-19, PV1-3), in the ADT reader’s order: the dossier key of the admission.
 */
import { parseEr7, type Er7Message } from '../hl7/er7';
import { FINESS_KINDS } from '../hl7/profile';

export interface AmoPayment {
  /** Dossier key: FINESS géographique/V/venue. */
  key: string;
  factureNumero: string;
  amoCents: number;
  /** YYYY-MM-DD. */
  paidAt: string;
}

export type AmoReading = { ok: true; value: AmoPayment } | { ok: false; errors: string[] };

/** [profile] The HL7 message(s) and fields of an AMO payment notice. Replace to follow a GAP's own. */
export const AMO_PAYMENT_HL7 = {
  /** MSH-9.1^MSH-9.2 accepted. */
  messages: ['BAR^P05', 'DFT^P03'],
  segment: 'ZFA',
  fields: { factureNumero: 1, montantAmo: 4, datePaiement: 7 },
  /**
   * Where the venue number is (PV1-19.1) and where to look for the FINESS géographique (assigning
   * authority, component 4: universal id 4.2, type 4.3), in the order the ADT reader (lib/hl7/pamfr.ts)
   * meets them, so the payment's key is the dossier key of the admission: PID-3, PID-18, PV1-19,
   * then PV1-3's facility.
   */
  venue: { segment: 'PV1', field: 19 },
  finessFrom: [
    { segment: 'PID', field: 3 },
    { segment: 'PID', field: 18 },
    { segment: 'PV1', field: 19 },
    { segment: 'PV1', field: 3 },
  ],
} as const;

export type AmoHl7Profile = {
  messages: readonly string[];
  segment: string;
  fields: { factureNumero: number; montantAmo: number; datePaiement: number };
  venue: { segment: string; field: number };
  finessFrom: ReadonlyArray<{ segment: string; field: number }>;
};

const KEY_PART = /^[A-Za-z0-9._-]{1,40}$/;
const FINESS = /^(\d{9}|2[AB]\d{7})$/;
const INVOICE = /^[A-Za-z0-9._/-]{1,40}$/;
const KEY = /^[A-Za-z0-9-]{1,20}\/[VN]\/[A-Za-z0-9._-]{1,40}$/;
/** Euros as HL7 NM or JSON: at most 2 decimals. */
const NM = /^\d{1,9}(\.\d{1,2})?$/;

function realDay(iso: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) return false;
  const t = Date.parse(`${iso}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === iso;
}

/** Euros → cents, or undefined when not a non-negative amount with at most 2 decimals. */
export function eurosToCents(v: unknown): number | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0 || v > 999_999_999) return undefined;
    const c = Math.round(v * 100);
    return Math.abs(c - v * 100) < 1e-6 ? c : undefined;
  }
  if (typeof v === 'string' && NM.test(v.trim())) {
    const [e, d = ''] = v.trim().split('.');
    return Number(e) * 100 + Number(d.padEnd(2, '0'));
  }
  return undefined;
}

/** The JSON notice (POST /roc/amo-payment). */
export function readAmoPaymentJson(body: unknown): AmoReading {
  const errors: string[] = [];
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { ok: false, errors: ['un objet JSON est attendu'] };
  const b = body as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === 'string' ? v.trim() : undefined);
  let key: string | undefined;
  const cle = s(b.cle);
  if (cle !== undefined && cle !== '') {
    if (KEY.test(cle)) key = cle;
    else errors.push('cle invalide (FINESS/V/venue attendu)');
  } else {
    const finess = s(b.finessGeographique);
    const venue = s(b.numeroVenue);
    if (!finess || !FINESS.test(finess)) errors.push('finessGeographique absent ou invalide (9 chiffres)');
    if (!venue || !KEY_PART.test(venue)) errors.push('numeroVenue absent ou invalide');
    if (finess && venue && FINESS.test(finess) && KEY_PART.test(venue)) key = `${finess}/V/${venue}`;
  }
  const numero = s(b.factureNumero);
  if (!numero || !INVOICE.test(numero)) errors.push('factureNumero absent ou invalide');
  const amoCents = eurosToCents(b.montantAmo);
  if (amoCents === undefined) errors.push('montantAmo absent ou invalide (euros ≥ 0, deux décimales au plus)');
  const paidAt = s(b.datePaiement);
  if (!paidAt || !realDay(paidAt)) errors.push('datePaiement absente ou invalide (AAAA-MM-JJ)');
  if (errors.length || !key || !numero || amoCents === undefined || !paidAt) return { ok: false, errors };
  return { ok: true, value: { key, factureNumero: numero, amoCents, paidAt } };
}

/** The HL7 notice ([profile] AMO_PAYMENT_HL7): its ER7 text, or the message already parsed (the HL7 intake). */
export function readAmoPaymentHl7(text: string | Er7Message, profile: AmoHl7Profile = AMO_PAYMENT_HL7): AmoReading {
  let msg: Er7Message;
  if (typeof text !== 'string') msg = text;
  else
    try {
      msg = parseEr7(text);
    } catch (e) {
      return { ok: false, errors: [`message HL7 illisible : ${(e as Error).message}`] };
    }
  const type = `${msg.get('MSH-9.1').trim().toUpperCase()}^${msg.get('MSH-9.2').trim().toUpperCase()}`;
  if (!profile.messages.includes(type))
    return { ok: false, errors: [`${type} n'est pas un avis de paiement AMO (${profile.messages.join(', ')})`] };
  const errors: string[] = [];
  const seg = msg.segment(profile.segment);
  if (!seg) return { ok: false, errors: [`segment ${profile.segment} absent`] };
  const f = profile.fields;
  const numero = seg.get(f.factureNumero).trim();
  if (!INVOICE.test(numero)) errors.push(`${profile.segment}-${f.factureNumero} (numéro de facture) absent ou invalide`);
  const amoCents = eurosToCents(seg.get(f.montantAmo));
  if (amoCents === undefined) errors.push(`${profile.segment}-${f.montantAmo} (montant AMO) absent ou invalide`);
  const raw = seg.get(f.datePaiement).trim();
  const paidAt = /^\d{8}/.test(raw) ? `${raw.slice(0, 4)}-${raw.slice(4, 6)}-${raw.slice(6, 8)}` : '';
  if (!realDay(paidAt)) errors.push(`${profile.segment}-${f.datePaiement} (AMO payé le) absent ou invalide (AAAAMMJJ)`);
  const venueSeg = msg.segment(profile.venue.segment);
  const venue = venueSeg?.get(profile.venue.field).trim() ?? '';
  if (!KEY_PART.test(venue)) errors.push(`${profile.venue.segment}-${profile.venue.field} (numéro de venue) absent ou invalide`);
  let finess: string | undefined;
  for (const w of profile.finessFrom) {
    const sg = msg.segment(w.segment);
    if (!sg || finess) continue;
    for (const rep of sg.repetitions(w.field)) {
      const id = rep.get(4, 2).trim();
      const kind = FINESS_KINDS[rep.get(4, 3).trim().toUpperCase()];
      if (kind === 'geographique' && FINESS.test(id)) {
        finess = id;
        break;
      }
    }
  }
  if (!finess)
    errors.push(
      `FINESS géographique introuvable (autorité d’affectation de ${profile.finessFrom.map((w) => `${w.segment}-${w.field}`).join(', ')})`,
    );
  if (errors.length || amoCents === undefined || !finess) return { ok: false, errors };
  return { ok: true, value: { key: `${finess}/V/${venue}`, factureNumero: numero, amoCents, paidAt } };
}
