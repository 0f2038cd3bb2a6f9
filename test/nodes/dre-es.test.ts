/**
 * roc-dre-es in a Node-RED runtime with a real journal (roc-journal on a temporary file) and the
 * directory outbox: an engaged invoice waits for the AMO payment, the payment (JSON and HL7)
 * releases it, the batch writes one DRE-ES file per AMC numbered 1, 2… that reads back, the dossier
 * moves ENGAGE → FACTURE_AMC; refusals with their reasons; a batch goes out at its size; a file
 * left written by a stop is sent again at start; the reconciliation endpoint (JSON, CSV); no
 * patient data in statuses and logs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import journalNode from '../../nodes/roc-journal/roc-journal';
import dreEsNode from '../../nodes/roc-dre-es/roc-dre-es';
import { SqliteJournal } from '../../lib/store/sqlite';
import { readDreEs } from '../../lib/billing/dre-es';
import { AMC, AMC_CENTS, AMO_CENTS, FINESS, OTHER_AMC, PATIENT, engagedDossier } from '../support/billing';
import { expectNoPatientData, identifiersOf, watchNodeRed } from '../support/patient-data';
import { TestClock } from '../dossier/fixtures';
import { applyBillingEvent } from '../../lib/billing/dossier-events';
import { SmimeSmtpOutbox } from '../../lib/billing/transport/outbox';
import { openEdiConsent } from '../../lib/billing/transport/smime';
import { generateTestPki } from '../../lib/security/pki';

helper.init(require.resolve('node-red'));
const watch = watchNodeRed(helper);
const IDS = identifiersOf({ nir: PATIENT.nir, names: [PATIENT.nom], birthDates: [PATIENT.dateNaissance], ipps: ['481516'] });
const OUT = ['invoice', 'file', 'http'];
const clock = TestClock.at('2026-12-01T09:00:00Z');
let dir: string;
let file: string;
let drop: string;

function flow(extra: Record<string, unknown> = {}) {
  return [
    { id: 'j', type: 'roc-journal', file },
    {
      id: 'dre',
      type: 'roc-dre-es',
      journal: 'j',
      emitterFiness: FINESS,
      outboxDir: drop,
      schedule: false,
      ...extra,
      wires: OUT.map((o) => [`out-${o}`]),
    },
    ...OUT.map((o) => ({ id: `out-${o}`, type: 'helper' })),
  ];
}

async function start(extra: Record<string, unknown> = {}) {
  await helper.load([journalNode, dreEsNode], flow(extra));
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

/** Seeds dossiers in the journal file before the flow starts (the shared instance the node will use). */
async function seed(...ds: ReturnType<typeof engagedDossier>[]) {
  const j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
  for (const d of ds) await j.saveDossier(d, null);
  await j.close();
}

const journal = () => (helper.getNode('dre') as any).journal as SqliteJournal;
const flush = () => (helper.getNode('dre') as any).flush() as Promise<void>;

