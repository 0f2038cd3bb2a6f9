/**
 * What an AMC's return file does to the journal's invoices (pure): the RSP read by ./rsp.ts,
 * matched by ./reconcile.ts against the invoices billed to that AMC (FINESS + AMC + invoice
 * number), gives the settlements to record and one outcome per line (settled or refused with its
 * reason). And the ARL the bridge answers with: positive for a file read, negative (with a short
 * reason, never patient data) for a file quarantined.
 */
import type { InvoiceBilling, InvoiceSettlement } from '../store/journal';
import type { ArlAck } from './arl';
import { toBilled } from './ledger';
import { reconcile, type LineOutcome } from './reconcile';
import type { RspFile } from './rsp';

export interface SettledLine {
  outcome: 'paid' | 'partially-paid' | 'rejected';
  key: string;
  invoiceNumber: string;
  amc: string;
  finess: string;
  line: number;
  paidCents: number;
  differenceCents: number;
  paymentReference?: string;
  reason?: { code: string; label: string; action: string };
  notes: string[];
}

export interface RefusedLine {
  outcome: 'refused';
  invoiceNumber: string;
  amc: string;
  finess: string;
  line: number;
  code: string;
  reason: string;
}

export interface ReturnsPlan {
  settlements: InvoiceSettlement[];
  lines: Array<SettledLine | RefusedLine>;
}

/**
 * The settlements an RSP file brings. `invoices`: the journal's invoices for the file's AMC;
 * `finess`: the establishment's FINESS géographiques (a line for another is refused); `at`: the
 * day the returns are applied.
 */
export function planReturns(rsp: RspFile, invoices: InvoiceBilling[], o: { finess?: string[]; at: string }): ReturnsPlan {
  const billed = invoices.map(toBilled);
  const res = reconcile(billed, rsp, { finess: o.finess, at: o.at });
  const settlements: InvoiceSettlement[] = [];
  const settledBy = new Map<string, InvoiceBilling>();
  res.invoices.forEach((b, n) => {
    if (b === billed[n]) return;
    const inv = invoices[n];
    settledBy.set(`${b.finess}|${b.amc}|${b.number.trim().toUpperCase()}`, inv);
    settlements.push({
      key: inv.key,
      number: inv.number,
      state: b.state as InvoiceSettlement['state'],
      settledAt: b.settledAt ?? o.at,
      paidCents: b.paidCents ?? 0,
      differenceCents: b.differenceCents ?? 0,
      ...(b.paymentReference ? { paymentReference: b.paymentReference } : {}),
      ...(b.reason ? { rejection: b.reason } : {}),
    });
  });
  const lines = res.outcomes.map((x: LineOutcome): SettledLine | RefusedLine => {
    if (x.outcome === 'refused')
      return {
        outcome: 'refused',
        invoiceNumber: x.invoiceNumber,
        amc: x.amc,
        finess: x.finess,
        line: x.line,
        code: x.code,
        reason: x.reason,
      };
    const inv = settledBy.get(`${x.finess}|${x.amc}|${x.invoiceNumber.trim().toUpperCase()}`)!;
    const r = rsp.returns.find((y) => y.line === x.line);
    return {
      outcome: x.outcome,
      key: inv.key,
      invoiceNumber: inv.number,
      amc: x.amc,
      finess: x.finess,
      line: x.line,
      paidCents: x.paidCents,
      differenceCents: x.differenceCents,
      ...(r?.paymentReference ? { paymentReference: r.paymentReference } : {}),
      ...(x.reason ? { reason: x.reason } : {}),
      notes: x.notes,
    };
  });
  return { settlements, lines };
}

/** [profile] Negative ARL reason codes for a quarantined file (ARL 100 reasonCode / reasonLabel). */
export const QUARANTINE_ARL: Readonly<Record<string, { code: string; label: string }>> = {
  totals: { code: 'T001', label: 'Totaux ou compteurs incoherents' },
  truncated: { code: 'T002', label: 'Fichier tronque' },
  format: { code: 'F001', label: 'Enregistrement non conforme au format' },
  structure: { code: 'S001', label: 'Structure du fichier non conforme' },
  duplicate: { code: 'D001', label: 'Fichier deja recu' },
};

/** The ARL acknowledgement of an RSP file: positive with its counts, or negative with the quarantine's code. */
export function rspAck(fileNumber: number, q: { code: string } | undefined, counts: { invoiceCount: number; amountCents: number }): ArlAck {
  if (!q) return { fileKind: 'RSP', fileNumber, lotNumber: 0, positive: true, ...counts };
  const r = QUARANTINE_ARL[q.code] ?? QUARANTINE_ARL.format;
  return {
    fileKind: 'RSP',
    fileNumber,
    lotNumber: 0,
    positive: false,
    reasonCode: r.code,
    reasonLabel: r.label,
    invoiceCount: 0,
    amountCents: 0,
  };
}

/** The AMC and file number of an RSP header, read leniently (for the ARL of a file that cannot be read). */
export function peekRspHeader(bytes: Buffer): { amc?: string; numero?: number } {
  const head = bytes.subarray(0, 38).toString('latin1');
  if (!head.startsWith('000RSPROC')) return {};
  const amc = head.slice(11, 21);
  const numero = head.slice(21, 29);
  return { ...(/^\d{10}$/.test(amc) ? { amc } : {}), ...(/^\d{8}$/.test(numero) ? { numero: Number(numero) } : {}) };
}
