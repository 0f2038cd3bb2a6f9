import { readFileSync } from 'fs';
import { join } from 'path';
import * as iconv from 'iconv-lite';
import { admissionToDossier } from '../../lib/hl7/pamfr';
import { decodeHprim, parseHprimRecords, readHprimSante } from '../../lib/hprim';
import { SAMPLES } from '../support/samples';

const FIX = join(__dirname, '..', 'fixtures', 'hprim');
const UTF8 = readFileSync(join(FIX, 'hprim-own-adm-2-patients-utf8-cr.hpr'));
const LATIN9 = readFileSync(join(FIX, 'hprim-own-adm-sortie-8859-15-crlf.hpr'));
const ORU = readFileSync(join(SAMPLES, 'hprim-sante-2.1-oru-libhprim-test.hpr'));

/** No error or warning text may carry patient data from the fixtures. */
const PATIENT_DATA = ['DUPRÉ', 'Hélène', 'LEFÈVRE', '1978', '2780345123456', 'IPP0012345', 'CŒUR', 'Zoé', '2850213005042', 'MARTIN'];
function expectNoPatientData(texts: string[]): void {
  for (const t of texts) for (const p of PATIENT_DATA) expect(t).not.toContain(p);
}

describe('HPRIM Santé ADM: UTF-8 fixture with continuation lines', () => {
  const r = readHprimSante(UTF8);

  it('is accepted, with the header read', () => {
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.messageId).toBe('ADM20260312A.HPR');
    expect(r.sender).toBe('GAP01');
    expect(r.receiver).toBe('ROCBRIDGE');
    expect(r.messageType).toBe('ADM');
    expect(r.charset).toBe('utf8');
    expect(r.admissions).toHaveLength(2);
  });

  it('maps the first P/AP/AC group to the lib/hl7 Admission shape', () => {
    const a = r.admissions[0];
    expect(a).toMatchObject({
      messageType: 'ADM',
      event: 'A',
      meaning: 'IDB',
      controlId: 'ADM20260312A.HPR#1',
      sendingApplication: 'GAP01',
      sendingFacility: 'CH SAINTE-ANNE ORLÉANS',
      messageDateTime: '2026-03-12T10:15:00',
      version: 'H2.2',
      orderingKey: 'VEN2600056789',
      orderingKeySource: 'PV1-19',
    });
    expect(a.patient).toMatchObject({
      ipp: { value: 'IPP0012345', type: 'PI' },
      nir: { value: '278034512345677', type: 'NH' },
      nom: 'DUPRÉ',
      prenom: 'Hélène',
      nomNaissance: 'LEFÈVRE',
      dateNaissance: '1978-03-14',
      sexe: 'F',
    });
    expect(a.venue).toMatchObject({
      nda: { value: 'NDA26001234' },
      numeroVenue: { value: 'VEN2600056789' },
      patientClass: 'IP',
      type: 'HOSPITALISATION',
      admitDateTime: '2026-03-12T09:30',
      location: { pointOfCare: 'UF2030', room: '204', bed: '1' },
    });
    expect(a.coverages).toEqual([
      expect.objectContaining({ kind: 'AMO', numeroAmcBrut: '014510000', debutDroits: '2026-01-01', finDroits: '2026-12-31' }),
      expect.objectContaining({
        kind: 'AMC',
        numeroAmcBrut: '12345678',
        numeroAmc: '0012345678',
        numeroAdherent: '0000456789',
        typeConvention: 'CS',
        organisme: 'MUTUELLE DES ÉTUDIANTS ET ÉLÈVES',
        extras: ['FRJ', 'PRI'],
      }),
    ]);
  });

  it('joins an A| line inside a component and at a field boundary', () => {
    // the P continuation cuts "Orléans"; the second AC continuation starts with the field separator
    const rec = parseHprimRecords(UTF8.toString('utf8'));
    const p1 = rec.records.find((x) => x.type === 'P')!;
    expect(p1.lineCount).toBe(2);
    expect(p1.fields[10]).toBe("12 rue de l'Œuvre~Bât. B~Orléans~~45000~FRA");
    const b = r.admissions[1];
    expect(b.venue).toMatchObject({ patientClass: 'OP', type: 'ACE' });
    expect(b.coverages).toEqual([
      expect.objectContaining({
        kind: 'AMC',
        numeroAmc: '0077777777',
        numeroAdherent: '000000042',
        typeConvention: 'SP',
        finDroits: '2026-06-30',
      }),
    ]);
  });

  it('feeds admissionToDossier like a PAM-FR admission', () => {
    const d = admissionToDossier(r.admissions[0]);
    expect(d.amc).toEqual({ numeroAmc: '0012345678', typeConvention: 'CS' });
    expect(d.beneficiaire).toMatchObject({ nir: '2780345123456', cleNir: '77', numeroAdherent: '0000456789', nom: 'DUPRÉ' });
    expect(d.assureAmo).toEqual({ regime: '01', caisse: '451', centre: '0000' });
    expect(d.venue).toMatchObject({
      type: 'HOSPITALISATION',
      dateEntree: '2026-03-12',
      numeroVenue: 'VEN2600056789',
      numeroDossier: 'NDA26001234',
    });
  });
});

