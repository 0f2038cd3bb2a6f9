/**
 * The billing side of the SQLite journal (lib/store/sqlite/billing.ts) at its edges: what each
 * call refuses and with which message (the billing nodes turn them into KO reasons, the ops page
 * shows them), the exact shape of what it returns (absent fields stay absent), the filters and
 * limits of its lists, per-lot acknowledgements, the refusal of a file not sent, RSP records.
 */
import { SqliteJournal } from '../../lib/store/sqlite';
import type { BillingFileContent, InvoiceBillingInput } from '../../lib/store/journal';

const EMITTER = '750100125';
const AMC = '0000123456';
const HASH = 'a'.repeat(64);
let t: number;
let j: SqliteJournal;
beforeEach(() => {
  t = Date.parse('2026-12-01T09:00:00Z');
  j = new SqliteJournal({ file: ':memory:', retentionDays: 0, purgeIntervalMs: 0, now: () => t });
});
afterEach(() => j.close());

const bad = (message: string) => ({ code: 'BAD_INPUT', message });
const content = (numero: number): BillingFileContent => ({
  name: `DREES_${EMITTER}_${AMC}_${String(numero).padStart(8, '0')}.dre`,
  bytes: Buffer.from(`000DREESP1${EMITTER}${AMC}${String(numero).padStart(8, '0')}`),
  invoiceCount: 1,
  lineCount: 3,
  amcCents: 32_040,
  totalCents: 180_000,
});
const ready = (key: string, number: string, extra: Partial<InvoiceBillingInput> = {}) =>
  j.putInvoiceBilling({ key, number, state: 'ready', amc: AMC, engagement: `ENG-${number}`, amcCents: 32_040, ...extra });
async function file(invoices: Array<{ key: string; number: string; lotNumber: number }>) {
  for (const i of invoices) await ready(i.key, i.number);
  return j.writeBillingFile({ emitter: EMITTER, amc: AMC, invoices, build: content });
}

