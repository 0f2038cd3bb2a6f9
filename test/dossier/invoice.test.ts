/**
 * Invoice checks before CLC (lib/dossier/invoice.ts): each error names the line and the field
 * (with its FT1/ZFT location for an HL7 AE), amounts in euros the French way, no patient data.
 */
import fc from 'fast-check';
import { checkInvoice, checkLine, type InvoiceLine } from '../../lib/dossier/invoice';

/** A 4-night surgical stay as the GAP bills it: GHS at 80 %, forfait journalier, private room. */
function lignes(): InvoiceLine[] {
  return [
    {
      numero: 1,
      code: 'GHS',
      dateDebut: '2026-11-20',
      dateFin: '2026-11-24',
      quantite: 1,
      prixUnitaire: 3452.4,
      montant: 3452.4,
      baseAmo: 3452.4,
      tauxAmo: 80,
      montantAmo: 2761.92,
    },
    {
      numero: 2,
      code: 'FJ',
      dateDebut: '2026-11-20',
      dateFin: '2026-11-24',
      quantite: 4,
      prixUnitaire: 20,
      montant: 80,
      baseAmo: 0,
      tauxAmo: 0,
      montantAmo: 0,
    },
    {
      numero: 3,
      code: 'CP',
      dateDebut: '2026-11-20',
      dateFin: '2026-11-24',
      quantite: 4,
      prixUnitaire: 75,
      montant: 300,
      baseAmo: 0,
      tauxAmo: 0,
      montantAmo: 0,
    },
  ];
}
// 3452.40 + 80 + 300 = 3832.40; AMO 2761.92; AMC 690.48 + 380 = 1070.48; patient 0.
const TOTALS = { total: 3832.4, amo: 2761.92, amc: 1070.48, patient: 0 };

describe('checkInvoice', () => {
  it('accepts a consistent invoice', () => {
    expect(checkInvoice({ numero: 'F2026-000481', lignes: lignes() }, TOTALS)).toEqual([]);
  });

  it('tolerates one cent of rounding', () => {
    const l = lignes();
    l[2] = { ...l[2], quantite: 3, prixUnitaire: 33.333, montant: 100 };
    expect(checkLine(l[2], 3)).toEqual([]);
  });

  it('names the line and the field when quantity × unit price ≠ amount', () => {
    const l = lignes();
    l[1] = { ...l[1], montant: 90 };
    const issues = checkInvoice({ numero: 'F2026-000481', lignes: l });
    expect(issues).toEqual([
      {
        ligne: 2,
        field: 'montant',
        location: { segment: 'FT1', sequence: 2, field: 11 },
        message: 'ligne 2 (FT1-11) : montant 90,00 € ≠ quantité 4 × prix unitaire 20,00 € = 80,00 €',
      },
    ]);
  });

  it('names the AMO part when base × rate ≠ AMO amount', () => {
    const l = lignes();
    l[0] = { ...l[0], montantAmo: 2800 };
    const [issue] = checkInvoice({ numero: 'F', lignes: l });
    expect(issue).toMatchObject({ ligne: 1, field: 'montantAmo', location: { segment: 'ZFT', sequence: 1, field: 4 } });
    expect(issue.message).toBe('ligne 1 (ZFT-4) : montant AMO 2800,00 € ≠ base 3452,40 € × taux 80 % = 2761,92 €');
  });

  it('refuses totals where AMO + AMC + patient ≠ total', () => {
    const issues = checkInvoice({ numero: 'F', lignes: lignes() }, { ...TOTALS, patient: 20 });
    expect(issues).toEqual([{ field: 'total', message: 'AMO 2761,92 € + AMC 1070,48 € + patient 20,00 € = 3852,40 € ≠ total 3832,40 €' }]);
  });

  it('refuses a total that is not the sum of the lines, and an AMO total that is not the sum of the AMO parts', () => {
    const issues = checkInvoice({ numero: 'F', lignes: lignes() }, { total: 3900, amo: 2700, amc: 1200, patient: 0 });
    expect(issues.map((i) => i.field)).toEqual(['total', 'amo']);
    expect(issues[0].message).toBe('total 3900,00 € ≠ somme des lignes 3832,40 €');
  });

  it('reports missing and impossible values, each on its line and field', () => {
    const bad = {
      numero: 4,
      code: '',
      dateDebut: '24/11/2026',
      dateFin: '2026-11-19',
      quantite: 0,
      prixUnitaire: -1,
      montant: Number.NaN,
      baseAmo: 10,
      tauxAmo: 120,
      montantAmo: 0,
    } as unknown as InvoiceLine;
    const issues = checkInvoice({ numero: '', lignes: [...lignes(), bad] });
    expect(issues.map((i) => `${i.ligne ?? '-'}:${i.field}`)).toEqual([
      '-:numero',
      '4:code',
      '4:dateDebut',
      '4:quantite',
      '4:prixUnitaire',
      '4:montant',
      '4:tauxAmo',
    ]);
  });

  it('refuses an invoice without lines and duplicate line numbers', () => {
    expect(checkInvoice({ numero: 'F', lignes: [] })).toEqual([{ field: 'lignes', message: 'facture sans ligne' }]);
    const l = lignes();
    l[2] = { ...l[2], numero: 2 };
    expect(checkInvoice({ numero: 'F', lignes: l })[0].message).toBe('ligne 3 (numero) : numéro de ligne 2 en double');
  });

  it('an end date before the start date is refused on that line', () => {
    const l = { ...lignes()[0], dateFin: '2026-11-19' };
    expect(checkLine(l, 1)).toEqual([
      {
        ligne: 1,
        field: 'dateFin',
        location: { segment: 'FT1', sequence: 1, field: 5 },
        message: 'ligne 1 (FT1-5) : date de fin avant la date de début',
      },
    ]);
  });

  it('an AMO amount above the line amount is refused', () => {
    const l = { ...lignes()[1], baseAmo: 100, tauxAmo: 100, montantAmo: 100 };
    expect(checkLine(l, 2).map((i) => i.field)).toEqual(['montantAmo']);
  });

  it('any line built as quantity × price (rounded to the cent) passes; off by 2 cents or more fails (property, fixed seed)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 500_000 }),
        fc.integer({ min: -500, max: 500 }),
        (q, puCents, offset) => {
          const pu = puCents / 100;
          const montant = Math.round(q * puCents + offset) / 100;
          const line: InvoiceLine = {
            numero: 1,
            code: 'GHS',
            dateDebut: '2026-11-20',
            quantite: q,
            prixUnitaire: pu,
            montant,
            baseAmo: 0,
            tauxAmo: 0,
            montantAmo: 0,
          };
          const fails = checkLine(line, 1).some((i) => i.field === 'montant');
          expect(fails).toBe(Math.abs(offset) > 1);
        },
      ),
      { seed: 20261206, numRuns: 500 },
    );
  });
});
