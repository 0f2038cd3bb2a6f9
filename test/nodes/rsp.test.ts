/**
 * roc-rsp in a Node-RED runtime with a real journal: an RSP from the AMC settles the invoices sent
 * (paid, partially paid, rejected with the label of the code table), moves their dossiers to PAYE /
 * PAYE_PARTIEL / REJETE, answers a positive ARL through the outbox and emits one message per
 * invoice; lines for an unknown invoice, another FINESS or another amount are refused and change
 * nothing; the same file again is a duplicate; a file whose totals do not add up or that is
 * truncated is quarantined raw with a negative ARL; the drop directory; the AMC's ARL for a DRE-ES
 * file; no patient data in statuses and logs.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import journalNode from '../../nodes/roc-journal/roc-journal';
import rspNode from '../../nodes/roc-rsp/roc-rsp';
import dreEsNode from '../../nodes/roc-dre-es/roc-dre-es';
import { SqliteJournal } from '../../lib/store/sqlite';
import { writeRsp, type ReturnInput } from '../../lib/billing/rsp';
import { readArl, writeArl } from '../../lib/billing/arl';
import { AMC, AMC_CENTS, FINESS, PATIENT, engagedDossier } from '../support/billing';
import { expectNoPatientData, identifiersOf, watchNodeRed } from '../support/patient-data';
import { TestClock } from '../dossier/fixtures';
import { records, tamper, fromRecords } from '../billing/helpers';

helper.init(require.resolve('node-red'));
const watch = watchNodeRed(helper);
const IDS = identifiersOf({ nir: PATIENT.nir, names: [PATIENT.nom], birthDates: [PATIENT.dateNaissance], ipps: ['481516'] });
const OUT = ['settled', 'problem', 'arl'];
const clock = TestClock.at('2026-12-10T09:00:00Z');
const VENUES = ['600000001', '600000002', '600000003', '600000004'];
let dir: string;
let file: string;
let drop: string;
let inDir: string;

async function until<T>(f: () => T | undefined | false, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Four dossiers billed in DRE-ES file 1 to AMC, sent on 2026-12-01 (dossiers in FACTURE_AMC). */
async function billed() {
  const j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0, now: () => Date.parse('2026-12-01T10:00:00Z') });
  for (const v of VENUES) {
    await j.saveDossier({ ...engagedDossier(v), etat: 'FACTURE_AMC' }, null);
    await j.putInvoiceBilling({
      key: `${FINESS}/V/${v}`,
      number: `F${v}`,
      state: 'ready',
      amc: AMC,
      finess: FINESS,
      engagement: `ENG${v}`,
      amcCents: AMC_CENTS,
      invoiceDate: '2026-11-24',
    });
  }
  const f = await j.writeBillingFile({
    emitter: FINESS,
    amc: AMC,
    invoices: VENUES.map((v) => ({ key: `${FINESS}/V/${v}`, number: `F${v}`, lotNumber: 1, finess: FINESS })),
    build: (n) => ({
      name: `DREES_${FINESS}_${AMC}_${String(n).padStart(8, '0')}.dre`,
      bytes: Buffer.from('x'),
      invoiceCount: 4,
      lineCount: 12,
      amcCents: 4 * AMC_CENTS,
      totalCents: 4 * 303_877,
    }),
  });
  await j.markBillingFileSent(f.id);
  await j.close();
}

const ret = (v: string, kind: 'paid' | 'rejected', paidCents = AMC_CENTS, claimed = AMC_CENTS): ReturnInput =>
  kind === 'paid'
    ? {
        kind,
        invoiceNumber: `F${v}`,
        lotNumber: 1,
        fileNumber: 1,
        invoiceDate: '2026-11-24',
        engagement: `ENG${v}`,
        claimedCents: claimed,
        paidCents,
        paymentReference: 'VIR261210001',
        paymentDate: '2026-12-09',
      }
    : {
        kind,
        invoiceNumber: `F${v}`,
        lotNumber: 1,
        fileNumber: 1,
        invoiceDate: '2026-11-24',
        engagement: `ENG${v}`,
        claimedCents: claimed,
        reason: 'R003',
      };

function rsp(numero = 1) {
  return writeRsp({
    amc: AMC,
    numero,
    date: '2026-12-09',
    recipients: [
      {
        finess: FINESS,
        returns: [
          ret('600000001', 'paid'),
          ret('600000002', 'paid', 50_000),
          ret('600000003', 'rejected'),
          ret('600000004', 'paid', 1_000, 1_000), // claimed ≠ billed
          ret('699999999', 'paid'), // unknown invoice
        ],
      },
      { finess: '750100133', returns: [ret('600000001', 'paid')] }, // another FINESS
    ],
  });
}