describe('what billing refuses, and its message', () => {
  it('recordAmoPayment: key, invoice number, cents, date', async () => {
    const ok = { key: '750100125/V/250100421', number: 'FAC-2026-000731', amoCents: 147_960, paidAt: '2026-11-28' };
    await expect(j.recordAmoPayment({ ...ok, key: '' })).rejects.toMatchObject(bad('key is required'));
    await expect(j.recordAmoPayment({ ...ok, number: undefined as never })).rejects.toMatchObject(bad('invoice number is required'));
    await expect(j.recordAmoPayment({ ...ok, number: 'F'.repeat(41) })).rejects.toMatchObject(
      bad('invoice number is longer than 40 characters'),
    );
    for (const amoCents of [-1, 1.5, '147960', Number.MAX_SAFE_INTEGER + 1])
      await expect(j.recordAmoPayment({ ...ok, amoCents: amoCents as number })).rejects.toMatchObject(
        bad('amoCents must be a whole number of cents ≥ 0'),
      );
    for (const paidAt of ['28/11/2026', '2026-13-01', 20261128, 'le 2026-11-28', ['2026-11-28']])
      // (a JSON body may carry a list)
      await expect(j.recordAmoPayment({ ...ok, paidAt: paidAt as string })).rejects.toMatchObject(bad('paidAt must be an ISO date'));
    await expect(j.recordAmoPayment(undefined as never)).rejects.toMatchObject(bad('key is required'));
    expect(await j.recordAmoPayment({ ...ok, amoCents: 0 })).toMatchObject({ amoCents: 0 }); // nothing paid by the AMO is 0
  });

  it('putInvoiceBilling: only the open states, bounded fields, and never over an invoice in a file', async () => {
    const ok: InvoiceBillingInput = { key: '750100125/V/1', number: 'F1', state: 'ready' };
    for (const state of ['written', 'paid', undefined])
      await expect(j.putInvoiceBilling({ ...ok, state: state as never })).rejects.toMatchObject(
        bad('putInvoiceBilling: state must be pending, refused or ready'),
      );
    await expect(j.putInvoiceBilling(undefined as never)).rejects.toMatchObject(
      bad('putInvoiceBilling: state must be pending, refused or ready'),
    );
    await expect(j.putInvoiceBilling({ ...ok, key: '' })).rejects.toMatchObject(bad('key is required'));
    await expect(j.putInvoiceBilling({ ...ok, number: '' })).rejects.toMatchObject(bad('invoice number is required'));
    await expect(j.putInvoiceBilling({ ...ok, finess: '7'.repeat(21) })).rejects.toMatchObject(bad('finess is longer than 20 characters'));
    await expect(j.putInvoiceBilling({ ...ok, amc: '0'.repeat(21) })).rejects.toMatchObject(bad('amc is longer than 20 characters'));
    await expect(j.putInvoiceBilling({ ...ok, engagement: 'E'.repeat(41) })).rejects.toMatchObject(
      bad('engagement is longer than 40 characters'),
    );
    await expect(j.putInvoiceBilling({ ...ok, amcCents: -5 })).rejects.toMatchObject(bad('amcCents must be a whole number of cents ≥ 0'));
    await expect(j.putInvoiceBilling({ ...ok, invoiceDate: '30/11/2026' })).rejects.toMatchObject(bad('invoiceDate must be an ISO date'));
    // a date-time counts for its day; a long reason is bounded
    const w = await j.putInvoiceBilling({ ...ok, state: 'refused', invoiceDate: '2026-11-30T10:15:00', reason: 'x'.repeat(600) });
    expect(w.invoiceDate).toBe('2026-11-30');
    // a time zone written out (as some GAPs export it): the day is read, the rest is not
    expect((await j.putInvoiceBilling({ ...ok, invoiceDate: '2026-11-29T23:10:00 CET' })).invoiceDate).toBe('2026-11-29');
    expect(w.reason!.length).toBeLessThanOrEqual(500);
    await file([{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }]);
    await expect(j.putInvoiceBilling(ok)).rejects.toMatchObject({
      code: 'BAD_STATE',
      message: 'invoice F1 is already written: its billing state is not rewritten',
    });
  });

  it('reopenInvoice: a known rejected or lot-refused invoice only', async () => {
    await ready('750100125/V/1', 'F1');
    await expect(j.reopenInvoice('', 'F1')).rejects.toMatchObject(bad('key is required'));
    await expect(j.reopenInvoice('750100125/V/1', '')).rejects.toMatchObject(bad('invoice number is required'));
    await expect(j.reopenInvoice('750100125/V/9', 'F9')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'invoice F9 is unknown to billing',
    });
    await expect(j.reopenInvoice('750100125/V/1', 'F1')).rejects.toMatchObject({
      code: 'BAD_STATE',
      message: 'invoice F1 is ready: only a rejected or lot-refused invoice is billed again',
    });
  });

  it('listInvoiceBilling: known states, bounded filters, a readable date, a positive limit', async () => {
    await expect(j.listInvoiceBilling({ states: ['bogus' as never] })).rejects.toMatchObject(bad('states must be invoice billing states'));
    await expect(j.listInvoiceBilling({ states: 'paid' as never })).rejects.toMatchObject(bad('states must be invoice billing states'));
    await expect(j.listInvoiceBilling({ amc: '' })).rejects.toMatchObject(bad('amc is required'));
    await expect(j.listInvoiceBilling({ key: '' })).rejects.toMatchObject(bad('key is required'));
    await expect(j.listInvoiceBilling({ fileId: 1.5 })).rejects.toMatchObject(bad('fileId must be an integer'));
    await expect(j.listInvoiceBilling({ sentFrom: '01/12/2026' })).rejects.toMatchObject(bad('sentFrom must be an ISO date'));
    await expect(j.listInvoiceBilling({ sentTo: '2026-12' })).rejects.toMatchObject(bad('sentTo must be an ISO date'));
    for (const limit of [0, 2.5])
      await expect(j.listInvoiceBilling({ limit })).rejects.toMatchObject(bad('limit must be a positive integer'));
  });

  it('writeBillingFile: emitter, AMC, build(), invoices all ready, a name and bytes from build()', async () => {
    await ready('750100125/V/1', 'F1');
    const ok = { emitter: EMITTER, amc: AMC, invoices: [{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }], build: content };
    await expect(j.writeBillingFile({ ...ok, emitter: '' })).rejects.toMatchObject(bad('emitter is required'));
    await expect(j.writeBillingFile(undefined as never)).rejects.toMatchObject(bad('emitter is required'));
    await expect(j.writeBillingFile({ ...ok, amc: undefined as never })).rejects.toMatchObject(bad('amc is required'));
    await expect(j.writeBillingFile({ ...ok, build: 'content' as never })).rejects.toMatchObject(
      bad('writeBillingFile needs build(numero)'),
    );
    for (const invoices of [[], undefined])
      await expect(j.writeBillingFile({ ...ok, invoices: invoices as never })).rejects.toMatchObject(
        bad('writeBillingFile: a file needs invoices'),
      );
    await expect(
      j.writeBillingFile({ ...ok, invoices: [...ok.invoices, { key: '750100125/V/2', number: 'F2', lotNumber: 1 }] }),
    ).rejects.toMatchObject({ code: 'BAD_STATE', message: 'invoice F2 is unknown, not ready: not put in a file' });
    for (const built of [{ ...content(1), bytes: 'texte' }, { ...content(1), name: '' }, { ...content(1), name: 7 }, undefined])
      await expect(j.writeBillingFile({ ...ok, build: () => built as never })).rejects.toMatchObject(
        bad('build(numero) must give the file name and bytes'),
      );
    // none of those consumed a number or moved the invoice
    expect((await j.writeBillingFile(ok)).numero).toBe(1);
  });

  it('recordRspFile: a SHA-256, the raw bytes, a known state, well-formed settlements', async () => {
    const ok = { hash: HASH, state: 'PROCESSED' as const, bytes: Buffer.from('000RSP') };
    for (const hash of ['A'.repeat(64), 'a'.repeat(63), 42, `z${'a'.repeat(64)}`, `${'a'.repeat(64)}z`])
      await expect(j.recordRspFile({ ...ok, hash: hash as string })).rejects.toMatchObject(bad('hash must be a SHA-256 in hex'));
    await expect(j.recordRspFile(undefined as never)).rejects.toMatchObject(bad('hash must be a SHA-256 in hex'));
    await expect(j.recordRspFile({ ...ok, bytes: '000RSP' as never })).rejects.toMatchObject(bad('recordRspFile needs the raw bytes'));
    await expect(j.recordRspFile({ ...ok, state: 'DONE' as never })).rejects.toMatchObject(bad('state must be PROCESSED or QUARANTINED'));
    const st = { key: '750100125/V/1', number: 'F1', state: 'paid' as const, settledAt: '2026-12-05', paidCents: 100, differenceCents: 0 };
    await expect(j.recordRspFile({ ...ok, settlements: [{ ...st, state: 'ok' as never }] })).rejects.toMatchObject(
      bad('a settlement is paid, partially-paid or rejected'),
    );
    await expect(j.recordRspFile({ ...ok, settlements: [{ ...st, paidCents: -1 }] })).rejects.toMatchObject(
      bad('paidCents must be a whole number of cents ≥ 0'),
    );
    await expect(j.recordRspFile({ ...ok, settlements: [{ ...st, differenceCents: 0.5 }] })).rejects.toMatchObject(
      bad('differenceCents must be a whole number of cents ≥ 0'),
    );
  });
});

