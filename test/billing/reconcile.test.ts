import { readArl, writeArl } from '../../lib/billing/arl';
import { writeDreEs, readDreEs } from '../../lib/billing/dre-es';
import { applyArl, billedInvoices, reconcile, summarise, summaryToCsv, type BilledInvoice } from '../../lib/billing/reconcile';
import { readRsp, writeRsp, type ReturnInput, type RspFile } from '../../lib/billing/rsp';
import { sampleFile, sampleInvoices, sampleReturns } from '../../lib/billing/sample';

const LILLE = '590780193'; // CHU de Lille
const OTHER = '590000188';
const MGEN = '0775685365';
const AMC_B = '0784621159';

function inv(
  number: string,
  amc: string,
  fileNumber: number,
  lotNumber: number,
  amcCents: number,
  sentAt: string,
  state: BilledInvoice['state'] = 'sent',
): BilledInvoice {
  return {
    finess: LILLE,
    amc,
    number,
    lotNumber,
    fileNumber,
    invoiceDate: '2026-10-30',
    engagement: `CLC${number}`,
    amcCents,
    state,
    sentAt,
  };
}

/** Three DRE-ES files sent over two days to two AMCs: stays ≈ 320 €, ACE ≈ 20 €. */
function billed(): BilledInvoice[] {
  return [
    inv('F260000001', MGEN, 17, 1, 32_150, '2026-11-02'), // GHS + FJ + CP
    inv('F260000002', MGEN, 17, 1, 2_079, '2026-11-02'), // ACE
    inv('F260000003', MGEN, 17, 2, 31_870, '2026-11-02'),
    inv('F260000004', MGEN, 17, 2, 2_250, '2026-11-02'),
    inv('F260000005', MGEN, 18, 1, 33_400, '2026-11-03'),
    inv('F260000006', MGEN, 18, 1, 1_980, '2026-11-03'),
    inv('F260000007', MGEN, 18, 1, 29_560, '2026-11-03'),
    inv('F260000008', AMC_B, 5, 1, 35_000, '2026-11-02'),
    inv('F260000009', AMC_B, 5, 1, 2_100, '2026-11-02'),
    inv('F260000010', AMC_B, 5, 2, 30_800, '2026-11-02'),
  ];
}

const ret = (i: BilledInvoice, over: Partial<ReturnInput> = {}): ReturnInput =>
  ({
    kind: 'paid',
    invoiceNumber: i.number,
    lotNumber: i.lotNumber,
    fileNumber: i.fileNumber,
    invoiceDate: i.invoiceDate,
    engagement: i.engagement,
    claimedCents: i.amcCents,
    paidCents: i.amcCents,
    paymentReference: 'VIR261114017',
    paymentDate: '2026-11-14',
    ...over,
  }) as ReturnInput;

