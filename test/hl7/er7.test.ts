import { readFileSync, readdirSync } from 'fs';
import * as path from 'path';
import { decodeFrame } from '../../lib/hl7/charset';
import { Er7Error, escapeValue, parseEr7, parsePath, unescapeValue, STANDARD_DELIMITERS } from '../../lib/hl7/er7';

import { SAMPLES } from '../support/samples';
const FIX = path.join(__dirname, '..', 'fixtures', 'hl7');

function text(file: string): string {
  return decodeFrame(readFileSync(file)).text;
}

describe('ER7 parser', () => {
  it('parses every published sample and every own fixture', () => {
    const files = [
      ...readdirSync(SAMPLES)
        .filter((f) => f.endsWith('.hl7'))
        .map((f) => path.join(SAMPLES, f)),
      ...readdirSync(FIX)
        .filter((f) => f.endsWith('.hl7'))
        .map((f) => path.join(FIX, f)),
    ];
    expect(files.length).toBeGreaterThanOrEqual(11);
    for (const f of files) {
      const m = parseEr7(text(f));
      expect(m.msh.name).toBe('MSH');
      expect(m.get('MSH-9')).toBe('ADT');
      expect(m.segment('PID')).toBeDefined();
      expect(m.warnings).toEqual([]);
    }
  });

  it('reads segments whatever the line ends (CR, LF, CRLF, mixed, trailing blank lines)', () => {
    const seg = ['MSH|^~\\&|GAM|CHU|||20250101||ADT^A01|1|P|2.5', 'EVN||20250101', 'PID|1||123^^^CHU^PI', 'PV1|1|I'];
    const variants = [
      seg.join('\r'),
      seg.join('\n'),
      seg.join('\r\n') + '\r\n\r\n\n',
      `\uFEFF\r\n${seg[0]}\r${seg[1]}\n${seg[2]}\r\n${seg[3]}\n\n`,
    ];
    for (const v of variants) {
      const m = parseEr7(v);
      expect(m.segments.map((s) => s.name)).toEqual(['MSH', 'EVN', 'PID', 'PV1']);
      expect(m.get('PV1-2')).toBe('I');
    }
  });

  it('addresses fields, repetitions, components and subcomponents', () => {
    const m = parseEr7(text(path.join(SAMPLES, 'pamfr-spec-2.11.2-adt-a31-ins-nia-nir.hl7')));
    expect(m.get('MSH-1')).toBe('|');
    expect(m.get('MSH-2')).toBe('^~\\&');
    expect(m.raw('MSH-9')).toBe('ADT^A31^ADT_A05');
    expect(m.get('MSH-9.2')).toBe('A31');
    expect(m.get('MSH.9.3')).toBe('ADT_A05');
    expect(m.get('PID-3[3].1')).toBe('260058815400233');
    expect(m.get('PID-3[3].4.2')).toBe('1.2.250.1.213.1.4.8');
    expect(m.get('PID-3[2].5')).toBe('INS');
    expect(m.raw('PID-3[1].4')).toBe('&350000121&M');
    expect(m.get('PID-5[2].7')).toBe('L');
    expect(m.get('PID-5[9].1')).toBe('');
    expect(m.get('ZZZ-1')).toBe('');
    const pid = m.segment('PID');
    expect(pid?.repetitions(3).map((r) => r.get(5))).toEqual(['PI', 'INS', 'INS']);
    expect(pid?.repetitions(99)).toEqual([]);
  });

  it('numbers repeated segments', () => {
    const m = parseEr7(readFileSync(path.join(FIX, 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8'));
    expect(m.all('IN1').map((s) => s.get(2))).toEqual(['AMO', 'AMC']);
    expect(m.get('IN1[2]-3')).toBe('77554321');
    expect(m.segment('IN1', 2)?.sequence).toBe(2);
    expect(m.get('IN3[2]-5[2].3')).toBe('EUR');
  });

  it('resolves escape sequences', () => {
    const d = STANDARD_DELIMITERS;
    expect(unescapeValue('A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\F', d)).toBe('A|B^C&D~E\\F');
    expect(unescapeValue('caf\\XC3A9\\', d)).toBe('café');
    expect(unescapeValue('caf\\XE9\\', d)).toBe('café');
    expect(unescapeValue('ligne 1\\.br\\ligne 2', d)).toBe('ligne 1\nligne 2');
    expect(unescapeValue('\\H\\gras\\N\\', d)).toBe('gras');
    expect(unescapeValue('inconnu \\Zxyz\\ ici', d)).toBe('inconnu \\Zxyz\\ ici');
    expect(unescapeValue('non fermé \\F', d)).toBe('non fermé \\F');
    const m = parseEr7('MSH|^~\\&|A|B|||20250101||ADT^A01|1|P|2.5\rPID|1||1^^^X^PI||DUPONT\\S\\MARTIN^Zoé\\T\\Lou');
    expect(m.get('PID-5.1')).toBe('DUPONT^MARTIN');
    expect(m.get('PID-5.2')).toBe('Zoé&Lou');
    expect(m.raw('PID-5.1')).toBe('DUPONT\\S\\MARTIN');
  });

  it('round-trips escapeValue / unescapeValue', () => {
    const s = 'a|b^c&d~e\\f\rg\nh';
    expect(unescapeValue(escapeValue(s), STANDARD_DELIMITERS)).toBe(s);
    expect(escapeValue(s)).not.toMatch(/[|^&~\r\n]/);
  });

  it('uses the delimiters the message declares', () => {
    const m = parseEr7('MSH#*@!$#GAM#CHU#####ADT*A01#42#P#2.5\rPID#1##999***CHU$1.2.3$ISO*PI@888***X*NH##NOM!S!X*PRENOM');
    expect(m.delimiters).toMatchObject({ field: '#', component: '*', repetition: '@', escape: '!', subcomponent: '$' });
    expect(m.get('MSH-9.2')).toBe('A01');
    expect(m.get('PID-3[1].4.2')).toBe('1.2.3');
    expect(m.get('PID-3[2].5')).toBe('NH');
    expect(m.get('PID-5.1')).toBe('NOM*X');
  });

  it('joins a stray line (a raw line break inside a value) to the previous segment and warns', () => {
    const m = parseEr7('MSH|^~\\&|A|B|||20250101||ADT^A01|1|P|2.5\rPID|1||1^^^X^PI||||||||3 rue des Lilas\nBâtiment B^^Lyon\rPV1|1|I');
    expect(m.segments.map((s) => s.name)).toEqual(['MSH', 'PID', 'PV1']);
    expect(m.get('PID-11.1')).toBe('3 rue des Lilas\nBâtiment B');
    expect(m.get('PID-11.3')).toBe('Lyon');
    expect(m.warnings).toHaveLength(1);
    expect(m.warnings[0]).toMatchObject({ code: '100', line: 3 });
    expect(m.warnings[0].message).not.toContain('Lilas');
  });

  it('refuses a message without MSH, naming the place', () => {
    for (const t of ['', '\r\n', 'PID|1||123', 'Bonjour', 'msh|^~\\&|x']) {
      let err: unknown;
      try {
        parseEr7(t);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Er7Error);
      expect(err).toMatchObject({ code: '100', location: { segment: 'MSH', sequence: 1 } });
    }
  });

  it('refuses wrong delimiters with a 102 at MSH-1 or MSH-2', () => {
    const cases: Array<[string, number]> = [
      ['MSHA^~\\&A', 1],
      ['MSH ^~\\& ', 1],
      ['MSH|^~|GAM', 2],
      ['MSH|^~\\&&|GAM', 2],
      ['MSH|^^\\&|GAM', 2],
      ['MSH|^~\\|&|GAM', 2],
      ['MSH|ab12|GAM', 2],
      ['MSH|', 2],
    ];
    for (const [t, field] of cases) {
      expect(() => parseEr7(t)).toThrow(Er7Error);
      try {
        parseEr7(t);
      } catch (e) {
        expect(e).toMatchObject({ code: '102', location: { segment: 'MSH', field } });
      }
    }
    // v2.7 truncation character accepted
    expect(parseEr7('MSH|^~\\&#|A|B\rPID|1').delimiters.truncation).toBe('#');
  });

  it('parses accessor paths and rejects malformed ones', () => {
    expect(parsePath('PID-3[2].4.2')).toEqual({ segment: 'PID', occurrence: 1, field: 3, repetition: 2, component: 4, subcomponent: 2 });
    expect(parsePath('IN1[2]-49')).toMatchObject({ segment: 'IN1', occurrence: 2, field: 49 });
    expect(() => parsePath('pid-3')).toThrow(TypeError);
    expect(() => parsePath('PID-3[0]')).toThrow(TypeError);
  });
});
