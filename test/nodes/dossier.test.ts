/**
 * roc-dossier in a Node-RED runtime (node-red-node-test-helper), behind roc-hl7-admission, with a
 * real journal (roc-journal, a temporary SQLite file): an admission asks IDB, its result comes
 * back and is answered to the GAP, the invoice (DFT^P03) asks CLC with the dossier's invoice, the
 * engagement is answered, the cancellation asks DEL of that engagement; POST /roc/invoice shapes;
 * the clock renews IDB; statuses and logs never show patient data; the admin endpoints mask.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import journalNode from '../../nodes/roc-journal/roc-journal';
import admissionNode from '../../nodes/roc-hl7-admission/roc-hl7-admission';
import dossierNode from '../../nodes/roc-dossier/roc-dossier';
import { dft } from '../support/dft';
import { bar } from '../support/bar';
import { expectNoPatientData, identifiersFromHl7, watchNodeRed } from '../support/patient-data';
import { TestClock } from '../dossier/fixtures';

helper.init(require.resolve('node-red'));
const watch = watchNodeRed(helper);

const A01 = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
const A11 = A01.replace('ADT^A01^ADT_A01', 'ADT^A11^ADT_A09')
  .replace(/EVN\|A01/, 'EVN|A11')
  .replace('A01-UTF8-0001', 'A11-UTF8-0001');
const IDS = identifiersFromHl7(A01);
/** FINESS géographique as lib/hl7 reads it from the fixture, + PV1-19. */
const KEY = '590780215/V/250100421';
const OUT = ['idb', 'sim', 'clc', 'del', 'gap', 'http', 'done'];

let dir: string;
const clock = TestClock.at('2025-01-14T09:00:00Z');

function flow(extra: Record<string, unknown> = {}) {
  return [
    { id: 'j', type: 'roc-journal', file: path.join(dir, 'journal.sqlite') },
    { id: 'adm', type: 'roc-hl7-admission', wires: [['dos'], ['dos'], ['dos'], ['dos'], [], []] },
    { id: 'dos', type: 'roc-dossier', journal: 'j', clock: false, ...extra, wires: OUT.map((o) => [`out-${o}`]) },
    ...OUT.map((o) => ({ id: `out-${o}`, type: 'helper' })),
  ];
}

/** Collects what comes out of each output. */
async function start(extra: Record<string, unknown> = {}) {
  await helper.load([journalNode, admissionNode, dossierNode], flow(extra));
  const got: Record<string, any[]> = Object.fromEntries(OUT.map((o) => [o, []]));
  for (const o of OUT) helper.getNode(`out-${o}`).on('input', (m: any) => got[o].push(m));
  return got;
}

