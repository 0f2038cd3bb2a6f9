/**
 * The desk's verdicts and advice, one by one, as the page gets them: the tables are data, the
 * texts speak the clerk's language (no setting names, no milliseconds, typographic apostrophes).
 */
import { CONSEIL, deskAnswer, TITRE_KO, VERDICTS, verdict } from '../../lib/desk';
import type { IdbResult, RocMessage } from '../../lib/model/dossier';

const ATT_OK = {
  status: 'OK',
  source: 'texte',
  numeroAmc: '0775685365',
  typesConvention: ['MU'],
  debutValidite: '2026-01-01',
  finValidite: '2026-12-31',
  warnings: [],
  repairs: [{ code: 'FIN_DE_LIGNE', message: 'Retour à la ligne final de la douchette ignoré.' }],
};
const AMC = { numeroAmc: '0775685365', typeConvention: 'MU', csr: '' };
const BENEF = { nir: '2850430189042', cleNir: '44', dateNaissance: '1985-04-12', rangNaissance: 1, nom: 'MARTIN', prenom: 'Camille' };
const base = { requestId: 'r-1', latencyMs: 42, attempts: 1, at: '2026-11-20T08:12:00.000Z' };
const ANNUAIRE_OK = {
  ...base,
  service: 'annuaire',
  status: 'OK',
  technical: false,
  messages: [],
  amc: { numeroAmc: '0775685365', nom: 'Mutuelle des Cévennes', operateur: 'direct' },
};

function msg(code: string, groupe: string, libelle: string, action?: RocMessage['action']): RocMessage {
  return { code, groupe, severite: 'ERREUR', libelle, action };
}
function idbKo(m: RocMessage, extra: Partial<IdbResult> = {}) {
  return { ...base, service: 'idb', status: 'KO', technical: false, reason: m.libelle, messages: [m], consignes: [], ...extra };
}
function dossier(extra: Record<string, unknown> = {}) {
  return {
    attestation: ATT_OK,
    amc: AMC,
    beneficiaire: BENEF,
    venue: { type: 'HOSPITALISATION', dateEntree: '2026-11-20' },
    annuaire: ANNUAIRE_OK,
    ...extra,
  };
}

