/**
 * Reconciliation: match each RSP return to the invoice it answers (FINESS + AMC + invoice number;
 * lot, file number and invoice date as secondary keys), decide the outcome, and summarise per AMC
 * and per day. Pure functions over plain records: the caller (the roc-rsp node, next) keeps the
 * invoices in its store and applies the new states.
 *
 * A return that cannot be matched safely is refused with a reason and changes nothing: unknown
 * invoice, another FINESS, the same invoice twice in one file, an invoice already settled or never
 * sent, a claimed amount that is not what we billed, a payment above the claim.
 */
import type { Arl } from './arl';
import type { RspFile, RspReturn } from './rsp';

export type InvoiceState = 'written' | 'sent' | 'acknowledged' | 'lot-refused' | 'paid' | 'partially-paid' | 'rejected';

export interface BilledInvoice {
  finess: string;
  amc: string;
  number: string;
  lotNumber: number;
  fileNumber: number;
  invoiceDate: string;
  engagement: string;
  /** The AMC share billed (= engaged), in cents. */
  amcCents: number;
  state: InvoiceState;
  /** Day the DRE-ES file went out (YYYY-MM-DD); the reconciliation's day. */
  sentAt?: string;
  acknowledgedAt?: string;
  settledAt?: string;
  paidCents?: number;
  /** claimed − paid for a partial payment (or the whole claim when rejected). */
  differenceCents?: number;
  paymentReference?: string;
  reason?: { code: string; label: string; action: string };
}

export type RefusalCode =
  | 'other-finess'
  | 'unknown-invoice'
  | 'duplicate-line'
  | 'ambiguous'
  | 'not-sent'
  | 'lot-refused'
  | 'already-settled'
  | 'amount-mismatch'
  | 'overpaid';

interface OutcomeBase {
  /** Line of the return in the RSP file. */
  line: number;
  invoiceNumber: string;
  amc: string;
  finess: string;
}

export type LineOutcome =
  | (OutcomeBase & {
      outcome: 'paid' | 'partially-paid' | 'rejected';
      paidCents: number;
      differenceCents: number;
      reason?: { code: string; label: string; action: string };
      /** Secondary keys that differ (lot, file number, invoice date, engagement): matched anyway, noted. */
      notes: string[];
    })
  | (OutcomeBase & { outcome: 'refused'; code: RefusalCode; reason: string });

export interface ReconcileResult {
  outcomes: LineOutcome[];
  /** The invoices with the new states (copies; untouched ones are the same objects). */
  invoices: BilledInvoice[];
  counts: { paid: number; partiallyPaid: number; rejected: number; refused: number };
}

const SETTLED: ReadonlySet<InvoiceState> = new Set(['paid', 'partially-paid', 'rejected']);
const key = (finess: string, amc: string, number: string): string => `${finess}|${amc}|${number.trim().toUpperCase()}`;

/**
 * Applies one RSP file to the invoices. `finess`: the establishment's FINESS numbers (defaults to
 * those of the invoices); `at`: the day the returns are applied (defaults to the RSP's date).
 */
