/**
 * Checks of an invoice from the GAP (DFT^P03 or POST /roc/invoice) before CLC: each line's
 * quantity × unit price = amount (within a cent), the AMO part consistent, and the totals
 * AMO + AMC + patient = total. Each error names the line (1-based, the FT1 set id when given)
 * and the field, plus the FT1 field number [profile] so an HL7 AE can point at it (ERR-2).
 * Messages are French, for the GAP user, and carry amounts and codes only (no patient data).
 */
import type { InvoiceLine, InvoiceTotals } from '../model/invoice';

/** The line and totals types live in lib/model (the admission model carries them): re-exported. */
export type { InvoiceLine, InvoiceTotals };

export type InvoiceField =
  | 'numero'
  | 'code'
  | 'dateDebut'
  | 'dateFin'
  | 'quantite'
  | 'prixUnitaire'
  | 'montant'
  | 'baseAmo'
  | 'tauxAmo'
  | 'montantAmo'
  | 'total'
  | 'amo'
  | 'amc'
  | 'patient'
  | 'lignes';

/**
 * Where each line field sits in FT1 [profile]: HL7 v2.5 FT1-4 transaction date, FT1-7 transaction
 * code, FT1-10 quantity, FT1-11 extended amount, FT1-12 unit amount. The AMO base, rate and amount
 * have no FT1 field: they travel in the ZFT Z-segment of our profile (ZFT-2 base, ZFT-3 rate,
 * ZFT-4 amount). Swap these for the site's profile; the checks do not change.
 */
export const FT1_FIELDS: Partial<Record<InvoiceField, { segment: string; field: number }>> = {
  dateDebut: { segment: 'FT1', field: 4 },
  dateFin: { segment: 'FT1', field: 5 },
  code: { segment: 'FT1', field: 7 },
  quantite: { segment: 'FT1', field: 10 },
  montant: { segment: 'FT1', field: 11 },
  prixUnitaire: { segment: 'FT1', field: 12 },
  baseAmo: { segment: 'ZFT', field: 2 },
  tauxAmo: { segment: 'ZFT', field: 3 },
  montantAmo: { segment: 'ZFT', field: 4 },
};

export interface InvoiceIssue {
  /** 1-based line (FT1 occurrence) when the issue is about a line. */
  ligne?: number;
  field: InvoiceField;
  location?: { segment: string; sequence?: number; field: number };
  message: string;
}

/** Amounts compare in cents: a difference of one cent or less is tolerated (rounding). */
export const TOLERANCE_CENTS = 1;

const cents = (x: number): number => Math.round(x * 100);
const euros = (x: number): string => (Math.round(x * 100) / 100).toFixed(2).replace('.', ',') + ' €';
const closeEnough = (a: number, b: number): boolean => Math.abs(cents(a) - cents(b)) <= TOLERANCE_CENTS;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function issue(field: InvoiceField, message: string, ligne?: number): InvoiceIssue {
  const where = FT1_FIELDS[field];
  return {
    ...(ligne !== undefined ? { ligne } : {}),
    field,
    ...(where && ligne !== undefined ? { location: { segment: where.segment, sequence: ligne, field: where.field } } : {}),
    message: ligne !== undefined ? `ligne ${ligne} (${where ? `${where.segment}-${where.field}` : field}) : ${message}` : message,
  };
}

