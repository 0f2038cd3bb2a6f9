/**
 * PAM-FR mapper, field by field: what each field of a real A01 (CHU-NORD fixture) becomes on the
 * admission and in the ROC dossier, and what the GAP is told when a field is wrong. Complements
 * pamfr.test.ts (whole fixtures) with the edge cases a site meets: FINESS markers (Corsica
 * included), name types, INS choice, ZBE variants, coverage numbers and rates, DFT/BAR triggers,
 * date fallbacks and the dossier parts.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { parseEr7 } from '../../lib/hl7/er7';
import { admissionToDossier, parseAdmission, type PamFrOptions } from '../../lib/hl7/pamfr';
import type { Admission, Hl7Issue } from '../../lib/hl7/types';

const A01 = readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');

function admit(text: string, options: PamFrOptions = {}) {
  return parseAdmission(parseEr7(text), options);
}
function adm(text: string, options: PamFrOptions = {}): Admission {
  const a = admit(text, options).admission;
  if (!a) throw new Error('no admission');
  return a;
}

/** Replace one field of one segment (occurrence-th of that name) in ER7 text. */
function setField(text: string, segment: string, field: number, value: string, occurrence = 1): string {
  const lines = text.split(/(\r\n|\r|\n)/);
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith(segment + '|') && ++seen === occurrence) {
      const f = lines[i].split('|');
      const idx = segment === 'MSH' ? field - 1 : field;
      while (f.length <= idx) f.push('');
      f[idx] = value;
      lines[i] = f.join('|');
    }
  }
  return lines.join('');
}
const get = (text: string, segment: string, field: number): string => {
  const line = text.split(/\r\n|\r|\n/).find((l) => l.startsWith(segment + '|')) as string;
  return line.split('|')[segment === 'MSH' ? field - 1 : field];
};
const drop = (text: string, segment: string): string => text.replace(new RegExp(`${segment}\\|[^\\r]*\\r`, 'g'), '');
const where = (issues: Hl7Issue[]) => issues.map((i) => [i.code, i.severity, i.location?.segment, i.location?.field]);

const IPP = '481516^^^CHU-NORD&590780215&N^PI';
const INS = '285075935012324^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS^^20150312';
const NH = '285075935012324^^^CPAM&1.2.250.1.213.1.4.1&ISO^NH';
const UF = (finess: string) => `Cardiologie^^^^^CHU-NORD&${finess}^UF^^^4410`;

describe('PAM-FR mapper: FINESS of the assigning authorities', () => {
  it('reads the kind from HD.3 whatever its case, Corsican FINESS (2A/2B) included', () => {
    const lower = adm(setField(A01, 'PID', 3, `481516^^^CHU-NORD&590780215&n^PI~${INS}~${NH}`));
    expect(lower.patient.ipp?.finess).toStrictEqual({ numero: '590780215', kind: 'geographique' });
    expect(lower.finess.geographique).toBe('590780215');

    const ajaccio = setField(
      setField(A01, 'PID', 3, `481516^^^CH-AJACCIO&2A0000014&N^PI~${INS}~${NH}`),
      'PID',
      18,
      '25010042^^^CH-AJACCIO&2A0000022&M^AN',
    );
    const a = adm(ajaccio);
    expect(a.finess.geographique).toBe('2A0000014');
    expect(a.patient.ipp?.finess).toStrictEqual({ numero: '2A0000014', kind: 'geographique' });
    expect(a.venue?.nda?.finess).toStrictEqual({ numero: '2A0000022', kind: 'juridique' });
    const bastia = adm(setField(A01, 'PID', 3, `481516^^^CH-BASTIA&2B0000020&N^PI~${INS}~${NH}`));
    expect(bastia.finess.geographique).toBe('2B0000020');
  });

  it('takes no FINESS from an authority that is not one (other type, wrong length, letters)', () => {
    for (const authority of [
      'CHU-NORD&59078021&N',
      'CHU-NORD&5907802150&N',
      'CHU-NORD&2C0000014&N',
      'CHU-NORD&590780215&ISO',
      'CHU-NORD&590780215',
    ]) {
      const text = setField(setField(A01, 'PID', 3, `481516^^^${authority}^PI~${INS}~${NH}`), 'ZBE', 7, '');
      const a = adm(setField(setField(text, 'ZBE', 8, ''), 'ZBE', 7, ''));
      expect([authority, a.patient.ipp?.finess]).toStrictEqual([authority, undefined]);
      expect([authority, a.finess.geographique]).toStrictEqual([authority, undefined]);
      expect(a.patient.ipp?.authority?.namespace).toBe('CHU-NORD');
    }
  });

  it('keeps the authority parts that are present, and none when HD is empty', () => {
    const typeOnly = adm(setField(A01, 'PID', 3, `481516^^^&&N^PI~${INS}~${NH}`));
    expect(typeOnly.patient.ipp?.authority).toStrictEqual({ universalIdType: 'N' });
    const idOnly = adm(setField(A01, 'PID', 3, `481516^^^&590780215^PI~${INS}~${NH}`));
    expect(idOnly.patient.ipp?.authority).toStrictEqual({ universalId: '590780215' });
    const none = adm(setField(A01, 'PID', 3, `481516^^^^PI~${INS}~${NH}`));
    expect(none.patient.ipp).toStrictEqual({ value: '481516', type: 'PI' });
    expect(none.patient.ipp).not.toHaveProperty('authority');
  });

  it('the venue number’s FINESS (PV1-19) comes before the UFs’ (ZBE-7/8); the first juridique stays', () => {
    let t = setField(A01, 'PID', 3, `481516^^^CHU-NORD^PI~${INS}~${NH}`);
    t = setField(t, 'PV1', 19, '250100421^^^CHU-NORD&590781111&N^VN');
    t = setField(t, 'ZBE', 7, UF('590782222&N'));
    t = setField(t, 'ZBE', 8, UF('590783333&M'));
    const a = adm(t);
    expect(a.finess).toStrictEqual({ juridique: '590780193', geographique: '590781111' });
    // from the UF only when nothing before names one
    const ufOnly = adm(setField(setField(t, 'PV1', 19, '250100421^^^CHU-NORD^VN'), 'PID', 18, '25010042^^^CHU-NORD^AN'));
    expect(ufOnly.finess).toStrictEqual({ juridique: '590780193', geographique: '590782222' });
    // PV1-3's facility names the juridique when PID-18 and PV1-19 do not
    const fromLocation = adm(setField(setField(t, 'PID', 18, '25010042^^^CHU-NORD^AN'), 'PV1', 3, '4410^204^1^CHU-NORD&590784444&M'));
    expect(fromLocation.finess.juridique).toBe('590784444');
  });
});

