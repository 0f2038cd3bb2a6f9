/**
 * Billing in the journal (schema 4): invoice billing states, DRE-ES files numbered without gaps per
 * emitter + AMC in the transaction that records them, ARL, RSP files recorded once with their
 * settlements; and a journal of the previous version (schema 3) gains the tables, its rows kept.
 */
import Database from 'better-sqlite3';
import { createHash } from 'crypto';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';
import { SCHEMA_VERSION } from '../../lib/store/sqlite/schema';
import type { BillingFileContent } from '../../lib/store/journal';
import { dossier } from './dossier-fixtures';

const EMITTER = '750100125';
const AMC = '0000123456';
let dir: string;
let j: SqliteJournal;
let t = Date.parse('2026-12-01T09:00:00Z');

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-billing-store-'));
  t = Date.parse('2026-12-01T09:00:00Z');
  j = new SqliteJournal({ file: path.join(dir, 'j.sqlite'), retentionDays: 0, purgeIntervalMs: 0, now: () => t });
});
afterEach(async () => {
  await j.close();
  rmSync(dir, { recursive: true, force: true });
});

const content = (numero: number, n = 1): BillingFileContent => ({
  name: `DREES_${EMITTER}_${AMC}_${String(numero).padStart(8, '0')}.dre`,
  bytes: Buffer.from(`000DREESP1${EMITTER}${AMC}${String(numero).padStart(8, '0')}`),
  invoiceCount: n,
  lineCount: 3 * n,
  amcCents: 32_040 * n,
  totalCents: 180_000 * n,
});

async function ready(key: string, number: string, amc = AMC) {
  return j.putInvoiceBilling({
    key,
    number,
    state: 'ready',
    finess: '750100125',
    amc,
    engagement: `ENG-${number}`,
    amcCents: 32_040,
    invoiceDate: '2026-11-30',
  });
}

