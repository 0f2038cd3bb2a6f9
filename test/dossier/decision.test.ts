/**
 * The decision table (lib/dossier/decision.ts), through the cycles a GAP and the AMC play:
 * admission → IDB → invoice → CLC → engagement; cancellation → DEL (once); amended invoice → DEL
 * then CLC; technical KO → re-check on schedule, CLC re-asked with the same request id; 6022 →
 * manual handling; coverage change / removal; pre-admission quote; IDB renewal. Then the whole
 * event × state grid, property-based (fixed seed), and random cycles against a fake AMC.
 */
import fc from 'fast-check';
import type { DelMotif } from '../../lib/dossier/dossier';
import { DECISIONS, decide, step, type Action, type SiteSettings } from '../../lib/dossier/decision';
import {
  mergeAdmission,
  markRequested,
  receiveInvoice,
  recordExchange,
  liveEngagements,
  type DossierRecord,
  type Engagement,
  type ServiceOutcome,
} from '../../lib/dossier/dossier';
import { isIdbRenewalDue, isRecheckDue } from '../../lib/dossier/schedule';
import { EVENTS, STATES, findTransition, type DossierEvent } from '../../lib/dossier/states';
import { admission, amcCoverage, amoCoverage, facture, result, TestClock } from './fixtures';

function kinds(actions: Action[]): string[] {
  return actions.map((a) => a.kind);
}

/** A small harness: the dossier, a clock, and the step/record plumbing a node will do. */
class Venue {
  d: DossierRecord;
  clock = TestClock.at('2026-11-20T08:30:00Z');
  site: SiteSettings;
  constructor(event = 'A01', site: SiteSettings = { simOnPreAdmission: false }, opts: Parameters<typeof admission>[1] = {}) {
    this.site = site;
    const m = mergeAdmission(undefined, admission(event, opts), this.clock.now());
    this.d = m.dossier;
    this.last = this.apply(m.event);
  }
  last: Action[];
  apply(event: DossierEvent): Action[] {
    const r = step(this.d, event, { site: this.site, clock: this.clock });
    if (r.refused) throw new Error(r.refused);
    this.d = r.dossier;
    this.last = r.actions;
    return r.actions;
  }
  gap(event: string, opts: Parameters<typeof admission>[1] = {}): Action[] {
    const m = mergeAdmission(this.d, admission(event, opts), this.clock.now());
    this.d = m.dossier;
    return this.apply(m.event);
  }
  invoice(f = facture()): Action[] {
    const r = receiveInvoice(this.d, f, this.clock.now());
    this.d = r.dossier;
    return this.apply(r.event);
  }
  answer(r: ServiceOutcome, del?: { engagement: string; motif: DelMotif }): Action[] {
    this.d = markRequested(this.d, r.service, r.requestId, this.clock.now(), del);
    const rec = recordExchange(this.d, r, this.clock.now());
    this.d = rec.dossier;
    return this.apply(rec.event);
  }
}

function engagedVenue(): Venue {
  const v = new Venue();
  v.answer(result('idb', 'OK', { dateValidite: '2026-11-30' }));
  v.invoice();
  v.answer(result('clc', 'OK', { engagement: { numero: 'ENG-2026-000481' } }));
  return v;
}

