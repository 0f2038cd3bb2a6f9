import { readFileSync } from 'fs';
import { join } from 'path';
import { admissionToDossier } from '../../lib/hl7/pamfr';
import { readHprimXml } from '../../lib/hprim';

const FIX = join(__dirname, '..', 'fixtures', 'hprim');
const VENUE = readFileSync(join(FIX, 'hprimxml-own-venue-debiteurs.xml'));
const MVT = readFileSync(join(FIX, 'hprimxml-own-mouvement-8859-15.xml'));

describe('HPRIM XML evenementsPatients: venuePatient + debiteursVenue', () => {
  const r = readHprimXml(VENUE);

  it('is accepted with the header read', () => {
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.format).toBe('hprim-xml');
    expect(r.messageId).toBe('EVT-20260312-000123');
    expect(r.sender).toBe('GAP01');
    expect(r.receiver).toBe('ROCBRIDGE');
    expect(r.admissions.map((a) => [a.event, a.meaning, a.controlId])).toEqual([
      ['venuePatient', 'IDB', 'EVT-20260312-000123#1'],
      ['debiteursVenue', 'UPDATE', 'EVT-20260312-000123#2'],
    ]);
  });

  it('venuePatient: patient and venue in the lib/hl7 Admission shape', () => {
    const a = r.admissions[0];
    expect(a.patient).toMatchObject({
      ipp: { value: 'IPP0012345', type: 'PI' },
      nom: 'DUPRÉ',
      nomNaissance: 'LEFÈVRE',
      prenom: 'Hélène',
      prenoms: 'Hélène Marie',
      dateNaissance: '1978-03-14',
      sexe: 'F',
    });
    expect(a.venue).toMatchObject({
      numeroVenue: { value: 'VEN2600056789' },
      nda: { value: 'NDA26001234' },
      patientClass: 'hsp',
      type: 'HOSPITALISATION',
      admitDateTime: '2026-03-12T09:30:00',
    });
    expect(a.movement).toEqual({ action: 'INSERT' });
    expect(a).toMatchObject({
      orderingKey: 'VEN2600056789',
      orderingKeySource: 'PV1-19',
      messageDateTime: '2026-03-12T10:15:00',
      version: '1.05',
    });
  });

  it('debiteursVenue: AMO and AMC coverages, adhérent with leading zeros', () => {
    const a = r.admissions[1];
    expect(a.patient.nir).toEqual({ value: '278034512345677', type: 'NH' });
    expect(a.coverages).toEqual([
      expect.objectContaining({ kind: 'AMO', numeroAmcBrut: '014510000', debutDroits: '2026-01-01', finDroits: '2026-12-31' }),
      expect.objectContaining({
        kind: 'AMC',
        numeroAmc: '0012345678',
        numeroAdherent: '0000456789',
        typeConvention: 'CS',
        organisme: 'Mutuelle des étudiants & élèves',
        finDroits: '2026-12-31',
      }),
    ]);
    const d = admissionToDossier(a);
    expect(d.amc).toEqual({ numeroAmc: '0012345678', typeConvention: 'CS' });
    expect(d.assureAmo).toEqual({ regime: '01', caisse: '451', centre: '0000' });
  });

  it('a venuePatient with a sortie date is a discharge (CLC)', () => {
    const xml = VENUE.toString('utf8')
      .replace(
        '</entree>',
        '</entree><sortie><dateHeureOptionnelle><date>2026-03-16</date><heure>11:00:00</heure></dateHeureOptionnelle></sortie>',
      )
      .replace('action="création">\n      <patient>', 'action="modification">\n      <patient>');
    const a = readHprimXml(xml).admissions[0];
    expect(a.meaning).toBe('CLC');
    expect(a.venue?.dischargeDateTime).toBe('2026-03-16T11:00:00');
    expect(a.movement?.action).toBe('UPDATE');
  });

  it('suppression of a venue is a DEL', () => {
    const a = readHprimXml(VENUE.toString('utf8').replace('<venuePatient action="création">', '<venuePatient action="suppression">'))
      .admissions[0];
    expect(a.meaning).toBe('DEL');
    expect(a.movement?.action).toBe('CANCEL');
  });
});

