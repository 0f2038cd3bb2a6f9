/**
 * DRE-ES files ([profile] layout in layouts/dre-es.json): file header → lots → invoices → lines →
 * lot trailer → file trailer, 128-character records, amounts in cents.
 *
 * writeDreEs builds the file from invoices (the totals are computed here, never given);
 * readDreEs is the receiving side (the simulator's): it recomputes every count and total and
 * answers a quarantine reason when one does not add up.
 */
import { DRE_ES } from './layouts';
import { decodeFile, RecordError, RecordWriter, type DecodedRecord } from './records';
import { quarantine, type ReadResult } from './result';

export interface DreLine {
  /** GHS, FJ (forfait journalier), CP (chambre particulière), ACE, TM… */
  family: string;
  /** GHS number, CCAM or NGAP code… */
  code: string;
  startDate: string;
  endDate: string;
  quantity: number;
  unitPriceCents: number;
  amoRate: number;
  amoCents: number;
  amcCents: number;
  patientCents: number;
}

export interface DreInvoice {
  /** Unique per emitter. */
  number: string;
  /** The CLC engagement number the invoice bills. */
  engagement: string;
  /** NIR of the beneficiary (13 digits) and its key. */
  nir: string;
  nirKey: string;
  birthDate: string;
  birthRank: number;
  venue: string;
  /** H hospitalisation, A ACE, D HAD. */
  venueType: string;
  entryDate: string;
  dischargeDate: string;
  invoiceDate: string;
  lines: DreLine[];
}

export interface DreLot {
  /** Defaults to the lot's rank in the file, from 1. */
  number?: number;
  /** FINESS géographique; defaults to the emitter. */
  finess?: string;
  /** Defaults to the file's date. */
  date?: string;
  invoices: DreInvoice[];
}

export interface DreFile {
  /** FINESS of the emitting establishment. */
  emitter: string;
  /** File number (per emitter and AMC, without gaps). */
  numero: number;
  /** Creation date YYYY-MM-DD. */
  date: string;
  /** numéro AMC of the destination: one per file. */
  amc: string;
  /** R real (default), T test. */
  mode?: 'R' | 'T';
  lots: DreLot[];
}

export interface Totals {
  totalCents: number;
  amoCents: number;
  amcCents: number;
  patientCents: number;
}

export interface DreFileRead extends DreFile {
  lots: Array<Required<DreLot>>;
  invoiceCount: number;
  lineCount: number;
  recordCount: number;
  totals: Totals;
}

const zero = (): Totals => ({ totalCents: 0, amoCents: 0, amcCents: 0, patientCents: 0 });
function add(t: Totals, l: { amoCents: number; amcCents: number; patientCents: number }): void {
  t.amoCents += l.amoCents;
  t.amcCents += l.amcCents;
  t.patientCents += l.patientCents;
  t.totalCents += l.amoCents + l.amcCents + l.patientCents;
}

/** Thrown by writeDreEs for an invoice the file must not carry (the message names it, never the patient). */
export class DreEsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DreEsError';
  }
}

/** The DRE-ES file for one destination AMC, as bytes (ASCII, the layout's line ending). */
export function writeDreEs(file: DreFile): Buffer {
  let expected = 2;
  for (const lot of file.lots) {
    expected += 2 + lot.invoices.length;
    for (const inv of lot.invoices) expected += inv.lines.length;
  }
  const out = new RecordWriter(DRE_ES, expected);
  const fileTotals = zero();
  let invoiceCount = 0;
  let lineCount = 0;
  const seen = new Set<string>();
  if (!file.lots.length) throw new DreEsError('DRE-ES: a file needs at least one lot');
  out.add('fileHeader', { emitterFiness: file.emitter, amc: file.amc, fileNumber: file.numero, date: file.date, mode: file.mode ?? 'R' });
  file.lots.forEach((lot, li) => {
    const lotNumber = lot.number ?? li + 1;
    if (!lot.invoices.length) throw new DreEsError(`DRE-ES: lot ${lotNumber} has no invoice`);
    out.add('lotHeader', { lotNumber, finess: lot.finess ?? file.emitter, amc: file.amc, date: lot.date ?? file.date });
    const lotTotals = zero();
    let lotLines = 0;
    for (const inv of lot.invoices) {
      const key = String(inv.number).trim().toUpperCase();
      if (seen.has(key)) throw new DreEsError(`DRE-ES: invoice ${inv.number} appears twice in the file`);
      seen.add(key);
      if (!inv.lines.length) throw new DreEsError(`DRE-ES: invoice ${inv.number} has no line`);
      const t = zero();
      for (const l of inv.lines) add(t, l);
      if (t.amcCents <= 0) throw new DreEsError(`DRE-ES: invoice ${inv.number} has no AMC share to bill`);
      out.add('invoice', {
        invoiceNumber: inv.number,
        engagement: inv.engagement,
        nir: inv.nir,
        nirKey: inv.nirKey,
        birthDate: inv.birthDate,
        birthRank: inv.birthRank,
        venue: inv.venue,
        venueType: inv.venueType,
        entryDate: inv.entryDate,
        dischargeDate: inv.dischargeDate,
        invoiceDate: inv.invoiceDate,
        lineCount: inv.lines.length,
        amoCents: t.amoCents,
        amcCents: t.amcCents,
        patientCents: t.patientCents,
      });
      inv.lines.forEach((l, n) => {
        out.add('line', {
          invoiceNumber: inv.number,
          lineNumber: n + 1,
          family: l.family,
          code: l.code,
          startDate: l.startDate,
          endDate: l.endDate,
          quantity: l.quantity,
          unitPriceCents: l.unitPriceCents,
          totalCents: l.amoCents + l.amcCents + l.patientCents,
          amoRate: l.amoRate,
          amoCents: l.amoCents,
          amcCents: l.amcCents,
          patientCents: l.patientCents,
        });
      });
      add(lotTotals, t);
      lotLines += inv.lines.length;
    }
    out.add('lotTrailer', { lotNumber, invoiceCount: lot.invoices.length, lineCount: lotLines, ...lotTotals });
    add(fileTotals, lotTotals);
    invoiceCount += lot.invoices.length;
    lineCount += lotLines;
  });
  out.add('fileTrailer', { lotCount: file.lots.length, invoiceCount, lineCount, recordCount: out.count + 1, ...fileTotals });
  return out.finish();
}

