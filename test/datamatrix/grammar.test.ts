import {
  compileGrammar,
  DEFAULT_GRAMMAR,
  DEFAULT_GRAMMARS,
  encodeAttestationText,
  GrammarError,
  parseAttestation,
  type AttestationGrammar,
  type ParseResult,
} from '../../lib/datamatrix';
import { CEVENNES, CEVENNES_TEXT, GS } from './helpers';

function refused(r: ParseResult): { code: string; reason: string } {
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.attestation)}`);
  return r;
}

function fields(over: Partial<Record<'amc' | 'conv' | 'csr' | 'adh' | 'adr' | 'debut' | 'fin', string>>): string {
  const f = {
    amc: '75500017',
    conv: 'ISSP',
    csr: '',
    adh: '00012345',
    adr: 'M/33/OC/1/seine.fr',
    debut: '20260101',
    fin: '20261231',
    ...over,
  };
  return ['ATP01', f.amc, f.conv, f.csr, f.adh, f.adr, f.debut, f.fin].join(GS);
}

describe('default grammar (ATP01, GS-separated)', () => {
  test('reads the five normalised items, the addressing, and keeps the raw text', () => {
    const r = parseAttestation(CEVENNES_TEXT);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.attestation).toEqual({
      numeroAmc: '0075500017',
      numeroAmcBrut: '75500017',
      typesConvention: ['IS', 'SP'],
      csr: '',
      numeroAdherent: '00012345',
      debutValidite: '2026-01-01',
      finValidite: '2026-12-31',
      adressage: 'M/33/OC/1/seine.fr',
      adressageSesam: { sts: 'M', indicateur: '33', codeRoutage: 'OC', hote: '1', domaine: 'seine.fr' },
      raw: CEVENNES_TEXT,
      text: CEVENNES_TEXT,
      grammar: { id: 'roc-bridge-atp-gs', version: '1' },
      warnings: [],
      repairs: [],
    });
  });

  test('encodeAttestationText writes exactly the documented layout', () => {
    expect(encodeAttestationText(CEVENNES)).toBe(CEVENNES_TEXT);
    // Without a raw number, the normalised one is written.
    const { numeroAmcBrut: _omit, ...noRaw } = CEVENNES;
    expect(encodeAttestationText(noRaw).split(GS)[1]).toBe('0075500017');
  });

  test('a CSR and conventions written with separators are read', () => {
    const r = parseAttestation(fields({ conv: 'IS, SP', csr: 'HOSPI', adr: '' }));
    expect(r.ok && r.attestation).toMatchObject({ typesConvention: ['IS', 'SP'], csr: 'HOSPI' });
    expect(r.ok && r.attestation.adressage).toBeUndefined();
  });

  test('a numéro d’adhérent with dashes is kept as printed', () => {
    const r = parseAttestation(fields({ adh: '05-118-442' }));
    expect(r.ok && r.attestation.numeroAdherent).toBe('05-118-442');
  });

  test('a 10-digit numéro AMC is kept as is; leading zeros of the adhérent are kept', () => {
    const r = parseAttestation(fields({ amc: '0441927302', adh: '000417852' }));
    expect(r.ok && r.attestation).toMatchObject({ numeroAmc: '0441927302', numeroAmcBrut: '0441927302', numeroAdherent: '000417852' });
  });

  test('a trailing GS after the last field is tolerated', () => {
    expect(parseAttestation(CEVENNES_TEXT + GS).ok).toBe(true);
  });
});

describe('field validation (each refusal names the field and the problem)', () => {
  const cases: [string, string, string, RegExp][] = [
    ['letter in numéro AMC', fields({ amc: '7550O017' }), 'NUMERO_AMC_INVALIDE', /numéro AMC .*« 7550O017 ».*que des chiffres/],
    ['numéro AMC of 11 digits', fields({ amc: '12345678901' }), 'NUMERO_AMC_INVALIDE', /de 1 à 10 chiffres/],
    ['numéro AMC all zeros', fields({ amc: '00000000' }), 'NUMERO_AMC_INVALIDE', /ne peut pas être nul/],
    ['numéro AMC absent', fields({ amc: '' }), 'NUMERO_AMC_INVALIDE', /absent/],
    ['unknown convention', fields({ conv: 'ISXX' }), 'CONVENTION_INCONNUE', /« XX ».*codes acceptés : AL, CB, IS, MU, SP/],
    ['odd-length convention', fields({ conv: 'ISS' }), 'CONVENTION_INCONNUE', /« ISS »/],
    ['lower-case convention', fields({ conv: 'is' }), 'CONVENTION_INCONNUE', /« is »/],
    ['convention absent', fields({ conv: '' }), 'CONVENTION_ABSENTE', /type de convention est absent/],
    ['CSR too long', fields({ csr: 'CRITERE-BEAUCOUP-TROP-LONG' }), 'CSR_INVALIDE', /critère secondaire de routage.*20 caractères/],
    ['CSR with accents', fields({ csr: 'CHÂTEAU' }), 'CSR_INVALIDE', /lettres sans accent/],
    ['adhérent with a #', fields({ adh: '0001#2345' }), 'NUMERO_ADHERENT_INVALIDE', /numéro d’adhérent.*lettres sans accent et chiffres/],
    ['adhérent ending with a dash', fields({ adh: '00012345-' }), 'NUMERO_ADHERENT_INVALIDE', /avec - \. \/ ou espace à l’intérieur/],
    ['adhérent absent', fields({ adh: '' }), 'NUMERO_ADHERENT_INVALIDE', /absent/],
    ['30 February', fields({ fin: '20260230' }), 'DATE_INVALIDE', /date de fin de validité « 20260230 ».*30 février 2026 n’existe pas/],
    ['29 February of a common year', fields({ debut: '20250229', fin: '20251231' }), 'DATE_INVALIDE', /29 février 2025 n’existe pas/],
    ['month 13', fields({ debut: '20261301' }), 'DATE_INVALIDE', /date de début de validité.*le mois 13 n’existe pas/],
    ['ISO date instead of AAAAMMJJ', fields({ debut: '2026-01-01' }), 'DATE_INVALIDE', /format attendu AAAAMMJJ/],
    ['implausible year', fields({ debut: '18990101' }), 'DATE_INVALIDE', /année 1899 n’est pas plausible/],
    [
      'end before start',
      fields({ debut: '20261231', fin: '20260101' }),
      'PERIODE_INVERSEE',
      /fin de validité \(01\/01\/2026\) est antérieure au début \(31\/12\/2026\)/,
    ],
    [
      'addressing with 3 parts',
      fields({ adr: 'M/33/OC' }),
      'ADRESSAGE_INVALIDE',
      /« M\/33\/OC ».*3 partie\(s\) au lieu de 5.*M\/33\/OC\/1\/seine\.fr/,
    ],
    ['addressing without domain suffix', fields({ adr: 'M/33/OC/1/seine' }), 'ADRESSAGE_INVALIDE', /domaine « seine » incorrect/],
    ['addressing with bad indicator', fields({ adr: 'M/3X/OC/1/seine.fr' }), 'ADRESSAGE_INVALIDE', /indicateur « 3X » incorrect/],
    ['an extra field', CEVENNES_TEXT + GS + 'EN PLUS', 'CHAMPS_EN_TROP', /8 champs au lieu de 7/],
    [
      'a missing field (complete scan)',
      ['ATP01', '75500017', 'ISSP', '', '00012345', '20260101', '20261231'].join(GS),
      'CHAMPS_MANQUANTS',
      /lue en entier mais ne contient que 6 champs au lieu de 7/,
    ],
    [
      'one GS lost between CSR and adhérent',
      CEVENNES_TEXT.replace(`${GS}${GS}00012345`, `${GS}00012345`),
      'CHAMPS_MANQUANTS',
      /perdre un séparateur GS/,
    ],
  ];
  test.each(cases)('%s', (_name, text, code, message) => {
    const r = refused(parseAttestation(text));
    expect(r.code).toBe(code);
    expect(r.reason).toMatch(message);
  });

  test('the numéro d’adhérent is never echoed in a refusal', () => {
    const r = refused(parseAttestation(fields({ adh: '1234567890#XYZ' })));
    expect(r.reason).not.toContain('1234567890');
  });

  test('the refusal keeps the raw text and names the grammar that recognised it', () => {
    const text = fields({ fin: '20260230' });
    const r = parseAttestation(text);
    expect(r).toMatchObject({ ok: false, raw: text, grammar: { id: 'roc-bridge-atp-gs', version: '1' } });
  });
});

describe('validity period against the admission date (a warning: IDB decides)', () => {
  test('admission after the end of validity', () => {
    const r = parseAttestation(CEVENNES_TEXT, { admissionDate: '2027-01-04' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.attestation.warnings).toHaveLength(1);
    expect(r.attestation.warnings[0].code).toBe('ATTESTATION_EXPIREE');
    expect(r.attestation.warnings[0].message).toMatch(/expiré le 31\/12\/2026.*admission du 04\/01\/2027.*IDB/);
  });
  test('admission before the start of validity', () => {
    const r = parseAttestation(CEVENNES_TEXT, { admissionDate: '2025-12-31' });
    expect(r.ok && r.attestation.warnings.map((w) => w.code)).toEqual(['ATTESTATION_PAS_ENCORE_VALIDE']);
    expect(r.ok && r.attestation.warnings[0].message).toMatch(/à partir du 01\/01\/2026/);
  });
  test('admission on the last day of validity: no warning', () => {
    const r = parseAttestation(CEVENNES_TEXT, { admissionDate: '2026-12-31' });
    expect(r.ok && r.attestation.warnings).toEqual([]);
  });
  test('an admission date that is not a date is reported, not fatal', () => {
    const r = parseAttestation(CEVENNES_TEXT, { admissionDate: '2026-02-30' });
    expect(r.ok && r.attestation.warnings.map((w) => w.code)).toEqual(['DATE_ADMISSION_IGNOREE']);
  });
});

describe('grammars as data', () => {
  test('the shipped grammars load and are tried in order', () => {
    expect(DEFAULT_GRAMMARS.map((g) => g.prefix)).toEqual(['ATP01', 'ATF01']);
    expect(DEFAULT_GRAMMAR.separator).toBe('\u001d');
    expect(DEFAULT_GRAMMAR.codeLists.typeConvention).toEqual(expect.arrayContaining(['IS', 'MU', 'AL', 'SP', 'CB']));
  });

  test('the fixed-width variant (ATF01) pads every field and reads back', () => {
    const fixed = DEFAULT_GRAMMARS[1];
    const text = encodeAttestationText(CEVENNES, fixed);
    expect(text.split(GS)).toEqual([
      'ATF01',
      '0075500017',
      'ISSP',
      '        ',
      '00012345       ',
      'M/33/OC/1/seine.fr'.padEnd(32),
      '20260101',
      '20261231',
    ]);
    const r = parseAttestation(text);
    expect(r.ok && r.attestation).toMatchObject({
      numeroAmc: '0075500017',
      typesConvention: ['IS', 'SP'],
      csr: '',
      numeroAdherent: '00012345',
      grammar: { id: 'roc-bridge-atp-gs-largeurs-fixes' },
    });
  });

  // A site grammar: fixed widths without separators, French dates, registered before the defaults.
  const siteGrammar: AttestationGrammar = compileGrammar({
    id: 'site-ancien-format',
    version: '2',
    prefix: 'TP9',
    layout: 'fixed',
    dateFormat: 'JJ/MM/AAAA',
    fields: [
      { key: 'numeroAmc', label: 'numéro AMC', type: 'digits', required: true, minLength: 10, maxLength: 10, width: 10, normaliseTo: 10 },
      { key: 'typesConvention', label: 'type de convention', type: 'codes', required: true, codeList: 'conv', codeLength: 2, width: 2 },
      { key: 'numeroAdherent', label: 'numéro d’adhérent', type: 'text', required: true, maxLength: 12, width: 12, pattern: '^[0-9]+$' },
      { key: 'debutValidite', label: 'date de début de validité', type: 'date', required: true, width: 10 },
      { key: 'finValidite', label: 'date de fin de validité', type: 'date', required: true, width: 10 },
    ],
    codeLists: { conv: ['MU', 'IS'] },
  });

  test('a site grammar (fixed widths, JJ/MM/AAAA) is used when registered', () => {
    const text = 'TP90441927302IS000417852   01/01/202631/12/2026';
    const grammars = [siteGrammar, ...DEFAULT_GRAMMARS];
    const r = parseAttestation(text, { grammars });
    expect(r.ok && r.attestation).toMatchObject({
      numeroAmc: '0441927302',
      typesConvention: ['IS'],
      csr: '',
      numeroAdherent: '000417852',
      debutValidite: '2026-01-01',
      finValidite: '2026-12-31',
      grammar: { id: 'site-ancien-format', version: '2' },
    });
    // The default text still reads with the same list.
    expect(parseAttestation(CEVENNES_TEXT, { grammars }).ok).toBe(true);
    // Encoding in the site grammar round-trips.
    const a = {
      numeroAmc: '0441927302',
      typesConvention: ['MU'],
      numeroAdherent: '77',
      debutValidite: '2026-03-01',
      finValidite: '2026-08-31',
    };
    const encoded = encodeAttestationText(a, siteGrammar);
    expect(encoded).toBe('TP90441927302MU77          01/03/202631/08/2026');
    expect(parseAttestation(encoded, { grammars })).toMatchObject({ ok: true, attestation: { ...a, numeroAmcBrut: '0441927302' } });
  });

  test('a fixed-width text that is too short is a half scan; too long is refused', () => {
    const grammars = [siteGrammar];
    expect(refused(parseAttestation('TP90441927302IS000417852   01/01/2026', { grammars })).code).toBe('SCAN_INCOMPLET');
    expect(refused(parseAttestation('TP90441927302IS000417852   01/01/202631/12/2026XYZ', { grammars })).code).toBe('LONGUEUR_INATTENDUE');
  });

  test('with only a site grammar, a default attestation is "not an attestation" naming the expected prefix', () => {
    const r = refused(parseAttestation(CEVENNES_TEXT, { grammars: [siteGrammar] }));
    expect(r.code).toBe('PAS_UNE_ATTESTATION');
    expect(r.reason).toContain('« TP9 »');
  });

  test.each([
    ['unknown field key', { key: 'nir', label: 'NIR', type: 'text' }, /clé nir inconnue/],
    ['unknown type', { key: 'csr', label: 'CSR', type: 'blob' }, /type blob inconnu/],
    ['bad regex', { key: 'csr', label: 'CSR', type: 'text', pattern: '([' }, /expression régulière invalide/],
    ['missing code list', { key: 'csr', label: 'CSR', type: 'codes', codeList: 'absente', codeLength: 2 }, /liste de codes absente/],
  ])('compileGrammar refuses a grammar with %s', (_n, extra, message) => {
    const data = JSON.parse(JSON.stringify(DEFAULT_GRAMMAR)) as { fields: { key: string }[] };
    data.fields = data.fields.map((f) => (f.key === 'csr' ? extra : f));
    expect(() => compileGrammar(data)).toThrow(GrammarError);
    expect(() => compileGrammar(data)).toThrow(message);
  });

  test('compileGrammar refuses a fixed grammar without widths and a grammar missing one of the five items', () => {
    const noWidth = { ...JSON.parse(JSON.stringify(DEFAULT_GRAMMAR)), layout: 'fixed' };
    expect(() => compileGrammar(noWidth)).toThrow(/largeur obligatoire/);
    const missing = JSON.parse(JSON.stringify(DEFAULT_GRAMMAR)) as { fields: { key: string }[] };
    missing.fields = missing.fields.filter((f) => f.key !== 'numeroAdherent');
    expect(() => compileGrammar(missing)).toThrow(/numeroAdherent est obligatoire/);
    expect(() => compileGrammar({ ...JSON.parse(JSON.stringify(DEFAULT_GRAMMAR)), dateFormat: 'MM/AAAA' })).toThrow(/JJ/);
  });

  test('encodeAttestationText refuses what the grammar cannot carry', () => {
    expect(() => encodeAttestationText({ ...CEVENNES, typesConvention: ['ZZ'] })).toThrow(/type de convention « ZZ »/);
    expect(() => encodeAttestationText({ ...CEVENNES, csr: `A${GS}B` })).toThrow(/séparateur/);
    expect(() => encodeAttestationText({ ...CEVENNES, numeroAdherent: '1234567890123456' }, DEFAULT_GRAMMARS[1])).toThrow(/trop long/);
  });
});