describe('PAM-FR mapper: patient', () => {
  it('records the identifier’s start date only when it is a valid date', () => {
    const bad = adm(setField(A01, 'PID', 3, `${IPP}~285075935012324^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS^^20151312~${NH}`));
    expect(bad.patient.ins).toBeDefined();
    expect(bad.patient.ins).not.toHaveProperty('since');
    expect(bad.patient.identifiers[1]).not.toHaveProperty('since');
  });

  it('keeps the first IPP and the first NIR; every identifier is listed', () => {
    const t = setField(
      A01,
      'PID',
      3,
      `${IPP}~999999^^^CHU-NORD&590780215&N^PI~${NH}~185075935099901^^^CPAM&1.2.250.1.213.1.4.1&ISO^NH~${INS}`,
    );
    const a = adm(t);
    expect(a.patient.ipp?.value).toBe('481516');
    expect(a.patient.nir?.value).toBe('285075935012324');
    expect(a.patient.identifiers.map((i) => i.value)).toStrictEqual([
      '481516',
      '999999',
      '285075935012324',
      '185075935099901',
      '285075935012324',
    ]);
    expect(a.patient.ins?.value).toBe('285075935012324');
  });

  it('an INS whose OID is not an INS OID is kept with its OID but no nature; with VALI it is still the INS', () => {
    const t = setField(A01, 'PID', 3, `${IPP}~123456789012345^^^AUTRE&1.2.250.1.999&ISO^INS`);
    const a = adm(t);
    expect(a.patient.ins).toStrictEqual({
      value: '123456789012345',
      type: 'INS',
      authority: { namespace: 'AUTRE', universalId: '1.2.250.1.999', universalIdType: 'ISO' },
      oid: '1.2.250.1.999',
    });
    // not NIR-based: no beneficiary from it
    expect(admissionToDossier(a).beneficiaire).toBeUndefined();
    const noOid = adm(setField(A01, 'PID', 3, `${IPP}~123456789012345^^^^INS`));
    expect(noOid.patient.ins).toStrictEqual({ value: '123456789012345', type: 'INS' });
  });

  it('with VALI and two INS-NIA, the first is used; an INS-NIA never gives the beneficiary', () => {
    const nia1 = '185075935099901^^^ASIP-SANTE-INS-NIA&1.2.250.1.213.1.4.9&ISO^INS';
    const nia2 = '185075935099902^^^ASIP-SANTE-INS-NIA&1.2.250.1.213.1.4.11&ISO^INS';
    const a = adm(setField(A01, 'PID', 3, `${IPP}~${nia1}~${nia2}`));
    expect(a.patient.ins).toMatchObject({ value: '185075935099901', nature: 'INS-NIA' });
    expect(admissionToDossier(a).beneficiaire).toBeUndefined();
  });

  it('reads the birth name (L, or legacy B/M) and the usual name (D) whatever their order and case', () => {
    const both = 'LEFÈVRE-BŒUF^Hélène^^^Mme^^d~FRANÇOIS^Hélène^Hélène Françoise Cécile^^^^l';
    expect(adm(setField(A01, 'PID', 5, both)).patient).toMatchObject({
      nom: 'LEFÈVRE-BŒUF',
      nomNaissance: 'FRANÇOIS',
      prenoms: 'Hélène Françoise Cécile',
    });
    const legacy = 'FRANÇOIS^Hélène^^^^^M~LEFÈVRE-BŒUF^Hélène^^^Mme^^D';
    expect(adm(setField(A01, 'PID', 5, legacy)).patient).toMatchObject({ nom: 'LEFÈVRE-BŒUF', nomNaissance: 'FRANÇOIS' });
    // two birth names: the first one; a second usual name is ignored
    const twice = 'FRANÇOIS^Hélène^^^^^L~DURAND^Hélène^^^^^B~LEFÈVRE-BŒUF^Hélène^^^Mme^^D~MARTIN^Léa^^^^^D';
    expect(adm(setField(A01, 'PID', 5, twice)).patient).toMatchObject({ nom: 'LEFÈVRE-BŒUF', prenom: 'Hélène', nomNaissance: 'FRANÇOIS' });
  });

  it('without name types: the first name is the birth name; a usual name alone gives nom and prénom only', () => {
    const untyped = adm(setField(A01, 'PID', 5, 'FRANÇOIS^Hélène^Hélène Cécile~MARTIN^Léa'));
    expect(untyped.patient).toMatchObject({
      nom: 'FRANÇOIS',
      prenom: 'Hélène',
      nomNaissance: 'FRANÇOIS',
      premierPrenom: 'Hélène',
      prenoms: 'Hélène Cécile',
    });
    const usualOnly = adm(setField(A01, 'PID', 5, 'LEFÈVRE-BŒUF^Hélène^^^Mme^^D'));
    expect(usualOnly.patient.nom).toBe('LEFÈVRE-BŒUF');
    expect(usualOnly.patient.prenom).toBe('Hélène');
    expect(usualOnly.patient).not.toHaveProperty('nomNaissance');
    expect(usualOnly.patient).not.toHaveProperty('premierPrenom');
    // a usual name without first name: the prénom of the birth name
    const usualNoFirst = adm(setField(A01, 'PID', 5, 'LEFÈVRE-BŒUF^^^^Mme^^D~FRANÇOIS^Hélène^^^^^L'));
    expect(usualNoFirst.patient).toMatchObject({ nom: 'LEFÈVRE-BŒUF', prenom: 'Hélène' });
    const none = adm(setField(A01, 'PID', 5, ''));
    for (const k of ['nom', 'prenom', 'nomNaissance', 'premierPrenom', 'prenoms']) expect(none.patient).not.toHaveProperty(k);
  });

  it('sex outside table 0001 is kept and reported as a warning; a valid one is silent', () => {
    const r = admit(setField(A01, 'PID', 8, 'X'));
    expect(r.ok).toBe(true);
    expect(r.admission?.patient.sexe).toBe('X');
    expect(r.warnings).toStrictEqual([
      {
        code: '103',
        severity: 'W',
        location: { segment: 'PID', sequence: 1, field: 8 },
        message: 'Valeur absente de la table : valeur hors table 0001 en PID-8 (sexe)',
      },
    ]);
    for (const s of ['M', 'U']) expect(admit(setField(A01, 'PID', 8, s)).warnings).toStrictEqual([]);
    expect(adm(setField(A01, 'PID', 8, '')).patient).not.toHaveProperty('sexe');
  });

  it('birth rank: 1 to 99; 0, 100 or a decimal are refused (102 at PID-25)', () => {
    expect(adm(setField(A01, 'PID', 25, '1')).patient.rangNaissance).toBe(1);
    expect(adm(setField(A01, 'PID', 25, '12')).patient.rangNaissance).toBe(12);
    for (const bad of ['0', '100', '1.5', 'x2', '2x']) {
      const r = admit(setField(A01, 'PID', 25, bad));
      expect([bad, where(r.errors)]).toStrictEqual([bad, [['102', 'E', 'PID', 25]]]);
      expect(r.admission?.patient).not.toHaveProperty('rangNaissance');
      expect(r.errors[0].message).toBe('Erreur de type de donnée : PID-25 (rang de naissance) doit être un entier positif');
    }
  });

  it('the invalid birth date is named with its French label', () => {
    const r = admit(setField(A01, 'PID', 7, '19851399'));
    expect(r.errors[0].message).toBe(
      'Erreur de type de donnée : date invalide en PID-7 (date de naissance), format attendu AAAAMMJJ[HHMM[SS]]',
    );
    expect(r.admission?.patient).not.toHaveProperty('dateNaissance');
  });

  it('absent parts leave no key: identity status, INS without candidate, empty name components', () => {
    const vali = setField(A01, 'PID', 32, '');
    expect(adm(vali).patient).not.toHaveProperty('identityStatus');
    // VALI but no INS among the identifiers
    expect(adm(setField(A01, 'PID', 3, `${IPP}~${NH}`)).patient).not.toHaveProperty('ins');
    const noBirthFamily = adm(setField(A01, 'PID', 5, 'LEFÈVRE-BŒUF^Hélène^^^Mme^^D~^Hélène^^^^^L')).patient;
    expect(noBirthFamily).not.toHaveProperty('nomNaissance');
    expect(noBirthFamily).toMatchObject({ nom: 'LEFÈVRE-BŒUF', premierPrenom: 'Hélène' });
    const familyOnly = adm(setField(A01, 'PID', 5, 'FRANÇOIS^^^^^^L')).patient;
    expect(familyOnly).toMatchObject({ nom: 'FRANÇOIS', nomNaissance: 'FRANÇOIS' });
    for (const k of ['premierPrenom', 'prenoms', 'prenom']) expect(familyOnly).not.toHaveProperty(k);
  });

  it('MRG-1 gives the previous identifiers of a merge (A40)', () => {
    const t = setField(A01, 'MSH', 9, 'ADT^A40^ADT_A39') + 'MRG|733120^^^CHU-NORD&590780215&N^PI~^^^^PI~\r';
    const a = adm(t);
    expect(a.meaning).toBe('IDENTITY');
    expect(a.patient.previousIdentifiers).toStrictEqual([
      {
        value: '733120',
        type: 'PI',
        authority: { namespace: 'CHU-NORD', universalId: '590780215', universalIdType: 'N' },
        finess: { numero: '590780215', kind: 'geographique' },
      },
    ]);
    const empty = adm(setField(A01, 'MSH', 9, 'ADT^A40^ADT_A39') + 'MRG|\r');
    expect(empty.patient).not.toHaveProperty('previousIdentifiers');
  });
});