async function start(extra: Record<string, unknown> = {}) {
  await helper.load(
    [journalNode, rspNode, dreEsNode],
    [
      { id: 'j', type: 'roc-journal', file },
      {
        id: 'rsp',
        type: 'roc-rsp',
        journal: 'j',
        emitterFiness: FINESS,
        finess: FINESS,
        outboxDir: drop,
        ...extra,
        wires: OUT.map((o) => [`out-${o}`]),
      },
      ...OUT.map((o) => ({ id: `out-${o}`, type: 'helper' })),
    ],
  );
  const got: Record<string, any[]> = Object.fromEntries(OUT.map((o) => [o, []]));
  for (const o of OUT) helper.getNode(`out-${o}`).on('input', (m: any) => got[o].push(m));
  return got;
}
async function peek<T>(fn: (j: SqliteJournal) => Promise<T>): Promise<T> {
  const j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0, recoverSentOnOpen: false });
  try {
    return await fn(j);
  } finally {
    await j.close();
  }
}
const arls = () =>
  fs.existsSync(drop)
    ? fs
        .readdirSync(drop)
        .filter((n) => n.endsWith('.arl'))
        .sort()
    : [];

beforeAll(() => helper.settings({ rocBilling: { clock } }));
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-rsp-node-'));
  file = path.join(dir, 'journal.sqlite');
  drop = path.join(dir, 'out');
  inDir = path.join(dir, 'in');
  watch.clear();
  await billed();
});
afterEach(async () => {
  await helper.unload();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterAll(() => helper.settings({}));

describe('roc-rsp', () => {
  it('settles paid, partially paid and rejected invoices, refuses the bad lines, answers a positive ARL', async () => {
    const got = await start();
    helper.getNode('rsp').receive({ payload: rsp(), filename: 'RSP_0000123456_00000001.rsp' });
    await until(() => got.settled.length >= 3 && got.problem.length >= 3, 'the outcomes');
    expect(got.settled.map((m) => [m.roc.billing.factureNumero, m.roc.billing.state, m.roc.billing.dossier.etat])).toEqual([
      ['F600000001', 'paid', 'PAYE'],
      ['F600000002', 'partially-paid', 'PAYE_PARTIEL'],
      ['F600000003', 'rejected', 'REJETE'],
    ]);
    expect(got.settled[1].roc.billing).toMatchObject({ paidCents: 50_000, differenceCents: AMC_CENTS - 50_000 });
    expect(got.settled[2].roc.billing.reason).toEqual({ code: 'R003', label: "Numéro d'engagement inconnu ou annulé", action: 'CORRIGER' });
    expect(got.problem.map((m) => [m.roc.billing.state, m.roc.billing.code, m.roc.billing.factureNumero])).toEqual([
      ['refused', 'amount-mismatch', 'F600000004'],
      ['refused', 'unknown-invoice', 'F699999999'],
      ['refused', 'other-finess', 'F600000001'],
    ]);
    const states = await peek(async (j) => ({
      inv: await Promise.all(VENUES.map(async (v) => (await j.getInvoiceBilling(`${FINESS}/V/${v}`, `F${v}`))!.state)),
      dos: await Promise.all(VENUES.map(async (v) => (await j.loadDossier(`${FINESS}/V/${v}`))!.etat)),
    }));
    expect(states.inv).toEqual(['paid', 'partially-paid', 'rejected', 'sent']);
    expect(states.dos).toEqual(['PAYE', 'PAYE_PARTIEL', 'REJETE', 'FACTURE_AMC']);
    const [arlName] = arls();
    const arl = readArl(fs.readFileSync(path.join(drop, arlName)));
    expect(arl.ok && arl.value.acks[0]).toMatchObject({ fileKind: 'RSP', fileNumber: 1, positive: true });

    // the same file again: a duplicate, nothing changes
    helper.getNode('rsp').receive({ payload: rsp() });
    const dup = await until(() => got.problem.find((m) => m.roc.billing.state === 'duplicate'), 'the duplicate');
    expect(dup.roc.billing.code).toBe('duplicate');
    expect(got.settled).toHaveLength(3);
    expect(arls()).toHaveLength(1);
    // the reconciliation view answers with roc-rsp alone deployed
    const rec = await helper.request().get('/roc/billing/reconciliation?at=2026-12-10').expect(200);
    expect(rec.body.total).toMatchObject({
      sent: 4,
      paid: 1,
      partiallyPaid: 1,
      rejected: 1,
      outstanding: 1,
      shortfallCents: AMC_CENTS - 50_000,
    });
    expectNoPatientData({ texts: () => watch.texts() }, IDS);
  });

  it('quarantines a file whose totals do not add up, and a truncated one: kept raw, negative ARL, no invoice changed', async () => {
    const got = await start();
    const good = rsp(2);
    const n = records(good).length;
    const badTotals = tamper(good, n, 47, '000000000001');
    const truncated = fromRecords(records(rsp(3)).slice(0, -1));
    helper.getNode('rsp').receive({ payload: badTotals });
    helper.getNode('rsp').receive({ payload: truncated });
    await until(() => got.problem.length >= 2, 'two quarantines');
    expect(got.problem.map((m) => [m.roc.billing.state, m.roc.billing.code])).toEqual([
      ['quarantined', 'totals'],
      ['quarantined', 'truncated'],
    ]);
    expect(got.settled).toEqual([]);
    const kept = await peek(async (j) => ({
      raw: (await j.getRspFile(got.problem[0].roc.billing.file.hash, { bytes: true }))!,
      states: await Promise.all(VENUES.map(async (v) => (await j.getInvoiceBilling(`${FINESS}/V/${v}`, `F${v}`))!.state)),
    }));
    expect(kept.raw).toMatchObject({ state: 'QUARANTINED', amc: AMC, numero: 2 });
    expect(kept.raw.bytes).toEqual(badTotals);
    expect(kept.states).toEqual(['sent', 'sent', 'sent', 'sent']);
    const negative = arls().map((a) => readArl(fs.readFileSync(path.join(drop, a))));
    expect(negative.map((a) => a.ok && [a.value.acks[0].positive, a.value.acks[0].reasonCode])).toEqual([
      [false, 'T001'],
      [false, 'T002'],
    ]);
  });

  it('reads the drop directory: processed/ and quarantine/; the AMC’s ARL acknowledges the DRE-ES file', async () => {
    fs.mkdirSync(inDir, { recursive: true });
    fs.writeFileSync(path.join(inDir, 'RSP_1.rsp'), rsp(4));
    fs.writeFileSync(path.join(inDir, 'RSP_2.rsp'), Buffer.from('not a return file\r\n'));
    fs.writeFileSync(
      path.join(inDir, 'ARL_1.arl'),
      writeArl({
        emitter: AMC,
        recipient: FINESS,
        arlNumber: 1,
        date: '2026-12-02',
        acks: [{ fileKind: 'DREES', fileNumber: 1, lotNumber: 0, positive: true, invoiceCount: 4, amountCents: 4 * AMC_CENTS }],
      }),
    );
    const got = await start({ inputDir: inDir, pollSeconds: 3600 });
    await (helper.getNode('rsp') as any).poll();
    expect(fs.readdirSync(path.join(inDir, 'processed')).sort()).toEqual(['ARL_1.arl', 'RSP_1.rsp']);
    expect(fs.readdirSync(path.join(inDir, 'quarantine'))).toEqual(['RSP_2.rsp']);
    expect(got.arl.map((m) => m.roc.billingFile)).toEqual([expect.objectContaining({ state: 'ARL_RECEIVED', amc: AMC, numero: 1 })]);
    expect(got.settled).toHaveLength(3);
  });

  it('a stop after the settlements were recorded but before the dossiers moved: they move at start', async () => {
    await peek(async (j) => {
      const bytes = Buffer.from('rsp recorded before a kill');
      await j.recordRspFile({
        hash: createHash('sha256').update(bytes).digest('hex'),
        amc: AMC,
        numero: 9,
        state: 'PROCESSED',
        bytes,
        settlements: [
          {
            key: `${FINESS}/V/600000001`,
            number: 'F600000001',
            state: 'paid',
            settledAt: '2026-12-09',
            paidCents: AMC_CENTS,
            differenceCents: 0,
          },
        ],
      });
    });
    await start();
    const etat = async () => peek(async (j) => (await j.loadDossier(`${FINESS}/V/600000001`))!.etat);
    const end = Date.now() + 5000;
    while ((await etat()) !== 'PAYE' && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(await etat()).toBe('PAYE');
    expect(await peek(async (j) => (await j.loadDossier(`${FINESS}/V/600000002`))!.etat)).toBe('FACTURE_AMC');
  });
});