type V = DecodedRecord['values'];
const s = (v: V, k: string): string => v[k] as string;
const n = (v: V, k: string): number => v[k] as number;

function mismatch(totals: Totals, v: V): string | undefined {
  for (const k of ['amoCents', 'amcCents', 'patientCents', 'totalCents'] as const) {
    if (k in v && n(v, k) !== totals[k]) return k;
  }
  return undefined;
}

/** Reads a DRE-ES file strictly: every count and total recomputed; any problem is a quarantine reason. */
export function readDreEs(data: Buffer): ReadResult<DreFileRead> {
  let recs: DecodedRecord[];
  try {
    recs = decodeFile(DRE_ES, data);
  } catch (e) {
    if (e instanceof RecordError) return quarantine(/truncated/.test(e.detail) ? 'truncated' : 'format', e.message, e.where.line);
    throw e;
  }
  if (!recs.length) return quarantine('truncated', 'DRE-ES: empty file');
  const head = recs[0];
  if (head.record !== 'fileHeader') return quarantine('structure', `DRE-ES line 1: expected the file header 000, found ${head.type}`, 1);
  const file: DreFileRead = {
    emitter: s(head.values, 'emitterFiness'),
    numero: n(head.values, 'fileNumber'),
    date: s(head.values, 'date'),
    amc: s(head.values, 'amc'),
    mode: s(head.values, 'mode') === 'T' ? 'T' : 'R',
    lots: [],
    invoiceCount: 0,
    lineCount: 0,
    recordCount: recs.length,
    totals: zero(),
  };
  const seen = new Set<string>();
  let i = 1;
  const at = (): DecodedRecord | undefined => recs[i];
  const struct = (r: DecodedRecord | undefined, expected: string) =>
    r
      ? quarantine('structure', `DRE-ES line ${r.line}: expected ${expected}, found record ${r.type}`, r.line)
      : quarantine('truncated', `DRE-ES: the file stops before ${expected} (${recs.length} records read)`);
  while (at()?.record === 'lotHeader') {
    const lh = at() as DecodedRecord;
    i++;
    if (s(lh.values, 'amc') !== file.amc)
      return quarantine(
        'structure',
        `DRE-ES line ${lh.line}: lot for another AMC than the file header's (one destination per file)`,
        lh.line,
      );
    const lot: Required<DreLot> = {
      number: n(lh.values, 'lotNumber'),
      finess: s(lh.values, 'finess'),
      date: s(lh.values, 'date'),
      invoices: [],
    };
    const lotTotals = zero();
    let lotLines = 0;
    while (at()?.record === 'invoice') {
      const ih = at() as DecodedRecord;
      i++;
      const v = ih.values;
      const number = s(v, 'invoiceNumber');
      if (seen.has(number)) return quarantine('duplicate', `DRE-ES line ${ih.line}: invoice ${number} appears twice in the file`, ih.line);
      seen.add(number);
      const inv: DreInvoice = {
        number,
        engagement: s(v, 'engagement'),
        nir: s(v, 'nir'),
        nirKey: s(v, 'nirKey'),
        birthDate: s(v, 'birthDate'),
        birthRank: n(v, 'birthRank'),
        venue: s(v, 'venue'),
        venueType: s(v, 'venueType'),
        entryDate: s(v, 'entryDate'),
        dischargeDate: s(v, 'dischargeDate'),
        invoiceDate: s(v, 'invoiceDate'),
        lines: [],
      };
      const t = zero();
      while (at()?.record === 'line') {
        const lr = at() as DecodedRecord;
        i++;
        const w = lr.values;
        if (s(w, 'invoiceNumber') !== number)
          return quarantine(
            'structure',
            `DRE-ES line ${lr.line}: invoice line for ${s(w, 'invoiceNumber')} inside invoice ${number}`,
            lr.line,
          );
        if (n(w, 'lineNumber') !== inv.lines.length + 1)
          return quarantine(
            'structure',
            `DRE-ES line ${lr.line}: invoice ${number} line number ${n(w, 'lineNumber')}, expected ${inv.lines.length + 1}`,
            lr.line,
          );
        const line: DreLine = {
          family: s(w, 'family'),
          code: s(w, 'code'),
          startDate: s(w, 'startDate'),
          endDate: s(w, 'endDate'),
          quantity: n(w, 'quantity'),
          unitPriceCents: n(w, 'unitPriceCents'),
          amoRate: n(w, 'amoRate'),
          amoCents: n(w, 'amoCents'),
          amcCents: n(w, 'amcCents'),
          patientCents: n(w, 'patientCents'),
        };
        if (n(w, 'totalCents') !== line.amoCents + line.amcCents + line.patientCents) {
          return quarantine(
            'totals',
            `DRE-ES line ${lr.line}: invoice ${number} line ${inv.lines.length + 1}: totalCents is not AMO + AMC + patient`,
            lr.line,
          );
        }
        add(t, line);
        inv.lines.push(line);
      }
      if (n(v, 'lineCount') !== inv.lines.length)
        return quarantine(
          'totals',
          `DRE-ES line ${ih.line}: invoice ${number} announces ${n(v, 'lineCount')} lines, has ${inv.lines.length}`,
          ih.line,
        );
      const bad = mismatch(t, v);
      if (bad) return quarantine('totals', `DRE-ES line ${ih.line}: invoice ${number} field ${bad} is not the sum of its lines`, ih.line);
      add(lotTotals, t);
      lotLines += inv.lines.length;
      lot.invoices.push(inv);
    }
    const lt = at();
    if (lt?.record !== 'lotTrailer') return struct(lt, `the lot ${lot.number} trailer 800`);
    i++;
    const v = lt.values;
    if (n(v, 'lotNumber') !== lot.number)
      return quarantine('structure', `DRE-ES line ${lt.line}: lot trailer for lot ${n(v, 'lotNumber')} closes lot ${lot.number}`, lt.line);
    if (n(v, 'invoiceCount') !== lot.invoices.length)
      return quarantine(
        'totals',
        `DRE-ES line ${lt.line}: lot ${lot.number} trailer counts ${n(v, 'invoiceCount')} invoices, the lot has ${lot.invoices.length}`,
        lt.line,
      );
    if (n(v, 'lineCount') !== lotLines)
      return quarantine(
        'totals',
        `DRE-ES line ${lt.line}: lot ${lot.number} trailer counts ${n(v, 'lineCount')} lines, the lot has ${lotLines}`,
        lt.line,
      );
    const bad = mismatch(lotTotals, v);
    if (bad) return quarantine('totals', `DRE-ES line ${lt.line}: lot ${lot.number} trailer field ${bad} does not add up`, lt.line);
    add(file.totals, lotTotals);
    file.invoiceCount += lot.invoices.length;
    file.lineCount += lotLines;
    file.lots.push(lot);
  }
  const ft = at();
  if (ft?.record !== 'fileTrailer') return struct(ft, 'a lot header 100 or the file trailer 999');
  i++;
  if (i < recs.length) return quarantine('structure', `DRE-ES line ${recs[i].line}: record after the file trailer`, recs[i].line);
  const v = ft.values;
  const checks: Array<[string, number, number]> = [
    ['lotCount', n(v, 'lotCount'), file.lots.length],
    ['invoiceCount', n(v, 'invoiceCount'), file.invoiceCount],
    ['lineCount', n(v, 'lineCount'), file.lineCount],
    ['recordCount', n(v, 'recordCount'), recs.length],
  ];
  for (const [k, said, found] of checks) {
    if (said !== found)
      return quarantine('totals', `DRE-ES line ${ft.line}: file trailer field ${k} says ${said}, the file has ${found}`, ft.line);
  }
  const bad = mismatch(file.totals, v);
  if (bad) return quarantine('totals', `DRE-ES line ${ft.line}: file trailer field ${bad} does not add up`, ft.line);
  if (!file.lots.length) return quarantine('structure', 'DRE-ES: a file without a lot');
  return { ok: true, value: file };
}
