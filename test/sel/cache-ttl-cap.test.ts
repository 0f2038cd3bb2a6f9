/**
 * The annuaire cache bounds the TTL the directory sends (DureeValiditeSecondes): a directory that
 * says "valid for a month" (or a typo: a year) must not pin an AMC's endpoints for that long —
 * the entry expires at maxTtlMs (default 24 h) and the directory is asked again. Controllable clock.
 */
import { AnnuaireCache, cacheKey, type AnnuaireAnswer } from '../../lib/sel/cache';

const ok: AnnuaireAnswer = {
  status: 'OK',
  amc: { numeroAmc: '0775685365', nom: 'Mutuelle des Cévennes', enRoc: true },
  services: { idb: 'https://amc-cevennes.example/idb', clc: 'https://amc-cevennes.example/clc' },
  messages: [],
  requestId: 'req-cap',
  at: 0,
};
const H = 3_600_000;
const k = cacheKey('0775685365', 'MU', '');

describe('annuaire cache: the directory TTL is capped', () => {
  let t = 0;
  const now = () => t;
  beforeEach(() => {
    t = 1_764_000_000_000;
  });

  it.each([
    ['a week', 7 * 24 * 3600],
    ['a year', 365 * 24 * 3600],
    ['just over a day', 24 * 3600 + 1],
  ])('a directory TTL of %s lasts the default cap of 24 h, not more', (_n, seconds) => {
    const c = new AnnuaireCache({ now });
    expect(c.maxTtlMs).toBe(24 * H);
    c.set(k, ok, seconds);
    t += 24 * H - 1;
    expect(c.get(k)).toBeDefined();
    t += 1;
    expect(c.get(k)).toBeUndefined(); // asked again…
    expect(c.getStale(k)).toBe(ok); // …but still the last-known-good during an outage
  });

  it('a configured cap (2 h) bounds a 3 h directory TTL; a 1 h directory TTL, under the cap, is kept', () => {
    const c = new AnnuaireCache({ now, maxTtlMs: 2 * H, ttlMs: 10 * 60_000 });
    c.set(k, ok, 3 * 3600);
    t += 2 * H - 1;
    expect(c.get(k)).toBeDefined();
    t += 1;
    expect(c.get(k)).toBeUndefined();

    const k2 = cacheKey('0441927302', 'IS', '');
    c.set(k2, ok, 3600);
    t += H - 1;
    expect(c.get(k2)).toBeDefined();
    t += 1;
    expect(c.get(k2)).toBeUndefined();
  });

  it('the cap also bounds a TTL far beyond what a timer could hold, and a cap of 0 means no caching of directory TTLs', () => {
    const c = new AnnuaireCache({ now, maxTtlMs: 6 * H });
    c.set(k, ok, Number.MAX_SAFE_INTEGER);
    t += 6 * H;
    expect(c.get(k)).toBeUndefined();

    const zero = new AnnuaireCache({ now, maxTtlMs: 0 });
    zero.set(k, ok, 3600);
    expect(zero.get(k)).toBeUndefined();
  });
});
