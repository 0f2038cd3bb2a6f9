/** ROC dossier records for the journal's dossier tests (lib/dossier DossierRecord, realistic French data, no real patient). */
import { newDossier, type DossierRecord } from '../../lib/dossier/dossier';
import type { DossierState } from '../../lib/dossier/states';

export const FINESS = '750100125';
/** Numéros AMC (organismes complémentaires) of the fixtures. */
export const AMC_MUTUELLE = '0000123456';
export const AMC_PREVOYANCE = '0000654321';

/** A record for venue `venue` (key `750100125/V/<venue>`), admitted on `dateEntree`, in state `etat`. */
export function dossier(
  venue: string,
  etat: DossierState = 'DROITS_OK',
  over: Partial<DossierRecord> = {},
  at = '2026-11-20T08:30:00.000Z',
): DossierRecord {
  const d = newDossier(`${FINESS}/V/${venue}`, 'PV1-19', at, FINESS);
  return {
    ...d,
    etat,
    droits: etat === 'DROITS_OK' ? 'OK' : 'INCONNUS',
    couverture: { numeroAmc: AMC_MUTUELLE, numeroAdherent: '00412345', typeConvention: 'IS' },
    sejour: { type: 'HOSPITALISATION', dateEntree: '2026-11-20', nda: `NDA${venue}`, numeroVenue: venue },
    ...over,
  };
}
