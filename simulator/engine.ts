/**
 * The AMC miroir's amount engine: what the complementary insurer pays on each billing line,
 * from the contract's rules. Pure and synchronous; every amount is an integer number of cents.
 *
 * Rule modes (per prestation code of the profile's code list):
 * - `TM`           taux % of the ticket modérateur (base AMO − montant AMO);
 * - `BASE`         taux % of the AMO base ("200 % BR"); with `incluantAmo` the AMO's payment is
 *                  deducted first (the usual way French contracts express it);
 * - `FORFAIT`      a fixed amount per unit (per day for FJ, accompanying person…);
 * - `PLAFOND_JOUR` min(unit price, ceiling) per unit (private room);
 * - `NON_COUVERT`  nothing.
 * The AMC never pays more than what is left after the AMO (line total − montant AMO), nor less
 * than zero. A code without a rule is not covered.
 *
 * Line conventions [profile]: `quantite × prixUnitaire` is the line total; `baseAmo` and
 * `montantAmo` are line totals (not per unit).
 */

export type RuleMode = 'TM' | 'BASE' | 'FORFAIT' | 'PLAFOND_JOUR' | 'NON_COUVERT';

export type Rule =
  | { mode: 'TM'; taux: number }
  | { mode: 'BASE'; taux: number; incluantAmo?: boolean }
  | { mode: 'FORFAIT'; montantJourCents: number }
  | { mode: 'PLAFOND_JOUR'; plafondJourCents: number }
  | { mode: 'NON_COUVERT' };

export const RULE_MODES: readonly RuleMode[] = ['TM', 'BASE', 'FORFAIT', 'PLAFOND_JOUR', 'NON_COUVERT'];

/** A billing line as decoded from a SIM/CLC request (amounts in euros). */
export interface LineInput {
  numero: number;
  code: string;
  dateDebut?: string;
  quantite: number;
  prixUnitaire: number;
  baseAmo: number;
  tauxAmo?: number;
  montantAmo: number;
}

export interface LineResult {
  numero: number;
  code: string;
  totalCents: number;
  amoCents: number;
  amcCents: number;
  patientCents: number;
}

export interface InvoiceResult {
  lignes: LineResult[];
  totalFactureCents: number;
  totalAmoCents: number;
  totalAmcCents: number;
  resteAChargeCents: number;
}

/** Euros (as decoded, e.g. 3452.4) to integer cents. */
export function toCents(euros: number): number {
  return Math.round(euros * 100);
}

/** Integer cents to euros (for the codec, which writes two decimals). */
export function toEuros(cents: number): number {
  return cents / 100;
}

function pct(cents: number, taux: number): number {
  return Math.round((cents * taux) / 100);
}

function clamp(v: number, max: number): number {
  return Math.max(0, Math.min(v, max));
}

/**
 * What is wrong with a line, in words a billing clerk understands, or null. Checked before
 * computing (the simulator answers KO 6000 with this text).
 */
export function lineProblem(l: LineInput, knownCodes?: readonly string[]): string | null {
  const n = `ligne ${l.numero}`;
  if (knownCodes && !knownCodes.includes(l.code)) return `${n} : code prestation « ${l.code} » inconnu`;
  if (!(l.quantite > 0)) return `${n} : quantité nulle ou négative`;
  for (const [k, v] of [
    ['prix unitaire', l.prixUnitaire],
    ['base AMO', l.baseAmo],
    ['montant AMO', l.montantAmo],
    ['taux AMO', l.tauxAmo ?? 0],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return `${n} : ${k} non numérique`;
  }
  if (l.prixUnitaire < 0) return `${n} : prix unitaire négatif`;
  if (l.baseAmo < 0 || l.montantAmo < 0) return `${n} : montant AMO négatif`;
  if (l.tauxAmo !== undefined && (l.tauxAmo < 0 || l.tauxAmo > 100)) return `${n} : taux AMO hors de 0 à 100`;
  // A real AMC refuses absurd amounts rather than engage them: so does the simulator.
  if (!(l.quantite <= AMC_LIMITS.quantiteMax)) return `${n} : quantité au-delà de ${AMC_LIMITS.quantiteMax}`;
  if (Math.max(l.prixUnitaire, l.baseAmo, l.montantAmo) > AMC_LIMITS.montantMax)
    return `${n} : montant au-delà de ${AMC_LIMITS.montantMax} €`;
  if (l.quantite * l.prixUnitaire > AMC_LIMITS.totalLigneMax) return `${n} : total de la ligne au-delà de ${AMC_LIMITS.totalLigneMax} €`;
  return null;
}

/** What the AMC miroir accepts on one invoice (beyond: KO 6000, nothing engaged). */
export const AMC_LIMITS = {
  quantiteMax: 9999,
  /** Euros: unit price, AMO base or amount of a line. */
  montantMax: 1_000_000,
  /** Euros: quantity × unit price of a line. */
  totalLigneMax: 10_000_000,
  lignesMax: 500,
} as const;

/** The AMC's share of one line (cents). */
export function computeLine(rule: Rule | undefined, l: LineInput): LineResult {
  const totalCents = Math.round(l.quantite * toCents(l.prixUnitaire));
  const amoCents = Math.min(toCents(l.montantAmo), totalCents);
  const left = totalCents - amoCents;
  const base = Math.min(toCents(l.baseAmo), totalCents);
  let amc = 0;
  if (rule) {
    switch (rule.mode) {
      case 'TM':
        amc = pct(Math.max(0, base - amoCents), rule.taux);
        break;
      case 'BASE':
        amc = pct(base, rule.taux) - (rule.incluantAmo ? amoCents : 0);
        break;
      case 'FORFAIT':
        amc = Math.round(rule.montantJourCents * l.quantite);
        break;
      case 'PLAFOND_JOUR':
        amc = Math.round(Math.min(toCents(l.prixUnitaire), rule.plafondJourCents) * l.quantite);
        break;
      case 'NON_COUVERT':
        amc = 0;
        break;
    }
  }
  const amcCents = clamp(amc, left);
  return { numero: l.numero, code: l.code, totalCents, amoCents, amcCents, patientCents: left - amcCents };
}

/**
 * Compute every line and the totals. `covered(line)` lets the caller exclude lines (e.g. dated
 * outside the rights periods): those are computed as not covered.
 */
export function computeInvoice(
  rules: Readonly<Record<string, Rule>>,
  lines: readonly LineInput[],
  covered: (l: LineInput) => boolean = () => true,
): InvoiceResult {
  const out: LineResult[] = [];
  let f = 0;
  let amo = 0;
  let amc = 0;
  for (const l of lines) {
    const r = computeLine(covered(l) ? rules[l.code] : undefined, l);
    out.push(r);
    f += r.totalCents;
    amo += r.amoCents;
    amc += r.amcCents;
  }
  return { lignes: out, totalFactureCents: f, totalAmoCents: amo, totalAmcCents: amc, resteAChargeCents: f - amo - amc };
}
