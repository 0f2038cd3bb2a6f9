/**
 * The compact date helper shared by the HL7 (PAM-FR) and HPRIM readers: what a GAP sends
 * (AAAAMMJJ[HHMM[SS[.S…]]][±HHMM]) becomes an ISO string at the precision sent, or is refused.
 */
import fc from 'fast-check';
import { compactDateToIso, digitsDateToIso } from '../../lib/model/dates';
import { hl7DateToIso } from '../../lib/hl7/pamfr';

describe('compactDateToIso', () => {
  it.each([
    ['2024', '2024'],
    ['202403', '2024-03'],
    ['19790328', '1979-03-28'],
    ['2026031214', '2026-03-12T14:00'],
    ['202603121415', '2026-03-12T14:15'],
    ['20260312141507', '2026-03-12T14:15:07'],
    ['20260312141507.1', '2026-03-12T14:15:07.1'],
    ['20260312141507.1234', '2026-03-12T14:15:07.1234'],
  ])('%s → %s (the precision sent, nothing invented)', (hl7, iso) => {
    expect(compactDateToIso(hl7)).toBe(iso);
  });

  it('keeps a time zone on a time (+01:00 winter, +02:00 summer, -05:00, up to ±14:00), drops it on a date alone', () => {
    expect(compactDateToIso('202601151030+0100')).toBe('2026-01-15T10:30+01:00');
    expect(compactDateToIso('20260715103000+0200')).toBe('2026-07-15T10:30:00+02:00');
    expect(compactDateToIso('20260312141507.123-0500')).toBe('2026-03-12T14:15:07.123-05:00');
    expect(compactDateToIso('20260312141507+1400')).toBe('2026-03-12T14:15:07+14:00');
    expect(compactDateToIso('20260312+0100')).toBe('2026-03-12');
  });

  it('checks the calendar: leap years (2024, 2000 yes; 2023, 1900 no), month lengths', () => {
    expect(compactDateToIso('20240229')).toBe('2024-02-29');
    expect(compactDateToIso('20000229')).toBe('2000-02-29');
    for (const bad of ['20230229', '19000229', '20260431', '20260631', '20260230', '20260100', '20260001', '20261301'])
      expect(compactDateToIso(bad)).toBeUndefined();
    expect(compactDateToIso('20261231')).toBe('2026-12-31');
  });

  it.each([
    ['', 'empty'],
    ['202', 'odd length'],
    ['2026031', 'odd length'],
    ['202603121415070', 'too long'],
    ['2026-03-12', 'ISO, not HL7'],
    ['12/03/2026', 'French writing'],
    ['2026031224', 'hour 24'],
    ['202603122360', 'minute 60'],
    ['20260312235960', 'second 60'],
    ['202603121415.5', 'fraction without seconds'],
    ['20260312141507.', 'empty fraction'],
    ['20260312141507.12345', 'fraction over 4 digits'],
    ['20260312141507+01', 'short zone'],
    ['20260312141507+1500', 'zone over 14 h'],
    ['20260312141507+0160', 'zone minutes 60'],
    ['2026O312', 'a letter O for a zero'],
  ])('%j is refused (%s)', (hl7) => {
    expect(compactDateToIso(hl7)).toBeUndefined();
  });

  it('is the helper lib/hl7 has always exported as hl7DateToIso', () => {
    expect(hl7DateToIso).toBe(compactDateToIso);
  });

  it('any valid instant written in the compact form reads back to the same ISO text (fixed seed)', () => {
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    fc.assert(
      fc.property(
        fc.date({ min: new Date(Date.UTC(1900, 0, 1)), max: new Date(Date.UTC(2099, 11, 31, 23, 59, 59)), noInvalidDate: true }),
        (d) => {
          const compact = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
          expect(compactDateToIso(compact)).toBe(d.toISOString().slice(0, 19));
          expect(compactDateToIso(compact.slice(0, 8))).toBe(d.toISOString().slice(0, 10));
        },
      ),
      { seed: 20260312, numRuns: 500 },
    );
  });
});

describe('digitsDateToIso (HPRIM: digits only)', () => {
  it('reads AAAAMMJJ[HHMM[SS]] and refuses zones, fractions and anything not digits', () => {
    expect(digitsDateToIso('20260315170000')).toBe('2026-03-15T17:00:00');
    expect(digitsDateToIso('19850213')).toBe('1985-02-13');
    expect(digitsDateToIso('20260315170000+0100')).toBeUndefined();
    expect(digitsDateToIso('20260315170000.5')).toBeUndefined();
    expect(digitsDateToIso(' 19850213')).toBeUndefined();
    expect(digitsDateToIso('19850230')).toBeUndefined();
  });
});