describe('the GAP cycle', () => {
  it('A01 → IDB → DFT → CLC → the GAP gets the engagement → A11 → one DEL → cancelled', () => {
    const v = new Venue();
    expect(v.d.etat).toBe('ADMIS');
    expect(kinds(v.last)).toEqual(['ASK_IDB']);
    expect(kinds(v.answer(result('idb', 'OK', { dateValidite: '2026-11-30' })))).toEqual(['ANSWER_GAP']);
    expect(v.d.etat).toBe('DROITS_OK');
    expect(v.invoice()).toEqual([{ kind: 'ASK_CLC', factureNumero: 'F2026-000481' }]);
    expect(v.d.etat).toBe('FACTURE_RECUE');
    expect(v.answer(result('clc', 'OK', { engagement: { numero: 'ENG-2026-000481' } }))).toEqual([
      { kind: 'ANSWER_GAP', motif: 'engagement ENG-2026-000481', engagement: 'ENG-2026-000481' },
    ]);
    expect(v.d.etat).toBe('ENGAGE');
    expect(v.gap('A11')).toEqual([
      { kind: 'ASK_DEL', engagement: 'ENG-2026-000481', motif: 'ANNULATION' },
      { kind: 'ANSWER_GAP', motif: 'annulation : DEL de chaque engagement vivant' },
    ]);
    // A second cancellation (A38 after A11, or the GAP resending) → no second DEL.
    expect(kinds(v.gap('A38'))).toEqual(['ANSWER_GAP']);
    expect(v.last.some((a) => a.kind === 'ASK_DEL')).toBe(false);
    expect(kinds(v.answer(result('del', 'OK', { engagement: 'ENG-2026-000481' })))).toEqual(['ANSWER_GAP']);
    expect(v.d.etat).toBe('ANNULE');
    expect(kinds(v.gap('A11'))).toEqual(['NOTHING']);
    expect(v.d.historique.map((h) => h.to)).toEqual([
      'ADMIS',
      'DROITS_OK',
      'FACTURE_RECUE',
      'ENGAGE',
      'ENGAGE',
      'ENGAGE',
      'ANNULE',
      'ANNULE',
    ]);
  });

  it('the same invoice sent again gets the engagement again, no second CLC', () => {
    const v = engagedVenue();
    expect(v.invoice()).toEqual([{ kind: 'ANSWER_GAP', motif: 'engagement ENG-2026-000481', engagement: 'ENG-2026-000481' }]);
  });

  it('an invoice amended after CLC → DEL of the old engagement, then CLC of the new invoice; one live engagement', () => {
    const v = engagedVenue();
    expect(v.invoice(facture('F2026-000481', 3500))).toEqual([
      { kind: 'DEL_THEN_CLC', engagement: 'ENG-2026-000481', factureNumero: 'F2026-000481' },
    ]);
    expect(v.d.engagements[0].delDemande).toBeDefined();
    expect(v.answer(result('del', 'OK', { engagement: 'ENG-2026-000481' }))).toEqual([{ kind: 'ASK_CLC', factureNumero: 'F2026-000481' }]);
    expect(v.d.etat).toBe('FACTURE_RECUE');
    expect(v.d.facture?.lignes[0].prixUnitaire).toBe(3500);
    v.answer(result('clc', 'OK', { engagement: { numero: 'ENG-2026-000502' } }));
    expect(v.d.etat).toBe('ENGAGE');
    expect(liveEngagements(v.d).map((e) => e.numero)).toEqual(['ENG-2026-000502']);
  });

  it('an invoice amended while its CLC runs waits; CLC refused → CLC of the amended invoice', () => {
    const v = new Venue();
    v.answer(result('idb', 'OK'));
    v.invoice();
    v.d = markRequested(v.d, 'clc', 'REQ-CLC-7', v.clock.now());
    expect(kinds(v.invoice(facture('F2026-000481', 3500)))).toEqual(['NOTHING']);
    expect(v.d.factureEnAttente?.lignes[0].prixUnitaire).toBe(3500);
    const rec = recordExchange(v.d, result('clc', 'KO', { requestId: 'REQ-CLC-7', code: '6000' }));
    v.d = rec.dossier;
    expect(v.apply(rec.event)).toEqual([
      { kind: 'ANSWER_GAP', motif: 'calcul refusé, une facture modifiée attendait : CLC de celle-ci' },
      { kind: 'ASK_CLC', factureNumero: 'F2026-000481' },
    ]);
    expect(v.d.etat).toBe('CALCUL_REFUSE');
    expect(v.d.facture?.lignes[0].prixUnitaire).toBe(3500);
    expect(v.d.factureEnAttente).toBeUndefined();
    v.answer(result('clc', 'OK', { engagement: { numero: 'ENG-2026-000777' } }));
    expect(v.d.etat).toBe('ENGAGE');
    expect(liveEngagements(v.d)).toMatchObject([{ numero: 'ENG-2026-000777', factureNumero: 'F2026-000481' }]);
  });

  it('an amended invoice whose DEL is refused as already invoiced (6022) → manual handling, the GAP is told, no CLC', () => {
    const v = engagedVenue();
    v.invoice(facture('F2026-000481', 3500));
    const actions = v.answer(result('del', 'KO', { code: '6022', engagement: 'ENG-2026-000481' }));
    expect(kinds(actions)).toEqual(['FLAG_MANUAL', 'ANSWER_GAP']);
    expect(v.d.etat).toBe('A_TRAITER_MANUELLEMENT');
    expect(v.d.drapeaux.map((f) => f.code)).toEqual(['DEJA_FACTURE']);
  });

  it('a CLC answer contradicting the stored engagement → manual handling, stored engagement untouched', () => {
    const v = engagedVenue();
    v.d = { ...v.d, etat: 'FACTURE_RECUE' };
    expect(kinds(v.answer(result('clc', 'OK', { engagement: { numero: 'ENG-AUTRE' } })))).toEqual(['FLAG_MANUAL', 'ANSWER_GAP']);
    expect(v.d.etat).toBe('A_TRAITER_MANUELLEMENT');
    expect(v.d.engagements.map((e) => e.numero)).toEqual(['ENG-2026-000481']);
  });
});