describe('HPRIM Santé ADM: ISO 8859-15 bytes, CRLF, discharge', () => {
  it('decodes the declared charset and reads the discharge', () => {
    const r = readHprimSante(LATIN9);
    expect(r.ok).toBe(true);
    expect(r.charset).toBe('iso-8859-15');
    const a = r.admissions[0];
    expect(a.patient.nom).toBe('CŒUR');
    expect(a.patient.prenom).toBe('Zoé');
    expect(a.event).toBe('S');
    expect(a.meaning).toBe('CLC');
    expect(a.venue).toMatchObject({ admitDateTime: '2026-03-10T14:15', dischargeDateTime: '2026-03-15T17:00' });
    expect(a.coverages[1]).toMatchObject({ numeroAmc: '0000000088', numeroAdherent: '000123', organisme: 'MUTUELLE ŒCUMÉNIQUE' });
  });

  it('uses the NDA as key when the venue number is missing, with a warning naming P-5', () => {
    const r = readHprimSante(LATIN9);
    expect(r.admissions[0].orderingKey).toBe('NDA26000777');
    expect(r.warnings).toEqual([expect.objectContaining({ code: 'VENUE_FROM_NDA', line: 2, record: 'P', field: 5 })]);
    expect(r.admissions[0].warnings[0]).toMatchObject({ code: '101', severity: 'W', location: { segment: 'P', field: 5 } });
  });

  it('without H-15: ISO 8859-15 bytes decode by default, UTF-8 bytes are recognised', () => {
    const text = iconv.decode(LATIN9, 'iso-8859-15').replace('|8859/15\r\n', '\r\n');
    const latin = decodeHprim(iconv.encode(text, 'iso-8859-15'));
    expect(latin).toMatchObject({ charset: 'iso-8859-15', source: 'default' });
    expect(latin.text).toContain('CŒUR~Zoé');
    const utf = decodeHprim(Buffer.from(text.replace(/\r\n/g, '\n'), 'utf8'));
    expect(utf).toMatchObject({ charset: 'utf8', source: 'sniffed' });
    const r = readHprimSante(Buffer.from(text.replace(/\r\n/g, '\n'), 'utf8'));
    expect(r.ok).toBe(true);
    expect(r.admissions[0].patient.nomNaissance).toBe('SŒUR');
  });

  it('an unknown declared charset is a warning on H-15, not a refusal', () => {
    const bytes = Buffer.from(LATIN9.toString('latin1').replace('8859/15', 'EBCDIC'), 'latin1');
    const r = readHprimSante(bytes);
    expect(r.ok).toBe(true);
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: 'UNKNOWN_CHARSET', record: 'H', field: 15 }));
    expect(r.admissions[0].patient.nom).toBe('CŒUR');
  });
});

