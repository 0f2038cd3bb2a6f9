/**
 * A DFT^P03 invoice as the GAP of the CHU de Lille (FINESS géographique 590780193) sends it, after
 * the admission fixture pamfr-own-adt-a01-amo-amc-utf8.hl7 (same IPP, NDA and venue 250100421):
 * a 4-day hospital stay in cardiologie, billed in three lines —
 *   1. GHS 5091 (séjour, tarif 2 934,77 €, AMO 80 % of the base),
 *   2. FJ forfait journalier 20 € × 4 days, no AMO part (patient or AMC),
 *   3. PJ18 participation forfaitaire 24 € (acte ≥ 120 €), no AMO part;
 * totals: 3 038,77 € = AMO 2 347,82 € + AMC 690,95 € + patient 0 €.
 * Lines are (code, start, end, quantity, amount, unit price, AMO base, AMO rate, AMO amount).
 */
export type DftLine = [string, string, string, string, string, string, string, string, string];

export const LINES: DftLine[] = [
  ['GHS5091', '20250114', '20250118', '1', '2934.77', '2934.77', '2934.77', '80', '2347.82'],
  ['FJ', '20250114', '20250118', '4', '80.00', '20.00', '0', '0', '0'],
  ['PJ18', '20250114', '20250114', '1', '24.00', '24.00', '0', '0', '0'],
];

export const TOTALS = ['3038.77', '2347.82', '690.95', '0'];

export interface DftOptions {
  controlId?: string;
  venue?: string;
  numero?: string;
  dateFacture?: string;
  lines?: DftLine[];
  totals?: string[] | null;
  event?: string;
  /** Extra segments after the lines. */
  tail?: string[];
}

export function dft(o: DftOptions = {}): string {
  const venue = o.venue ?? '250100421';
  const lines = o.lines ?? LINES;
  const totals = o.totals === null ? [] : (o.totals ?? TOTALS);
  const segs = [
    `MSH|^~\\&|CPAGE|CHU-NORD|ROC-BRIDGE|CHU-NORD|20250118101500||DFT^${o.event ?? 'P03'}^DFT_P03|${o.controlId ?? 'DFT-0001'}|P|2.5|||||FRA|UNICODE UTF-8`,
    'EVN|P03|20250118101500',
    'PID|1||481516^^^CHU-NORD&590780215&N^PI~285075935012324^^^CPAM&1.2.250.1.213.1.4.1&ISO^NH||LEFÈVRE-BŒUF^Hélène^^^Mme^^D||19850714|F||||||||||25010042^^^CHU-NORD&590780193&M^AN',
    `PV1|1|I|4410^204^1^CHU-NORD&590780193&M||||||||||||||||${venue}^^^CHU-NORD&590780193&M^VN|||||||||||||||||||||||||20250114090000|20250118110000`,
    'IN1|1|AMO|015910000|CPAM de Lille-Douai||||||||20240101|20261231',
    'IN1|2|AMC|77554321|Mutuelle Générale Œuvres Sociales||||||||20250101|20251231',
    `ZFA|${o.numero ?? 'FAC-2025-000731'}|${o.dateFacture ?? '20250118'}|${totals.join('|')}`,
  ];
  lines.forEach((l, i) => {
    const [code, start, end, qty, amount, unit, base, rate, amo] = l;
    segs.push(`FT1|${i + 1}|TX-${i + 1}||${start}|${end}|CG|${code}^${code}^ROC|||${qty}|${amount}|${unit}`);
    segs.push(`ZFT|${i + 1}|${base}|${rate}|${amo}`);
  });
  segs.push(...(o.tail ?? []));
  return segs.join('\r') + '\r';
}
