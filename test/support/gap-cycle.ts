/**
 * Messages of one venue's ROC cycle, built from the GAP simulator's day (simulator/gap-day.ts) so
 * that the patient is a seeded AMC beneficiary: the admission (A01), a cancellation (A11), and the
 * invoice (DFT^P03, profile docs/dft-profile.md) of that venue; and a reader of the bridge's
 * answers (ADT^Z80 + ZRC, lib/hl7/answer-profile.ts). All data is fictitious.
 */
import { encodeGapMessage, gapDay, type GapMessage } from '../../simulator/gap-day';

/** The first A01 of the day for a seeded beneficiary (B01…B24). */
export function admissionOf(beneficiary: string): GapMessage {
  for (const m of gapDay({ messages: 5000, venues: 12, seed: 2026 })) {
    if (m.event === 'A01' && m.beneficiary === beneficiary) return m;
  }
  throw new Error(`no A01 for ${beneficiary} in the simulated day`);
}

function setField(segment: string, n: number, value: string): string {
  const parts = segment.split('|');
  // MSH: parts[1] is MSH-2 (MSH-1 is the separator itself)
  const i = segment.startsWith('MSH|') ? n - 1 : n;
  while (parts.length <= i) parts.push('');
  parts[i] = value;
  return parts.join('|');
}

function setFirstComponent(segment: string, n: number, value: string): string {
  const parts = segment.split('|');
  const comps = (parts[n] ?? '').split('^');
  comps[0] = value;
  return setField(segment, n, comps.join('^'));
}

/** The same venue's message with another event, control id and (optionally) venue number. */
export function variant(m: GapMessage, o: { type?: string; controlId: string; venue?: string }): GapMessage {
  const segments = m.segments.map((s) => {
    let out = s;
    if (s.startsWith('MSH|')) {
      if (o.type) out = setField(out, 9, o.type);
      out = setField(out, 10, o.controlId);
    }
    if (s.startsWith('EVN|') && o.type) out = setField(out, 1, o.type.split('^')[1]);
    if (s.startsWith('PV1|') && o.venue) out = setFirstComponent(out, 19, o.venue);
    return out;
  });
  return {
    ...m,
    controlId: o.controlId,
    event: (o.type ?? `ADT^${m.event}`).split('^')[1],
    ...(o.venue ? { venue: o.venue } : {}),
    segments,
  };
}

export interface InvoiceSpec {
  numero: string;
  /** GHS amount (AMO 80 %); the forfait journalier adds 20 € × nights (no AMO part). */
  ghs: number;
  nights: number;
}

const money = (x: number) => (Math.round(x * 100) / 100).toFixed(2);

/** The venue's invoice as a DFT^P03 (ZFA header with totals, FT1 + ZFT per line). */
export function invoiceFor(adm: GapMessage, o: { controlId: string; venue?: string } & InvoiceSpec): GapMessage {
  const base = variant(adm, { type: 'DFT^P03^DFT_P03', controlId: o.controlId, venue: o.venue });
  const keep = base.segments.filter((s) => /^(MSH|EVN|PID|PV1|IN1)\|/.test(s));
  const amo = Math.round(o.ghs * 80) / 100;
  const fj = 20 * o.nights;
  const total = o.ghs + fj;
  const amc = total - amo;
  const day = '20260316';
  keep.push(`ZFA|${o.numero}|${day}|${money(total)}|${money(amo)}|${money(amc)}|0.00`);
  keep.push(`FT1|1|L1||${day}|${day}|CG|GHS^GHS^ROC|||1|${money(o.ghs)}|${money(o.ghs)}`);
  keep.push(`ZFT|1|${money(o.ghs)}|80|${money(amo)}`);
  keep.push(`FT1|2|L2||${day}|${day}|CG|FJ^FJ^ROC|||${o.nights}|${money(fj)}|20.00`);
  keep.push('ZFT|2|0.00|0|0.00');
  return { ...base, event: 'P03', segments: keep };
}

export function bytesOf(m: GapMessage): Buffer {
  return encodeGapMessage(m);
}

export interface ZrcAnswer {
  venue: string;
  service: string;
  status: string;
  technical: boolean;
  engagement?: string;
  engagementAnnule?: string;
  code?: string;
  /** A billing return (ZRC-1 RSP): the invoice number (ZRC-23) and state (ZRC-25). */
  invoice?: string;
  invoiceState?: string;
  text: string;
}

/** Reads the bridge's answer (ADT^Z80): venue (PV1-19) and the ZRC fields tests look at. */
export function readAnswer(text: string): ZrcAnswer | undefined {
  const lines = text.split(/\r\n?|\n/);
  const pv1 = lines.find((l) => l.startsWith('PV1|'))?.split('|') ?? [];
  const zrc = lines.find((l) => l.startsWith('ZRC|'))?.split('|');
  if (!zrc) return undefined;
  const f = (n: number) => zrc[n] || undefined;
  return {
    venue: (pv1[19] ?? '').split('^')[0],
    service: zrc[1],
    status: zrc[2],
    technical: zrc[3] === 'Y',
    ...(f(10) ? { engagement: f(10) } : {}),
    ...(f(22) ? { engagementAnnule: f(22) } : {}),
    ...(f(16) ? { code: f(16)!.split('^')[0] } : {}),
    ...(f(23) ? { invoice: f(23) } : {}),
    ...(f(25) ? { invoiceState: f(25) } : {}),
    text,
  };
}
