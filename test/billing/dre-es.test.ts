import fc from 'fast-check';
import { readDreEs, writeDreEs, type DreFile, type DreInvoice, type DreLine } from '../../lib/billing/dre-es';
import { normaliseText } from '../../lib/billing/records';
import { sampleFile, sampleInvoices } from '../../lib/billing/sample';
import { fromRecords, records, tamper } from './helpers';

const FC = { seed: 20261206, numRuns: 60 };

const day = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const digits = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`));
const upper = (max: number) =>
  fc
    .stringMatching(new RegExp(`^[A-Z0-9][A-Z0-9 ./-]{0,${max - 1}}$`))
    .map((s) => s.trimEnd())
    .filter((s) => s.length > 0);
const cents = fc.integer({ min: 0, max: 9_999_999 });

const line: fc.Arbitrary<DreLine> = fc.record({
  family: fc.constantFrom('GHS', 'FJ', 'CP', 'ACE', 'TM'),
  code: upper(8),
  startDate: day,
  endDate: day,
  quantity: fc.integer({ min: 1, max: 9999 }),
  unitPriceCents: fc.integer({ min: 0, max: 999_999_999 }),
  amoRate: fc.integer({ min: 0, max: 100 }),
  amoCents: cents,
  amcCents: fc.integer({ min: 1, max: 9_999_999 }),
  patientCents: cents,
});

let seq = 0;
const invoice: fc.Arbitrary<DreInvoice> = fc.record({
  number: upper(10).map((s) => `${s.slice(0, 7)}${String(seq++ % 100000).padStart(5, '0')}`),
  engagement: upper(20),
  nir: digits(13),
  nirKey: digits(2),
  birthDate: day,
  birthRank: fc.integer({ min: 1, max: 9 }),
  venue: upper(12),
  venueType: fc.constantFrom('H', 'A', 'D'),
  entryDate: day,
  dischargeDate: day,
  invoiceDate: day,
  lines: fc.array(line, { minLength: 1, maxLength: 5 }),
});

const file: fc.Arbitrary<DreFile> = fc.record({
  emitter: digits(9),
  numero: fc.integer({ min: 0, max: 99_999_999 }),
  date: day,
  amc: digits(10),
  mode: fc.constantFrom('R' as const, 'T' as const),
  lots: fc.array(fc.record({ invoices: fc.array(invoice, { minLength: 1, maxLength: 6 }) }), { minLength: 1, maxLength: 4 }),
});

describe('DRE-ES write then read', () => {
  it('gives back the same invoices, lots and totals (property, fixed seed)', () => {
    fc.assert(
      fc.property(file, (f) => {
        const buf = writeDreEs(f);
        const recs = records(buf);
        expect(recs.every((r) => r.length === 128)).toBe(true);
        expect(buf.toString('latin1').endsWith('\r\n')).toBe(true);
        const r = readDreEs(buf);
        if (!r.ok) throw new Error(r.reason);
        const v = r.value;
        expect(v.emitter).toBe(f.emitter);
        expect(v.amc).toBe(f.amc);
        expect(v.numero).toBe(f.numero);
        expect(v.mode).toBe(f.mode);
        expect(v.lots.map((l) => l.invoices)).toEqual(f.lots.map((l) => l.invoices));
        expect(v.lots.map((l) => l.number)).toEqual(f.lots.map((_, i) => i + 1));
        const all = f.lots.flatMap((l) => l.invoices.flatMap((i) => i.lines));
        expect(v.totals.amcCents).toBe(all.reduce((s, l) => s + l.amcCents, 0));
        expect(v.recordCount).toBe(recs.length);
      }),
      FC,
    );
  });

  it('normalises accents and lower case in text, and reads back the normalised text', () => {
    const text = fc
      .stringMatching(/^[a-zA-Z0-9éèêëàâîïôöûüçÉÈÀÇœ' -]{1,12}$/)
      .filter((s) => s.trim().length > 0 && (normaliseText(s) ?? '').length <= 12);
    fc.assert(
      fc.property(text, (venue) => {
        const inv = { ...sampleInvoices(1, { seed: 5 })[0], venue };
        const r = readDreEs(writeDreEs(sampleFile([inv])));
        if (!r.ok) throw new Error(r.reason);
        const got = r.value.lots[0].invoices[0].venue;
        expect(got).toBe((normaliseText(venue) as string).trimEnd());
        expect(got).toMatch(/^[A-Z0-9' -]*$/);
      }),
      FC,
    );
  });

  it('refuses an overflowing value, naming the invoice field (never writes a cut value)', () => {
    const [inv] = sampleInvoices(1, { seed: 2 });
    const big = { ...inv, lines: [{ ...inv.lines[0], amcCents: 1_000_000_000 }] };
    expect(() => writeDreEs(sampleFile([big]))).toThrow(/record invoice, field amcCents, position 109: does not fit in 9 digits/);
    expect(() => writeDreEs(sampleFile([{ ...inv, number: 'F2600000000001' }]))).toThrow(
      /field invoiceNumber.*does not fit in 12 characters/,
    );
  });

  it('refuses an invoice without an AMC share, an invoice twice, an empty lot', () => {
    const [a, b] = sampleInvoices(2, { seed: 9 });
    const noAmc = { ...a, lines: a.lines.map((l) => ({ ...l, amcCents: 0 })) };
    expect(() => writeDreEs(sampleFile([noAmc]))).toThrow(`DRE-ES: invoice ${a.number} has no AMC share to bill`);
    expect(() => writeDreEs(sampleFile([a, b, { ...a }]))).toThrow(`invoice ${a.number} appears twice`);
    expect(() => writeDreEs({ ...sampleFile([a]), lots: [{ invoices: [] }] })).toThrow('lot 1 has no invoice');
  });
});

describe('DRE-ES read: bad files are quarantined with a reason', () => {
  const f = sampleFile(sampleInvoices(12, { seed: 11 }), { lotSize: 5, numero: 17 });
  const buf = writeDreEs(f);
  const recs = records(buf);
  const last = recs.length;

  it('reads the realistic file: 3 lots, 12 invoices, counts and totals', () => {
    const r = readDreEs(buf);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.lots.map((l) => l.invoices.length)).toEqual([5, 5, 2]);
    expect(r.value.invoiceCount).toBe(12);
    expect(r.value.totals.totalCents).toBe(r.value.totals.amoCents + r.value.totals.amcCents + r.value.totals.patientCents);
  });

  it('file trailer totals that do not add up', () => {
    const amc = recs[last - 1].slice(57, 70);
    const r = readDreEs(tamper(buf, last, 58, String(Number(amc) + 1).padStart(13, '0')));
    expect(r).toEqual({
      ok: false,
      code: 'totals',
      reason: `DRE-ES line ${last}: file trailer field amcCents does not add up`,
      line: last,
    });
  });

  it('a lot trailer counting one invoice too many', () => {
    const at = recs.findIndex((x) => x.startsWith('800')) + 1;
    const r = readDreEs(tamper(buf, at, 10, '000006'));
    expect(r).toMatchObject({
      ok: false,
      code: 'totals',
      line: at,
      reason: `DRE-ES line ${at}: lot 1 trailer counts 6 invoices, the lot has 5`,
    });
  });

  it('an invoice whose amounts are not the sum of its lines', () => {
    const r = readDreEs(tamper(buf, 3, 118, '000000001'));
    expect(r).toMatchObject({ ok: false, code: 'totals', line: 3 });
    if (!r.ok) expect(r.reason).toMatch(/invoice F260000001 field patientCents is not the sum of its lines/);
  });

  it('the record count of the file trailer', () => {
    const r = readDreEs(tamper(buf, last, 23, '000000999'));
    expect(r).toMatchObject({
      ok: false,
      code: 'totals',
      reason: `DRE-ES line ${last}: file trailer field recordCount says 999, the file has ${last}`,
    });
  });

  it('a truncated file: cut inside a record, or cut at a record boundary', () => {
    expect(readDreEs(buf.subarray(0, buf.length - 40))).toMatchObject({ ok: false, code: 'truncated', line: last });
    const cut = readDreEs(fromRecords(recs.slice(0, 9)));
    expect(cut).toMatchObject({ ok: false, code: 'truncated' });
    if (!cut.ok) expect(cut.reason).toMatch(/the file stops before/);
    expect(readDreEs(Buffer.alloc(0))).toMatchObject({ ok: false, code: 'truncated' });
  });

  it('the same invoice twice in one file', () => {
    const inv = recs.findIndex((x) => x.startsWith('500')) + 1;
    const second = recs.findIndex((x, i) => i > inv && x.startsWith('500')) + 1;
    const n1 = recs[inv - 1].slice(3, 15);
    let bad = tamper(buf, second, 4, n1);
    for (let i = second + 1; recs[i - 1].startsWith('510'); i++) bad = tamper(bad, i, 4, n1);
    expect(readDreEs(bad)).toMatchObject({ ok: false, code: 'duplicate', line: second });
  });

  it('a lot for another AMC (one destination per file), records out of order, a record after the end', () => {
    expect(readDreEs(tamper(buf, 2, 19, '0784621159'))).toMatchObject({ ok: false, code: 'structure', line: 2 });
    const swapped = [...recs];
    [swapped[2], swapped[3]] = [swapped[3], swapped[2]];
    expect(readDreEs(fromRecords(swapped))).toMatchObject({ ok: false, code: 'structure' });
    expect(readDreEs(fromRecords([...recs, recs[1]]))).toMatchObject({ ok: false, code: 'structure', line: last + 1 });
  });

  it('a malformed field names line, record and field, without the NIR', () => {
    const r = readDreEs(tamper(buf, 3, 49, 'AB'));
    expect(r).toMatchObject({
      ok: false,
      code: 'format',
      line: 3,
      reason: 'DRE-ES, line 3, record invoice, field nirKey, position 49: not digits',
    });
  });

  it('reads an LF-only file too', () => {
    const lf = Buffer.from(buf.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    expect(readDreEs(lf).ok).toBe(true);
  });
});