describe('PAM-FR mapper: venue and movement', () => {
  it('a message with PID-18 but no PV1 has a venue with the NDA only', () => {
    const t = drop(setField(A01, 'MSH', 9, 'ADT^A31^ADT_A05'), 'PV1');
    const a = adm(t);
    expect(a.venue).toStrictEqual({
      nda: {
        value: '25010042',
        type: 'AN',
        authority: { namespace: 'CHU-NORD', universalId: '590780193', universalIdType: 'M' },
        finess: { numero: '590780193', kind: 'juridique' },
      },
      ufMedicale: { code: '4410', libelle: 'Cardiologie' },
      ufSoins: { code: '4410', libelle: 'Cardiologie' },
    });
    const noVenue = adm(drop(setField(setField(A01, 'MSH', 9, 'ADT^A31^ADT_A05'), 'PID', 18, ''), 'PV1'));
    expect(noVenue.venue).toBeUndefined();
  });

  it('a venue keeps only what is there: no NDA, no venue number, no expected date, no movement', () => {
    expect(adm(setField(A01, 'PID', 18, '')).venue).not.toHaveProperty('nda');
    expect(adm(setField(A01, 'PV1', 19, '')).venue).not.toHaveProperty('numeroVenue');
    expect(adm(drop(A01, 'PV2')).venue).not.toHaveProperty('expectedAdmitDateTime');
    const noZbe = adm(drop(A01, 'ZBE'));
    expect(noZbe).not.toHaveProperty('movement');
    // the medical UF then comes from PV1-3 alone, and there is no UF of care
    expect(noZbe.venue?.ufMedicale).toStrictEqual({ code: '4410' });
    expect(noZbe.venue).not.toHaveProperty('ufSoins');
    // a ZBE without UFs keeps the PV1-3 one
    const noUf = adm(setField(setField(A01, 'ZBE', 7, ''), 'ZBE', 8, ''));
    expect(noUf.venue?.ufMedicale).toStrictEqual({ code: '4410' });
    expect(noUf.venue).not.toHaveProperty('ufSoins');
    expect(adm(setField(A01, 'ZBE', 7, '^^4412')).venue?.ufMedicale).toStrictEqual({ code: '4412' });
    const noDate = adm(setField(A01, 'ZBE', 2, ''));
    expect(noDate.movement).not.toHaveProperty('dateTime');
    const noFlag = admit(setField(A01, 'ZBE', 5, ''));
    expect(noFlag.warnings).toStrictEqual([]);
    expect(noFlag.admission?.movement).not.toHaveProperty('historic');
  });

  it('PV1-2 is read whatever its case; an unknown class is kept and warned (103 at PV1-2)', () => {
    expect(adm(setField(A01, 'PV1', 2, 'o')).venue).toMatchObject({ patientClass: 'O', type: 'ACE' });
    const r = admit(setField(A01, 'MSH', 9, 'ADT^A08^ADT_A01').replace('|I|4410', '|B|4410'));
    expect(r.admission?.venue?.patientClass).toBe('B');
    expect(r.admission?.venue).not.toHaveProperty('type');
    expect(r.warnings).toStrictEqual([
      {
        code: '103',
        severity: 'W',
        location: { segment: 'PV1', sequence: 1, field: 2 },
        message: 'Valeur absente de la table : PV1-2 (classe de patient) sans type de venue ROC correspondant',
      },
    ]);
    const none = adm(setField(setField(A01, 'MSH', 9, 'ADT^A08^ADT_A01'), 'PV1', 2, ''));
    expect(none.venue).not.toHaveProperty('patientClass');
  });

  it('PV1-3: each part of the location that is there; the point of care is the UF when ZBE has none', () => {
    const t = drop(A01, 'ZBE');
    expect(adm(setField(t, 'PV1', 3, '^204')).venue?.location).toStrictEqual({ room: '204' });
    expect(adm(setField(t, 'PV1', 3, '^^1')).venue?.location).toStrictEqual({ bed: '1' });
    const fac = adm(setField(t, 'PV1', 3, '^^^CHU-NORD&590780193&M')).venue;
    expect(fac?.location).toStrictEqual({ facility: { namespace: 'CHU-NORD', universalId: '590780193', universalIdType: 'M' } });
    expect(fac).not.toHaveProperty('ufMedicale');
    expect(adm(setField(t, 'PV1', 3, '^^^^^^^^Cardiologie')).venue).not.toHaveProperty('location');
    expect(adm(setField(t, 'PV1', 3, '4410^204')).venue?.ufMedicale).toStrictEqual({ code: '4410' });
    expect(adm(setField(t, 'PV1', 3, '')).venue).not.toHaveProperty('location');
  });

  it('ZBE-7/8: the UF code from UF.10, else UF.3; no UF without code nor label', () => {
    const t = setField(setField(A01, 'ZBE', 7, 'Cardiologie^^4412'), 'ZBE', 8, '^^^^^CHU-NORD&590780215&N');
    const v = adm(t).venue;
    expect(v?.ufMedicale).toStrictEqual({ code: '4412', libelle: 'Cardiologie' });
    // no UF of care in ZBE-8: the venue keeps none (PV1-3 gives only the medical one)
    expect(v).not.toHaveProperty('ufSoins');
    const labelOnly = adm(setField(A01, 'ZBE', 8, 'Soins intensifs')).venue;
    expect(labelOnly?.ufSoins).toStrictEqual({ libelle: 'Soins intensifs' });
  });

  it('ZBE: historic Y, a wrong historic flag warned, the original event, an empty movement id', () => {
    const y = adm(setField(A01, 'ZBE', 5, 'y'));
    expect(y.movement?.historic).toBe(true);
    const r = admit(setField(A01, 'ZBE', 5, 'O'));
    expect(r.admission?.movement).not.toHaveProperty('historic');
    expect(r.warnings).toStrictEqual([
      {
        code: '103',
        severity: 'W',
        location: { segment: 'ZBE', sequence: 1, field: 5 },
        message: 'Valeur absente de la table : ZBE-5 (indicateur de mouvement historique) doit valoir Y ou N',
      },
    ]);
    const noId = adm(setField(A01, 'ZBE', 1, ''));
    expect(noId.movement).not.toHaveProperty('id');
    const lower = adm(setField(A01, 'ZBE', 4, 'update'));
    expect(lower.movement?.action).toBe('UPDATE');
    const noAction = admit(setField(A01, 'ZBE', 4, ''));
    expect(noAction.admission?.movement).not.toHaveProperty('action');
    expect(noAction.errors).toStrictEqual([]);
  });

  it('the shifted ZBE (action in ZBE-5) is read one field further, with a warning at ZBE-4', () => {
    // ZBE-4 empty, then INSERT|N||UF|UF|HMS one field to the right
    const shifted = A01.replace(/ZBE\|([^|]*)\|([^|]*)\|\|INSERT\|N\|\|/, 'ZBE|$1|$2|||INSERT|N|A01|');
    const r = admit(shifted);
    expect(r.admission?.movement).toStrictEqual({
      id: 'MVT-7781',
      dateTime: '2025-01-14T09:00:00',
      action: 'INSERT',
      historic: false,
      originalEvent: 'A01',
      nature: 'HMS',
      shifted: true,
    });
    expect(r.admission?.venue?.ufSoins).toStrictEqual({ code: '4410', libelle: 'Cardiologie' });
    expect(r.warnings).toStrictEqual([
      {
        code: '100',
        severity: 'W',
        location: { segment: 'ZBE', sequence: 1, field: 4 },
        message: 'Erreur de séquence de segments : ZBE décalé d’un champ à partir de ZBE-4 (défaut connu), lu avec correction',
      },
    ]);
    // a wrong historic flag in the shifted place is reported where it really is (ZBE-6)
    const badFlag = admit(shifted.replace('|INSERT|N|', '|INSERT|Z|'));
    expect(badFlag.warnings.map((w) => w.location)).toContainEqual({ segment: 'ZBE', sequence: 1, field: 6 });
    // not shifted when ZBE-4 holds a valid action, whatever ZBE-5 says
    expect(admit(setField(A01, 'ZBE', 5, 'UPDATE')).admission?.movement).not.toHaveProperty('shifted');
  });

  it('an unknown ZBE action names the allowed ones', () => {
    const r = admit(setField(A01, 'ZBE', 4, 'DELETE'));
    expect(r.errors[0].message).toBe('Valeur absente de la table : ZBE-4 (action sur le mouvement) doit valoir INSERT, UPDATE, CANCEL');
  });
});

