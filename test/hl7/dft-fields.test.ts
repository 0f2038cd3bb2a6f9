/**
 * DFT^P03 invoice reader (lib/hl7/dft.ts), field by field: the number and date forms a GAP sends
 * (signs, a trailing point, a time after the date, HL7 nulls), the line and ZFT numbering, the
 * line type, and where each refusal is placed. Complements dft.test.ts (whole invoices).
 */
import { parseEr7 } from '../../lib/hl7/er7';
import { readInvoice } from '../../lib/hl7/dft';
import { LINES, dft, type DftLine } from '../support/dft';

const read = (t: string) => readInvoice(parseEr7(t));
const places = (t: string) => read(t).errors.map((e) => [e.code, e.location?.segment, e.location?.sequence, e.location?.field]);
const withLine = (n: number, patch: Partial<Record<number, string>>): DftLine[] =>
  LINES.map((l, i) => (i === n - 1 ? (l.map((v, k) => patch[k] ?? v) as DftLine) : l));

describe('DFT^P03 invoice fields', () => {
  it('numbers with a sign, a trailing point or no integer part are read as euros', () => {
    const lines = withLine(2, { 3: '4.', 4: '+80.00', 5: '20', 6: '.0', 7: '0', 8: '-0' });
    const r = read(dft({ lines }));
    expect(r.errors).toStrictEqual([]);
    expect(r.facture?.lignes[1]).toMatchObject({ quantite: 4, montant: 80, prixUnitaire: 20, baseAmo: 0, tauxAmo: 0, montantAmo: -0 });
  });

  it('a number with an exponent, two points, blanks inside or letters is refused 102 at its field', () => {
    for (const bad of ['1e2', '80.0.0', '8 0', 'quatre', '.', '+', '80€']) {
      expect([bad, places(dft({ lines: withLine(2, { 3: bad }), totals: null }))]).toStrictEqual([bad, [['102', 'FT1', 2, 10]]]);
    }
  });

  it('an HL7 null or blanks count as absent', () => {
    expect(places(dft({ lines: withLine(1, { 3: '""' }), totals: null }))).toStrictEqual([['101', 'FT1', 1, 10]]);
    expect(places(dft({ numero: '""' }))).toStrictEqual([['101', 'ZFA', 1, 1]]);
    expect(places(dft({ numero: '   ' }))).toStrictEqual([['101', 'ZFA', 1, 1]]);
    // all four totals null: no totals, the lines alone
    const r = read(dft({ totals: ['""', '""', '', ' '] }));
    expect(r.errors).toStrictEqual([]);
    expect(r.facture).not.toHaveProperty('totaux');
  });

  it('dates: a time after the day is cut; fewer than 8 digits or a wrong day is 102', () => {
    const r = read(dft({ dateFacture: '202501181015', lines: withLine(1, { 1: '20250114083000', 2: '202501181100' }) }));
    expect(r.errors).toStrictEqual([]);
    expect(r.facture?.dateFacture).toBe('2025-01-18');
    expect(r.facture?.lignes[0]).toMatchObject({ dateDebut: '2025-01-14', dateFin: '2025-01-18' });
    for (const bad of ['202501', '2025011', '20250132', '2025-01-14']) {
      expect([bad, places(dft({ lines: withLine(1, { 1: bad }), totals: null }))]).toStrictEqual([bad, [['102', 'FT1', 1, 4]]]);
    }
    expect(read(dft({ dateFacture: '202501' })).errors.map((e) => e.message)).toStrictEqual([
      'Erreur de type de donnée : ZFA-2 (date de facture) : date invalide, format attendu AAAAMMJJ',
    ]);
  });

  it('the invoice date and the line end date are optional; the start date is required', () => {
    const r = read(dft({ dateFacture: '', lines: withLine(3, { 2: '' }) }));
    expect(r.errors).toStrictEqual([]);
    expect(r.facture).not.toHaveProperty('dateFacture');
    expect(r.facture?.lignes[2]).not.toHaveProperty('dateFin');
    expect(places(dft({ lines: withLine(3, { 1: '' }), totals: null }))).toStrictEqual([['101', 'FT1', 3, 4]]);
    expect(read(dft({ lines: withLine(3, { 1: '' }), totals: null })).errors[0].message).toBe(
      'Champ obligatoire manquant : FT1-4 (date de début) absent',
    );
  });

  it('FT1-6: lower case accepted; empty is 101; another code is 103 naming CG', () => {
    expect(read(dft().replace('|TX-2||20250114|20250118|CG|', '|TX-2||20250114|20250118|cg|')).errors).toStrictEqual([]);
    const none = read(dft().replace('|TX-2||20250114|20250118|CG|', '|TX-2||20250114|20250118||'));
    expect(none.errors).toStrictEqual([
      {
        code: '101',
        severity: 'E',
        location: { segment: 'FT1', sequence: 2, field: 6 },
        message: 'Champ obligatoire manquant : FT1-6 (type de transaction) absent',
      },
    ]);
    const credit = read(dft().replace('|TX-2||20250114|20250118|CG|', '|TX-2||20250114|20250118|CR|'));
    expect(credit.errors[0].message).toBe('Valeur absente de la table : FT1-6 (type de transaction) : seul CG (débit) est traité');
  });

  it('FT1-1 may be empty; out of order it names the rank expected', () => {
    expect(read(dft().replace('FT1|2|', 'FT1||').replace('ZFT|2|', 'ZFT||')).errors).toStrictEqual([]);
    const r = read(dft().replace('FT1|2|', 'FT1|3|'));
    expect(r.errors[0]).toStrictEqual({
      code: '102',
      severity: 'E',
      location: { segment: 'FT1', sequence: 2, field: 1 },
      message: 'Erreur de type de donnée : FT1-1 (numéro de ligne) : 2 attendu (lignes numérotées 1, 2, 3… dans l’ordre)',
    });
  });

  it('ZFT-1 must name its FT1: the FT1-1 sent, else the line rank; empty is fine', () => {
    expect(read(dft().replace('ZFT|2|', 'ZFT||')).errors).toStrictEqual([]);
    const wrong = read(dft().replace('ZFT|2|', 'ZFT|1|'));
    expect(wrong.errors).toStrictEqual([
      {
        code: '102',
        severity: 'E',
        location: { segment: 'ZFT', sequence: 2, field: 1 },
        message: 'Erreur de type de donnée : ZFT-1 (numéro de la ligne FT1) : 2 attendu (le numéro de sa ligne FT1)',
      },
    ]);
    // FT1-1 empty: the ZFT names the line by its rank
    const byRank = read(dft().replace('FT1|2|', 'FT1||').replace('ZFT|2|', 'ZFT|3|'));
    expect(byRank.errors.map((e) => e.message)).toStrictEqual([
      'Erreur de type de donnée : ZFT-1 (numéro de la ligne FT1) : 2 attendu (le numéro de sa ligne FT1)',
    ]);
  });

  it('a ZFT separated from its FT1 by another segment is a lone ZFT', () => {
    const t = dft().replace('ZFT|1|', 'NTE|1||note\rZFT|1|');
    // one error at ZFT: the line's missing ZFT is the same place
    expect(places(t)).toStrictEqual([['100', 'ZFT', 1, undefined]]);
    expect(read(t).errors.map((e) => e.message)).toStrictEqual(['Erreur de séquence de segments : segment ZFT sans FT1 juste avant']);
  });

  it('a ZFT before any FT1 is refused at it', () => {
    const t = dft().replace(/FT1\|1\|/, 'ZFT|0|0|0|0\rFT1|1|');
    expect(places(t)[0]).toStrictEqual(['100', 'ZFT', 1, undefined]);
  });

  it('one error per place: an amount both unreadable and inconsistent is reported once', () => {
    const r = read(dft({ lines: withLine(1, { 4: 'x' }) }));
    expect(r.errors.map((e) => [e.code, e.location?.segment, e.location?.field])).toStrictEqual([['102', 'FT1', 11]]);
  });

  it('totals are compared only once every line reads well', () => {
    const r = read(dft({ lines: withLine(2, { 3: '' }) }));
    expect(r.errors.map((e) => [e.code, e.location?.segment, e.location?.field])).toStrictEqual([['101', 'FT1', 10]]);
    // a total that is not a number
    expect(places(dft({ totals: ['3038.77', 'x', '690.95', '0'] }))).toStrictEqual([['102', 'ZFA', 1, 4]]);
    // a negative total
    expect(places(dft({ totals: ['3038.77', '2347.82', '690.95', '-1'] }))).toContainEqual(['102', 'ZFA', 1, 6]);
  });

  it('without ZFA the lines are still read and checked, without totals', () => {
    const t = dft().replace(/ZFA\|[^\r]*\r/, '');
    expect(places(t)).toStrictEqual([['100', 'ZFA', 1, undefined]]);
    expect(read(t).errors[0].message).toBe('Erreur de séquence de segments : segment ZFA (en-tête de facture) absent');
    expect(places(t.replace('FT1|2|', 'FT1|5|'))).toStrictEqual([
      ['100', 'ZFA', 1, undefined],
      ['102', 'FT1', 2, 1],
      ['102', 'ZFT', 2, 1],
    ]);
  });

  it('no line: one 100 at FT1 naming it', () => {
    const r = read(dft({ lines: [], totals: null }));
    expect(r.errors).toStrictEqual([
      {
        code: '100',
        severity: 'E',
        location: { segment: 'FT1', sequence: 1 },
        message: 'Erreur de séquence de segments : facture sans ligne : aucun segment FT1',
      },
    ]);
  });

  it('an FT1 without ZFT names the line', () => {
    const t = dft()
      .split('\r')
      .filter((s) => !s.startsWith('ZFT|3|'))
      .join('\r');
    expect(read(t).errors).toStrictEqual([
      {
        code: '100',
        severity: 'E',
        location: { segment: 'ZFT', sequence: 3 },
        message: 'Erreur de séquence de segments : segment ZFT absent juste après la ligne FT1 n° 3',
      },
    ]);
  });
});