describe('HPRIM Santé: delimiters are the ones declared in H', () => {
  /** Rewrite the UTF-8 fixture with other component/repetition characters. */
  function withDelimiters(comp: string, rep: string): string {
    const swap: Record<string, string> = { '~': comp, '^': rep };
    return UTF8.toString('utf8').replace(/[~^]/g, (c) => swap[c]);
  }

  it('reads a file declaring the HL7 order ^~\\& (component ^, repetition ~)', () => {
    const text = withDelimiters('^', '~');
    expect(text.startsWith('H|^~\\&|')).toBe(true);
    const r = readHprimSante(text);
    expect(r.ok).toBe(true);
    expect(r.admissions[0].patient.prenom).toBe('Hélène');
    expect(r.admissions[0].coverages[1].extras).toEqual(['FRJ', 'PRI']);
    expect(r.admissions[0].venue?.location).toMatchObject({ room: '204', bed: '1' });
  });

  it('refuses a header whose delimiters are missing or repeated, naming H-2', () => {
    const r = readHprimSante('H|~~|X.HPR||GAP||ADM\rL|1\r');
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'BAD_DELIMITERS', line: 1, record: 'H', field: 2 })]);
  });

  it('decodes escape sequences with the declared delimiters', () => {
    const text = UTF8.toString('utf8').replace('MUTUELLE DES ÉTUDIANTS ET ÉLÈVES', 'MUTUELLE A\\S\\B \\T\\ C\\F\\D');
    const r = readHprimSante(text);
    expect(r.admissions[0].coverages[1].organisme).toBe('MUTUELLE A~B & C|D');
  });
});

describe('HPRIM Santé: line ends', () => {
  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('reads the same admissions with %s', (_n, eol) => {
    const r = readHprimSante(UTF8.toString('utf8').replace(/\r/g, eol));
    expect(r.ok).toBe(true);
    expect(r.admissions.map((a) => a.patient.ipp?.value)).toEqual(['IPP0012345', 'IPP0067890']);
  });
});

describe('HPRIM Santé: a file that ends mid-record is refused with the place', () => {
  const full = UTF8.toString('utf8');
  const lines = full.split('\r');

  it('cut inside the header: no L, line 1, record H', () => {
    // ends just after "ADM|": the file stops in the (empty) field 8
    const r = readHprimSante(full.slice(0, full.indexOf('ADM|') + 4));
    expect(r.ok).toBe(false);
    expect(r.admissions).toEqual([]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'TRUNCATED', line: 1, record: 'H', field: 8 })]);
  });

  it('cut inside the first P record (before its continuation line)', () => {
    const r = readHprimSante(lines.slice(0, 2).join('\r'));
    expect(r.errors).toEqual([expect.objectContaining({ code: 'TRUNCATED', line: 2, record: 'P', field: 11 })]);
    expect(r.errors[0].message).toMatch(/Fichier tronqué.*ligne 2, enregistrement P, champ 11/);
  });

  it('cut inside the AC record of the first patient', () => {
    const cut = full.indexOf('|CS|') + 2;
    const r = readHprimSante(full.slice(0, cut));
    expect(r.errors).toEqual([expect.objectContaining({ code: 'TRUNCATED', line: 5, record: 'AC', field: 6 })]);
  });

  it('cut after a complete record, before L', () => {
    const r = readHprimSante(lines.slice(0, 8).join('\r') + '\r');
    expect(r.errors).toEqual([expect.objectContaining({ code: 'TRUNCATED', line: 8, record: 'AC' })]);
  });

  it('cut inside the L record, before its counts', () => {
    const r = readHprimSante(full.slice(0, full.lastIndexOf('|2|') + 3));
    expect(r.errors).toEqual([expect.objectContaining({ code: 'TRUNCATED', line: 9, record: 'L', field: 5 })]);
  });

  it('whole lines lost in the middle: the L counts do not match', () => {
    const missing = [...lines.slice(0, 5), ...lines.slice(8)].join('\r'); // 2nd patient (P, AC, A) lost
    const r = readHprimSante(missing);
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      expect.objectContaining({ code: 'COUNT_MISMATCH', line: 6, record: 'L', field: 4 }),
      expect.objectContaining({ code: 'COUNT_MISMATCH', line: 6, record: 'L', field: 5 }),
    ]);
    expect(r.errors[0].message).toContain('annoncé 2, trouvé 1');
  });

  it('L without counts is accepted with a warning', () => {
    const r = readHprimSante(full.replace(/L\|1\|\|2\|9\r$/, 'L|1\r'));
    expect(r.ok).toBe(true);
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: 'COUNT_ABSENT', record: 'L' }));
  });

  it('no error message quotes patient data', () => {
    const texts: string[] = [];
    for (let cut = 20; cut < full.length; cut += 37) {
      const r = readHprimSante(full.slice(0, cut));
      expect(r.ok).toBe(false);
      texts.push(...r.errors.map((e) => e.message));
    }
    expect(texts.length).toBeGreaterThan(10);
    expectNoPatientData(texts);
  });
});