describe('what billing returns', () => {
  it('an invoice record has no field for what it does not have', async () => {
    const a = await j.recordAmoPayment({ key: '750100125/V/1', number: 'F1', amoCents: 147_960, paidAt: '2026-11-28' });
    expect(a).toStrictEqual({
      key: '750100125/V/1',
      number: 'F1',
      state: 'pending',
      updatedAt: '2026-12-01T09:00:00.000Z',
      amoPaidAt: '2026-11-28',
      amoCents: 147_960,
    });
    expect(await j.getInvoiceBilling('750100125/V/1', 'F2')).toBeUndefined();
  });

  it('a file record has no sending, acknowledgement, reason or bytes until it has them', async () => {
    const f = await file([{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }]);
    expect(f).toStrictEqual({
      id: f.id,
      kind: 'DREES',
      emitter: EMITTER,
      amc: AMC,
      numero: 1,
      name: `DREES_${EMITTER}_${AMC}_00000001.dre`,
      state: 'WRITTEN',
      invoiceCount: 1,
      lineCount: 3,
      amcCents: 32_040,
      totalCents: 180_000,
      createdAt: '2026-12-01T09:00:00.000Z',
    });
    expect(await j.getBillingFile(f.id)).toStrictEqual(f);
    expect(await j.getBillingFile(f.id + 1)).toBeUndefined();
    // sent at a given time: the file says when, its invoices the day
    const sent = await j.markBillingFileSent(f.id, new Date('2026-12-02T23:30:00Z'));
    expect(sent.sentAt).toBe('2026-12-02T23:30:00.000Z');
    expect(await j.getInvoiceBilling('750100125/V/1', 'F1')).toMatchObject({ state: 'sent', sentAt: '2026-12-02' });
    await expect(j.markBillingFileSent(f.id + 1)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `billing file ${f.id + 1} not found`,
    });
  });

  it('an RSP record without AMC, number or reason has none of those fields; a duplicate says so', async () => {
    const r = await j.recordRspFile({ hash: HASH, state: 'QUARANTINED', bytes: Buffer.from('tronqué') });
    expect(r).toStrictEqual({
      record: { id: r.record.id, hash: HASH, state: 'QUARANTINED', receivedAt: '2026-12-01T09:00:00.000Z', returns: 0 },
      duplicate: false,
      applied: 0,
    });
    expect(await j.getRspFile(HASH)).toStrictEqual(r.record);
    expect((await j.getRspFile(HASH, { bytes: true }))!.bytes!.toString()).toBe('tronqué');
    expect(await j.getRspFile('b'.repeat(64))).toBeUndefined();
  });
});

