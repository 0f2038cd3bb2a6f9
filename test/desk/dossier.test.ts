/** The dossier the desk builds from the form: the NIR key, the venue types, the quote at the site's tariffs. */
import fc from 'fast-check';
import { buildDossier, checkTariffs, DEFAULT_TARIFFS, VENUE_TYPES, type DeskForm } from '../../lib/desk';
import { nirKey, nirKeyMatches } from '../../lib/model/nir';
import { PROFILE } from '../../lib/sel/profile';

function form(patch: { patient?: object; sejour?: object; devis?: object } = {}): DeskForm {
  return {
    patient: {
      nir: '2850430189042',
      cleNir: '44',
      dateNaissance: '1985-04-12',
      rangNaissance: '1',
      nom: 'MARTIN',
      prenom: 'Camille',
      ...patch.patient,
    },
    sejour: {
      type: 'HOSPITALISATION',
      dateEntree: '2026-11-20',
      dateSortie: '2026-11-24',
      numeroDossier: 'NDA-2026-004512',
      ...patch.sejour,
    },
    devis: { ...patch.devis },
  };
}

function saisie(f: DeskForm): string[] {
  const r = buildDossier(f);
  return r.ok ? [] : r.saisie;
}

describe('the NIR key (lib/model/nir.ts, the one copy)', () => {
  it('computes known keys, Corsica included', () => {
    expect(nirKey('2850430189042')).toBe('44');
    expect(nirKey('1010184007155')).toBe('97');
    expect(nirKey('2480630007301')).toBe('09');
    expect(nirKey('274102A004023')).toBe('46');
    expect(nirKey('185052B123456')).toBe(nirKey('1850518123456'));
    expect(nirKey('28504301890')).toBeUndefined();
  });

  it('accepts the right key and refuses every other one (property, fixed seed)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[12][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{6}$/), fc.integer({ min: 0, max: 99 }), (nir, k) => {
        const right = nirKey(nir)!;
        expect(nirKeyMatches(nir, right)).toBe(true);
        const other = String(k).padStart(2, '0');
        if (other !== right) expect(nirKeyMatches(nir, other)).toBe(false);
      }),
      { seed: 20261206, numRuns: 300 },
    );
  });
});

