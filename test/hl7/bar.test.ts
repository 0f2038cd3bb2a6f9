/**
 * BAR^P05, the GAP's AMO payment notice (docs/amo-payments.md): the HL7 intake answers AA with
 * meaning AMO_PAYMENT and the payment on the admission; a malformed one is AE with ERR naming the
 * ZFA field; another BAR trigger is AR 200. Errors never quote a value.
 */
import { receive } from '../../lib/hl7/intake';
import { readAmoPaymentHl7 } from '../../lib/billing/amo';
import { SUPPORTED_MESSAGE_TYPES } from '../../lib/hl7/profile';
import { bar } from '../support/bar';

const intake = (text: string) => receive(Buffer.from(text, 'utf8'));

describe('BAR^P05 AMO payment notice at the HL7 intake', () => {
  it('is accepted AA, meaning AMO_PAYMENT, with the payment the billing reader reads too', () => {
    expect(SUPPORTED_MESSAGE_TYPES).toContain('BAR');
    const r = intake(bar());
    expect(r.ackCode).toBe('AA');
    expect(r.issues).toEqual([]);
    expect(r.meaning).toBe('AMO_PAYMENT');
    expect(r.ignored).toBe(false);
    expect(r.admission).toMatchObject({ messageType: 'BAR', event: 'P05', orderingKey: 'PV1-19:250100421' });
    expect(r.admission!.amoPayment).toEqual({
      key: '590780215/V/250100421',
      factureNumero: 'FAC-2025-000731',
      amoCents: 234782,
      paidAt: '2025-01-22',
    });
    const billing = readAmoPaymentHl7(bar());
    expect(billing).toEqual({ ok: true, value: r.admission!.amoPayment });
  });

  it.each([
    ['ZFA-4 not euros', { amo: '2347,82' }, '102', 'ZFA-4'],
    ['ZFA-4 three decimals', { amo: '2347.821' }, '102', 'ZFA-4'],
    ['ZFA-4 empty', { amo: '' }, '101', 'ZFA-4'],
    ['ZFA-1 empty', { numero: '' }, '101', 'ZFA-1'],
    ['ZFA-1 with a blank', { numero: 'FAC 2025' }, '102', 'ZFA-1'],
    ['ZFA-7 not a real day', { paidOn: '20250231' }, '102', 'ZFA-7'],
    ['ZFA-7 empty', { paidOn: '' }, '101', 'ZFA-7'],
  ])('%s (%j) → AE %s at %s, naming the field, never the value', (_what, zfa, code, where) => {
    const r = intake(bar({ zfa }));
    expect(r.ackCode).toBe('AE');
    expect(r.meaning).toBe('AMO_PAYMENT');
    expect(r.issues).toHaveLength(1);
    const [i] = r.issues;
    expect(i.code).toBe(code);
    expect(i.severity).toBe('E');
    expect(`${i.location!.segment}-${i.location!.field}`).toBe(where);
    expect(i.message).toContain(where);
    for (const v of Object.values(zfa)) if (v) expect(i.message).not.toContain(v);
    expect(r.admission?.amoPayment).toBeUndefined();
  });

  it('without its ZFA → AE 100 at ZFA', () => {
    const r = intake(bar({ zfa: null }));
    expect(r.ackCode).toBe('AE');
    expect(r.issues.map((i) => [i.code, i.location?.segment])).toEqual([['100', 'ZFA']]);
  });

  it('without a venue → AE 101 at PV1-19 (the payment names its dossier by the venue)', () => {
    const r = intake(bar({ venue: '' }));
    expect(r.ackCode).toBe('AE');
    expect(r.issues.map((i) => [i.code, `${i.location?.segment}-${i.location?.field}`])).toEqual([['101', 'PV1-19']]);
  });

  it('another BAR trigger (P01) → AR 200 at MSH-9.2', () => {
    const r = intake(bar({ event: 'P01' }));
    expect(r.ackCode).toBe('AR');
    expect(r.issues.map((i) => [i.code, `${i.location?.segment}-${i.location?.field}`])).toEqual([['200', 'MSH-9']]);
    expect(r.issues[0].message).toContain('BAR^P05');
  });
});
