/**
 * The dossier record (lib/dossier/dossier.ts): its key, what an admission message merges into it,
 * coverage change detection, service results recorded as exchanges, and answers that contradict
 * the stored state flagged — never silently overwritten.
 */
import {
  dossierKey,
  mergeAdmission,
  receiveInvoice,
  recordExchange,
  markRequested,
  type DossierRecord,
  type ServiceOutcome,
} from '../../lib/dossier/dossier';
import type { ClcResult, DelResult, IdbResult } from '../../lib/model/dossier';
import { koResult } from '../../lib/sel/result';
import { admission, amcCoverage, amoCoverage, facture, result, FINESS_GEO } from './fixtures';

const AT = '2026-11-20T08:30:00.000Z';

function admitted(): DossierRecord {
  return mergeAdmission(undefined, admission('A01'), AT).dossier;
}

function engaged(numero = 'ENG-2026-000481'): DossierRecord {
  let d = admitted();
  d = recordExchange(d, result('idb', 'OK', { dateValidite: '2026-11-30' })).dossier;
  d = { ...d, etat: 'FACTURE_RECUE', facture: facture() };
  d = recordExchange(d, result('clc', 'OK', { engagement: { numero } })).dossier;
  return { ...d, etat: 'ENGAGE' };
}

describe('the dossier key', () => {
  it('is FINESS géographique + venue number (PV1-19), else + NDA', () => {
    expect(dossierKey(admission('A01'))).toEqual({ key: `${FINESS_GEO}/V/V2026110001`, source: 'PV1-19' });
    expect(dossierKey(admission('A01', { venue: null }))).toEqual({ key: `${FINESS_GEO}/N/NDA2026000123`, source: 'PID-18' });
  });

  it('refuses a message with neither venue nor NDA, naming the fields', () => {
    const a = admission('A01', { venue: null });
    delete a.venue!.nda;
    expect(dossierKey(a)).toBeUndefined();
    expect(() => mergeAdmission(undefined, a)).toThrow('ni numéro de venue (PV1-19) ni NDA (PID-18)');
  });
});

