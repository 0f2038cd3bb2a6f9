/**
 * The dossier engine over a whole stay: admission → IDB → invoice → CLC → cancellation → DEL,
 * amended invoice, technical KO and re-check, IDB renewal, requests lost in a crash, one venue at
 * a time. The store is a map that keeps JSON (as the journal does) and checks majLe (CONFLICT).
 */
import { DossierEngine, DossierError, outcomeOf, type DossierStorePort, type EngineResult } from '../../lib/dossier/engine';
import type { DossierRecord, ServiceOutcome } from '../../lib/dossier/dossier';
import { plan } from '../../lib/dossier/routing';
import { buildAnswer } from '../../lib/hl7/answer';
import { applyBillingEvent } from '../../lib/billing/dossier-events';
import { admission, facture, result, TestClock, FINESS_GEO } from './fixtures';

class MapStore implements DossierStorePort {
  readonly rows = new Map<string, string>();
  saves = 0;
  async loadDossier(key: string): Promise<DossierRecord | undefined> {
    await Promise.resolve();
    const j = this.rows.get(key);
    return j ? (JSON.parse(j) as DossierRecord) : undefined;
  }
  async saveDossier(d: DossierRecord, expected?: string): Promise<void> {
    await Promise.resolve();
    const prior = this.rows.get(d.key);
    if (expected !== undefined && prior && (JSON.parse(prior) as DossierRecord).majLe !== expected) throw new Error('CONFLICT');
    this.rows.set(d.key, JSON.stringify(d));
    this.saves++;
  }
}

const KEY = `${FINESS_GEO}/V/V2026110001`;
let ids = 0;
function setup(o: { inFlightTimeoutMs?: number } = {}) {
  const store = new MapStore();
  const clock = TestClock.at('2026-11-20T08:30:00Z');
  const engine = new DossierEngine(store, { clock, newRequestId: () => `RQ${++ids}`, ...o });
  return { store, clock, engine };
}

/** The answer to a request as the service node would write it (with the request id it was given). */
function answerTo(
  r: EngineResult['requests'][number],
  status: 'OK' | 'KO',
  o: Partial<ServiceOutcome> & { code?: string } = {},
): ServiceOutcome {
  return result(r.service, status, { requestId: r.requestId, ...o });
}