describe('PAM-FR mapper: coverage groups', () => {
  it('numéro AMC with blanks, dots and dashes is normalised; more than 10 digits warns only for an AMC', () => {
    expect(adm(setField(A01, 'IN1', 3, '77 55-43.21', 2)).coverages[1]).toMatchObject({
      numeroAmcBrut: '77 55-43.21',
      numeroAmc: '0077554321',
    });
    const long = admit(setField(A01, 'IN1', 3, '12345678901', 2));
    expect(long.admission?.coverages[1]).not.toHaveProperty('numeroAmc');
    expect(long.warnings).toStrictEqual([
      {
        code: '102',
        severity: 'W',
        location: { segment: 'IN1', sequence: 2, field: 3 },
        message: 'Erreur de type de donnée : IN1-3 (numéro AMC) : 10 chiffres au plus attendus',
      },
    ]);
    expect(admit(setField(A01, 'IN1', 3, '1234567890', 2)).admission?.coverages[1].numeroAmc).toBe('1234567890');
    const amoLong = admit(setField(A01, 'IN1', 3, '01591000012', 1));
    expect(amoLong.warnings).toStrictEqual([]);
    expect(amoLong.admission?.coverages[0]).not.toHaveProperty('numeroAmc');
    // letters: not a number, warned for the AMC
    expect(where(admit(setField(A01, 'IN1', 3, 'MUT-OEUVRES', 2)).warnings)).toStrictEqual([['102', 'W', 'IN1', 3]]);
  });

  it('IN1-1 and IN1-2: a non-numeric set id is dropped, a missing kind is warned (101 at IN1-2)', () => {
    const t = setField(setField(A01, 'IN1', 1, 'A', 2), 'IN1', 2, 'amc', 2);
    const c = adm(t).coverages[1];
    expect(c).not.toHaveProperty('setId');
    expect(c.kind).toBe('AMC');
    const r = admit(setField(A01, 'IN1', 2, '', 1));
    expect(r.admission?.coverages[0]).not.toHaveProperty('kind');
    expect(r.warnings).toStrictEqual([
      {
        code: '101',
        severity: 'W',
        location: { segment: 'IN1', sequence: 1, field: 2 },
        message: 'Champ obligatoire manquant : IN1-2 (type de couverture) absent',
      },
    ]);
    const noAmc = admit(setField(A01, 'IN1', 3, '', 2));
    expect(noAmc.errors[0].message).toBe('Champ obligatoire manquant : IN1-3 (numéro AMC) absent pour une couverture AMC');
    // an AMO group without number is not an error
    expect(admit(setField(A01, 'IN1', 3, '', 1)).errors).toStrictEqual([]);
  });

  it('rights dates keep the day only; absent fields leave no key', () => {
    const t = setField(setField(A01, 'IN1', 12, '202501010800', 2), 'IN1', 13, '20251231235959', 2);
    expect(adm(t).coverages[1]).toMatchObject({ debutDroits: '2025-01-01', finDroits: '2025-12-31' });
    let bare = A01;
    for (const f of [4, 12, 13, 36, 49]) bare = setField(bare, 'IN1', f, '', 2);
    const c = adm(bare).coverages[1];
    for (const k of ['organisme', 'debutDroits', 'finDroits', 'numeroContrat', 'numeroAdherent']) expect(c).not.toHaveProperty(k);
    // a bad end-of-rights date is refused at its place
    expect(where(admit(setField(A01, 'IN1', 13, '20251332', 2)).errors)).toStrictEqual([['102', 'E', 'IN1', 13]]);
  });

  it('IN2-28 extras are listed once; IN3-5 rates with decimal comma, a non-number warned at its repetition', () => {
    const t = setField(setField(A01, 'IN2', 28, 'FRJ~PRI^AT^45~FRJ~""', 2), 'IN3', 5, 'PC^80,5~AT^vingt^EUR~^^EUR~', 2);
    const r = admit(t);
    const c = r.admission?.coverages[1];
    expect(c?.extras).toStrictEqual(['FRJ', 'PRI']);
    expect(c?.taux).toStrictEqual([{ indicator: 'PC', quantity: 80.5 }, { indicator: 'AT', currency: 'EUR' }, { currency: 'EUR' }]);
    expect(r.warnings).toStrictEqual([
      {
        code: '102',
        severity: 'W',
        location: { segment: 'IN3', sequence: 2, field: 5, repetition: 2, component: 2 },
        message: 'Erreur de type de donnée : IN3-5 (taux de prise en charge) : nombre attendu',
      },
    ]);
  });

  it('a set id must be all digits', () => {
    for (const id of ['A1', '1A', '1.5']) expect(adm(setField(A01, 'IN1', 1, id, 2)).coverages[1]).not.toHaveProperty('setId');
    expect(adm(setField(A01, 'IN1', 1, '12', 2)).coverages[1].setId).toBe(12);
  });

  it('IN2/IN3 before any IN1 belong to no group; IN1 without IN2/IN3 is a group of its own', () => {
    const t = A01.replace(/IN1\|1\|/, 'IN3|9||||PC^10\rIN1|1|') + 'IN1|3|AMC|99887766\r';
    const cs = adm(t).coverages;
    expect(cs).toHaveLength(3);
    expect(cs[0].taux).toStrictEqual([{ indicator: 'PC', quantity: 80 }]);
    expect(cs[2]).toStrictEqual({ setId: 3, kind: 'AMC', numeroAmcBrut: '99887766', numeroAmc: '0099887766', extras: [], taux: [] });
  });

  it('site mapping: IN2 and IN3 of the group by occurrence, a segment that is not there gives nothing', () => {
    const t = A01 + 'ZFA|ACTIF\r';
    const a = adm(t, { coverageMapping: { typeConvention: 'IN2-28[2]', csr: 'IN3[2]-5' } });
    expect(a.coverages[1].typeConvention).toBe('PRI');
    expect(a.coverages[1]).not.toHaveProperty('csr');
    const z = adm(t, { coverageMapping: { typeConvention: 'ZFA[2]-1', csr: 'ZFA-1' } });
    expect(z.coverages[1]).not.toHaveProperty('typeConvention');
    expect(z.coverages[1].csr).toBe('ACTIF');
    const sub = adm(A01 + 'ZFA|ACTIF|SP&MUTUALISTE\r', { coverageMapping: { typeConvention: 'ZFA-2.1.2' } });
    expect(sub.coverages[1].typeConvention).toBe('MUTUALISTE');
    const amc2 = adm(A01.replace('IN3|1||||PC^100~AT^45^EUR', 'IN3|1||||PC^100\rIN3|2||||AT^45^EUR'), {
      coverageMapping: { csr: 'IN3[2]-5.1' },
    });
    expect(amc2.coverages[1].csr).toBe('AT');
    expect(amc2.coverages[0]).not.toHaveProperty('csr');
  });
});