describe('lists', () => {
  it('invoices by state, AMC, dossier, file; an empty state list lists nothing; a limit', async () => {
    await ready('750100125/V/1', 'F1');
    t += 1000;
    await ready('750100125/V/2', 'F2', { amc: '0000654321' });
    t += 1000;
    await j.putInvoiceBilling({ key: '750100125/V/3', number: 'F3', state: 'pending', reason: 'paiement AMO attendu' });
    const numbers = async (q: Parameters<SqliteJournal['listInvoiceBilling']>[0]) => (await j.listInvoiceBilling(q)).map((i) => i.number);
    expect(await numbers({})).toEqual(['F1', 'F2', 'F3']); // oldest change first
    expect(await numbers({ states: ['ready'] })).toEqual(['F1', 'F2']);
    expect(await numbers({ states: ['pending', 'ready'] })).toEqual(['F1', 'F2', 'F3']);
    expect(await j.listInvoiceBilling({ states: [] })).toStrictEqual([]);
    expect(await numbers({ amc: '0000654321' })).toEqual(['F2']);
    expect(await numbers({ limit: 1 })).toEqual(['F1']);
    expect(await numbers({ key: '750100125/V/3' })).toEqual(['F3']);
    expect(await numbers({ limit: 2 })).toEqual(['F1', 'F2']);
    expect(await numbers({ states: ['ready'], amc: AMC })).toEqual(['F1']);
  });

  it('files by state and AMC, in number order; an empty state list lists nothing; the limit kept between 1 and 10,000', async () => {
    const f1 = await file([{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }]);
    await file([{ key: '750100125/V/2', number: 'F2', lotNumber: 1 }]);
    await file([{ key: '750100125/V/3', number: 'F3', lotNumber: 1 }]);
    await j.refuseBillingFile(f1.id, { code: 'CERT_EXPIRED', label: 'certificat du destinataire expiré' });
    const numeros = async (q: Parameters<SqliteJournal['listBillingFiles']>[0]) => (await j.listBillingFiles(q)).map((f) => f.numero);
    expect(await numeros({})).toEqual([1, 2, 3]);
    expect(await numeros({ states: ['REFUSED'] })).toEqual([1]);
    expect(await numeros({ states: ['WRITTEN', 'SENT'] })).toEqual([2, 3]);
    expect(await j.listBillingFiles({ states: [] })).toStrictEqual([]);
    expect(await numeros({ amc: '0000654321' })).toEqual([]);
    expect(await numeros({ limit: 0 })).toEqual([1]);
    expect(await numeros({ limit: 2.7 })).toEqual([1, 2]);
    await expect(j.listBillingFiles({ states: ['LOST' as never] })).rejects.toMatchObject(bad('states must be billing file states'));
  });
});