describe('DossierEngine: one stay from admission to cancellation', () => {
  it('A01 → IDB OK → DFT → CLC OK (engagement) → A11 → DEL OK: each step asks exactly what the table says', async () => {
    const { engine, clock } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    expect(a.created).toBe(true);
    expect(a.requests).toEqual([{ service: 'idb', requestId: expect.any(String) }]);
    expect(a.dossier.enCours.idb?.requestId).toBe(a.requests[0].requestId);

    clock.advanceMinutes(1);
    const idb = await engine.onResult(KEY, answerTo(a.requests[0], 'OK', { dateValidite: '2026-11-30' }));
    expect(idb.dossier.etat).toBe('DROITS_OK');
    expect(idb.answer).toBeDefined();
    expect(idb.requests).toEqual([]);

    clock.advanceMinutes(60 * 24 * 4);
    const inv = await engine.onMessage(admission('P03'), {}, facture());
    expect(inv.dossier.etat).toBe('FACTURE_RECUE');
    expect(inv.requests).toEqual([{ service: 'clc', requestId: expect.any(String), factureNumero: 'F2026-000481' }]);

    const clc = await engine.onResult(KEY, answerTo(inv.requests[0], 'OK', { engagement: { numero: 'E0000123456202611240K000001' } }));
    expect(clc.dossier.etat).toBe('ENGAGE');
    expect(clc.answer).toBeDefined();
    expect(clc.dossier.engagements.map((e) => [e.numero, e.statut])).toEqual([['E0000123456202611240K000001', 'VIVANT']]);

    const cancel = await engine.onMessage(admission('A11'), {});
    expect(cancel.requests).toEqual([
      { service: 'del', requestId: expect.any(String), engagement: { numero: 'E0000123456202611240K000001', motif: 'ANNULATION' } },
    ]);
    // a second cancellation asks no second DEL
    const again = await engine.onMessage(admission('A11'), {});
    expect(again.requests).toEqual([]);

    const del = await engine.onResult(KEY, answerTo(cancel.requests[0], 'OK', { engagement: 'E0000123456202611240K000001' }));
    expect(del.dossier.etat).toBe('ANNULE');
    expect(del.answer).toBeDefined();
    expect(del.dossier.historique.filter((h) => h.from !== h.to).map((h) => h.to)).toEqual([
      'DROITS_OK',
      'FACTURE_RECUE',
      'ENGAGE',
      'ANNULE',
    ]);
  });

  it('an amended invoice after CLC: DEL of the old engagement first, CLC of the new invoice only once the DEL is OK', async () => {
    const { engine } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    await engine.onResult(KEY, answerTo(a.requests[0], 'OK'));
    const inv = await engine.onMessage(admission('P03'), {}, facture());
    await engine.onResult(KEY, answerTo(inv.requests[0], 'OK', { engagement: { numero: 'ENG-OLD' } }));
    const amended = await engine.onMessage(admission('P03'), {}, facture('F2026-000481', 3600));
    expect(amended.requests).toEqual([
      { service: 'del', requestId: expect.any(String), engagement: { numero: 'ENG-OLD', motif: 'REMPLACEMENT' } },
    ]);
    expect(amended.dossier.factureEnAttente?.lignes[0].prixUnitaire).toBe(3600);
    const del = await engine.onResult(KEY, answerTo(amended.requests[0], 'OK', { engagement: 'ENG-OLD' }));
    expect(del.requests).toEqual([{ service: 'clc', requestId: expect.any(String), factureNumero: 'F2026-000481' }]);
    expect(del.dossier.facture?.lignes[0].prixUnitaire).toBe(3600);
    const clc = await engine.onResult(KEY, answerTo(del.requests[0], 'OK', { engagement: { numero: 'ENG-NEW' } }));
    expect(clc.dossier.engagements.map((e) => [e.numero, e.statut])).toEqual([
      ['ENG-OLD', 'ANNULE'],
      ['ENG-NEW', 'VIVANT'],
    ]);
  });

  it('a corrected invoice after the AMC rejected the billed one: DEL of the rejected engagement, CLC, engaged again; an unchanged resend goes back to ENGAGE', async () => {
    const { engine, store } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    await engine.onResult(KEY, answerTo(a.requests[0], 'OK'));
    const inv = await engine.onMessage(admission('P03'), {}, facture());
    await engine.onResult(KEY, answerTo(inv.requests[0], 'OK', { engagement: { numero: 'ENG-BILLED' } }));
    // billed, then rejected (roc-dre-es, roc-rsp: lib/billing/dossier-events.ts)
    const clock = engine.clock;
    expect((await applyBillingEvent(store, KEY, 'DRE_ENVOYEE', clock)).etat).toBe('FACTURE_AMC');
    expect((await applyBillingEvent(store, KEY, 'RSP_REJET', clock)).etat).toBe('REJETE');
    // the same invoice again (nothing changed): nothing asked, the operator resends it instead
    const same = await engine.onMessage(admission('P03'), {}, facture());
    expect([same.dossier.etat, same.requests]).toEqual(['REJETE', []]);
    // the corrected invoice (other amounts, the GAP's new number)
    const corrected = await engine.onMessage(admission('P03'), {}, facture('F2026-000482', 3600));
    expect(corrected.dossier.etat).toBe('REJETE');
    expect(corrected.manual).toEqual([]);
    expect(corrected.requests).toEqual([
      { service: 'del', requestId: expect.any(String), engagement: { numero: 'ENG-BILLED', motif: 'REMPLACEMENT' } },
    ]);
    const del = await engine.onResult(KEY, answerTo(corrected.requests[0], 'OK', { engagement: 'ENG-BILLED' }));
    expect(del.dossier.etat).toBe('FACTURE_RECUE');
    expect(del.requests).toEqual([{ service: 'clc', requestId: expect.any(String), factureNumero: 'F2026-000482' }]);
    const clc = await engine.onResult(KEY, answerTo(del.requests[0], 'OK', { engagement: { numero: 'ENG-CORRECTED' } }));
    expect(clc.dossier.etat).toBe('ENGAGE');
    expect(clc.dossier.engagements.map((e) => [e.numero, e.statut, e.factureNumero])).toEqual([
      ['ENG-BILLED', 'ANNULE', 'F2026-000481'],
      ['ENG-CORRECTED', 'VIVANT', 'F2026-000482'],
    ]);
    expect(clc.dossier.historique.filter((h) => h.from !== h.to).map((h) => `${h.event}:${h.to}`)).toEqual([
      'IDB_OK:DROITS_OK',
      'FACTURE:FACTURE_RECUE',
      'CLC_OK:ENGAGE',
      'DRE_ENVOYEE:FACTURE_AMC',
      'RSP_REJET:REJETE',
      'DEL_OK_REMPLACEMENT:FACTURE_RECUE',
      'CLC_OK:ENGAGE',
    ]);
    // billed and rejected again, then sent again unchanged (operator): back to ENGAGE, billed again
    await applyBillingEvent(store, KEY, 'DRE_ENVOYEE', clock);
    await applyBillingEvent(store, KEY, 'RSP_REJET', clock);
    expect((await applyBillingEvent(store, KEY, 'RENVOI_FACTURE', clock)).etat).toBe('ENGAGE');
    expect((await applyBillingEvent(store, KEY, 'RENVOI_FACTURE', clock)).refused).toMatch(/refusé/);
    // billed again, its lot refused by the AMC's negative ARL (FACTURE_AMC): sent again from ENGAGE
    await applyBillingEvent(store, KEY, 'DRE_ENVOYEE', clock);
    expect((await applyBillingEvent(store, KEY, 'RENVOI_FACTURE', clock)).etat).toBe('ENGAGE');
    // paid: never sent again
    await applyBillingEvent(store, KEY, 'DRE_ENVOYEE', clock);
    await applyBillingEvent(store, KEY, 'RSP_PAYE', clock);
    expect((await applyBillingEvent(store, KEY, 'RENVOI_FACTURE', clock)).refused).toMatch(/refusé/);
  });

  it('an invoice for a venue never seen is refused (UNKNOWN_VENUE) and nothing is stored', async () => {
    const { engine, store } = setup();
    await expect(engine.onMessage(admission('P03'), {}, facture())).rejects.toMatchObject({ code: 'UNKNOWN_VENUE' });
    await expect(engine.onInvoice(KEY, facture())).rejects.toBeInstanceOf(DossierError);
    expect(store.rows.size).toBe(0);
  });

  it('a discharge for a stay older than the bridge creates the dossier from the message itself', async () => {
    const { engine } = setup();
    const r = await engine.onMessage(admission('A03', { discharge: '2026-11-24T11:00' }), {});
    expect(r.created).toBe(true);
    expect(r.dossier.sejour.dateSortie).toBe('2026-11-24');
    expect(r.requests.map((q) => q.service)).toEqual(['idb']);
  });
});

