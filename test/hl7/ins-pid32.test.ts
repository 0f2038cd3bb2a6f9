/**
 * The INS rule of PAM-FR: the INS carried in PID-3 may be used only when the identity status
 * (PID-32) is VALI (identité qualifiée). Over EVERY value of the PAM-FR identity-status table
 * (VIDE, PROV, VALI, DOUTE, FICTI), the empty field, an unknown code and the older QUAL.
 * Without a billing NIR (PID-3 type NH), the ROC beneficiary then comes from the INS only for VALI.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { receive } from '../../lib/hl7/intake';
import { admissionToDossier } from '../../lib/hl7/pamfr';

const A01 = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
const INS_NIR = '285075935012324';
const INS_NIA = '185075935099901';

/** The A01 with PID-32 set and PID-3 = IPP + INS(s) (+ the billing NIR when asked). */
function a01(pid32: string, o: { nh?: boolean; nia?: boolean } = {}): string {
  const pid3 = [
    '481516^^^CHU-NORD&590780215&N^PI',
    ...(o.nia ? [`${INS_NIA}^^^ASIP-SANTE-INS-NIA&1.2.250.1.213.1.4.9&ISO^INS`] : []),
    `${INS_NIR}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS^^20150312`,
    ...(o.nh ? [`${INS_NIR}^^^CPAM&1.2.250.1.213.1.4.1&ISO^NH`] : []),
  ].join('~');
  return A01.replace(/^PID\|1\|\|[^|]*\|/m, `PID|1||${pid3}|`).replace(/\|VALI(\r?\n|\r)/, `|${pid32}$1`);
}

function read(text: string) {
  const intake = receive(Buffer.from(text, 'utf8'));
  expect(intake.ackCode).not.toBe('AR');
  return intake.admission!;
}

/** The PAM-FR identity-status table (PID-32), plus the empty field, an older and an unknown code. */
const PID32 = ['VIDE', 'PROV', 'VALI', 'DOUTE', 'FICTI', '', 'QUAL', 'INCONNU'];

describe('INS used only when PID-32 = VALI', () => {
  it('the fixture really carries PID-32 = VALI (the replacement below is not a no-op)', () => {
    expect(A01).toMatch(/\|VALI(\r?\n|\r)/);
    expect(read(a01('PROV')).patient.identityStatus).toBe('PROV');
  });

  it.each(PID32)('PID-32 = %j', (status) => {
    const a = read(a01(status));
    if (status) expect(a.patient.identityStatus).toBe(status);
    const d = admissionToDossier(a);
    if (status === 'VALI') {
      expect(a.patient.ins).toMatchObject({ value: INS_NIR, nature: 'INS-NIR' });
      // no billing NIR: the beneficiary is identified by the qualified INS
      expect(d.beneficiaire).toMatchObject({ nir: INS_NIR.slice(0, 13), cleNir: INS_NIR.slice(13) });
    } else {
      expect(a.patient.ins).toBeUndefined();
      expect(d.beneficiaire).toBeUndefined();
      // the identifier is still listed, as received, but not as an INS to use
      expect(a.patient.identifiers.map((i) => i.value)).toContain(INS_NIR);
    }
  });

  it.each(PID32)('PID-32 = %j with a billing NIR (NH): the beneficiary comes from the NH whatever the status', (status) => {
    const a = read(a01(status, { nh: true }));
    expect(a.patient.ins === undefined).toBe(status !== 'VALI');
    expect(admissionToDossier(a).beneficiaire).toMatchObject({ nir: INS_NIR.slice(0, 13) });
  });

  it('VALI with INS-NIA listed first: the NIR-based INS is preferred', () => {
    const a = read(a01('VALI', { nia: true }));
    expect(a.patient.ins).toMatchObject({ value: INS_NIR, nature: 'INS-NIR' });
  });

  it('property: for any PID-32 code, the INS is there if and only if the code is VALI', () => {
    const code = fc.oneof(fc.constantFrom(...PID32), fc.stringMatching(/^[A-Z]{1,6}$/));
    fc.assert(
      fc.property(code, fc.boolean(), (status, nia) => {
        const a = read(a01(status, { nia }));
        expect(a.patient.ins !== undefined).toBe(status === 'VALI');
      }),
      { seed: 3212, numRuns: 200 },
    );
  });
});
