import { readFileSync } from 'fs';
import * as path from 'path';
import { decodeFrame } from '../../lib/hl7/charset';
import { parseEr7 } from '../../lib/hl7/er7';
import { admissionToDossier, hl7DateToIso, parseAdmission, type PamFrOptions } from '../../lib/hl7/pamfr';
import type { Admission } from '../../lib/hl7/types';

import { SAMPLES } from '../support/samples';
const FIX = path.join(__dirname, '..', 'fixtures', 'hl7');

function load(file: string): string {
  return decodeFrame(readFileSync(file)).text;
}
const fixture = (name: string): string => load(path.join(FIX, name));
const sample = (name: string): string => load(path.join(SAMPLES, name));

function admit(text: string, options: PamFrOptions = {}) {
  return parseAdmission(parseEr7(text), options);
}

/** Replace one field of one segment in ER7 text (CR, LF or CRLF ends). */
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

const A01_UTF8 = fixture('pamfr-own-adt-a01-amo-amc-utf8.hl7');
const A01_ISO = fixture('pamfr-own-adt-a01-amo-amc-8859-15.hl7');
const PATIENT_DATA = ['LEFÈVRE', 'BŒUF', 'Hélène', 'FRANÇOIS', '285075935012324', '2850759350123', '19850714', '1985-07-14'];