describe('HPRIM XML: mouvementPatient, ISO 8859-15, prefixed namespace', () => {
  it('decodes the declared encoding and reads the movement', () => {
    const r = readHprimXml(MVT);
    expect(r.errors).toEqual([]);
    expect(r.charset).toBe('iso-8859-15');
    const a = r.admissions[0];
    expect(a.event).toBe('mouvementPatient');
    expect(a.meaning).toBe('UPDATE');
    expect(a.patient.nom).toBe('CŒUR');
    expect(a.patient.prenom).toBe('Zoé');
    expect(a.movement).toMatchObject({ id: 'MVT000042', dateTime: '2026-03-14T08:05', action: 'INSERT' });
    expect(a.venue?.ufMedicale).toEqual({ code: 'UF3040', libelle: 'Médecine polyvalente' });
  });
});

describe('HPRIM XML: hostile and broken input is refused with a clear error', () => {
  const good = VENUE.toString('utf8');

  it('DOCTYPE with an entity (billion laughs head) is refused before parsing', () => {
    const evil = good
      .replace(
        '<evenementsPatients',
        '<!DOCTYPE evenementsPatients [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<evenementsPatients',
      )
      .replace('IPP0012345', '&b;');
    const r = readHprimXml(evil);
    expect(r.ok).toBe(false);
    expect(r.admissions).toEqual([]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'XML_DTD', line: 3 })]);
  });

  it('an external entity (XXE) is refused', () => {
    const r = readHprimXml(
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><evenementsPatients xmlns="http://www.hprim.org/hprimXML">&e;</evenementsPatients>',
    );
    expect(r.errors[0].code).toBe('XML_DTD');
  });

  it('a DOCTYPE hidden after a comment that mentions one is still refused, on its own line', () => {
    const r = readHprimXml(
      good.replace('<evenementsPatients', '<!-- pas de <!DOCTYPE ici -->\n<!DOCTYPE x [<!ENTITY e "y">]>\n<evenementsPatients'),
    );
    expect(r.errors).toEqual([expect.objectContaining({ code: 'XML_DTD', line: 4 })]);
  });

  it('an external DTD (DOCTYPE SYSTEM, no internal subset) is refused', () => {
    const r = readHprimXml(
      good.replace('<evenementsPatients', '<!DOCTYPE evenementsPatients SYSTEM "http://gap.example/hprim.dtd">\n<evenementsPatients'),
    );
    expect(r.errors).toEqual([expect.objectContaining({ code: 'XML_DTD', line: 3 })]);
  });

  it('a comment closed early does not hide a declaration that follows it', () => {
    const r = readHprimXml(
      good.replace('<evenementsPatients', '<!-- note --><!ENTITY e SYSTEM "file:///etc/passwd"><!-- fin -->\n<evenementsPatients'),
    );
    expect(r.errors[0].code).toBe('XML_DTD');
  });

  it('truncated XML names the line', () => {
    const cut = good.slice(0, good.indexOf('<debiteurs>'));
    const r = readHprimXml(cut);
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'XML_MALFORMED' })]);
    expect(r.errors[0]).toMatchObject({ line: 46, record: 'debiteursVenue' }); // last line before the cut (</venue>);
    expect(r.errors[0].message).toContain('evenementsPatients/evenementPatient/debiteursVenue');
    expect(r.errors[0].message).not.toContain('DUPRÉ');
  });

  it('wrong namespace, wrong root, oversize, empty', () => {
    expect(readHprimXml(good.replace('http://www.hprim.org/hprimXML', 'urn:autre')).errors[0].code).toBe('XML_NAMESPACE');
    expect(readHprimXml('<evenementsServeurActes xmlns="http://www.hprim.org/hprimXML"/>').errors[0]).toMatchObject({
      code: 'XML_NOT_EVENEMENTS',
      record: 'evenementsServeurActes',
    });
    expect(readHprimXml(good, { maxBytes: 1000 }).errors[0].code).toBe('XML_TOO_LARGE');
    expect(readHprimXml('  ').errors[0].code).toBe('EMPTY');
  });

  it('missing identifiers and bad dates name the element', () => {
    const r = readHprimXml(
      good.replace('<date>1978-03-14</date>', '<date>1978-13-14</date>').replace('<numeroOrganisme>12345678</numeroOrganisme>', ''),
    );
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      expect.objectContaining({ code: 'BAD_DATE', record: 'evenementPatient[1]/venuePatient/patient' }),
      expect.objectContaining({ code: 'MISSING_FIELD', record: 'evenementPatient[2]/debiteursVenue/debiteurs/debiteur[2]/complementaire' }),
    ]);
    for (const e of r.errors) expect(e.message).not.toMatch(/1978|DUPRÉ|Hélène/);
  });
});

