import fc from 'fast-check';
import { readArl, writeArl, type Arl } from '../../lib/billing/arl';
import { loadReasons, reasonTable } from '../../lib/billing/reasons';
import { readRsp, writeRsp, type ReturnInput, type RspInput } from '../../lib/billing/rsp';
import { sampleFile, sampleInvoices, sampleReturns } from '../../lib/billing/sample';
import { fromRecords, records, tamper } from './helpers';

const FINESS = '590780193';
const AMC = '0775685365';

const paid = (invoiceNumber: string, claimedCents: number, paidCents = claimedCents): ReturnInput => ({
  kind: 'paid',
  invoiceNumber,
  lotNumber: 1,
  fileNumber: 17,
  invoiceDate: '2026-11-09',
  engagement: `CLC-${invoiceNumber}`,
  claimedCents,
  paidCents,
  paymentReference: 'VIR261122017',
  paymentDate: '2026-11-22',
});
const rejected = (invoiceNumber: string, claimedCents: number, reason: string): ReturnInput => ({
  kind: 'rejected',
  invoiceNumber,
  lotNumber: 1,
  fileNumber: 17,
  invoiceDate: '2026-11-09',
  engagement: `CLC-${invoiceNumber}`,
  claimedCents,
  reason,
});

const input: RspInput = {
  amc: AMC,
  numero: 3,
  date: '2026-11-22',
  recipients: [
    { finess: FINESS, returns: [paid('F260000001', 32_150), paid('F260000002', 2_079, 1_663), rejected('F260000003', 31_870, 'R003')] },
    { finess: '590000188', returns: [paid('F260000004', 1_950)] },
  ],
};

describe('RSP write then read', () => {
  const buf = writeRsp(input);
  const recs = records(buf);

  it('reads paid, partially paid with the difference, and rejected with the reason label from the table', () => {
    expect(recs.map((r) => r.slice(0, 3))).toEqual(['000', '040', '578', '578', '908', '990', '040', '578', '990', '990']);
    const r = readRsp(buf);
    if (!r.ok) throw new Error(r.reason);
    const [a, b, c, d] = r.value.returns;
    expect(a).toMatchObject({
      line: 3,
      outcome: 'paid',
      finess: FINESS,
      amc: AMC,
      paidCents: 32_150,
      differenceCents: 0,
      paymentReference: 'VIR261122017',
    });
    expect(b).toMatchObject({ line: 4, outcome: 'partially-paid', claimedCents: 2_079, paidCents: 1_663, differenceCents: 416 });
    expect(c).toMatchObject({
      line: 5,
      outcome: 'rejected',
      paidCents: 0,
      differenceCents: 31_870,
      reason: { code: 'R003', label: "Numéro d'engagement inconnu ou annulé", action: 'CORRIGER', known: true },
    });
    expect(d).toMatchObject({ line: 8, finess: '590000188' });
    expect(r.value.totals).toEqual({ invoiceCount: 4, paidCount: 3, rejectedCount: 1, claimedCents: 68_049, paidCents: 35_763 });
  });

  it('round-trips the simulator mix on a realistic file (property over seeds)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 40 }), (seed, n) => {
        const f = sampleFile(sampleInvoices(n, { seed }), { lotSize: 7 });
        const ret = sampleReturns(f, { seed: seed + 1, rejected: 0.2, partial: 0.2 });
        const r = readRsp(writeRsp(ret));
        if (!r.ok) throw new Error(r.reason);
        const flat = ret.recipients.flatMap((x) => x.returns);
        expect(r.value.returns.map((x) => [x.invoiceNumber, x.entity, x.claimedCents, x.paidCents])).toEqual(
          flat.map((x) => [x.invoiceNumber, x.kind === 'paid' ? '578' : '908', x.claimedCents, x.kind === 'paid' ? x.paidCents : 0]),
        );
      }),
      { seed: 20261206, numRuns: 40 },
    );
  });

  it('an unknown reason code is kept, labelled as unknown, for manual follow-up', () => {
    const r = readRsp(writeRsp({ ...input, recipients: [{ finess: FINESS, returns: [rejected('F260000009', 2_000, 'Z999')] }] }));
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.returns[0].reason).toEqual({
      code: 'Z999',
      label: 'Motif de rejet inconnu (Z999)',
      action: 'TRAITEMENT_MANUEL',
      known: false,
    });
  });

  it('the reason table is data: a replacement table changes the labels', () => {
    const before = reasonTable();
    try {
      loadReasons({ version: 'test', actions: {}, reasons: { R003: { label: 'Engagement annulé (table AMC)', action: 'CORRIGER' } } });
      const r = readRsp(buf);
      if (!r.ok) throw new Error(r.reason);
      expect(r.value.returns[2].reason?.label).toBe('Engagement annulé (table AMC)');
    } finally {
      loadReasons(before);
    }
  });

  describe('bad RSP files are quarantined with a reason naming line and entity', () => {
    it('a 990 of a recipient level whose paid total does not add up', () => {
      const r = readRsp(tamper(buf, 6, 47, '000000034230'));
      expect(r).toEqual({
        ok: false,
        code: 'totals',
        line: 6,
        reason: 'RSP line 6: entity 990 closing the 040 level opened line 2: paidCents says 34230, found 33813',
      });
    });

    it('the file 990 counting one invoice too many, or one record too few', () => {
      expect(readRsp(tamper(buf, 10, 14, '0000005'))).toMatchObject({
        ok: false,
        code: 'totals',
        line: 10,
        reason: 'RSP line 10: entity 990 closing the file: invoiceCount says 5, found 4',
      });
      expect(readRsp(tamper(buf, 10, 7, '0000009'))).toMatchObject({ ok: false, code: 'totals', line: 10 });
    });

    it('a truncated file: the closing 990 missing, a level left open, a record cut short', () => {
      expect(readRsp(fromRecords(recs.slice(0, 9)))).toMatchObject({
        ok: false,
        code: 'truncated',
        reason: 'RSP: the file stops before its closing entity 990 (9 records read)',
      });
      expect(readRsp(fromRecords(recs.slice(0, 4)))).toMatchObject({
        ok: false,
        code: 'truncated',
        reason: 'RSP: the file stops inside the 040 level opened line 2 (4 records read)',
      });
      expect(readRsp(buf.subarray(0, buf.length - 100))).toMatchObject({ ok: false, code: 'truncated', line: 10 });
    });

    it('entities out of order, an unknown entity, a bad amount', () => {
      const r = readRsp(fromRecords([recs[0], recs[2], ...recs.slice(1)]));
      expect(r).toMatchObject({ ok: false, code: 'structure', line: 2, reason: 'RSP line 2: expected entity 040 or 990, found 578' });
      expect(readRsp(tamper(buf, 4, 1, '579'))).toMatchObject({
        ok: false,
        code: 'format',
        line: 4,
        reason: 'RSP, line 4, position 1: unknown record type "579"',
      });
      expect(readRsp(tamper(buf, 4, 68, '00000166A'))).toMatchObject({
        ok: false,
        code: 'format',
        line: 4,
        reason: 'RSP, line 4, record paid, field paidCents, position 68: not digits',
      });
      expect(readRsp(fromRecords([...recs, recs[1]]))).toMatchObject({ ok: false, code: 'structure', line: 11 });
    });
  });
});