describe('HPRIM Santé: other refusals name the place', () => {
  const full = UTF8.toString('utf8');

  it('an invalid date: line, record, field', () => {
    const r = readHprimSante(full.replace('19780314', '19781314'));
    expect(r.errors).toEqual([expect.objectContaining({ code: 'BAD_DATE', line: 2, record: 'P', field: 8 })]);
    expectNoPatientData(r.errors.map((e) => e.message));
  });

  it('a missing IPP', () => {
    const r = readHprimSante(full.replace('|IPP0067890|', '||'));
    expect(r.errors).toEqual([expect.objectContaining({ code: 'MISSING_FIELD', line: 6, record: 'P', field: 3 })]);
  });

  it('an AMC record without numéro AMC', () => {
    const r = readHprimSante(full.replace('AC|1|12345678|', 'AC|1||'));
    expect(r.errors).toEqual([expect.objectContaining({ code: 'MISSING_FIELD', line: 5, record: 'AC', field: 3 })]);
  });

  it('an AP before any P', () => {
    const text = 'H|~^\\&|X.HPR||GAP||ADM|||ROC||P|H2.2~C|20260312\rAP|1|2780345123456~77\rL|1||0|3\r';
    const r = readHprimSante(text);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'RECORD_ORDER', line: 2, record: 'AP' })]);
  });

  it('no H at the start, empty file, random bytes: clear errors, no crash', () => {
    expect(readHprimSante('P|1|X\rL|1\r').errors).toEqual([expect.objectContaining({ code: 'NO_HEADER', line: 1 })]);
    expect(readHprimSante(Buffer.alloc(0)).errors).toEqual([expect.objectContaining({ code: 'EMPTY' })]);
    const noise = Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 7919) % 256));
    const r = readHprimSante(noise);
    expect(r.ok).toBe(false);
    expect(r.errors.length).toBeGreaterThan(0);
  });
});

describe('The public ORU sample', () => {
  it('parses at the record level: H, P, OBR joined with its A| line, OBX, C, L', () => {
    const rec = parseHprimRecords(ORU.toString('latin1'));
    expect(rec.errors).toEqual([]);
    expect(rec.delimiters).toMatchObject({ component: '~', repetition: '^', escape: '\\', subcomponent: '&' });
    expect(rec.records.map((r) => r.type)).toEqual(['H', 'P', 'OBR', 'OBX', 'C', 'OBX', 'OBX', 'L']);
    const obr = rec.records[2];
    expect(obr.lineCount).toBe(2);
    expect(obr.fields[16]).toBe('PILO~DR PITO OLIV~L~TESTHP~Clinique HP~L');
  });

  it('is refused by the ADM reader as not an ADM file, naming H-7', () => {
    const r = readHprimSante(ORU);
    expect(r.ok).toBe(false);
    expect(r.messageType).toBe('ORU');
    expect(r.messageId).toBe('Test1.HPR');
    expect(r.errors).toEqual([expect.objectContaining({ code: 'NOT_ADM', line: 1, record: 'H', field: 7 })]);
    expect(r.errors[0].message).toContain("Ce n'est pas un fichier d'admission (ADM) : type ORU");
  });
});