describe('invoice billing states', () => {
  it('records the AMO payment, the verdicts, and refuses to rewrite an invoice in a file', async () => {
    const a = await j.recordAmoPayment({
      key: '750100125/V/250100421',
      number: 'FAC-2026-000731',
      amoCents: 147_960,
      paidAt: '2026-11-28',
    });
    expect(a).toMatchObject({ state: 'pending', amoPaidAt: '2026-11-28', amoCents: 147_960 });
    const w = await j.putInvoiceBilling({ key: a.key, number: a.number, state: 'pending', reason: 'paiement AMO attendu' });
    expect(w).toMatchObject({ state: 'pending', reason: 'paiement AMO attendu', amoPaidAt: '2026-11-28' });
    await ready(a.key, a.number);
    const f = await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [{ key: a.key, number: a.number, lotNumber: 1 }],
      build: (n) => content(n),
    });
    expect((await j.getInvoiceBilling(a.key, a.number))!).toMatchObject({ state: 'written', fileId: f.id, fileNumber: 1, lotNumber: 1 });
    await expect(j.putInvoiceBilling({ key: a.key, number: a.number, state: 'ready' })).rejects.toMatchObject({ code: 'BAD_STATE' });
    await expect(j.recordAmoPayment({ key: a.key, number: a.number, amoCents: -1, paidAt: '2026-11-28' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
    await expect(j.recordAmoPayment({ key: a.key, number: a.number, amoCents: 10, paidAt: '28/11/2026' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
  });
});

describe('DRE-ES files', () => {
  it('numbers files 1, 2, 3… per emitter and AMC; a failing build consumes no number; sent and acknowledged', async () => {
    await ready('750100125/V/1', 'F1');
    await ready('750100125/V/2', 'F2');
    await ready('750100125/V/3', 'F3', '0000654321');
    const f1 = await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }],
      build: (n) => content(n),
    });
    await expect(
      j.writeBillingFile({
        emitter: EMITTER,
        amc: AMC,
        invoices: [{ key: '750100125/V/2', number: 'F2', lotNumber: 1 }],
        build: () => {
          throw new Error('layout refused');
        },
      }),
    ).rejects.toThrow('layout refused');
    // an invoice not ready is refused, the number is not consumed either
    await expect(
      j.writeBillingFile({
        emitter: EMITTER,
        amc: AMC,
        invoices: [{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }],
        build: (n) => content(n),
      }),
    ).rejects.toMatchObject({ code: 'BAD_STATE' });
    const f2 = await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [{ key: '750100125/V/2', number: 'F2', lotNumber: 1 }],
      build: (n) => content(n),
    });
    const other = await j.writeBillingFile({
      emitter: EMITTER,
      amc: '0000654321',
      invoices: [{ key: '750100125/V/3', number: 'F3', lotNumber: 1 }],
      build: (n) => content(n),
    });
    expect([f1.numero, f2.numero, other.numero]).toEqual([1, 2, 1]);
    expect(f2).toMatchObject({ state: 'WRITTEN', invoiceCount: 1, amcCents: 32_040, createdAt: '2026-12-01T09:00:00.000Z' });
    expect((await j.getBillingFile(f2.id, { bytes: true }))!.bytes!.toString()).toContain('00000002');

    t = Date.parse('2026-12-02T10:00:00Z');
    const sent = await j.markBillingFileSent(f1.id);
    expect(sent).toMatchObject({ state: 'SENT', sentAt: '2026-12-02T10:00:00.000Z' });
    expect(await j.markBillingFileSent(f1.id)).toMatchObject({ state: 'SENT', sentAt: '2026-12-02T10:00:00.000Z' }); // idempotent
    expect(await j.getInvoiceBilling('750100125/V/1', 'F1')).toMatchObject({ state: 'sent', sentAt: '2026-12-02' });
    const acked = await j.acknowledgeBillingFile({ emitter: EMITTER, amc: AMC, numero: 1 }, [{ lotNumber: 0, positive: true }]);
    expect(acked.state).toBe('ARL_RECEIVED');
    expect(await j.getInvoiceBilling('750100125/V/1', 'F1')).toMatchObject({ state: 'acknowledged', acknowledgedAt: '2026-12-02' });
    await j.markBillingFileSent(f2.id);
    const refused = await j.acknowledgeBillingFile({ emitter: EMITTER, amc: AMC, numero: 2 }, [
      { lotNumber: 1, positive: false, reasonCode: 'L01', reasonLabel: 'Lot en double' },
    ]);
    expect(refused).toMatchObject({ state: 'REFUSED', reason: 'lot 1: L01 Lot en double' });
    expect(await j.getInvoiceBilling('750100125/V/2', 'F2')).toMatchObject({ state: 'lot-refused', rejection: { code: 'L01' } });
    expect((await j.listBillingFiles({ amc: AMC })).map((f) => f.numero)).toEqual([1, 2]);
    expect((await j.listInvoiceBilling({ fileId: f2.id })).map((i) => i.number)).toEqual(['F2']);
    expect((await j.listInvoiceBilling({ sentFrom: '2026-12-02', sentTo: '2026-12-02' })).map((i) => i.number).sort()).toEqual([
      'F1',
      'F2',
    ]);
  });

  it('an invoice of a refused file billed again: lot-refused → pending → the next file under a new number; the refused file stays REFUSED', async () => {
    await ready('750100125/V/1', 'F1');
    const f1 = await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }],
      build: (n) => content(n),
    });
    await j.refuseBillingFile(f1.id, { code: 'CERT_EXPIRED', label: 'recipient certificate expired on 2026-11-01' });
    expect(await j.getInvoiceBilling('750100125/V/1', 'F1')).toMatchObject({
      state: 'lot-refused',
      fileNumber: 1,
      rejection: { code: 'CERT_EXPIRED', action: 'TRAITEMENT_MANUEL' },
    });
    const reopened = await j.reopenInvoice('750100125/V/1', 'F1');
    expect(reopened).toMatchObject({ state: 'pending', engagement: 'ENG-F1', amcCents: 32_040 });
    expect(reopened.reason).toMatch(/refus du fichier \(CERT_EXPIRED, DRE-ES n°1\)/);
    for (const k of ['fileId', 'fileNumber', 'lotNumber', 'sentAt', 'acknowledgedAt', 'rejection'] as const)
      expect(reopened[k]).toBeUndefined();
    await expect(j.reopenInvoice('750100125/V/1', 'F1')).rejects.toMatchObject({ code: 'BAD_STATE' }); // once
    await ready('750100125/V/1', 'F1');
    const f2 = await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }],
      build: (n) => content(n),
    });
    expect(f2.numero).toBe(2);
    const files = await j.listBillingFiles({ amc: AMC });
    expect(files.map((f) => [f.numero, f.state])).toEqual([
      [1, 'REFUSED'],
      [2, 'WRITTEN'],
    ]);
    expect((await j.getBillingFile(f1.id, { bytes: true }))!.bytes!.toString()).toContain('00000001'); // kept as it was

    // the same after a negative ARL (the file was sent): lot-refused → pending, its dates cleared
    await j.markBillingFileSent(f2.id);
    await j.acknowledgeBillingFile({ emitter: EMITTER, amc: AMC, numero: 2 }, [
      { lotNumber: 0, positive: false, reasonCode: 'A010', reasonLabel: 'FINESS inconnu' },
    ]);
    expect(await j.getInvoiceBilling('750100125/V/1', 'F1')).toMatchObject({ state: 'lot-refused', sentAt: '2026-12-01' });
    const again = await j.reopenInvoice('750100125/V/1', 'F1');
    expect(again).toMatchObject({ state: 'pending' });
    expect(again.sentAt).toBeUndefined();
    expect(again.reason).toMatch(/A010, DRE-ES n°2/);
  });

  it('an ARL for a file still WRITTEN (stopped between sending and recording it): sent and acknowledged', async () => {
    await ready('750100125/V/1', 'F1');
    const f = await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }],
      build: (n) => content(n),
    });
    const a = await j.acknowledgeBillingFile({ emitter: EMITTER, amc: AMC, numero: f.numero }, [{ lotNumber: 1, positive: true }]);
    expect(a).toMatchObject({ state: 'ARL_RECEIVED', sentAt: '2026-12-01T09:00:00.000Z' });
    expect(await j.getInvoiceBilling('750100125/V/1', 'F1')).toMatchObject({
      state: 'acknowledged',
      sentAt: '2026-12-01',
      acknowledgedAt: '2026-12-01',
    });
    await expect(j.acknowledgeBillingFile({ emitter: EMITTER, amc: AMC, numero: 99 }, [])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('the numbering survives closing and reopening the journal', async () => {
    await ready('750100125/V/1', 'F1');
    await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }],
      build: (n) => content(n),
    });
    await j.close();
    j = new SqliteJournal({ file: path.join(dir, 'j.sqlite'), retentionDays: 0, purgeIntervalMs: 0, now: () => t });
    await ready('750100125/V/2', 'F2');
    const f = await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [{ key: '750100125/V/2', number: 'F2', lotNumber: 1 }],
      build: (n) => content(n),
    });
    expect(f.numero).toBe(2);
  });
});