export function reconcile(invoices: BilledInvoice[], rsp: RspFile, opts: { finess?: string[]; at?: string } = {}): ReconcileResult {
  const ours = new Set(opts.finess ?? invoices.map((i) => i.finess));
  const at = opts.at ?? rsp.date;
  const index = new Map<string, number[]>();
  invoices.forEach((inv, n) => {
    const k = key(inv.finess, inv.amc, inv.number);
    const list = index.get(k);
    if (list) list.push(n);
    else index.set(k, [n]);
  });
  const out = invoices.slice();
  const seen = new Set<string>();
  const outcomes: LineOutcome[] = [];
  const counts = { paid: 0, partiallyPaid: 0, rejected: 0, refused: 0 };
  for (const r of rsp.returns) {
    const refuse = (code: RefusalCode, reason: string): void => {
      outcomes.push({
        line: r.line,
        invoiceNumber: r.invoiceNumber,
        amc: r.amc,
        finess: r.finess,
        outcome: 'refused',
        code,
        reason: `RSP line ${r.line}, entity ${r.entity}, invoice ${r.invoiceNumber}: ${reason}`,
      });
      counts.refused++;
    };
    if (!ours.has(r.finess)) {
      refuse('other-finess', `for FINESS ${r.finess}, not this establishment's`);
      continue;
    }
    const k = key(r.finess, r.amc, r.invoiceNumber);
    if (seen.has(k)) {
      refuse('duplicate-line', 'a second return for the same invoice in this file');
      continue;
    }
    seen.add(k);
    let cands = index.get(k) ?? [];
    if (!cands.length) {
      refuse('unknown-invoice', `no invoice ${r.invoiceNumber} billed to AMC ${r.amc} by FINESS ${r.finess}`);
      continue;
    }
    if (cands.length > 1) {
      cands = cands.filter((n) => secondaryDiffs(out[n], r).length === 0);
      if (cands.length !== 1) {
        refuse('ambiguous', `${cands.length || 'none'} of the invoices with that number match its lot, file number and date`);
        continue;
      }
    }
    const n = cands[0];
    const inv = out[n];
    if (SETTLED.has(inv.state)) {
      refuse('already-settled', `the invoice is already ${inv.state}`);
      continue;
    }
    if (inv.state === 'written') {
      refuse('not-sent', 'the invoice was never sent');
      continue;
    }
    if (inv.state === 'lot-refused') {
      refuse('lot-refused', 'the invoice belongs to a lot the AMC refused (negative ARL)');
      continue;
    }
    if (r.claimedCents !== inv.amcCents) {
      refuse('amount-mismatch', `claimed ${cents(r.claimedCents)} in the return, ${cents(inv.amcCents)} billed`);
      continue;
    }
    if (r.paidCents > r.claimedCents) {
      refuse('overpaid', `paid ${cents(r.paidCents)} for a claim of ${cents(r.claimedCents)}`);
      continue;
    }
    const notes = secondaryDiffs(inv, r);
    const next: BilledInvoice = Object.assign({}, inv);
    next.state = r.outcome;
    next.settledAt = at;
    next.paidCents = r.paidCents;
    next.differenceCents = r.differenceCents;
    if (r.paymentReference) next.paymentReference = r.paymentReference;
    if (r.reason) next.reason = { code: r.reason.code, label: r.reason.label, action: r.reason.action };
    out[n] = next;
    const o: LineOutcome = {
      line: r.line,
      invoiceNumber: r.invoiceNumber,
      amc: r.amc,
      finess: r.finess,
      outcome: r.outcome,
      paidCents: r.paidCents,
      differenceCents: r.differenceCents,
      notes,
    };
    if (next.reason) o.reason = next.reason;
    outcomes.push(o);
    if (r.outcome === 'paid') counts.paid++;
    else if (r.outcome === 'partially-paid') counts.partiallyPaid++;
    else counts.rejected++;
  }
  return { outcomes, invoices: out, counts };
}

function secondaryDiffs(inv: BilledInvoice, r: RspReturn): string[] {
  const d: string[] = [];
  if (inv.lotNumber !== r.lotNumber) d.push(`lot ${r.lotNumber} in the return, ${inv.lotNumber} billed`);
  if (inv.fileNumber !== r.fileNumber) d.push(`file ${r.fileNumber} in the return, ${inv.fileNumber} billed`);
  if (inv.invoiceDate !== r.invoiceDate) d.push(`invoice date ${r.invoiceDate} in the return, ${inv.invoiceDate} billed`);
  if (inv.engagement.trim().toUpperCase() !== r.engagement.trim().toUpperCase()) d.push('engagement number differs from the one billed');
  return d;
}

function cents(c: number): string {
  return `${Math.floor(c / 100)},${String(c % 100).padStart(2, '0')} €`;
}

/**
 * Applies an ARL received from an AMC: the invoices of each acknowledged lot (lot 0: the whole
 * file) move from sent to acknowledged, or to lot-refused for a negative ARL. Others are untouched.
 */
export function applyArl(
  invoices: BilledInvoice[],
  arl: Arl,
  amc: string,
  at: string = arl.date,
): { invoices: BilledInvoice[]; acknowledged: number; refused: number } {
  let acknowledged = 0;
  let refused = 0;
  const acks = arl.acks.filter((a) => a.fileKind === 'DREES');
  const out = invoices.map((inv) => {
    if (inv.amc !== amc || inv.state !== 'sent') return inv;
    const a = acks.find((x) => x.fileNumber === inv.fileNumber && (x.lotNumber === 0 || x.lotNumber === inv.lotNumber));
    if (!a) return inv;
    if (a.positive) {
      acknowledged++;
      return { ...inv, state: 'acknowledged' as const, acknowledgedAt: at };
    }
    refused++;
    return {
      ...inv,
      state: 'lot-refused' as const,
      acknowledgedAt: at,
      reason: { code: a.reasonCode ?? '', label: a.reasonLabel ?? '', action: 'CORRIGER' },
    };
  });
  return { invoices: out, acknowledged, refused };
}

export interface SummaryRow {
  amc: string;
  /** The day the invoices were sent (YYYY-MM-DD); '*' in the per-AMC and overall totals. */
  day: string;
  sent: number;
  acknowledged: number;
  paid: number;
  partiallyPaid: number;
  rejected: number;
  lotRefused: number;
  outstanding: number;
  /** Outstanding invoices sent more than `delayDays` ago. */
  aged: number;
  sentCents: number;
  paidCents: number;
  /** What partial payments left unpaid. */
  shortfallCents: number;
  rejectedCents: number;
  outstandingCents: number;
  agedCents: number;
}

export interface Summary {
  at: string;
  delayDays: number;
  /** One row per AMC and day sent, sorted. */
  rows: SummaryRow[];
  /** One row per AMC (day '*'). */
  perAmc: SummaryRow[];
  total: SummaryRow;
}