describe('DossierEngine: technical KO, re-check, renewal, crash', () => {
  it('IDB technical KO → to re-check, asked again when due (not before), the GAP told when it resolves', async () => {
    const { engine, clock } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    const ko = await engine.onResult(KEY, answerTo(a.requests[0], 'KO', { technical: true, code: 'BR-TIMEOUT' }));
    expect(ko.dossier.etat).toBe('A_REVERIFIER');
    expect(ko.answer).toBeDefined();
    expect(ko.dossier.reverification).toMatchObject({ service: 'idb', tentatives: 1 });
    const early = await engine.onDue(KEY);
    expect(early.requests).toEqual([]);
    clock.advanceMinutes(1);
    const due = await engine.onDue(KEY);
    expect(due.requests.map((r) => r.service)).toEqual(['idb']);
    const ok = await engine.onResult(KEY, answerTo(due.requests[0], 'OK'));
    expect(ok.dossier.etat).toBe('DROITS_OK');
    expect(ok.answer).toBeDefined();
    expect(ok.dossier.reverification).toBeUndefined();
  });

  it('CLC technical KO → re-asked with the SAME request id and the same invoice', async () => {
    const { engine, clock } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    await engine.onResult(KEY, answerTo(a.requests[0], 'OK'));
    const inv = await engine.onMessage(admission('P03'), {}, facture());
    await engine.onResult(KEY, answerTo(inv.requests[0], 'KO', { technical: true, code: 'BR-TIMEOUT' }));
    clock.advanceMinutes(2);
    const due = await engine.onDue(KEY);
    expect(due.requests).toEqual([{ service: 'clc', requestId: inv.requests[0].requestId, factureNumero: 'F2026-000481', repeat: true }]);
  });

  it('a request lost in a crash (in flight past the timeout) is asked again with its request id', async () => {
    const { engine, clock, store } = setup({ inFlightTimeoutMs: 120_000 });
    const a = await engine.onMessage(admission('A01'), {});
    await engine.onResult(KEY, answerTo(a.requests[0], 'OK'));
    const inv = await engine.onMessage(admission('P03'), {}, facture());
    // a second engine on the same store: the process restarted, the CLC answer never came
    const restarted = new DossierEngine(store, { clock, inFlightTimeoutMs: 120_000 });
    expect((await restarted.onDue(KEY)).requests).toEqual([]);
    clock.advanceMinutes(3);
    const due = await restarted.onDue(KEY);
    expect(due.requests).toEqual([{ service: 'clc', requestId: inv.requests[0].requestId, factureNumero: 'F2026-000481', repeat: true }]);
    // the GAP resending the same invoice meanwhile asks nothing more (a CLC is awaited)
    expect((await restarted.onMessage(admission('P03'), {}, facture())).requests).toEqual([]);
  });

  it('IDB renewal: an open stay past the validity date gets a new IDB; a change of rights is told', async () => {
    const { engine, clock } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    await engine.onResult(KEY, answerTo(a.requests[0], 'OK', { dateValidite: '2026-11-22' }));
    clock.set('2026-11-22T12:00:00Z');
    expect((await engine.onDue(KEY)).requests).toEqual([]);
    clock.set('2026-11-23T00:30:00Z');
    const due = await engine.onDue(KEY);
    expect(due.requests.map((r) => r.service)).toEqual(['idb']);
    const ko = await engine.onResult(KEY, answerTo(due.requests[0], 'KO', { code: '6002' }));
    expect(ko.dossier.etat).toBe('DROITS_KO');
    expect(ko.answer).toBeDefined();
    expect(ko.dossier.drapeaux.map((f) => f.code)).toContain('DROITS_MODIFIES');
  });
});

