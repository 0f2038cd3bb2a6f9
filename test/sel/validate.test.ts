import fc from 'fast-check';
import { validateDossier, amcTarget, DOSSIER_BOUNDS } from '../../lib/sel/validate';
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
    expect(amcTarget(dossier({ amc: { numeroAmc: '441927302', typeConvention: 'IS' } }))).toEqual({
      numeroAmc: '0441927302',
      typeConvention: 'IS',
      csr: undefined,
    });
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
    expect(labels(dossier({ facture: undefined }), 'sim')).toEqual([
      'BR-MISSING Donnée obligatoire absente du dossier : devis (ou facture)',
    ]);
    expect(labels(dossier({ facture: undefined, devis: { numero: 'DEV-1', lignes: [] } }), 'sim')).toEqual([
      'BR-INVALID Donnée du dossier invalide : devis.lignes (au moins une ligne attendue)',
    ]);
    const devis = {
      numero: 'DEV-2026-0042',
      lignes: [
        {
          code: 'CP',
          dateDebut: '2026-03-02',
          dateFin: '2026-03-06',
          quantite: 4,
          prixUnitaire: 75,
          baseAmo: 0,
          tauxAmo: 0,
          montantAmo: 0,
        },
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
    expect(labels(dossier({ facture: { ...f, numero: '' } }), 'clc')).toEqual([
      'BR-MISSING Donnée obligatoire absente du dossier : facture.numero',
    ]);
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
    const weird = {
      beneficiaire: 'Dupont',
      venue: [1, 2],
      facture: { lignes: 'toutes' },
      amc: { numeroAmc: 'MUTUELLE' },
    } as unknown as RocDossier;
    expect(labels(weird, 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : amc.numeroAmc (1 à 10 chiffres attendus)',
      'BR-INVALID Donnée du dossier invalide : beneficiaire (objet attendu)',
      'BR-INVALID Donnée du dossier invalide : venue (objet attendu)',
      'BR-MISSING Donnée obligatoire absente du dossier : facture.numero',
      'BR-INVALID Donnée du dossier invalide : facture.lignes (liste attendue)',
    ]);
    expect(labels(null as unknown as RocDossier, 'idb')).toEqual([
      'BR-INVALID Donnée du dossier invalide : msg.roc (objet dossier attendu)',
    ]);
  });
});

