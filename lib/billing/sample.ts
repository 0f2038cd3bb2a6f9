/**
 * Deterministic, believable billing data for tests, benchmarks and the simulator: a French mix of
 * hospital stays (GHS + forfait journalier + sometimes a private room, AMC share ≈ 320 €) and
 * external consultations (ACE, AMC share ≈ 20 €), and the AMC's returns in a given mix.
 * Every identifier is synthetic (NIR with a valid key, but drawn at random).
 */
import { mulberry32 } from '../util/random';
import type { DreFile, DreInvoice, DreLine } from './dre-es';
import type { ReturnInput, RspInput } from './rsp';

function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** A synthetic NIR (13 digits) and its key (97 − NIR mod 97). */
export function syntheticNir(rnd: () => number): { nir: string; nirKey: string; birthDate: string } {
  const sex = rnd() < 0.5 ? 1 : 2;
  const year = 1935 + Math.floor(rnd() * 85);
  const month = 1 + Math.floor(rnd() * 12);
  const dept = 1 + Math.floor(rnd() * 95);
  const commune = 1 + Math.floor(rnd() * 899);
  const order = 1 + Math.floor(rnd() * 999);
  const nir = `${sex}${String(year % 100).padStart(2, '0')}${String(month).padStart(2, '0')}${String(dept === 20 ? 21 : dept).padStart(2, '0')}${String(commune).padStart(3, '0')}${String(order).padStart(3, '0')}`;
  const key = 97 - Number(BigInt(nir) % 97n);
  const day = 1 + Math.floor(rnd() * 28);
  return {
    nir,
    nirKey: String(key).padStart(2, '0'),
    birthDate: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
  };
}

const GHS = ['5053', '2124', '1633', '4207', '7981', '0542'];
const ACE_CODES = ['CS', 'APC', 'DEQP003', 'ZBQK002', 'YYYY030'];

function stay(rnd: () => number, entry: string): { lines: DreLine[]; discharge: string } {
  const nights = 1 + Math.floor(rnd() * 4);
  const discharge = addDays(entry, nights);
  const ghsPrice = 80_000 + Math.floor(rnd() * 70_000);
  const ghsAmo = Math.round(ghsPrice * 0.8);
  const lines: DreLine[] = [
    {
      family: 'GHS',
      code: GHS[Math.floor(rnd() * GHS.length)],
      startDate: entry,
      endDate: discharge,
      quantity: 1,
      unitPriceCents: ghsPrice,
      amoRate: 80,
      amoCents: ghsAmo,
      amcCents: ghsPrice - ghsAmo,
      patientCents: 0,
    },
    {
      family: 'FJ',
      code: 'FJ',
      startDate: entry,
      endDate: discharge,
      quantity: nights,
      unitPriceCents: 2000,
      amoRate: 0,
      amoCents: 0,
      amcCents: 2000 * nights,
      patientCents: 0,
    },
  ];
  if (rnd() < 0.5) {
    // a private room: the contract covers 45 € a night, the patient pays the rest
    lines.push({
      family: 'CP',
      code: 'CP',
      startDate: entry,
      endDate: discharge,
      quantity: nights,
      unitPriceCents: 6000,
      amoRate: 0,
      amoCents: 0,
      amcCents: 4500 * nights,
      patientCents: 1500 * nights,
    });
  }
  return { lines, discharge };
}

function ace(rnd: () => number, day: string): DreLine[] {
  const price = 4500 + Math.floor(rnd() * 4500);
  const amo = Math.round(price * 0.7);
  return [
    {
      family: 'ACE',
      code: ACE_CODES[Math.floor(rnd() * ACE_CODES.length)],
      startDate: day,
      endDate: day,
      quantity: 1,
      unitPriceCents: price,
      amoRate: 70,
      amoCents: amo,
      amcCents: price - amo,
      patientCents: 0,
    },
  ];
}

