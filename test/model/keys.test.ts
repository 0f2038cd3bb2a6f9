/**
 * The check keys that guard identifiers, over valid AND invalid numbers, Corsica included:
 *
 * - FINESS (lib/model/finess.ts: the establishment configuration refuses a wrong FINESS): Luhn
 *   on 9 characters, 2A/2B read as 20. Known numbers, hand-computed Corsican ones, and a property:
 *   a valid number with one digit changed is refused.
 * - NIR key (97 − NIR mod 97, 2A → 19, 2B → 18): where the code checks it — the DataMatrix reader
 *   (a Vitale card / NIR scanned by mistake is recognised by its valid key and masked) and the AMC
 *   simulator (IDB refuses a NIR whose key does not match, 6000; its seed refuses a wrong key).
 *
 * The expected keys come from a reference written here from the definition, not from the code
 * under test.
 */
import fc from 'fast-check';
import { checkFiness, finessKey } from '../../lib/model/finess';
import { parseAttestation } from '../../lib/datamatrix';
import { loadSeed, nirKey as simulatorNirKey } from '../../simulator/seed';
import { checkRights } from '../../simulator/rights';
import { beneficiaire } from '../support/dossiers';

const FC = { seed: 20261206, numRuns: 300 };

// ---------------------------------------------------------------------------------------- FINESS

/** Reference Luhn over 9 digits (2A/2B read as 20): true when the whole number checks. */
function luhnOk(finess: string): boolean {
  const d = finess.replace(/^2[AB]/i, '20');
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    let x = d.charCodeAt(8 - i) - 48;
    if (i % 2 === 1) {
      x *= 2;
      if (x > 9) x -= 9;
    }
    sum += x;
  }
  return sum % 10 === 0;
}

/** A valid FINESS from 8 characters (reference key). */
function withKey(first8: string): string {
  for (let k = 0; k <= 9; k++) if (luhnOk(first8 + k)) return first8 + k;
  throw new Error('unreachable');
}

const departement = fc.oneof(
  fc
    .integer({ min: 1, max: 95 })
    .filter((n) => n !== 20)
    .map((n) => String(n).padStart(2, '0')),
  fc.constantFrom('2A', '2B', '97'),
);
const validFiness = fc.tuple(departement, fc.stringMatching(/^\d{6}$/)).map(([dep, rest]) => withKey(dep + rest));

describe('FINESS key', () => {
  it.each([
    ['750712184', 'AP-HP (FINESS juridique)'],
    ['750100125', 'a Paris site'],
    ['590780193', 'CHU de Lille (juridique)'],
    ['2A0000016', 'Corse-du-Sud, hand-computed: 20000001 → Luhn 6'],
    ['2B0000016', 'Haute-Corse, same digits'],
    ['2A1100047', 'Corse-du-Sud, hand-computed: 20110004 → Luhn 7'],
    ['2b1100047', 'Haute-Corse in lower case'],
  ])('%s (%s) is valid', (finess) => {
    expect(checkFiness(finess)).toBeNull();
    expect(finessKey(finess.slice(0, 8))).toBe(Number(finess[8]));
  });

  it.each([
    ['750712185', /clé FINESS invalide \(attendue : 4\)/],
    ['2A0000015', /clé FINESS invalide \(attendue : 6\)/],
    ['2B0000017', /clé FINESS invalide \(attendue : 6\)/],
    ['2A1100040', /clé FINESS invalide \(attendue : 7\)/],
    ['2C0000016', /9 caractères/],
    ['3A0000016', /9 caractères/],
    ['75071218', /9 caractères/],
    ['', /FINESS absent/],
  ])('%s is refused', (finess, reason) => {
    expect(checkFiness(finess)).toMatch(reason);
  });

  it('property: every valid FINESS (Corsica included) is accepted, and its key is the reference key', () => {
    fc.assert(
      fc.property(validFiness, (f) => {
        expect(checkFiness(f)).toBeNull();
        expect(finessKey(f.slice(0, 8))).toBe(Number(f[8]));
      }),
      FC,
    );
  });

  it('property: a valid FINESS with one digit changed is refused', () => {
    fc.assert(
      fc.property(validFiness, fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 9 }), (f, pos, delta) => {
        if (!/\d/.test(f[pos])) return; // the A/B of Corsica is not a digit
        const changed = f.slice(0, pos) + String((Number(f[pos]) + delta) % 10) + f.slice(pos + 1);
        expect(checkFiness(changed)).not.toBeNull();
      }),
      FC,
    );
  });
});

// ------------------------------------------------------------------------------------------- NIR

/** Reference NIR key: 97 − (NIR mod 97), 2A read as 19 and 2B as 18 in the department. */
function refNirKey(nir13: string): string {
  const dep = nir13.slice(5, 7).toUpperCase();
  const digits = nir13.slice(0, 5) + (dep === '2A' ? '19' : dep === '2B' ? '18' : dep) + nir13.slice(7);
  return String(97 - Number(BigInt(digits) % 97n)).padStart(2, '0');
}

