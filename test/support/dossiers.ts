/**
 * Realistic dossiers built from the AMC simulator's seed (simulator/seed/amc-seed.json), so
 * node and end-to-end tests speak of the same fictitious patients as the simulator.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RocDossier, Ligne } from '../../lib/model/dossier';

const SEED = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'simulator', 'seed', 'amc-seed.json'), 'utf8'));

import type { SeedBeneficiaire } from '../../simulator/seed';

export const beneficiaires: SeedBeneficiaire[] = SEED.beneficiaires;

export function beneficiaire(id: string): SeedBeneficiaire {
  const b = beneficiaires.find((x) => x.id === id);
  if (!b) throw new Error(`no seeded beneficiary ${id}`);
  return b;
}

/** A 4-night surgical stay: GHS, forfait journalier, private room — as a GAP would bill it. */
export function sejourLignes(entree = '2026-11-20', sortie = '2026-11-24'): Ligne[] {
  return [
    {
      numero: 1,
      code: 'GHS',
      dateDebut: entree,
      dateFin: sortie,
      quantite: 1,
      prixUnitaire: 3452.4,
      baseAmo: 3452.4,
      tauxAmo: 80,
      montantAmo: 2761.92,
    },
    { numero: 2, code: 'FJ', dateDebut: entree, dateFin: sortie, quantite: 4, prixUnitaire: 20, baseAmo: 0, tauxAmo: 0, montantAmo: 0 },
    { numero: 3, code: 'CP', dateDebut: entree, dateFin: sortie, quantite: 4, prixUnitaire: 75, baseAmo: 0, tauxAmo: 0, montantAmo: 0 },
  ];
}

export function dossierFor(
  id: string,
  opts: { facture?: string | false; withAdherent?: boolean; entree?: string; sortie?: string } = {},
): RocDossier {
  const b = beneficiaire(id);
  const entree = opts.entree ?? '2026-11-20';
  const sortie = opts.sortie ?? '2026-11-24';
  const d: RocDossier = {
    amc: { ...b.amc },
    beneficiaire: {
      nir: b.nir,
      cleNir: b.cleNir,
      dateNaissance: b.dateNaissance,
      rangNaissance: b.rangNaissance,
      nom: b.nom,
      prenom: b.prenom,
      ...(opts.withAdherent === false || !b.numeroAdherent ? {} : { numeroAdherent: b.numeroAdherent }),
    },
    venue: { type: 'HOSPITALISATION', dateEntree: entree, dateSortie: sortie, numeroDossier: `NDA${id}2026`, numeroVenue: `V${id}001` },
  };
  if (opts.facture !== false && opts.facture !== undefined) {
    d.facture = { numero: opts.facture, dateFacture: sortie, lignes: sejourLignes(entree, sortie) };
  }
  return d;
}
