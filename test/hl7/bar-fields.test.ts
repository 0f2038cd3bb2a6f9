/**
 * BAR^P05 AMO payment reader (lib/hl7/bar.ts), field by field: the texts the GAP reads in ERR-8,
 * the payment day forms, HL7 nulls, a venue without FINESS géographique, a site profile.
 */
import { parseEr7 } from '../../lib/hl7/er7';
import { readAmoPayment } from '../../lib/hl7/bar';
import { AMO_PAYMENT_HL7, type AmoHl7Profile } from '../../lib/billing/amo';
import { bar } from '../support/bar';

const read = (t: string, profile: AmoHl7Profile = AMO_PAYMENT_HL7) => readAmoPayment(parseEr7(t), profile);

describe('BAR^P05 AMO payment fields', () => {
  it('each refusal names the field and what is expected', () => {
    expect(read(bar({ zfa: { numero: 'FAC 1', amo: '12,5', paidOn: '20250132' } })).errors).toStrictEqual([
      {
        code: '102',
        severity: 'E',
        location: { segment: 'ZFA', sequence: 1, field: 1 },
        message:
          'Erreur de type de donnée : ZFA-1 (numéro de facture) : numéro de facture invalide (1 à 40 caractères A-Z a-z 0-9 . _ / -)',
      },
      {
        code: '102',
        severity: 'E',
        location: { segment: 'ZFA', sequence: 1, field: 4 },
        message: 'Erreur de type de donnée : ZFA-4 (total AMO) : montant attendu en euros ≥ 0, point décimal, deux décimales au plus',
      },
      {
        code: '102',
        severity: 'E',
        location: { segment: 'ZFA', sequence: 1, field: 7 },
        message: 'Erreur de type de donnée : ZFA-7 (AMO payé le) : date invalide, format attendu AAAAMMJJ',
      },
    ]);
    expect(read(bar({ zfa: { numero: '""', amo: '  ', paidOn: '' } })).errors.map((e) => e.message)).toStrictEqual([
      'Champ obligatoire manquant : ZFA-1 (numéro de facture) absent',
      'Champ obligatoire manquant : ZFA-4 (total AMO) absent',
      'Champ obligatoire manquant : ZFA-7 (AMO payé le) absent',
    ]);
    expect(read(bar({ zfa: null })).errors).toStrictEqual([
      {
        code: '100',
        severity: 'E',
        location: { segment: 'ZFA', sequence: 1 },
        message: 'Erreur de séquence de segments : segment ZFA (avis de paiement AMO) absent',
      },
    ]);
  });

  it('the payment day: a real YYYYMMDD, a time after it allowed; leap years counted', () => {
    expect(read(bar({ zfa: { paidOn: '202501221030' } })).payment?.paidAt).toBe('2025-01-22');
    expect(read(bar({ zfa: { paidOn: '20240229' } })).payment?.paidAt).toBe('2024-02-29');
    for (const bad of ['20250229', '2025012', '2025-01-22', '20251301', '20250100', 'x20250122']) {
      expect([bad, read(bar({ zfa: { paidOn: bad } })).errors.map((e) => [e.code, e.location?.field])]).toStrictEqual([bad, [['102', 7]]]);
    }
  });

  it('invoice numbers: up to 40 characters of A-Z a-z 0-9 . _ / -', () => {
    expect(read(bar({ zfa: { numero: 'FAC_2025/000.731-B' } })).errors).toStrictEqual([]);
    expect(read(bar({ zfa: { numero: 'F'.repeat(40) } })).errors).toStrictEqual([]);
    expect(read(bar({ zfa: { numero: 'F'.repeat(41) } })).errors.map((e) => e.code)).toStrictEqual(['102']);
    expect(read(bar({ zfa: { numero: 'FAC-2025-000731é' } })).errors.map((e) => e.code)).toStrictEqual(['102']);
  });

  it('no FINESS géographique for the venue: 101 at PV1-19 saying where it was looked for', () => {
    const t = bar().replace('481516^^^CHU-NORD&590780215&N^PI', '481516^^^CHU-NORD^PI');
    expect(read(t)).toStrictEqual({
      errors: [
        {
          code: '101',
          severity: 'E',
          location: { segment: 'PV1', sequence: 1, field: 19 },
          message:
            'Champ obligatoire manquant : PV1-19 (numéro de venue) : venue ou FINESS géographique introuvable (autorité d’affectation de PID-3, PID-18, PV1-19, PV1-3)',
        },
      ],
    });
  });

  it('a site profile: its own segment and fields', () => {
    const profile = { ...AMO_PAYMENT_HL7, segment: 'ZPA', fields: { factureNumero: 2, montantAmo: 3, datePaiement: 4 } };
    const t = bar({ zfa: null }) + 'ZPA|X|FAC-2025-000731|2347.82|20250122\r';
    expect(read(t, profile)).toStrictEqual({
      payment: { key: '590780215/V/250100421', factureNumero: 'FAC-2025-000731', amoCents: 234782, paidAt: '2025-01-22' },
      errors: [],
    });
    expect(read(bar(), profile).errors.map((e) => e.message)).toStrictEqual([
      'Erreur de séquence de segments : segment ZPA (avis de paiement AMO) absent',
    ]);
    expect(read(bar({ zfa: null }) + 'ZPA|X||2347.82|20250122\r', profile).errors.map((e) => e.message)).toStrictEqual([
      'Champ obligatoire manquant : ZPA-2 absent',
    ]);
  });
});
