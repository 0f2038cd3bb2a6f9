/**
 * The answer to the GAP, the choices behind it: which result is answered when several are there,
 * what the ZRC says for each kind of KO, billing returns without every detail, values cut or
 * dropped, the identifiers the GAP attaches the answer with. Complements answer.test.ts (one
 * message per service).
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { parseEr7 } from '../../lib/hl7/er7';
import { parseAdmission } from '../../lib/hl7/pamfr';
import { AnswerError, answerFacts, billingReturnOf, buildAnswer, chooseService, newAnswerControlId } from '../../lib/hl7/answer';
import type { Admission } from '../../lib/hl7/types';
import type { ClcResult, DelResult, IdbResult, SimResult } from '../../lib/model/dossier';

const A01: Admission = parseAdmission(
  parseEr7(readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8')),
).admission as Admission;
const NOW = new Date(2025, 0, 14, 9, 36, 0);
const base = { requestId: 'REQ-2025-0114-0001', latencyMs: 412, attempts: 1, at: '2025-01-14T09:35:20.000Z', messages: [], consignes: [] };
const IDB_OK: IdbResult = { ...base, service: 'idb', status: 'OK', technical: false };
const CLC_OK: ClcResult = { ...base, service: 'clc', status: 'OK', technical: false, lignes: [] } as unknown as ClcResult;
const SIM_OK: SimResult = { ...base, service: 'sim', status: 'OK', technical: false } as unknown as SimResult;
const DEL_OK: DelResult = { ...base, service: 'del', status: 'OK', technical: false };

const zrcOf = (text: string) => {
  const m = parseEr7(text);
  return (n: number) => m.raw(`ZRC-${n}`);
};
const answer = (
  roc: object,
  service?: Parameters<typeof buildAnswer>[1] extends infer O ? (O extends { service?: infer S } ? S : never) : never,
) => buildAnswer(roc, { now: NOW, controlId: 'RB1', service });

describe('which result is answered', () => {
  it('the result roc-dossier names (dossier.reponse) when it is there', () => {
    expect(chooseService({ admission: A01, idb: IDB_OK, clc: CLC_OK, dossier: { reponse: 'idb' } } as never)).toBe('idb');
    // a named result that is missing, or not a service: the usual rules
    expect(chooseService({ admission: A01, idb: IDB_OK, dossier: { reponse: 'clc' } } as never)).toBe('idb');
    expect(chooseService({ admission: A01, idb: IDB_OK, dossier: { reponse: 'rsp' } } as never)).toBe('idb');
    expect(chooseService({ admission: A01, idb: IDB_OK, dossier: { reponse: 42 } } as never)).toBe('idb');
  });

  it('a billing return before the admission’s meaning', () => {
    expect(chooseService({ admission: A01, idb: IDB_OK, billing: { state: 'paid', factureNumero: 'F1' } } as never)).toBe('rsp');
  });

  it('the admission’s meaning, when its result is there', () => {
    const later = { ...CLC_OK, at: '2025-01-20T10:00:00Z' };
    expect(chooseService({ admission: A01, idb: IDB_OK, clc: later } as never)).toBe('idb');
    expect(chooseService({ admission: { ...A01, meaning: 'INVOICE' }, idb: IDB_OK, clc: CLC_OK } as never)).toBe('clc');
    // IDENTITY has no result of its own: the latest
    expect(chooseService({ admission: { ...A01, meaning: 'IDENTITY' }, idb: IDB_OK, clc: later } as never)).toBe('clc');
  });

  it('otherwise the latest result; on a tie or without dates, the last in service order', () => {
    const at = (r: object, t: string | undefined) => ({ ...r, at: t });
    expect(chooseService({ idb: at(IDB_OK, '2025-01-15T00:00:00Z'), sim: at(SIM_OK, '2025-01-14T00:00:00Z') } as never)).toBe('idb');
    expect(chooseService({ idb: at(IDB_OK, '2025-01-14T00:00:00Z'), sim: at(SIM_OK, '2025-01-14T00:00:00Z') } as never)).toBe('sim');
    expect(chooseService({ idb: at(IDB_OK, undefined), sim: at(SIM_OK, 'hier') } as never)).toBe('sim');
    expect(chooseService({ idb: at(IDB_OK, '2025-01-14T00:00:00Z'), sim: at(SIM_OK, undefined) } as never)).toBe('idb');
    // only results count: an object without OK/KO status is not one
    expect(chooseService({ idb: IDB_OK, clc: { status: 'EN_COURS', at: '2030-01-01' } } as never)).toBe('idb');
    expect(() => chooseService({ idb: null } as never)).toThrow(AnswerError);
  });

  it('an asked service must be known and have its result; rsp needs a settled billing return', () => {
    expect(chooseService({ idb: IDB_OK, clc: CLC_OK } as never, 'clc')).toBe('clc');
    expect(() => chooseService({ idb: IDB_OK } as never, 'rsp')).toThrow(
      'pas de retour de facturation réglé dans msg.roc.billing : rien à répondre au GAP',
    );
    expect(() => chooseService({ idb: IDB_OK } as never, 'del')).toThrow('pas de résultat DEL dans msg.roc.del : rien à répondre au GAP');
    expect(() => chooseService({ idb: IDB_OK } as never, 'xyz' as never)).toThrow(
      'service inconnu « xyz » (attendu : annuaire, idb, sim, clc, del, rsp)',
    );
    expect(() => chooseService({} as never)).toThrow(
      'aucun résultat ROC (msg.roc.annuaire / msg.roc.idb / msg.roc.sim / msg.roc.clc / msg.roc.del) : rien à répondre au GAP',
    );
    expect(() => answerFacts({} as never, 'rsp')).toThrow(AnswerError);
  });

  it('a billing return is a settled invoice with a number', () => {
    expect(billingReturnOf({ billing: { state: 'paid', factureNumero: 'F1' } })).toStrictEqual({ state: 'paid', factureNumero: 'F1' });
    expect(billingReturnOf({ billing: { state: 'paid', factureNumero: '' } })).toBeUndefined();
    expect(billingReturnOf({ billing: { state: 'paid', factureNumero: 42 } })).toBeUndefined();
    expect(billingReturnOf({ billing: { state: 'toString', factureNumero: 'F1' } })).toBeUndefined();
    expect(billingReturnOf({ billing: { state: 1, factureNumero: 'F1' } })).toBeUndefined();
    expect(billingReturnOf({ billing: 'paid' })).toBeUndefined();
    expect(billingReturnOf({})).toBeUndefined();
    expect(billingReturnOf(undefined)).toBeUndefined();
  });
});

describe('what the ZRC says', () => {
  it('KO: the first ERREUR message, else the first message; the reason, else its label', () => {
    const ko: IdbResult = {
      ...IDB_OK,
      status: 'KO',
      messages: [
        { code: 'I001', groupe: 'INFO', severite: 'INFO', libelle: 'Information' },
        { code: 'B010', groupe: 'DROITS', severite: 'ERREUR', libelle: 'Droits fermés' },
      ],
    } as IdbResult;
    const f = answerFacts({ idb: ko } as never, 'idb');
    expect(f).toMatchObject({ codeKo: 'B010', libelleKo: 'Droits fermés', motifKo: 'Droits fermés' });
    expect(f).not.toHaveProperty('actionGap');
    const info = answerFacts({ idb: { ...ko, messages: [ko.messages[0]] } } as never, 'idb');
    expect(info).toMatchObject({ codeKo: 'I001', libelleKo: 'Information', motifKo: 'Information' });
    const bare = answerFacts({ idb: { ...ko, messages: undefined, reason: 'Refus' } } as never, 'idb');
    expect(bare).toMatchObject({ status: 'KO', motifKo: 'Refus' });
    expect(bare).not.toHaveProperty('codeKo');
    // a technical KO without action from the AMC: retry; with one, the AMC's
    expect(answerFacts({ idb: { ...ko, technical: true } } as never, 'idb').actionGap).toBe('REESSAYER');
    const withAction = { ...ko, technical: true, messages: [{ ...ko.messages[1], action: 'CORRIGER' }] };
    expect(answerFacts({ idb: withAction } as never, 'idb').actionGap).toBe('CORRIGER');
    // an empty request id is not written
    expect(answerFacts({ idb: { ...IDB_OK, requestId: '' } } as never, 'idb')).not.toHaveProperty('requestId');
  });

  it('IDB: the rights from the first period’s start to the last period’s end; no domain list when empty', () => {
    const idb = {
      ...IDB_OK,
      couverture: {
        periodes: [
          { debut: '2025-01-01', fin: '2025-06-30' },
          { debut: '2025-07-01', fin: '2025-12-31' },
        ],
        domaines: [],
      },
    };
    const f = answerFacts({ idb } as never, 'idb');
    expect(f).toMatchObject({ debutDroits: '2025-01-01', finDroits: '2025-12-31' });
    expect(f).not.toHaveProperty('domaines');
    expect(f).not.toHaveProperty('numeroContrat');
    const open = answerFacts(
      { idb: { ...IDB_OK, couverture: { periodes: [{ debut: '2025-01-01' }], domaines: ['ACE'] } } } as never,
      'idb',
    );
    expect(open).toMatchObject({ debutDroits: '2025-01-01', domaines: ['ACE'] });
    expect(open).not.toHaveProperty('finDroits');
    const none = answerFacts({ idb: { ...IDB_OK, couverture: { domaines: [] } } } as never, 'idb');
    expect(none).not.toHaveProperty('debutDroits');
  });

  it('SIM: the amounts rounded to the cent, no engagement; CLC without engagement or amounts', () => {
    const sim = {
      ...SIM_OK,
      montants: { totalFacture: 100.005, totalAmo: 80, totalAmc: Number.NaN, resteACharge: 0.1 },
      engagement: { numero: 'E1' },
    };
    const f = answerFacts({ sim } as never, 'sim');
    expect(f).toMatchObject({ service: 'SIM', montantFacture: '100.01', montantAmo: '80.00', montantPatient: '0.10' });
    expect(f).not.toHaveProperty('montantAmc');
    expect(f).not.toHaveProperty('numeroEngagement');
    const clc = answerFacts({ clc: CLC_OK } as never, 'clc');
    expect(clc).toStrictEqual({
      service: 'CLC',
      status: 'OK',
      technical: 'N',
      requestId: 'REQ-2025-0114-0001',
      dateResultat: base.at,
      actionGap: 'AUCUNE',
    });
  });

  it('DEL: the engagement the result names, else the dossier’s', () => {
    expect(answerFacts({ del: DEL_OK, engagement: { numero: 'ENG-1' } } as never, 'del').engagementAnnule).toBe('ENG-1');
    expect(answerFacts({ del: { ...DEL_OK, engagement: 'ENG-2' }, engagement: { numero: 'ENG-1' } } as never, 'del').engagementAnnule).toBe(
      'ENG-2',
    );
    expect(answerFacts({ del: DEL_OK } as never, 'del')).not.toHaveProperty('engagementAnnule');
  });

  it('the AMC number from the dossier, else the admission’s first AMC group with a number', () => {
    expect(answerFacts({ idb: IDB_OK, amc: { numeroAmc: '0011223344' }, admission: A01 } as never, 'idb').numeroAmc).toBe('0011223344');
    expect(answerFacts({ idb: IDB_OK, admission: A01 } as never, 'idb').numeroAmc).toBe('0077554321');
    const amoOnly = { ...A01, coverages: [A01.coverages[0], { ...A01.coverages[1], numeroAmc: undefined }] };
    expect(answerFacts({ idb: IDB_OK, admission: amoOnly } as never, 'idb')).not.toHaveProperty('numeroAmc');
  });

  it('values are cut at their ZRC length; dates and times that do not parse are left empty', () => {
    const long = 'x'.repeat(600);
    const ko = {
      ...IDB_OK,
      status: 'KO',
      reason: long,
      at: 'pas une date',
      messages: [{ code: 'C'.repeat(250), groupe: 'G', severite: 'ERREUR', libelle: 'L'.repeat(250) }],
    };
    const a = buildAnswer(
      { admission: A01, amc: { numeroAmc: '00775543219999' }, idb: { ...ko, dateValidite: '21/01/2025' } },
      { now: NOW },
    );
    const z = zrcOf(a.text);
    expect(z(4)).toBe('0077554321');
    expect(z(17)).toBe('x'.repeat(500));
    expect(z(16)).toBe(`${'C'.repeat(200)}^${'L'.repeat(200)}^ROC`);
    expect(z(9)).toBe('');
    expect(z(21)).toBe('');
    expect(parseEr7(a.text).get('EVN-6')).toBe('');
    expect(parseEr7(a.text).get('EVN-2')).toBe('20250114093600');
    // a code without label: an empty text component
    const noLabel = buildAnswer(
      { admission: A01, idb: { ...ko, reason: 'r', messages: [{ code: 'B010', groupe: 'G', severite: 'ERREUR' }] } },
      { now: NOW },
    );
    expect(zrcOf(noLabel.text)(16)).toBe('B010^^ROC');
  });

  it('the result time is written in local time to the second, in EVN-6 and ZRC-21', () => {
    const at = new Date(2025, 0, 14, 9, 35, 20).toISOString();
    const a = buildAnswer({ admission: A01, idb: { ...IDB_OK, at } }, { now: NOW });
    expect(zrcOf(a.text)(21)).toBe('20250114093520');
    expect(parseEr7(a.text).get('EVN-6')).toBe('20250114093520');
  });
});

describe('billing return answers', () => {
  it('without AMC share, the paid amount plus the difference; without payment, nothing paid', () => {
    const r = answer({
      admission: A01,
      amc: { numeroAmc: '0077554321' },
      billing: { state: 'partially-paid', factureNumero: 'F1', paidCents: 8000, differenceCents: 2050 },
    });
    const z = zrcOf(r.text);
    expect([z(14), z(24), z(4)]).toStrictEqual(['100.50^EUR', '80.00^EUR', '0077554321']);
    expect(parseEr7(r.text).get('ZRC-17')).toBe('payé partiellement : écart de 20.50 EUR');
    const nothing = answer({ admission: A01, billing: { state: 'rejected', factureNumero: 'F1' } });
    const n = zrcOf(nothing.text);
    expect([n(14), n(24), n(16), n(17), n(18)]).toStrictEqual(['0.00^EUR', '0.00^EUR', '', '', 'TRAITEMENT_MANUEL']);
    // a partial payment without difference says no more than its state
    const noDiff = answer({ admission: A01, billing: { state: 'partially-paid', factureNumero: 'F1', paidCents: 8000 } });
    expect(zrcOf(noDiff.text)(17)).toBe('');
    // amounts that are not whole cents are not written
    const odd = answer({ admission: A01, billing: { state: 'paid', factureNumero: 'F1', paidCents: 10.5, amcCents: 10.5 } });
    expect([zrcOf(odd.text)(14), zrcOf(odd.text)(24)]).toStrictEqual(['', '']);
  });

  it('a rejection names its reason code and label; its own action only when it has one', () => {
    const r = answer({ admission: A01, billing: { state: 'rejected', factureNumero: 'F1', reason: { label: 'Montants incohérents' } } });
    const z = zrcOf(r.text);
    expect([z(16), z(17), z(18)]).toStrictEqual(['', 'Montants incohérents', 'TRAITEMENT_MANUEL']);
    const code = answer({ admission: A01, billing: { state: 'rejected', factureNumero: 'F1', reason: { code: 'R006' } } });
    expect(zrcOf(code.text)(16)).toBe('R006^^ROC');
    expect(r.status).toBe('KO');
    expect(r.technical).toBe(false);
    // the result time of a return is its day; without it EVN-6 is empty
    expect(parseEr7(r.text).get('EVN-6')).toBe('');
  });
});

describe('how the GAP attaches the answer', () => {
  it('the ordering key and identifiers when the admission lacks some', () => {
    const noVenue = { ...A01, orderingKey: undefined, venue: { ...A01.venue, numeroVenue: undefined } };
    const a = answer({ admission: noVenue, idb: IDB_OK });
    expect(a.orderingKey).toBe('PID-18:25010042');
    expect(parseEr7(a.text).raw('PV1-19')).toBe('');
    const ippOnly = { ...A01, orderingKey: undefined, venue: undefined };
    const b = answer({ admission: ippOnly, idb: IDB_OK });
    expect(b.orderingKey).toBe('PID-3:481516');
    const m = parseEr7(b.text);
    expect([m.raw('PID-18'), m.raw('PV1-19'), m.get('PV1-2')]).toStrictEqual(['', '', 'N']);
    // the NDA of the desk dossier when the admission has none
    const desk = answer({ venue: { numeroDossier: 'NDA-1' }, idb: IDB_OK });
    expect(desk.orderingKey).toBe('PID-18:NDA-1');
    expect(parseEr7(desk.text).raw('PID-18')).toBe('NDA-1^^^^AN');
  });

  it('an authority is written with its parts up to the last present one, escaped', () => {
    const ipp = { value: '481516', type: 'PI', authority: { namespace: 'CHU^NORD' } };
    const a = answer({ admission: { ...A01, patient: { ...A01.patient, ipp } }, idb: IDB_OK });
    expect(parseEr7(a.text).raw('PID-3')).toBe('481516^^^CHU\\S\\NORD^PI');
    const idOnly = { value: '481516', type: 'PI', authority: { universalId: '590780215' } };
    const b = answer({ admission: { ...A01, patient: { ...A01.patient, ipp: idOnly } }, idb: IDB_OK });
    expect(parseEr7(b.text).raw('PID-3')).toBe('481516^^^&590780215^PI');
  });

  it('PID-5 only when the admission has a name; the first name may be missing', () => {
    const noName = answer({ admission: { ...A01, patient: { ...A01.patient, nom: undefined } }, idb: IDB_OK });
    expect(parseEr7(noName.text).raw('PID-5')).toBe('');
    const noFirst = answer({ admission: { ...A01, patient: { ...A01.patient, prenom: undefined } }, idb: IDB_OK });
    expect(parseEr7(noFirst.text).raw('PID-5')).toBe('LEFÈVRE-BŒUF^^^^^^D');
  });

  it('the header names: options first, else the admission’s, our application by default', () => {
    const a = buildAnswer({ admission: A01, idb: IDB_OK }, { now: NOW, sendingApplication: 'ROC|2', receivingFacility: 'CHU-SUD' });
    const m = parseEr7(a.text);
    expect([m.raw('MSH-3'), m.get('MSH-4'), m.get('MSH-5'), m.get('MSH-6')]).toStrictEqual(['ROC\\F\\2', 'CHU-NORD', 'CPAGE', 'CHU-SUD']);
    expect(m.raw('MSH-12')).toBe('2.5^FRA^2.11');
    expect([m.get('MSH-11'), m.get('MSH-17'), m.get('MSH-18')]).toStrictEqual(['P', 'FRA', '8859/15']);
    expect(a.charset).toBe('iso-8859-15');
    const bare = buildAnswer({ venue: { numeroVenue: 'V1' }, idb: IDB_OK }, { now: NOW });
    const b = parseEr7(bare.text);
    expect([b.get('MSH-3'), b.get('MSH-4'), b.get('MSH-5'), b.get('MSH-6')]).toStrictEqual(['ROC_BRIDGE', '', '', '']);
    expect(bare.controlId).toMatch(/^RB[0-9A-Z]+$/);
    expect(b.get('MSH-10')).toBe(bare.controlId);
  });

  it('control ids: RB, the time in base 36, a 4-character counter going up by one', () => {
    const a = newAnswerControlId(NOW);
    const b = newAnswerControlId(NOW);
    const time = NOW.getTime().toString(36).toUpperCase();
    expect(a).toMatch(new RegExp(`^RB${time}[0-9A-Z]{4}$`));
    expect(parseInt(b.slice(-4), 36)).toBe((parseInt(a.slice(-4), 36) + 1) % 36 ** 4);
    expect(newAnswerControlId().startsWith('RB')).toBe(true);
  });

  it('a segment keeps its empty fields up to the last valued one', () => {
    const a = buildAnswer({ venue: { numeroVenue: 'V1' }, idb: IDB_OK }, { now: NOW, controlId: 'RB1' });
    const lines = a.text.split('\r');
    expect(lines[2]).toBe('PID|1');
    expect(lines[3]).toBe('PV1|1|N|||||||||||||||||V1^^^^VN');
    const z = lines[4].split('|');
    expect(z.slice(0, 21)).toStrictEqual(['ZRC', 'IDB', 'OK', 'N', ...Array(14).fill(''), 'AUCUNE', 'REQ-2025-0114-0001', '']);
    expect(lines[4].split('|')).toHaveLength(22);
  });
});