const emptyRow = (amc: string, day: string): SummaryRow => ({
  amc,
  day,
  sent: 0,
  acknowledged: 0,
  paid: 0,
  partiallyPaid: 0,
  rejected: 0,
  lotRefused: 0,
  outstanding: 0,
  aged: 0,
  sentCents: 0,
  paidCents: 0,
  shortfallCents: 0,
  rejectedCents: 0,
  outstandingCents: 0,
  agedCents: 0,
});

function dayNumber(iso: string): number {
  return Math.floor(Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 86_400_000);
}

/**
 * The reconciliation figures per AMC and per day sent, per AMC and overall. Invoices never sent
 * are left out. `at`: today (YYYY-MM-DD); `delayDays`: the ageing threshold (default 12, the
 * contractual delay; the national average is 4).
 */
export function summarise(invoices: BilledInvoice[], opts: { at: string; delayDays?: number }): Summary {
  const delayDays = opts.delayDays ?? 12;
  const today = dayNumber(opts.at);
  const rows = new Map<string, SummaryRow>();
  const perAmc = new Map<string, SummaryRow>();
  const total = emptyRow('*', '*');
  for (const inv of invoices) {
    if (!inv.sentAt || inv.state === 'written') continue;
    const k = `${inv.amc}|${inv.sentAt}`;
    let row = rows.get(k);
    if (!row) rows.set(k, (row = emptyRow(inv.amc, inv.sentAt)));
    let amcRow = perAmc.get(inv.amc);
    if (!amcRow) perAmc.set(inv.amc, (amcRow = emptyRow(inv.amc, '*')));
    const aged = today - dayNumber(inv.sentAt) > delayDays;
    for (const r of [row, amcRow, total]) {
      r.sent++;
      r.sentCents += inv.amcCents;
      if (inv.acknowledgedAt && inv.state !== 'lot-refused') r.acknowledged++;
      switch (inv.state) {
        case 'paid':
          r.paid++;
          r.paidCents += inv.paidCents ?? 0;
          break;
        case 'partially-paid':
          r.partiallyPaid++;
          r.paidCents += inv.paidCents ?? 0;
          r.shortfallCents += inv.differenceCents ?? 0;
          break;
        case 'rejected':
          r.rejected++;
          r.rejectedCents += inv.amcCents;
          break;
        case 'lot-refused':
          r.lotRefused++;
          break;
        default:
          r.outstanding++;
          r.outstandingCents += inv.amcCents;
          if (aged) {
            r.aged++;
            r.agedCents += inv.amcCents;
          }
      }
    }
  }
  const byKey = (a: SummaryRow, b: SummaryRow) => (a.amc < b.amc ? -1 : a.amc > b.amc ? 1 : a.day < b.day ? -1 : a.day > b.day ? 1 : 0);
  return { at: opts.at, delayDays, rows: [...rows.values()].sort(byKey), perAmc: [...perAmc.values()].sort(byKey), total };
}

const COLUMNS: Array<keyof SummaryRow> = [
  'amc',
  'day',
  'sent',
  'acknowledged',
  'paid',
  'partiallyPaid',
  'rejected',
  'lotRefused',
  'outstanding',
  'aged',
  'sentCents',
  'paidCents',
  'shortfallCents',
  'rejectedCents',
  'outstandingCents',
  'agedCents',
];

/** The summary as CSV (`;`-separated as French spreadsheets expect, amounts in cents): per AMC and day, then per AMC, then the total. */
export function summaryToCsv(s: Summary): string {
  const lines = [COLUMNS.join(';')];
  for (const r of [...s.rows, ...s.perAmc, s.total]) lines.push(COLUMNS.map((c) => String(r[c])).join(';'));
  return lines.join('\r\n') + '\r\n';
}

/** The invoices a DRE-ES file bills, as reconciliation records (state sent when `sentAt` is given, written otherwise). */
export function billedInvoices(
  file: {
    emitter: string;
    numero: number;
    amc: string;
    lots: Array<{
      number?: number;
      finess?: string;
      invoices: Array<{ number: string; engagement: string; invoiceDate: string; lines: Array<{ amcCents: number }> }>;
    }>;
  },
  sentAt?: string,
): BilledInvoice[] {
  const out: BilledInvoice[] = [];
  file.lots.forEach((lot, li) => {
    for (const inv of lot.invoices) {
      const b: BilledInvoice = {
        finess: lot.finess ?? file.emitter,
        amc: file.amc,
        number: inv.number,
        lotNumber: lot.number ?? li + 1,
        fileNumber: file.numero,
        invoiceDate: inv.invoiceDate,
        engagement: inv.engagement,
        amcCents: inv.lines.reduce((s, l) => s + l.amcCents, 0),
        state: sentAt ? 'sent' : 'written',
      };
      if (sentAt) b.sentAt = sentAt;
      out.push(b);
    }
  });
  return out;
}