describe('PAM-FR mapper: header', () => {
  it('names the sending and receiving parties from HD.1, else HD.2', () => {
    let t = setField(A01, 'MSH', 3, '^1.2.250.1.999.1');
    t = setField(t, 'MSH', 4, '');
    t = setField(t, 'MSH', 5, '^ROC');
    t = setField(t, 'MSH', 6, 'CHU-NORD-RECEPTION');
    const a = adm(t);
    expect(a).toMatchObject({
      sendingApplication: '1.2.250.1.999.1',
      receivingApplication: 'ROC',
      receivingFacility: 'CHU-NORD-RECEPTION',
    });
    expect(a).not.toHaveProperty('sendingFacility');
    let bare = setField(setField(setField(A01, 'MSH', 3, ''), 'MSH', 5, ''), 'MSH', 6, '');
    bare = setField(setField(bare, 'MSH', 9, 'ADT^A01'), 'MSH', 12, '');
    const b = adm(bare);
    for (const k of ['sendingApplication', 'receivingApplication', 'receivingFacility', 'structure', 'version', 'charset'])
      expect(b).not.toHaveProperty(k);
  });

  it('a bad MSH-7 is a warning, not a refusal; an absent one leaves no date', () => {
    const r = admit(setField(A01, 'MSH', 7, '20251340'));
    expect(r.ok).toBe(true);
    expect(r.admission).not.toHaveProperty('messageDateTime');
    expect(where(r.warnings)).toStrictEqual([['102', 'W', 'MSH', 7]]);
    expect(adm(setField(A01, 'MSH', 7, ''))).not.toHaveProperty('messageDateTime');
  });

  it('the event time is EVN-6, else EVN-2; a bad one is a warning', () => {
    expect(adm(setField(A01, 'EVN', 6, '')).eventDateTime).toBe('2025-01-14T09:35:00');
    const r = admit(setField(A01, 'EVN', 6, '20250114996000'));
    expect(where(r.warnings)).toStrictEqual([['102', 'W', 'EVN', 6]]);
    expect(r.errors).toStrictEqual([]);
    const none = adm(setField(setField(A01, 'EVN', 6, ''), 'EVN', 2, ''));
    expect(none).not.toHaveProperty('eventDateTime');
    expect(adm(drop(A01, 'EVN'))).not.toHaveProperty('eventDateTime');
  });

  it('lower-case type and event are read; a missing MSH-9 or event is 101, nothing else is mapped', () => {
    expect(admit(setField(A01, 'MSH', 9, 'adt^a01^ADT_A01')).meaning).toBe('IDB');
    const noType = admit(setField(A01, 'MSH', 9, ''));
    expect(noType).toMatchObject({ meaning: 'IGNORE', ok: false });
    expect(noType.admission).toBeUndefined();
    expect(noType.errors).toStrictEqual([
      {
        code: '101',
        severity: 'E',
        location: { segment: 'MSH', sequence: 1, field: 9, component: 1 },
        message: 'Champ obligatoire manquant : MSH-9 (type de message) absent',
      },
    ]);
    const noEvent = admit(setField(A01, 'MSH', 9, 'ADT'));
    expect(noEvent.errors).toStrictEqual([
      {
        code: '101',
        severity: 'E',
        location: { segment: 'MSH', sequence: 1, field: 9, component: 2 },
        message: 'Champ obligatoire manquant : événement (MSH-9.2) absent',
      },
    ]);
    expect(noEvent.meaning).toBe('IGNORE');
    expect(noEvent.ok).toBe(false);
    const noId = admit(setField(A01, 'MSH', 10, ''));
    expect(noId.errors[0]).toStrictEqual({
      code: '101',
      severity: 'E',
      location: { segment: 'MSH', sequence: 1, field: 10 },
      message: 'Champ obligatoire manquant : MSH-10 (identifiant du message) absent',
    });
    expect(admit(setField(A01, 'MSH', 10, '""')).errors.map((e) => e.location?.field)).toStrictEqual([10]);
    expect(admit(setField(A01, 'MSH', 9, 'ORU^R01')).errors[0].message).toBe(
      'Type de message non pris en charge : seuls les messages ADT, DFT, BAR sont traités',
    );
  });

  it('an ignored event is acknowledged with its header read and nothing else checked', () => {
    const t = drop(drop(setField(A01, 'MSH', 9, 'ADT^A02^ADT_A02'), 'PID'), 'PV1');
    const r = admit(t);
    expect(r).toMatchObject({ ok: true, meaning: 'IGNORE', errors: [] });
    expect(r.admission).toMatchObject({ event: 'A02', controlId: 'A01-UTF8-0001', messageDateTime: '2025-01-14T09:35:12' });
    expect(r.admission).not.toHaveProperty('eventDateTime');
    expect(r.admission?.patient).toStrictEqual({ identifiers: [] });
    const noId = admit(setField(t, 'MSH', 10, ''));
    expect(noId).toMatchObject({ ok: false, meaning: 'IGNORE' });
    expect(noId.admission).toBeDefined();
  });

  it('DFT and BAR: only P03 and P05; another trigger is 200 at MSH-9.2 naming the accepted ones', () => {
    const p11 = admit(setField(A01, 'MSH', 9, 'DFT^P11^DFT_P11'));
    expect(p11).toMatchObject({ meaning: 'IGNORE', ok: false });
    expect(p11.admission).toBeUndefined();
    expect(p11.errors).toStrictEqual([
      {
        code: '200',
        severity: 'E',
        location: { segment: 'MSH', sequence: 1, field: 9, component: 2 },
        message: 'Type de message non pris en charge : seuls les messages DFT^P03 sont traités',
      },
    ]);
    const p01 = admit(setField(A01, 'MSH', 9, 'BAR^P01^BAR_P01'));
    expect(p01).toMatchObject({ meaning: 'IGNORE', ok: false });
    expect(p01.errors).toStrictEqual([
      {
        code: '200',
        severity: 'E',
        location: { segment: 'MSH', sequence: 1, field: 9, component: 2 },
        message: 'Type de message non pris en charge : seuls les messages BAR^P05 sont traités',
      },
    ]);
    // an ADT event name is no DFT trigger, even a known one; nor a property of every object
    expect(admit(setField(A01, 'MSH', 9, 'DFT^A01')).errors.map((e) => e.code)).toStrictEqual(['200']);
    expect(admit(setField(A01, 'MSH', 9, 'DFT^TOSTRING')).errors.map((e) => e.code)).toStrictEqual(['200']);
    expect(admit(setField(A01, 'MSH', 9, 'BAR^CONSTRUCTOR')).errors.map((e) => e.code)).toStrictEqual(['200']);
    // without event: only the 101
    const dft = admit(setField(A01, 'MSH', 9, 'DFT'));
    expect(dft.errors.map((e) => e.code)).toStrictEqual(['101']);
    expect(dft.admission).toBeUndefined();
    expect(admit(setField(A01, 'MSH', 9, 'BAR')).admission).toBeUndefined();
    // the accepted triggers get their meaning, and an ADT event table override does not reach them
    expect(admit(setField(A01, 'MSH', 9, 'DFT^P03'), { eventMeanings: { P03: 'IGNORE' } }).meaning).toBe('INVOICE');
    expect(admit(setField(A01, 'MSH', 9, 'BAR^P05'), { eventMeanings: { P05: 'IGNORE' } }).meaning).toBe('AMO_PAYMENT');
  });
});

