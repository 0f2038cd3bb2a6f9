import { readFileSync } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { ackContextFromBytes, buildAck, formatErl, planAcks, shouldSendAck, newControlId, ackModeOf } from '../../lib/hl7/ack';
import { parseEr7 } from '../../lib/hl7/er7';
import { acksFor, receive, rejectOversize } from '../../lib/hl7/intake';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { decodeFrame } from '../../lib/hl7/charset';

const FIX = path.join(__dirname, '..', 'fixtures', 'hl7');
import { SAMPLES } from '../support/samples';
const A01 = readFileSync(path.join(FIX, 'pamfr-own-adt-a01-amo-amc-utf8.hl7'));
const A01_ISO = readFileSync(path.join(FIX, 'pamfr-own-adt-a01-amo-amc-8859-15.hl7'));
const A01_TEXT = A01.toString('utf8');
const NOW = new Date(2025, 0, 14, 9, 36, 0);
const PATIENT_DATA = ['LEFÈVRE', 'BŒUF', 'Hélène', 'FRANÇOIS', '285075935012324', '2850759350123', '19850714'];

/** Edit one MSH/segment field of the UTF-8 fixture (CR ends). */
function edit(segment: string, field: number, value: string): Buffer {
  const lines = A01_TEXT.split('\r').map((l) => {
    if (!l.startsWith(segment + '|')) return l;
    const f = l.split('|');
    const idx = segment === 'MSH' ? field - 1 : field;
    while (f.length <= idx) f.push('');
    f[idx] = value;
    return f.join('|');
  });
  return Buffer.from(lines.join('\r'), 'utf8');
}

function segs(text: string): string[][] {
  expect(text.endsWith('\r')).toBe(true);
  expect(text).not.toContain('\n');
  return text
    .slice(0, -1)
    .split('\r')
    .map((s) => s.split('|'));
}

function noPatientData(text: string): void {
  for (const p of PATIENT_DATA) expect(text).not.toContain(p);
}

