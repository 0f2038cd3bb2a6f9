/**
 * BAR^P05 from the GAP: the AMO payment notice (docs/amo-payments.md) → `Admission.amoPayment`.
 *
 * `parseAdmission` (./pamfr.ts) dispatches on MSH-9.1: for a BAR^P05 (BAR_EVENT_MEANINGS, meaning
 * AMO_PAYMENT) it reads MSH, EVN, PID, PV1 exactly as for an ADT, then calls `readAmoPayment` here
 * for the payment. The fields are those of the billing profile, lib/billing/amo.ts AMO_PAYMENT_HL7
 * (ZFA-1 invoice number, ZFA-4 AMO amount in euros, ZFA-7 "AMO payé le"), and the dossier key is
 * what `readAmoPaymentHl7` answers (FINESS géographique/V/PV1-19), so the intake and the JSON /
 * roc-dre-es side can never disagree. Every problem is a table-0357 issue whose location names the
 * field, so the AE's ERR-2 points at it:
 * - 100: no ZFA segment;
 * - 101: ZFA-1, ZFA-4 or ZFA-7 empty; no FINESS géographique for the venue (at PV1-19);
 * - 102: ZFA-1 with characters an invoice number cannot have, ZFA-4 not euros ≥ 0 with at most two
 *   decimals, ZFA-7 not a real YYYYMMDD date.
 * Messages are French, name the field and never quote a value.
 */
import { AMO_PAYMENT_HL7, eurosToCents, readAmoPaymentHl7, type AmoHl7Profile } from '../billing/amo';
import type { Er7Message } from './er7';
import { errorIssue, fieldLabel } from './issue';
import type { Hl7Issue } from './types';
import type { AdmissionAmoPayment } from '../model/admission';

export interface AmoPaymentReading {
  /** Set only when `errors` is empty. */
  payment?: AdmissionAmoPayment;
  errors: Hl7Issue[];
}

const INVOICE = /^[A-Za-z0-9._/-]{1,40}$/;

function realYmd(raw: string): boolean {
  if (!/^\d{8}/.test(raw)) return false;
  const iso = `${raw.slice(0, 4)}-${raw.slice(4, 6)}-${raw.slice(6, 8)}`;
  const t = Date.parse(`${iso}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === iso;
}

/** Reads and checks the AMO payment of a BAR^P05. Never throws on message content. */
export function readAmoPayment(msg: Er7Message, profile: AmoHl7Profile = AMO_PAYMENT_HL7): AmoPaymentReading {
  const errors: Hl7Issue[] = [];
  const S = profile.segment;
  const zfa = msg.segment(S);
  if (!zfa) return { errors: [errorIssue('100', { segment: S, sequence: 1 }, `segment ${S} (avis de paiement AMO) absent`)] };
  const f = profile.fields;
  const get = (n: number): string => {
    const v = zfa.get(n).trim();
    return v === '""' ? '' : v;
  };
  const check = (n: number, ok: (v: string) => boolean, expected: string): void => {
    const v = get(n);
    if (v === '') errors.push(errorIssue('101', zfa.location(n), `${fieldLabel(S, n)} absent`));
    else if (!ok(v)) errors.push(errorIssue('102', zfa.location(n), `${fieldLabel(S, n)} : ${expected}`));
  };
  check(f.factureNumero, (v) => INVOICE.test(v), 'numéro de facture invalide (1 à 40 caractères A-Z a-z 0-9 . _ / -)');
  check(f.montantAmo, (v) => eurosToCents(v) !== undefined, 'montant attendu en euros ≥ 0, point décimal, deux décimales au plus');
  check(f.datePaiement, realYmd, 'date invalide, format attendu AAAAMMJJ');
  if (errors.length) return { errors };
  const read = readAmoPaymentHl7(msg, profile);
  if (!read.ok) {
    // The ZFA fields are fine: what is left is the venue or its FINESS géographique.
    const v = profile.venue;
    return {
      errors: [
        errorIssue(
          '101',
          { segment: v.segment, sequence: 1, field: v.field },
          `${fieldLabel(v.segment, v.field)} : venue ou FINESS géographique introuvable (autorité d’affectation de ${profile.finessFrom.map((w) => `${w.segment}-${w.field}`).join(', ')})`,
        ),
      ],
    };
  }
  return { payment: read.value, errors: [] };
}