describe('bounded numbers, texts and dates (nothing absurd reaches an AMC)', () => {
  const f = dossier().facture!;
  const withLine = (over: Record<string, unknown>, i = 0) =>
    dossier({ facture: { ...f, lignes: f.lignes.map((l, k) => (k === i ? { ...l, ...over } : l)) as typeof f.lignes } });

  it('refuses quantite: 1e9 naming facture.lignes[0].quantite, before any call', () => {
    expect(labels(withLine({ quantite: 1e9 }), 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : facture.lignes[0].quantite (nombre ≤ 9999 attendu)',
    ]);
    expect(labels(withLine({ quantite: 1e9 }), 'sim')).toHaveLength(1);
    expect(validateDossier('clc', withLine({ quantite: 9999 }))).toEqual([]);
  });

  it('bounds prices and amounts to 1,000,000 € with two decimals, rates to 0..100', () => {
    expect(labels(withLine({ prixUnitaire: 3_450_000_000_000 }, 2), 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : facture.lignes[2].prixUnitaire (montant ≤ 1000000 € attendu)',
    ]);
    expect(labels(withLine({ baseAmo: 1_000_000.01, montantAmo: 12.345 }, 2), 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : facture.lignes[2].baseAmo (montant ≤ 1000000 € attendu)',
      'BR-INVALID Donnée du dossier invalide : facture.lignes[2].montantAmo (2 décimales au plus)',
    ]);
    expect(labels(withLine({ tauxAmo: 180 }, 2), 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : facture.lignes[2].tauxAmo (taux ≤ 100 % attendu)',
    ]);
    expect(labels(withLine({ prixUnitaire: Infinity }), 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : facture.lignes[0].prixUnitaire (nombre attendu)',
    ]);
    expect(validateDossier('clc', withLine({ prixUnitaire: 1_000_000, baseAmo: '3120.45', tauxAmo: 100 }, 2))).toEqual([]);
  });

  it('bounds the line count, line numbers and text lengths', () => {
    const many = Array.from({ length: DOSSIER_BOUNDS.lignesMax + 1 }, () => f.lignes[0]);
    expect(labels(dossier({ facture: { ...f, lignes: many } }), 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : facture.lignes (500 lignes au plus)',
    ]);
    expect(labels(withLine({ numero: 100000 }), 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : facture.lignes[0].numero (entier de 1 à 9999 attendu)',
    ]);
    expect(labels(dossier({ facture: { ...f, numero: 'F'.repeat(101) } }), 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : facture.numero (100 caractères au plus)',
    ]);
    const b = dossier().beneficiaire!;
    const longName = 'Lefèvre'.repeat(20);
    const out = validateDossier('idb', dossier({ beneficiaire: { ...b, nom: longName } }));
    expect(out.map((m) => m.libelle)).toEqual(['Donnée du dossier invalide : beneficiaire.nom (100 caractères au plus)']);
    expect(JSON.stringify(out)).not.toContain('Lefèvre');
    expect(labels(dossier({ engagement: { numero: 'E'.repeat(5000) } }), 'del')).toEqual([
      'BR-INVALID Donnée du dossier invalide : engagement.numero (100 caractères au plus)',
    ]);
  });

  it('keeps dates between 1900 and 2100, and every end on or after its start', () => {
    const b = dossier().beneficiaire!;
    expect(labels(dossier({ beneficiaire: { ...b, dateNaissance: '1850-01-01' } }), 'idb')).toEqual([
      'BR-INVALID Donnée du dossier invalide : beneficiaire.dateNaissance (date entre 1900 et 2100 attendue)',
    ]);
    expect(labels(dossier({ venue: { type: 'HOSPITALISATION', dateEntree: '2199-03-02' } }), 'idb')).toEqual([
      'BR-INVALID Donnée du dossier invalide : venue.dateEntree (date entre 1900 et 2100 attendue)',
    ]);
    const a = dossier().attestation!;
    expect(labels(dossier({ attestation: { ...a, debutValidite: '2026-12-31', finValidite: '2026-01-01' } }), 'idb')).toEqual([
      'BR-INVALID Donnée du dossier invalide : attestation.finValidite (postérieure ou égale à attestation.debutValidite attendue)',
    ]);
    expect(labels(withLine({ dateFin: '2026-03-01' }), 'clc')).toEqual([
      'BR-INVALID Donnée du dossier invalide : facture.lignes[0].dateFin (postérieure ou égale à facture.lignes[0].dateDebut attendue)',
    ]);
  });

  it('property: a line with any number in any field is accepted only within its bounds, and never throws', () => {
    const FIELDS = {
      quantite: [0, DOSSIER_BOUNDS.quantiteMax, true],
      prixUnitaire: [0, 1e6, false],
      baseAmo: [0, 1e6, false],
      tauxAmo: [0, 100, false],
      montantAmo: [0, 1e6, false],
    } as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(FIELDS) as (keyof typeof FIELDS)[])),
        fc.oneof(
          fc.double(),
          fc.integer({ min: -1e12, max: 1e12 }),
          fc.integer({ min: -200, max: 20000 }).map((n) => n / 100),
        ),
        (field, v) => {
          const out = validateDossier('clc', withLine({ [field]: v }, 1));
          const [min, max, strict] = FIELDS[field];
          const ok = Number.isFinite(v) && (strict ? v > min : v >= min) && v <= max && Math.abs(v * 100 - Math.round(v * 100)) <= 1e-6;
          expect(out.length === 0).toBe(ok);
          for (const m of out) expect(m.libelle).toContain(`facture.lignes[1].${field}`);
        },
      ),
      { seed: 20260307, numRuns: 500 },
    );
  });
});