/** `count` invoices (60 % stays, 40 % ACE) numbered from `firstNumber`, the care days spread over two weeks before `start`. */
export function sampleInvoices(
  count: number,
  opts: { seed: number; start?: string; firstNumber?: number; amc?: string } = { seed: 1 },
): DreInvoice[] {
  const rnd = mulberry32(opts.seed);
  const start = opts.start ?? '2026-11-16';
  const first = opts.firstNumber ?? 1;
  const out: DreInvoice[] = [];
  for (let i = 0; i < count; i++) {
    const p = syntheticNir(rnd);
    const entry = addDays(start, -14 + Math.floor(rnd() * 10));
    const isStay = rnd() < 0.6;
    const s = isStay ? stay(rnd, entry) : { lines: ace(rnd, entry), discharge: entry };
    const seq = first + i;
    out.push({
      number: `F26${String(seq).padStart(7, '0')}`,
      engagement: `CLC${opts.amc ?? '0775685365'}${String(seq).padStart(7, '0')}`,
      ...p,
      birthRank: 1,
      venue: `${isStay ? 'H' : 'C'}26${String(seq).padStart(8, '0')}`,
      venueType: isStay ? 'H' : 'A',
      entryDate: entry,
      dischargeDate: s.discharge,
      invoiceDate: addDays(s.discharge, 1),
      lines: s.lines,
    });
  }
  return out;
}

/** A DRE-ES file of `invoices` cut into lots of `lotSize`. */
export function sampleFile(
  invoices: DreInvoice[],
  opts: { emitter?: string; amc?: string; numero?: number; date?: string; lotSize?: number } = {},
): DreFile {
  const lotSize = opts.lotSize ?? 500;
  const lots = [];
  for (let i = 0; i < invoices.length; i += lotSize) lots.push({ invoices: invoices.slice(i, i + lotSize) });
  return {
    emitter: opts.emitter ?? '590780193',
    amc: opts.amc ?? '0775685365',
    numero: opts.numero ?? 1,
    date: opts.date ?? '2026-11-16',
    lots,
  };
}

/**
 * The AMC's answer to a DRE-ES file: each invoice paid in full, partially paid (80 % of the
 * claim) or rejected (a reason from `reasons`), in the given mix.
 */
export function sampleReturns(
  file: DreFile,
  opts: { seed: number; date?: string; numero?: number; partial?: number; rejected?: number; reasons?: string[] },
): RspInput {
  const rnd = mulberry32(opts.seed);
  const partial = opts.partial ?? 0.08;
  const rejected = opts.rejected ?? 0.07;
  const reasons = opts.reasons ?? ['R001', 'R003', 'R004', 'R006', 'R007'];
  const date = opts.date ?? addDays(file.date, 6);
  const byFiness = new Map<string, ReturnInput[]>();
  file.lots.forEach((lot, li) => {
    const finess = lot.finess ?? file.emitter;
    let list = byFiness.get(finess);
    if (!list) byFiness.set(finess, (list = []));
    for (const inv of lot.invoices) {
      const claimed = inv.lines.reduce((s, l) => s + l.amcCents, 0);
      const base = {
        invoiceNumber: inv.number,
        lotNumber: lot.number ?? li + 1,
        fileNumber: file.numero,
        invoiceDate: inv.invoiceDate,
        engagement: inv.engagement,
        claimedCents: claimed,
      };
      const x = rnd();
      if (x < rejected) list.push({ kind: 'rejected', ...base, reason: reasons[Math.floor(rnd() * reasons.length)] });
      else {
        const paid = x < rejected + partial ? Math.round(claimed * 0.8) : claimed;
        list.push({
          kind: 'paid',
          ...base,
          paidCents: paid,
          paymentReference: `VIR${date.slice(2).replace(/-/g, '')}${String(file.numero % 1000).padStart(3, '0')}`,
          paymentDate: date,
        });
      }
    }
  });
  return {
    amc: file.amc,
    numero: opts.numero ?? file.numero,
    date,
    recipients: [...byFiness].map(([finess, returns]) => ({ finess, returns })),
  };
}