async function until<T>(f: () => T | undefined | false, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A service node's answer to a request message (what roc-idb / roc-clc / roc-del write). */
function answer(req: any, status: 'OK' | 'KO', own: Record<string, unknown> = {}, technical = false) {
  const service = req.roc.dossier.requete.service;
  return {
    ...req,
    roc: {
      ...req.roc,
      [service]: {
        service,
        status,
        technical,
        messages: status === 'OK' ? [] : [{ code: technical ? 'BR-TIMEOUT' : '6002', groupe: 'X', severite: 'ERREUR', libelle: 'x' }],
        requestId: req.roc.requestIds[service],
        latencyMs: 212,
        attempts: 1,
        at: clock.now().toISOString(),
        ...own,
      },
    },
  };
}

beforeAll(() => {
  helper.settings({ rocDossier: { clock } });
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-dossier-node-'));
  clock.set('2025-01-14T09:00:00Z');
  watch.clear();
});
afterEach(async () => {
  await helper.unload();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterAll(() => helper.settings({}));

describe('roc-dossier behind roc-hl7-admission', () => {
  it('A01 → IDB; IDB OK → answer to the GAP; DFT → CLC of the invoice; engagement answered; A11 → DEL of that engagement', async () => {
    const got = await start();
    const adm = helper.getNode('adm');
    const dos = helper.getNode('dos');

    adm.receive({ payload: A01, hl7: { journalId: 1 } });
    const idbReq = await until(() => got.idb[0], 'the IDB request');
    expect(idbReq.hl7.journalId).toBe(1); // the GAP message travels on with its first request
    expect(idbReq.roc.dossier).toMatchObject({ etat: 'ADMIS', requete: { service: 'idb' } });
    expect(idbReq.roc.requestIds.idb).toBe(idbReq.roc.dossier.requete.requestId);
    expect(idbReq.roc.beneficiaire.nir).toBeDefined(); // the service gets what it needs

    dos.receive(answer(idbReq, 'OK', { dateValidite: '2025-01-31' }));
    const idbAnswer = await until(() => got.gap[0], 'the IDB answer');
    expect(idbAnswer.hl7.journalId).toBe(1);
    expect(idbAnswer.roc.idb.status).toBe('OK');
    expect(idbAnswer.roc.dossier.etat).toBe('DROITS_OK');

    adm.receive({ payload: dft(), hl7: { journalId: 2 } });
    const clcReq = await until(() => got.clc[0], 'the CLC request');
    expect(clcReq.hl7.journalId).toBe(2);
    expect(clcReq.roc.facture.numero).toBe('FAC-2025-000731');
    expect(clcReq.roc.facture.lignes).toHaveLength(3);

    dos.receive(answer(clcReq, 'OK', { engagement: { numero: 'E0077554321202501180K000001' } }));
    const clcAnswer = await until(() => got.gap[1], 'the engagement answer');
    expect(clcAnswer.roc.clc.engagement.numero).toBe('E0077554321202501180K000001');
    expect(clcAnswer.roc.dossier).toMatchObject({ etat: 'ENGAGE', engagements: ['E0077554321202501180K000001'] });

    adm.receive({ payload: A11, hl7: { journalId: 3 } });
    const delReq = await until(() => got.del[0], 'the DEL request');
    expect(delReq.roc.engagement).toEqual({ numero: 'E0077554321202501180K000001', motif: 'ANNULATION' });
    expect(delReq.roc.facture.numero).toBe('FAC-2025-000731');
    dos.receive(answer(delReq, 'OK', { engagement: 'E0077554321202501180K000001' }));
    const delAnswer = await until(() => got.gap[2], 'the DEL answer');
    expect(delAnswer.roc.dossier.etat).toBe('ANNULE');
    expect(delAnswer.roc.del.status).toBe('OK');

    // a second cancellation: no second DEL, the GAP message is simply done
    adm.receive({ payload: A11.replace('A11-UTF8-0001', 'A11-UTF8-0002'), hl7: { journalId: 4 } });
    await until(() => got.done.find((m) => m.hl7.journalId === 4), 'the second cancellation done');
    expect(got.del).toHaveLength(1);

    expectNoPatientData({ texts: () => watch.texts() }, IDS);
    const statuses = watch.statuses('dos');
    expect(statuses.length).toBeGreaterThan(0);
  });

  it('an IDB technical KO is answered once and re-checked on the clock, without holding the GAP message', async () => {
    const got = await start({ clock: true, scanSeconds: 0.2, backoffMinutes: '1' });
    helper.getNode('adm').receive({ payload: A01, hl7: { journalId: 1 } });
    const req = await until(() => got.idb[0], 'the IDB request');
    helper.getNode('dos').receive(answer(req, 'KO', {}, true));
    const told = await until(() => got.gap[0], 'the technical KO answered');
    expect(told.hl7.journalId).toBe(1); // done after the answer: the venue is not held
    expect(told.roc.dossier.etat).toBe('A_REVERIFIER');
    await new Promise((r) => setTimeout(r, 500));
    expect(got.idb).toHaveLength(1); // not due yet
    clock.advanceMinutes(2);
    const again = await until(() => got.idb[1], 'the re-check');
    expect(again.hl7).toBeUndefined(); // the clock's own message
    expect(again.roc.admission).toBeDefined(); // answers to the GAP still echo IPP/NDA/venue
    helper.getNode('dos').receive(answer(again, 'OK'));
    const ok = await until(() => got.gap[1], 'the re-check answered');
    expect(ok.roc.dossier.etat).toBe('DROITS_OK');
  });

  it('renews IDB for an open stay past the validity date (the clock is injected through settings)', async () => {
    const got = await start({ clock: true, scanSeconds: 0.2 });
    helper.getNode('adm').receive({ payload: A01, hl7: { journalId: 1 } });
    const req = await until(() => got.idb[0], 'the IDB request');
    helper.getNode('dos').receive(answer(req, 'OK', { dateValidite: '2025-01-15' }));
    await until(() => got.gap[0], 'the IDB answer');
    await new Promise((r) => setTimeout(r, 400));
    expect(got.idb).toHaveLength(1);
    clock.set('2025-01-16T06:00:00Z');
    const renewal = await until(() => got.idb[1], 'the renewal');
    expect(renewal.roc.dossier.requete.service).toBe('idb');
  });

  it('an AMO payment notice (BAR^P05) is not a dossier event: passed on untouched by done, msg.roc.amoPayment set', async () => {
    const got = await start();
    helper.getNode('adm').receive({ payload: bar(), hl7: { journalId: 12 } });
    const done = await until(() => got.done[0], 'done');
    expect(done.hl7.journalId).toBe(12);
    expect(done.roc.action).toBe('AMO_PAYMENT');
    expect(done.roc.amoPayment).toEqual({ key: KEY, factureNumero: 'FAC-2025-000731', amoCents: 234782, paidAt: '2025-01-22' });
    expect(done.roc.dossier).toBeUndefined(); // no refusal, no state: the dossier engine never saw it
    await new Promise((r) => setTimeout(r, 50));
    for (const o of OUT.filter((x) => x !== 'done')) expect([o, got[o].length]).toEqual([o, 0]);
    expect(got.done).toHaveLength(1);
    expectNoPatientData(watch, identifiersFromHl7(bar()));
  });

  it('an invoice whose venue the bridge never saw goes to done (never held); POST shapes are checked', async () => {
    const got = await start();
    helper.getNode('adm').receive({ payload: dft({ venue: '250199999' }), hl7: { journalId: 9 } });
    const done = await until(() => got.done[0], 'done');
    expect(done.roc.dossier.refus).toMatch(/venue inconnue/);

    const res = {};
    const dos = helper.getNode('dos');
    const line = {
      numero: 1,
      code: 'GHS',
      dateDebut: '2025-01-14',
      quantite: 1,
      prixUnitaire: 100,
      baseAmo: 100,
      tauxAmo: 80,
      montantAmo: 80,
    };
    dos.receive({ res, payload: { numeroVenue: '250100421', finessGeographique: '590780193', facture: { numero: 'F1', lignes: [line] } } });
    const notFound = await until(() => got.http[0], '404');
    expect(notFound.statusCode).toBe(404);
    dos.receive({
      res,
      payload: {
        cle: KEY,
        facture: {
          numero: 'F1',
          lignes: [
            { numero: 1, code: 'GHS', dateDebut: '2025-01-14', quantite: 1, prixUnitaire: 100, baseAmo: 100, tauxAmo: 80, montantAmo: 70 },
          ],
        },
      },
    });
    const bad = await until(() => got.http[1], '400');
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.payload.problemes)).toMatch(/ligne 1/);
    dos.receive({ res, payload: { facture: { numero: 'F1', lignes: [] } } });
    expect((await until(() => got.http[2], '400 no key')).statusCode).toBe(400);
  });

  it('POST /roc/invoice for a known venue: CLC, then one HTTP answer at the end of the chain', async () => {
    const got = await start();
    helper.getNode('adm').receive({ payload: A01, hl7: { journalId: 1 } });
    const req = await until(() => got.idb[0], 'IDB');
    helper.getNode('dos').receive(answer(req, 'OK'));
    await until(() => got.gap[0], 'IDB answer');
    const res = { marker: true };
    helper.getNode('dos').receive({
      res,
      payload: {
        cle: KEY,
        facture: {
          numero: 'FAC-HTTP-1',
          lignes: [
            { numero: 1, code: 'GHS', dateDebut: '2025-01-14', quantite: 1, prixUnitaire: 100, baseAmo: 100, tauxAmo: 80, montantAmo: 80 },
          ],
        },
      },
    });
    const clc = await until(() => got.clc[0], 'CLC');
    expect(clc.res).toBe(res);
    expect(got.http).toHaveLength(0);
    helper.getNode('dos').receive(answer(clc, 'OK', { engagement: { numero: 'ENG-HTTP-1' } }));
    const http = await until(() => got.http[0], 'HTTP answer');
    expect(http.statusCode).toBe(200);
    expect(http.payload.dossier).toMatchObject({ etat: 'ENGAGE', engagements: ['ENG-HTTP-1'] });
    expect(got.gap).toHaveLength(1); // the HTTP caller is answered, not the GAP
  });
});

describe('admin endpoints', () => {
  it('GET /roc/dossiers lists without identity; GET /roc/dossiers/:key shows the timeline with the identity masked', async () => {
    const got = await start();
    helper.getNode('adm').receive({ payload: A01, hl7: { journalId: 1 } });
    const req = await until(() => got.idb[0], 'IDB');
    helper.getNode('dos').receive(answer(req, 'OK'));
    await until(() => got.gap[0], 'answer');
    const list = await helper.request().get('/roc/dossiers?etat=DROITS_OK').expect(200);
    expect(list.body.items.map((i: any) => i.key)).toEqual([KEY]);
    const one = await helper
      .request()
      .get(`/roc/dossiers/${encodeURIComponent(KEY)}`)
      .expect(200);
    expect(one.body.etat).toBe('DROITS_OK');
    expect(one.body.masque).toBe(true);
    expect(one.body.chronologie.map((e: any) => e.kind)).toEqual(expect.arrayContaining(['ETAT', 'ECHANGE']));
    expectNoPatientData([JSON.stringify(list.body), JSON.stringify(one.body)], IDS);
    await helper.request().get('/roc/dossiers/..%2Fetc').expect(400);
    await helper.request().get('/roc/dossiers?from=yesterday').expect(400);
    await helper
      .request()
      .get(`/roc/dossiers/${encodeURIComponent('590780193/V/999')}`)
      .expect(404);
  });
});
