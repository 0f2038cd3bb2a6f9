/**
 * The ACK's header and ERR segments, field by field: what the GAP reads back when it matches our
 * answer to its message (MSA-2, swapped applications, echoed MSH-11/12/17/18/19, trigger event),
 * with the tolerant reading of a half-broken MSH, ERR-2 locations, the acknowledgement plans of
 * both modes and the control ids. Complements ack.test.ts (whole messages through intake).
 */
import {
  ackContextFromBytes,
  ackModeOf,
  buildAck,
  errSegment,
  formatErl,
  hl7Timestamp,
  newControlId,
  planAcks,
  shouldSendAck,
  type AckContext,
} from '../../lib/hl7/ack';
import { parseEr7 } from '../../lib/hl7/er7';
import { ackContextFromMessage } from '../../lib/hl7/ack';

const NOW = new Date(2025, 0, 5, 8, 7, 6);
const MSH = 'MSH|^~\\&|CPAGE|CHU-NORD|ROC-BRIDGE|CHU-NORD|20250114093512||ADT^A01^ADT_A01|A01-0001|P|2.5^FRA^2.11|||||FRA|8859/15|FR';
const ctxOf = (text: string, charset?: Parameters<typeof ackContextFromBytes>[1]) =>
  ackContextFromBytes(Buffer.from(text, 'latin1'), charset);
const fields = (text: string, seg = 0) => text.split('\r')[seg].split('|');

