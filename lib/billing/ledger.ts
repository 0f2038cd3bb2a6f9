/**
 * The journal's invoice billing records (lib/store InvoiceBilling) as reconciliation records
 * (./reconcile.ts BilledInvoice), and the reconciliation view over them: per AMC and per day sent,
 * per AMC and overall (summarise), filtered by the day sent and the AMC.
 */
import type { InvoiceBilling } from '../store/journal';
import { summarise, type BilledInvoice, type InvoiceState, type Summary } from './reconcile';

const STATE: Record<InvoiceBilling['state'], InvoiceState> = {
  pending: 'written',
  refused: 'written',
  ready: 'written',
  written: 'written',
  sent: 'sent',
  acknowledged: 'acknowledged',
  'lot-refused': 'lot-refused',
  paid: 'paid',
  'partially-paid': 'partially-paid',
  rejected: 'rejected',
};

/** One journal record as a reconciliation record (invoices never put in a file count as written: never sent). */
export function toBilled(i: InvoiceBilling): BilledInvoice {
  const b: BilledInvoice = {
    finess: i.finess ?? i.key.split('/')[0],
    amc: i.amc ?? '',
    number: i.number,
    lotNumber: i.lotNumber ?? 0,
    fileNumber: i.fileNumber ?? 0,
    invoiceDate: i.invoiceDate ?? '',
    engagement: i.engagement ?? '',
    amcCents: i.amcCents ?? 0,
    state: STATE[i.state],
  };
  if (i.sentAt) b.sentAt = i.sentAt;
  if (i.acknowledgedAt) b.acknowledgedAt = i.acknowledgedAt;
  if (i.settledAt) b.settledAt = i.settledAt;
  if (i.paidCents !== undefined) b.paidCents = i.paidCents;
  if (i.differenceCents !== undefined) b.differenceCents = i.differenceCents;
  if (i.paymentReference) b.paymentReference = i.paymentReference;
  if (i.rejection) b.reason = i.rejection;
  return b;
}

export interface ReconciliationQuery {
  /** Today, YYYY-MM-DD. */
  at: string;
  /** Ageing threshold in days (default 12, the contractual delay). */
  delayDays?: number;
  /** Day sent, YYYY-MM-DD, both inclusive. */
  from?: string;
  to?: string;
  amc?: string;
}

/** The reconciliation figures of the invoices sent in [from, to] (to the AMC given). */
export function reconciliation(invoices: InvoiceBilling[], q: ReconciliationQuery): Summary {
  const sel = invoices.filter(
    (i) => i.sentAt && (!q.from || i.sentAt >= q.from) && (!q.to || i.sentAt <= q.to) && (!q.amc || i.amc === q.amc),
  );
  return summarise(sel.map(toBilled), { at: q.at, delayDays: q.delayDays });
}