const validNir13 = fc
  .tuple(
    fc.constantFrom('1', '2'),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 1, max: 12 }),
    departement,
    fc.integer({ min: 1, max: 990 }),
    fc.integer({ min: 1, max: 999 }),
  )
  .map(
    ([s, yy, mm, dep, commune, ordre]) =>
      `${s}${String(yy).padStart(2, '0')}${String(mm).padStart(2, '0')}${dep}${String(commune).padStart(3, '0')}${String(ordre).padStart(3, '0')}`,
  );

/** A valid 15-character NIR with one digit (body or key) changed. */
function oneDigitChanged(full: string, pos: number, delta: number): string | undefined {
  if (!/\d/.test(full[pos])) return undefined;
  return full.slice(0, pos) + String((Number(full[pos]) + delta) % 10) + full.slice(pos + 1);
}

describe('NIR key in the DataMatrix reader (a Vitale card scanned by mistake)', () => {
  it('the seeded NIRs (mainland and Corsica 2A) are recognised by their key', () => {
    for (const id of ['B01', 'B05', 'B24']) {
      const b = beneficiaire(id);
      const r = parseAttestation(b.nir + b.cleNir);
      expect(!r.ok && r.code).toBe('CARTE_VITALE');
    }
  });

  it('a mainland NIR scanned by mistake is masked in the reading', () => {
    const b = beneficiaire('B01');
    const r = parseAttestation(b.nir + b.cleNir);
    expect(!r.ok && r.raw).not.toContain(b.nir.slice(1));
  });

  // The mask pattern must cross the A/B of a Corsican department (a 2A/2B NIR scanned by mistake
  // once stayed in clear in `raw`).
  test('a Corsican (2A) NIR scanned by mistake is masked in the reading too', () => {
    const b = beneficiaire('B24');
    const r = parseAttestation(b.nir + b.cleNir);
    expect(!r.ok && r.raw).not.toContain(b.nir.slice(1));
  });

  it.each([
    ['285043018904245', 'key 45 instead of 44'],
    ['285043018904244'.replace('0430', '0431'), 'one body digit changed'],
    ['148029011701799', 'a 15-digit number whose last two digits are not the key'],
  ])('%s (%s) is not taken for a NIR: a product barcode', (text) => {
    const r = parseAttestation(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe('CODE_BARRES_PRODUIT');
  });

  it('property: a valid NIR is recognised (CARTE_VITALE); with one digit changed it is not', () => {
    fc.assert(
      fc.property(validNir13, fc.integer({ min: 0, max: 14 }), fc.integer({ min: 1, max: 9 }), (nir, pos, delta) => {
        const full = nir + refNirKey(nir);
        const ok = parseAttestation(full);
        expect(!ok.ok && ok.code).toBe('CARTE_VITALE');
        const changed = oneDigitChanged(full, pos, delta);
        if (!changed) return;
        const r = parseAttestation(changed);
        expect(!r.ok && r.code).not.toBe('CARTE_VITALE');
      }),
      FC,
    );
  });
});

describe('NIR key in the AMC simulator (IDB answers 6000 for a wrong key)', () => {
  const index = loadSeed();
  const idb = (nir: string, cleNir: string | undefined, b = beneficiaire('B01')) =>
    checkRights(index, undefined, {
      enTete: { amc: { numeroAmc: b.amc.numeroAmc } },
      beneficiaire: { nir, ...(cleNir === undefined ? {} : { cleNir }), dateNaissance: b.dateNaissance },
    });

  it('accepts the key of the seeded beneficiaries, mainland and Corsica (the search goes on: not 6000)', () => {
    for (const id of ['B01', 'B24']) {
      const b = beneficiaire(id);
      expect(simulatorNirKey(b.nir)).toBe(refNirKey(b.nir));
      expect(idb(b.nir, b.cleNir, b)).not.toMatchObject({ code: '6000' });
    }
  });

  it.each([
    ['B01', '45'],
    ['B01', '00'],
    ['B24', '47'],
    ['B24', refNirKey('274102B004023')], // the key of the 2B twin is not the 2A one
  ])('%s with key %s: 6000 « clé du NIR erronée »', (id, key) => {
    const b = beneficiaire(id);
    expect(idb(b.nir, key, b)).toMatchObject({ ok: false, code: '6000', libelle: expect.stringMatching(/clé du NIR erronée/) });
  });

  it('property: the simulator key is the reference key; any other key is refused', () => {
    fc.assert(
      fc.property(validNir13, fc.integer({ min: 1, max: 96 }), (nir, shift) => {
        const key = refNirKey(nir);
        expect(simulatorNirKey(nir)).toBe(key);
        const wrong = String(((Number(key) - 1 + shift) % 97) + 1).padStart(2, '0');
        expect(idb(nir, wrong)).toMatchObject({ ok: false, code: '6000' });
      }),
      FC,
    );
  });

  it('the seed refuses a beneficiary whose key does not match its NIR', () => {
    const seed = JSON.parse(JSON.stringify(index.seed));
    seed.beneficiaires[0].cleNir = '45';
    expect(() => loadSeed(seed)).toThrow(/cleNir 45 does not match the NIR \(expected 44\)/);
  });
});
