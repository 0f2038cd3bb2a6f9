import { ARL, DRE_ES, RSP } from '../../lib/billing/layouts';
import { compileLayout, decodeRecord, encodeRecord, normaliseText, RecordError, type LayoutData } from '../../lib/billing/records';

describe('billing layouts as data', () => {
  it('DRE-ES, RSP and ARL records are all 128 characters, fields contiguous, a type first', () => {
    for (const l of [DRE_ES, RSP, ARL]) {
      expect(l.recordLength).toBe(128);
      for (const r of l.records) expect(r.fields.reduce((s, f) => s + f.length, 0)).toBe(128);
    }
    expect(DRE_ES.byName.get('invoice')?.type.startsWith('5')).toBe(true);
    expect([...RSP.byType.keys()]).toEqual(['000', '040', '578', '908', '990']);
  });

  it('refuses a layout whose fields leave a gap or overflow the record', () => {
    const bad: LayoutData = {
      name: 'X',
      version: '1',
      recordLength: 10,
      lineEnding: 'LF',
      typeLength: 3,
      records: [
        {
          name: 'r',
          type: '000',
          fields: [
            { name: 'type', start: 1, length: 3, kind: 'K', value: '000' },
            { name: 'a', start: 5, length: 6, kind: 'A' },
          ],
        },
      ],
    };
    expect(() => compileLayout(bad)).toThrow(/field a starts at 5, expected 4/);
    bad.records[0].fields[1].start = 4;
    bad.records[0].fields[1].length = 8;
    expect(() => compileLayout(bad)).toThrow(/is 11 characters, not 10/);
  });
});

describe('encoding a record', () => {
  const values = { emitterFiness: '590780193', amc: '775685365', fileNumber: 42, date: '2026-11-16', mode: 'r' };

  it('zero-pads numbers, space-pads upper-case text, writes AAAAMMJJ dates', () => {
    const r = encodeRecord(DRE_ES, 'fileHeader', values);
    expect(r).toHaveLength(128);
    expect(r.slice(0, 46)).toBe('000DREESP1590780193077568536500000042' + '20261116' + 'R');
    expect(r.slice(46).trim()).toBe('');
  });

  it("strips accents and upper-cases (é → E, œ → OE, ’ → ')", () => {
    expect(normaliseText('Hôpital Saint-Éloi')).toBe('HOPITAL SAINT-ELOI');
    expect(normaliseText('cœur d’ange')).toBe("COEUR D'ANGE");
    const r = encodeRecord(DRE_ES, 'line', {
      invoiceNumber: 'f26-é1',
      lineNumber: 1,
      family: 'ghs',
      code: 'à5053',
      startDate: '2026-11-03',
      endDate: '20261106',
      quantity: 1,
      unitPriceCents: 0,
      totalCents: 0,
      amoRate: 80,
      amoCents: 0,
      amcCents: 0,
      patientCents: 0,
    });
    expect(r.slice(3, 15)).toBe('F26-E1      ');
    expect(r.slice(18, 29)).toBe('GHSA5053   ');
  });

  it('refuses a value that does not fit, naming the record and the field, never truncating', () => {
    expect(() => encodeRecord(DRE_ES, 'fileHeader', { ...values, fileNumber: 123456789 })).toThrow(
      'DRE-ES, record fileHeader, field fileNumber, position 30: does not fit in 8 digits',
    );
    expect(() => encodeRecord(DRE_ES, 'fileHeader', { ...values, amc: '07756853650' })).toThrow(/field amc.*does not fit in 10 digits/);
    expect(() => encodeRecord(DRE_ES, 'lotHeader', { lotNumber: 1, finess: '590780193', amc: '1', date: '2026-02-30' })).toThrow(
      /field date.*not a real date/,
    );
    expect(() => encodeRecord(DRE_ES, 'fileHeader', { ...values, fileNumber: -1 })).toThrow(/non-negative integer/);
    expect(() => encodeRecord(DRE_ES, 'fileHeader', { ...values, fileNumber: 1.5 })).toThrow(/non-negative integer/);
    expect(() => encodeRecord(DRE_ES, 'fileHeader', { ...values, mode: '€' })).toThrow(/no upper-case ASCII form/);
    expect(() => encodeRecord(DRE_ES, 'fileHeader', { ...values, mode: 'RT' })).toThrow(/does not fit in 1 characters/);
    expect(() => encodeRecord(DRE_ES, 'fileHeader', { ...values, emitterFiness: undefined })).toThrow(/field emitterFiness.*missing value/);
  });

  it('never puts the refused value in the error (a NIR stays out of logs)', () => {
    let error: unknown;
    try {
      encodeRecord(DRE_ES, 'invoice', { invoiceNumber: 'F26', engagement: 'CLC1', nir: '18506751234567' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RecordError);
    expect((error as Error).message).toBe('DRE-ES, record invoice, field nir, position 36: does not fit in 13 characters');
  });
});

describe('decoding a record, strictly', () => {
  const good = encodeRecord(DRE_ES, 'lotHeader', { lotNumber: 3, finess: '590780193', amc: '0775685365', date: '2024-02-29' });

  it('reads back typed values', () => {
    expect(decodeRecord(DRE_ES, good, 2)).toEqual({
      line: 2,
      record: 'lotHeader',
      type: '100',
      values: { lotNumber: 3, finess: '590780193', amc: '0775685365', date: '2024-02-29' },
    });
  });

  it('names line, record, field and position on a bad field', () => {
    expect(() => decodeRecord(DRE_ES, good.slice(0, 12) + 'X' + good.slice(13), 7)).toThrow(
      'DRE-ES, line 7, record lotHeader, field finess, position 10: not digits',
    );
    expect(() => decodeRecord(DRE_ES, good.slice(0, 28) + '20230229' + good.slice(36), 7)).toThrow(
      'DRE-ES, line 7, record lotHeader, field date, position 29: not a real date AAAAMMJJ',
    );
    expect(() => decodeRecord(DRE_ES, good.slice(0, 100), 4)).toThrow(
      'DRE-ES, line 4, record lotHeader: record is 100 characters, expected 128',
    );
    expect(() => decodeRecord(DRE_ES, '777' + good.slice(3), 5)).toThrow('DRE-ES, line 5, position 1: unknown record type "777"');
    expect(() => decodeRecord(DRE_ES, good.slice(0, 50) + 'é' + good.slice(51), 6)).toThrow(
      'DRE-ES, line 6, record lotHeader, position 51: character outside printable ASCII',
    );
  });
});
