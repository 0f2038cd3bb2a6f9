/**
 * A BAR^P05 AMO payment notice (docs/amo-payments.md, lib/billing/amo.ts AMO_PAYMENT_HL7) as the GAP
 * of the CHU de Lille sends it once the CPAM de Lille-Douai has paid its share of the invoice of
 * test/support/dft.ts (same PID, PV1, venue 250100421, invoice FAC-2025-000731): ZFA-1 the invoice
 * number, ZFA-4 the AMO total 2 347,82 €, ZFA-7 "AMO payé le" 2025-01-22. Fictitious data.
 */
export interface BarOptions {
  controlId?: string;
  event?: string;
  venue?: string;
  /** ZFA-1, ZFA-4, ZFA-7 as sent; null drops the ZFA segment. */
  zfa?: { numero?: string; amo?: string; paidOn?: string } | null;
}

export function bar(o: BarOptions = {}): string {
  const venue = o.venue ?? '250100421';
  const segs = [
    `MSH|^~\\&|CPAGE|CHU-NORD|ROC-BRIDGE|CHU-NORD|20250122080000||BAR^${o.event ?? 'P05'}^BAR_P05|${o.controlId ?? 'BAR-0001'}|P|2.5|||||FRA|UNICODE UTF-8`,
    `EVN|${o.event ?? 'P05'}|20250122080000`,
    'PID|1||481516^^^CHU-NORD&590780215&N^PI~285075935012324^^^CPAM&1.2.250.1.213.1.4.1&ISO^NH||LEFÈVRE-BŒUF^Hélène^^^Mme^^D||19850714|F||||||||||25010042^^^CHU-NORD&590780193&M^AN',
    `PV1|1|I|4410^204^1^CHU-NORD&590780193&M||||||||||||||||${venue}^^^CHU-NORD&590780193&M^VN|||||||||||||||||||||||||20250114090000|20250118110000`,
  ];
  if (o.zfa !== null) {
    const z = { numero: 'FAC-2025-000731', amo: '2347.82', paidOn: '20250122', ...(o.zfa ?? {}) };
    segs.push(`ZFA|${z.numero}|||${z.amo}|||${z.paidOn}`);
  }
  return segs.join('\r') + '\r';
}
