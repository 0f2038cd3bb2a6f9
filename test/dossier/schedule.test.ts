/**
 * Re-check backoff and IDB renewal dates (lib/dossier/schedule.ts) with a clock the test moves.
 */
import fc from 'fast-check';
import {
  DEFAULT_RECHECK,
  checkRecheckSettings,
  idbRenewalDue,
  isIdbRenewalDue,
  isRecheckDue,
  nextRecheck,
  recheckDelayMs,
} from '../../lib/dossier/schedule';
import { TestClock } from './fixtures';

describe('re-check backoff', () => {
  it('defaults to 1, 5, 15, 60 minutes, then hourly', () => {
    expect([1, 2, 3, 4, 5, 6, 40].map((n) => recheckDelayMs(n) / 60_000)).toEqual([1, 5, 15, 60, 60, 60, 60]);
  });

  it('follows the site’s own list', () => {
    const s = { backoffMinutes: [2, 10], thenEveryMinutes: 30, daysAfterDischarge: 3 };
    expect([1, 2, 3, 4].map((n) => recheckDelayMs(n, s) / 60_000)).toEqual([2, 10, 30, 30]);
  });

  it('gives the next date from the clock', () => {
    const clock = TestClock.at('2026-11-20T08:30:00Z');
    expect(nextRecheck(1, clock, { dateSortie: '2026-11-24' })?.toISOString()).toBe('2026-11-20T08:31:00.000Z');
    clock.advanceMinutes(1);
    expect(nextRecheck(2, clock, { dateSortie: '2026-11-24' })?.toISOString()).toBe('2026-11-20T08:36:00.000Z');
  });

  it('stops N days after discharge (end of that day)', () => {
    const clock = TestClock.at('2026-12-01T22:59:00Z');
    expect(nextRecheck(9, clock, { dateSortie: '2026-11-24' })?.toISOString()).toBe('2026-12-01T23:59:00.000Z');
    clock.set('2026-12-01T23:01:00Z');
    expect(nextRecheck(9, clock, { dateSortie: '2026-11-24' })).toBeUndefined();
  });

  it('without a discharge date, stops N days after the first failure', () => {
    const clock = TestClock.at('2026-11-27T07:30:00Z');
    const firstFailure = new Date('2026-11-20T08:30:00Z');
    expect(nextRecheck(9, clock, { firstFailure })?.toISOString()).toBe('2026-11-27T08:30:00.000Z');
    clock.advanceMinutes(1);
    expect(nextRecheck(9, clock, { firstFailure })).toBeUndefined();
  });

  it('dates never go backwards and never exceed the deadline (property, fixed seed)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 20 * 24 * 60 }), (attempt, minutes) => {
        const clock = TestClock.at('2026-11-20T08:30:00Z');
        clock.advanceMinutes(minutes);
        const next = nextRecheck(attempt, clock, { dateSortie: '2026-11-24' });
        if (next) {
          expect(next.getTime()).toBeGreaterThan(clock.now().getTime());
          expect(next.getTime()).toBeLessThanOrEqual(Date.parse('2026-12-02T00:00:00Z'));
        }
      }),
      { seed: 20261206, numRuns: 300 },
    );
  });

  it('refuses settings that make no sense, in French', () => {
    expect(checkRecheckSettings(DEFAULT_RECHECK)).toBeNull();
    expect(checkRecheckSettings({ ...DEFAULT_RECHECK, backoffMinutes: [1, -5] })).toBe(
      'les délais de revérification sont des minutes positives',
    );
    expect(checkRecheckSettings({ ...DEFAULT_RECHECK, thenEveryMinutes: 0 })).toMatch(/intervalle/);
    expect(checkRecheckSettings({ ...DEFAULT_RECHECK, daysAfterDischarge: 1.5 })).toMatch(/jours après la sortie/);
  });

  it('a re-check is due once its date has come', () => {
    const clock = TestClock.at('2026-11-20T08:30:59Z');
    const d = { reverification: { prochaine: '2026-11-20T08:31:00.000Z' } };
    expect(isRecheckDue(d, clock)).toBe(false);
    clock.set('2026-11-20T08:31:00Z');
    expect(isRecheckDue(d, clock)).toBe(true);
    expect(isRecheckDue({}, clock)).toBe(false);
  });
});

describe('IDB renewal', () => {
  it('is due the day after the IDB answer’s validity date, or earlier with a lead time', () => {
    expect(idbRenewalDue('2026-11-30')?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(idbRenewalDue('2026-11-30', 6)?.toISOString()).toBe('2026-11-30T18:00:00.000Z');
    expect(idbRenewalDue(undefined)).toBeUndefined();
    expect(idbRenewalDue('pas une date')).toBeUndefined();
  });

  it('only for a stay still open past the validity date', () => {
    const clock = TestClock.at('2026-12-01T00:00:00Z');
    expect(isIdbRenewalDue({ idbValidite: '2026-11-30', sejour: {} }, clock)).toBe(true);
    expect(isIdbRenewalDue({ idbValidite: '2026-11-30', sejour: { dateSortie: '2026-11-28' } }, clock)).toBe(false);
    expect(isIdbRenewalDue({ idbValidite: '2026-11-30', sejour: { dateSortie: '2026-12-03' } }, clock)).toBe(true);
    expect(isIdbRenewalDue({ sejour: {} }, clock)).toBe(false);
    clock.set('2026-11-30T23:59:59Z');
    expect(isIdbRenewalDue({ idbValidite: '2026-11-30', sejour: {} }, clock)).toBe(false);
  });
});

describe('spread of re-checks', () => {
  it("lengthens each dossier's delay by its own share (up to the spread), the same every time for a key", () => {
    const s = { ...DEFAULT_RECHECK, spread: 0.2 };
    const keys = Array.from({ length: 200 }, (_, i) => `750712192/V/26${String(i).padStart(7, '0')}`);
    const delays = keys.map((k) => recheckDelayMs(1, s, k));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(60_000);
      expect(d).toBeLessThan(72_000);
    }
    // spread over the window, not bunched: every second of the 12 s window is used
    expect(new Set(delays.map((d) => Math.floor((d - 60_000) / 1000))).size).toBe(12);
    expect(keys.map((k) => recheckDelayMs(1, s, k))).toEqual(delays);
    // no key, or no spread: the plain delay
    expect(recheckDelayMs(1, s)).toBe(60_000);
    expect(recheckDelayMs(1, DEFAULT_RECHECK, keys[0])).toBe(60_000);
  });
});
