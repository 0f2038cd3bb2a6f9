/**
 * The AMC miroir refuses absurd invoices (KO 6000, nothing engaged) as a real AMC would, instead of
 * computing and engaging them: the bridge's own validation refuses them first, but a test run
 * against the simulator must not show 3.45 trillion euros engaged if that validation is bypassed.
 */
import { AMC_LIMITS, lineProblem, type LineInput } from '../../simulator/engine';

const GHS: LineInput = { numero: 1, code: 'GHS', quantite: 1, prixUnitaire: 3452.4, baseAmo: 3452.4, tauxAmo: 80, montantAmo: 2761.92 };

describe('AMC miroir: absurd lines are refused, not engaged', () => {
  test('a quantity of 1e9 (GHS × 3 452,40 € = 3.45 trillion euros) is refused', () => {
    expect(lineProblem({ ...GHS, quantite: 1e9 })).toBe('ligne 1 : quantité au-delà de 9999');
  });

  test('amounts beyond 1,000,000 €, a line total beyond 10,000,000 €, or not numbers are refused', () => {
    expect(lineProblem({ ...GHS, prixUnitaire: 3e12, baseAmo: 0 })).toBe('ligne 1 : montant au-delà de 1000000 €');
    expect(lineProblem({ ...GHS, quantite: 9999, prixUnitaire: 999_999 })).toBe('ligne 1 : total de la ligne au-delà de 10000000 €');
    expect(lineProblem({ ...GHS, montantAmo: Number.NaN })).toBe('ligne 1 : montant AMO non numérique');
    expect(lineProblem({ ...GHS, prixUnitaire: '12' as unknown as number })).toBe('ligne 1 : prix unitaire non numérique');
    expect(lineProblem({ ...GHS, quantite: AMC_LIMITS.quantiteMax, prixUnitaire: 1000 })).toBeNull();
  });
});