describe('mergeAdmission', () => {
  it('creates the dossier from an admission: identity, coverage, stay; state ADMIS; event ADMISSION', () => {
    const r = mergeAdmission(undefined, admission('A01'), AT);
    expect(r.created).toBe(true);
    expect(r.event).toBe('ADMISSION');
    expect(r.dossier).toMatchObject({
      key: `${FINESS_GEO}/V/V2026110001`,
      etat: 'ADMIS',
      droits: 'INCONNUS',
      finessGeographique: FINESS_GEO,
      identite: { ipp: '0012345678', nir: '2850775123456', nom: 'MARTIN', prenom: 'SOPHIE', dateNaissance: '1985-07-14' },
      couverture: { numeroAmc: '0000123456', numeroAdherent: '00412345', typeConvention: 'IS' },
      sejour: { type: 'HOSPITALISATION', dateEntree: '2026-11-20', nda: 'NDA2026000123', numeroVenue: 'V2026110001' },
    });
  });

  it('an admission without AMC coverage gives a dossier SANS_AMC', () => {
    const r = mergeAdmission(undefined, admission('A01', { coverages: [amoCoverage()] }), AT);
    expect(r.dossier.etat).toBe('SANS_AMC');
    expect(r.dossier.couverture).toBeUndefined();
  });

  it('a discharge for a stay the bridge never saw creates the dossier from the message', () => {
    const r = mergeAdmission(undefined, admission('A03', { admit: '2026-10-02T10:00', discharge: '2026-11-24T11:15' }), AT);
    expect(r.created).toBe(true);
    expect(r.event).toBe('SORTIE');
    expect(r.dossier.etat).toBe('ADMIS');
    expect(r.dossier.sejour).toMatchObject({ dateEntree: '2026-10-02', dateSortie: '2026-11-24' });
  });

  it('a pre-admission keeps the expected date and marks the stay as planned; the admission clears the mark', () => {
    const pre = mergeAdmission(undefined, admission('A05', { admit: '2026-12-01T07:00', expected: '2026-12-01T07:00' }), AT);
    expect(pre.event).toBe('PRE_ADMISSION');
    expect(pre.dossier.sejour).toMatchObject({ dateEntreePrevue: '2026-12-01', preAdmission: true });
    expect(pre.dossier.sejour.dateEntree).toBeUndefined();
    const adm = mergeAdmission(pre.dossier, admission('A01', { admit: '2026-12-01T07:40' }), AT);
    expect(adm.event).toBe('ADMISSION');
    expect(adm.dossier.sejour.preAdmission).toBeUndefined();
    expect(adm.dossier.sejour.dateEntree).toBe('2026-12-01');
  });

  it('merges the discharge date without losing what earlier messages brought', () => {
    const d = admitted();
    const a = admission('A03', { discharge: '2026-11-24T11:15' });
    delete a.patient.nir;
    a.coverages = [];
    const r = mergeAdmission(d, a, AT);
    expect(r.event).toBe('SORTIE');
    expect(r.coverage).toBe('AUCUN');
    expect(r.dossier.identite.nir).toBe('2850775123456');
    expect(r.dossier.couverture?.numeroAmc).toBe('0000123456');
    expect(r.dossier.sejour).toMatchObject({ dateEntree: '2026-11-20', dateSortie: '2026-11-24' });
  });

  it('a new numéro AMC is a coverage change (IDB again)', () => {
    const r = mergeAdmission(admitted(), admission('A08', { coverages: [amoCoverage(), amcCoverage('0000987654', '00412345')] }), AT);
    expect(r.coverage).toBe('MODIFIEE');
    expect(r.event).toBe('COUVERTURE_CHANGEE');
    expect(r.dossier.couverture?.numeroAmc).toBe('0000987654');
  });

  it('a new numéro d’adhérent is a coverage change; the same coverage again is not', () => {
    expect(mergeAdmission(admitted(), admission('Z99', { coverages: [amcCoverage('0000123456', '00499999')] }), AT).event).toBe(
      'COUVERTURE_CHANGEE',
    );
    const same = mergeAdmission(admitted(), admission('A08'), AT);
    expect(same.coverage).toBe('AUCUN');
    expect(same.event).toBe('MISE_A_JOUR');
  });

  it('an AMC added to a dossier without one is a coverage change', () => {
    const d = mergeAdmission(undefined, admission('A01', { coverages: [amoCoverage()] }), AT).dossier;
    const r = mergeAdmission(d, admission('A08'), AT);
    expect(r.coverage).toBe('NOUVELLE');
    expect(r.event).toBe('COUVERTURE_CHANGEE');
  });

  it('an update whose coverage groups hold no AMC any more removes the coverage; a message without IN1 says nothing', () => {
    const removed = mergeAdmission(admitted(), admission('A08', { coverages: [amoCoverage()] }), AT);
    expect(removed.coverage).toBe('RETIREE');
    expect(removed.event).toBe('COUVERTURE_RETIREE');
    expect(removed.dossier.couverture).toBeUndefined();
    const silent = mergeAdmission(admitted(), admission('A08', { coverages: [] }), AT);
    expect(silent.coverage).toBe('AUCUN');
    expect(silent.dossier.couverture?.numeroAmc).toBe('0000123456');
  });

  it('A11 and A38 are cancellations; A13 cancels the discharge only (the stay goes on, its discharge date is forgotten)', () => {
    for (const e of ['A11', 'A38']) expect(mergeAdmission(admitted(), admission(e), AT).event).toBe('ANNULATION');
    const out = mergeAdmission(
      mergeAdmission(admitted(), admission('A03', { discharge: '2026-11-24T10:00' }), AT).dossier,
      admission('A13'),
      AT,
    );
    expect(out.event).toBe('ANNULATION_SORTIE');
    expect(out.dossier.sejour.dateSortie).toBeUndefined();
  });

  it('never modifies the stored dossier', () => {
    const d = admitted();
    const copy = JSON.parse(JSON.stringify(d));
    mergeAdmission(d, admission('A08', { coverages: [amcCoverage('0000987654')], discharge: '2026-11-24T10:00' }), AT);
    expect(d).toEqual(copy);
  });
});

