/**
 * DFT^P03 invoice reader (lib/hl7/dft.ts): the exact texts of the 101 refusals the GAP user reads
 * in ERR-8, and a site profile (FT1_FIELDS is the site's data, docs/dft-intake.md) that moves a
 * line field to the ZFT or forgets one. Written from the survivors of the mutation run.
 */
import { parseEr7 } from '../../lib/hl7/er7';
import { readInvoice } from '../../lib/hl7/dft';
import { FT1_FIELDS } from '../../lib/dossier/invoice';
import { LINES, dft, type DftLine } from '../support/dft';

const read = (t: string) => readInvoice(parseEr7(t));
const withLine = (n: number, patch: Partial<Record<number, string>>): DftLine[] =>
  LINES.map((l, i) => (i === n - 1 ? (l.map((v, k) => patch[k] ?? v) as DftLine) : l));

/** Runs `body` with FT1_FIELDS changed as a site profile would, then puts the default back. */
function withProfile(patch: (f: typeof FT1_FIELDS) => void, body: () => void): void {
  const saved = { ...FT1_FIELDS };
  try {
    patch(FT1_FIELDS);
    body();
  } finally {
    for (const k of Object.keys(FT1_FIELDS) as (keyof typeof FT1_FIELDS)[]) delete FT1_FIELDS[k];
    Object.assign(FT1_FIELDS, saved);
  }
}

describe('DFT^P03: the texts of the 101 refusals', () => {
  it('ZFA-1 empty names the invoice number field', () => {
    expect(read(dft({ numero: '' })).errors).toStrictEqual([
      {
        code: '101',
        severity: 'E',
        location: { segment: 'ZFA', sequence: 1, field: 1 },
        message: 'Champ obligatoire manquant : ZFA-1 (numéro de facture) absent',
      },
    ]);
  });

  it('a prestation code, a quantity and an AMO rate empty: each message names its field', () => {
    const r = read(dft({ lines: withLine(2, { 0: '', 3: '', 7: '' }), totals: null }));
    expect(r.errors.map((e) => [formatPlace(e.location), e.message])).toStrictEqual([
      ['FT1[2]-7', 'Champ obligatoire manquant : FT1-7 (code de prestation) absent'],
      ['FT1[2]-10', 'Champ obligatoire manquant : FT1-10 (quantité) absent'],
      ['ZFT[2]-3', 'Champ obligatoire manquant : ZFT-3 (taux AMO) absent'],
    ]);
  });

  it('a total left empty while the others are sent names that total', () => {
    expect(read(dft({ totals: ['3038.77', '2347.82', '690.95', ''] })).errors.map((e) => e.message)).toStrictEqual([
      'Champ obligatoire manquant : ZFA-6 (total patient) absent',
    ]);
  });
});

describe('DFT^P03: a negative total is refused at its own ZFA field', () => {
  it.each([
    ['total facturé', ['-3038.77', '2347.82', '690.95', '0'], 3, 'total facturé absent ou négatif'],
    ['total AMO', ['3038.77', '-2347.82', '690.95', '0'], 4, 'total AMO absent ou négatif'],
    ['total AMC', ['3038.77', '2347.82', '-690.95', '0'], 5, 'total AMC absent ou négatif'],
    ['total patient', ['3038.77', '2347.82', '690.95', '-10.00'], 6, 'reste à charge patient absent ou négatif'],
  ])('%s negative: 102 at its ZFA field', (_label, totals, field, text) => {
    expect(read(dft({ totals })).errors).toStrictEqual([
      { code: '102', severity: 'E', location: { segment: 'ZFA', sequence: 1, field }, message: `Erreur de type de donnée : ${text}` },
    ]);
  });
});

describe('DFT^P03 under a site profile (FT1_FIELDS)', () => {
  it('the end date carried in ZFT-5: read from there; a line without its ZFT is one 100, nothing thrown', () => {
    withProfile(
      (f) => {
        f.dateFin = { segment: 'ZFT', field: 5 };
      },
      () => {
        const t = dft()
          .replace(/\|(\d{8})\|\d{8}\|CG\|/g, '|$1||CG|') // FT1-5 empty
          .replace(/(ZFT\|[^\r]*)\r/g, '$1|20250118\r');
        const ok = read(t);
        expect(ok.errors).toStrictEqual([]);
        expect(ok.facture?.lignes.map((l) => [l.code, l.dateDebut, l.dateFin])).toStrictEqual([
          ['GHS5091', '2025-01-14', '2025-01-18'],
          ['FJ', '2025-01-14', '2025-01-18'],
          ['PJ18', '2025-01-14', '2025-01-18'],
        ]);
        const noZft = t
          .split('\r')
          .filter((s) => !s.startsWith('ZFT|2|'))
          .join('\r');
        expect(read(noZft).errors).toStrictEqual([
          {
            code: '100',
            severity: 'E',
            location: { segment: 'ZFT', sequence: 2 },
            message: 'Erreur de séquence de segments : segment ZFT absent juste après la ligne FT1 n° 2',
          },
        ]);
      },
    );
  });

  it('a profile without the prestation code field is a configuration error naming it', () => {
    withProfile(
      (f) => {
        delete f.code;
      },
      () => {
        expect(() => read(dft())).toThrow(new Error('FT1_FIELDS has no code'));
      },
    );
    // the default profile is back
    expect(read(dft()).errors).toStrictEqual([]);
  });
});

function formatPlace(l: { segment: string; sequence?: number; field?: number } | undefined): string {
  return l ? `${l.segment}[${l.sequence}]-${l.field}` : '';
}