describe('ACK building', () => {
  it('answers an A01 in original mode with AA, swapping applications and echoing MSH-10', () => {
    const intake = receive(A01);
    expect(intake.ackCode).toBe('AA');
    const plan = acksFor(intake, true, { now: NOW, controlId: 'BRIDGE-0001' });
    expect(plan.mode).toBe('original');
    expect(plan.commit).toBeUndefined();
    const ack = plan.application!;
    expect(ack.text).toBe(
      'MSH|^~\\&|ROC-BRIDGE|CHU-NORD|CPAGE|CHU-NORD|20250114093600||ACK^A01^ACK|BRIDGE-0001|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8|FR\r' +
        'MSA|AA|A01-UTF8-0001\r',
    );
    expect(ack.bytes).toEqual(Buffer.from(ack.text, 'utf8'));
    // it parses back
    const back = parseEr7(ack.text);
    expect(back.get('MSA-2')).toBe('A01-UTF8-0001');
    expect(back.get('MSH-9.1')).toBe('ACK');
  });

  it('gives every ACK a new control id', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newControlId(NOW)));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(20);
    const a = acksFor(receive(A01)).application!;
    const b = acksFor(receive(A01)).application!;
    expect(a.controlId).not.toBe(b.controlId);
    expect(a.controlId).not.toBe('A01-UTF8-0001');
  });

  it('encodes the ACK in the message charset (ISO 8859-15 accents in ERR-8)', () => {
    const bad = Buffer.from(A01_ISO.toString('latin1').replace('|20250114090000\r\nPV2', '|20250230\r\nPV2'), 'latin1');
    const intake = receive(bad);
    expect(intake.ackCode).toBe('AE');
    const ack = acksFor(intake).application!;
    expect(ack.text).toContain('|8859/15|');
    expect(ack.text).toContain("Erreur de type de donnée : date invalide en PV1-44 (date d'entrée)");
    // é is one byte 0xE9 in ISO 8859-15
    expect(ack.bytes.includes(Buffer.from([0xe9]))).toBe(true);
    expect(ack.bytes.includes(Buffer.from('é', 'utf8'))).toBe(false);
    expect(decodeFrame(ack.bytes).text).toBe(ack.text);
  });

  it('writes ERR segments in the HL7 v2.5 layout', () => {
    const noVenue = edit('PV1', 19, '');
    const intake = receive(Buffer.from(noVenue.toString('utf8').replace(/\|25010042\^[^|]*\|/, '||'), 'utf8'));
    expect(intake.ackCode).toBe('AE');
    const ack = acksFor(intake, true, { now: NOW }).application!;
    const [msh, msa, err, ...rest] = segs(ack.text);
    expect(msh[8]).toBe('ACK^A01^ACK');
    expect(msa).toEqual(['MSA', 'AE', 'A01-UTF8-0001']);
    expect(rest).toEqual([]);
    expect(err[0]).toBe('ERR');
    expect(err[1]).toBe('');
    expect(err[2]).toBe('PV1^1^19^1');
    expect(err[3]).toBe('101^Required field missing^HL70357');
    expect(err[4]).toBe('E');
    expect(err[8]).toBe('Champ obligatoire manquant : PV1-19 (numéro de venue) absent');
    expect(formatErl({ segment: 'PID', sequence: 1, field: 3, repetition: 2, component: 4, subcomponent: 2 })).toBe('PID^1^3^2^4^2');
    expect(formatErl({ segment: 'MSH', sequence: 1 })).toBe('MSH^1');
  });

  it('accepts with a warning ERR (severity W) when only the NDA identifies the venue', () => {
    const intake = receive(edit('PV1', 19, ''));
    expect(intake.ackCode).toBe('AA');
    const ack = acksFor(intake).application!;
    const [, msa, err] = segs(ack.text);
    expect(msa[1]).toBe('AA');
    expect(err.slice(2, 5)).toEqual(['PV1^1^19^1', '101^Required field missing^HL70357', 'W']);
  });

  it('escapes delimiters in echoed text and messages', () => {
    const ctx = ackContextFromBytes(Buffer.from('MSH|^~\\&|GAM|CHU|BRIDGE|CHU|20250101||ADT^A01|ID\\F\\42|P|2.5'));
    expect(ctx.controlId).toBe('ID|42');
    const ack = buildAck(ctx, { code: 'AE', now: NOW, issues: [{ code: '207', severity: 'E', message: 'a|b^c&d~e' }] });
    expect(ack.text).toContain('MSA|AE|ID\\F\\42\r');
    expect(ack.text).toContain('|a\\F\\b\\S\\c\\T\\d\\R\\e\r');
  });

  it('re-encodes the header of a message using other delimiters into standard ones', () => {
    const odd = Buffer.from('MSH#*@!$#GAM*X#CHU#BRIDGE#CHU#20250101##ADT*A01#ID^1#P#2.5\rPID#1##999***CHU$1.2.3$ISO*PI\r');
    const ctx = ackContextFromBytes(odd);
    const ack = buildAck(ctx, { code: 'AA', now: NOW, controlId: 'X1' });
    // no MSH-18 in the original: the ACK declares the charset it is encoded in (listener default)
    expect(ack.text).toBe('MSH|^~\\&|BRIDGE|CHU|GAM^X|CHU|20250114093600||ACK^A01^ACK|X1|P|2.5||||||8859/15\rMSA|AA|ID\\S\\1\r');
  });
});