describe('recordExchange', () => {
  it('records an IDB OK: exchange with request id, code, latency; rights OK; validity date kept', () => {
    let d = markRequested(admitted(), 'idb', 'REQ-IDB-1', AT);
    expect(d.enCours.idb?.requestId).toBe('REQ-IDB-1');
    const r = recordExchange(d, result('idb', 'OK', { requestId: 'REQ-IDB-1', dateValidite: '2026-11-30' }), AT);
    d = r.dossier;
    expect(r.event).toBe('IDB_OK');
    expect(d.droits).toBe('OK');
    expect(d.idbValidite).toBe('2026-11-30');
    expect(d.enCours.idb).toBeUndefined();
    expect(d.echanges).toEqual([
      {
        service: 'idb',
        requestId: 'REQ-IDB-1',
        status: 'OK',
        technical: false,
        code: '0000',
        latencyMs: 412,
        at: '2026-11-20T08:31:00.000Z',
      },
    ]);
  });

  it('tells the technical KO from the AMC’s own KO', () => {
    expect(recordExchange(admitted(), result('idb', 'KO', { technical: true, code: '0999' })).event).toBe('IDB_TECHNIQUE');
    const ko = recordExchange(admitted(), result('idb', 'KO', { code: '6002' }));
    expect(ko.event).toBe('IDB_KO');
    expect(ko.dossier.droits).toBe('KO');
    expect(ko.dossier.echanges[0].code).toBe('6002');
  });

  it('a renewal that closes the rights flags the change for the GAP', () => {
    const ok = recordExchange(admitted(), result('idb', 'OK')).dossier;
    const ko = recordExchange(ok, result('idb', 'KO', { code: '6002' })).dossier;
    expect(ko.drapeaux.map((f) => f.code)).toEqual(['DROITS_MODIFIES']);
  });

  it('stores the engagement a CLC gives, with its invoice and request id', () => {
    const d = engaged();
    expect(d.engagements).toEqual([
      {
        numero: 'ENG-2026-000481',
        factureNumero: 'F2026-000481',
        requestId: expect.stringMatching(/^REQ-clc-/),
        at: '2026-11-20T08:31:00.000Z',
        statut: 'VIVANT',
      },
    ]);
    expect(d.echanges.at(-1)).toMatchObject({ service: 'clc', engagement: 'ENG-2026-000481' });
  });

  it('the same engagement answered twice (the AMC deduplicated) is not a second engagement', () => {
    const d = engaged();
    const again = recordExchange({ ...d, etat: 'A_REVERIFIER' }, result('clc', 'OK', { engagement: { numero: 'ENG-2026-000481' } }));
    expect(again.event).toBe('CLC_OK');
    expect(again.dossier.engagements).toHaveLength(1);
  });

  it('a DEL OK cancels the engagement the DEL was asked for; its motive decides the event', () => {
    let d = markRequested(engaged(), 'del', 'REQ-DEL-1', AT, { engagement: 'ENG-2026-000481', motif: 'ANNULATION' });
    expect(d.engagements[0].delDemande).toEqual({ at: AT, requestId: 'REQ-DEL-1' });
    const r = recordExchange(d, result('del', 'OK', { requestId: 'REQ-DEL-1', engagement: 'ENG-2026-000481' }));
    d = r.dossier;
    expect(r.event).toBe('DEL_OK_ANNULATION');
    expect(d.engagements[0]).toMatchObject({ statut: 'ANNULE' });
    expect(d.engagements[0].delDemande).toBeUndefined();
  });

  it('an amended invoice waits for the DEL of the old engagement, then takes its place', () => {
    let d = engaged();
    const inv = receiveInvoice(d, facture('F2026-000481', 3500), AT);
    expect(inv.kind).toBe('MODIFIEE');
    expect(inv.event).toBe('FACTURE_MODIFIEE');
    d = inv.dossier;
    expect(d.facture?.lignes[0].prixUnitaire).toBe(3452.4);
    expect(d.factureEnAttente?.lignes[0].prixUnitaire).toBe(3500);
    d = markRequested(d, 'del', 'REQ-DEL-2', AT, { engagement: 'ENG-2026-000481', motif: 'REMPLACEMENT' });
    const r = recordExchange(d, result('del', 'OK', { engagement: 'ENG-2026-000481' }));
    expect(r.event).toBe('DEL_OK_REMPLACEMENT');
    expect(r.dossier.facture?.lignes[0].prixUnitaire).toBe(3500);
    expect(r.dossier.factureEnAttente).toBeUndefined();
  });

  it('the same invoice again is IDENTIQUE and changes nothing', () => {
    const d = engaged();
    const r = receiveInvoice(d, facture(), AT);
    expect(r.kind).toBe('IDENTIQUE');
    expect(r.dossier).toBe(d);
  });

  it('a DEL refused as already invoiced (6022) flags the dossier for manual handling, the engagement stays live', () => {
    const d = markRequested(engaged(), 'del', 'REQ-DEL-3', AT, { engagement: 'ENG-2026-000481', motif: 'ANNULATION' });
    const r = recordExchange(d, result('del', 'KO', { code: '6022', engagement: 'ENG-2026-000481' }), AT);
    expect(r.event).toBe('DEL_DEJA_FACTURE');
    expect(r.dossier.engagements[0].statut).toBe('VIVANT');
    expect(r.dossier.drapeaux).toEqual([{ code: 'DEJA_FACTURE', motif: expect.stringContaining('déjà facturé (6022)'), at: AT }]);
  });

  it('a technical DEL keeps the DEL awaited (it is asked again with the same request id, never a new one)', () => {
    const d = markRequested(engaged(), 'del', 'REQ-DEL-4', AT, { engagement: 'ENG-2026-000481', motif: 'ANNULATION' });
    const r = recordExchange(d, result('del', 'KO', { technical: true, code: '0999', requestId: 'REQ-DEL-4' }), AT);
    expect(r.event).toBe('DEL_TECHNIQUE');
    expect(r.dossier.engagements[0].delDemande?.requestId).toBe('REQ-DEL-4');
  });
});