describe('RSP files', () => {
  it('a file is recorded once by hash; its settlements apply only to invoices sent or acknowledged', async () => {
    await ready('750100125/V/1', 'F1');
    await ready('750100125/V/2', 'F2');
    const f = await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [
        { key: '750100125/V/1', number: 'F1', lotNumber: 1 },
        { key: '750100125/V/2', number: 'F2', lotNumber: 1 },
      ],
      build: (n) => content(n, 2),
    });
    await j.markBillingFileSent(f.id);
    await ready('750100125/V/3', 'F3'); // never sent
    const bytes = Buffer.from('000RSPROCP1...');
    const hash = createHash('sha256').update(bytes).digest('hex');
    const settlements = [
      {
        key: '750100125/V/1',
        number: 'F1',
        state: 'paid' as const,
        settledAt: '2026-12-05',
        paidCents: 32_040,
        differenceCents: 0,
        paymentReference: 'VIR-000123',
      },
      {
        key: '750100125/V/2',
        number: 'F2',
        state: 'rejected' as const,
        settledAt: '2026-12-05',
        paidCents: 0,
        differenceCents: 32_040,
        rejection: { code: 'R003', label: "Numéro d'engagement inconnu ou annulé", action: 'CORRIGER' },
      },
      { key: '750100125/V/3', number: 'F3', state: 'paid' as const, settledAt: '2026-12-05', paidCents: 32_040, differenceCents: 0 },
    ];
    const r = await j.recordRspFile({ hash, amc: AMC, numero: 7, state: 'PROCESSED', bytes, settlements });
    expect(r).toMatchObject({ duplicate: false, applied: 2 });
    expect(await j.getInvoiceBilling('750100125/V/1', 'F1')).toMatchObject({
      state: 'paid',
      paidCents: 32_040,
      paymentReference: 'VIR-000123',
    });
    expect(await j.getInvoiceBilling('750100125/V/2', 'F2')).toMatchObject({ state: 'rejected', rejection: { code: 'R003' } });
    expect(await j.getInvoiceBilling('750100125/V/3', 'F3')).toMatchObject({ state: 'ready' });
    const again = await j.recordRspFile({ hash, amc: AMC, numero: 7, state: 'PROCESSED', bytes, settlements });
    expect(again).toMatchObject({ duplicate: true, applied: 0 });
    expect((await j.getRspFile(hash, { bytes: true }))!.bytes).toEqual(bytes);
    // a quarantined file is kept raw and applies nothing
    const bad = Buffer.from('truncated');
    const q = await j.recordRspFile({
      hash: createHash('sha256').update(bad).digest('hex'),
      state: 'QUARANTINED',
      reason: 'RSP: truncated',
      bytes: bad,
      settlements,
    });
    expect(q).toMatchObject({ duplicate: false, applied: 0, record: { state: 'QUARANTINED', reason: 'RSP: truncated' } });

    // a rejected invoice billed again: rejected → pending, its file and rejection cleared; then
    // released and written in the next file; only a rejected one reopens
    await expect(j.reopenInvoice('750100125/V/1', 'F1')).rejects.toMatchObject({ code: 'BAD_STATE' });
    await expect(j.reopenInvoice('750100125/V/9', 'F9')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const reopened = await j.reopenInvoice('750100125/V/2', 'F2');
    expect(reopened).toMatchObject({ state: 'pending', engagement: 'ENG-F2', amcCents: 32_040 });
    expect(reopened.reason).toMatch(/R003.*DRE-ES n°1/);
    for (const k of ['fileId', 'fileNumber', 'lotNumber', 'sentAt', 'settledAt', 'paidCents', 'rejection'] as const)
      expect(reopened[k]).toBeUndefined();
    await ready('750100125/V/2', 'F2');
    const f2 = await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [{ key: '750100125/V/2', number: 'F2', lotNumber: 1 }],
      build: (n) => content(n, 1),
    });
    expect(f2.numero).toBe(2);
    expect(await j.getInvoiceBilling('750100125/V/2', 'F2')).toMatchObject({ state: 'written', fileNumber: 2 });
  });
});