describe('re-checks after a technical KO', () => {
  it('AMC down then up: A_REVERIFIER, re-asked at +1, +5 min, then resolved and the GAP told', () => {
    const v = new Venue();
    const actions = v.answer(result('idb', 'KO', { technical: true, code: '0999' }));
    expect(kinds(actions)).toEqual(['SCHEDULE_RECHECK', 'ANSWER_GAP']);
    expect(v.d.etat).toBe('A_REVERIFIER');
    expect(v.d.reverification).toEqual({ service: 'idb', tentatives: 1, prochaine: '2026-11-20T08:31:00.000Z' });
    expect(isRecheckDue(v.d, v.clock)).toBe(false);
    v.clock.advanceMinutes(1);
    expect(isRecheckDue(v.d, v.clock)).toBe(true);
    expect(kinds(v.apply('REVERIFICATION_DUE'))).toEqual(['ASK_IDB']);
    v.answer(result('idb', 'KO', { technical: true }));
    expect(v.d.reverification).toMatchObject({ tentatives: 2, prochaine: '2026-11-20T08:36:00.000Z' });
    v.clock.advanceMinutes(5);
    v.apply('REVERIFICATION_DUE');
    expect(kinds(v.answer(result('idb', 'OK')))).toEqual(['ANSWER_GAP']);
    expect(v.d.etat).toBe('DROITS_OK');
    expect(v.d.reverification).toBeUndefined();
  });

  it('a CLC without answer is asked again with the SAME request id and invoice', () => {
    const v = new Venue();
    v.answer(result('idb', 'OK'));
    v.invoice();
    const first = result('clc', 'KO', { technical: true, requestId: 'REQ-CLC-0001' });
    expect(v.answer(first)[0]).toEqual({ kind: 'SCHEDULE_RECHECK', service: 'clc', requestId: 'REQ-CLC-0001' });
    expect(v.d.etat).toBe('A_REVERIFIER');
    v.clock.advanceMinutes(1);
    expect(v.apply('REVERIFICATION_DUE')).toEqual([{ kind: 'ASK_CLC', factureNumero: 'F2026-000481', requestId: 'REQ-CLC-0001' }]);
    v.answer(result('clc', 'OK', { requestId: 'REQ-CLC-0001', engagement: { numero: 'ENG-2026-000481' } }));
    expect(v.d.etat).toBe('ENGAGE');
  });

  it('a cancellation while a CLC has no answer: cancelled, but flagged for an operator (the AMC may have engaged)', () => {
    const v = new Venue();
    v.answer(result('idb', 'OK'));
    v.invoice();
    v.answer(result('clc', 'KO', { technical: true, requestId: 'REQ-CLC-0002' }));
    expect(kinds(v.gap('A11'))).toEqual(['FLAG_MANUAL', 'ANSWER_GAP']);
    expect(v.d.etat).toBe('ANNULE');
    expect(v.d.reverification).toBeUndefined();
  });

  it('a DEL without answer stays ENGAGE and is asked again with the same request id, never as a second DEL', () => {
    const v = engagedVenue();
    v.gap('A11');
    const actions = v.answer(result('del', 'KO', { technical: true, requestId: 'REQ-DEL-0001' }), {
      engagement: 'ENG-2026-000481',
      motif: 'ANNULATION',
    });
    expect(kinds(actions)).toEqual(['SCHEDULE_RECHECK']);
    expect(v.d.etat).toBe('ENGAGE');
    expect(kinds(v.gap('A11'))).toEqual(['ANSWER_GAP']); // another cancellation: no new DEL
    v.clock.advanceMinutes(1);
    expect(v.apply('REVERIFICATION_DUE')).toEqual([
      { kind: 'ASK_DEL', engagement: 'ENG-2026-000481', motif: 'ANNULATION', requestId: 'REQ-DEL-0001' },
    ]);
  });

  it('re-checks end N days after discharge: the dossier is flagged for manual handling', () => {
    const v = new Venue('A01', { simOnPreAdmission: false }, { discharge: '2026-11-20T18:00' });
    v.answer(result('idb', 'KO', { technical: true }));
    v.clock.set('2026-11-28T00:30:00Z'); // default: 7 days after the discharge day
    v.apply('REVERIFICATION_DUE');
    const actions = v.answer(result('idb', 'KO', { technical: true }));
    expect(actions.at(-1)).toEqual({ kind: 'FLAG_MANUAL', motif: 'revérifications IDB épuisées : traitement manuel' });
    expect(v.d.reverification).toBeUndefined();
  });
});

