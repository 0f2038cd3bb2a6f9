/**
 * The admission model shared by HL7 and HPRIM: the numéro AMC normalisation both readers apply,
 * and the names lib/hl7 keeps exporting for the code written against them.
 */
import { NUMERO_AMC_LENGTH, normaliseNumeroAmc, type Admission } from '../../lib/model/admission';
import * as hl7Profile from '../../lib/hl7/profile';
import type { Admission as Hl7Admission, Hl7Issue } from '../../lib/hl7/types';
import { readHprimFile } from '../../lib/hprim';
import { readFileSync } from 'node:fs';
import path from 'node:path';

describe('normaliseNumeroAmc', () => {
  it('pads to 10 digits, keeps leading zeros, tolerates blanks, dots and dashes', () => {
    expect(NUMERO_AMC_LENGTH).toBe(10);
    expect(normaliseNumeroAmc('775685365')).toBe('0775685365');
    expect(normaliseNumeroAmc('0775685365')).toBe('0775685365');
    expect(normaliseNumeroAmc('77 568 536-5')).toBe('0775685365');
    expect(normaliseNumeroAmc('77.56.85.36.5')).toBe('0775685365');
    expect(normaliseNumeroAmc('1')).toBe('0000000001');
  });

  it('refuses what is not a numéro AMC: letters, more than 10 digits, empty', () => {
    for (const bad of ['MUTUELLE', '07756853651', '', ' - ', '0775685365A']) expect(normaliseNumeroAmc(bad)).toBeUndefined();
  });
});

describe('lib/hl7 keeps its names', () => {
  it('NUMERO_AMC_LENGTH is the model constant; every table 0357 code has a text', () => {
    expect(hl7Profile.NUMERO_AMC_LENGTH).toBe(NUMERO_AMC_LENGTH);
    for (const [code, t] of Object.entries(hl7Profile.TABLE_0357)) {
      expect(code).toMatch(/^\d{1,3}$/);
      expect(t.fr).toBeTruthy();
    }
  });

  it('an HPRIM admission is an Admission for lib/hl7 code too (one shape, warnings as table 0357 issues)', () => {
    const bytes = readFileSync(path.join(__dirname, '..', 'fixtures', 'hprim', 'hprim-own-adm-sortie-8859-15-crlf.hpr'));
    const r = readHprimFile('ADM20260315B.hpr', bytes);
    expect(r.ok).toBe(true);
    const a: Admission = r.result!.admissions[0];
    const same: Hl7Admission = a; // compiles: the same type
    const warnings: Hl7Issue[] = same.warnings;
    expect(same).toMatchObject({ messageType: 'ADM', meaning: 'CLC', coverages: expect.any(Array) });
    expect(same.venue?.dischargeDateTime).toBe('2026-03-15T17:00');
    for (const w of warnings) expect(Object.keys(hl7Profile.TABLE_0357)).toContain(w.code);
  });
});