describe('migration of a schema-3 journal to schema 4', () => {
  it('opens a version-3 file: its dossiers stay, the billing tables exist', async () => {
    const file = path.join(dir, 'v3.sqlite');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(readFileSync(path.join(__dirname, 'schema-v3.sql'), 'utf8'));
    old.prepare("INSERT INTO meta (k, v) VALUES ('schema', '3')").run();
    const d = dossier('V2026110001', 'ENGAGE');
    old
      .prepare(
        `INSERT INTO dossiers (okey, roc, engagements, updated_at, record, maj_le, etat) VALUES (?, 'null', '[]', ?, ?, ?, 'ENGAGE')`,
      )
      .run(d.key, Date.parse('2026-11-20T08:00:00Z'), JSON.stringify(d), d.majLe);
    old.close();
    const k = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
    try {
      expect(await k.loadDossier(d.key)).toEqual(d);
      await k.putInvoiceBilling({ key: d.key, number: 'F1', state: 'ready', amc: AMC });
      const f = await k.writeBillingFile({
        emitter: EMITTER,
        amc: AMC,
        invoices: [{ key: d.key, number: 'F1', lotNumber: 1 }],
        build: (n) => content(n),
      });
      expect(f.numero).toBe(1);
    } finally {
      await k.close();
    }
    const db = new Database(file, { readonly: true });
    expect((db.prepare("SELECT v FROM meta WHERE k = 'schema'").get() as { v: string }).v).toBe(String(SCHEMA_VERSION));
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(4);
    db.close();
  });
});