describe('coverage, pre-admission, renewal', () => {
  it('A08 with a new AMC asks IDB again', () => {
    const v = new Venue();
    v.answer(result('idb', 'OK'));
    expect(kinds(v.gap('A08', { coverages: [amoCoverage(), amcCoverage('0000987654')] }))).toEqual(['ASK_IDB']);
    expect(v.d.etat).toBe('ADMIS');
  });

  it('coverage removed while engaged → DEL of the live engagement; DEL OK → no AMC', () => {
    const v = engagedVenue();
    expect(v.gap('Z99', { coverages: [amoCoverage()] })[0]).toEqual({ kind: 'ASK_DEL', engagement: 'ENG-2026-000481', motif: 'RETRAIT' });
    v.answer(result('del', 'OK', { engagement: 'ENG-2026-000481' }));
    expect(v.d.etat).toBe('SANS_AMC');
  });

  it('a new AMC after an engagement is for an operator (the engagement is with the former AMC)', () => {
    const v = engagedVenue();
    expect(kinds(v.gap('A08', { coverages: [amcCoverage('0000987654')] }))).toEqual(['FLAG_MANUAL', 'ANSWER_GAP']);
    expect(v.d.etat).toBe('A_TRAITER_MANUELLEMENT');
  });

  it('A05 gets a SIM quote when the site asks for it, not otherwise', () => {
    const withSim = new Venue('A05', { simOnPreAdmission: true }, { expected: '2026-12-01T07:00' });
    expect(kinds(withSim.last)).toEqual(['ASK_IDB']);
    expect(kinds(withSim.answer(result('idb', 'OK')))).toEqual(['ASK_SIM', 'ANSWER_GAP']);
    withSim.answer(result('sim', 'OK'));
    expect(withSim.d.etat).toBe('DEVIS');
    const without = new Venue('A05', { simOnPreAdmission: false }, { expected: '2026-12-01T07:00' });
    expect(kinds(without.answer(result('idb', 'OK')))).toEqual(['ANSWER_GAP']);
  });

  it('a discharge for a stay never seen → IDB first; the invoice waits; rights OK → CLC', () => {
    const v = new Venue('A03', { simOnPreAdmission: false }, { discharge: '2026-11-24T11:00' });
    expect(kinds(v.last)).toEqual(['ASK_IDB']);
    v.d = markRequested(v.d, 'idb', 'REQ-IDB-9', v.clock.now());
    expect(kinds(v.invoice())).toEqual(['NOTHING']);
    const rec = recordExchange(v.d, result('idb', 'OK', { requestId: 'REQ-IDB-9' }));
    v.d = rec.dossier;
    expect(v.apply(rec.event)[0]).toEqual({ kind: 'ASK_CLC', factureNumero: 'F2026-000481' });
  });

  it('a long stay gets a new IDB once the answer’s validity date has passed', () => {
    const v = new Venue();
    v.answer(result('idb', 'OK', { dateValidite: '2026-11-22' }));
    v.clock.set('2026-11-22T23:59:00Z');
    expect(isIdbRenewalDue(v.d, v.clock)).toBe(false);
    v.clock.set('2026-11-23T00:00:00Z');
    expect(isIdbRenewalDue(v.d, v.clock)).toBe(true);
    expect(kinds(v.apply('RENOUVELLEMENT_IDB_DUE'))).toEqual(['ASK_IDB']);
    expect(kinds(v.answer(result('idb', 'KO', { code: '6002' })))).toEqual(['ANSWER_GAP']);
    expect(v.d.etat).toBe('DROITS_KO');
    expect(v.d.drapeaux.map((f) => f.code)).toEqual(['DROITS_MODIFIES']);
  });

  it('two live engagements (one per invoice): a cancellation asks one DEL each; the last DEL OK cancels the stay', () => {
    const v = engagedVenue();
    const second: Engagement = {
      numero: 'ENG-2026-000600',
      factureNumero: 'F2026-000600',
      requestId: 'REQ-X',
      at: '2026-11-25T10:00:00Z',
      statut: 'VIVANT',
    };
    v.d = { ...v.d, engagements: [...v.d.engagements, second] };
    const dels = v.gap('A11').filter((a) => a.kind === 'ASK_DEL');
    expect(dels.map((a) => (a as { engagement: string }).engagement)).toEqual(['ENG-2026-000481', 'ENG-2026-000600']);
    v.answer(result('del', 'OK', { engagement: 'ENG-2026-000481' }));
    expect(v.d.etat).toBe('ENGAGE');
    v.answer(result('del', 'OK', { engagement: 'ENG-2026-000600' }));
    expect(v.d.etat).toBe('ANNULE');
  });

  it('A13 (discharge cancelled): DEL of the engagement, the stay goes on with its rights, the next invoice gets a new CLC', () => {
    const v = engagedVenue();
    const actions = v.gap('A13');
    expect(actions.filter((a) => a.kind === 'ASK_DEL')).toEqual([
      { kind: 'ASK_DEL', engagement: 'ENG-2026-000481', motif: 'SORTIE_ANNULEE' },
    ]);
    expect(v.d.sejour.dateSortie).toBeUndefined();
    expect(kinds(v.answer(result('del', 'OK', { engagement: 'ENG-2026-000481' })))).toEqual(['ANSWER_GAP']);
    expect(v.d.etat).toBe('DROITS_OK');
    // the patient is discharged again, the same invoice comes back: a new calculation
    v.gap('A03');
    expect(kinds(v.invoice(facture()))).toEqual(['ASK_CLC']);
    // without an engagement, an A13 asks nothing
    const w = engagedVenue();
    w.d = { ...w.d, etat: 'DROITS_OK', engagements: [] };
    expect(kinds(w.gap('A13'))).toEqual(['NOTHING']);
  });
});