describe('contradictions are flagged, never silently overwritten', () => {
  it('a second, different engagement for the same invoice', () => {
    const d = engaged();
    const r = recordExchange(d, result('clc', 'OK', { engagement: { numero: 'ENG-2026-999999' } }), AT);
    expect(r.event).toBe('CONTRADICTION');
    expect(r.contradiction).toBe('deuxième engagement ENG-2026-999999 pour la facture F2026-000481 (engagement ENG-2026-000481 vivant)');
    expect(r.dossier.engagements).toEqual(d.engagements);
    expect(r.dossier.drapeaux.map((f) => f.code)).toEqual(['CONTRADICTION']);
    expect(r.dossier.echanges.at(-1)).toMatchObject({ engagement: 'ENG-2026-999999', contradiction: r.contradiction });
  });

  it('an engagement for a cancelled stay', () => {
    const d = { ...engaged(), etat: 'ANNULE' as const, engagements: [] };
    const r = recordExchange(d, result('clc', 'OK', { engagement: { numero: 'ENG-2026-000777' } }));
    expect(r.event).toBe('CONTRADICTION');
    expect(r.dossier.engagements).toEqual([]);
  });

  it('an engagement when no invoice is known', () => {
    const r = recordExchange({ ...admitted(), etat: 'FACTURE_RECUE' }, result('clc', 'OK', { engagement: { numero: 'ENG-1' } }));
    expect(r.contradiction).toBe('engagement ENG-1 reçu sans facture connue');
  });

  it('a DEL OK for an engagement the dossier does not know', () => {
    const d = engaged();
    const r = recordExchange(d, result('del', 'OK', { engagement: 'ENG-INCONNU' }));
    expect(r.event).toBe('CONTRADICTION');
    expect(r.dossier.engagements).toEqual(d.engagements);
  });

  it('contradiction reasons never hold patient data', () => {
    const d = engaged();
    const r = recordExchange(d, result('clc', 'OK', { engagement: { numero: 'ENG-X' } }));
    expect(JSON.stringify(r.dossier.drapeaux)).not.toMatch(/MARTIN|SOPHIE|2850775123456|1985-07-14/);
  });
});

describe('results as lib/sel writes them on msg.roc.<service>', () => {
  it('records a technical CLC KO built by the client (koResult) and the model types fit ServiceOutcome', () => {
    const clock = { now: () => Date.parse('2026-11-24T10:00:00Z'), randomId: () => 'RID-1' };
    const ko = koResult(
      { service: 'clc', t0: 0, technical: true, reason: 'AMC injoignable', code: '0999', requestId: 'REQ-CLC-42', attempts: 3 },
      clock,
    );
    if (ko.service !== 'clc') throw new Error('clc expected');
    const asOutcome: ServiceOutcome = ko; // ClcResult fits
    const d = { ...admitted(), etat: 'FACTURE_RECUE' as const, droits: 'OK' as const, facture: facture() };
    const r = recordExchange(d, asOutcome, '2026-11-24T10:00:01Z');
    expect(r.event).toBe('CLC_TECHNIQUE');
    expect(r.dossier.echanges.at(-1)).toMatchObject({
      service: 'clc',
      requestId: 'REQ-CLC-42',
      status: 'KO',
      technical: true,
      code: '0999',
    });
    // Compile-time: the model's results are accepted as they are.
    const idb: IdbResult = {
      service: 'idb',
      status: 'OK',
      technical: false,
      messages: [],
      requestId: 'R',
      latencyMs: 1,
      attempts: 1,
      at: AT,
      consignes: [],
      dateValidite: '2026-11-30',
    };
    const del: DelResult = {
      service: 'del',
      status: 'OK',
      technical: false,
      messages: [],
      requestId: 'R',
      latencyMs: 1,
      attempts: 1,
      at: AT,
      engagement: 'ENG-1',
    };
    const clc: ClcResult = {
      service: 'clc',
      status: 'OK',
      technical: false,
      messages: [],
      requestId: 'R',
      latencyMs: 1,
      attempts: 1,
      at: AT,
      lignes: [],
      consignes: [],
      engagement: { numero: 'ENG-1' },
    };
    const all: ServiceOutcome[] = [idb, del, clc];
    expect(all).toHaveLength(3);
  });
});
