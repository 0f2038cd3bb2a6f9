import { validateDossier, amcTarget } from '../../lib/sel/validate';
import type { RocDossier } from '../../lib/model/dossier';
import { dossier } from './helpers';

const labels = (d: RocDossier, s: Parameters<typeof validateDossier>[0]) => validateDossier(s, d).map((m) => `${m.code} ${m.libelle}`);

describe('dossier validation before any call', () => {
  it('accepts a complete dossier for every service', () => {
    const d = dossier({ engagement: { numero: 'ENG-0775685365-000123' } });
    for (const s of ['annuaire', 'idb', 'sim', 'clc', 'del'] as const) expect(validateDossier(s, d)).toEqual([]);
  });

  it('names the AMC as missing when neither amc nor attestation gives one', () => {
    const d = dossier({ attestation: undefined });
    expect(labels(d, 'annuaire')).toEqual(['BR-MISSING Donnée obligatoire absente du dossier : amc.numeroAmc']);
  });

  it('takes the AMC from dossier.amc first, else from the attestation (first type de convention)', () => {
    expect(amcTarget(dossier())).toEqual({ numeroAmc: '0775685365', typeConvention: 'MU', csr: undefined });
    expect(amcTarget(dossier({ amc: { numeroAmc: '441927302', typeConvention: 'IS' } }))).toEqual({ numeroAmc: '0441927302', typeConvention: 'IS', csr: undefined });
  });

  it('names each missing field of the beneficiary and the venue for IDB', () => {
    const d = dossier({ beneficiaire: { nir: '', dateNaissance: '', nom: '', prenom: '' }, venue: { type: '', dateEntree: '' } });
    expect(labels(d, 'idb')).toEqual([
      'BR-MISSING Donnée obligatoire absente du dossier : beneficiaire.nir',
      'BR-MISSING Donnée obligatoire absente du dossier : beneficiaire.dateNaissance',
      'BR-MISSING Donnée obligatoire absente du dossier : beneficiaire.nom',
      'BR-MISSING Donnée obligatoire absente du dossier : beneficiaire.prenom',
      'BR-MISSING Donnée obligatoire absente du dossier : venue.type',
      'BR-MISSING Donnée obligatoire absente du dossier : venue.dateEntree',
    ]);
    expect(labels(dossier({ beneficiaire: undefined, venue: undefined }), 'idb')).toEqual([
      'BR-MISSING Donnée obligatoire absente du dossier : beneficiaire',
      'BR-MISSING Donnée obligatoire absente du dossier : venue',
    ]);
  });

  it('flags invalid values without ever copying the NIR, names or birth date', () => {
    const base = dossier();
    const d = dossier({
      beneficiaire: { ...base.beneficiaire!, nir: '28503751234', dateNaissance: '1985-02-30', cleNir: '4X' },
      venue: { type: 'HOTEL', dateEntree: '2026-03-06', dateSortie: '2026-03-02' },
    });
    const out = validateDossier('idb', d);
    expect(out.map((m) => m.code)).toEqual(['BR-INVALID', 'BR-INVALID', 'BR-INVALID', 'BR-INVALID', 'BR-INVALID']);
    const text = JSON.stringify(out);
    expect(text).toContain('beneficiaire.nir (13 caractères attendus');
    expect(text).toContain('beneficiaire.dateNaissance (date réelle');
    expect(text).toContain('venue.type (valeurs admises : HOSPITALISATION');
    expect(text).toContain('venue.dateSortie (postérieure ou égale à venue.dateEntree');
    for (const secret of ['28503751234', '1985-02-30', 'Lefèvre', 'Marie-Hélène', '4X']) expect(text).not.toContain(secret);
    expect(out[0]).toMatchObject({ groupe: 'RECHERCHE', severite: 'ERREUR', action: 'CORRIGER' });
  });

  it('accepts a Corsican NIR (2A / 2B) and refuses a letter elsewhere', () => {
    const base = dossier();
    expect(validateDossier('idb', dossier({ beneficiaire: { ...base.beneficiaire!, nir: '274102A004023' } }))).toEqual([]);
    expect(validateDossier('idb', dossier({ beneficiaire: { ...base.beneficiaire!, nir: '27410A2004023' } }))[0].code).toBe('BR-INVALID');
  });

  it('requires a quote or an invoice with lines for SIM and checks each line', () => {
    expect(labels(dossier({ facture: undefined }), 'sim')).toEqual(['BR-MISSING Donnée obligatoire absente du dossier : devis (ou facture)']);
    expect(labels(dossier({ facture: undefined, devis: { numero: 'DEV-1', lignes: [] } }), 'sim')).toEqual([
      'BR-INVALID Donnée du dossier invalide : devis.lignes (au moins une ligne attendue)',
    ]);
    const devis = {
      numero: 'DEV-2026-0042',
      lignes: [
        { code: 'CP', dateDebut: '2026-03-02', dateFin: '2026-03-06', quantite: 4, prixUnitaire: 75, baseAmo: 0, tauxAmo: 0, montantAmo: 0 },
        { code: 'XYZ', dateDebut: '2026-13-01', quantite: 0, prixUnitaire: -5, baseAmo: 0, tauxAmo: 0, montantAmo: Number.NaN },
      ],
    };
    expect(labels(dossier({ devis }), 'sim')).toEqual([
      'BR-INVALID Donnée du dossier invalide : devis.lignes[1].code (codes de prestation admis : GHS, FJ, CP, ACC, ACE, PFB, TV)',
      'BR-INVALID Donnée du dossier invalide : devis.lignes[1].dateDebut (date réelle au format AAAA-MM-JJ attendue)',
      'BR-INVALID Donnée du dossier invalide : devis.lignes[1].quantite (nombre > 0 attendu)',
      'BR-INVALID Donnée du dossier invalide : devis.lignes[1].prixUnitaire (nombre ≥ 0 attendu)',
      'BR-INVALID Donnée du dossier invalide : devis.lignes[1].montantAmo (nombre attendu)',
    ]);
  });

  it('requires the invoice (with its number) for CLC', () => {
    expect(labels(dossier({ facture: undefined }), 'clc')).toEqual(['BR-MISSING Donnée obligatoire absente du dossier : facture']);
    const f = dossier().facture!;
    expect(labels(dossier({ facture: { ...f, numero: '' } }), 'clc')).toEqual(['BR-MISSING Donnée obligatoire absente du dossier : facture.numero']);
    expect(labels(dossier({ facture: { ...f, lignes: [{ ...f.lignes[0], quantite: undefined as unknown as number }] } }), 'clc')).toEqual([
      'BR-MISSING Donnée obligatoire absente du dossier : facture.lignes[0].quantite',
    ]);
  });

  it('requires an engagement number for DEL, taken from the CLC result when not given', () => {
    expect(labels(dossier(), 'del')).toEqual(['BR-MISSING Donnée obligatoire absente du dossier : engagement.numero']);
    const clc = { engagement: { numero: 'ENG-0775685365-000123' } } as unknown as RocDossier['clc'];
    expect(validateDossier('del', dossier({ clc }))).toEqual([]);
  });

  it('never throws on a dossier of the wrong shape', () => {
    const weird = { beneficiaire: 'Dupont', venue: [1, 2], facture: { lignes: 'toutes' }, amc: { numeroAmc: 'MUTUELLE' } } as unknown as RocDossier;
    expect(labels(weird, 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : amc.numeroAmc (1 à 10 chiffres attendus)',
      'BR-INVALID Donnée du dossier invalide : beneficiaire (objet attendu)',
      'BR-INVALID Donnée du dossier invalide : venue (objet attendu)',
      'BR-MISSING Donnée obligatoire absente du dossier : facture.numero',
      'BR-INVALID Donnée du dossier invalide : facture.lignes (liste attendue)',
    ]);
    expect(labels(null as unknown as RocDossier, 'idb')).toEqual(['BR-INVALID Donnée du dossier invalide : msg.roc (objet dossier attendu)']);
  });
});
