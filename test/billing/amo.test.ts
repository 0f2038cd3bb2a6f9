/**
 * AMO payment notices (lib/billing/amo.ts): the JSON of POST /roc/amo-payment and the HL7 BAR^P05
 * ([profile] ZFA-1 invoice, ZFA-4 AMO amount, ZFA-7 "AMO payé le"), property-based on the JSON.
 */
import fc from 'fast-check';
import { AMO_PAYMENT_HL7, eurosToCents, readAmoPaymentHl7, readAmoPaymentJson } from '../../lib/billing/amo';
import { dossierKey } from '../../lib/dossier/dossier';
import { parseEr7 } from '../../lib/hl7/er7';
import { parseAdmission } from '../../lib/hl7/pamfr';

const BAR = (zfa = 'ZFA|FAC-2025-000731|20250118|3038.77|2347.82|690.95|0|20250125', type = 'BAR^P05^BAR_P05') =>
  [
    `MSH|^~\\&|CPAGE|CHU-NORD|ROC-BRIDGE|CHU-NORD|20250125101500||${type}|BAR-0001|P|2.5|||||FRA|UNICODE UTF-8`,
    'EVN|P05|20250125101500',
    'PID|1||481516^^^CHU-NORD&590780215&N^PI||DUPONT^Jeanne||19850714|F',
    'PV1|1|I|4410^204^1^CHU-NORD&590780193&M||||||||||||||||250100421^^^CHU-NORD&590780193&M^VN',
    zfa,
  ].join('\r') + '\r';