describe('DossierEngine: the clock never loops', () => {
  it('an IDB answer already expired when it comes (a stay dated in the past) is renewed a day later at the soonest', async () => {
    const { engine, clock } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    await engine.onResult(KEY, answerTo(a.requests[0], 'OK', { dateValidite: '2026-03-16', at: clock.now().toISOString() }));
    clock.advanceMinutes(1);
    expect((await engine.onDue(KEY)).requests).toEqual([]);
    clock.advanceMinutes(60 * 23);
    expect((await engine.onDue(KEY)).requests).toEqual([]);
    clock.advanceMinutes(60 + 1);
    expect((await engine.onDue(KEY)).requests.map((r) => r.service)).toEqual(['idb']);
  });

  it('re-checks over (long after the discharge): the dossier goes to manual handling, nothing is due any more', async () => {
    const { engine, clock } = setup();
    const a = await engine.onMessage(admission('A01', { discharge: '2026-03-16T10:00' }), {});
    const ko = await engine.onResult(KEY, answerTo(a.requests[0], 'KO', { technical: true, code: 'BR-TIMEOUT' }));
    expect(ko.dossier.etat).toBe('A_TRAITER_MANUELLEMENT');
    expect(ko.dossier.drapeaux.map((f) => f.code)).toContain('REVERIFICATIONS_EPUISEES');
    expect(ko.manual.length).toBe(1);
    clock.advanceMinutes(600);
    expect((await engine.onDue(KEY)).requests).toEqual([]);
  });
});

describe('DossierEngine: one venue at a time, venues never wait for each other', () => {
  it('serialises the calls of one venue (no lost update) and lets another venue pass', async () => {
    const store = new MapStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: DossierStorePort = {
      loadDossier: (k) => store.loadDossier(k),
      saveDossier: async (d, e) => {
        if (d.key.endsWith('V2026110001')) await gate;
        return store.saveDossier(d, e);
      },
    };
    const engine = new DossierEngine(slow, { clock: TestClock.at('2026-11-20T08:30:00Z') });
    const first = engine.onMessage(admission('A01'), {});
    // the invoice must see the admission's dossier (without one venue at a time it finds none)
    const second = engine.onMessage(admission('P03'), {}, facture());
    const other = await engine.onMessage(admission('A01', { venue: 'V2026110002' }), {});
    expect(other.requests.map((r) => r.service)).toEqual(['idb']);
    release();
    const [r1, r2] = await Promise.all([first, second]);
    expect(r1.dossier.etat).toBe('ADMIS');
    expect(r2.dossier.facture?.numero).toBe('F2026-000481');
    expect(r2.dossier.enCours.idb?.requestId).toBe(r1.requests[0].requestId);
    expect((await store.loadDossier(KEY))?.facture?.numero).toBe('F2026-000481');
  });
});

