/**
 * The ACK context of headers a GAP really sends wrong or short (lib/hl7/ack.ts), from the
 * survivors of its mutation run (issue 12): escape sequences kept as sent under the standard
 * delimiters, a field separator other than `|`, encoding characters too few, too many or
 * alphanumeric, a header cut before MSH-10, padded MSH-15/16, the charset of MSH-18 when the
 * delimiters are unusable, and the application ACK of an enhanced-mode plan keeping our own
 * application and facility.
 */
import { ackContextFromBytes, ackModeOf, planAcks } from '../../lib/hl7/ack';

const ctxOf = (text: string) => ackContextFromBytes(Buffer.from(text, 'latin1'));
const NOW = new Date(2025, 0, 5, 8, 7, 6);

describe('ACK context: delimiters as the GAP declared them', () => {
  it('standard delimiters: an escape sequence in an echoed field is kept as sent', () => {
    // Re-encoding would turn \H\ (highlight on) into nothing: the GAP would not recognise its own name.
    const c = ctxOf('MSH|^~\\&|C\\H\\PAGE|CHU\\E\\NORD|ROC|CHU|20250114093512||ADT^A01|A01-1|P|2.5\r');
    expect(c.sendingApplication).toBe('C\\H\\PAGE');
    expect(c.sendingFacility).toBe('CHU\\E\\NORD');
  });

  it.each([
    ['field separator #', 'MSH#^~\\&#APP|X#FAC^Y#ROC#CHU#20250114093512##ADT^A01#A01-2#P#2.5\r', 'APP\\F\\X', 'FAC^Y'],
    ['component separator $', 'MSH|$~\\&|APP^X|FAC$Y|ROC|CHU|20250114093512||ADT$A01|A01-2|P|2.5\r', 'APP\\S\\X', 'FAC^Y'],
    ['repetition separator @', 'MSH|^@\\&|APP~X|FAC@Y|ROC|CHU|20250114093512||ADT^A01|A01-2|P|2.5\r', 'APP\\R\\X', 'FAC~Y'],
    ['escape character !', 'MSH|^~!&|APP\\X|FAC!F!Y|ROC|CHU|20250114093512||ADT^A01|A01-2|P|2.5\r', 'APP\\E\\X', 'FAC|Y'],
    ['subcomponent separator %', 'MSH|^~\\%|APP&X|FAC%Y|ROC|CHU|20250114093512||ADT^A01|A01-2|P|2.5\r', 'APP\\T\\X', 'FAC&Y'],
  ])('%s: echoed fields are re-encoded into the standard delimiters of the ACK', (_, text, app, fac) => {
    const c = ctxOf(text);
    expect(c.sendingApplication).toBe(app);
    // The sender's own delimiter becomes the standard one, with its meaning kept (escaped when needed).
    expect(
      c.sendingFacility.replace(/\\[FSRET]\\/g, (m) => ({ '\\F\\': '|', '\\S\\': '^', '\\R\\': '~', '\\E\\': '\\', '\\T\\': '&' })[m]!),
    ).toBe(fac);
    expect(c.controlId).toBe('A01-2');
    expect(c.event).toBe('A01');
  });

  it.each([
    ['three encoding characters', '^~\\'],
    ['six encoding characters', '^~\\&#$'],
    ['an alphanumeric encoding character', '^~\\a'],
    ['a blank encoding character', '^~\\ '],
    ['a repeated encoding character', '^~\\^'],
  ])('%s: the delimiters are not trusted, only plain fields are echoed', (_, enc) => {
    const c = ctxOf(`MSH|${enc}|APP&X|CHU-NORD|ROC|CHU|20250114093512||ADT^A01|A01-3|P|2.5||| AL |NE\r`);
    expect(c.sendingApplication).toBe('');
    expect(c.sendingFacility).toBe('CHU-NORD');
    expect(c.controlId).toBe('A01-3');
    expect(c.event).toBe('A01');
    // Components read with the standard ^, trimmed, letters and digits only.
    expect(c.acceptAckType).toBe('AL');
    expect(c.applicationAckType).toBe('NE');
  });

  it('five encoding characters (v2.7 truncation) are delimiters like four', () => {
    const c = ctxOf('MSH|^~\\&#|APP&X|CHU|ROC|CHU|20250114093512||ADT^A01|A01-4|P|2.7\r');
    expect(c.sendingApplication).toBe('APP&X');
    expect(c.version).toBe('2.7');
  });

  it('unusable delimiters: the charset is still read from the first repetition and component of MSH-18', () => {
    const base = 'MSH|^~\\^|APP|CHU|ROC|CHU|20250114093512||ADT^A01|A01-5|P|2.5|||||FRA|';
    expect(ctxOf(`${base}8859/1~UNICODE UTF-8\r`).charset).toBe('latin1');
    expect(ctxOf(`${base}8859/1^x\r`).charset).toBe('latin1');
    expect(ctxOf(`${base}UNICODE UTF-8~8859/1\r`).charset).toBe('utf8');
  });
});

describe('ACK context: short and padded headers', () => {
  it('a header cut after MSH-9: no control id, no echoed field invented', () => {
    expect(ctxOf('MSH|^~\\&|APP|CHU|ROC|CHU|20250114093512||ADT^A01\rPID|1')).toStrictEqual({
      sendingApplication: 'APP',
      sendingFacility: 'CHU',
      receivingApplication: 'ROC',
      receivingFacility: 'CHU',
      event: 'A01',
      charset: 'iso-8859-15',
    });
  });

  it('a header cut after MSH-12: original mode, nothing past the version', () => {
    const c = ctxOf('MSH|^~\\&|APP|CHU|ROC|CHU|20250114093512||ADT^A01|A01-6|P|2.5\r');
    expect(c).toStrictEqual({
      sendingApplication: 'APP',
      sendingFacility: 'CHU',
      receivingApplication: 'ROC',
      receivingFacility: 'CHU',
      controlId: 'A01-6',
      event: 'A01',
      processingId: 'P',
      version: '2.5',
      charset: 'iso-8859-15',
    });
    expect(ackModeOf(c)).toBe('original');
  });

  it('MSH-15 and MSH-16 padded with blanks are read trimmed', () => {
    const c = ctxOf('MSH|^~\\&|APP|CHU|ROC|CHU|20250114093512||ADT^A01|A01-7|P|2.5||| al | er \r');
    expect(c.acceptAckType).toBe('AL');
    expect(c.applicationAckType).toBe('ER');
    expect(ackModeOf(c)).toBe('enhanced');
  });
});

describe('enhanced-mode plan', () => {
  it('the application ACK keeps our application, facility and time; only its control id is new', () => {
    const c = ctxOf('MSH|^~\\&|APP|CHU|||20250114093512||ADT^A01|A01-8|P|2.5|||AL|AL\r');
    const plan = planAcks(c, { commit: 'CA' }, { application: 'ROC-BRIDGE', facility: 'CHU-NORD', now: NOW, controlId: 'C1' });
    expect(plan.commit!.text.split('\r')[0]).toBe(
      'MSH|^~\\&|ROC-BRIDGE|CHU-NORD|APP|CHU|20250105080706||ACK^A01^ACK|C1|P|2.5||||||8859/15',
    );
    const app = plan.application!.text.split('\r')[0].split('|');
    expect(app.slice(2, 7)).toEqual(['ROC-BRIDGE', 'CHU-NORD', 'APP', 'CHU', '20250105080706']);
    expect(app[9]).not.toBe('C1');
    expect(app[9]).toMatch(/^ACK[0-9A-Z]+$/);
  });
});
