/**
 * Engaged dossiers for the billing tests: a 4-day stay in cardiologie at the CHU (FINESS
 * géographique 750100125), billed GHS 5091 + forfait journalier × 4 + participation forfaitaire,
 * engaged by the AMC for 690,95 € (the CLC's amounts kept on the engagement, per line).
 * Synthetic NIRs with a valid key; no real person.
 */
import { newDossier, type DossierRecord } from '../../lib/dossier/dossier';
import { nirKey } from '../../lib/billing/release';

export const FINESS = '750100125';
export const AMC = '0000123456';
export const OTHER_AMC = '0000654321';

export const PATIENT = { nir: '2850759350123', nom: 'LEFEVRE-BOEUF', prenom: 'Hélène', dateNaissance: '1985-07-14' };

export interface EngagedOptions {
  etat?: DossierRecord['etat'];
  amc?: string;
  numero?: string;
  /** AMC share of the GHS line (euros): 586.95 by default; 0 with `noShare`. */
  noShare?: boolean;
  /** An engagement whose AMC total differs from its lines. */
  engagedTotal?: number;
  engaged?: boolean;
}

export function engagedDossier(venue: string, o: EngagedOptions = {}): DossierRecord {
  const at = '2026-11-24T16:00:00.000Z';
  const d = newDossier(`${FINESS}/V/${venue}`, 'PV1-19', '2026-11-20T08:30:00.000Z', FINESS);
  const numero = o.numero ?? `F${venue.slice(-9)}`;
  const ghsAmc = o.noShare ? 0 : 586.95;
  const lignes = [
    { numero: 1, code: 'GHS5091', montantAmc: ghsAmc, montantPatient: o.noShare ? 586.95 : 0 },
    { numero: 2, code: 'FJ', montantAmc: o.noShare ? 0 : 80, montantPatient: o.noShare ? 80 : 0 },
    { numero: 3, code: 'PJ18', montantAmc: o.noShare ? 0 : 24, montantPatient: o.noShare ? 24 : 0 },
  ];
  const total = lignes.reduce((s, l) => s + Math.round(l.montantAmc * 100), 0) / 100;
  const engaged = o.engaged !== false;
  return {
    ...d,
    etat: o.etat ?? (engaged ? 'ENGAGE' : 'FACTURE_RECUE'),
    droits: 'OK',
    identite: {
      ipp: '481516',
      nir: PATIENT.nir + nirKey(PATIENT.nir),
      nom: PATIENT.nom,
      prenom: PATIENT.prenom,
      dateNaissance: PATIENT.dateNaissance,
      rangNaissance: 1,
    },
    couverture: { numeroAmc: o.amc ?? AMC, numeroAdherent: '00412345', typeConvention: 'IS' },
    sejour: { type: 'HOSPITALISATION', dateEntree: '2026-11-20', dateSortie: '2026-11-24', numeroVenue: venue, nda: `N${venue}` },
    facture: {
      numero,
      dateFacture: '2026-11-24',
      lignes: [
        {
          numero: 1,
          code: 'GHS5091',
          dateDebut: '2026-11-20',
          dateFin: '2026-11-24',
          quantite: 1,
          prixUnitaire: 2934.77,
          baseAmo: 2934.77,
          tauxAmo: 80,
          montantAmo: 2347.82,
        },
        {
          numero: 2,
          code: 'FJ',
          dateDebut: '2026-11-20',
          dateFin: '2026-11-24',
          quantite: 4,
          prixUnitaire: 20,
          baseAmo: 0,
          tauxAmo: 0,
          montantAmo: 0,
        },
        {
          numero: 3,
          code: 'PJ18',
          dateDebut: '2026-11-20',
          dateFin: '2026-11-20',
          quantite: 1,
          prixUnitaire: 24,
          baseAmo: 0,
          tauxAmo: 0,
          montantAmo: 0,
        },
      ],
    },
    engagements: engaged
      ? [
          {
            numero: `ENG${venue}`,
            factureNumero: numero,
            requestId: `REQ-${venue}`,
            at,
            statut: 'VIVANT',
            montantAmc: o.engagedTotal ?? total,
            lignes,
          },
        ]
      : [],
    majLe: at,
  };
}

/** The AMO share of engagedDossier's invoice, in cents. */
export const AMO_CENTS = 234_782;
export const AMC_CENTS = 69_095;