describe('ACK context read from the raw MSH', () => {
  it('takes every echoed field of a well-formed header', () => {
    expect(ctxOf(`${MSH}||\rPID|1`)).toStrictEqual({
      controlId: 'A01-0001',
      sendingApplication: 'CPAGE',
      sendingFacility: 'CHU-NORD',
      receivingApplication: 'ROC-BRIDGE',
      receivingFacility: 'CHU-NORD',
      event: 'A01',
      processingId: 'P',
      version: '2.5^FRA^2.11',
      country: 'FRA',
      charsetField: '8859/15',
      language: 'FR',
      charset: 'iso-8859-15',
    });
  });

  it('the same context from the parsed message', () => {
    const m = parseEr7(`${MSH}\rPID|1`);
    const { charset, ...rest } = ackContextFromMessage(m, 'utf8');
    expect(charset).toBe('utf8');
    const { charset: _c, ...fromBytes } = ctxOf(`${MSH}\rPID|1`);
    expect(rest).toStrictEqual(fromBytes);
  });

  it('MSH-18 chooses the ACK charset: its first repetition and component, unless the listener imposes one', () => {
    expect(ctxOf(MSH.replace('8859/15', 'UNICODE UTF-8~8859/15')).charset).toBe('utf8');
    expect(ctxOf(MSH.replace('8859/15', 'UNICODE UTF-8^x')).charset).toBe('utf8');
    expect(ctxOf(MSH.replace('8859/15', '8859/1')).charset).toBe('latin1');
    expect(ctxOf(MSH.replace('8859/15', 'EBCDIC')).charset).toBe('iso-8859-15');
    expect(ctxOf(MSH.replace('8859/15', 'EBCDIC'), 'utf8').charset).toBe('utf8');
    expect(ctxOf(MSH, 'windows-1252').charset).toBe('windows-1252');
    expect(ctxOf(MSH.replace('|8859/15|FR', '')).charset).toBe('iso-8859-15');
    // with its own delimiters, the message's repetition and component separators are used
    const odd = 'MSH#*@!$#GAM#CHU#BRIDGE#CHU#20250101##ADT*A01#ID1#P#2.5######UNICODE UTF-8@8859/1';
    expect(ctxOf(odd).charset).toBe('utf8');
    expect(ctxOf(odd.replace('UNICODE UTF-8@8859/1', '8859/1*UTF-8')).charset).toBe('latin1');
  });

  it('without MSH, or with a letter, digit or blank as field separator: an empty context', () => {
    const empty = { sendingApplication: '', sendingFacility: '', receivingApplication: '', receivingFacility: '', charset: 'iso-8859-15' };
    expect(ctxOf('PID|1||481516')).toStrictEqual(empty);
    expect(ctxOf('MSHX^~\\&XCPAGEX')).toStrictEqual(empty);
    expect(ctxOf('MSH1^~\\&1CPAGE1')).toStrictEqual(empty);
    expect(ctxOf('MSH ^~\\& CPAGE ')).toStrictEqual(empty);
    expect(ctxOf('PID|1', 'utf8')).toStrictEqual({ ...empty, charset: 'utf8' });
  });

  it('a header with unusable encoding characters: plain fields only, MSH-10 as sent, the event from MSH-9.2', () => {
    for (const enc of ['^~\\', '^~\\&#!', '^^\\&', '^~a&', '^~ &']) {
      const c = ctxOf(`MSH|${enc}|CPAGE|CHU-NORD|ROC-BRIDGE|CHU NORD|20250114||ADT^a01^ADT_A01| A01-0001 |P|2.5|||al|er|FRA||FR`);
      expect([enc, c]).toStrictEqual([
        enc,
        {
          controlId: 'A01-0001',
          sendingApplication: 'CPAGE',
          sendingFacility: 'CHU-NORD',
          receivingApplication: 'ROC-BRIDGE',
          receivingFacility: 'CHU NORD',
          event: 'A01',
          processingId: 'P',
          version: '2.5',
          acceptAckType: 'AL',
          applicationAckType: 'ER',
          country: 'FRA',
          language: 'FR',
          charset: 'iso-8859-15',
        },
      ]);
    }
    // anything that could be a delimiter of the real message is not echoed
    const c = ctxOf('MSH|^^\\&|C&PAGE|CHU^NORD|ROC~BRIDGE|CHU\\NORD|20250114||ADT^A!1|ID\\F\\1|P|2.5|||A L|E^R');
    expect(c).toMatchObject({
      sendingApplication: '',
      sendingFacility: '',
      receivingApplication: '',
      receivingFacility: '',
      controlId: 'ID\\F\\1',
    });
    expect(c).not.toHaveProperty('event');
    expect(c).not.toHaveProperty('acceptAckType');
    expect(c.applicationAckType).toBe('E');
  });

  it('re-encodes every level of a header written with other delimiters', () => {
    const c = ctxOf('MSH#*@!$#GAM*X^Y#CHU$1.2.3$ISO#BRIDGE@BIS#CHU#20250101##ADT*a01#ID!F!1#P#2.5###al*x#su');
    expect(c).toMatchObject({
      sendingApplication: 'GAM^X\\S\\Y',
      sendingFacility: 'CHU&1.2.3&ISO',
      receivingApplication: 'BRIDGE~BIS',
      controlId: 'ID#1',
      event: 'A01',
      acceptAckType: 'AL',
      applicationAckType: 'SU',
    });
  });

  it('re-encodes when any one delimiter differs from the standard ones', () => {
    const app = (enc: string, value: string) =>
      ctxOf(`MSH|${enc}|${value}|CHU-NORD|ROC-BRIDGE|CHU-NORD|20250114||ADT^A01|1|P|2.5`).sendingApplication;
    expect(app('*~\\&', 'CPAGE*V2^X')).toBe('CPAGE^V2\\S\\X');
    expect(app('^@\\&', 'CPAGE@V2~X')).toBe('CPAGE~V2\\R\\X');
    expect(app('^~!&', 'CPAGE!F!V2\\')).toBe('CPAGE\\F\\V2\\E\\');
    expect(app('^~\\$', 'CPAGE$V2&X')).toBe('CPAGE&V2\\T\\X');
    // a field separator of its own: the fields hold no separator, the rest is already standard
    expect(ctxOf('MSH#^~\\&#CPAGE^V2#CHU-NORD#ROC-BRIDGE#CHU-NORD#20250114##ADT^A01#1#P#2.5').sendingApplication).toBe('CPAGE^V2');
  });

  it('an event that is not three letters or digits is not echoed; an empty MSH-10 gives no control id', () => {
    for (const ev of ['A1', 'A011', 'A-1', '']) {
      const c = ctxOf(MSH.replace('ADT^A01^ADT_A01', `ADT^${ev}`).replace('|A01-0001|', '|  |'));
      expect([ev, c.event, c.controlId]).toStrictEqual([ev, undefined, undefined]);
    }
    expect(ctxOf(MSH.replace('ADT^A01^ADT_A01', 'ADT^ z99 ')).event).toBe('Z99');
  });
});