// ------------------------------------------------------------------------------ property-based

const engagementArb: fc.Arbitrary<Engagement> = fc.record(
  {
    numero: fc.constantFrom('ENG-1', 'ENG-2', 'ENG-3'),
    factureNumero: fc.constantFrom('F-1', 'F-2'),
    requestId: fc.constantFrom('R1', 'R2'),
    at: fc.constant('2026-11-20T09:00:00.000Z'),
    statut: fc.constantFrom('VIVANT' as const, 'ANNULE' as const),
    delDemande: fc.option(fc.record({ at: fc.constant('2026-11-20T10:00:00.000Z'), requestId: fc.constantFrom('D1', 'D2') }), {
      nil: undefined,
    }),
    motifDel: fc.option(fc.constantFrom('ANNULATION' as const, 'REMPLACEMENT' as const, 'RETRAIT' as const), { nil: undefined }),
  },
  { requiredKeys: ['numero', 'factureNumero', 'requestId', 'at', 'statut'] },
);

const base = mergeAdmission(undefined, admission('A01'), '2026-11-20T08:30:00Z').dossier;
const dossierArb: fc.Arbitrary<DossierRecord> = fc
  .record({
    etat: fc.constantFrom(...STATES),
    droits: fc.constantFrom('INCONNUS' as const, 'OK' as const, 'KO' as const),
    facture: fc.option(fc.constantFrom('F-1', 'F-2'), { nil: undefined }),
    enAttente: fc.option(fc.constantFrom('F-1', 'F-2'), { nil: undefined }),
    engagements: fc.uniqueArray(engagementArb, { maxLength: 3, selector: (e) => e.numero }),
    enCours: fc.subarray(['idb', 'sim', 'clc', 'del'] as const),
    reverif: fc.option(fc.constantFrom('idb' as const, 'clc' as const, 'del' as const), { nil: undefined }),
    pre: fc.boolean(),
    echanges: fc.subarray(['idb', 'clc', 'del'] as const),
  })
  .map((r) => ({
    ...base,
    etat: r.etat,
    droits: r.droits,
    ...(r.facture ? { facture: facture(r.facture) } : {}),
    ...(r.enAttente ? { factureEnAttente: facture(r.enAttente, 3600) } : {}),
    engagements: r.engagements.map((e) => (e.statut === 'ANNULE' ? { ...e, delDemande: undefined } : e)),
    enCours: Object.fromEntries(r.enCours.map((s) => [s, { requestId: `EC-${s}`, at: '2026-11-20T09:00:00.000Z' }])),
    ...(r.reverif
      ? { reverification: { service: r.reverif, tentatives: 1, requestId: `RV-${r.reverif}`, prochaine: '2026-11-20T09:01:00.000Z' } }
      : {}),
    sejour: { ...base.sejour, ...(r.pre ? { preAdmission: true } : {}) },
    echanges: r.echanges.map((s) => ({
      service: s,
      requestId: `X-${s}`,
      status: 'KO' as const,
      technical: true,
      latencyMs: 5,
      at: '2026-11-20T09:00:00.000Z',
    })),
  }));

