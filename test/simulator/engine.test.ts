/**
 * The amount engine of the AMC miroir, on realistic hospital lines (euros in, cents inside).
 */
import { computeInvoice, computeLine, lineProblem, toCents, type LineInput, type Rule } from '../../simulator/engine';

const GHS: LineInput = { numero: 1, code: 'GHS', quantite: 1, prixUnitaire: 3452.4, baseAmo: 3452.4, tauxAmo: 80, montantAmo: 2761.92 };
const FJ: LineInput = { numero: 2, code: 'FJ', quantite: 5, prixUnitaire: 20, baseAmo: 0, tauxAmo: 0, montantAmo: 0 };
const CP: LineInput = { numero: 3, code: 'CP', quantite: 4, prixUnitaire: 75, baseAmo: 0, tauxAmo: 0, montantAmo: 0 };
const ACE: LineInput = { numero: 4, code: 'ACE', quantite: 1, prixUnitaire: 60, baseAmo: 30, tauxAmo: 70, montantAmo: 21 };

describe('rule modes', () => {
  test('TM 100 %: GHS 3 452,40 € at AMO 80 % leaves a TM of 690,48 € paid in full', () => {
    expect(computeLine({ mode: 'TM', taux: 100 }, GHS)).toEqual({
      numero: 1,
      code: 'GHS',
      totalCents: 345240,
      amoCents: 276192,
      amcCents: 69048,
      patientCents: 0,
    });
  });

  test('TM 50 %: half of the TM, the patient pays the other half', () => {
    const r = computeLine({ mode: 'TM', taux: 50 }, GHS);
    expect([r.amcCents, r.patientCents]).toEqual([34524, 34524]);
  });

  test('TM on a line with an extra fee above the base: the extra stays with the patient', () => {
    const r = computeLine({ mode: 'TM', taux: 100 }, ACE);
    expect([r.amcCents, r.patientCents]).toEqual([900, 3000]);
  });

  test('BASE 150 % including AMO on a 60 € visit (base 30 €, AMO 21 €): 45 − 21 = 24 €', () => {
    const r = computeLine({ mode: 'BASE', taux: 150, incluantAmo: true }, ACE);
    expect([r.amcCents, r.patientCents]).toEqual([2400, 1500]);
  });

  test('BASE 200 % without deducting the AMO is capped to what is left after the AMO', () => {
    const r = computeLine({ mode: 'BASE', taux: 200 }, ACE);
    expect([r.amcCents, r.patientCents]).toEqual([3900, 0]);
  });

  test('FORFAIT: forfait journalier 20 €/day × 5 days = 100 €; a 10 €/day contract leaves 50 € to the patient', () => {
    expect(computeLine({ mode: 'FORFAIT', montantJourCents: 2000 }, FJ).amcCents).toBe(10000);
    const half = computeLine({ mode: 'FORFAIT', montantJourCents: 1000 }, FJ);
    expect([half.amcCents, half.patientCents]).toEqual([5000, 5000]);
  });

  test('FORFAIT never pays more than the line: 25 €/day on a 20 € FJ pays 20 €', () => {
    expect(computeLine({ mode: 'FORFAIT', montantJourCents: 2500 }, FJ).amcCents).toBe(10000);
  });

  test('PLAFOND_JOUR: private room 75 €/day with a 45 € ceiling → 4 × 45 = 180 €, patient 120 €', () => {
    const r = computeLine({ mode: 'PLAFOND_JOUR', plafondJourCents: 4500 }, CP);
    expect([r.totalCents, r.amcCents, r.patientCents]).toEqual([30000, 18000, 12000]);
  });

  test('PLAFOND_JOUR above the price pays the price', () => {
    expect(computeLine({ mode: 'PLAFOND_JOUR', plafondJourCents: 9000 }, CP).amcCents).toBe(30000);
  });

  test('NON_COUVERT and a code without a rule: nothing', () => {
    expect(computeLine({ mode: 'NON_COUVERT' }, CP).amcCents).toBe(0);
    expect(computeLine(undefined, CP)).toMatchObject({ amcCents: 0, patientCents: 30000 });
  });

  test('cents stay exact where floats would drift (0,10 € × 3)', () => {
    expect(
      computeLine(
        { mode: 'TM', taux: 100 },
        { numero: 1, code: 'ACE', quantite: 3, prixUnitaire: 0.1, baseAmo: 0.3, tauxAmo: 0, montantAmo: 0 },
      ).amcCents,
    ).toBe(30);
    expect(toCents(0.1 + 0.2)).toBe(30);
  });
});

describe('invoice totals', () => {
  const rules: Record<string, Rule> = {
    GHS: { mode: 'TM', taux: 100 },
    FJ: { mode: 'FORFAIT', montantJourCents: 2000 },
    CP: { mode: 'PLAFOND_JOUR', plafondJourCents: 6000 },
  };

  test('a 4-night stay: totals add up and the reste à charge is what neither insurer pays', () => {
    const r = computeInvoice(rules, [GHS, FJ, CP]);
    expect(r.totalFactureCents).toBe(345240 + 10000 + 30000);
    expect(r.totalAmoCents).toBe(276192);
    expect(r.totalAmcCents).toBe(69048 + 10000 + 24000);
    expect(r.resteAChargeCents).toBe(6000);
    expect(r.lignes.map((l) => l.patientCents)).toEqual([0, 0, 6000]);
  });

  test('lines excluded by the caller (outside the rights) are computed as not covered', () => {
    const r = computeInvoice(rules, [GHS, FJ], (l) => l.code !== 'FJ');
    expect(r.lignes.map((l) => l.amcCents)).toEqual([69048, 0]);
  });
});

describe('line checks', () => {
  test('unknown code, zero quantity, negative amounts, AMO rate out of range are named with the line number', () => {
    const codes = ['GHS', 'FJ'];
    expect(lineProblem({ ...GHS, code: 'ZZZ' }, codes)).toBe('ligne 1 : code prestation « ZZZ » inconnu');
    expect(lineProblem({ ...FJ, quantite: 0 }, codes)).toBe('ligne 2 : quantité nulle ou négative');
    expect(lineProblem({ ...FJ, prixUnitaire: -20 }, codes)).toBe('ligne 2 : prix unitaire négatif');
    expect(lineProblem({ ...GHS, montantAmo: -1 }, codes)).toBe('ligne 1 : montant AMO négatif');
    expect(lineProblem({ ...GHS, tauxAmo: 180 }, codes)).toBe('ligne 1 : taux AMO hors de 0 à 100');
    expect(lineProblem(GHS, codes)).toBeNull();
  });
});