describe('PAM-FR mapper: required fields and dates', () => {
  it('a site can replace the required list of a meaning', () => {
    const t = setField(A01, 'PV1', 2, '');
    expect(where(admit(t).errors)).toStrictEqual([['101', 'E', 'PV1', 2]]);
    expect(admit(t, { required: { IDB: ['PID-3'] } }).errors).toStrictEqual([]);
    expect(where(admit(t, { required: { CLC: ['PV1-3'] } }).errors)).toStrictEqual([['101', 'E', 'PV1', 2]]);
    expect(admit(t).errors[0].message).toBe('Champ obligatoire manquant : PV1-2 (classe de patient) absent');
  });

  it('a site’s required path may name an occurrence, a component or a subcomponent', () => {
    const r = admit(setField(A01, 'IN1', 49, '', 2), { required: { IDB: ['IN1[2]-49', 'PV1-3.1', 'PID-3.4.2', 'PID-3[3].5'] } });
    expect(r.errors).toStrictEqual([
      {
        code: '101',
        severity: 'E',
        location: { segment: 'IN1', sequence: 2, field: 49 },
        message: "Champ obligatoire manquant : IN1[2]-49 (numéro d'adhérent) absent",
      },
    ]);
    const t = setField(setField(A01, 'PV1', 3, '^204'), 'PID', 3, `481516^^^CHU-NORD^PI~${INS}`);
    expect(admit(t, { required: { IDB: ['PV1-3.1', 'PID-3.4.2', 'PID-3[3].5'] } }).errors).toStrictEqual([
      {
        code: '101',
        severity: 'E',
        location: { segment: 'PV1', sequence: 1, field: 3, component: 1 },
        message: 'Champ obligatoire manquant : PV1-3.1 (localisation) absent',
      },
      {
        code: '101',
        severity: 'E',
        location: { segment: 'PID', sequence: 1, field: 3, component: 4, subcomponent: 2 },
        message: 'Champ obligatoire manquant : PID-3.4.2 (identifiants du patient) absent',
      },
      {
        code: '101',
        severity: 'E',
        location: { segment: 'PID', sequence: 1, field: 3, repetition: 3, component: 5 },
        message: 'Champ obligatoire manquant : PID-3[3].5 (identifiants du patient) absent',
      },
    ]);
    // a path the profile has no label for is named alone
    expect(admit(A01, { required: { IDB: ['PV1-50'] } }).errors[0].message).toBe('Champ obligatoire manquant : PV1-50 absent');
  });

  it('a required segment that is absent is reported once, at the segment', () => {
    const r = admit(drop(drop(A01, 'PV1'), 'PV2'), { required: { IDB: ['PID-3', 'PV1-2', 'PV1-19', 'PV1-44'] } });
    expect(r.errors).toStrictEqual([
      {
        code: '100',
        severity: 'E',
        location: { segment: 'PV1', sequence: 1 },
        message: 'Erreur de séquence de segments : segment PV1 absent',
      },
    ]);
    // one of the alternatives' segment is there: not a missing segment
    const alt = admit(drop(A01, 'PV1'), { required: { IDB: ['PV1-19|PID-18'] } });
    expect(alt.errors).toStrictEqual([]);
    // without PID the segment is reported once, not again as a missing PID-3
    const noPid = admit(drop(A01, 'PID'));
    expect(noPid.errors.filter((e) => e.location?.segment === 'PID')).toStrictEqual([
      {
        code: '100',
        severity: 'E',
        location: { segment: 'PID', sequence: 1 },
        message: 'Erreur de séquence de segments : segment PID absent',
      },
    ]);
  });

  it('a field already refused (bad date) is not reported again as missing', () => {
    const r = admit(setField(setField(A01, 'PV1', 44, '20250230'), 'PV2', 8, ''));
    expect(where(r.errors)).toStrictEqual([['102', 'E', 'PV1', 44]]);
  });

  it('PV1-19 missing with NDA: the warning names both fields; another chain falling back is silent', () => {
    const r = admit(setField(A01, 'PV1', 19, ''));
    expect(r.warnings[0].message).toBe(
      'Champ obligatoire manquant : PV1-19 (numéro de venue) absent, PID-18 (numéro de dossier administratif (NDA)) utilisé pour ordonner les mouvements',
    );
    // the entry date from PV2-8 instead of PV1-44: no warning
    const pv2 = admit(setField(A01, 'PV1', 44, ''));
    expect(pv2.warnings).toStrictEqual([]);
    expect(pv2.admission?.venue).toMatchObject({ admitDateTime: '2025-01-14T08:00:00', admitDateSource: 'PV2-8' });
  });

  it('entry date chain of an admission: PV1-44, PV2-8, ZBE-2, EVN-6', () => {
    let t = setField(A01, 'PV1', 44, '');
    t = drop(t, 'PV2');
    expect(adm(t).venue).toMatchObject({ admitDateTime: '2025-01-14T09:00:00', admitDateSource: 'ZBE-2' });
    t = setField(t, 'ZBE', 2, '');
    t = setField(t, 'EVN', 6, '202501140845');
    expect(adm(t).venue).toMatchObject({ admitDateTime: '2025-01-14T08:45', admitDateSource: 'EVN-6' });
  });

  it('discharge date chain of a discharge: PV1-45, ZBE-2, EVN-6; other events keep PV1-45 only', () => {
    const a03 = setField(A01, 'MSH', 9, 'ADT^A03^ADT_A03');
    expect(adm(setField(a03, 'PV1', 45, '20250120110000')).venue).toMatchObject({ dischargeDateTime: '2025-01-20T11:00:00' });
    expect(adm(setField(a03, 'PV1', 45, '20250120110000')).venue).not.toHaveProperty('dischargeDateSource');
    expect(adm(a03).venue).toMatchObject({ dischargeDateTime: '2025-01-14T09:00:00', dischargeDateSource: 'ZBE-2' });
    const evn = adm(setField(setField(a03, 'ZBE', 2, ''), 'EVN', 6, '20250120113000')).venue;
    expect(evn).toMatchObject({ dischargeDateTime: '2025-01-20T11:30:00', dischargeDateSource: 'EVN-6' });
    // an update (A08) takes no discharge date from the movement, nor an entry date from PV2-8
    const a08 = adm(setField(setField(A01, 'MSH', 9, 'ADT^A08^ADT_A01'), 'PV1', 44, ''));
    expect(a08.venue).not.toHaveProperty('dischargeDateTime');
    expect(a08.venue).not.toHaveProperty('admitDateTime');
    expect(a08.venue?.expectedAdmitDateTime).toBe('2025-01-14T08:00:00');
  });

  it('the entry date of an admission never comes from the discharge date PV1-45', () => {
    const t = setField(setField(A01, 'PV1', 44, ''), 'PV1', 45, '20250120110000');
    const a = adm(drop(t, 'PV2'));
    expect(a.venue?.admitDateTime).toBe('2025-01-14T09:00:00');
    expect(a.venue?.dischargeDateTime).toBe('2025-01-20T11:00:00');
  });
});