function delTargets(actions: Action[]): string[] {
  return actions.flatMap((a) => (a.kind === 'ASK_DEL' || a.kind === 'DEL_THEN_CLC' ? [a.engagement] : []));
}

describe('the decision table over the whole event × state grid (property-based, fixed seed)', () => {
  it('has at least one row for every event allowed in some state, and a row for every allowed (state, event)', () => {
    for (const s of STATES)
      for (const e of EVENTS) {
        if (!findTransition(s, e)) continue;
        const rows = DECISIONS.filter((r) => r.event === e && (r.states === '*' || r.states.includes(s)) && !r.when);
        expect({ s, e, fallback: rows.length > 0 }).toEqual({ s, e, fallback: true });
      }
  });

  it('decide never throws, always answers, and keeps the rules', () => {
    fc.assert(
      // Every (state, event) pair of the grid, each run on other random dossier data.
      fc.property(dossierArb, fc.boolean(), (random, sim) => {
        for (const etat of STATES) for (const event of EVENTS) checkCell({ ...random, etat }, event, sim);
      }),
      { seed: 20261206, numRuns: 40 },
    );
    function checkCell(d: DossierRecord, event: DossierEvent, sim: boolean): void {
      const where = `${d.etat} × ${event}`;
      const must = (ok: boolean, rule: string): void => {
        if (!ok) throw new Error(`${where}: ${rule}`);
      };
      const actions = decide(d, event, { simOnPreAdmission: sim });
      must(actions.length > 0, 'decide answers');
      // A refused event does nothing.
      if (!findTransition(d.etat, event))
        must(
          actions.every((a) => a.kind === 'NOTHING'),
          'refused → NOTHING',
        );
      // Never two DELs for one engagement; never a DEL for a cancelled engagement.
      const targets = delTargets(actions);
      must(new Set(targets).size === targets.length, 'one DEL per engagement');
      for (const t of targets) must(d.engagements.find((e) => e.numero === t)?.statut === 'VIVANT', 'DEL only of a live engagement');
      // A DEL already awaited is only asked again by a re-check (with the same request id).
      for (const a of actions)
        if (a.kind === 'ASK_DEL' && d.engagements.find((e) => e.numero === a.engagement)?.delDemande)
          must(event === 'REVERIFICATION_DUE' && a.requestId !== undefined, 'awaited DEL re-asked only by a re-check');
      // Never CLC without rights OK, never CLC while a CLC is awaited or an engagement is live.
      for (const a of actions) {
        if (a.kind !== 'ASK_CLC' && a.kind !== 'DEL_THEN_CLC') continue;
        must(d.droits === 'OK' || event === 'IDB_OK', 'CLC only with rights OK');
        if (a.kind === 'ASK_CLC') {
          must(d.enCours.clc === undefined, 'no CLC while one is awaited');
          must(!liveEngagements(d).some((e) => e.factureNumero === a.factureNumero), 'no CLC for an engaged invoice');
          if (event !== 'DEL_OK_REMPLACEMENT') must(liveEngagements(d).length === 0, 'no CLC beside a live engagement');
        }
      }
      // Never an IDB while one is awaited.
      if (d.enCours.idb) must(!actions.some((a) => a.kind === 'ASK_IDB'), 'no IDB while one is awaited');
      // step agrees with decide and never throws.
      const r = step(d, event, { site: { simOnPreAdmission: sim }, clock: TestClock.at('2026-11-20T09:30:00Z') });
      must((r.refused === undefined) === !!findTransition(d.etat, event), 'step refuses what transition refuses');
    }
  });
});

