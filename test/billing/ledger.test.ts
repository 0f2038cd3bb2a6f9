/** The reconciliation view over the journal's invoice records (lib/billing/ledger.ts). */
import { reconciliation, toBilled } from '../../lib/billing/ledger';
import { summaryToCsv } from '../../lib/billing/reconcile';
import type { InvoiceBilling } from '../../lib/store/journal';

const inv = (number: string, state: InvoiceBilling['state'], sentAt?: string, over: Partial<InvoiceBilling> = {}): InvoiceBilling => ({
  key: `750100125/V/${number}`,
  number,
  state,
  finess: '750100125',
  amc: '0000123456',
  amcCents: 10_000,
  fileNumber: 1,
  lotNumber: 1,
  invoiceDate: '2026-11-20',
  engagement: `ENG${number}`,
  ...(sentAt ? { sentAt } : {}),
  updatedAt: '2026-12-01T00:00:00.000Z',
  ...over,
});

it('per AMC and day sent: sent, acknowledged, paid, partially paid, rejected, outstanding, ageing past the delay', () => {
  const list = [
    inv('F1', 'paid', '2026-11-10', { acknowledgedAt: '2026-11-11', paidCents: 10_000, differenceCents: 0 }),
    inv('F2', 'partially-paid', '2026-11-10', { acknowledgedAt: '2026-11-11', paidCents: 6_000, differenceCents: 4_000 }),
    inv('F3', 'rejected', '2026-11-10', { rejection: { code: 'R003', label: 'x', action: 'CORRIGER' } }),
    inv('F4', 'acknowledged', '2026-11-10', { acknowledgedAt: '2026-11-11' }),
    inv('F5', 'sent', '2026-11-28'),
    inv('F6', 'sent', '2026-11-28', { amc: '0000654321' }),
    inv('F7', 'pending'),
    inv('F8', 'ready'),
  ];
  const s = reconciliation(list, { at: '2026-12-01' });
  expect(s.delayDays).toBe(12);
  expect(s.total).toMatchObject({
    sent: 6,
    acknowledged: 3,
    paid: 1,
    partiallyPaid: 1,
    rejected: 1,
    outstanding: 3,
    aged: 1,
    paidCents: 16_000,
    shortfallCents: 4_000,
  });
  expect(s.rows.map((r) => [r.amc, r.day, r.sent])).toEqual([
    ['0000123456', '2026-11-10', 4],
    ['0000123456', '2026-11-28', 1],
    ['0000654321', '2026-11-28', 1],
  ]);
  expect(reconciliation(list, { at: '2026-12-01', delayDays: 2 }).total.aged).toBe(3);
  expect(reconciliation(list, { at: '2026-12-01', amc: '0000654321' }).total.sent).toBe(1);
  expect(reconciliation(list, { at: '2026-12-01', from: '2026-11-20', to: '2026-11-30' }).total.sent).toBe(2);
  expect(summaryToCsv(s).split('\r\n')[0]).toContain('amc;day;sent;acknowledged;paid;partiallyPaid;rejected');
  expect(toBilled(inv('F7', 'pending')).state).toBe('written');
});