describe('ACK modes and conditions', () => {
  it('original unless MSH-15 or MSH-16 is valued', () => {
    const base: AckContext = {
      sendingApplication: '',
      sendingFacility: '',
      receivingApplication: '',
      receivingFacility: '',
      charset: 'utf8',
    };
    expect(ackModeOf(base)).toBe('original');
    expect(ackModeOf({ ...base, acceptAckType: 'NE' })).toBe('enhanced');
    expect(ackModeOf({ ...base, applicationAckType: 'NE' })).toBe('enhanced');
  });

  it('conditions are read whatever their case; none means always', () => {
    expect([shouldSendAck('er', true), shouldSendAck('er', false)]).toStrictEqual([false, true]);
    expect([shouldSendAck('su', true), shouldSendAck('su', false)]).toStrictEqual([true, false]);
    expect([shouldSendAck('ne', true), shouldSendAck('ne', false)]).toStrictEqual([false, false]);
    expect([shouldSendAck(undefined, true), shouldSendAck(undefined, false)]).toStrictEqual([true, true]);
    expect(shouldSendAck('XX', false)).toBe(true);
  });
});

describe('ACK message', () => {
  const ctx = ctxOf(MSH);

  it('local timestamp to the second, every part on its width', () => {
    expect(hl7Timestamp(NOW)).toBe('20250105080706');
    expect(hl7Timestamp(new Date(2025, 10, 23, 23, 59, 58))).toBe('20251123235958');
    const y = new Date(2025, 0, 1, 0, 0, 0);
    y.setFullYear(987);
    expect(hl7Timestamp(y)).toBe('09870101000000');
  });

  it('control ids: ACK, the time in base 36, then a 4-character counter that goes up by one', () => {
    const a = newControlId(NOW);
    const b = newControlId(NOW);
    const time = NOW.getTime().toString(36).toUpperCase();
    expect(a).toMatch(new RegExp(`^ACK${time}[0-9A-Z]{4}$`));
    expect(b).toMatch(new RegExp(`^ACK${time}[0-9A-Z]{4}$`));
    const n = (id: string) => parseInt(id.slice(-4), 36);
    expect(n(b)).toBe((n(a) + 1) % 36 ** 4);
    expect(newControlId().startsWith('ACK')).toBe(true);
  });

  it('ERR-2: the sequence and the repetition default to 1; a subcomponent only under a component', () => {
    expect(formatErl({ segment: 'PID' })).toBe('PID^1');
    expect(formatErl({ segment: 'IN1', sequence: 2, field: 3 })).toBe('IN1^2^3^1');
    expect(formatErl({ segment: 'IN3', sequence: 2, field: 5, repetition: 2, component: 2 })).toBe('IN3^2^5^2^2');
    expect(formatErl({ segment: 'PID', sequence: 1, field: 3, subcomponent: 2 })).toBe('PID^1^3^1');
    expect(formatErl({ segment: 'Z^Z', sequence: 1 })).toBe('Z\\S\\Z^1');
  });

  it('an ERR without location leaves ERR-2 empty', () => {
    expect(errSegment({ code: '207', severity: 'E', message: 'base de données indisponible' })).toBe(
      'ERR|||207^Application internal error^HL70357|E||||base de données indisponible',
    );
    expect(errSegment({ code: '101', severity: 'W', location: { segment: 'PV1', sequence: 1, field: 19 }, message: 'x' })).toBe(
      'ERR||PV1^1^19^1|101^Required field missing^HL70357|W||||x',
    );
  });

  it('echoes the header and declares its charset; trailing empty fields are dropped', () => {
    const ack = buildAck(ctx, { code: 'AA', now: NOW, controlId: 'ACK-1' });
    expect(ack.text).toBe(
      'MSH|^~\\&|ROC-BRIDGE|CHU-NORD|CPAGE|CHU-NORD|20250105080706||ACK^A01^ACK|ACK-1|P|2.5^FRA^2.11|||||FRA|8859/15|FR\rMSA|AA|A01-0001\r',
    );
    expect(ack).toMatchObject({ code: 'AA', controlId: 'ACK-1' });
    const bare: AckContext = {
      sendingApplication: 'CPAGE',
      sendingFacility: '',
      receivingApplication: '',
      receivingFacility: '',
      charset: 'utf8',
    };
    expect(buildAck(bare, { code: 'AR', now: NOW, controlId: 'ACK|2' }).text).toBe(
      'MSH|^~\\&|||CPAGE||20250105080706||ACK|ACK\\F\\2|P|2.5||||||UNICODE UTF-8\rMSA|AR|\r',
    );
    // our own names when the original did not address us
    const named = buildAck(bare, { code: 'AA', now: NOW, controlId: 'A', application: 'ROC^BRIDGE', facility: 'CHU-NORD' });
    expect(fields(named.text).slice(2, 4)).toStrictEqual(['ROC\\S\\BRIDGE', 'CHU-NORD']);
    // the original's receiving names win over ours
    expect(fields(buildAck(ctx, { code: 'AA', now: NOW, application: 'X', facility: 'Y' }).text).slice(2, 4)).toStrictEqual([
      'ROC-BRIDGE',
      'CHU-NORD',
    ]);
    // a header without country, charset field nor language keeps MSH-18 (the charset) and stops there
    const noCountry = { ...ctx, country: undefined, language: undefined };
    expect(fields(buildAck(noCountry, { code: 'AA', now: NOW }).text)).toHaveLength(18);
    expect(fields(buildAck({ ...noCountry, charsetField: undefined, charset: 'windows-1252' }, { code: 'AA', now: NOW }).text)[17]).toBe(
      '8859/15',
    );
  });

  it('defaults the control id and the time to now', () => {
    const before = Date.now();
    const ack = buildAck(ctx, { code: 'AA' });
    expect(ack.controlId).toMatch(/^ACK[0-9A-Z]+$/);
    const ts = fields(ack.text)[6];
    expect(ts).toMatch(/^\d{14}$/);
    expect(Math.abs(Number(ts.slice(0, 8)) - Number(hl7Timestamp(new Date(before)).slice(0, 8)))).toBeLessThanOrEqual(1);
    expect(fields(ack.text)[9]).toBe(ack.controlId);
  });
});