describe('enhanced acknowledgement mode', () => {
  const enhanced = (accept: string, app: string): Buffer => {
    const lines = A01_TEXT.split('\r');
    const f = lines[0].split('|');
    f[14] = accept; // MSH-15
    f[15] = app; // MSH-16
    lines[0] = f.join('|');
    return Buffer.from(lines.join('\r'), 'utf8');
  };

  it('detects the mode from MSH-15/16', () => {
    expect(ackModeOf(receive(A01).context)).toBe('original');
    expect(ackModeOf(receive(enhanced('AL', '')).context)).toBe('enhanced');
    expect(ackModeOf(receive(enhanced('', 'ER')).context)).toBe('enhanced');
  });

  it('AL/AL: a commit ACK CA then an application ACK AA, each with its own control id', () => {
    const plan = acksFor(receive(enhanced('AL', 'AL')), true, { now: NOW });
    expect(plan.mode).toBe('enhanced');
    expect(segs(plan.commit!.text)[1]).toEqual(['MSA', 'CA', 'A01-UTF8-0001']);
    expect(segs(plan.application!.text)[1]).toEqual(['MSA', 'AA', 'A01-UTF8-0001']);
    expect(plan.commit!.controlId).not.toBe(plan.application!.controlId);
    // the ACKs themselves ask for no acknowledgement
    expect(segs(plan.commit!.text)[0][14]).toBe('');
    expect(segs(plan.commit!.text)[0][15]).toBe('');
  });

  it('AL/ER: only the commit ACK on success; CA then AE with ERR on an application error', () => {
    const ok = acksFor(receive(enhanced('AL', 'ER')));
    expect(ok.commit?.code).toBe('CA');
    expect(ok.application).toBeUndefined();
    const badDate = Buffer.from(enhanced('AL', 'ER').toString('utf8').replace('|19850714|', '|19851399|'), 'utf8');
    const ko = acksFor(receive(badDate));
    expect(ko.commit?.code).toBe('CA');
    expect(ko.commit?.text).not.toContain('ERR|');
    expect(ko.application?.code).toBe('AE');
    const err = segs(ko.application!.text)[2];
    expect(err.slice(2, 5)).toEqual(['PID^1^7^1', '102^Data type error^HL70357', 'E']);
    noPatientData(ko.application!.text);
  });

  it('NE/AL: no commit ACK, the application ACK only', () => {
    const plan = acksFor(receive(enhanced('NE', 'AL')));
    expect(plan.commit).toBeUndefined();
    expect(plan.application?.code).toBe('AA');
  });

  it('answers CE (207) when the message could not be stored, and nothing more', () => {
    const plan = acksFor(receive(enhanced('AL', 'AL')), false);
    expect(plan.commit?.code).toBe('CE');
    expect(plan.commit?.text).toContain('|207^Application internal error^HL70357|E|');
    expect(plan.application).toBeUndefined();
    // original mode: AE with the same ERR
    const orig = acksFor(receive(A01), false);
    expect(orig.application?.code).toBe('AE');
    expect(orig.application?.text).toContain('|207^Application internal error^HL70357|E|');
  });

  it('answers CR for a structurally refused message', () => {
    const broken = Buffer.from(enhanced('AL', 'AL').toString('utf8').replace('MSH|^~\\&|', 'MSH|^~|'), 'utf8');
    const plan = acksFor(receive(broken));
    expect(plan.commit?.code).toBe('CR');
    expect(plan.commit?.text).toContain('MSA|CR|A01-UTF8-0001\r');
    expect(plan.application).toBeUndefined();
  });

  it('follows the AL / NE / ER / SU conditions', () => {
    expect([shouldSendAck('AL', true), shouldSendAck('AL', false)]).toEqual([true, true]);
    expect([shouldSendAck('NE', true), shouldSendAck('NE', false)]).toEqual([false, false]);
    expect([shouldSendAck('ER', true), shouldSendAck('ER', false)]).toEqual([false, true]);
    expect([shouldSendAck('SU', true), shouldSendAck('SU', false)]).toEqual([true, false]);
    expect(shouldSendAck('', false)).toBe(true);
    const ctx = receive(enhanced('SU', 'SU')).context;
    expect(planAcks(ctx, { commit: 'CE' }).commit).toBeUndefined();
  });
});

