/**
 * The seed: valid as shipped (NIR keys, references, profile codes), every scenario present,
 * clear errors for a broken seed, and the directory lookup rules.
 */
import { PROFILE } from '../../lib/sel/profile';
import { HOSTILE_MODES, loadSeed, lookupAnnuaire, nirKey, SeedError, type Seed } from '../../simulator/seed';

const index = loadSeed();
const seed = index.seed;

function clone(): Seed {
  return JSON.parse(JSON.stringify(seed)) as Seed;
}

describe('NIR key', () => {
  test('97 − (NIR mod 97)', () => {
    expect(nirKey('2850430189042')).toBe('44');
    expect(nirKey('1010184007155')).toBe('97');
    expect(nirKey('2480630007301')).toBe('09');
  });

  test('Corsica: 2A counts as 19, 2B as 18', () => {
    expect(nirKey('274102A004023')).toBe(nirKey('2741019004023'));
    expect(nirKey('274102A004023')).toBe('46');
    expect(nirKey('185052B123456')).toBe(nirKey('1850518123456'));
  });

  test('a malformed NIR is refused', () => {
    expect(() => nirKey('28504301890')).toThrow(SeedError);
  });
});

describe('the shipped seed', () => {
  test('has the AMCs the brief asks for: an operator fronting three AMCs, a direct one, one outside ROC, an unknown number', () => {
    const real = seed.amcs.filter((a) => !a.testOnly);
    expect(real.length).toBeGreaterThanOrEqual(5);
    const viaTpso = real.filter((a) => a.routes.some((r) => r.operateur === 'tpso'));
    expect(viaTpso.map((a) => a.numeroAmc)).toEqual(['0775685365', '0441927302', '0633014527']);
    expect(real.find((a) => a.routes.some((r) => r.csr))?.id).toBe('rail');
    expect(real.filter((a) => !a.enRoc).map((a) => a.id)).toEqual(['hautes-alpes']);
    expect(new Set(real.flatMap((a) => a.typesConvention))).toEqual(new Set(['MU', 'IS', 'SP']));
    for (const n of seed.unknownNumbers ?? []) expect(index.amcs.has(n)).toBe(false);
  });

  test('every hostile mode has a test-only AMC', () => {
    const hostile = seed.amcs.filter((a) => a.hostile);
    expect(hostile.map((a) => a.hostile).sort()).toEqual([...HOSTILE_MODES].sort());
    expect(hostile.every((a) => a.testOnly)).toBe(true);
  });

  test('at least twenty beneficiaries, valid NIR keys, leading zeros kept in some member numbers', () => {
    expect(seed.beneficiaires.length).toBeGreaterThanOrEqual(20);
    for (const b of seed.beneficiaires) {
      expect(b.nir).toHaveLength(13);
      expect(nirKey(b.nir)).toBe(b.cleNir);
      expect(b.attestation.debutValidite <= b.attestation.finValidite).toBe(true);
    }
    expect(seed.beneficiaires.filter((b) => b.numeroAdherent?.startsWith('0')).length).toBeGreaterThanOrEqual(3);
  });

  test('every scenario of the seed has at least one beneficiary and a description', () => {
    const used = new Set(seed.beneficiaires.map((b) => b.scenario));
    expect(new Set(Object.keys(seed.scenarios ?? {}))).toEqual(used);
    for (const s of [
      'droits-ok',
      'beneficiaire-inconnu',
      'droits-fermes',
      'non-eligible',
      'adherent-obligatoire',
      'priorite-garantie',
      'verifier-attestation',
      'incident-technique',
      'delai-depasse',
      'reponse-lente',
      'couverture-partielle',
      'chambre-plafond',
      'consigne-facture-papier',
      'operateur-csr',
    ]) {
      expect(used).toContain(s);
    }
  });

  test('contract rules only use prestation codes of the profile and the five modes', () => {
    const codes = PROFILE.codeLists.prestation as readonly string[];
    for (const c of seed.contrats) for (const code of Object.keys(c.regles)) expect(codes).toContain(code);
    const modes = new Set(seed.contrats.flatMap((c) => Object.values(c.regles).map((r) => r.mode)));
    expect(modes).toEqual(new Set(['TM', 'BASE', 'FORFAIT', 'PLAFOND_JOUR', 'NON_COUVERT']));
  });

  test('the unregistered beneficiary is not indexed; the twins share one NIR', () => {
    const b04 = seed.beneficiaires.find((b) => b.id === 'B04')!;
    expect(index.beneficiaries.get('0775685365')?.get(b04.nir)).toBeUndefined();
    expect(
      index.beneficiaries
        .get('0775685365')
        ?.get('2860330189210')
        ?.map((b) => b.id),
    ).toEqual(['B21', 'B22', 'B23']);
  });
});

describe('a broken seed is refused with the place and the cause', () => {
  test.each([
    [
      'a wrong NIR key',
      (s: Seed) => (s.beneficiaires[0].cleNir = '45'),
      /beneficiaire B01: cleNir 45 does not match the NIR \(expected 44\)/,
    ],
    ['an unknown contract', (s: Seed) => (s.beneficiaires[1].contrat = 'nope'), /beneficiaire B02: unknown contrat nope/],
    [
      'an unknown prestation code',
      (s: Seed) => (s.contrats[0].regles.XX = { mode: 'TM', taux: 100 }),
      /contrat cev-hospi-100: rule for unknown prestation code "XX"/,
    ],
    ['an unknown rule mode', (s: Seed) => (s.contrats[0].regles.GHS = { mode: 'MAGIC' }), /unknown rule mode "MAGIC"/],
    ['a TM rule without rate', (s: Seed) => (s.contrats[0].regles.GHS = { mode: 'TM' }), /TM needs a non-negative number "taux"/],
    ['a 9-digit AMC number', (s: Seed) => (s.amcs[0].numeroAmc = '775685365'), /amc cevennes: numeroAmc "775685365" must be 10 digits/],
    ['a route to an unknown operator', (s: Seed) => (s.amcs[0].routes = [{ operateur: 'ghost' }]), /route to unknown operator "ghost"/],
    ['a hostile AMC not flagged testOnly', (s: Seed) => (s.amcs[5].testOnly = false), /hostile AMC must be flagged testOnly/],
    [
      'an unknown number present in the directory',
      (s: Seed) => (s.unknownNumbers = ['0775685365']),
      /unknownNumbers: 0775685365 is in the directory/,
    ],
  ])('%s', (_name, breakIt, message) => {
    const s = clone();
    breakIt(s);
    expect(() => loadSeed(s)).toThrow(message);
  });

  test('an unreadable file or bad JSON', () => {
    expect(() => loadSeed('/nonexistent/seed.json')).toThrow(/seed: cannot read \/nonexistent\/seed.json/);
  });
});

describe('directory lookup', () => {
  test('unknown number → 6010; wrong convention type → 6011', () => {
    expect(lookupAnnuaire(index, '0312987654', 'MU')).toEqual({ found: false, code: '6010' });
    expect(lookupAnnuaire(index, '0441927302', 'MU')).toEqual({ found: false, code: '6011' });
  });

  test('CSR match is case-insensitive; no CSR takes the default route', () => {
    const a = lookupAnnuaire(index, '0633014527', 'SP', 'rail');
    expect(a.found && a.enRoc && a.accessPoint.id).toBe('tpso');
    const b = lookupAnnuaire(index, '0633014527', undefined, undefined);
    expect(b.found && b.enRoc && b.accessPoint.id).toBe('rail');
  });
});
