/**
 * What the AMC miroir decides for an IDB / SIM / CLC request: beneficiary found, rights open at
 * the stay's date, venue type covered by the contract. Pure: the seed index and the decoded
 * request in, a decision out (the server turns it into a SOAP answer).
 */
import { PROFILE } from '../lib/sel/profile';
import { AMC_LIMITS, computeInvoice, lineProblem, type InvoiceResult, type LineInput } from './engine';
import { nirKey, padAmc, type Amc, type Contract, type Incident, type SeedBeneficiaire, type SeedIndex, type SeedPeriode } from './seed';

type Obj = Record<string, unknown>;

export type RightsDecision =
  | { ok: false; code: string; libelle?: string; incident?: Incident }
  | {
      ok: true;
      amc: Amc;
      beneficiary: SeedBeneficiaire;
      contract: Contract;
      /** The rights period holding the entry date. */
      periode: SeedPeriode;
      incident?: Incident;
    };

const PRESTATIONS = PROFILE.codeLists.prestation as readonly string[];

function inPeriod(date: string, p: SeedPeriode): boolean {
  return date >= p.debut && (p.fin === undefined || date <= p.fin);
}

function normAdherent(s: unknown): string {
  return typeof s === 'string' ? s.trim().replace(/^0+/, '') : '';
}

/** ISO date + n days (UTC arithmetic on the calendar date). */
export function addDays(isoDate: string, days: number): string {
  const t = Date.UTC(Number(isoDate.slice(0, 4)), Number(isoDate.slice(5, 7)) - 1, Number(isoDate.slice(8, 10))) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/**
 * The common checks of IDB, SIM and CLC, in the order an AMC back-end makes them.
 * `accessPoint` is the access point the request was posted to (undefined: the generic one,
 * which serves every ROC AMC on its default route).
 */
export function checkRights(index: SeedIndex, accessPoint: string | undefined, payload: Obj): RightsDecision {
  const enTete = (payload.enTete ?? {}) as Obj;
  const target = (enTete.amc ?? {}) as Obj;
  const amc = index.amcs.get(padAmc(String(target.numeroAmc ?? '')));
  if (!amc || !amc.enRoc || amc.hostile || (accessPoint !== undefined && !amc.accessPoints.has(accessPoint))) {
    return { ok: false, code: '6012' };
  }

  const ben = (payload.beneficiaire ?? {}) as Obj;
  const nir = String(ben.nir ?? '').toUpperCase();
  let key: string;
  try {
    key = nirKey(nir);
  } catch {
    return { ok: false, code: '6000', libelle: 'Paramètres de recherche incorrects : NIR invalide' };
  }
  if (ben.cleNir !== undefined && ben.cleNir !== key) {
    return { ok: false, code: '6000', libelle: 'Paramètres de recherche incorrects : clé du NIR erronée' };
  }
  const sameNir = index.beneficiaries.get(amc.numeroAmc)?.get(nir);
  if (!sameNir) return { ok: false, code: '6001' };
  let candidates = sameNir.filter((b) => b.dateNaissance === ben.dateNaissance);
  if (candidates.length > 1) {
    const rang = typeof ben.rangNaissance === 'number' ? ben.rangNaissance : 1;
    candidates = candidates.filter((b) => (b.rangNaissance ?? 1) === rang);
  }
  if (candidates.length !== 1) return { ok: false, code: '6001' };
  const b = candidates[0];
  const incident = b.incident === 'SUSPENDU' || b.incident === 'LENT' ? b.incident : undefined;
  if (b.incident === 'PANNE') return { ok: false, code: '0999', incident: 'PANNE' };

  const attestation = (payload.attestation ?? {}) as Obj;
  const adherent = normAdherent(ben.numeroAdherent) || normAdherent(attestation.numeroAdherent);
  if (amc.exigeNumeroAdherent && !adherent) return { ok: false, code: '6005', incident };
  if (adherent && b.numeroAdherent && adherent !== normAdherent(b.numeroAdherent)) {
    return {
      ok: false,
      code: '6008',
      libelle: "Vérifier l'attestation papier : numéro d'adhérent différent de celui connu de l'organisme",
      incident,
    };
  }
  if (b.controlePapier) return { ok: false, code: '6008', incident };
  if ((b.rangGarantie ?? 1) > 1) return { ok: false, code: '6006', incident };

  const contract = index.contracts.get(b.contrat) as Contract;
  const venue = (payload.venue ?? {}) as Obj;
  const entree = String(venue.dateEntree ?? '');
  const periode = contract.periodes.find((p) => inPeriod(entree, p));
  if (!periode) return { ok: false, code: '6002', incident };
  const domaine = index.seed.parametres.domaineParTypeVenue[String(venue.type ?? '')];
  if (!domaine || !contract.domaines.includes(domaine)) return { ok: false, code: '6003', incident };

  return { ok: true, amc, beneficiary: b, contract, periode, incident };
}

/** Until when an IDB answer may be relied on: entry + N days, within the rights period. */
export function idbValidUntil(index: SeedIndex, entree: string, periode: SeedPeriode): string {
  const d = addDays(entree, index.seed.parametres.validiteIdbJours);
  return periode.fin !== undefined && periode.fin < d ? periode.fin : d;
}

export type AmountsDecision = { ok: false; code: string; libelle: string } | { ok: true; result: InvoiceResult };

/** SIM / CLC amounts for the invoice lines; lines dated outside the rights are not covered. */
export function computeAmounts(contract: Contract, facture: Obj | undefined): AmountsDecision {
  const lignes = (facture?.lignes ?? []) as LineInput[];
  if (!Array.isArray(lignes) || lignes.length === 0)
    return { ok: false, code: '6000', libelle: 'Paramètres incorrects : facture sans ligne' };
  if (lignes.length > AMC_LIMITS.lignesMax)
    return { ok: false, code: '6000', libelle: `Paramètres incorrects : plus de ${AMC_LIMITS.lignesMax} lignes` };
  const seen = new Set<number>();
  for (const l of lignes) {
    const problem = lineProblem(l, PRESTATIONS);
    if (problem) return { ok: false, code: '6000', libelle: `Paramètres incorrects : ${problem}` };
    if (seen.has(l.numero)) return { ok: false, code: '6000', libelle: `Paramètres incorrects : ligne ${l.numero} en double` };
    seen.add(l.numero);
  }
  const covered = (l: LineInput) => !l.dateDebut || contract.periodes.some((p) => inPeriod(l.dateDebut as string, p));
  return { ok: true, result: computeInvoice(contract.rules, lignes, covered) };
}