beforeAll(() => helper.settings({ rocBilling: { clock } }));
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-dre-es-node-'));
  file = path.join(dir, 'journal.sqlite');
  drop = path.join(dir, 'out');
  clock.set('2026-12-01T09:00:00Z');
  watch.clear();
});
afterEach(async () => {
  await helper.unload();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterAll(() => helper.settings({}));

describe('roc-dre-es', () => {
  it('waits for the AMO payment, is released by it, goes out in DRE-ES file 1, moves the dossier to FACTURE_AMC', async () => {
    await seed(engagedDossier('250100421'));
    const got = await start();
    const dre = helper.getNode('dre');
    dre.receive({ roc: { dossier: { cle: `${FINESS}/V/250100421` } } });
    const waiting = await until(() => got.invoice[0], 'the waiting invoice');
    expect(waiting.roc.billing).toMatchObject({ state: 'pending', code: 'AMO_UNPAID', factureNumero: 'F250100421', amc: AMC });

    dre.receive({
      payload: { cle: `${FINESS}/V/250100421`, factureNumero: 'F250100421', montantAmo: 2347.82, datePaiement: '2026-11-28' },
    });
    const http = await until(() => got.http[0], 'the HTTP answer');
    expect(http.statusCode).toBe(200);
    expect(http.payload).toMatchObject({ statut: 'AMO_PAYE', billing: { state: 'ready', amoPaidAt: '2026-11-28', amcCents: AMC_CENTS } });
    expect((await journal().getInvoiceBilling(`${FINESS}/V/250100421`, 'F250100421'))!).toMatchObject({
      state: 'ready',
      amoCents: AMO_CENTS,
    });

    await flush();
    const f = await until(() => got.file[0], 'the file');
    expect(f.roc.billingFile).toMatchObject({ state: 'SENT', amc: AMC, numero: 1, invoiceCount: 1, amcCents: AMC_CENTS });
    const bytes = fs.readFileSync(path.join(drop, f.roc.billingFile.name));
    const back = readDreEs(bytes);
    expect(back.ok).toBe(true);
    if (back.ok) {
      expect(back.value).toMatchObject({ emitter: FINESS, amc: AMC, numero: 1, invoiceCount: 1 });
      expect(back.value.lots[0].invoices[0]).toMatchObject({ number: 'F250100421', engagement: 'ENG250100421' });
    }
    const sent = await until(() => got.invoice.find((m) => m.roc.billing.state === 'sent'), 'the sent invoice');
    expect(sent.roc.billing).toMatchObject({ fileNumber: 1, lotNumber: 1, dossier: { etat: 'FACTURE_AMC' } });
    expect((await journal().loadDossier(`${FINESS}/V/250100421`))!.etat).toBe('FACTURE_AMC');
    // billed once: a second request is refused, nothing more goes out
    const before = got.invoice.length;
    dre.receive({ roc: { dossier: { cle: `${FINESS}/V/250100421` } } });
    await until(() => got.invoice[before], 'the second answer');
    expect(got.invoice[before].roc.billing).toMatchObject({ state: 'refused', code: 'ALREADY_BILLED' });
    await flush();
    expect(fs.readdirSync(drop)).toHaveLength(1);
    // the reconciliation view
    const json = await helper.request().get('/roc/billing/reconciliation?amc=123456').expect(200);
    expect(json.body.total).toMatchObject({ sent: 1, outstanding: 1, sentCents: AMC_CENTS });
    const csv = await helper.request().get('/roc/billing/reconciliation?format=csv&from=2026-12-01&to=2026-12-01').expect(200);
    expect(csv.text.split('\r\n')[1]).toBe(`${AMC};2026-12-01;1;0;0;0;0;0;1;0;${AMC_CENTS};0;0;0;${AMC_CENTS};0`);
    await helper.request().get('/roc/billing/reconciliation?from=01/12/2026').expect(400);
    expectNoPatientData({ texts: () => watch.texts() }, IDS);
  });

  it('the HL7 BAR^P05 notice releases the invoice too; a bad notice is answered 400 and changes nothing', async () => {
    await seed(engagedDossier('250100422'));
    const got = await start();
    const dre = helper.getNode('dre');
    const bar = (zfa7: string) =>
      [
        'MSH|^~\\&|CPAGE|CHU|ROC-BRIDGE|CHU|20261128101500||BAR^P05^BAR_P05|BAR-0001|P|2.5',
        `PID|1||481516^^^CHU&${FINESS}&N^PI`,
        `PV1|1|I|||||||||||||||||250100422^^^CHU&${FINESS}&N^VN`,
        `ZFA|F250100422|20261124|3038.77|2347.82|690.95|0|${zfa7}`,
      ].join('\r');
    dre.receive({ payload: bar('2026112') });
    const bad = await until(() => got.http[0], 'the 400');
    expect(bad.statusCode).toBe(400);
    expect(await journal().getInvoiceBilling(`${FINESS}/V/250100422`, 'F250100422')).toBeUndefined();
    dre.receive({ payload: Buffer.from(bar('20261128')) });
    const ok = await until(() => got.http[1], 'the 200');
    expect(ok.payload.billing).toMatchObject({ state: 'ready', amoPaidAt: '2026-11-28' });
  });

  it('refusals and waits carry their reason; a claim that differs from the engagement is refused', async () => {
    await seed(
      engagedDossier('300000001', { noShare: true }),
      engagedDossier('300000002', { engaged: false }),
      engagedDossier('300000003'),
    );
    const got = await start({ waitForAmoPayment: false });
    const dre = helper.getNode('dre');
    dre.receive({ payload: { cle: `${FINESS}/V/300000001` } });
    dre.receive({ payload: { finessGeographique: FINESS, numeroVenue: '300000002' } });
    dre.receive({ payload: { cle: `${FINESS}/V/300000003`, montantAmc: 690.96 } });
    await until(() => got.invoice.length >= 3, 'three answers');
    expect(got.invoice.map((m) => [m.roc.billing.key.split('/').pop(), m.roc.billing.state, m.roc.billing.code])).toEqual([
      ['300000001', 'refused', 'NO_AMC_SHARE'],
      ['300000002', 'pending', 'NO_ENGAGEMENT'],
      ['300000003', 'refused', 'AMOUNT_MISMATCH'],
    ]);
    expect(got.invoice[2].roc.billing.reason).toContain('690,96 €');
    await flush();
    expect(fs.existsSync(drop) ? fs.readdirSync(drop) : []).toEqual([]);
  });

  it('batches per AMC at the batch size; the other AMC goes out at the flush, in its own file numbered 1', async () => {
    await seed(engagedDossier('400000001'), engagedDossier('400000002'), engagedDossier('400000003', { amc: OTHER_AMC }));
    const got = await start({ waitForAmoPayment: false, batchSize: 2 });
    const dre = helper.getNode('dre');
    dre.receive({ payload: { cle: `${FINESS}/V/400000003` } });
    dre.receive({ payload: { cle: `${FINESS}/V/400000001` } });
    dre.receive({ payload: { cle: `${FINESS}/V/400000002` } });
    const first = await until(() => got.file[0], 'the full batch');
    expect(first.roc.billingFile).toMatchObject({ amc: AMC, numero: 1, invoiceCount: 2 });
    expect(got.file).toHaveLength(1);
    await flush();
    await until(() => got.file[1], 'the other AMC');
    expect(got.file[1].roc.billingFile).toMatchObject({ amc: OTHER_AMC, numero: 1, invoiceCount: 1 });
    const files = fs.readdirSync(drop).sort();
    expect(files).toEqual([`DREES_${FINESS}_${AMC}_00000001.dre`, `DREES_${FINESS}_${OTHER_AMC}_00000001.dre`]);
  });

  it('a file left written by a stop is sent at start, once, under its name; the next file is number 2', async () => {
    await seed(engagedDossier('500000001'), engagedDossier('500000002'));
    // a previous run wrote file 1 and stopped before sending it
    const j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
    await j.putInvoiceBilling({
      key: `${FINESS}/V/500000001`,
      number: 'F500000001',
      state: 'ready',
      amc: AMC,
      finess: FINESS,
      amcCents: AMC_CENTS,
    });
    await j.writeBillingFile({
      emitter: FINESS,
      amc: AMC,
      invoices: [{ key: `${FINESS}/V/500000001`, number: 'F500000001', lotNumber: 1 }],
      build: (n) => ({
        name: `DREES_${FINESS}_${AMC}_${String(n).padStart(8, '0')}.dre`,
        bytes: Buffer.from('x'),
        invoiceCount: 1,
        lineCount: 3,
        amcCents: AMC_CENTS,
        totalCents: 303_877,
      }),
    });
    await j.close();
    const got = await start({ waitForAmoPayment: false });
    const resent = await until(() => got.file[0], 'the file resent');
    expect(resent.roc.billingFile).toMatchObject({ numero: 1, state: 'SENT' });
    expect((await journal().loadDossier(`${FINESS}/V/500000001`))!.etat).toBe('FACTURE_AMC');
    helper.getNode('dre').receive({ payload: { cle: `${FINESS}/V/500000002` } });
    await until(() => got.invoice.find((m) => m.roc.billing.state === 'ready'), 'ready');
    await flush();
    await until(() => got.file[1], 'file 2');
    expect(got.file[1].roc.billingFile.numero).toBe(2);
    expect(fs.readdirSync(drop).sort()).toEqual([`DREES_${FINESS}_${AMC}_00000001.dre`, `DREES_${FINESS}_${AMC}_00000002.dre`]);
  });

  it('a stop after the file was marked sent but before the dossier moved: it moves at start', async () => {
    await seed(engagedDossier('500000003'));
    const j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
    await j.putInvoiceBilling({
      key: `${FINESS}/V/500000003`,
      number: 'F500000003',
      state: 'ready',
      amc: AMC,
      finess: FINESS,
      amcCents: AMC_CENTS,
    });
    const f = await j.writeBillingFile({
      emitter: FINESS,
      amc: AMC,
      invoices: [{ key: `${FINESS}/V/500000003`, number: 'F500000003', lotNumber: 1 }],
      build: (n) => ({
        name: `DREES_${FINESS}_${AMC}_${String(n).padStart(8, '0')}.dre`,
        bytes: Buffer.from('x'),
        invoiceCount: 1,
        lineCount: 3,
        amcCents: AMC_CENTS,
        totalCents: 303_877,
      }),
    });
    await j.markBillingFileSent(f.id);
    await j.close();
    const got = await start({ waitForAmoPayment: false });
    await until(() => got !== undefined, 'start');
    const end = Date.now() + 5000;
    let etat: string | undefined;
    while (Date.now() < end && (etat = (await journal().loadDossier(`${FINESS}/V/500000003`))!.etat) !== 'FACTURE_AMC')
      await new Promise((r) => setTimeout(r, 20));
    expect(etat).toBe('FACTURE_AMC');
    expect(got.file).toEqual([]); // nothing sent again
  });

  it('an invoice that waited and was replaced by an amended one (new number) is refused; the new one is examined', async () => {
    await seed(engagedDossier('700000001'));
    const got = await start();
    const dre = helper.getNode('dre');
    dre.receive({ payload: { cle: `${FINESS}/V/700000001` } });
    await until(() => got.invoice[0], 'pending');
    const d = (await journal().loadDossier(`${FINESS}/V/700000001`))!;
    await journal().saveDossier(
      { ...d, facture: { ...d.facture!, numero: 'F700000009' }, engagements: [], etat: 'FACTURE_RECUE', majLe: '2026-12-01T09:30:00.000Z' },
      d.majLe,
    );
    await flush();
    await until(() => got.invoice[2], 'the new invoice examined');
    expect((await journal().getInvoiceBilling(`${FINESS}/V/700000001`, 'F700000001'))!).toMatchObject({ state: 'refused' });
    expect((await journal().getInvoiceBilling(`${FINESS}/V/700000001`, 'F700000009'))!).toMatchObject({
      state: 'pending',
      reason: expect.stringContaining('engagement'),
    });
    expect(got.invoice.map((m) => [m.roc.billing.factureNumero, m.roc.billing.state, m.roc.billing.code])).toEqual([
      ['F700000001', 'pending', 'AMO_UNPAID'],
      ['F700000001', 'refused', 'REPLACED'],
      ['F700000009', 'pending', 'NO_ENGAGEMENT'],
    ]);
  });

  it('rejected invoices wait in GET /roc/billing/rejected; RENVOYER: resent unchanged in the next file; CORRIGER: billed again once a new engagement replaced the rejected one', async () => {
    await seed(engagedDossier('800000001'), engagedDossier('800000002'));
    const got = await start({ waitForAmoPayment: false });
    const dre = helper.getNode('dre');
    const K1 = `${FINESS}/V/800000001`;
    const K2 = `${FINESS}/V/800000002`;
    dre.receive({ payload: { cle: K1 } });
    dre.receive({ payload: { cle: K2 } });
    await until(() => got.invoice.filter((m) => m.roc.billing.state === 'ready').length === 2, 'both ready');
    await flush();
    await until(() => got.file[0], 'file 1');
    // the AMC rejects both (what roc-rsp records): one to send again, one to correct
    const reject = (key: string, number: string, code: string, action: string) => ({
      key,
      number,
      state: 'rejected' as const,
      settledAt: '2026-12-03',
      paidCents: 0,
      differenceCents: AMC_CENTS,
      rejection: { code, label: `motif ${code}`, action },
    });
    await journal().recordRspFile({
      hash: 'f'.repeat(64),
      amc: AMC,
      numero: 1,
      state: 'PROCESSED',
      bytes: Buffer.from('rsp'),
      settlements: [reject(K1, 'F800000001', 'R006', 'RENVOYER'), reject(K2, 'F800000002', 'R004', 'CORRIGER')],
    });
    for (const k of [K1, K2]) expect((await applyBillingEvent(journal(), k, 'RSP_REJET', clock)).etat).toBe('REJETE');

    const queue = await helper.request().get('/roc/billing/rejected').expect(200);
    expect(queue.body).toMatchObject({ total: 2, offset: 0, limit: 50 });
    expect(queue.body.items.map((i: any) => [i.cle, i.factureNumero, i.motif.code, i.motif.action, i.suite])).toEqual([
      [K1, 'F800000001', 'R006', 'RENVOYER', 'RENVOI_POSSIBLE'],
      [K2, 'F800000002', 'R004', 'CORRIGER', 'CORRECTION_ATTENDUE'],
    ]);
    expect(queue.body.items[0]).toMatchObject({ amc: AMC, amcCents: AMC_CENTS, fileNumber: 1, engagement: 'ENG800000001' });
    const page2 = await helper.request().get('/roc/billing/rejected?limit=1&offset=1').expect(200);
    expect(page2.body.items.map((i: any) => i.cle)).toEqual([K2]);
    await helper.request().get('/roc/billing/rejected?limit=x').expect(400);
    expectNoPatientData({ texts: () => [JSON.stringify(queue.body)] }, IDS);

    // CORRIGER: no resend (409, the reason); RENVOYER: resent (the dossier ENGAGE, the invoice ready)
    const no = await helper
      .request()
      .post(`/roc/billing/rejected/${encodeURIComponent(K2)}/resend`)
      .expect(409);
    expect(no.body.erreur).toMatch(/R004.*CORRIGER/);
    await helper
      .request()
      .post(`/roc/billing/rejected/${encodeURIComponent(`${FINESS}/V/899999999`)}/resend`)
      .expect(404);
    await helper.request().post('/roc/billing/rejected/nope/resend').expect(400);
    const ok = await helper
      .request()
      .post(`/roc/billing/rejected/${encodeURIComponent(K1)}/resend`)
      .expect(200);
    expect(ok.body).toMatchObject({ statut: 'RENVOYEE', factureNumero: 'F800000001', billing: { state: 'ready' } });
    expect((await journal().loadDossier(K1))!.etat).toBe('ENGAGE');
    await helper
      .request()
      .post(`/roc/billing/rejected/${encodeURIComponent(K1)}/resend`)
      .expect(404); // once
    expect((await helper.request().get('/roc/billing/rejected').expect(200)).body.items.map((i: any) => i.cle)).toEqual([K2]);

    // the GAP's corrected invoice, same number: DEL of the rejected engagement and a new CLC (the
    // dossier engine, lib/dossier) leave the dossier ENGAGE with another engagement
    const d2 = (await journal().loadDossier(K2))!;
    await journal().saveDossier(
      {
        ...d2,
        etat: 'ENGAGE',
        engagements: [
          { ...d2.engagements[0], statut: 'ANNULE' },
          { ...d2.engagements[0], numero: 'ENG800000002B', requestId: 'REQ-B' },
        ],
        majLe: '2026-12-04T09:00:00.000Z',
      },
      d2.majLe,
    );
    dre.receive({ roc: { dossier: { cle: K2 } } });
    await until(
      () => got.invoice.find((m) => m.roc.billing.key === K2 && m.roc.billing.code === 'CORRECTED'),
      'the corrected invoice reopened',
    );
    await until(() => got.invoice.filter((m) => m.roc.billing.state === 'ready').length === 4, 'both ready again');
    await flush();
    const f2 = await until(() => got.file[1], 'file 2');
    expect(f2.roc.billingFile).toMatchObject({ numero: 2, invoiceCount: 2 });
    const back = readDreEs(fs.readFileSync(path.join(drop, f2.roc.billingFile.name)));
    expect(back.ok && back.value.lots[0].invoices.map((i) => [i.number, i.engagement])).toEqual([
      ['F800000001', 'ENG800000001'],
      ['F800000002', 'ENG800000002B'],
    ]);
    for (const k of [K1, K2]) expect((await journal().loadDossier(k))!.etat).toBe('FACTURE_AMC');
    expect((await helper.request().get('/roc/billing/rejected').expect(200)).body.total).toBe(0);
    expect((await journal().loadDossier(K1))!.historique.map((h) => h.event)).toEqual([
      'DRE_ENVOYEE',
      'RSP_REJET',
      'RENVOI_FACTURE',
      'DRE_ENVOYEE',
    ]);
  });

  it('a recipient certificate that expired: the file is refused with the reason, kept in the journal, never sent again; its invoices lot-refused, in the work queue; once the certificate is renewed, the operator resends the file: a new file, the refused one stays', async () => {
    const expired = generateTestPki({ clientNotAfter: new Date(Date.parse('2026-11-01T00:00:00Z')) });
    const renewed = generateTestPki();
    let amcCert = expired.clientCert; // the configuration: replaced below
    const sealedDir = path.join(dir, 'sealed');
    const outbox = new SmimeSmtpOutbox({ resolve: () => ({ certificatePem: amcCert }), dropDir: sealedDir });
    helper.settings({ rocBilling: { clock, outbox } });
    const K = `${FINESS}/V/810000001`;
    try {
      await seed(engagedDossier('810000001'));
      const got = await start({ waitForAmoPayment: false });
      helper.getNode('dre').receive({ payload: { cle: K } });
      await until(() => got.invoice.find((m) => m.roc.billing.state === 'ready'), 'ready');
      await flush();
      const f = await until(() => got.file[0], 'the refused file');
      expect(f.roc.billingFile).toMatchObject({ state: 'REFUSED', numero: 1 });
      expect(f.roc.billingFile.reason).toMatch(/^CERT_EXPIRED: .*expired on 2026-11-01/);
      const rec = (await journal().listBillingFiles({}))[0];
      expect(rec).toMatchObject({ state: 'REFUSED', numero: 1 });
      expect((await journal().getBillingFile(rec.id, { bytes: true }))!.bytes!.subarray(0, 3).toString('latin1')).toBe('000');
      expect(await journal().getInvoiceBilling(K, 'F810000001')).toMatchObject({
        state: 'lot-refused',
        rejection: { code: 'CERT_EXPIRED', action: 'TRAITEMENT_MANUEL' },
      });
      expect((await journal().loadDossier(K))!.etat).toBe('ENGAGE'); // never sent: not billed
      expect(fs.existsSync(sealedDir) ? fs.readdirSync(sealedDir) : []).toEqual([]);
      await flush(); // nothing sent again, no new number
      expect(got.file).toHaveLength(1);
      expect((await journal().listBillingFiles({})).map((x) => x.numero)).toEqual([1]);
      expect(watch.texts().join('\n')).toMatch(/refus/i);

      // in the work queue: where it came from, the reason, it may be sent again
      const queue = await helper.request().get('/roc/billing/rejected').expect(200);
      expect(queue.body.total).toBe(1);
      expect(queue.body.items[0]).toMatchObject({
        cle: K,
        origine: 'FICHIER_REFUSE',
        factureNumero: 'F810000001',
        amc: AMC,
        fileNumber: 1,
        motif: { code: 'CERT_EXPIRED', action: 'TRAITEMENT_MANUEL' },
        suite: 'RENVOI_POSSIBLE',
      });
      expectNoPatientData({ texts: () => [JSON.stringify(queue.body)] }, IDS);

      // the certificate renewed in the configuration; the operator resends the refused file
      amcCert = renewed.clientCert;
      await helper.request().post('/roc/billing/files/abc/1/resend').expect(400);
      await helper.request().post(`/roc/billing/files/${AMC}/7/resend`).expect(404);
      await helper.request().post(`/roc/billing/files/${OTHER_AMC}/1/resend`).expect(404);
      const ok = await helper.request().post(`/roc/billing/files/${AMC}/1/resend`).expect(200);
      expect(ok.body).toMatchObject({ statut: 'RENVOYE', amc: AMC, numero: 1, refusees: [] });
      expect(ok.body.renvoyees).toMatchObject([{ cle: K, factureNumero: 'F810000001', billing: { state: 'ready' } }]);
      expect((await helper.request().post(`/roc/billing/files/${AMC}/1/resend`).expect(409)).body).toMatchObject({ amc: AMC, numero: 1 }); // once
      await flush();
      const f2 = await until(() => got.file[1], 'the new file');
      expect(f2.roc.billingFile).toMatchObject({ state: 'SENT', numero: 2, invoiceCount: 1 });
      expect((await journal().listBillingFiles({})).map((x) => [x.numero, x.state])).toEqual([
        [1, 'REFUSED'],
        [2, 'SENT'],
      ]);
      expect((await journal().getBillingFile(rec.id))!.reason).toMatch(/^CERT_EXPIRED/); // the refused file as it was
      expect(await journal().getInvoiceBilling(K, 'F810000001')).toMatchObject({
        state: 'sent',
        fileNumber: 2,
        engagement: 'ENG810000001',
      });
      expect((await journal().loadDossier(K))!.etat).toBe('FACTURE_AMC');
      // sealed for the renewed certificate, the same invoice inside
      const [sealed] = fs.readdirSync(sealedDir);
      const opened = openEdiConsent(fs.readFileSync(path.join(sealedDir, sealed)), {
        certPem: renewed.clientCert,
        keyPem: renewed.clientKey,
      });
      const back = readDreEs(opened.file);
      expect(back.ok && [back.value.numero, back.value.lots[0].invoices.map((i) => [i.number, i.engagement])]).toEqual([
        2,
        [['F810000001', 'ENG810000001']],
      ]);
      expect((await helper.request().post(`/roc/billing/files/${AMC}/2/resend`).expect(409)).body).toMatchObject({ numero: 2 }); // not refused
      expect((await helper.request().get('/roc/billing/rejected').expect(200)).body.total).toBe(0);
      expectNoPatientData({ texts: () => watch.texts() }, IDS);
    } finally {
      helper.settings({ rocBilling: { clock } });
    }
  });

  it("a lot refused by the AMC's negative ARL: in the work queue; the operator resends the invoice (FACTURE_AMC → ENGAGE), same number and engagement, in the next file", async () => {
    await seed(engagedDossier('820000001'));
    const got = await start({ waitForAmoPayment: false });
    const K = `${FINESS}/V/820000001`;
    helper.getNode('dre').receive({ payload: { cle: K } });
    await until(() => got.invoice.find((m) => m.roc.billing.state === 'ready'), 'ready');
    await flush();
    await until(() => got.file[0], 'file 1');
    expect((await journal().loadDossier(K))!.etat).toBe('FACTURE_AMC');
    // what roc-rsp records for the AMC's negative ARL
    clock.set('2026-12-02T09:00:00Z');
    await journal().acknowledgeBillingFile({ emitter: FINESS, amc: AMC, numero: 1 }, [
      { lotNumber: 1, positive: false, reasonCode: 'A010', reasonLabel: 'FINESS inconnu' },
    ]);
    const queue = await helper.request().get('/roc/billing/rejected').expect(200);
    expect(queue.body.items).toMatchObject([
      { cle: K, origine: 'ARL_NEGATIF', fileNumber: 1, motif: { code: 'A010', label: 'FINESS inconnu' }, suite: 'RENVOI_POSSIBLE' },
    ]);
    const ok = await helper
      .request()
      .post(`/roc/billing/rejected/${encodeURIComponent(K)}/resend`)
      .expect(200);
    expect(ok.body).toMatchObject({ statut: 'RENVOYEE', factureNumero: 'F820000001', billing: { state: 'ready' } });
    expect((await journal().loadDossier(K))!.etat).toBe('ENGAGE');
    await helper
      .request()
      .post(`/roc/billing/rejected/${encodeURIComponent(K)}/resend`)
      .expect(404); // once
    await flush();
    const f2 = await until(() => got.file[1], 'file 2');
    expect(f2.roc.billingFile).toMatchObject({ numero: 2, invoiceCount: 1 });
    const back = readDreEs(fs.readFileSync(path.join(drop, f2.roc.billingFile.name)));
    expect(back.ok && back.value.lots[0].invoices.map((i) => [i.number, i.engagement])).toEqual([['F820000001', 'ENG820000001']]);
    expect((await journal().listBillingFiles({})).map((x) => [x.numero, x.state])).toEqual([
      [1, 'REFUSED'],
      [2, 'SENT'],
    ]);
    expect((await journal().loadDossier(K))!.historique.map((h) => h.event)).toEqual(['DRE_ENVOYEE', 'RENVOI_FACTURE', 'DRE_ENVOYEE']);
    expect((await helper.request().get('/roc/billing/rejected').expect(200)).body.total).toBe(0);
  });

  it('refuses to start without an emitting FINESS', async () => {
    await helper.load(
      [journalNode, dreEsNode],
      [
        { id: 'j', type: 'roc-journal', file },
        { id: 'dre', type: 'roc-dre-es', journal: 'j', emitterFiness: '123', outboxDir: drop, wires: [] },
      ],
    );
    await until(() => watch.statuses('dre').some((s) => s.fill === 'red'), 'the red status');
  });
});