describe('a file refused before sending, and acknowledgements per lot', () => {
  it('a refusal without a reason is a TRANSPORT one; a file already sent cannot be refused', async () => {
    const f = await file([{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }]);
    t += 60_000;
    const r = await j.refuseBillingFile(f.id, undefined as never, new Date('2026-12-01T10:00:00Z'));
    expect(r).toMatchObject({ state: 'REFUSED', reason: 'TRANSPORT: ', ackAt: '2026-12-01T10:00:00.000Z' });
    expect(await j.getInvoiceBilling('750100125/V/1', 'F1')).toMatchObject({
      state: 'lot-refused',
      reason: '',
      rejection: { code: 'TRANSPORT', label: '', action: 'TRAITEMENT_MANUEL' },
      updatedAt: '2026-12-01T09:01:00.000Z',
    });
    const g = await file([{ key: '750100125/V/2', number: 'F2', lotNumber: 1 }]);
    await j.markBillingFileSent(g.id);
    await expect(j.refuseBillingFile(g.id, { code: 'X', label: 'y' })).rejects.toMatchObject({
      code: 'BAD_STATE',
      message: `billing file ${g.id} is SENT: only a file not sent is refused`,
    });
    await expect(j.refuseBillingFile(g.id + 1, { code: 'X', label: 'y' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `billing file ${g.id + 1} not found`,
    });
    // the reason kept on the file is bounded, and the invoice's label too
    const h = await file([{ key: '750100125/V/3', number: 'F3', lotNumber: 1 }]);
    const long = await j.refuseBillingFile(h.id, { code: 'CERT', label: 'é'.repeat(600) });
    expect(long.reason).toBe(`CERT: ${'é'.repeat(494)}`);
    expect((await j.getInvoiceBilling('750100125/V/3', 'F3'))!.rejection!.label).toBe('é'.repeat(200));
  });

  it('an ARL per lot: the lot acknowledged, the lot refused (to correct), the lot not named left as sent', async () => {
    const invoices = [
      { key: '750100125/V/1', number: 'F1', lotNumber: 1 },
      { key: '750100125/V/2', number: 'F2', lotNumber: 2 },
      { key: '750100125/V/3', number: 'F3', lotNumber: 3 },
    ];
    const f = await file(invoices);
    await j.markBillingFileSent(f.id);
    t += 86_400_000;
    const a = await j.acknowledgeBillingFile({ emitter: EMITTER, amc: AMC, numero: f.numero }, [
      { lotNumber: 1, positive: true },
      { lotNumber: 2, positive: false, reasonCode: 'L02' },
    ]);
    expect(a).toMatchObject({ state: 'REFUSED', reason: 'lot 2: L02', ackAt: '2026-12-02T09:00:00.000Z' });
    const inv = async (n: string) => (await j.listInvoiceBilling({ fileId: f.id })).find((i) => i.number === n)!;
    expect(await inv('F1')).toMatchObject({ state: 'acknowledged', acknowledgedAt: '2026-12-02' });
    expect((await inv('F1')).rejection).toBeUndefined();
    expect(await inv('F2')).toMatchObject({ state: 'lot-refused', rejection: { code: 'L02', label: '', action: 'CORRIGER' } });
    expect(await inv('F3')).toMatchObject({ state: 'sent' });
    expect((await inv('F3')).acknowledgedAt).toBeUndefined();
  });

  it('a positive ARL for the whole file (lot 0), at a given time', async () => {
    const f = await file([
      { key: '750100125/V/1', number: 'F1', lotNumber: 1 },
      { key: '750100125/V/2', number: 'F2', lotNumber: 2 },
    ]);
    await j.markBillingFileSent(f.id);
    const a = await j.acknowledgeBillingFile(
      { emitter: EMITTER, amc: AMC, numero: 1 },
      [{ lotNumber: 0, positive: true }],
      new Date('2026-12-03T08:00:00Z'),
    );
    expect(a).toMatchObject({ state: 'ARL_RECEIVED', ackAt: '2026-12-03T08:00:00.000Z' });
    expect(a.reason).toBeUndefined();
    expect((await j.listInvoiceBilling({ fileId: f.id })).map((i) => [i.state, i.acknowledgedAt])).toEqual([
      ['acknowledged', '2026-12-03'],
      ['acknowledged', '2026-12-03'],
    ]);
    await expect(j.acknowledgeBillingFile({ emitter: EMITTER, amc: '0000654321', numero: 1 }, [])).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'no DRE-ES file 1 for AMC 0000654321',
    });
  });
});

