/**
 * examples/roc-billing.json run for real (the generic examples test skips it: it has no inject),
 * through a whole billing cycle with a real journal: an engaged invoice waits for the AMO payment,
 * POST /roc/amo-payment releases it, roc-dre-es writes DRE-ES file 1 to the out directory; an AMC
 * (played here with lib/billing: readDreEs, writeArl, writeRsp) answers an ARL and an RSP in the in
 * directory; roc-rsp acknowledges the file, settles the invoice paid, moves the dossier to PAYE and
 * writes the ARL back; the reconciliation view counts it sent, acknowledged and paid.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import journalNode from '../../nodes/roc-journal/roc-journal';
import dreEsNode from '../../nodes/roc-dre-es/roc-dre-es';
import rspNode from '../../nodes/roc-rsp/roc-rsp';
import { SqliteJournal } from '../../lib/store/sqlite';
import { readDreEs } from '../../lib/billing/dre-es';
import { writeArl } from '../../lib/billing/arl';
import { writeRsp } from '../../lib/billing/rsp';
import { AMC, AMC_CENTS, FINESS, PATIENT, engagedDossier } from '../support/billing';
import { expectNoPatientData, identifiersOf, watchNodeRed } from '../support/patient-data';
import { TestClock } from '../dossier/fixtures';

/* eslint-disable @typescript-eslint/no-require-imports */
const CORE = [require('@node-red/nodes/core/common/90-comment.js')];
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve('node-red'));
const watch = watchNodeRed(helper);
const IDS = identifiersOf({ nir: PATIENT.nir, names: [PATIENT.nom], birthDates: [PATIENT.dateNaissance], ipps: ['481516'] });
const clock = TestClock.at('2026-12-01T09:00:00Z');
let dir: string;

beforeAll(() => helper.settings({ rocBilling: { clock } }));
afterAll(() => helper.settings({}));
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-billing-example-'));
  watch.clear();
});
afterEach(async () => {
  await helper.unload();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until<T>(f: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('examples/roc-billing.json: AMO payment → DRE-ES → ARL + RSP → paid, reconciled', async () => {
  const file = path.join(dir, 'journal.sqlite');
  const out = path.join(dir, 'out');
  const inDir = path.join(dir, 'in');
  const key = `${FINESS}/V/250100421`;
  const j0 = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
  await j0.saveDossier(engagedDossier('250100421'), null);
  await j0.close();

  const flow = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'roc-billing.json'), 'utf8')) as any[];
  expect(flow[0].type).toBe('comment');
  const tab = { id: 'tab', type: 'tab', label: 'billing' };
  const nodes = flow.map((n) => {
    const m = n.x !== undefined ? { ...n, z: 'tab' } : { ...n };
    if (m.type === 'roc-journal') m.file = file;
    if (m.outboxDir) m.outboxDir = out;
    if (m.inputDir) m.inputDir = inDir;
    if (m.type === 'roc-dre-es') m.schedule = false;
    if (m.type === 'roc-rsp') m.pollSeconds = 3600;
    if (m.type === 'debug' || m.type === 'http response') return { id: m.id, z: 'tab', type: 'helper', wires: [] };
    // the test helper does not serve httpNode routes: the http in node is played by a helper wired as it is
    if (m.type === 'http in') return { id: m.id, z: 'tab', type: 'helper', wires: m.wires };
    return m;
  });
  await helper.load([journalNode, dreEsNode, rspNode, ...CORE], [tab, ...nodes]);
  const got: Record<string, any[]> = {};
  for (const id of ['ex-bill-d1', 'ex-bill-d2', 'ex-bill-d3', 'ex-bill-d4', 'ex-bill-d5', 'ex-bill-res']) {
    got[id] = [];
    helper.getNode(id).on('input', (m: any) => got[id].push(m));
  }
  const dre = helper.getNode('ex-bill-dre') as any;
  dre.receive({ roc: { dossier: { cle: key } } });
  await until(() => got['ex-bill-d1'][0], 'the waiting invoice');
  expect(got['ex-bill-d1'][0].roc.billing).toMatchObject({ state: 'pending', code: 'AMO_UNPAID' });

  const post = (payload: unknown) => (helper.getNode('ex-bill-http') as any).send({ payload });
  post({ cle: key, factureNumero: 'F250100421', montantAmo: 2347.82, datePaiement: '2026-11-28' });
  const res = await until(() => got['ex-bill-res'][0], 'the HTTP answer');
  expect(res.statusCode).toBe(200);
  expect(res.payload).toMatchObject({ statut: 'AMO_PAYE', billing: { state: 'ready' } });
  post({ cle: key, factureNumero: 'F250100421', montantAmo: 'x' });
  expect((await until(() => got['ex-bill-res'][1], 'the 400')).statusCode).toBe(400);

  await dre.flush();
  const sent = await until(() => got['ex-bill-d2'][0], 'the DRE-ES file');
  const dreBytes = fs.readFileSync(path.join(out, sent.roc.billingFile.name));
  const dreFile = readDreEs(dreBytes);
  if (!dreFile.ok) throw new Error(dreFile.reason);
  const inv = dreFile.value.lots[0].invoices[0];

  // the AMC: a positive ARL for the file, then the RSP paying the invoice
  fs.mkdirSync(inDir, { recursive: true });
  clock.set('2026-12-02T09:00:00Z');
  fs.writeFileSync(
    path.join(inDir, 'a-ARL.arl'),
    writeArl({
      emitter: AMC,
      recipient: FINESS,
      arlNumber: 1,
      date: '2026-12-02',
      acks: [
        { fileKind: 'DREES', fileNumber: dreFile.value.numero, lotNumber: 0, positive: true, invoiceCount: 1, amountCents: AMC_CENTS },
      ],
    }),
  );
  fs.writeFileSync(
    path.join(inDir, 'b-RSP.rsp'),
    writeRsp({
      amc: AMC,
      numero: 1,
      date: '2026-12-05',
      recipients: [
        {
          finess: FINESS,
          returns: [
            {
              kind: 'paid',
              invoiceNumber: inv.number,
              lotNumber: 1,
              fileNumber: dreFile.value.numero,
              invoiceDate: inv.invoiceDate,
              engagement: inv.engagement,
              claimedCents: AMC_CENTS,
              paidCents: AMC_CENTS,
              paymentReference: 'VIR261205001',
              paymentDate: '2026-12-05',
            },
          ],
        },
      ],
    }),
  );
  await (helper.getNode('ex-bill-rsp') as any).poll();
  await until(() => got['ex-bill-d3'][0], 'the settled invoice');
  expect(got['ex-bill-d5'][0].roc.billingFile).toMatchObject({ state: 'ARL_RECEIVED', numero: 1 });
  expect(got['ex-bill-d3'][0].roc.billing).toMatchObject({ state: 'paid', factureNumero: 'F250100421', dossier: { etat: 'PAYE' } });
  expect(got['ex-bill-d4']).toEqual([]);
  expect(fs.readdirSync(out).filter((n) => n.endsWith('.arl'))).toHaveLength(1);

  const rec = await helper.request().get('/roc/billing/reconciliation?at=2026-12-20').expect(200);
  expect(rec.body.total).toMatchObject({ sent: 1, acknowledged: 1, paid: 1, outstanding: 0, aged: 0, paidCents: AMC_CENTS });
  expectNoPatientData({ texts: () => watch.texts() }, IDS);
});