describe('JSON notice', () => {
  it('reads cle or FINESS + venue, euros to cents, the payment day', () => {
    expect(
      readAmoPaymentJson({
        cle: '590780215/V/250100421',
        factureNumero: 'FAC-2025-000731',
        montantAmo: 2347.82,
        datePaiement: '2025-01-25',
      }),
    ).toEqual({
      ok: true,
      value: { key: '590780215/V/250100421', factureNumero: 'FAC-2025-000731', amoCents: 234_782, paidAt: '2025-01-25' },
    });
    expect(
      readAmoPaymentJson({
        finessGeographique: '590780215',
        numeroVenue: '250100421',
        factureNumero: 'F1',
        montantAmo: '0.1',
        datePaiement: '2025-01-25',
      }),
    ).toMatchObject({ ok: true, value: { key: '590780215/V/250100421', amoCents: 10 } });
  });

  it('refuses each bad field with a reason that quotes no value', () => {
    const r = readAmoPaymentJson({ cle: 'x', factureNumero: '', montantAmo: 12.345, datePaiement: '2025-02-30' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toHaveLength(4);
      expect(r.errors.join(' ')).not.toContain('12.345');
    }
    expect(
      readAmoPaymentJson({
        finessGeographique: '59078021',
        numeroVenue: '1',
        factureNumero: 'F',
        montantAmo: -1,
        datePaiement: '2025-01-01',
      }).ok,
    ).toBe(false);
    expect(readAmoPaymentJson([]).ok).toBe(false);
    expect(readAmoPaymentJson(null).ok).toBe(false);
  });

  it('property: any valid notice is read back exactly; any amount with more than 2 decimals or negative is refused', () => {
    const day = fc
      .date({ min: new Date('2020-01-01'), max: new Date('2030-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
    fc.assert(
      fc.property(
        fc.stringMatching(/^\d{9}$/),
        fc.stringMatching(/^[A-Za-z0-9]{1,20}$/),
        fc.stringMatching(/^[A-Z0-9-]{1,30}$/),
        fc.integer({ min: 0, max: 99_999_999 }),
        day,
        (finess, venue, numero, cents, paidAt) => {
          const r = readAmoPaymentJson({
            finessGeographique: finess,
            numeroVenue: venue,
            factureNumero: numero,
            montantAmo: cents / 100,
            datePaiement: paidAt,
          });
          expect(r).toEqual({ ok: true, value: { key: `${finess}/V/${venue}`, factureNumero: numero, amoCents: cents, paidAt } });
        },
      ),
      { seed: 20261206, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        const r = readAmoPaymentJson(junk);
        // never throws; junk is never a payment unless it is a well-formed notice
        if (r.ok) expect(r.value.amoCents).toBeGreaterThanOrEqual(0);
      }),
      { seed: 7, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (x) => {
        const c = eurosToCents(x);
        if (x < 0 || Math.abs(Math.round(x * 100) - x * 100) > 1e-6) expect(c).toBeUndefined();
        else expect(c).toBe(Math.round(x * 100));
      }),
      { seed: 11, numRuns: 1000 },
    );
  });
});

describe('HL7 notice [profile]', () => {
  it('BAR^P05 with ZFA-1, ZFA-4, ZFA-7 → the payment, keyed like the ADT (FINESS géographique of PID-3 + PV1-19)', () => {
    expect(readAmoPaymentHl7(BAR())).toEqual({
      ok: true,
      value: { key: '590780215/V/250100421', factureNumero: 'FAC-2025-000731', amoCents: 234_782, paidAt: '2025-01-25' },
    });
    expect(AMO_PAYMENT_HL7.messages).toContain('BAR^P05');
    expect(readAmoPaymentHl7(BAR(undefined, 'DFT^P03^DFT_P03')).ok).toBe(true);
  });

  it('refuses another message, a missing ZFA-7, a bad amount; no patient data in the reasons', () => {
    const other = readAmoPaymentHl7(BAR(undefined, 'ADT^A08^ADT_A01'));
    expect(other).toMatchObject({ ok: false });
    const r = readAmoPaymentHl7(BAR('ZFA|FAC-2025-000731|20250118|3038.77|23,47|690.95|0|'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toHaveLength(2);
      expect(r.errors.join(' ')).not.toMatch(/DUPONT|19850714/);
    }
    expect(readAmoPaymentHl7('not hl7').ok).toBe(false);
  });
});

describe('HL7 notice: the payment finds the dossier its admission was given', () => {
  // A multi-site hospital: the IPP (PID-3) assigned by one site, the venue (PV1-19) by another.
  // The payment must carry the key the ADT reader gave the dossier (lib/dossier dossierKey), or
  // it is recorded against a dossier that does not exist.
  const authority = fc.option(
    fc.record({
      finess: fc.constantFrom('590780215', '590781111', '2A0000048', '2B0000012', '750100125'),
      type: fc.constantFrom('N', 'M'),
    }),
    { nil: undefined },
  );
  const hd = (a: { finess: string; type: string } | undefined) => (a ? `CHU-NORD&${a.finess}&${a.type}` : 'CHU-NORD');
  it('same key as the admission read by the ADT reader, wherever the FINESS géographique is (fast-check)', () => {
    fc.assert(
      fc.property(authority, authority, authority, authority, authority, (ipp, ins, nda, venue, location) => {
        const text = BAR().replace(
          /PID\|.*\rPV1\|.*\r/,
          [
            `PID|1||481516^^^${hd(ipp)}^PI~285075935012324^^^${hd(ins)}^NH||DUPONT^Jeanne||19850714|F||||||||||25010042^^^${hd(nda)}^AN`,
            `PV1|1|I|4410^204^1^${hd(location)}||||||||||||||||250100421^^^${hd(venue)}^VN`,
          ].join('\r') + '\r',
        );
        const admission = parseAdmission(parseEr7(text)).admission!;
        const payment = readAmoPaymentHl7(text);
        if (admission.finess.geographique === undefined) expect(payment.ok).toBe(false);
        else expect(payment).toMatchObject({ ok: true, value: { key: dossierKey(admission)!.key } });
      }),
      { seed: 1206, numRuns: 300 },
    );
  });

  it('PID-3 and PV1-19 with two sites: the key of the IPP’s site, as the admission’s', () => {
    const text = BAR().replace('250100421^^^CHU-NORD&590780193&M^VN', '250100421^^^CHU-NORD&590781111&N^VN');
    expect(readAmoPaymentHl7(text)).toMatchObject({ ok: true, value: { key: '590780215/V/250100421' } });
    expect(dossierKey(parseAdmission(parseEr7(text)).admission!)!.key).toBe('590780215/V/250100421');
  });
});