describe('the whole record through the cycle', () => {
  const paid = (key: string, number: string) => ({
    key,
    number,
    state: 'paid' as const,
    settledAt: '2026-12-05',
    paidCents: 32_040,
    differenceCents: 0,
    paymentReference: 'VIR-000123',
  });

  it('a paid invoice has every field of its cycle, and the RSP record its AMC, number and count of returns', async () => {
    await j.recordAmoPayment({ key: '750100125/V/1', number: 'F1', amoCents: 147_960, paidAt: '2026-11-28' });
    await ready('750100125/V/1', 'F1', { finess: '750100125', invoiceDate: '2026-11-30' });
    // the invoice goes into the file under its site's FINESS géographique
    const f = await j.writeBillingFile({
      emitter: EMITTER,
      amc: AMC,
      invoices: [{ key: '750100125/V/1', number: 'F1', lotNumber: 1, finess: '750100133' }],
      build: content,
    });
    await j.markBillingFileSent(f.id);
    const r = await j.recordRspFile({
      hash: HASH,
      amc: AMC,
      numero: 7,
      reason: 'virement du 2026-12-05',
      state: 'PROCESSED',
      bytes: Buffer.from('000RSP'),
      settlements: [{ ...paid('750100125/V/1', 'F1'), paidCents: 30_000, differenceCents: 2_040, state: 'partially-paid' }],
    });
    expect(r.record).toStrictEqual({
      id: r.record.id,
      hash: HASH,
      amc: AMC,
      numero: 7,
      reason: 'virement du 2026-12-05',
      state: 'PROCESSED',
      receivedAt: '2026-12-01T09:00:00.000Z',
      returns: 1,
    });
    expect(await j.getInvoiceBilling('750100125/V/1', 'F1')).toStrictEqual({
      key: '750100125/V/1',
      number: 'F1',
      state: 'partially-paid',
      updatedAt: '2026-12-01T09:00:00.000Z',
      finess: '750100133',
      amc: AMC,
      amoPaidAt: '2026-11-28',
      amoCents: 147_960,
      engagement: 'ENG-F1',
      amcCents: 32_040,
      invoiceDate: '2026-11-30',
      fileId: f.id,
      fileNumber: 1,
      lotNumber: 1,
      sentAt: '2026-12-01',
      settledAt: '2026-12-05',
      paidCents: 30_000,
      differenceCents: 2_040,
      paymentReference: 'VIR-000123',
    });
  });

  it('a rejection keeps its code, label and action; reopened, the reason names the rejection and the file', async () => {
    const f = await file([{ key: '750100125/V/2', number: 'F2', lotNumber: 1 }]);
    await j.markBillingFileSent(f.id);
    const rejected = {
      key: '750100125/V/2',
      number: 'F2',
      state: 'rejected' as const,
      settledAt: '2026-12-05',
      paidCents: 0,
      differenceCents: 32_040,
      rejection: { code: 'R003', label: "Numéro d'engagement inconnu ou annulé", action: 'CORRIGER' },
    };
    await j.recordRspFile({ hash: HASH, state: 'PROCESSED', bytes: Buffer.from('000RSP'), settlements: [rejected] });
    expect((await j.getInvoiceBilling('750100125/V/2', 'F2'))!.rejection).toStrictEqual(rejected.rejection);
    expect((await j.reopenInvoice('750100125/V/2', 'F2')).reason).toBe('facturée à nouveau après rejet (R003, DRE-ES n°1)');
  });

  it('a rejection without its details: reopened all the same, the reason names the file', async () => {
    const f = await file([{ key: '750100125/V/2', number: 'F2', lotNumber: 1 }]);
    await j.markBillingFileSent(f.id);
    await j.recordRspFile({
      hash: HASH,
      state: 'PROCESSED',
      bytes: Buffer.from('000RSP'),
      settlements: [
        { key: '750100125/V/2', number: 'F2', state: 'rejected', settledAt: '2026-12-05', paidCents: 0, differenceCents: 32_040 },
      ],
    });
    expect((await j.getInvoiceBilling('750100125/V/2', 'F2'))!.rejection).toBeUndefined();
    expect((await j.reopenInvoice('750100125/V/2', 'F2')).reason).toBe('facturée à nouveau après rejet (DRE-ES n°1)');
  });

  it('a negative ARL without a reason code: the lot named with its label, the invoice with an empty code', async () => {
    const f = await file([{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }]);
    await j.markBillingFileSent(f.id);
    const a = await j.acknowledgeBillingFile({ emitter: EMITTER, amc: AMC, numero: 1 }, [
      { lotNumber: 1, positive: false, reasonLabel: 'Lot illisible' },
    ]);
    expect(a.reason).toBe('lot 1:  Lot illisible');
    expect((await j.getInvoiceBilling('750100125/V/1', 'F1'))!.rejection).toStrictEqual({
      code: '',
      label: 'Lot illisible',
      action: 'CORRIGER',
    });
  });

  it('an RSP processed without settlements (nothing paid this time) is recorded, with no returns', async () => {
    const r = await j.recordRspFile({ hash: HASH, amc: AMC, numero: 8, state: 'PROCESSED', bytes: Buffer.from('000RSP') });
    expect(r).toMatchObject({ duplicate: false, applied: 0, record: { state: 'PROCESSED', returns: 0 } });
  });

  it('a quarantined RSP applies none of its settlements, even to an invoice sent', async () => {
    const f = await file([{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }]);
    await j.markBillingFileSent(f.id);
    const q = await j.recordRspFile({
      hash: HASH,
      state: 'QUARANTINED',
      reason: 'RSP: totaux incohérents',
      bytes: Buffer.from('000RSP'),
      settlements: [paid('750100125/V/1', 'F1')],
    });
    expect(q).toMatchObject({ applied: 0, record: { returns: 0 } });
    expect(await j.getInvoiceBilling('750100125/V/1', 'F1')).toMatchObject({ state: 'sent' });
  });

  it('an invoice cannot be twice in one file, and one not ready is named with its state; no number is consumed', async () => {
    await ready('750100125/V/1', 'F1');
    await j.putInvoiceBilling({ key: '750100125/V/3', number: 'F3', state: 'pending', reason: 'paiement AMO attendu' });
    const one = { key: '750100125/V/1', number: 'F1', lotNumber: 1 };
    await expect(j.writeBillingFile({ emitter: EMITTER, amc: AMC, invoices: [one, one], build: content })).rejects.toMatchObject({
      code: 'BAD_STATE',
      message: 'invoice F1 could not be put in file 1',
    });
    await expect(
      j.writeBillingFile({ emitter: EMITTER, amc: AMC, invoices: [{ key: '750100125/V/3', number: 'F3', lotNumber: 1 }], build: content }),
    ).rejects.toMatchObject({ code: 'BAD_STATE', message: 'invoice F3 is pending, not ready: not put in a file' });
    expect((await j.writeBillingFile({ emitter: EMITTER, amc: AMC, invoices: [one], build: content })).numero).toBe(1);
  });

  it('invoices by day sent: a date-time counts for its day, the bounds included', async () => {
    const f1 = await file([{ key: '750100125/V/1', number: 'F1', lotNumber: 1 }]);
    await j.markBillingFileSent(f1.id, new Date('2026-12-01T10:00:00Z'));
    const f2 = await file([{ key: '750100125/V/2', number: 'F2', lotNumber: 1 }]);
    await j.markBillingFileSent(f2.id, new Date('2026-12-02T10:00:00Z'));
    const f3 = await file([{ key: '750100125/V/3', number: 'F3', lotNumber: 1 }]);
    await j.markBillingFileSent(f3.id, new Date('2026-12-03T10:00:00Z'));
    const numbers = async (q: Parameters<SqliteJournal['listInvoiceBilling']>[0]) => (await j.listInvoiceBilling(q)).map((i) => i.number);
    expect(await numbers({ sentFrom: '2026-12-02T18:00:00' })).toEqual(['F2', 'F3']);
    expect(await numbers({ sentTo: '2026-12-02T08:00:00' })).toEqual(['F1', 'F2']);
    expect(await numbers({ sentFrom: '2026-12-02', sentTo: '2026-12-02' })).toEqual(['F2']);
    expect(await numbers({ fileId: f3.id })).toEqual(['F3']);
  });

  it('a negative ARL for several lots names each, with its label; files listed by state and AMC at once', async () => {
    const f = await file([
      { key: '750100125/V/1', number: 'F1', lotNumber: 1 },
      { key: '750100125/V/2', number: 'F2', lotNumber: 2 },
    ]);
    await j.markBillingFileSent(f.id);
    const a = await j.acknowledgeBillingFile({ emitter: EMITTER, amc: AMC, numero: 1 }, [
      { lotNumber: 1, positive: false, reasonCode: 'L01', reasonLabel: 'Lot en double' },
      { lotNumber: 2, positive: false, reasonCode: 'L05', reasonLabel: 'FINESS inconnu' },
    ]);
    expect(a.reason).toBe('lot 1: L01 Lot en double; lot 2: L05 FINESS inconnu');
    expect((await j.getInvoiceBilling('750100125/V/1', 'F1'))!.rejection).toStrictEqual({
      code: 'L01',
      label: 'Lot en double',
      action: 'CORRIGER',
    });
    expect((await j.listBillingFiles({ states: ['REFUSED'], amc: AMC })).map((x) => x.numero)).toEqual([1]);
    expect(await j.listBillingFiles({ states: ['REFUSED'], amc: '0000654321' })).toEqual([]);
  });
});