function num(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** Checks one line; `n` is its 1-based position. */
export function checkLine(l: InvoiceLine, n: number): InvoiceIssue[] {
  const out: InvoiceIssue[] = [];
  const ligne = l.numero ?? n;
  if (!l.code || typeof l.code !== 'string') out.push(issue('code', 'code de prestation absent', ligne));
  if (typeof l.dateDebut !== 'string' || !ISO_DATE.test(l.dateDebut))
    out.push(issue('dateDebut', 'date de début absente ou invalide', ligne));
  if (l.dateFin !== undefined && (typeof l.dateFin !== 'string' || !ISO_DATE.test(l.dateFin)))
    out.push(issue('dateFin', 'date de fin invalide', ligne));
  else if (l.dateFin && typeof l.dateDebut === 'string' && ISO_DATE.test(l.dateDebut) && l.dateFin < l.dateDebut)
    out.push(issue('dateFin', 'date de fin avant la date de début', ligne));
  const q = num(l.quantite) && l.quantite > 0;
  const pu = num(l.prixUnitaire) && l.prixUnitaire >= 0;
  if (!q) out.push(issue('quantite', 'quantité absente ou non positive', ligne));
  if (!pu) out.push(issue('prixUnitaire', 'prix unitaire absent ou négatif', ligne));
  if (!num(l.montant) || l.montant < 0) out.push(issue('montant', 'montant absent ou négatif', ligne));
  else if (q && pu && !closeEnough(l.quantite * l.prixUnitaire, l.montant))
    out.push(
      issue(
        'montant',
        `montant ${euros(l.montant)} ≠ quantité ${l.quantite} × prix unitaire ${euros(l.prixUnitaire)} = ${euros(l.quantite * l.prixUnitaire)}`,
        ligne,
      ),
    );
  if (l.tauxAmo !== undefined && (!num(l.tauxAmo) || l.tauxAmo < 0 || l.tauxAmo > 100))
    out.push(issue('tauxAmo', 'taux AMO hors de 0 à 100', ligne));
  if (l.baseAmo !== undefined && (!num(l.baseAmo) || l.baseAmo < 0)) out.push(issue('baseAmo', 'base AMO négative ou invalide', ligne));
  if (l.montantAmo !== undefined) {
    if (!num(l.montantAmo) || l.montantAmo < 0) out.push(issue('montantAmo', 'montant AMO négatif ou invalide', ligne));
    else if (num(l.montant) && cents(l.montantAmo) > cents(l.montant) + TOLERANCE_CENTS)
      out.push(issue('montantAmo', `montant AMO ${euros(l.montantAmo)} supérieur au montant de la ligne ${euros(l.montant)}`, ligne));
    else if (
      num(l.baseAmo) &&
      num(l.tauxAmo) &&
      l.tauxAmo >= 0 &&
      l.tauxAmo <= 100 &&
      !closeEnough((l.baseAmo * l.tauxAmo) / 100, l.montantAmo)
    )
      out.push(
        issue(
          'montantAmo',
          `montant AMO ${euros(l.montantAmo)} ≠ base ${euros(l.baseAmo)} × taux ${l.tauxAmo} % = ${euros((l.baseAmo * l.tauxAmo) / 100)}`,
          ligne,
        ),
      );
  }
  return out;
}

/**
 * Checks an invoice's lines and, when given, its totals. Empty array = the invoice may go to CLC.
 */
export function checkInvoice(inv: { numero?: string; lignes: InvoiceLine[] }, totals?: InvoiceTotals): InvoiceIssue[] {
  const out: InvoiceIssue[] = [];
  if (!inv.numero || typeof inv.numero !== 'string') out.push(issue('numero', 'numéro de facture absent'));
  if (!Array.isArray(inv.lignes) || inv.lignes.length === 0) {
    out.push(issue('lignes', 'facture sans ligne'));
    return out;
  }
  const seen = new Set<number>();
  inv.lignes.forEach((l, i) => {
    if (l.numero !== undefined) {
      if (seen.has(l.numero)) out.push(issue('numero', `numéro de ligne ${l.numero} en double`, i + 1));
      seen.add(l.numero);
    }
    out.push(...checkLine(l, i + 1));
  });
  if (!totals) return out;
  const sumLines = inv.lignes.reduce((s, l) => s + (num(l.montant) ? cents(l.montant) : 0), 0);
  const sumAmo = inv.lignes.reduce((s, l) => s + (num(l.montantAmo) ? cents(l.montantAmo) : 0), 0);
  const label = { total: 'total facturé', amo: 'total AMO', amc: 'total AMC', patient: 'reste à charge patient' } as const;
  for (const f of ['total', 'amo', 'amc', 'patient'] as const) {
    if (!num(totals[f]) || totals[f] < 0) out.push(issue(f, `${label[f]} absent ou négatif`));
  }
  if (out.some((i) => i.ligne === undefined && ['total', 'amo', 'amc', 'patient'].includes(i.field))) return out;
  // Tolerance grows with the number of lines (one cent of rounding per line at most).
  const tol = Math.max(TOLERANCE_CENTS, inv.lignes.length);
  if (Math.abs(sumLines - cents(totals.total)) > tol)
    out.push(issue('total', `total ${euros(totals.total)} ≠ somme des lignes ${euros(sumLines / 100)}`));
  if (inv.lignes.some((l) => l.montantAmo !== undefined) && Math.abs(sumAmo - cents(totals.amo)) > tol)
    out.push(issue('amo', `total AMO ${euros(totals.amo)} ≠ somme des parts AMO des lignes ${euros(sumAmo / 100)}`));
  const parts = cents(totals.amo) + cents(totals.amc) + cents(totals.patient);
  if (Math.abs(parts - cents(totals.total)) > TOLERANCE_CENTS)
    out.push(
      issue(
        'total',
        `AMO ${euros(totals.amo)} + AMC ${euros(totals.amc)} + patient ${euros(totals.patient)} = ${euros(parts / 100)} ≠ total ${euros(totals.total)}`,
      ),
    );
  return out;
}