describe('ARL', () => {
  const arl: Arl = {
    emitter: FINESS,
    recipient: AMC,
    arlNumber: 41,
    date: '2026-11-22',
    acks: [
      { fileKind: 'RSP', fileNumber: 3, lotNumber: 0, positive: true, invoiceCount: 4, amountCents: 68_049 },
      {
        fileKind: 'DREES',
        fileNumber: 17,
        lotNumber: 2,
        positive: false,
        reasonCode: 'L002',
        reasonLabel: 'Total du lot incohérent',
        invoiceCount: 5,
        amountCents: 160_000,
      },
    ],
  };

  it('writes and reads back positive and negative acknowledgements (labels upper-cased, accents stripped)', () => {
    const r = readArl(writeArl(arl));
    if (!r.ok) throw new Error(r.reason);
    expect(r.value).toEqual({ ...arl, acks: [arl.acks[0], { ...arl.acks[1], reasonLabel: 'TOTAL DU LOT INCOHERENT' }] });
  });

  it('refuses a negative acknowledgement without a reason, on both sides', () => {
    expect(() => writeArl({ ...arl, acks: [{ ...arl.acks[1], reasonCode: undefined }] })).toThrow(/needs a reason/);
    const buf = tamper(writeArl(arl), 3, 24, '    ');
    expect(readArl(buf)).toMatchObject({ ok: false, code: 'format', line: 3 });
  });

  it('quarantines a trailer that miscounts, or a truncated ARL', () => {
    const buf = writeArl(arl);
    expect(readArl(tamper(buf, 4, 4, '000003'))).toMatchObject({ ok: false, code: 'totals', line: 4 });
    expect(readArl(fromRecords(records(buf).slice(0, 3)))).toMatchObject({ ok: false, code: 'truncated' });
  });
});
