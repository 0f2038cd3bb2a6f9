/**
 * The answer to the GAP (lib/hl7/answer.ts): an ADT^Z80 with PID/PV1 echoed from the admission and
 * a ZRC "résultat ROC", for IDB OK / KO / technical KO, a CLC engagement and a DEL; read back with
 * our own ER7 parser, in the destination's charset.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { decodeFrame } from '../../lib/hl7/charset';
import { parseEr7 } from '../../lib/hl7/er7';
import { parseAdmission } from '../../lib/hl7/pamfr';
import { AnswerError, buildAnswer, newAnswerControlId, ZRC_FIELDS } from '../../lib/hl7/answer';
import type { Admission } from '../../lib/hl7/types';
import type { ClcResult, DelResult, IdbResult } from '../../lib/model/dossier';

const FIX = path.join(__dirname, '..', 'fixtures', 'hl7');
function admission(name: string): Admission {
  const r = parseAdmission(parseEr7(decodeFrame(readFileSync(path.join(FIX, name))).text));
  return r.admission!;
}
const A01 = admission('pamfr-own-adt-a01-amo-amc-utf8.hl7');
const A03 = admission('pamfr-own-adt-a03-sortie-8859-15-sans-msh18.hl7');
const A11 = admission('pamfr-own-adt-a11-annulation.hl7');

const base = {
  requestId: 'REQ-2025-0114-0001',
  endpoint: 'https://amc.example/idb',
  latencyMs: 412,
  attempts: 1,
  at: '2025-01-14T09:35:20.000Z',
};
const IDB_OK: IdbResult = {
  ...base,
  service: 'idb',
  status: 'OK',
  technical: false,
  messages: [],
  responseId: 'RSP-77554321-0001',
  couverture: {
    numeroContrat: 'CT-2025-889',
    periodes: [{ debut: '2025-01-01', fin: '2025-12-31' }],
    domaines: ['HOSPITALISATION', 'CHAMBRE_PARTICULIERE'],
  },
  consignes: [],
  dateValidite: '2025-01-21',
};
const IDB_KO: IdbResult = {
  ...base,
  service: 'idb',
  status: 'KO',
  technical: false,
  reason: 'Droits fermés à la date des soins',
  messages: [
    { code: 'B010', groupe: 'DROITS', severite: 'ERREUR', libelle: 'Droits fermés | contrat résilié', action: 'FACTURER_PATIENT' },
  ],
  consignes: [],
};
const IDB_TECH: IdbResult = {
  ...base,
  service: 'idb',
  status: 'KO',
  technical: true,
  reason: "L'AMC ne répond pas (délai dépassé)",
  messages: [{ code: 'TIMEOUT', groupe: 'TECHNIQUE', severite: 'ERREUR', libelle: 'Délai dépassé' }],
  consignes: [],
};
const CLC_OK: ClcResult = {
  ...base,
  service: 'clc',
  status: 'OK',
  technical: false,
  messages: [],
  lignes: [],
  consignes: [],
  montants: { totalFacture: 1845.6, totalAmo: 1476.48, totalAmc: 324.12, resteACharge: 45 },
  engagement: { numero: 'ENG-77554321-000187', dateValidite: '2025-04-20' },
};
const DEL_OK: DelResult = { ...base, service: 'del', status: 'OK', technical: false, messages: [], engagement: 'ENG-77554321-000187' };

const NOW = new Date(2025, 0, 14, 9, 36, 0);

function read(text: string) {
  const m = parseEr7(text);
  const zrc = (n: number) => m.get(`ZRC-${n}`);
  return { m, zrc };
}

describe('answer to the GAP: message layout', () => {
  it('IDB OK: ADT^Z80 to the original sender, PID/PV1 echoed, ZRC with coverage, contract and validity', () => {
    const a = buildAnswer({ admission: A01, amc: { numeroAmc: '0077554321' }, idb: IDB_OK }, { now: NOW, charset: 'utf8' });
    expect(a.service).toBe('idb');
    expect(a.status).toBe('OK');
    expect(a.orderingKey).toBe('PV1-19:250100421'); // the same key as the inbound journal's
    const segs = a.text.split('\r');
    expect(segs.at(-1)).toBe('');
    expect(segs.slice(0, -1).map((s) => s.slice(0, 3))).toEqual(['MSH', 'EVN', 'PID', 'PV1', 'ZRC']);
    expect(a.text).not.toContain('\n');
    const { m, zrc } = read(a.text);
    expect(m.raw('MSH-9')).toBe('ADT^Z80^ADT_A01');
    expect(m.get('MSH-3')).toBe('ROC_BRIDGE');
    expect(m.get('MSH-5')).toBe('CPAGE'); // the GAP that sent the admission
    expect(m.get('MSH-6')).toBe('CHU-NORD');
    expect(m.get('MSH-10')).toBe(a.controlId);
    expect(m.get('MSH-12')).toBe('2.5');
    expect(m.get('MSH-18')).toBe('UNICODE UTF-8');
    expect(m.get('MSH-7')).toBe('20250114093600');
    expect(m.raw('PID-3')).toBe('481516^^^CHU-NORD&590780215&N^PI');
    expect(m.raw('PID-18')).toBe('25010042^^^CHU-NORD&590780193&M^AN');
    expect(m.get('PID-5')).toBe('LEFÈVRE-BŒUF');
    expect(m.raw('PID-3')).not.toContain('285075935012324'); // no NIR / INS in the answer
    expect(a.text).not.toContain('285075935012324');
    expect(a.text).not.toContain('19850714');
    expect(m.get('PV1-2')).toBe('I');
    expect(m.raw('PV1-19')).toBe('250100421^^^CHU-NORD&590780193&M^VN');
    expect([zrc(1), zrc(2), zrc(3), zrc(4), zrc(5), zrc(6), zrc(7), zrc(9)]).toEqual([
      'IDB',
      'OK',
      'N',
      '0077554321',
      '20250101',
      '20251231',
      'CT-2025-889',
      '20250121',
    ]);
    expect(m.raw('ZRC-8')).toBe('HOSPITALISATION~CHAMBRE_PARTICULIERE');
    expect(zrc(16)).toBe('');
    expect(zrc(18)).toBe('AUCUNE');
    expect(zrc(19)).toBe('REQ-2025-0114-0001');
    expect(zrc(20)).toBe('RSP-77554321-0001');
    expect(zrc(21)).toMatch(/^2025011\d{7}$/);
    expect(a.bytes.equals(Buffer.from(a.text, 'utf8'))).toBe(true);
  });

  it('IDB KO: status KO, the AMC code and label, the reason and the GAP action; delimiters in texts escaped', () => {
    const a = buildAnswer({ admission: A01, idb: IDB_KO }, { now: NOW });
    const { m, zrc } = read(a.text);
    expect([zrc(1), zrc(2), zrc(3)]).toEqual(['IDB', 'KO', 'N']);
    expect(zrc(4)).toBe('0077554321'); // from the admission's AMC coverage group
    expect(m.raw('ZRC-16')).toBe('B010^Droits fermés \\F\\ contrat résilié^ROC');
    expect(m.get('ZRC-16.2')).toBe('Droits fermés | contrat résilié');
    expect(zrc(17)).toBe('Droits fermés à la date des soins');
    expect(zrc(18)).toBe('FACTURER_PATIENT');
    expect(zrc(5)).toBe('');
    expect(m.segments).toHaveLength(5); // the | in the label did not split the segment
  });

  it('an admission whose AMC is outside ROC is answered with the directory KO (no IDB was possible)', () => {
    const annuaire = {
      ...base,
      service: 'annuaire' as const,
      status: 'KO' as const,
      technical: false,
      fromCache: false,
      stale: false,
      amc: { numeroAmc: '0050341278', nom: 'Caisse Mutualiste des Hautes-Alpes', enRoc: false },
      messages: [
        {
          code: 'BR-NOT-ROC',
          groupe: 'DROITS',
          severite: 'ERREUR' as const,
          libelle: 'Organisme complémentaire hors ROC',
          action: 'FACTURER_PATIENT' as const,
        },
      ],
      reason: 'Organisme complémentaire hors ROC',
    };
    const a = buildAnswer({ admission: A01, annuaire }, { now: NOW });
    const { zrc } = read(a.text);
    expect([zrc(1), zrc(2), zrc(3)]).toEqual(['ANNUAIRE', 'KO', 'N']);
    expect(zrc(17)).toBe('Organisme complémentaire hors ROC');
    expect(zrc(18)).toBe('FACTURER_PATIENT');
  });

  it('technical KO: flag Y, the technical reason, action REESSAYER', () => {
    const a = buildAnswer({ admission: A01, idb: IDB_TECH }, { now: NOW });
    const { zrc } = read(a.text);
    expect(a.technical).toBe(true);
    expect([zrc(2), zrc(3), zrc(18)]).toEqual(['KO', 'Y', 'REESSAYER']);
    expect(zrc(17)).toBe("L'AMC ne répond pas (délai dépassé)");
  });

  it('CLC after a discharge: engagement number and validity, amounts in EUR; ISO 8859-15 bytes with € and Œ', () => {
    const a = buildAnswer({ admission: A03, idb: IDB_OK, clc: CLC_OK }, { now: NOW, charset: 'iso-8859-15' });
    expect(a.service).toBe('clc'); // A03 means CLC, even though an IDB result is there too
    const text = decodeFrame(a.bytes).text;
    expect(text).toBe(a.text);
    const { m, zrc } = read(text);
    expect(m.get('MSH-18')).toBe('8859/15');
    expect([zrc(1), zrc(2), zrc(10), zrc(11)]).toEqual(['CLC', 'OK', 'ENG-77554321-000187', '20250420']);
    expect([m.raw('ZRC-12'), m.raw('ZRC-13'), m.raw('ZRC-14'), m.raw('ZRC-15')]).toEqual([
      '1845.60^EUR',
      '1476.48^EUR',
      '324.12^EUR',
      '45.00^EUR',
    ]);
    expect(m.raw('PID-5')).toContain('LEFÈVRE-BŒUF'); // Œ exists in 8859-15
    expect(a.bytes.includes(Buffer.from([0xbc]))).toBe(true); // Œ is 0xBC in ISO 8859-15
  });

  it('DEL after a cancellation: the cancelled engagement number', () => {
    const a = buildAnswer({ admission: A11, del: DEL_OK, engagement: { numero: 'ENG-OTHER' } }, { now: NOW });
    const { zrc } = read(a.text);
    expect([zrc(1), zrc(2), zrc(22)]).toEqual(['DEL', 'OK', 'ENG-77554321-000187']);
    expect(zrc(10)).toBe('');
  });

  it('desk dossier without an admission: NDA and venue number from msg.roc.venue, PV1-2 N, the latest result', () => {
    const a = buildAnswer(
      {
        venue: { type: 'HOSPITALISATION', dateEntree: '2026-11-20', numeroDossier: 'NDA2026B01', numeroVenue: 'VB01001' },
        idb: IDB_OK,
        clc: { ...CLC_OK, at: '2026-11-24T10:00:00Z' },
      },
      { now: NOW, receivingApplication: 'GAP^X', sendingFacility: 'CHU NORD' },
    );
    expect(a.service).toBe('clc');
    expect(a.orderingKey).toBe('PV1-19:VB01001');
    const { m } = read(a.text);
    expect(m.raw('PID-3')).toBe('');
    expect(m.raw('PID-18')).toBe('NDA2026B01^^^^AN');
    expect(m.raw('PV1-19')).toBe('VB01001^^^^VN');
    expect(m.get('PV1-2')).toBe('N');
    expect(m.raw('MSH-5')).toBe('GAP\\S\\X');
    expect(m.get('MSH-4')).toBe('CHU NORD');
  });

  it('a chosen service is answered; new control ids are distinct and at most 20 characters', () => {
    const a = buildAnswer({ admission: A03, idb: IDB_OK, clc: CLC_OK }, { service: 'idb' });
    expect(a.service).toBe('idb');
    const ids = new Set(Array.from({ length: 1000 }, () => newAnswerControlId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(20);
  });

  it('a billing return (roc-rsp): ZRC-1 RSP, paid amount, invoice number, state; a rejection with its code, label and action', () => {
    const paid = buildAnswer(
      {
        admission: A03,
        billing: {
          state: 'paid',
          key: '750100125/V/V1',
          factureNumero: 'F280000001',
          amc: '0775685365',
          paidCents: 32412,
          differenceCents: 0,
          amcCents: 32412,
          engagement: 'E5365260314K70000042',
          paymentReference: 'VIR261206001',
          settledAt: '2026-12-06',
        },
      },
      { now: NOW },
    );
    expect([paid.service, paid.status, paid.technical]).toEqual(['rsp', 'OK', false]);
    let { m, zrc } = read(paid.text);
    expect(m.raw('MSH-9')).toBe('ADT^Z80^ADT_A01');
    expect([zrc(1), zrc(2), zrc(3), zrc(4), zrc(10), zrc(18), zrc(23), zrc(25), zrc(26)]).toEqual([
      'RSP',
      'OK',
      'N',
      '0775685365',
      'E5365260314K70000042',
      'AUCUNE',
      'F280000001',
      'PAYE',
      'VIR261206001',
    ]);
    expect([m.raw('ZRC-14'), m.raw('ZRC-24'), zrc(21).slice(0, 8)]).toEqual(['324.12^EUR', '324.12^EUR', '20261206']);
    expect(m.raw('PV1-19')).toContain('^VN');

    const rejected = buildAnswer(
      {
        admission: A03,
        billing: {
          state: 'rejected',
          factureNumero: 'F280000001',
          amc: '0775685365',
          paidCents: 0,
          differenceCents: 32412,
          reason: { code: 'R006', label: 'Montants incohérents', action: 'CORRIGER' },
        },
      },
      { now: NOW },
    );
    expect([rejected.service, rejected.status]).toEqual(['rsp', 'KO']);
    ({ m, zrc } = read(rejected.text));
    expect([zrc(1), zrc(2), zrc(18), zrc(25)]).toEqual(['RSP', 'KO', 'CORRIGER', 'REJETE']);
    expect(m.raw('ZRC-16')).toBe('R006^Montants incohérents^ROC');
    expect([m.raw('ZRC-14'), m.raw('ZRC-24')]).toEqual(['324.12^EUR', '0.00^EUR']);

    const partial = buildAnswer(
      { admission: A03, billing: { state: 'partially-paid', factureNumero: 'F1', paidCents: 8000, differenceCents: 2000 } },
      { now: NOW },
    );
    ({ m, zrc } = read(partial.text));
    expect([zrc(2), zrc(25), zrc(18), m.raw('ZRC-14'), m.raw('ZRC-24')]).toEqual([
      'OK',
      'PAYE_PARTIEL',
      'TRAITEMENT_MANUEL',
      '100.00^EUR',
      '80.00^EUR',
    ]);
    expect(zrc(17)).toMatch(/20\.00/);
    // a billing state that is not a settlement (sent, refused…) is not a return to answer
    expect(() => buildAnswer({ admission: A03, billing: { state: 'sent', factureNumero: 'F1' } }, { service: 'rsp' })).toThrow(AnswerError);
  });

  it('the ZRC layout is data: every documented field has a label and a distinct position', () => {
    const positions = ZRC_FIELDS.map((f) => f.field);
    expect(new Set(positions).size).toBe(positions.length);
    for (const f of ZRC_FIELDS) expect(f.label.length).toBeGreaterThan(5);
  });
});

describe('answer to the GAP: what cannot be answered', () => {
  const cases: Array<[string, unknown, object, string, RegExp]> = [
    ['no msg.roc', undefined, {}, 'NO_DOSSIER', /msg\.roc/],
    ['msg.roc an array', [], {}, 'NO_DOSSIER', /msg\.roc/],
    ['no result at all', { admission: A01 }, {}, 'NO_RESULT', /aucun résultat ROC/],
    ['the chosen service has no result', { admission: A01, idb: IDB_OK }, { service: 'clc' }, 'NO_RESULT', /CLC/],
    ['an unknown service', { admission: A01, idb: IDB_OK }, { service: 'xyz' }, 'BAD_OPTION', /xyz/],
    ['no identifier to attach the answer to', { idb: IDB_OK, beneficiaire: { nom: 'MARTIN' } }, {}, 'NO_IDENTIFIER', /IPP/],
  ];
  it.each(cases)('%s → AnswerError naming the cause', (_n, roc, opts, code, re) => {
    let err: unknown;
    try {
      buildAnswer(roc, opts as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AnswerError);
    expect((err as AnswerError).code).toBe(code);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toContain('MARTIN');
  });
});