describe('PAM-FR admission mapping', () => {
  it('maps an A01 with AMO and AMC coverage groups (UTF-8)', () => {
    const r = admit(A01_UTF8, { charset: 'utf8' });
    expect(r.ok).toBe(true);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const a = r.admission as Admission;
    expect(a).toMatchObject({
      messageType: 'ADT',
      event: 'A01',
      structure: 'ADT_A01',
      meaning: 'IDB',
      controlId: 'A01-UTF8-0001',
      sendingApplication: 'CPAGE',
      sendingFacility: 'CHU-NORD',
      receivingApplication: 'ROC-BRIDGE',
      charset: 'utf8',
      version: '2.5',
      messageDateTime: '2025-01-14T09:35:12',
      eventDateTime: '2025-01-14T09:00:00',
      finess: { juridique: '590780193', geographique: '590780215' },
      orderingKey: 'PV1-19:250100421',
      orderingKeySource: 'PV1-19',
    });
    expect(a.patient).toMatchObject({
      ipp: { value: '481516', type: 'PI', finess: { numero: '590780215', kind: 'geographique' } },
      ins: { value: '285075935012324', type: 'INS', oid: '1.2.250.1.213.1.4.10', nature: 'INS-NIR', since: '2015-03-12' },
      nir: { value: '285075935012324', type: 'NH' },
      identityStatus: 'VALI',
      nom: 'LEFÈVRE-BŒUF',
      prenom: 'Hélène',
      nomNaissance: 'FRANÇOIS',
      premierPrenom: 'Hélène',
      prenoms: 'Hélène Françoise Cécile',
      dateNaissance: '1985-07-14',
      sexe: 'F',
      rangNaissance: 2,
    });
    expect(a.patient.identifiers).toHaveLength(3);
    expect(a.venue).toMatchObject({
      nda: { value: '25010042', type: 'AN', finess: { numero: '590780193', kind: 'juridique' } },
      numeroVenue: { value: '250100421', type: 'VN' },
      patientClass: 'I',
      type: 'HOSPITALISATION',
      admitDateTime: '2025-01-14T09:00:00',
      expectedAdmitDateTime: '2025-01-14T08:00:00',
      location: { pointOfCare: '4410', room: '204', bed: '1' },
      ufMedicale: { code: '4410', libelle: 'Cardiologie' },
      ufSoins: { code: '4410', libelle: 'Cardiologie' },
    });
    expect(a.venue?.admitDateSource).toBeUndefined();
    expect(a.movement).toEqual({ id: 'MVT-7781', dateTime: '2025-01-14T09:00:00', action: 'INSERT', historic: false, nature: 'HMS' });
    expect(a.coverages).toEqual([
      {
        setId: 1,
        kind: 'AMO',
        numeroAmcBrut: '015910000',
        numeroAmc: '0015910000',
        organisme: 'CPAM de Lille-Douai',
        debutDroits: '2024-01-01',
        finDroits: '2026-12-31',
        numeroAdherent: '285075935012324',
        extras: [],
        taux: [{ indicator: 'PC', quantity: 80 }],
      },
      {
        setId: 2,
        kind: 'AMC',
        numeroAmcBrut: '77554321',
        numeroAmc: '0077554321',
        organisme: 'Mutuelle Générale Œuvres Sociales',
        debutDroits: '2025-01-01',
        finDroits: '2025-12-31',
        numeroContrat: 'CT-2025-889',
        numeroAdherent: '000042317',
        extras: ['FRJ', 'PRI'],
        taux: [
          { indicator: 'PC', quantity: 100 },
          { indicator: 'AT', quantity: 45, currency: 'EUR' },
        ],
      },
    ]);
    // JSON-serialisable for msg.roc.admission
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it('gives the same admission from the ISO 8859-15 bytes', () => {
    const u = admit(A01_UTF8).admission as Admission;
    const i = admit(A01_ISO).admission as Admission;
    expect({ ...i, controlId: u.controlId }).toEqual(u);
  });

  it('reads the convention type and CSR through a site mapping of field paths', () => {
    const none = admit(A01_UTF8).admission as Admission;
    expect(none.coverages[1].typeConvention).toBeUndefined();
    const a = admit(A01_UTF8, { coverageMapping: { typeConvention: 'IN1-15', csr: 'IN1-46' } }).admission as Admission;
    expect(a.coverages[1]).toMatchObject({ typeConvention: 'MU', csr: 'HOSP-NORD' });
    // a path into the group's IN3, and one message-wide (a Z segment)
    const z = admit(A01_UTF8 + 'ZFA|ACTIF|SP\r', { coverageMapping: { typeConvention: 'ZFA-2', csr: 'IN3-5[2].3' } })
      .admission as Admission;
    expect(z.coverages[1]).toMatchObject({ typeConvention: 'SP', csr: 'EUR' });
    expect(z.coverages[0]).toMatchObject({ typeConvention: 'SP' });
    expect(z.coverages[0].csr).toBeUndefined();
  });

  it('converts an admission to the ROC dossier input', () => {
    const a = admit(A01_UTF8, { coverageMapping: { typeConvention: 'IN1-15', csr: 'IN1-46' } }).admission as Admission;
    expect(admissionToDossier(a)).toEqual({
      amc: { numeroAmc: '0077554321', typeConvention: 'MU', csr: 'HOSP-NORD' },
      beneficiaire: {
        nir: '2850759350123',
        cleNir: '24',
        dateNaissance: '1985-07-14',
        rangNaissance: 2,
        nom: 'LEFÈVRE-BŒUF',
        prenom: 'Hélène',
        nomNaissance: 'FRANÇOIS',
        numeroAdherent: '000042317',
      },
      assureAmo: { regime: '01', caisse: '591', centre: '0000' },
      venue: { type: 'HOSPITALISATION', dateEntree: '2025-01-14', numeroDossier: '25010042', numeroVenue: '250100421' },
    });
  });

  it('picks the AMC group whose rights cover the entry date', () => {
    let t = A01_UTF8.replace(/\r$/, '') + '\rIN1|3|AMC|99887766|Autre mutuelle||||||||20240101|20241231\r';
    t = setField(t, 'IN1', 1, '3', 3);
    const a = admit(t).admission as Admission;
    expect(a.coverages.map((c) => c.numeroAmc)).toEqual(['0015910000', '0077554321', '0099887766']);
    expect(admissionToDossier(a).amc?.numeroAmc).toBe('0077554321');
    const early = admit(setField(t, 'PV1', 44, '20240615')).admission as Admission;
    expect(admissionToDossier(early).amc?.numeroAmc).toBe('0099887766');
  });

  it('gives each event its ROC meaning', () => {
    const cases: Array<[string, string]> = [
      ['A05', 'IDB'],
      ['A01', 'IDB'],
      ['A04', 'IDB'],
      ['A11', 'DEL'],
      ['A38', 'DEL'],
      ['A13', 'DEL'],
      ['A03', 'CLC'],
      ['Z99', 'UPDATE'],
      ['A08', 'UPDATE'],
      ['A31', 'IDENTITY'],
      ['A47', 'IDENTITY'],
      ['A40', 'IDENTITY'],
      ['A02', 'IGNORE'],
      ['A21', 'IGNORE'],
      ['A54', 'IGNORE'],
    ];
    for (const [ev, meaning] of cases) {
      const t = setField(setField(A01_UTF8, 'MSH', 9, `ADT^${ev}^ADT_A01`), 'PV1', 45, '20250120');
      expect([ev, admit(t).meaning]).toEqual([ev, meaning]);
    }
    // site override, as data
    expect(admit(setField(A01_UTF8, 'MSH', 9, 'ADT^A02'), { eventMeanings: { A02: 'UPDATE' } }).meaning).toBe('UPDATE');
  });

  it('maps the own A03, A11, A08, Z99 and A31 fixtures', () => {
    const a03 = admit(fixture('pamfr-own-adt-a03-sortie-8859-15-sans-msh18.hl7'));
    expect(a03).toMatchObject({ ok: true, meaning: 'CLC' });
    expect(a03.admission?.venue).toMatchObject({ admitDateTime: '2025-01-14T09:00:00', dischargeDateTime: '2025-01-20T11:00:00' });
    expect(a03.admission?.patient.nom).toBe('LEFÈVRE-BŒUF');
    expect(admissionToDossier(a03.admission as Admission).venue).toMatchObject({ dateEntree: '2025-01-14', dateSortie: '2025-01-20' });

    const a11 = admit(fixture('pamfr-own-adt-a11-annulation.hl7'));
    expect(a11).toMatchObject({ ok: true, meaning: 'DEL' });
    expect(a11.admission?.movement).toMatchObject({ action: 'CANCEL', originalEvent: 'A01' });

    const a08 = admit(fixture('pamfr-own-adt-a08-legacy-update.hl7'));
    expect(a08).toMatchObject({ ok: true, meaning: 'UPDATE' });
    expect(a08.admission?.movement).toBeUndefined();
    expect(a08.admission?.coverages).toHaveLength(2);

    const z99 = admit(fixture('pamfr-own-adt-z99-correction.hl7'));
    expect(z99).toMatchObject({ ok: true, meaning: 'UPDATE' });
    expect(z99.admission?.movement).toMatchObject({ action: 'UPDATE', originalEvent: 'A01', id: 'MVT-7781' });

    const a31 = admit(fixture('pamfr-own-adt-a31-identite.hl7'));
    expect(a31).toMatchObject({ ok: true, meaning: 'IDENTITY' });
    expect(a31.admission?.patient).toMatchObject({ nom: 'GARÇON', prenom: 'Jérôme', prenoms: 'Jérôme Noël', identityStatus: 'QUAL' });
    // PID-32 = QUAL: the INS is not usable
    expect(a31.admission?.patient.ins).toBeUndefined();
    expect(a31.admission?.patient.identifiers.map((i) => i.type)).toEqual(['PI', 'INS']);
    // N (not applicable) has no venue type: reported, not refused
    expect(a31.warnings).toEqual([
      expect.objectContaining({ code: '103', severity: 'W', location: expect.objectContaining({ segment: 'PV1', field: 2 }) }),
    ]);
  });

  it('reads the published ANS and IHE samples, tolerating the shifted ZBE of the A03', () => {
    const a01 = admit(sample('pamfr-ans-sgl-adt-a01-admission.hl7'));
    expect(a01).toMatchObject({ ok: true, meaning: 'IDB' });
    // no PV1-44 in the published sample: the entry date is the admission movement's date
    expect(a01.admission?.venue).toMatchObject({ admitDateTime: '2024-03-06T11:00:00', admitDateSource: 'ZBE-2' });
    expect(a01.admission?.patient.ins).toMatchObject({ value: '279035121518989', nature: 'INS-NIR' });

    const a03 = admit(sample('pamfr-ans-sgl-adt-a03-sortie.hl7'));
    expect(a03).toMatchObject({ ok: true, meaning: 'CLC' });
    expect(a03.admission?.movement).toMatchObject({ id: '002', action: 'INSERT', historic: false, nature: 'HMS', shifted: true });
    expect(a03.admission?.venue?.ufMedicale).toEqual({ code: '8782', libelle: 'Urgences' });
    expect(a03.admission?.venue).toMatchObject({ dischargeDateTime: '2024-03-06T11:00:00', dischargeDateSource: 'ZBE-2' });
    expect(a03.warnings).toEqual([
      expect.objectContaining({ code: '100', severity: 'W', location: { segment: 'ZBE', sequence: 1, field: 4 } }),
    ]);

    const segur = admit(sample('pamfr-ans-segur-adt-a01-consentement-dmp.hl7'));
    expect(segur).toMatchObject({ ok: true, meaning: 'IDB' });
    expect(segur.admission?.venue).toMatchObject({ admitDateTime: '2024-03-06T11:00:00', type: 'HOSPITALISATION' });

    const a31 = admit(sample('pamfr-spec-2.11.2-adt-a31-ins-nia-nir.hl7'));
    expect(a31).toMatchObject({ ok: true, meaning: 'IDENTITY' });
    // NIA and NIR both present: the NIR-based INS is chosen
    expect(a31.admission?.patient.ins).toMatchObject({ value: '260058815400233', nature: 'INS-NIR', oid: '1.2.250.1.213.1.4.8' });
    expect(a31.admission?.patient).toMatchObject({ nomNaissance: 'DARK', nom: 'DARK', prenom: 'MARIE-CECILE', premierPrenom: 'JEANNE' });
  });

  it('maps PV1-2 to the venue type as data', () => {
    const type = (cls: string, options: PamFrOptions = {}) => admit(setField(A01_UTF8, 'PV1', 2, cls), options).admission?.venue?.type;
    expect(type('O')).toBe('ACE');
    expect(type('E')).toBe('URGENCE');
    expect(type('R')).toBe('HOSPITALISATION');
    expect(type('I')).toBe('HOSPITALISATION');
    expect(type('H', { patientClassToVenue: { H: 'HAD' } })).toBe('HAD');
    expect(type('Q')).toBeUndefined();
  });

  it('decides on PV1-19: required, unless the NDA is there (then a warning and NDA ordering)', () => {
    const noVenue = setField(A01_UTF8, 'PV1', 19, '');
    const r1 = admit(noVenue);
    expect(r1.ok).toBe(true);
    expect(r1.warnings).toEqual([
      expect.objectContaining({ code: '101', severity: 'W', location: expect.objectContaining({ segment: 'PV1', field: 19 }) }),
    ]);
    expect(r1.admission).toMatchObject({ orderingKey: 'PID-18:25010042', orderingKeySource: 'PID-18' });

    const neither = setField(noVenue, 'PID', 18, '');
    const r2 = admit(neither);
    expect(r2.ok).toBe(false);
    expect(r2.errors).toEqual([
      { code: '101', severity: 'E', location: { segment: 'PV1', sequence: 1, field: 19 }, message: expect.stringContaining('PV1-19') },
    ]);
    expect(r2.admission).toMatchObject({ orderingKey: 'PID-3:481516', orderingKeySource: 'PID-3' });
  });

  it('reports invalid dates as 102 at their place', () => {
    const cases: Array<[string, number, string, number?]> = [
      ['PID', 7, '19851314'],
      ['PV1', 44, '20250230'],
      ['PV1', 44, '2025011'],
      ['PV1', 45, 'demain'],
      ['ZBE', 2, '20250114250000'],
      ['IN1', 12, '2025-01-01', 2],
    ];
    for (const [seg, field, value, occ] of cases) {
      const r = admit(setField(A01_UTF8, seg, field, value, occ ?? 1));
      expect(r.ok).toBe(false);
      expect(r.errors).toEqual([
        expect.objectContaining({ code: '102', severity: 'E', location: { segment: seg, sequence: occ ?? 1, field } }),
      ]);
    }
  });

  it('refuses what an admission cannot do without', () => {
    const noMsh10 = admit(setField(A01_UTF8, 'MSH', 10, ''));
    expect(noMsh10.errors).toEqual([
      expect.objectContaining({ code: '101', location: expect.objectContaining({ segment: 'MSH', field: 10 }) }),
    ]);
    // the rest is still mapped and checked: all problems at once
    expect(noMsh10.meaning).toBe('IDB');
    const twoProblems = admit(setField(setField(A01_UTF8, 'MSH', 10, ''), 'PID', 7, '19851340'));
    expect(twoProblems.errors.map((e) => [e.code, e.location?.segment, e.location?.field])).toEqual([
      ['101', 'MSH', 10],
      ['102', 'PID', 7],
    ]);

    const oru = admit(setField(A01_UTF8, 'MSH', 9, 'ORU^R01^ORU_R01'));
    expect(oru.errors).toEqual([
      expect.objectContaining({ code: '200', location: expect.objectContaining({ segment: 'MSH', field: 9, component: 1 }) }),
    ]);
    expect(oru.admission).toBeUndefined();

    const noPid = admit(A01_UTF8.replace(/PID\|[^\r]*\r/, ''));
    expect(noPid.errors.map((e) => [e.code, e.location?.segment])).toContainEqual(['100', 'PID']);

    const noPv1 = admit(A01_UTF8.replace(/PV1\|[^\r]*\r/, ''));
    expect(noPv1.errors.map((e) => [e.code, e.location?.segment])).toContainEqual(['100', 'PV1']);

    const badAction = admit(setField(A01_UTF8, 'ZBE', 4, 'DELETE'));
    expect(badAction.errors).toEqual([
      expect.objectContaining({ code: '103', location: expect.objectContaining({ segment: 'ZBE', field: 4 }) }),
    ]);

    const noAmc = admit(setField(A01_UTF8, 'IN1', 3, '', 2));
    expect(noAmc.errors).toEqual([expect.objectContaining({ code: '101', location: { segment: 'IN1', sequence: 2, field: 3 } })]);

    const badRank = admit(setField(A01_UTF8, 'PID', 25, 'deux'));
    expect(badRank.errors).toEqual([
      expect.objectContaining({ code: '102', location: expect.objectContaining({ segment: 'PID', field: 25 }) }),
    ]);

    const noDate = admit(setField(setField(setField(A01_UTF8, 'PV1', 44, ''), 'ZBE', 2, ''), 'EVN', 6, '').replace(/PV2\|[^\r]*\r/, ''));
    expect(noDate.errors).toEqual([
      expect.objectContaining({ code: '101', location: expect.objectContaining({ segment: 'PV1', field: 44 }) }),
    ]);

    const a03NoDate = admit(setField(setField(setField(A01_UTF8, 'MSH', 9, 'ADT^A03'), 'ZBE', 2, ''), 'EVN', 6, ''));
    expect(a03NoDate.errors).toEqual([
      expect.objectContaining({ code: '101', location: expect.objectContaining({ segment: 'PV1', field: 45 }) }),
    ]);
  });

  it('never puts patient data in issue messages', () => {
    const broken = [
      setField(A01_UTF8, 'PID', 7, '19851399'),
      setField(setField(A01_UTF8, 'PV1', 19, ''), 'PID', 18, ''),
      setField(A01_UTF8, 'PID', 8, 'X'),
      setField(A01_UTF8, 'PID', 25, 'FRANÇOIS'),
      setField(A01_UTF8, 'IN1', 3, 'LEFÈVRE', 2),
    ];
    for (const t of broken) {
      const r = admit(t);
      const all = [...r.errors, ...r.warnings].map((i) => i.message).join('\n');
      expect(all.length).toBeGreaterThan(0);
      for (const p of PATIENT_DATA) expect(all).not.toContain(p);
    }
  });

  it('converts HL7 dates to ISO at the precision sent', () => {
    expect(hl7DateToIso('19790328')).toBe('1979-03-28');
    expect(hl7DateToIso('202403061100')).toBe('2024-03-06T11:00');
    expect(hl7DateToIso('20240306110000')).toBe('2024-03-06T11:00:00');
    expect(hl7DateToIso('20240306110000.123+0100')).toBe('2024-03-06T11:00:00.123+01:00');
    expect(hl7DateToIso('2024030611')).toBe('2024-03-06T11:00');
    expect(hl7DateToIso('202403')).toBe('2024-03');
    expect(hl7DateToIso('20240229')).toBe('2024-02-29');
    expect(hl7DateToIso('20230229')).toBeUndefined();
    expect(hl7DateToIso('20241301')).toBeUndefined();
    expect(hl7DateToIso('2024-03-06')).toBeUndefined();
    expect(hl7DateToIso('')).toBeUndefined();
  });
});