describe('PAM-FR mapper: invoice and AMO payment', () => {
  const DFT =
    setField(A01, 'MSH', 9, 'DFT^P03^DFT_P03') +
    'ZFA|FAC-2025-0042|20250120|1250.00|1000.00|200.00|50.00\rFT1|1||||20250114|20250120|CG|GHS|||1250.00\r';

  it('a DFT^P03 gets its invoice errors after the ADT checks', () => {
    const r = admit(setField(DFT, 'ZFA', 1, ''));
    expect(r.meaning).toBe('INVOICE');
    expect(r.ok).toBe(false);
    expect(where(r.errors)).toContainEqual(['101', 'E', 'ZFA', 1]);
    expect(r.admission).not.toHaveProperty('facture');
  });

  it('a BAR^P05 reads the AMO payment; its errors are reported once per place', () => {
    const bar = setField(A01, 'MSH', 9, 'BAR^P05^BAR_P05') + 'ZFA|FAC-2025-0042|||1000.00|||20250201\r';
    const ok = admit(bar);
    expect(ok.meaning).toBe('AMO_PAYMENT');
    expect(ok.errors).toStrictEqual([]);
    expect(ok.admission?.amoPayment).toBeDefined();
    const noVenue = admit(setField(setField(bar, 'PV1', 19, ''), 'ZFA', 7, ''));
    expect(noVenue.ok).toBe(false);
    const places = noVenue.errors.map((e) => `${e.location?.segment}-${e.location?.field}`);
    expect(places).toContain('PV1-19');
    expect(places).toContain('ZFA-7');
    expect(new Set(places).size).toBe(places.length);
    expect(noVenue.admission).not.toHaveProperty('amoPayment');
    // the venue missing for both the required fields and the payment: one error at PV1-19
    const once = admit(setField(bar, 'PV1', 19, ''));
    expect(once.errors).toStrictEqual([
      {
        code: '101',
        severity: 'E',
        location: { segment: 'PV1', sequence: 1, field: 19 },
        message: 'Champ obligatoire manquant : PV1-19 (numéro de venue) absent',
      },
    ]);
  });
});

describe('PAM-FR mapper: ordering key', () => {
  it('no venue number, NDA nor IPP: no ordering key', () => {
    const t = setField(setField(setField(A01, 'PV1', 19, ''), 'PID', 18, ''), 'PID', 3, INS);
    const a = adm(t);
    expect(a).not.toHaveProperty('orderingKey');
    expect(a).not.toHaveProperty('orderingKeySource');
  });
});

describe('PAM-FR admission → ROC dossier', () => {
  const base = adm(A01);

  it('the AMC group is chosen by its rights on the entry date, bounds included', () => {
    const at = (entry: string) => admissionToDossier({ ...base, venue: { ...base.venue, admitDateTime: entry } }).amc?.numeroAmc;
    const other: Admission['coverages'][number] = {
      kind: 'AMC',
      numeroAmc: '0099887766',
      debutDroits: '2024-01-01',
      finDroits: '2024-12-31',
      extras: [],
      taux: [],
    };
    const two = { ...base, coverages: [...base.coverages, other] };
    const pick = (entry?: string) => admissionToDossier({ ...two, venue: { ...two.venue, admitDateTime: entry } }).amc?.numeroAmc;
    expect(pick('2025-01-01T00:00')).toBe('0077554321');
    expect(pick('2025-12-31T23:59')).toBe('0077554321');
    expect(pick('2024-12-31')).toBe('0099887766');
    expect(pick('2024-01-01')).toBe('0099887766');
    // outside every group's rights: the first AMC group
    expect(pick('2026-02-01')).toBe('0077554321');
    expect(pick('2023-06-01')).toBe('0077554321');
    // no entry date: the first AMC group
    expect(pick(undefined)).toBe('0077554321');
    // open-ended rights
    const open = { ...two, coverages: [base.coverages[1], { ...other, debutDroits: undefined, finDroits: undefined }] };
    expect(admissionToDossier({ ...open, venue: { ...open.venue, admitDateTime: '2026-03-01' } }).amc?.numeroAmc).toBe('0099887766');
    expect(at('2025-06-01')).toBe('0077554321');
  });

  it('an AMC group without a usable number gives no AMC; an AMO group never does', () => {
    const noNumber = { ...base, coverages: [base.coverages[0], { ...base.coverages[1], numeroAmc: undefined }] };
    expect(admissionToDossier(noNumber)).not.toHaveProperty('amc');
    const d = admissionToDossier(base);
    expect(d.amc).toStrictEqual({ numeroAmc: '0077554321' });
  });

  it('the beneficiary needs NIR, birth date, name and first name; the NIR key only with 15 characters', () => {
    const p = base.patient;
    const without = (k: keyof typeof p) => admissionToDossier({ ...base, patient: { ...p, [k]: undefined } }).beneficiaire;
    expect(without('dateNaissance')).toBeUndefined();
    expect(without('nom')).toBeUndefined();
    expect(without('prenom')).toBeUndefined();
    expect(admissionToDossier({ ...base, patient: { ...p, nir: undefined, ins: undefined } }).beneficiaire).toBeUndefined();
    const thirteen = admissionToDossier({ ...base, patient: { ...p, nir: { value: '2850759350123' } } }).beneficiaire;
    expect(thirteen?.nir).toBe('2850759350123');
    expect(thirteen).not.toHaveProperty('cleNir');
    // same birth name as usual name: not repeated; no rank, no adherent: absent
    const plain = admissionToDossier({
      ...base,
      coverages: [base.coverages[0], { ...base.coverages[1], numeroAdherent: undefined }],
      patient: { ...p, nomNaissance: p.nom, rangNaissance: undefined },
    }).beneficiaire;
    expect(plain).toStrictEqual({ nir: '2850759350123', cleNir: '24', dateNaissance: '1985-07-14', nom: 'LEFÈVRE-BŒUF', prenom: 'Hélène' });
  });

  it('the AMO insured part only from a 9-digit régime + caisse + centre', () => {
    const amo = (n: string) => admissionToDossier({ ...base, coverages: [{ ...base.coverages[0], numeroAmcBrut: n }] }).assureAmo;
    expect(amo('011751234')).toStrictEqual({ regime: '01', caisse: '175', centre: '1234' });
    expect(amo('01175123')).toBeUndefined();
    expect(amo('0117512345')).toBeUndefined();
    expect(amo('01-175-1234')).toBeUndefined();
    // an AMC group with 9 digits is not the AMO
    expect(admissionToDossier({ ...base, coverages: [{ ...base.coverages[1], numeroAmcBrut: '011751234' }] }).assureAmo).toBeUndefined();
  });

  it('the venue part needs a type and an entry date; discharge, NDA and venue number when known', () => {
    const v = base.venue as NonNullable<Admission['venue']>;
    expect(admissionToDossier({ ...base, venue: { ...v, type: undefined } })).not.toHaveProperty('venue');
    expect(admissionToDossier({ ...base, venue: { ...v, admitDateTime: undefined } })).not.toHaveProperty('venue');
    expect(
      admissionToDossier({ ...base, venue: { type: 'URGENCE', admitDateTime: '2025-01-14T09:00', dischargeDateTime: '2025-01-15T10:00' } })
        .venue,
    ).toStrictEqual({
      type: 'URGENCE',
      dateEntree: '2025-01-14',
      dateSortie: '2025-01-15',
    });
  });
});

