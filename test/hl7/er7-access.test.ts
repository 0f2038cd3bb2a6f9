/**
 * ER7 parser, the accessors and tolerances a mapper relies on: locations written the way people
 * read them in a NACK, raw versus unescaped text at each level, hex escapes in either charset,
 * HL7 2.7 truncation, the delimiter checks and the place a stray line is reported at.
 * Also the cases its mutation run found untested: malformed hex escapes kept as sent, a raw
 * subcomponent, an empty field without repetitions, one-letter components, a header cut after MSH,
 * blank lines. Complements er7.test.ts (published samples and fixtures).
 */
import { Er7Error, escapeValue, formatLocation, parseEr7, parsePath, unescapeValue, STANDARD_DELIMITERS } from '../../lib/hl7/er7';

const MSH = 'MSH|^~\\&|CPAGE|CHU-NORD|ROC-BRIDGE|CHU-NORD|20250114093512||ADT^A01^ADT_A01|A01-0001|P|2.5';

function refusal(text: string): Er7Error {
  try {
    parseEr7(text);
  } catch (e) {
    if (e instanceof Er7Error) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('ER7 locations', () => {
  it('are written as people write them: repetition and occurrence only when above 1', () => {
    expect(formatLocation({ segment: 'PID', sequence: 1 })).toBe('PID');
    expect(formatLocation({ segment: 'IN1', sequence: 2 })).toBe('IN1[2]');
    expect(formatLocation({ segment: 'IN1', sequence: 2, field: 3 })).toBe('IN1[2]-3');
    expect(formatLocation({ segment: 'PID', sequence: 1, field: 3, repetition: 1, component: 4 })).toBe('PID-3.4');
    expect(formatLocation({ segment: 'PID', sequence: 1, field: 3, repetition: 2, component: 4, subcomponent: 2 })).toBe('PID-3[2].4.2');
    expect(formatLocation({ segment: 'IN3', sequence: 2, field: 5, repetition: 2, component: 2 })).toBe('IN3[2]-5[2].2');
    // a component without field is not written
    expect(formatLocation({ segment: 'ZBE', sequence: 1, component: 4 })).toBe('ZBE');
    expect(formatLocation({ segment: 'MSH', field: 0 })).toBe('MSH-0');
  });

  it('segment locations carry the occurrence, field, repetition and component asked', () => {
    const m = parseEr7(`${MSH}\rIN1|1|AMO\rIN1|2|AMC`);
    const in1 = m.segment('IN1', 2);
    expect(in1?.location()).toStrictEqual({ segment: 'IN1', sequence: 2 });
    expect(in1?.location(3)).toStrictEqual({ segment: 'IN1', sequence: 2, field: 3 });
    expect(in1?.location(5, 2, 3)).toStrictEqual({ segment: 'IN1', sequence: 2, field: 5, component: 2, repetition: 3 });
    expect(in1).toMatchObject({ position: 3, line: 3, fieldCount: 2 });
  });
});

describe('ER7 paths', () => {
  it('accept the dot form and refuse zero indexes, naming the path', () => {
    expect(parsePath('PID.3')).toStrictEqual({
      segment: 'PID',
      occurrence: 1,
      field: 3,
      repetition: undefined,
      component: undefined,
      subcomponent: undefined,
    });
    expect(parsePath('ZBE-0')).toMatchObject({ field: 0 });
    for (const bad of ['PID[0]-3', 'PID-3.0', 'PID-3.1.0', 'PID-3[0].1']) {
      expect(() => parsePath(bad)).toThrow(`Invalid HL7 path "${bad}" (indexes are 1-based)`);
    }
    expect(() => parsePath('PID')).toThrow('Invalid HL7 path "PID" (expected e.g. PID-3[2].1)');
    expect(() => parsePath('PID-3x')).toThrow(TypeError);
    expect(() => parsePath('xPID-3')).toThrow(TypeError);
    // the same answer the second time (cached)
    expect(parsePath('IN1[2]-3')).toStrictEqual(parsePath('IN1[2]-3'));
  });

  it('parse the same path to the same place many times over (more paths than the cache keeps)', () => {
    for (let k = 1; k <= 1100; k++) expect(parsePath(`ZZ9-${k}`).field).toBe(k);
    expect(parsePath('ZZ9-1050')).toStrictEqual({
      segment: 'ZZ9',
      occurrence: 1,
      field: 1050,
      repetition: undefined,
      component: undefined,
      subcomponent: undefined,
    });
  });
});

describe('ER7 accessors', () => {
  const m = parseEr7(
    `${MSH}\rPID|1||481516^^^CHU-NORD&590780215&N^PI~285075935012324^^^ASIP&1.2.250.1.213.1.4.10&ISO^INS||LEFÈVRE\\S\\BŒUF^Hélène&Léa||19850714\rPV1|1|I|4410^204^1\rZBE\rZFA|""`,
  );

  it('raw text keeps delimiters and escapes at the level asked', () => {
    expect(m.raw('PID-3')).toBe('481516^^^CHU-NORD&590780215&N^PI~285075935012324^^^ASIP&1.2.250.1.213.1.4.10&ISO^INS');
    expect(m.raw('PID-3[2]')).toBe('285075935012324^^^ASIP&1.2.250.1.213.1.4.10&ISO^INS');
    expect(m.raw('PID-3[2].4')).toBe('ASIP&1.2.250.1.213.1.4.10&ISO');
    expect(m.raw('PID-3[2].4.3')).toBe('ISO');
    expect(m.raw('PID-3[3].1')).toBe('');
    expect(m.raw('PID-5.1')).toBe('LEFÈVRE\\S\\BŒUF');
    expect(m.raw('PID-5.2.2')).toBe('Léa');
    expect(m.raw('PID-40')).toBe('');
    expect(m.raw('EVN-1')).toBe('');
    // MSH-1 and MSH-2 are literal at every level
    expect(m.raw('MSH-2.1')).toBe('^~\\&');
    expect(m.raw('MSH-1.1')).toBe('|');
    expect(m.get('MSH-2.2')).toBe('^~\\&');
    expect(m.msh.repetitions(2).map((r) => r.raw())).toStrictEqual(['^~\\&']);
    expect(m.msh.repetitions(1).map((r) => r.raw())).toStrictEqual(['|']);
  });

  it('get unescapes and reads the first repetition, component and subcomponent by default', () => {
    expect(m.get('PID-5')).toBe('LEFÈVRE^BŒUF');
    expect(m.get('PID-5.2')).toBe('Hélène');
    expect(m.get('PID-5.2.2')).toBe('Léa');
    expect(m.get('PID-5.2.3')).toBe('');
    expect(m.get('PID-7.1.2')).toBe('');
    expect(m.get('PID-7[2]')).toBe('');
    expect(m.get('PID-3[2]')).toBe('285075935012324');
    expect(m.get('PID-3.4')).toBe('CHU-NORD');
    expect(m.get('PID-3.4.2')).toBe('590780215');
    expect(m.get('PV1[2]-2')).toBe('');
    expect(m.get('ZFA-1')).toBe('""');
  });

  it('has() is true only for a non-empty value; fieldCount counts up to the last field present', () => {
    expect(m.has('PID-7')).toBe(true);
    expect(m.has('PID-4')).toBe(false);
    expect(m.has('PID-3[2].4.3')).toBe(true);
    expect(m.has('PV1[2]-1')).toBe(false);
    expect(m.segment('PID')?.has(7)).toBe(true);
    expect(m.segment('PID')?.has(6)).toBe(false);
    expect(m.segment('PID')?.has(8)).toBe(false);
    expect(m.segment('ZBE')?.fieldCount).toBe(0);
    expect(m.segment('ZBE')?.repetitions(1)).toStrictEqual([]);
    expect(m.all('IN1')).toStrictEqual([]);
    expect(m.all('PV1').map((s) => s.get(2))).toStrictEqual(['I']);
    expect(m.msh.name).toBe('MSH');
  });

  it('repetitions give their components unescaped and their raw text', () => {
    const reps = m.segment('PID')?.repetitions(3) ?? [];
    expect(reps.map((r) => r.get(4, 2))).toStrictEqual(['590780215', '1.2.250.1.213.1.4.10']);
    expect(reps[0].get(4)).toBe('CHU-NORD');
    expect(reps[0].get(2)).toBe('');
    expect(reps[0].get(9)).toBe('');
    expect(reps[0].raw(4)).toBe('CHU-NORD&590780215&N');
    expect(reps[0].raw(9)).toBe('');
    expect(reps[0].raw()).toBe('481516^^^CHU-NORD&590780215&N^PI');
    expect(reps[0].isEmpty).toBe(false);
    const name = m.segment('PID')?.repetitions(5)[0];
    expect(name?.get(1)).toBe('LEFÈVRE^BŒUF');
    expect(name?.get(2, 2)).toBe('Léa');
    const nulls = parseEr7(`${MSH}\rPID|1||""~~X`).segment('PID')?.repetitions(3) ?? [];
    expect(nulls.map((r) => r.isEmpty)).toStrictEqual([true, true, false]);
  });

  it('decodes hex escapes as UTF-8, or latin1 when asked or when the bytes are not UTF-8 (kept as sent when UTF-8 is asked)', () => {
    const t = `${MSH}\rPID|1||1||H\\XC3A9\\L\\XC3A8\\NE^C\\XE9\\CILE`;
    expect(parseEr7(t).get('PID-5.1')).toBe('HéLèNE');
    expect(parseEr7(t).get('PID-5.2')).toBe('CéCILE');
    expect(parseEr7(t, { hexCharset: 'latin1' }).get('PID-5.1')).toBe('HÃ©LÃ¨NE');
    expect(parseEr7(t, { hexCharset: 'utf8' }).get('PID-5.2')).toBe('C\\XE9\\CILE');
    const d = STANDARD_DELIMITERS;
    expect(unescapeValue('\\XC3A9\\', d, 'latin1')).toBe('Ã©');
    expect(unescapeValue('\\XE9\\', d, 'utf8')).toBe('\\XE9\\');
    // not hex, odd length or empty: kept as received
    for (const s of ['\\X\\', '\\XE\\', '\\XZZ\\', '\\XC3A\\']) expect(unescapeValue(`a${s}b`, d)).toBe(`a${s}b`);
  });

  it('the truncation character of HL7 2.7 is escaped and unescaped; without one \\P\\ stays literal', () => {
    const d27 = { ...STANDARD_DELIMITERS, truncation: '#' };
    expect(escapeValue('Chambre #12', d27)).toBe('Chambre \\P\\12');
    expect(unescapeValue('Chambre \\P\\12', d27)).toBe('Chambre #12');
    expect(escapeValue('Chambre #12')).toBe('Chambre #12');
    expect(unescapeValue('Chambre \\P\\12', STANDARD_DELIMITERS)).toBe('Chambre \\P\\12');
    const m27 = parseEr7('MSH|^~\\&#|CPAGE|CHU-NORD\rPV2|||||||||||||Lit \\P\\3 \\E\\ fenêtre');
    expect(m27.get('PV2-13')).toBe('Lit #3 \\ fenêtre');
  });

  it('escapes line ends as hex and each delimiter with its own sequence', () => {
    expect(escapeValue('1\r2\n3')).toBe('1\\X0D\\2\\X0A\\3');
    expect(escapeValue('a|b^c&d~e\\f')).toBe('a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f');
    expect(escapeValue('Hélène Œ €')).toBe('Hélène Œ €');
    expect(unescapeValue('\\E\\\\F\\ fin \\', STANDARD_DELIMITERS)).toBe('\\| fin \\');
    expect(unescapeValue('début \\S\\ puis \\', STANDARD_DELIMITERS)).toBe('début ^ puis \\');
  });
});

describe('ER7 message framing', () => {
  it('skips blanks, tabs and a BOM before MSH', () => {
    const m = parseEr7(`\uFEFF \t\r\n\n${MSH}\rPID|1`);
    expect(m.segments.map((s) => s.name)).toStrictEqual(['MSH', 'PID']);
    expect(m.get('MSH-10')).toBe('A01-0001');
    expect(m.msh.get(3)).toBe('CPAGE');
    expect(parseEr7(`\t${MSH}`).get('MSH-9.2')).toBe('A01');
  });

  it('says whether the message is empty or does not start with MSH', () => {
    expect(refusal('').message).toBe('Message vide : segment MSH attendu');
    expect(refusal(' \r\n\t').message).toBe('Message vide : segment MSH attendu');
    expect(refusal('\uFEFF').message).toBe('Message vide : segment MSH attendu');
    expect(refusal('EVN||20250114').message).toBe('Le message ne commence pas par un segment MSH');
    expect(refusal('x' + MSH).message).toBe('Le message ne commence pas par un segment MSH');
    const e = refusal('EVN');
    expect(e.name).toBe('Er7Error');
    expect(e).toBeInstanceOf(Error);
  });

  it('refuses blank, alphanumeric, non-ASCII or repeated delimiters with the field named', () => {
    const msh1 = refusal('MSH\t^~\\&\tCPAGE');
    expect(msh1).toMatchObject({ code: '102', location: { segment: 'MSH', sequence: 1, field: 1 } });
    expect(msh1.message).toBe('Séparateur de champs (MSH-1) absent ou invalide');
    expect(refusal('MSH')).toMatchObject({ location: { field: 1 } });
    expect(refusal('MSHé^~\\&é')).toMatchObject({ location: { field: 1 } });
    expect(refusal('MSH\x7f^~\\&\x7f')).toMatchObject({ location: { field: 1 } });
    expect(refusal('MSH\x1f^~\\&\x1f')).toMatchObject({ location: { field: 1 } });
    const msh2 = refusal('MSH|^~\\é|CPAGE');
    expect(msh2).toMatchObject({ code: '102', location: { segment: 'MSH', sequence: 1, field: 2 } });
    expect(msh2.message).toBe('Caractères de codage (MSH-2) invalides : 4 caractères distincts attendus, par exemple ^~\\&');
    for (const bad of ['MSH|^~\\ |A', 'MSH|^~\\\x7f|A', 'MSH|^~\\&#!|A', 'MSH|^~\\|', 'MSH|^~|&|A', 'MSH|^~\\~|A']) {
      expect([bad, refusal(bad).location.field]).toStrictEqual([bad, 2]);
    }
    // the first delimiters also accept every printable ASCII sign, up to ~
    expect(parseEr7('MSH!^~\\&!CPAGE').get('MSH-3')).toBe('CPAGE');
    expect(parseEr7('MSH~^|\\&~CPAGE').get('MSH-3')).toBe('CPAGE');
  });

  it('reads MSH-2 up to the end of the line when MSH has no other field', () => {
    expect(parseEr7('MSH|^~\\&\rPID|1|X').get('PID-2')).toBe('X');
    expect(parseEr7('MSH|^~\\&\nPID|1|X').delimiters).toMatchObject({ component: '^', subcomponent: '&' });
    expect(parseEr7('MSH|^~\\&').segments).toHaveLength(1);
    expect(parseEr7('MSH|^~\\&').delimiters.truncation).toBeUndefined();
  });

  it('a segment id alone on its line is a segment; an id not followed by the separator is not', () => {
    const m = parseEr7(`${MSH}\rEVN\rPID|1\rPV1X|1\rZBE|1`);
    expect(m.segments.map((s) => s.name)).toStrictEqual(['MSH', 'EVN', 'PID', 'ZBE']);
    expect(m.get('PID-1')).toBe('1\nPV1X');
    expect(m.get('PID-2')).toBe('1');
    expect(m.warnings).toStrictEqual([
      {
        code: '100',
        location: { segment: 'PID', sequence: 1 },
        message: 'Ligne 4 : pas un début de segment, rattachée au segment précédent',
        line: 4,
      },
    ]);
    // lower-case ids are not segments either; the warning names the occurrence of the segment it joins
    const two = parseEr7(`${MSH}\rIN1|1|AMO\rIN1|2|AMC|77554321\rmutuelle générale\rIN2|1`);
    expect(two.warnings.map((w) => [w.location, w.line])).toStrictEqual([[{ segment: 'IN1', sequence: 2 }, 4]]);
    expect(two.get('IN1[2]-3')).toBe('77554321\nmutuelle générale');
    expect(two.segment('IN2')?.line).toBe(5);
    expect(two.segment('IN2')?.position).toBe(4);
  });

  it('the text of the segments is kept as sent, MSH fields numbered from MSH-1', () => {
    const m = parseEr7(`${MSH}\rPID|1||481516`);
    expect(m.msh.fields.slice(0, 4)).toStrictEqual(['MSH', '|', '^~\\&', 'CPAGE']);
    expect(m.segment('PID')?.fields).toStrictEqual(['PID', '1', '', '481516']);
    expect(m.segment('PID')?.raw(3)).toBe('481516');
    expect(m.segment('PID')?.raw(3, undefined, 1)).toBe('481516');
    expect(m.segment('PID')?.raw(3, 1, 2)).toBe('');
    expect(m.segment('PID')?.raw(9)).toBe('');
  });
});

// From the parser's mutation survivors (issue 12).
describe('ER7 values: malformed escapes, raw pieces, empty fields, one-letter components', () => {
  it('a hex escape with a character that is not hex, before or after the digits, is kept as sent', () => {
    const m = parseEr7(`${MSH}\rPID|1||481516||H\\XZZ41\\L\\X41ZZ\\NE^C\\X41\\CILE`);
    expect(m.get('PID-5.1')).toBe('H\\XZZ41\\L\\X41ZZ\\NE');
    expect(m.get('PID-5.2')).toBe('CACILE');
    // An unknown escape whose code is not X is kept as sent, even when hex digits follow it.
    expect(parseEr7(`${MSH}\rPID|1||481516||H\\Z41\\LENE`).get('PID-5.1')).toBe('H\\Z41\\LENE');
  });

  it('a subcomponent of the raw text: the piece asked, not the whole component', () => {
    const pid = parseEr7(`${MSH}\rPID|1||481516^^^CHU-NORD&590780215&N^PI`).segment('PID')!;
    expect(pid.raw(3, 1, 4)).toBe('CHU-NORD&590780215&N');
    expect(pid.raw(3, 1, 4, 2)).toBe('590780215');
    expect(pid.raw(3, 1, 4, 3)).toBe('N');
  });

  it('a field sent empty has no repetition, like an absent one', () => {
    const pid = parseEr7(`${MSH}\rPID|1||481516|||19850714`).segment('PID')!;
    expect(pid.repetitions(4)).toEqual([]);
    expect(pid.repetitions(5)).toEqual([]);
    expect(pid.repetitions(40)).toEqual([]);
    expect(pid.repetitions(3).map((r) => r.get())).toEqual(['481516']);
  });

  it('a one-letter first component or subcomponent is cut at its delimiter', () => {
    const m = parseEr7(`${MSH}\rPID|1||481516^^^A&590780215&N||D^Jean^^^^^L`);
    expect(m.get('PID-5.1')).toBe('D');
    expect(m.get('PID-5.2')).toBe('Jean');
    expect(m.segment('PID')!.get(3, 1, 4, 1)).toBe('A');
  });
});

describe('ER7 header and lines: cut after MSH, blank lines', () => {
  it('a text that is only "MSH": 102 at MSH-1, not a crash', () => {
    const e = refusal('MSH');
    expect(e.code).toBe('102');
    expect(e.location).toEqual({ segment: 'MSH', sequence: 1, field: 1 });
  });

  it('blank lines before a header whose MSH-2 ends the text: the delimiters are read after them', () => {
    const m = parseEr7('\r\n \tMSH|^~\\&');
    expect(m.delimiters).toMatchObject({ field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' });
    expect(m.segments.map((s) => s.name)).toEqual(['MSH']);
  });

  it('a line of blanks between segments is skipped without a warning', () => {
    const m = parseEr7(`${MSH}\r   \r\t\rPID|1||481516`);
    expect(m.warnings).toEqual([]);
    expect(m.segments.map((s) => s.name)).toEqual(['MSH', 'PID']);
    expect(m.segment('PID')!.line).toBe(4);
  });
});
