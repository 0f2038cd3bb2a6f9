/**
 * The SQLite journal's input and column helpers (lib/store/sqlite/rows.ts): what a text field
 * accepts (absent, null and empty are "none"; a string up to its bound), page limits, and the
 * date and optional-column readers.
 */
import { iso, limitOf, opt, text } from '../../lib/store/sqlite/rows';

describe('text', () => {
  it('absent, null and empty are none; a string up to the bound is kept; longer or not a string is refused', () => {
    expect(text(undefined, 'controlId')).toBeNull();
    expect(text(null, 'controlId')).toBeNull();
    expect(text('', 'controlId')).toBeNull();
    expect(text('CPAGE', 'sendingApplication')).toBe('CPAGE');
    const exactly = 'H'.repeat(200);
    expect(text(exactly, 'sendingFacility')).toBe(exactly);
    expect(() => text(exactly + 'H', 'sendingFacility')).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT', message: 'sendingFacility is longer than 200 characters' }),
    );
    expect(text('ADT^A01^ADT_A01', 'event', 15)).toBe('ADT^A01^ADT_A01');
    expect(() => text(2575, 'channel')).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message: 'channel must be a string' }));
  });
});

describe('limitOf', () => {
  it('100 by default, at most 1000, refuses what is not a positive integer', () => {
    expect(limitOf(undefined)).toBe(100);
    expect(limitOf(1)).toBe(1);
    expect(limitOf(5000)).toBe(1000);
    for (const bad of [0, -1, 2.5, Number.NaN]) {
      expect(() => limitOf(bad)).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message: 'limit must be a positive integer' }));
    }
  });
});

describe('iso and opt', () => {
  it('a column in ms reads as an ISO date, NULL as nothing; an optional column NULL as nothing, 0 as 0', () => {
    expect(iso(Date.parse('2026-11-25T10:00:00Z'))).toBe('2026-11-25T10:00:00.000Z');
    expect(iso(null)).toBeUndefined();
    expect(iso('2026-11-25')).toBeUndefined();
    expect(opt(null)).toBeUndefined();
    expect(opt(undefined)).toBeUndefined();
    expect(opt(0)).toBe(0);
    expect(opt('')).toBe('');
  });
});
