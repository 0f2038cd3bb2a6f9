/**
 * Rejected invoices (RSP 908R) after the AMC's return: the work queue an operator reads (GET
 * /roc/billing/rejected) and the rules that bill a rejected invoice again. Pure: the journal's
 * records in, the queue out.
 *
 * A rejected invoice leaves the queue when its dossier moves on: a corrected invoice arrived (the
 * dossier asks DEL of the rejected engagement, then CLC: CORRECTION_EN_COURS, then engaged again),
 * or an operator sent it again (RENVOI_FACTURE). A corrected invoice is billed under the GAP's
 * number: a new number leaves the rejected one in the journal as it was; the same number is billed
 * again once a new engagement replaced the rejected one (`isCorrected`).
 */
import type { DossierRecord } from '../dossier/dossier';
import type { InvoiceBilling } from '../store/journal';

/**
 * [profile] Rejection actions (lib/billing/reasons.json) after which an operator may send the same
 * invoice again: RENVOYER (the cause was on the AMC's side or is fixed), TRAITEMENT_MANUEL (settled
 * with the AMC by hand). CORRIGER waits for a corrected invoice from the GAP; FACTURER_PATIENT is
 * not billed to the AMC again.
 */
export const RESEND_ACTIONS: readonly string[] = ['RENVOYER', 'TRAITEMENT_MANUEL'];

/** A rejected invoice corrected under the same number: the dossier engaged again with another engagement. */
export function isCorrected(d: DossierRecord, inv: Pick<InvoiceBilling, 'number' | 'engagement'>): boolean {
  if (d.etat !== 'ENGAGE') return false;
  const eng = d.engagements.find((e) => e.statut === 'VIVANT' && e.factureNumero === inv.number);
  return !!eng && eng.numero !== inv.engagement;
}

/** What waits for the operator, per rejected invoice: identifiers, amounts, the reason; no patient data. */
export interface RejectedItem {
  cle: string;
  factureNumero: string;
  amc?: string;
  finess?: string;
  engagement?: string;
  amcCents?: number;
  fileNumber?: number;
  lotNumber?: number;
  sentAt?: string;
  settledAt?: string;
  motif: { code: string; label: string; action: string };
  /** What comes next: CORRECTION_EN_COURS (DEL/CLC of a corrected invoice under way), RENVOI_POSSIBLE, CORRECTION_ATTENDUE, FACTURER_PATIENT. */
  suite: 'CORRECTION_EN_COURS' | 'RENVOI_POSSIBLE' | 'CORRECTION_ATTENDUE' | 'FACTURER_PATIENT';
}

/** The queue item of a rejected invoice, or undefined when its dossier moved on (corrected, resent, cancelled). */
export function rejectedItem(inv: InvoiceBilling, d: DossierRecord | undefined): RejectedItem | undefined {
  if (inv.state !== 'rejected' || !d || d.etat !== 'REJETE' || d.facture?.numero !== inv.number) return undefined;
  const motif = { code: inv.rejection?.code ?? '', label: inv.rejection?.label ?? '', action: inv.rejection?.action ?? '' };
  const suite: RejectedItem['suite'] =
    d.factureEnAttente || d.enCours.del || d.enCours.clc
      ? 'CORRECTION_EN_COURS'
      : RESEND_ACTIONS.includes(motif.action)
        ? 'RENVOI_POSSIBLE'
        : motif.action === 'FACTURER_PATIENT'
          ? 'FACTURER_PATIENT'
          : 'CORRECTION_ATTENDUE';
  const item: RejectedItem = { cle: inv.key, factureNumero: inv.number, motif, suite };
  for (const k of ['amc', 'finess', 'engagement', 'amcCents', 'fileNumber', 'lotNumber', 'sentAt', 'settledAt'] as const)
    if (inv[k] !== undefined) (item as unknown as Record<string, unknown>)[k] = inv[k];
  return item;
}

/**
 * Why the operator may not send this rejected invoice again (French, no patient data), or
 * undefined when the resend may go: the dossier REJETE with this invoice, no correction under way,
 * an action of RESEND_ACTIONS, the billed engagement still live.
 */
export function resendRefusal(d: DossierRecord, inv: InvoiceBilling): string | undefined {
  if (d.etat !== 'REJETE') return `le dossier n'est plus rejeté (${d.etat})`;
  if (d.factureEnAttente || d.enCours.del || d.enCours.clc) return 'une facture corrigée est en cours (DEL puis CLC) : pas de renvoi';
  const action = inv.rejection?.action ?? '';
  if (!RESEND_ACTIONS.includes(action))
    return `rejet ${inv.rejection?.code ?? '?'} (action ${action || 'inconnue'}) : une facture corrigée est attendue du GAP, pas un renvoi`;
  const eng = d.engagements.find((e) => e.statut === 'VIVANT' && e.factureNumero === inv.number);
  if (!eng || eng.numero !== inv.engagement)
    return `l'engagement facturé n'est plus vivant : une facture corrigée (DEL puis CLC) est nécessaire`;
  return undefined;
}