describe('desk verdicts', () => {
  it('LECTURE: the attestation was not read — the reader’s reason and code', () => {
    const g = verdict({ attestation: { status: 'KO', code: 'SCAN_INCOMPLET', reason: 'La lecture est incomplète : rescannez.' } }, {});
    expect(g).toEqual({
      verdict: 'LECTURE',
      titre: 'Attestation non lue',
      motif: 'La lecture est incomplète : rescannez.',
      code: 'SCAN_INCOMPLET',
      etape: 'attestation',
    });
    expect(verdict({}, {}).motif).toBe('Lecture impossible.');
  });

  it('SAISIE: the attestation was read, the patient must be completed', () => {
    const g = verdict({ attestation: ATT_OK, amc: AMC }, { saisie: ['le NIR du patient', 'la date d’entrée'] });
    expect(g).toEqual({
      verdict: 'SAISIE',
      titre: 'Patient à compléter',
      motif: 'Attestation lue. Pour interroger l’AMC, indiquez le NIR du patient ; la date d’entrée.',
      etape: 'patient',
    });
  });

  it('OK: rights open', () => {
    const idb = { ...base, service: 'idb', status: 'OK', technical: false, messages: [], consignes: [] };
    expect(verdict(dossier({ idb }), {})).toEqual({ verdict: 'OK', titre: 'Droits ouverts', motif: VERDICTS.ok.motif, etape: 'idb' });
  });

  it('KO: the AMC’s decision, titled and advised by the catalogue’s action', () => {
    const cases: [RocMessage, string, string | undefined][] = [
      [msg('6002', 'DROITS', 'Droits non ouverts à la date des soins', 'FACTURER_PATIENT'), 'Droits non ouverts', CONSEIL.FACTURER_PATIENT],
      [msg('6001', 'RECHERCHE', "Bénéficiaire inconnu de l'AMC", 'CORRIGER'), 'Données à corriger', CONSEIL.CORRIGER],
      [msg('6008', 'CONTROLE', "Vérifier l'attestation papier", 'TRAITEMENT_MANUEL'), 'Contrôle manuel requis', CONSEIL.TRAITEMENT_MANUEL],
      [msg('6099', 'AUTRE', 'Refus', undefined), 'Droits non confirmés', undefined],
    ];
    for (const [m, titre, conseil] of cases) {
      const g = verdict(dossier({ idb: idbKo(m) }), {});
      expect(g).toEqual({ verdict: 'KO', titre, motif: m.libelle.replace(/'/g, '’'), code: m.code, etape: 'idb', conseil });
    }
  });

  it('KO at the annuaire: AMC outside ROC, or unknown', () => {
    const horsRoc = {
      ...ANNUAIRE_OK,
      status: 'KO',
      reason: 'hors ROC',
      messages: [msg('BR-NOT-ROC', 'DROITS', 'Organisme complémentaire hors ROC : facturation papier ou patient', 'FACTURER_PATIENT')],
    };
    expect(verdict(dossier({ annuaire: horsRoc }), {})).toMatchObject({
      verdict: 'KO',
      titre: 'AMC hors ROC',
      etape: 'annuaire',
      code: 'BR-NOT-ROC',
      conseil: CONSEIL.FACTURER_PATIENT,
    });
    const inconnue = {
      ...horsRoc,
      messages: [msg('BR-AMC-UNKNOWN', 'CONTROLE', "Organisme complémentaire inconnu de l'annuaire", 'CORRIGER')],
    };
    expect(verdict(dossier({ annuaire: inconnue }), {})).toMatchObject({ verdict: 'KO', titre: 'AMC introuvable', etape: 'annuaire' });
  });

  it('TECHNIQUE after a 10 s wait: the clerk reads seconds and tries, never the bridge’s 5000 ms read timeout', () => {
    const idb = idbKo(msg('BR-TIMEOUT', 'TECHNIQUE', "Pas de réponse de l'organisme complémentaire dans le délai", 'REESSAYER'), {
      technical: true,
      reason: 'délai de réponse de 5000 ms dépassé (IDB, 2 tentatives)',
      attempts: 2,
      latencyMs: 10_214,
    });
    const g = verdict(dossier({ idb }), {});
    expect(g).toEqual({
      verdict: 'TECHNIQUE',
      titre: 'AMC injoignable',
      motif: 'Pas de réponse de l’organisme complémentaire dans le délai (2 essais en 10 s).',
      code: 'BR-TIMEOUT',
      etape: 'idb',
      conseil: CONSEIL.REESSAYER,
    });
    expect(g.motif).not.toMatch(/\bms\b|5000|hangMs|readTimeout/);
  });

  it('TECHNIQUE at the annuaire, refused at once: no duration to report', () => {
    const annuaire = {
      ...ANNUAIRE_OK,
      status: 'KO',
      technical: true,
      reason: 'connexion refusée par annuaire.example (annuaire)',
      latencyMs: 3,
      messages: [msg('BR-UNREACHABLE', 'TECHNIQUE', 'Organisme complémentaire injoignable', 'REESSAYER')],
    };
    expect(verdict(dossier({ annuaire }), {})).toMatchObject({
      verdict: 'TECHNIQUE',
      titre: 'Annuaire des AMC injoignable',
      motif: 'Organisme complémentaire injoignable.',
      etape: 'annuaire',
    });
  });

  it('TECHNIQUE reported by the AMC itself (0999): not a refusal', () => {
    const g = verdict(dossier({ idb: idbKo(msg('0999', 'TECHNIQUE', "Incident technique de l'organisme", 'REESSAYER')) }), {});
    expect(g).toEqual({
      verdict: 'TECHNIQUE',
      titre: 'Incident chez l’AMC',
      motif: 'Incident technique de l’organisme',
      code: '0999',
      etape: 'idb',
      conseil: CONSEIL.REESSAYER,
    });
  });

  it('TECHNIQUE when the rights were never asked', () => {
    expect(verdict(dossier(), {})).toEqual({
      verdict: 'TECHNIQUE',
      titre: 'Pas de réponse des droits',
      motif: 'La vérification des droits n’a pas abouti.',
      etape: 'idb',
      conseil: CONSEIL.REESSAYER,
    });
  });

  it('every text of the tables is typographic French, no straight apostrophe, no millisecond', () => {
    const texts = [
      ...Object.values(CONSEIL),
      ...Object.values(TITRE_KO),
      VERDICTS.lecture.titre,
      VERDICTS.lecture.motif,
      VERDICTS.saisie.titre,
      VERDICTS.saisie.motif(['x']),
      VERDICTS.ok.titre,
      VERDICTS.ok.motif,
      VERDICTS.technique.annuaire,
      VERDICTS.technique.service,
      VERDICTS.incidentAmc.titre,
      VERDICTS.sansReponse.titre,
      VERDICTS.sansReponse.motif,
      VERDICTS.devisVide,
    ];
    for (const t of texts) {
      expect(t).not.toMatch(/'|\bms\b/);
      expect(t).not.toMatch(/\S[:;]/); // a space before « : » and « ; », as on the rest of the page
    }
  });
});

describe('desk answer', () => {
  it('OK with the quote: the AMC, the attestation, the rights and the priced lines merged with SIM’s amounts', () => {
    const idb = {
      ...base,
      service: 'idb',
      status: 'OK',
      technical: false,
      messages: [],
      couverture: { numeroContrat: 'CEV-1', periodes: [{ debut: '2026-01-01' }], domaines: ['HOSPITALISATION'] },
      dateValidite: '2026-11-21',
      consignes: [],
    };
    const lignes = [
      {
        numero: 1,
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
        numero: 2,
        code: 'CP',
        dateDebut: '2026-11-20',
        dateFin: '2026-11-24',
        quantite: 4,
        prixUnitaire: 75,
        baseAmo: 0,
        tauxAmo: 0,
        montantAmo: 0,
      },
    ];
    const sim = {
      ...base,
      service: 'sim',
      status: 'OK',
      technical: false,
      messages: [],
      lignes: [{ numero: 2, montantAmc: 240 }],
      montants: { totalAmc: 320, resteACharge: 60 },
      consignes: [],
    };
    const roc = dossier({ idb, devis: { numero: 'DEVIS-1', lignes }, sim });
    const a = deskAnswer(roc, { t0: 1_000 }, 1_420);
    expect(a.guichet).toMatchObject({ verdict: 'OK', source: 'texte', dureeMs: 420 });
    expect(a.amc).toEqual({ numeroAmc: '0775685365', typeConvention: 'MU', csr: '', nom: 'Mutuelle des Cévennes', operateur: 'direct' });
    expect(a.attestation).toEqual({
      debutValidite: '2026-01-01',
      finValidite: '2026-12-31',
      typesConvention: ['MU'],
      avertissements: [],
      corrections: ['Retour à la ligne final de la douchette ignoré.'],
    });
    expect(a.droits).toEqual({
      numeroContrat: 'CEV-1',
      periodes: [{ debut: '2026-01-01' }],
      domaines: ['HOSPITALISATION'],
      dateValidite: '2026-11-21',
      consignes: [],
    });
    expect(a.devis).toEqual({
      status: 'OK',
      motif: undefined,
      montants: { totalAmc: 320, resteACharge: 60 },
      lignes: [lignes[0], { ...lignes[1], montantAmc: 240 }],
      consignes: [],
    });
    expect(a.roc).toBe(roc);
  });

  it('a quote with nothing to price says what to give', () => {
    const a = deskAnswer(dossier(), { devisVide: true });
    expect(a.devis).toEqual({ status: 'KO', motif: 'Rien à chiffrer : indiquez le tarif du séjour (GHS) ou un nombre de nuits.' });
  });

  it('an unread attestation: its code and reason, no rights, no duration without a start time', () => {
    const a = deskAnswer({ attestation: { status: 'KO', code: 'CARTE_VITALE', reason: 'C’est une carte Vitale.' } }, undefined);
    expect(a.attestation).toEqual({ code: 'CARTE_VITALE', motif: 'C’est une carte Vitale.' });
    expect(a.droits).toBeUndefined();
    expect(a.amc).toBeUndefined();
    expect(a.guichet.dureeMs).toBeUndefined();
  });
});