describe('random cycles against a fake AMC (property-based, fixed seed)', () => {
  type Outcome = 'OK' | 'KO' | 'TECH' | 'DEJA';
  const gapEvents = fc.constantFrom('A01', 'A03', 'A08', 'A08-AMC', 'Z99-SANS', 'A11', 'A38', 'DFT', 'DFT-MODIF', 'RECHECK', 'RENEW');

  it('never two live engagements for one invoice, never two DEL requests for one engagement, never CLC without rights', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(gapEvents, fc.array(fc.constantFrom<Outcome>('OK', 'OK', 'KO', 'TECH', 'DEJA'), { minLength: 8, maxLength: 8 })),
          { maxLength: 14 },
        ),
        (script) => {
          const clock = TestClock.at('2026-11-20T08:30:00Z');
          let seq = 0;
          let price = 3452.4;
          const delRequests = new Map<string, Set<string>>();
          let d = mergeAdmission(undefined, admission('A01'), clock.now()).dossier;
          let pending: Action[] = step(d, 'ADMISSION', { clock }).actions;
          d = step(d, 'ADMISSION', { clock }).dossier;
          const apply = (event: DossierEvent, outcomes: Outcome[], depth: number): void => {
            const r = step(d, event, { clock });
            if (r.refused) return;
            d = r.dossier;
            run(r.actions, outcomes, depth);
          };
          const call = (o: ServiceOutcome, outcomes: Outcome[], depth: number, del?: { engagement: string; motif: DelMotif }): void => {
            d = markRequested(d, o.service, o.requestId, clock.now(), del);
            const rec = recordExchange(d, o, clock.now());
            d = rec.dossier;
            apply(rec.event, outcomes, depth + 1);
          };
          const run = (actions: Action[], outcomes: Outcome[], depth: number): void => {
            if (depth > 6) return;
            for (const a of actions) {
              const pick = outcomes[seq++ % outcomes.length];
              const tech = pick === 'TECH';
              const status = pick === 'OK' ? 'OK' : 'KO';
              if (a.kind === 'ASK_IDB')
                call(result('idb', status, { technical: tech, code: tech ? '0999' : pick === 'OK' ? undefined : '6002' }), outcomes, depth);
              else if (a.kind === 'ASK_SIM') call(result('sim', status, { technical: tech }), outcomes, depth);
              else if (a.kind === 'ASK_CLC') {
                expect(d.droits).toBe('OK');
                const requestId = a.requestId ?? `CLC-${seq}`;
                // The AMC deduplicates by request id: the same request gives the same engagement.
                call(
                  result('clc', status, {
                    technical: tech,
                    requestId,
                    ...(status === 'OK' ? { engagement: { numero: `ENG-${requestId}` } } : {}),
                  }),
                  outcomes,
                  depth,
                );
              } else if (a.kind === 'ASK_DEL' || a.kind === 'DEL_THEN_CLC') {
                const requestId = a.kind === 'ASK_DEL' && a.requestId ? a.requestId : `DEL-${seq}`;
                const ids = delRequests.get(a.engagement) ?? new Set<string>();
                ids.add(requestId);
                delRequests.set(a.engagement, ids);
                expect(ids.size).toBe(1); // only ever one DEL request per engagement (re-asked with the same id)
                const motif = a.kind === 'DEL_THEN_CLC' ? 'REMPLACEMENT' : a.motif;
                const code = tech ? '0999' : pick === 'DEJA' ? '6022' : pick === 'KO' ? '6000' : undefined;
                call(result('del', status, { technical: tech, requestId, code, engagement: a.engagement }), outcomes, depth, {
                  engagement: a.engagement,
                  motif,
                });
              }
              const byInvoice = new Map<string, number>();
              for (const e of liveEngagements(d)) byInvoice.set(e.factureNumero, (byInvoice.get(e.factureNumero) ?? 0) + 1);
              for (const c of byInvoice.values()) expect(c).toBe(1);
            }
          };
          run(pending, ['OK'], 0);
          pending = [];
          for (const [ev, outcomes] of script) {
            clock.advanceMinutes(61);
            if (ev === 'DFT' || ev === 'DFT-MODIF') {
              if (ev === 'DFT-MODIF') price += 10;
              const r = receiveInvoice(d, facture('F2026-000481', price), clock.now());
              d = r.dossier;
              apply(r.event, outcomes, 0);
            } else if (ev === 'RECHECK') apply('REVERIFICATION_DUE', outcomes, 0);
            else if (ev === 'RENEW') apply('RENOUVELLEMENT_IDB_DUE', outcomes, 0);
            else {
              const opts =
                ev === 'A08-AMC' ? { coverages: [amcCoverage('0000987654')] } : ev === 'Z99-SANS' ? { coverages: [amoCoverage()] } : {};
              const m = mergeAdmission(d, admission(ev.slice(0, 3), opts), clock.now());
              d = m.dossier;
              apply(m.event, outcomes, 0);
            }
          }
        },
      ),
      { seed: 20261206, numRuns: 300 },
    );
  });
});
