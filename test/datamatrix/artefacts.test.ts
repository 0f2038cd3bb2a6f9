import * as fs from 'fs';
import * as path from 'path';
import { applyMixup, DEFAULT_GRAMMARS, encodeAttestationText, parseAttestation, type ParseResult } from '../../lib/datamatrix';
import { CEVENNES, CEVENNES_TEXT, GS, nirKey } from './helpers';

const EXPECTED = {
  numeroAmc: '0075500017',
  typesConvention: ['IS', 'SP'],
  numeroAdherent: '00012345',
  debutValidite: '2026-01-01',
  finValidite: '2026-12-31',
  adressage: 'M/33/OC/1/seine.fr',
};

function repaired(r: ParseResult, codes: string[]): void {
  if (!r.ok) throw new Error(`expected a repaired reading, got ${r.code}: ${r.reason}`);
  expect(r.attestation).toMatchObject(EXPECTED);
  expect(r.attestation.text).toBe(CEVENNES_TEXT);
  expect(r.attestation.repairs.map((x) => x.code)).toEqual(codes);
}

function refused(r: ParseResult): { code: string; reason: string; raw: string } {
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.attestation)}`);
  return r;
}

describe('scanner artefacts repaired without ambiguity', () => {
  test.each([
    ['CR LF', '\r\n'],
    ['CR', '\r'],
    ['LF', '\n'],
    ['tab', '\t'],
    ['tab then CR LF', '\t\r\n'],
  ])('keyboard-wedge suffix %s is removed', (_n, suffix) => {
    const r = parseAttestation(CEVENNES_TEXT + suffix);
    repaired(r, ['SUFFIXE_CLAVIER']);
    expect(r.ok && r.attestation.raw).toBe(CEVENNES_TEXT + suffix);
    expect(r.ok && r.attestation.repairs[0].message).toMatch(/retour à la ligne ou une tabulation en fin de lecture/);
  });

  test('the AIM symbology identifier ]d1 is removed', () => {
    const r = parseAttestation(']d1' + CEVENNES_TEXT);
    repaired(r, ['PREFIXE_AIM']);
    expect(r.ok && r.attestation.repairs[0].message).toContain('« ]d1 »');
  });

  test('a leading FNC1 (GS1 mode) is removed, alone or after the AIM identifier', () => {
    repaired(parseAttestation(']d1' + GS + CEVENNES_TEXT), ['PREFIXE_AIM', 'FNC1_INITIAL']);
    repaired(parseAttestation(GS + CEVENNES_TEXT), ['FNC1_INITIAL']);
    expect(parseAttestation(GS + CEVENNES_TEXT)).toMatchObject({
      ok: true,
      attestation: { repairs: [{ message: expect.stringMatching(/FNC1.*au tout début/) }] },
    });
  });

  test.each(['<GS>', '[GS]', '{GS}', '<FNC1>', '^]', '\u241d', '\\x1D', '<gs>'])('GS sent as the text %s', (token) => {
    const r = parseAttestation(CEVENNES_TEXT.split(GS).join(token));
    repaired(r, ['SEPARATEUR_TEXTE']);
    expect(r.ok && r.attestation.repairs[0].message).toContain(`« ${token} »`);
  });

  test.each([
    ['RS (0x1E)', '\u001e', '<1E>'],
    ['FS (0x1C)', '\u001c', '<1C>'],
    ['FNC1 as byte 232 (è)', '\u00e8', 'è (FNC1)'],
    ['tab', '\t', '<09>'],
  ])('GS sent as another character: %s', (_n, ch, shown) => {
    const r = parseAttestation(CEVENNES_TEXT.split(GS).join(ch));
    repaired(r, ['SEPARATEUR_CONTROLE']);
    expect(r.ok && r.attestation.repairs[0].message).toContain(shown);
  });

  test('QWERTY scanner on an AZERTY workstation: digits typed as &é"\'(-è_çà', () => {
    const garbled = applyMixup(CEVENNES_TEXT, 'qwertyOnAzerty');
    // What the clerk actually sees in the field.
    expect(garbled.split(GS)).toEqual(['QTPà&', 'è((ààà&è', 'ISSP', '', 'ààà&é"\'(', '?!""!OC!&!seine:fr', 'éàé-à&à&', 'éàé-&é"&']);
    const r = parseAttestation(garbled + '\r\n');
    repaired(r, ['AZERTY_DIGITS', 'SUFFIXE_CLAVIER']);
    expect(r.ok && r.attestation.repairs[0].message).toMatch(/configuré en clavier QWERTY alors que le poste est en AZERTY/);
    expect(r.ok && r.attestation.raw).toBe(garbled + '\r\n');
  });

  test('AZERTY scanner on a QWERTY workstation: digits typed as !@#$%^&*()', () => {
    const garbled = applyMixup(CEVENNES_TEXT, 'azertyOnQwerty');
    expect(garbled.startsWith('QTP)!')).toBe(true);
    repaired(parseAttestation(garbled), ['QWERTY_DIGITS']);
  });

  test('Caps Lock on: case inverted', () => {
    const swapped = 'atp01' + CEVENNES_TEXT.slice(5).replace('ISSP', 'issp').replace('M/33/OC/1/seine.fr', 'm/33/oc/1/SEINE.FR');
    const r = parseAttestation(swapped);
    repaired(r, ['VERROUILLAGE_MAJUSCULES']);
    expect(r.ok && r.attestation.repairs[0].message).toMatch(/Verr\. Maj/);
  });

  test('several artefacts at once: AIM prefix, GS as <GS>, CR suffix', () => {
    repaired(parseAttestation(']d1' + CEVENNES_TEXT.split(GS).join('<GS>') + '\r'), ['SUFFIXE_CLAVIER', 'PREFIXE_AIM', 'SEPARATEUR_TEXTE']);
  });

  test('dropped GS with the fixed-width grammar (ATF01): fields recovered from their widths', () => {
    const text = encodeAttestationText(CEVENNES, DEFAULT_GRAMMARS[1]);
    const r = parseAttestation(text.split(GS).join('') + '\n');
    expect(r.ok && r.attestation).toMatchObject({ ...EXPECTED, grammar: { id: 'roc-bridge-atp-gs-largeurs-fixes' } });
    expect(r.ok && r.attestation.repairs.map((x) => x.code)).toEqual(['SUFFIXE_CLAVIER', 'SEPARATEURS_ABSENTS_RECONSTITUES']);
    expect(r.ok && r.attestation.text).toBe(text);
  });
});

describe('artefacts that cannot be repaired are refused with a specific message', () => {
  test('dropped GS with the default (variable-length) grammar', () => {
    const r = refused(parseAttestation(CEVENNES_TEXT.split(GS).join('') + '\r\n'));
    expect(r.code).toBe('SEPARATEURS_ABSENTS');
    expect(r.reason).toMatch(/aucun séparateur \(GS\).*configuration du lecteur.*GS \(FNC1\)/);
  });

  test('dropped GS and a half scan with the fixed-width grammar', () => {
    const text = encodeAttestationText(CEVENNES, DEFAULT_GRAMMARS[1]).split(GS).join('');
    const r = refused(parseAttestation(text.slice(0, 60)));
    expect(r.code).toBe('SCAN_INCOMPLET');
  });

  test('a keyboard mix-up is only repaired when the result validates, and the refusal says what remains', () => {
    const bad = CEVENNES_TEXT.replace('20261231', '20260230');
    const r = refused(parseAttestation(applyMixup(bad, 'qwertyOnAzerty')));
    expect(r.code).toBe('DATE_INVALIDE');
    expect(r.reason).toMatch(/30 février 2026 n’existe pas.*Remarque : Le lecteur est configuré en clavier QWERTY/);
  });

  test('every half scan (the scanner stopped anywhere in the symbol) is refused as incomplete', () => {
    for (let cut = 2; cut < CEVENNES_TEXT.length; cut++) {
      const r = parseAttestation(CEVENNES_TEXT.slice(0, cut));
      expect({ cut, code: r.ok ? 'OK' : r.code }).toEqual({ cut, code: 'SCAN_INCOMPLET' });
    }
    const r = refused(parseAttestation(CEVENNES_TEXT.slice(0, 30)));
    expect(r.reason).toMatch(/La lecture est incomplète \(5 champ\(s\) lu\(s\) sur 7\).*arrêté au milieu du code.*Scannez à nouveau/);
    expect(refused(parseAttestation(CEVENNES_TEXT.slice(0, -3))).reason).toMatch(/date de fin de validité est coupée/);
  });

  test('empty scans', () => {
    for (const s of ['', '\r\n', '   \t', '\u001d']) {
      const r = refused(parseAttestation(s));
      expect(r.code).toBe('SCAN_VIDE');
      expect(r.reason).toMatch(/lecture est vide/);
    }
  });

  test('a Vitale card / NIR scanned by mistake: refused, and the NIR is masked in raw and message', () => {
    const nir = '2850430189042';
    const full = nir + nirKey(nir);
    for (const s of [full, `${nir} ${nirKey(nir)}`, '188072A004321' + nirKey('188072A004321'), `VITALE|${full}|MARTIN`]) {
      const r = refused(parseAttestation(s));
      expect(r.code).toBe('CARTE_VITALE');
      expect(r.reason).toMatch(/numéro de sécurité sociale.*pas l’attestation de tiers payant de la complémentaire/);
      expect(r.raw.replace(/ /g, '')).not.toContain(nir.slice(1, 10));
      expect(r.reason).not.toContain(nir.slice(1, 10));
    }
  });

  test.each([
    ['EAN-13 of a product', '3401579654325', 'CODE_BARRES_PRODUIT', /code-barres à 13 chiffres/],
    ['EAN-8', '96385074', 'CODE_BARRES_PRODUIT', /code-barres à 8 chiffres/],
    ['a URL (QR code)', 'https://www.ameli.fr/assure', 'URL', /adresse internet/],
    ['a 2D-Doc', 'DC04FR0000011E6B1E6B0101FR\u001dMME MARTIN CAMILLE', 'DEUX_D_DOC', /2D-Doc/],
    [
      'a medicine box (GS1 DataMatrix, AIM ]d2)',
      ']d2010340093000012017270131' + '10LOT42A' + GS + '21SN98765',
      'CODE_GS1',
      /GS1 de produit ou de médicament/,
    ],
    ['a medicine box (GS1 without AIM)', '0103400930000120172701311' + '0LOT42A', 'CODE_GS1', /GS1/],
    [
      'a later attestation version',
      CEVENNES_TEXT.replace('ATP01', 'ATP02'),
      'VERSION_NON_PRISE_EN_CHARGE',
      /format \(« ATP02 »\).*ne sait pas encore lire/,
    ],
    ['random text', 'Bonjour, ceci est un test', 'PAS_UNE_ATTESTATION', /pas le DataMatrix d’une attestation.*« ATP01 » ou « ATF01 »/],
    ['a far too long text', 'A'.repeat(5000), 'TEXTE_TROP_LONG', /5000 caractères/],
  ])('%s', (_n, text, code, message) => {
    const r = refused(parseAttestation(text));
    expect(r.code).toBe(code);
    expect(r.reason).toMatch(message);
  });

  test('binary garbage (a PNG file read as text, random bytes) is refused as unreadable', () => {
    const png = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'datamatrix', 'cevennes.png'));
    let seed = 7;
    const rnd = Buffer.from(Array.from({ length: 300 }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed & 0xff)));
    for (const s of [png.toString('latin1').slice(0, 800), rnd.toString('latin1'), rnd.toString('utf8')]) {
      const r = refused(parseAttestation(s));
      expect(r.code).toBe('ILLISIBLE');
      expect(r.reason).toMatch(/caractères illisibles/);
    }
  });

  test('a non-string input gets a clear answer, not a crash', () => {
    const r = refused(parseAttestation(undefined as unknown as string));
    expect(r.code).toBe('ENTREE_INVALIDE');
    expect(refused(parseAttestation(42 as unknown as string)).raw).toBe('42');
  });

  test('each refusal code has its own sentence', () => {
    const samples = [
      '',
      'ATP01',
      CEVENNES_TEXT.split(GS).join(''),
      '3401579654325',
      'https://x.fr',
      'DC04FR0000011E6B1E6B0101FR',
      ']d2010340093000012017270131',
      'Bonjour',
      CEVENNES_TEXT.replace('ATP01', 'ATP02'),
      CEVENNES_TEXT.replace('75500017', '7550O017'),
    ];
    const reasons = new Map<string, string>();
    for (const s of samples) {
      const r = refused(parseAttestation(s));
      reasons.set(r.code, r.reason);
    }
    expect(reasons.size).toBe(samples.length);
    expect(new Set(reasons.values()).size).toBe(samples.length);
  });
});