it('the fixture holds what these tests change', () => {
  expect(get(A01, 'PID', 3)).toBe(`${IPP}~${INS}~${NH}`);
  expect(get(A01, 'ZBE', 7)).toBe(UF('590780215&N'));
});

describe('PAM-FR mapper: what each refusal names, and the last edges', () => {
  it('each bad date names its field, whatever its severity', () => {
    const cases: Array<[string, number, string, number, string]> = [
      ['MSH', 7, '20251340', 1, 'MSH-7'],
      ['EVN', 6, '20251340', 1, 'EVN-6'],
      ['ZBE', 2, '20251340', 1, 'ZBE-2 (date du mouvement)'],
      ['IN1', 12, '20251340', 2, 'IN1-12 (début des droits)'],
      ['IN1', 13, '20251340', 2, 'IN1-13 (fin des droits)'],
      ['PV1', 45, '20251340', 1, 'PV1-45 (date de sortie)'],
      ['PV2', 8, '20251340', 1, "PV2-8 (date d'entrée prévue)"],
    ];
    for (const [seg, field, value, occ, named] of cases) {
      const r = admit(setField(A01, seg, field, value, occ));
      const all = [...r.errors, ...r.warnings].map((i) => i.message);
      expect([seg, field, all]).toStrictEqual([
        seg,
        field,
        [`Erreur de type de donnée : date invalide en ${named}, format attendu AAAAMMJJ[HHMM[SS]]`],
      ]);
    }
    const evn2 = admit(setField(setField(A01, 'EVN', 6, ''), 'EVN', 2, '20251340'));
    expect(evn2.warnings.map((w) => w.message)).toStrictEqual([
      'Erreur de type de donnée : date invalide en EVN-2, format attendu AAAAMMJJ[HHMM[SS]]',
    ]);
  });

  it('labels also for two-digit occurrences, components and subcomponents', () => {
    const r = admit(A01, { required: { IDB: ['IN1[10]-49', 'PV1-3.10', 'PID-3.4.10'] } });
    expect(r.errors.map((e) => e.message)).toStrictEqual([
      "Champ obligatoire manquant : IN1[10]-49 (numéro d'adhérent) absent",
      'Champ obligatoire manquant : PV1-3.10 (localisation) absent',
      'Champ obligatoire manquant : PID-3.4.10 (identifiants du patient) absent',
    ]);
  });

  it('a missing PID is reported even when a site does not require PID-3; a refused MSH-10 is not reported twice', () => {
    expect(admit(drop(A01, 'PID'), { required: { IDB: ['PV1-19'] } }).errors).toStrictEqual([
      {
        code: '100',
        severity: 'E',
        location: { segment: 'PID', sequence: 1 },
        message: 'Erreur de séquence de segments : segment PID absent',
      },
    ]);
    expect(admit(setField(A01, 'MSH', 10, ''), { required: { IDB: ['MSH-10'] } }).errors.map((e) => e.location)).toStrictEqual([
      { segment: 'MSH', sequence: 1, field: 10 },
    ]);
  });

  it('P03 and P05 are DFT and BAR triggers only: as ADT events they are ignored', () => {
    expect(admit(setField(A01, 'MSH', 9, 'ADT^P03')).meaning).toBe('IGNORE');
    expect(admit(setField(A01, 'MSH', 9, 'ADT^P05')).meaning).toBe('IGNORE');
    expect(adm(setField(A01, 'MSH', 9, 'ADT^A02')).coverages).toStrictEqual([]);
  });

  it('values are trimmed; identifiers without type keep none; other identifier types are not INS', () => {
    const r = admit(setField(A01, 'PID', 8, ' F '));
    expect(r.admission?.patient.sexe).toBe('F');
    expect(r.warnings).toStrictEqual([]);
    expect(adm(setField(A01, 'PID', 18, '25010042^^^CHU-NORD&590780193&M')).venue?.nda).toStrictEqual({
      value: '25010042',
      authority: { namespace: 'CHU-NORD', universalId: '590780193', universalIdType: 'M' },
      finess: { numero: '590780193', kind: 'juridique' },
    });
    expect(adm(setField(A01, 'PID', 3, `${IPP}~${NH}~25010042^^^CHU-NORD^AN`)).patient).not.toHaveProperty('ins');
    expect(adm(setField(A01, 'ZBE', 9, '')).movement).not.toHaveProperty('nature');
  });

  it('IN1 fields are not rates; a numéro AMC with letters before or after the digits is not one', () => {
    const t = setField(A01, 'IN1', 5, '12 rue Nationale^^Lille~PC^50', 2);
    expect(adm(t).coverages[1].taux).toStrictEqual([
      { indicator: 'PC', quantity: 100 },
      { indicator: 'AT', quantity: 45, currency: 'EUR' },
    ]);
    for (const n of ['A7755432', '7755432A']) {
      const r = admit(setField(A01, 'IN1', 3, n, 2));
      expect([n, r.admission?.coverages[1].numeroAmc, r.warnings.map((w) => w.code)]).toStrictEqual([n, undefined, ['102']]);
    }
  });

  it('dossier: rights compared on the day of the entry; a birth date with time gives the day; no venue, no venue part', () => {
    const base = adm(A01);
    const other: Admission['coverages'][number] = {
      kind: 'AMC',
      numeroAmc: '0099887766',
      debutDroits: '2024-01-01',
      finDroits: '2024-12-31',
      extras: [],
      taux: [],
    };
    const two = { ...base, coverages: [...base.coverages, other], venue: { ...base.venue, admitDateTime: '2024-12-31T10:00' } };
    expect(admissionToDossier(two).amc?.numeroAmc).toBe('0099887766');
    const withTime = adm(setField(A01, 'PID', 7, '198507140830'));
    expect(withTime.patient.dateNaissance).toBe('1985-07-14T08:30');
    expect(admissionToDossier(withTime).beneficiaire?.dateNaissance).toBe('1985-07-14');
    const noVenue = { ...base, venue: undefined };
    const d = admissionToDossier(noVenue);
    expect(d).not.toHaveProperty('venue');
    expect(d.amc?.numeroAmc).toBe('0077554321');
  });
});