describe('HPRIM Santé: every cut of a fixture before its last count digit is refused', () => {
  it.each([
    ['UTF-8 / CR', UTF8],
    ['ISO 8859-15 / CRLF', LATIN9],
  ])('%s', (_n, bytes) => {
    const end = bytes.lastIndexOf(Buffer.from('L|1||')) + Buffer.from('L|1||1|5').length - 1;
    expect(end).toBeGreaterThan(380); // the loop below covers the whole file
    for (let cut = 0; cut < end; cut++) {
      const r = readHprimSante(bytes.subarray(0, cut));
      expect(r.ok).toBe(false);
      expect(r.admissions).toEqual([]);
      expect(r.errors[0].code).toMatch(/^(EMPTY|NO_HEADER|BAD_DELIMITERS|TRUNCATED|COUNT_MISMATCH)$/);
    }
    // the complete file (no final line end needed once L carries matching counts) is accepted
    expect(readHprimSante(bytes.subarray(0, end + 1)).ok).toBe(true);
  });
});

describe('HPRIM Santé: movement code P-29 → meaning (profile data)', () => {
  const full = UTF8.toString('utf8');
  const firstP = (text: string) => readHprimSante(text).admissions[0];

  it.each([
    ['PA', 'IDB'],
    ['M', 'UPDATE'],
    ['AA', 'DEL'],
    ['I', 'IDENTITY'],
  ])('%s → %s', (code, meaning) => {
    const a = firstP(full.replace('|||A\rAP|', `|||${code}\rAP|`));
    expect(a).toMatchObject({ event: code, meaning });
  });

  it('an unknown code is IGNORE with a warning at P-29', () => {
    const r = readHprimSante(full.replace('|||A\rAP|', '|||ZZ\rAP|'));
    expect(r.ok).toBe(true);
    expect(r.admissions[0].meaning).toBe('IGNORE');
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: 'UNKNOWN_EVENT', line: 2, record: 'P', field: 29 }));
  });

  it('empty P-29: a discharge date makes it a CLC, otherwise an IDB', () => {
    const noCode = full.replace('|||A\rAP|', '|||\rAP|');
    expect(firstP(noCode)).toMatchObject({ event: 'A', meaning: 'IDB' });
    const withExit = noCode.replace('202603120930~|IP|', '202603120930~202603141000|IP|');
    expect(firstP(withExit)).toMatchObject({
      event: 'S',
      meaning: 'CLC',
      venue: expect.objectContaining({ dischargeDateTime: '2026-03-14T10:00' }),
    });
  });

  it('a CLC without discharge date is refused at P-24', () => {
    const r = readHprimSante(full.replace('|||A\rAP|', '|||S\rAP|'));
    expect(r.errors).toEqual([expect.objectContaining({ code: 'MISSING_FIELD', line: 2, record: 'P', field: 24 })]);
  });
});

describe('HPRIM Santé: several continuation lines', () => {
  it('joins two A| lines in a row and a continued H record', () => {
    const full = UTF8.toString('utf8');
    const h = full.slice(0, full.indexOf('\r'));
    const split = [h.slice(0, 30), 'A|' + h.slice(30, 60), 'A|' + h.slice(60)].join('\r');
    const text = full.replace(h, split).replace('L|1||2|9', 'L|1||2|11');
    const r = readHprimSante(text);
    expect(r.errors).toEqual([]);
    expect(r.receiver).toBe('ROCBRIDGE');
    expect(r.admissions[0].messageDateTime).toBe('2026-03-12T10:15:00');
    // with the old count, the two extra physical lines are noticed
    expect(readHprimSante(full.replace(h, split)).errors).toEqual([expect.objectContaining({ code: 'COUNT_MISMATCH', field: 5 })]);
  });
});