function rsp(amc: string, numero: number, recipients: Array<{ finess: string; returns: ReturnInput[] }>): RspFile {
  const r = readRsp(writeRsp({ amc, numero, date: '2026-11-14', recipients }));
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

function arlFrom(amc: string, acks: Array<{ fileNumber: number; lotNumber: number; positive: boolean }>) {
  const r = readArl(
    writeArl({
      emitter: amc,
      recipient: LILLE,
      arlNumber: 1,
      date: '2026-11-04',
      acks: acks.map((a) => ({
        ...a,
        fileKind: 'DREES' as const,
        invoiceCount: 0,
        amountCents: 0,
        ...(a.positive ? {} : { reasonCode: 'L003', reasonLabel: 'Lot hors convention' }),
      })),
    }),
  );
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

describe('reconciliation on a realistic French mix', () => {
  const start = billed();
  let invoices = applyArl(
    start,
    arlFrom(MGEN, [
      { fileNumber: 17, lotNumber: 0, positive: true },
      { fileNumber: 18, lotNumber: 1, positive: true },
    ]),
    MGEN,
  ).invoices;
  const b = applyArl(
    invoices,
    arlFrom(AMC_B, [
      { fileNumber: 5, lotNumber: 1, positive: true },
      { fileNumber: 5, lotNumber: 2, positive: false },
    ]),
    AMC_B,
  );
  invoices = b.invoices;
  const [f1, f2, f3, f4, f5, f6, , , f9, f10] = start;

  const fromMgen = rsp(MGEN, 3, [
    {
      finess: LILLE,
      returns: [
        ret(f1),
        ret(f2, { paidCents: 1_663 }),
        ret(f3, { kind: 'rejected', reason: 'R004' }),
        ret(f5),
        ret({ ...f5, number: 'F269999999' }),
        ret(f1),
        ret(f6, { claimedCents: 1_990, paidCents: 1_990 }),
      ],
    },
    { finess: OTHER, returns: [ret(f4)] },
  ]);
  const first = reconcile(invoices, fromMgen, { finess: [LILLE] });
  const second = reconcile(first.invoices, rsp(AMC_B, 9, [{ finess: LILLE, returns: [ret(f9), ret(f10)] }]), { finess: [LILLE] });

  it('applies the ARLs: acknowledged lots, and a lot the AMC refused', () => {
    expect(b).toMatchObject({ acknowledged: 2, refused: 1 });
    expect(invoices.filter((i) => i.state === 'acknowledged')).toHaveLength(9);
    expect(invoices[9]).toMatchObject({ state: 'lot-refused', reason: { code: 'L003', label: 'LOT HORS CONVENTION' } });
  });

  it('decides each return: paid, partially paid with the difference, rejected with its reason', () => {
    expect(first.counts).toEqual({ paid: 2, partiallyPaid: 1, rejected: 1, refused: 4 });
    const by = (n: string) => first.invoices.find((i) => i.number === n);
    expect(by('F260000001')).toMatchObject({
      state: 'paid',
      paidCents: 32_150,
      differenceCents: 0,
      settledAt: '2026-11-14',
      paymentReference: 'VIR261114017',
    });
    expect(by('F260000002')).toMatchObject({ state: 'partially-paid', paidCents: 1_663, differenceCents: 416 });
    expect(by('F260000003')).toMatchObject({
      state: 'rejected',
      reason: { code: 'R004', label: 'Montant facturé différent du montant engagé', action: 'CORRIGER' },
    });
  });

  it('refuses, with a reason, the unknown invoice, another FINESS, a duplicate line, an amount that is not what was billed — and leaves those invoices alone', () => {
    const refused = first.outcomes.filter((o) => o.outcome === 'refused');
    expect(refused.map((o) => [o.line, o.invoiceNumber, o.outcome === 'refused' && o.code])).toEqual([
      [7, 'F269999999', 'unknown-invoice'],
      [8, 'F260000001', 'duplicate-line'],
      [9, 'F260000006', 'amount-mismatch'],
      [12, 'F260000004', 'other-finess'],
    ]);
    expect(refused[2]).toMatchObject({
      reason: 'RSP line 9, entity 578, invoice F260000006: claimed 19,90 € in the return, 19,80 € billed',
    });
    expect(refused[3]).toMatchObject({
      reason: "RSP line 12, entity 578, invoice F260000004: for FINESS 590000188, not this establishment's",
    });
    for (const n of ['F260000004', 'F260000006']) expect(first.invoices.find((i) => i.number === n)?.state).toBe('acknowledged');
    expect(first.invoices.find((i) => i.number === 'F260000001')?.paidCents).toBe(32_150);
  });

  it('an RSP line for an invoice in a refused lot is refused', () => {
    expect(second.counts).toEqual({ paid: 1, partiallyPaid: 0, rejected: 0, refused: 1 });
    expect(second.outcomes[1]).toMatchObject({ outcome: 'refused', code: 'lot-refused', invoiceNumber: 'F260000010' });
  });

  it('the same RSP applied twice changes nothing the second time', () => {
    const again = reconcile(first.invoices, fromMgen, { finess: [LILLE] });
    expect(again.counts).toEqual({ paid: 0, partiallyPaid: 0, rejected: 0, refused: 8 });
    expect(again.outcomes.filter((o) => o.outcome === 'refused' && o.code === 'already-settled')).toHaveLength(4);
    expect(again.invoices).toEqual(first.invoices);
  });

  it('never mutates the invoices it is given', () => {
    expect(start).toEqual(billed());
    expect(invoices[0].state).toBe('acknowledged');
  });

  it('sums up per AMC and per day sent, with ageing past 12 days', () => {
    const s = summarise(second.invoices, { at: '2026-11-15' });
    expect(s.delayDays).toBe(12);
    expect(s.rows).toEqual([
      {
        amc: MGEN,
        day: '2026-11-02',
        sent: 4,
        acknowledged: 4,
        paid: 1,
        partiallyPaid: 1,
        rejected: 1,
        lotRefused: 0,
        outstanding: 1,
        aged: 1,
        sentCents: 68_349,
        paidCents: 33_813,
        shortfallCents: 416,
        rejectedCents: 31_870,
        outstandingCents: 2_250,
        agedCents: 2_250,
      },
      {
        amc: MGEN,
        day: '2026-11-03',
        sent: 3,
        acknowledged: 3,
        paid: 1,
        partiallyPaid: 0,
        rejected: 0,
        lotRefused: 0,
        outstanding: 2,
        aged: 0,
        sentCents: 64_940,
        paidCents: 33_400,
        shortfallCents: 0,
        rejectedCents: 0,
        outstandingCents: 31_540,
        agedCents: 0,
      },
      {
        amc: AMC_B,
        day: '2026-11-02',
        sent: 3,
        acknowledged: 2,
        paid: 1,
        partiallyPaid: 0,
        rejected: 0,
        lotRefused: 1,
        outstanding: 1,
        aged: 1,
        sentCents: 67_900,
        paidCents: 2_100,
        shortfallCents: 0,
        rejectedCents: 0,
        outstandingCents: 35_000,
        agedCents: 35_000,
      },
    ]);
    expect(s.perAmc.map((r) => [r.amc, r.sent, r.paid, r.outstanding])).toEqual([
      [MGEN, 7, 2, 3],
      [AMC_B, 3, 1, 1],
    ]);
    expect(s.total).toMatchObject({
      sent: 10,
      paid: 3,
      partiallyPaid: 1,
      rejected: 1,
      lotRefused: 1,
      outstanding: 4,
      aged: 2,
      sentCents: 201_189,
      paidCents: 69_313,
    });
  });

  it('the ageing delay is configurable (the national average is 4 days)', () => {
    const s = summarise(second.invoices, { at: '2026-11-15', delayDays: 4 });
    expect(s.total).toMatchObject({ aged: 4, agedCents: 2_250 + 31_540 + 35_000 });
  });

  it('exports the figures as CSV', () => {
    const csv = summaryToCsv(summarise(second.invoices, { at: '2026-11-15' })).split('\r\n');
    expect(csv[0]).toBe(
      'amc;day;sent;acknowledged;paid;partiallyPaid;rejected;lotRefused;outstanding;aged;sentCents;paidCents;shortfallCents;rejectedCents;outstandingCents;agedCents',
    );
    expect(csv[1]).toBe(`${MGEN};2026-11-02;4;4;1;1;1;0;1;1;68349;33813;416;31870;2250;2250`);
    expect(csv).toHaveLength(3 + 2 + 1 + 2);
  });
});

describe('reconcile: the other refusals', () => {
  const a = inv('F260000101', MGEN, 20, 1, 31_000, '2026-11-05');
  it('an invoice never sent, a payment above the claim', () => {
    const written = { ...a, state: 'written' as const };
    expect(reconcile([written], rsp(MGEN, 4, [{ finess: LILLE, returns: [ret(a)] }])).outcomes[0]).toMatchObject({
      outcome: 'refused',
      code: 'not-sent',
    });
    expect(reconcile([a], rsp(MGEN, 4, [{ finess: LILLE, returns: [ret(a, { paidCents: 31_001 })] }])).outcomes[0]).toMatchObject({
      outcome: 'refused',
      code: 'overpaid',
    });
  });

  it('the secondary keys: they pick between two invoices with one number, and a mismatch alone is noted, not refused', () => {
    const twin = { ...a, lotNumber: 2, fileNumber: 21 };
    const r = reconcile([a, twin], rsp(MGEN, 4, [{ finess: LILLE, returns: [ret(twin)] }]));
    expect(r.invoices.map((i) => i.state)).toEqual(['sent', 'paid']);
    const amb = reconcile([a, twin], rsp(MGEN, 4, [{ finess: LILLE, returns: [ret(a, { lotNumber: 9 })] }]));
    expect(amb.outcomes[0]).toMatchObject({ outcome: 'refused', code: 'ambiguous' });
    const noted = reconcile([a], rsp(MGEN, 4, [{ finess: LILLE, returns: [ret(a, { lotNumber: 3 })] }]));
    expect(noted.outcomes[0]).toMatchObject({ outcome: 'paid', notes: ['lot 3 in the return, 1 billed'] });
  });

  it('a return from another AMC for our invoice number is an unknown invoice', () => {
    expect(reconcile([a], rsp(AMC_B, 4, [{ finess: LILLE, returns: [ret(a)] }])).outcomes[0]).toMatchObject({
      outcome: 'refused',
      code: 'unknown-invoice',
    });
  });
});

describe('the whole loop on generated files', () => {
  it("DRE-ES written → read by the AMC → RSP in the simulator mix → reconciled: the figures match the AMC's own count", () => {
    const file = sampleFile(sampleInvoices(400, { seed: 77 }), { numero: 31, lotSize: 100 });
    const read = readDreEs(writeDreEs(file));
    if (!read.ok) throw new Error(read.reason);
    const answer = sampleReturns(read.value, { seed: 78, partial: 0.1, rejected: 0.05 });
    const returned = readRsp(writeRsp(answer));
    if (!returned.ok) throw new Error(returned.reason);
    const r = reconcile(billedInvoices(file, '2026-11-16'), returned.value);
    const kinds = answer.recipients[0].returns;
    const amcPaid = kinds.filter((k) => k.kind === 'paid' && k.paidCents === k.claimedCents).length;
    const amcPartial = kinds.filter((k) => k.kind === 'paid' && k.paidCents < k.claimedCents).length;
    expect(r.counts).toEqual({ paid: amcPaid, partiallyPaid: amcPartial, rejected: kinds.length - amcPaid - amcPartial, refused: 0 });
    const s = summarise(r.invoices, { at: '2026-11-22' });
    expect(s.total.sent).toBe(400);
    expect(s.total.paidCents).toBe(returned.value.totals.paidCents);
    expect(s.total.sentCents).toBe(read.value.totals.amcCents);
    // a believable mix: the AMC share averages about 200 € (stays ≈ 320 €, ACE ≈ 20 €)
    expect(s.total.sentCents / 400).toBeGreaterThan(15_000);
    expect(s.total.sentCents / 400).toBeLessThan(25_000);
  });
});