describe('outcomeOf and plan (what the node sends)', () => {
  const now = new Date('2026-11-20T08:31:00Z');
  it('reads the asked service result; an annuaire KO on the IDB path stands for the IDB', () => {
    expect(
      outcomeOf(
        { idb: { status: 'OK', technical: false, requestId: 'R1', latencyMs: 3, at: 'x', messages: [] } },
        { service: 'idb', requestId: 'R1' },
        now,
      ),
    ).toMatchObject({
      service: 'idb',
      status: 'OK',
    });
    expect(
      outcomeOf({ annuaire: { status: 'KO', technical: true, messages: [] } }, { service: 'idb', requestId: 'R9' }, now),
    ).toMatchObject({
      service: 'idb',
      status: 'KO',
      technical: true,
      requestId: 'R9',
    });
    expect(outcomeOf({}, { service: 'clc', requestId: 'R2' }, now)).toBeUndefined();
  });

  it('the first request carries the GAP message on; a second DEL and an answer while the chain goes on are copies', async () => {
    const { engine } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    const roc = { admission: admission('A01') };
    expect(plan(a, roc, { gap: true, http: false }).map((e) => [e.output, e.keepOrigin])).toEqual([['idb', true]]);
    const ok = await engine.onResult(KEY, answerTo(a.requests[0], 'OK'));
    const rocOk = { admission: admission('A01'), idb: { ...answerTo(a.requests[0], 'OK') } };
    const e = plan(ok, rocOk, { gap: true, http: false });
    expect(e.map((x) => [x.output, x.keepOrigin])).toEqual([['gap', true]]);
    expect((e[0].roc.dossier as { etat: string }).etat).toBe('DROITS_OK');
    // the same answer for an HTTP caller goes to the http output
    expect(plan(ok, rocOk, { gap: false, http: true }).map((x) => x.output)).toEqual(['http']);
  });

  it('the chain keeps its results on the message; the answer names the one it is about and roc-mllp-out answers with it', async () => {
    const { engine } = setup();
    const a = await engine.onMessage(admission('A01'), {});
    await engine.onResult(KEY, answerTo(a.requests[0], 'OK'));
    const inv = await engine.onMessage(admission('P03'), {}, facture());
    const clcOk = answerTo(inv.requests[0], 'OK', { engagement: { numero: 'ENG-9' } });
    const res = await engine.onResult(KEY, clcOk);
    const idbOld = { ...answerTo(a.requests[0], 'OK'), at: '2026-11-20T09:00:00.000Z' };
    const roc = {
      admission: admission('P03'),
      annuaire: { service: 'annuaire', status: 'OK' },
      idb: idbOld,
      clc: { ...clcOk, at: '2026-11-20T08:00:00.000Z' },
    };
    const [e] = plan(res, roc, { gap: true, http: false }, { resultOf: 'clc' });
    expect(e.output).toBe('gap');
    expect(e.roc.idb).toBeDefined(); // recorded by roc-mllp-in as the message's exchanges
    expect((e.roc.dossier as { reponse: string }).reponse).toBe('clc');
    // even though the IDB result is the latest by date, the answer is the CLC's
    expect(buildAnswer(e.roc, { now: new Date('2026-11-24T10:00:00Z') }).service).toBe('clc');
    // a request drops the earlier result of the service it asks, not the others
    const again = await engine.onMessage(admission('A11'), {});
    const [del] = plan(again, { ...roc, del: { status: 'OK' } }, { gap: true, http: false });
    expect(del.output).toBe('del');
    expect(del.roc.del).toBeUndefined();
    expect(del.roc.clc).toBeDefined();
  });

  it('a GAP message with nothing to answer and nothing to ask is done', async () => {
    const { engine } = setup();
    const r = await engine.onMessage(admission('A01', { coverages: [] }), {});
    expect(r.dossier.etat).toBe('SANS_AMC');
    expect(plan(r, { admission: admission('A01') }, { gap: true, http: false }).map((x) => x.output)).toEqual(['done']);
  });

  it('never puts patient identifiers in msg.roc.dossier', async () => {
    const { engine } = setup();
    const a = await engine.onMessage(admission('A01'), {
      beneficiaire: { nir: '2850775123456', nom: 'MARTIN', prenom: 'SOPHIE', dateNaissance: '1985-07-14' },
    });
    const s = JSON.stringify(plan(a, {}, { gap: false, http: false }).map((x) => x.roc.dossier));
    for (const v of ['2850775123456', 'MARTIN', 'SOPHIE', '1985-07-14']) expect(s).not.toContain(v);
  });
});