describe('NACKs for bad input', () => {
  function nack(bytes: Buffer) {
    const intake = receive(bytes);
    const ack = acksFor(intake, true, { now: NOW }).application!;
    return { intake, ack, s: segs(ack.text) };
  }

  it('no MSH: AR with a 100 at MSH, MSA-2 empty', () => {
    const { intake, s } = nack(Buffer.from(A01_TEXT.replace(/^MSH[^\r]*\r/, ''), 'utf8'));
    expect(intake.ackCode).toBe('AR');
    expect(s[1]).toEqual(['MSA', 'AR', '']);
    expect(s[2].slice(2, 5)).toEqual(['MSH^1', '100^Segment sequence error^HL70357', 'E']);
    expect(s[2][8]).toContain('ne commence pas par un segment MSH');
    // the ACK is still a valid message
    expect(s[0][0]).toBe('MSH');
    expect(s[0][8]).toBe('ACK');
  });

  it('wrong delimiters: AR with a 102 at MSH-2, MSH-10 still echoed', () => {
    const { intake, s } = nack(Buffer.from(A01_TEXT.replace('MSH|^~\\&|', 'MSH|^^\\&|'), 'utf8'));
    expect(intake.ackCode).toBe('AR');
    expect(s[1]).toEqual(['MSA', 'AR', 'A01-UTF8-0001']);
    expect(s[2].slice(2, 5)).toEqual(['MSH^1^2^1', '102^Data type error^HL70357', 'E']);
    // sending/receiving still swapped
    expect(s[0].slice(2, 6)).toEqual(['ROC-BRIDGE', 'CHU-NORD', 'CPAGE', 'CHU-NORD']);
  });

  it('unknown event: AA, ignored, no ERR', () => {
    const { intake, s } = nack(edit('MSH', 9, 'ADT^A54^ADT_A54'));
    expect(intake).toMatchObject({ ackCode: 'AA', ignored: true, meaning: 'IGNORE' });
    expect(s).toHaveLength(2);
    expect(s[0][8]).toBe('ACK^A54^ACK');
    expect(s[1]).toEqual(['MSA', 'AA', 'A01-UTF8-0001']);
  });

  it('unsupported message type: AR 200', () => {
    const { intake, s } = nack(edit('MSH', 9, 'ORU^R01^ORU_R01'));
    expect(intake.ackCode).toBe('AR');
    expect(s[2].slice(2, 5)).toEqual(['MSH^1^9^1^1', '200^Unsupported message type^HL70357', 'E']);
  });

  it('missing PV1-19 and NDA on an A01: AE 101 at PV1-19', () => {
    const noVenue = Buffer.from(
      edit('PV1', 19, '')
        .toString('utf8')
        .replace(/\|25010042\^[^|]*\|/, '||'),
      'utf8',
    );
    const { intake, s, ack } = nack(noVenue);
    expect(intake.ackCode).toBe('AE');
    expect(s[1]).toEqual(['MSA', 'AE', 'A01-UTF8-0001']);
    expect(s[2].slice(2, 5)).toEqual(['PV1^1^19^1', '101^Required field missing^HL70357', 'E']);
    noPatientData(ack.text);
  });

  it('invalid dates: AE with one 102 per bad date, at its place', () => {
    const bad = Buffer.from(A01_TEXT.replace('|19850714|', '|19850732|').replace('|20250114090000\rPV2', '|2025011409\u00e9\rPV2'), 'utf8');
    const { intake, s, ack } = nack(bad);
    expect(intake.ackCode).toBe('AE');
    const errs = s.filter((x) => x[0] === 'ERR').map((x) => [x[2], x[3].split('^')[0], x[4]]);
    expect(errs).toEqual([
      ['PID^1^7^1', '102', 'E'],
      ['PV1^1^44^1', '102', 'E'],
    ]);
    noPatientData(ack.text);
  });

  it('random bytes: AR, never a crash, whatever the bytes', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(1 + ((i * 37) % 3000));
      const intake = receive(bytes);
      expect(['AR', 'AE']).toContain(intake.ackCode);
      const plan = acksFor(intake);
      expect(plan.application?.text.startsWith('MSH|^~\\&|')).toBe(true);
    }
    const { intake, s } = nack(Buffer.from('\x00\x01GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(intake.ackCode).toBe('AR');
    expect(s[1]).toEqual(['MSA', 'AR', '']);
  });

  it('random bytes after a valid MSH line: parsed or refused, never a crash', () => {
    const msh = A01_TEXT.split('\r')[0] + '\r';
    for (let i = 0; i < 200; i++) {
      const intake = receive(Buffer.concat([Buffer.from(msh), randomBytes(50 + i * 11)]));
      expect(['AA', 'AE', 'AR']).toContain(intake.ackCode);
      expect(intake.context.controlId).toBe('A01-UTF8-0001');
    }
  });

  it('an oversize frame can still be NACKed with its MSH-10 from the kept head', () => {
    const d = new MllpDeframer({ maxFrameSize: 1000 });
    const [ev] = d.push(frame(Buffer.concat([A01, Buffer.alloc(5000, 0x41)])));
    expect(ev.kind).toBe('oversize');
    const verdict = rejectOversize((ev as { head: Buffer }).head, (ev as { size: number }).size, 1000);
    expect(verdict.ackCode).toBe('AR');
    const ack = acksFor(verdict).application!;
    expect(ack.text).toContain('MSA|AR|A01-UTF8-0001\r');
    expect(ack.text).toContain(
      `|207^Application internal error^HL70357|E||||Erreur interne de l’application : message trop volumineux (${A01.length + 5000} octets, maximum 1000)\r`,
    );
    expect(ack.text.split('|')[2]).toBe('ROC-BRIDGE');
  });

  it('answers every published sample AA (the A03 with its shifted-ZBE warning)', () => {
    for (const f of [
      'pamfr-ans-sgl-adt-a01-admission.hl7',
      'pamfr-ans-sgl-adt-a03-sortie.hl7',
      'pamfr-ans-segur-adt-a01-consentement-dmp.hl7',
      'pamfr-spec-2.11.2-adt-a31-ins-nia-nir.hl7',
    ]) {
      const intake = receive(readFileSync(path.join(SAMPLES, f)));
      expect([f, intake.ackCode]).toEqual([f, 'AA']);
      expect(intake.issues.every((i) => i.severity === 'W')).toBe(true);
    }
  });
});