describe('desk dossier', () => {
  it('a complete form: beneficiaire and venue for the services, no quote', () => {
    const r = buildDossier(form());
    expect(r).toEqual({
      ok: true,
      devisVide: false,
      dossier: {
        beneficiaire: {
          nir: '2850430189042',
          cleNir: '44',
          dateNaissance: '1985-04-12',
          rangNaissance: 1,
          nom: 'MARTIN',
          prenom: 'Camille',
        },
        venue: { type: 'HOSPITALISATION', dateEntree: '2026-11-20', dateSortie: '2026-11-24', numeroDossier: 'NDA-2026-004512' },
      },
    });
  });

  it('a NIR typed with spaces and dots, and no key, is accepted as is', () => {
    const r = buildDossier(form({ patient: { nir: '2 85 04 30.189.042', cleNir: '' } }));
    expect(r.ok && r.dossier.beneficiaire).toMatchObject({ nir: '2850430189042' });
    expect(r.ok && 'cleNir' in r.dossier.beneficiaire).toBe(false);
  });

  it('refuses a NIR key that does not match the number, with what to check', () => {
    expect(saisie(form({ patient: { cleNir: '45' } }))).toEqual(['la clé du NIR (elle ne correspond pas au numéro : vérifiez la saisie)']);
    expect(saisie(form({ patient: { cleNir: '4' } }))).toEqual(['une clé de NIR de 2 chiffres']);
    expect(saisie(form({ patient: { nir: '285043018904' } }))).toEqual(['un NIR de 13 caractères (celui saisi n’a pas la bonne forme)']);
    expect(saisie(form({ patient: { nir: '' } }))).toEqual(['le NIR du patient']);
  });

  it('accepts a Corsican NIR with its key', () => {
    const r = buildDossier(form({ patient: { nir: '274102a004023', cleNir: '46' } }));
    expect(r.ok && r.dossier.beneficiaire.nir).toBe('274102A004023');
  });

  it('offers exactly the ROC profile’s venue types, HOSPITALISATION by default', () => {
    expect(VENUE_TYPES).toEqual(PROFILE.codeLists.typeVenue);
    for (const type of VENUE_TYPES) {
      const r = buildDossier(form({ sejour: { type } }));
      expect(r.ok && r.dossier.venue.type).toBe(type);
    }
    const r = buildDossier(form({ sejour: { type: '' } }));
    expect(r.ok && r.dossier.venue.type).toBe('HOSPITALISATION');
    expect(saisie(form({ sejour: { type: 'CONSULTATION' } }))).toEqual(['le type de séjour']);
  });

  it('lists everything missing at once, in the order of the form', () => {
    expect(
      saisie(
        form({
          patient: { nir: '', dateNaissance: '1985-02-30', rangNaissance: '0', nom: ' ', prenom: '' },
          sejour: { dateEntree: '20/11/2026', dateSortie: '' },
        }),
      ),
    ).toEqual([
      'le NIR du patient',
      'la date de naissance',
      'le rang de naissance (1 en général, 2 pour le second jumeau…)',
      'le nom du patient',
      'le prénom du patient',
      'la date d’entrée',
    ]);
    expect(saisie(form({ sejour: { dateSortie: '2026-11-19' } }))).toEqual(['une date de sortie prévue postérieure à l’entrée']);
    expect(saisie(form({ sejour: { dateSortie: '2026-13-01' } }))).toEqual(['une date de sortie prévue valide']);
  });

  it('prices the quote with the default tariffs: GHS at 80 % AMO, forfait journalier and private room per night', () => {
    const r = buildDossier(form({ devis: { demande: true, ghs: '3 512,40', nuits: '', chambreParticuliere: true } }), {
      numeroDevis: 'DEVIS-4f2a',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.dossier.devis!.numero).toBe('DEVIS-4f2a');
    const base = { dateDebut: '2026-11-20', dateFin: '2026-11-24' };
    expect(r.dossier.devis!.lignes).toEqual([
      { numero: 1, code: 'GHS', ...base, quantite: 1, prixUnitaire: 3512.4, baseAmo: 3512.4, tauxAmo: 80, montantAmo: 2809.92 },
      { numero: 2, code: 'FJ', ...base, quantite: 4, prixUnitaire: 20, baseAmo: 0, tauxAmo: 0, montantAmo: 0 },
      { numero: 3, code: 'CP', ...base, quantite: 4, prixUnitaire: 75, baseAmo: 0, tauxAmo: 0, montantAmo: 0 },
    ]);
  });

  it('uses the site’s own tariffs when given', () => {
    const r = buildDossier(form({ devis: { demande: true, ghs: '1000', nuits: '2', chambreParticuliere: true } }), {
      tariffs: { forfaitJournalier: 18, chambreParticuliere: 90, tauxAmoGhs: 100 },
    });
    const lignes = r.ok ? r.dossier.devis!.lignes : [];
    expect(lignes.map((l) => [l.code, l.quantite, l.prixUnitaire, l.montantAmo])).toEqual([
      ['GHS', 1, 1000, 1000],
      ['FJ', 2, 18, 0],
      ['CP', 2, 90, 0],
    ]);
  });

  it('a quote with nothing to price is flagged, not sent', () => {
    const r = buildDossier(form({ sejour: { dateSortie: '2026-11-20' }, devis: { demande: true, ghs: '', nuits: '' } }));
    expect(r.ok && r.devisVide).toBe(true);
    expect(r.ok && r.dossier.devis).toBeUndefined();
    expect(saisie(form({ devis: { demande: true, nuits: '2,5' } }))).toEqual(['le nombre de nuits du devis (entier de 0 à 365)']);
    expect(saisie(form({ devis: { demande: true, ghs: 'trois mille' } }))).toEqual(['le tarif du séjour (GHS) en euros']);
  });
});

describe('tariff settings', () => {
  it('reads numbers and French decimals, empty keeps the default', () => {
    expect(checkTariffs({ forfaitJournalier: '18,5', chambreParticuliere: 90, tauxAmoGhs: '' })).toEqual({
      tariffs: { forfaitJournalier: 18.5, chambreParticuliere: 90, tauxAmoGhs: DEFAULT_TARIFFS.tauxAmoGhs },
      errors: [],
    });
    expect(checkTariffs()).toEqual({ tariffs: { forfaitJournalier: 20, chambreParticuliere: 75, tauxAmoGhs: 80 }, errors: [] });
  });

  it('names each setting out of bounds', () => {
    expect(checkTariffs({ tauxAmoGhs: 120, forfaitJournalier: 'vingt' }).errors).toEqual([
      'forfait journalier (€ par jour) : de 0 à 1000',
      'taux AMO du séjour (%) : de 0 à 100',
    ]);
  });
});
