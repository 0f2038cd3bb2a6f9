/**
 * The quote (SIM) of a planned stay, asked on a pre-admission when the site wants the patient to
 * learn the remaining charge before coming in [profile]: a pre-admission carries no lines, so the
 * quote prices what every stay bills — the forfait journalier for each planned night (AMO 0 %) —
 * with the site's tariffs (the desk's: lib/desk/dossier.ts DEFAULT_TARIFFS). One night when the
 * GAP gave no planned discharge date.
 */
import type { Facture } from '../model/dossier';
import type { DossierRecord } from './dossier';

export interface QuoteTariffs {
  /** Forfait journalier, euros per night. */
  forfaitJournalier: number;
}

export const DEFAULT_QUOTE_TARIFFS: QuoteTariffs = { forfaitJournalier: 20 };
/** Prestation code of the forfait journalier [profile] (lib/sel/catalogue). */
export const CODE_FORFAIT_JOURNALIER = 'FJ';
const MAX_NIGHTS = 365;

function nights(from: string | undefined, to: string | undefined): number {
  if (!from || !to) return 1;
  const n = Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000);
  return Number.isFinite(n) && n >= 1 ? Math.min(n, MAX_NIGHTS) : 1;
}

export function quoteFor(d: DossierRecord, t: QuoteTariffs = DEFAULT_QUOTE_TARIFFS): Facture {
  const debut = d.sejour.dateEntreePrevue ?? d.sejour.dateEntree ?? d.creeLe.slice(0, 10);
  const n = nights(debut, d.sejour.dateSortie);
  const venue = d.key.split('/').pop() ?? 'VENUE';
  return {
    numero: `DEVIS-${venue}`.slice(0, 30),
    lignes: [
      {
        numero: 1,
        code: CODE_FORFAIT_JOURNALIER,
        dateDebut: debut,
        quantite: n,
        prixUnitaire: t.forfaitJournalier,
        baseAmo: 0,
        tauxAmo: 0,
        montantAmo: 0,
      },
    ],
  };
}
