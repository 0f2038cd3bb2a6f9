/**
 * The ER7 parser's cases its mutation run (issue 12) found untested: malformed hex escapes kept as
 * sent, the subcomponent asked of a raw field, a field sent empty having no repetition, a
 * one-letter first component (`D^Jean`, `A&B`), a header cut right after `MSH`, a message preceded
 * by blank lines whose MSH-2 ends the text, and lines of blanks between segments.
 */
import { Er7Error, parseEr7 } from '../../lib/hl7/er7';

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

describe('ER7 values', () => {
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

describe('ER7 header and lines', () => {
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