describe('HPRIM XML: DOCTYPE and ENTITY written as content are not declarations', () => {
  const good = VENUE.toString('utf8');

  it('<!DOCTYPE and <!ENTITY inside a CDATA section (a libellé quoting markup) are accepted as text', () => {
    const libelle = '<![CDATA[Voir <!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]> & co]]>';
    const r = readHprimXml(good.replace("<libelle>GAP CH Sainte-Anne d'Orléans</libelle>", `<libelle>${libelle}</libelle>`));
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.admissions).toHaveLength(2);
    expect(r.sender).toBe('GAP01');
  });

  it('<!ENTITY and <!DOCTYPE inside a comment are accepted', () => {
    const r = readHprimXml(
      good.replace('<evenementsPatients', '<!-- gabarit GAP : pas de <!ENTITY x "y"> ni de <!DOCTYPE, & interdit -->\n<evenementsPatients'),
    );
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.admissions[0].patient.nom).toBe('DUPRÉ');
  });

  it('a comment inside the document body mentioning <!ENTITY is accepted, the root is still found after a leading comment with a tag in it', () => {
    const r = readHprimXml(
      good
        .replace('<evenementsPatients', '<!-- <facture> exemple --><evenementsPatients')
        .replace('<evenementPatient>', '<!-- <!ENTITY a "b"> --><evenementPatient>'),
    );
    expect(r.errors).toEqual([]);
    expect(r.admissions).toHaveLength(2);
  });

  it('an attribute value mentioning <!DOCTYPE is not taken for a declaration', () => {
    const r = readHprimXml(
      good.replace('<agent categorie="système">', '<agent categorie="système" libelle="modèle &lt;!DOCTYPE&gt; et <!ENTITY">'),
    );
    // '<' is not allowed in an attribute value: refused, but as malformed XML, not as a DTD
    expect(r.errors.map((e) => e.code)).not.toContain('XML_DTD');
  });
});

describe('HPRIM XML: mismatched tags', () => {
  it('names the line of the wrong closing tag', () => {
    const r = readHprimXml(VENUE.toString('utf8').replace('</nomUsuel>', '</nomUsel>'));
    expect(r.errors).toEqual([expect.objectContaining({ code: 'XML_MALFORMED', line: 22 })]);
    expect(r.errors[0].message).toContain('nomUsuel');
  });
});

describe('HPRIM XML: entities', () => {
  it('decodes character references, refuses undeclared entities with their line', () => {
    const good = VENUE.toString('utf8');
    expect(readHprimXml(good.replace('<nomUsuel>DUPRÉ</nomUsuel>', '<nomUsuel>DUPR&#201;</nomUsuel>')).admissions[0].patient.nom).toBe(
      'DUPRÉ',
    );
    const r = readHprimXml(good.replace('<nomUsuel>DUPRÉ</nomUsuel>', '<nomUsuel>DUPR&Eacute;</nomUsuel>'));
    expect(r.errors).toEqual([expect.objectContaining({ code: 'XML_MALFORMED', line: 22 })]);
  });
});

describe('HPRIM XML: damaged documents never crash the reader', () => {
  it('every cut of the fixture is refused with an error, never an exception', () => {
    const good = VENUE.toString('utf8');
    const end = good.lastIndexOf('</evenementsPatients>');
    for (let cut = 0; cut < end; cut += 7) {
      const r = readHprimXml(good.slice(0, cut));
      expect(r.ok).toBe(false);
      expect(r.errors.length).toBeGreaterThan(0);
    }
  });
});

describe('HPRIM XML: warnings', () => {
  it('an unknown natureVenueHprim is accepted, warned on the result and on the admission', () => {
    const r = readHprimXml(VENUE.toString('utf8').replace('valeur="hsp"', 'valeur="xyz"'));
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([expect.objectContaining({ code: 'UNKNOWN_CLASS', record: 'evenementPatient[1]/venuePatient/venue' })]);
    expect(r.admissions[0].venue?.type).toBeUndefined();
    expect(r.admissions[0].warnings).toEqual([expect.objectContaining({ code: '103', severity: 'W' })]);
    expect(r.admissions[1].warnings).toEqual([]);
  });
});