describe('ACK plans', () => {
  const issue = {
    code: '102' as const,
    severity: 'E' as const,
    location: { segment: 'PID', sequence: 1, field: 7 },
    message: 'date invalide',
  };
  const original = ctxOf(MSH);
  const enhanced = (accept: string, app: string) => ({
    ...original,
    acceptAckType: accept || undefined,
    applicationAckType: app || undefined,
  });

  it('original mode: one ACK, a refused receipt becomes AE or AR, the application code after CA', () => {
    expect(planAcks(original, { commit: 'CE' }).application?.code).toBe('AE');
    expect(planAcks(original, { commit: 'CR' }).application?.code).toBe('AR');
    expect(planAcks(original, { commit: 'CA' }).application?.code).toBe('AA');
    const ae = planAcks(original, { commit: 'CA', application: 'AE', issues: [issue] }, { now: NOW, controlId: 'K1' });
    expect(ae).toMatchObject({ mode: 'original', application: { code: 'AE', controlId: 'K1' } });
    expect(ae.commit).toBeUndefined();
    expect(ae.application?.text).toContain('\rERR||PID^1^7^1|102^Data type error^HL70357|E||||date invalide\r');
  });

  it('enhanced: the commit ACK carries the issues only when it refuses; the application ACK carries them', () => {
    const ce = planAcks(enhanced('AL', 'AL'), { commit: 'CE', issues: [issue] }, { now: NOW, controlId: 'K2' });
    expect(ce.commit).toMatchObject({ code: 'CE', controlId: 'K2' });
    expect(ce.commit?.text).toContain('ERR||PID^1^7^1');
    expect(ce.application).toBeUndefined();
    const ca = planAcks(enhanced('AL', 'AL'), { commit: 'CA', application: 'AE', issues: [issue] }, { now: NOW, controlId: 'K3' });
    expect(ca.commit?.text).not.toContain('ERR');
    expect(ca.commit?.controlId).toBe('K3');
    expect(ca.application?.code).toBe('AE');
    expect(ca.application?.text).toContain('ERR||PID^1^7^1');
    expect(ca.application?.controlId).not.toBe('K3');
  });

  it('enhanced: each ACK only when its condition asks for it', () => {
    expect(planAcks(enhanced('ER', 'AL'), { commit: 'CA' }).commit).toBeUndefined();
    expect(planAcks(enhanced('ER', 'AL'), { commit: 'CA' }).application?.code).toBe('AA');
    expect(planAcks(enhanced('ER', ''), { commit: 'CR' }).commit?.code).toBe('CR');
    expect(planAcks(enhanced('SU', 'SU'), { commit: 'CA', application: 'AE' })).toStrictEqual({
      mode: 'enhanced',
      commit: expect.objectContaining({ code: 'CA' }),
    });
    expect(planAcks(enhanced('', 'ER'), { commit: 'CA', application: 'AR' }).application?.code).toBe('AR');
    expect(planAcks(enhanced('', 'NE'), { commit: 'CA' }).application).toBeUndefined();
    expect(planAcks(enhanced('AL', 'ER'), { commit: 'CA' }).application).toBeUndefined();
    // no application ACK for a message that was not committed, whatever MSH-16
    expect(planAcks(enhanced('NE', 'AL'), { commit: 'CE' })).toStrictEqual({ mode: 'enhanced' });
  });
});
