import { AnnuaireCache, cacheKey, type AnnuaireAnswer } from '../../lib/sel/cache';

const answer = (numeroAmc: string, status: 'OK' | 'KO' = 'OK'): AnnuaireAnswer => ({
  status,
  amc: { numeroAmc, nom: 'Mutuelle des Cévennes', enRoc: status === 'OK' },
  services: status === 'OK' ? { idb: `https://amc-${numeroAmc}.example/idb`, clc: `https://amc-${numeroAmc}.example/clc` } : undefined,
  messages: [],
  requestId: 'req-' + numeroAmc,
  at: 0,
});

describe('annuaire cache', () => {
  let t = 0;
  const now = () => t;
  const k = cacheKey('0775685365', 'MU', '');
  beforeEach(() => {
    t = 5_000_000;
  });

  it('keys on (numéro AMC, type de convention, CSR)', () => {
    const c = new AnnuaireCache({ now });
    c.set(cacheKey('0633014527', 'SP', 'RAIL'), answer('0633014527'));
    expect(c.get(cacheKey('0633014527', 'SP', 'RAIL'))).toBeDefined();
    expect(c.get(cacheKey('0633014527', 'SP', ''))).toBeUndefined();
    expect(c.get(cacheKey('0633014527', 'MU', 'RAIL'))).toBeUndefined();
  });

  it('uses DureeValiditeSecondes from the directory, else the configured TTL', () => {
    const c = new AnnuaireCache({ ttlMs: 60_000, now });
    c.set(k, answer('0775685365'), 600);
    t += 599_999;
    expect(c.get(k)).toBeDefined();
    t += 1;
    expect(c.get(k)).toBeUndefined();

    const k2 = cacheKey('0441927302', 'IS');
    c.set(k2, answer('0441927302'));
    t += 59_999;
    expect(c.get(k2)).toBeDefined();
    t += 1;
    expect(c.get(k2)).toBeUndefined();
  });

  it('keeps "AMC unknown" answers only for the short negative TTL', () => {
    const c = new AnnuaireCache({ ttlMs: 3_600_000, negativeTtlMs: 30_000, now });
    c.set(k, answer('0775685365', 'KO'), 3600);
    t += 30_000;
    expect(c.get(k)).toBeUndefined();
  });

  it('serves an expired entry as last-known-good', () => {
    const c = new AnnuaireCache({ ttlMs: 1_000, now });
    c.set(k, answer('0775685365'));
    t += 10_000;
    expect(c.get(k)).toBeUndefined();
    expect(c.getStale(k)?.services?.idb).toBe('https://amc-0775685365.example/idb');
  });

  it('refresh on error: a failing endpoint from the entry expires it, another URL does not', () => {
    const c = new AnnuaireCache({ now });
    c.set(k, answer('0775685365'));
    expect(c.invalidateEndpoint(k, 'https://ailleurs.example/idb')).toBe(false);
    expect(c.get(k)).toBeDefined();
    expect(c.invalidateEndpoint(k, 'https://amc-0775685365.example/clc')).toBe(true);
    expect(c.get(k)).toBeUndefined();
    expect(c.getStale(k)).toBeDefined(); // still there for an outage of the directory
  });

  it('drops the least recently used entry beyond its size', () => {
    const c = new AnnuaireCache({ maxEntries: 2, now });
    const a = cacheKey('0000000001');
    const b = cacheKey('0000000002');
    const d = cacheKey('0000000003');
    c.set(a, answer('0000000001'));
    c.set(b, answer('0000000002'));
    c.get(a); // a is now more recent than b
    c.set(d, answer('0000000003'));
    expect(c.size).toBe(2);
    expect(c.getStale(b)).toBeUndefined();
    expect(c.get(a)).toBeDefined();
    expect(c.get(d)).toBeDefined();
  });
});
