/**
 * Two promises of lib/hl7/intake.ts that its mutation run (issue 12) found untested:
 * - a name sent with HL7 hex escapes (`\Xhh\`) is read in the message's own charset: `\XC3A9\`
 *   is é in a UTF-8 message, `\XE9\` is é in an ISO 8859 one (a GAP that cannot send high bytes
 *   escapes them this way);
 * - `receive()` never throws, even when the reading of the raw header itself fails inside its
 *   last-resort handler: the GAP still gets an AE 207 with an empty context, and no exception
 *   text (which could quote patient data) leaks into the issue.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

// The intake's helpers, made to throw on demand (see the fault tests below).
const faults = { parse: false, context: false };
jest.mock('../../lib/hl7/ack', () => {
  const actual = jest.requireActual('../../lib/hl7/ack');
  return {
    ...actual,
    ackContextFromBytes: (...a: unknown[]) => {
      if (faults.context) throw new TypeError('LEFÈVRE-BŒUF 285075935012324');
      return actual.ackContextFromBytes(...a);
    },
  };
});
jest.mock('../../lib/hl7/er7', () => {
  const actual = jest.requireActual('../../lib/hl7/er7');
  return {
    ...actual,
    parseEr7: (...a: unknown[]) => {
      if (faults.parse) throw new RangeError('LEFÈVRE-BŒUF 285075935012324');
      return actual.parseEr7(...a);
    },
  };
});

import { receive } from '../../lib/hl7/intake';

const A01 = readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7')).toString('utf8');

afterEach(() => {
  faults.parse = false;
  faults.context = false;
});

describe('hex escapes in names', () => {
  it('UTF-8 message: \\XC3A9\\ is é', () => {
    const text = A01.replace('LEFÈVRE-BŒUF^Hélène', 'LEF\\XC388\\VRE-B\\XC592\\UF^H\\XC3A9\\l\\XC3A8\\ne');
    const r = receive(Buffer.from(text, 'utf8'));
    expect(r.ackCode).toBe('AA');
    expect(r.admission?.patient.nom).toBe('LEFÈVRE-BŒUF');
    expect(r.admission?.patient.prenom).toBe('Hélène');
  });

  it.each([
    ['8859/1', 'latin1'],
    ['8859/15', 'iso-8859-15'],
  ])('MSH-18 %s: \\XE9\\ is é', (msh18, encoding) => {
    const text = A01.replace('|UNICODE UTF-8|', `|${msh18}|`)
      .replace('LEFÈVRE-BŒUF^Hélène', 'LEF\\XC8\\VRE^H\\XE9\\l\\XE8\\ne')
      .replace(/Œ/g, 'OE');
    const r = receive(Buffer.from(text, 'latin1'));
    expect(r.ackCode).toBe('AA');
    expect(r.charset).toBe(encoding);
    expect(r.admission?.patient.nom).toBe('LEFÈVRE');
    expect(r.admission?.patient.prenom).toBe('Hélène');
  });
  it('UTF-8 message: hex bytes that are not UTF-8 are kept as sent, not replaced by U+FFFD', () => {
    const text = A01.replace('LEFÈVRE-BŒUF^Hélène', 'LEF\\XC8\\VRE^H\\XE9\\l\\XC3A8\\ne');
    const r = receive(Buffer.from(text, 'utf8'));
    expect(r.ackCode).toBe('AA');
    expect(r.admission?.patient.nom).toBe('LEF\\XC8\\VRE');
    expect(r.admission?.patient.prenom).toBe('H\\XE9\\lène');
  });

  it('MSH-18 8859/1: hex bytes that would also read as UTF-8 are still read in the declared charset', () => {
    // No guessing: \XC3A9\ in an ISO 8859-1 message is the two characters Ã and ©, as sent.
    const text = A01.replace('|UNICODE UTF-8|', '|8859/1|').replace('LEFÈVRE-BŒUF^Hélène', 'LEFEVRE^H\\XC3A9\\LENE');
    const r = receive(Buffer.from(text, 'latin1'));
    expect(r.ackCode).toBe('AA');
    expect(r.admission?.patient.prenom).toBe('HÃ©LENE');
  });
});

describe('receive() never throws', () => {
  it('an unexpected parser failure: AE 207 with the header read from the raw bytes, no exception text', () => {
    faults.parse = true;
    const r = receive(Buffer.from(A01, 'utf8'));
    expect(r).toMatchObject({ ackCode: 'AE', meaning: 'IGNORE', ignored: false, charset: 'utf8' });
    expect(r.context.controlId).toBe('A01-UTF8-0001');
    expect(r.issues).toStrictEqual([
      { code: '207', severity: 'E', message: 'Erreur interne de l’application : le message n’a pas pu être traité' },
    ]);
  });

  it('the raw header reading failing too: AE 207 with an empty context in the charset already chosen', () => {
    faults.parse = true;
    faults.context = true;
    const r = receive(Buffer.from(A01, 'utf8'));
    expect(r).toStrictEqual({
      context: { sendingApplication: '', sendingFacility: '', receivingApplication: '', receivingFacility: '', charset: 'utf8' },
      charset: 'utf8',
      ackCode: 'AE',
      issues: [{ code: '207', severity: 'E', message: 'Erreur interne de l’application : le message n’a pas pu être traité' }],
      meaning: 'IGNORE',
      ignored: false,
    });
    expect(JSON.stringify(r)).not.toMatch(/LEF|2850759/);
  });
});
