/**
 * Rejected invoices (RSP 908R) after the AMC's return, and invoices of a refused file (`lot-refused`:
 * the file could not go out, e.g. the recipient's certificate expired, or the AMC's ARL refused its
 * lot): the work queue an operator reads (GET /roc/billing/rejected) and the rules that bill such an
 * invoice again. Pure: the journal's records in, the queue out.
 *
 * An invoice of a refused file leaves the queue when an operator sends it again (the cause fixed:
 * certificate renewed, what the negative ARL named corrected) — same number, same engagement, in the
 * next DRE-ES file; the refused file stays in the journal as it was — or when its dossier moves on.
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

/** Dossier states in which an invoice of a refused file waits: never sent (ENGAGE), or sent and its lot refused by the ARL (FACTURE_AMC). */
const LOT_REFUSED_STATES: readonly string[] = ['ENGAGE', 'FACTURE_AMC'];

/** Where the invoice's trouble came from: the AMC's return (908R), the file refused before it left, a negative ARL. */
export type RejectedOrigin = 'RSP' | 'FICHIER_REFUSE' | 'ARL_NEGATIF';

/** The origin of a rejected or lot-refused invoice (a file refused before sending was never sent). */
export function originOf(inv: Pick<InvoiceBilling, 'state' | 'sentAt'>): RejectedOrigin {
  if (inv.state === 'rejected') return 'RSP';
  return inv.sentAt ? 'ARL_NEGATIF' : 'FICHIER_REFUSE';
}

/** What waits for the operator, per rejected invoice: identifiers, amounts, the reason; no patient data. */
export interface RejectedItem {
  cle: string;
  /** RSP (908R rejection), FICHIER_REFUSE (the file could not go out), ARL_NEGATIF (the AMC refused the lot). */
  origine: RejectedOrigin;
  factureNumero: string;
  amc?: string;
  finess?: string;
  engagement?: string;
  amcCents?: number;
  fileNumber?: number;
  lotNumber?: number;
  sentAt?: string;
  /** The ARL's day (a negative ARL). */
  acknowledgedAt?: string;
  settledAt?: string;
  motif: { code: string; label: string; action: string };
  /** What comes next: CORRECTION_EN_COURS (DEL/CLC of a corrected invoice under way), RENVOI_POSSIBLE, CORRECTION_ATTENDUE, FACTURER_PATIENT. */
  suite: 'CORRECTION_EN_COURS' | 'RENVOI_POSSIBLE' | 'CORRECTION_ATTENDUE' | 'FACTURER_PATIENT';
}

/** Is the invoice still the one its dossier waits on (rejected: REJETE; lot-refused: ENGAGE or FACTURE_AMC)? */
function waitsOn(inv: InvoiceBilling, d: DossierRecord | undefined): d is DossierRecord {
  if (!d || d.facture?.numero !== inv.number) return false;
  if (inv.state === 'rejected') return d.etat === 'REJETE';
  if (inv.state === 'lot-refused') return LOT_REFUSED_STATES.includes(d.etat);
  return false;
}

const correcting = (d: DossierRecord): boolean => !!(d.factureEnAttente || d.enCours.del || d.enCours.clc);

/**
 * The queue item of a rejected or lot-refused invoice, or undefined when its dossier moved on
 * (corrected, resent, cancelled). A lot-refused invoice may always be sent again once the cause is
 * fixed (`RENVOI_POSSIBLE`), whatever action was recorded: the file or its lot was refused, not the
 * invoice's amounts.
 */
export function rejectedItem(inv: InvoiceBilling, d: DossierRecord | undefined): RejectedItem | undefined {
  if (!waitsOn(inv, d)) return undefined;
  const motif = { code: inv.rejection?.code ?? '', label: inv.rejection?.label ?? '', action: inv.rejection?.action ?? '' };
  const suite: RejectedItem['suite'] = correcting(d)
    ? 'CORRECTION_EN_COURS'
    : inv.state === 'lot-refused' || RESEND_ACTIONS.includes(motif.action)
      ? 'RENVOI_POSSIBLE'
      : motif.action === 'FACTURER_PATIENT'
        ? 'FACTURER_PATIENT'
        : 'CORRECTION_ATTENDUE';
  const item: RejectedItem = { cle: inv.key, origine: originOf(inv), factureNumero: inv.number, motif, suite };
  for (const k of ['amc', 'finess', 'engagement', 'amcCents', 'fileNumber', 'lotNumber', 'sentAt', 'acknowledgedAt', 'settledAt'] as const)
    if (inv[k] !== undefined) (item as unknown as Record<string, unknown>)[k] = inv[k];
  return item;
}

/**
 * Why the operator may not send this rejected or lot-refused invoice again (French, no patient
 * data), or undefined when the resend may go: the dossier still waiting on this invoice (REJETE for
 * a rejected one; ENGAGE or FACTURE_AMC for a lot-refused one), no correction under way, for a
 * rejection an action of RESEND_ACTIONS, the billed engagement still live.
 */
export function resendRefusal(d: DossierRecord, inv: InvoiceBilling): string | undefined {
  if (inv.state !== 'rejected' && inv.state !== 'lot-refused') return `la facture n'est ni rejetée ni refusée (${inv.state})`;
  if (d.facture?.numero !== inv.number) return `le dossier porte une autre facture (${d.facture?.numero ?? 'aucune'})`;
  if (inv.state === 'rejected' && d.etat !== 'REJETE') return `le dossier n'est plus rejeté (${d.etat})`;
  if (inv.state === 'lot-refused' && !LOT_REFUSED_STATES.includes(d.etat)) return `le dossier n'attend plus cette facture (${d.etat})`;
  if (correcting(d)) return 'une facture corrigée est en cours (DEL puis CLC) : pas de renvoi';
  const action = inv.rejection?.action ?? '';
  if (inv.state === 'rejected' && !RESEND_ACTIONS.includes(action))
    return `rejet ${inv.rejection?.code ?? '?'} (action ${action || 'inconnue'}) : une facture corrigée est attendue du GAP, pas un renvoi`;
  const eng = d.engagements.find((e) => e.statut === 'VIVANT' && e.factureNumero === inv.number);
  if (!eng || eng.numero !== inv.engagement)
    return `l'engagement facturé n'est plus vivant : une facture corrigée (DEL puis CLC) est nécessaire`;
  return undefined;
}
