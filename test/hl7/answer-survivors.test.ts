/**
 * The answer to the GAP (lib/hl7/answer.ts), the cases its mutation survivors showed untested: the
 * exact MSH / EVN / PID / PV1 lines, billing returns asked by option, results named by roc-dossier
 * that the admission's meaning would not pick, parts of msg.roc missing or malformed (no patient,
 * no coverage list, a text where an object is expected, lists where a text is expected), the facts
 * left out when empty, and a ZRC layout with a gap. Complements answer.test.ts and answer-facts.test.ts.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { decodeFrame } from '../../lib/hl7/charset';
import { parseEr7 } from '../../lib/hl7/er7';
import { parseAdmission } from '../../lib/hl7/pamfr';
import { AnswerError, answerFacts, billingReturnOf, buildAnswer, chooseService } from '../../lib/hl7/answer';
import type * as AnswerModule from '../../lib/hl7/answer';
import type * as ProfileModule from '../../lib/hl7/answer-profile';
import type { Admission } from '../../lib/hl7/types';
import type { ClcResult, IdbResult, SimResult } from '../../lib/model/dossier';

const FIX = path.join(__dirname, '..', 'fixtures', 'hl7');
function admission(name: string): Admission {
  return parseAdmission(parseEr7(decodeFrame(readFileSync(path.join(FIX, name))).text)).admission!;
}
const A01 = admission('pamfr-own-adt-a01-amo-amc-utf8.hl7');
const A03 = admission('pamfr-own-adt-a03-sortie-8859-15-sans-msh18.hl7');

const NOW = new Date(2025, 0, 14, 9, 36, 0);
const base = {
  requestId: 'REQ-2025-0114-0001',
  latencyMs: 412,
  attempts: 1,
  at: '2025-01-14T09:35:20.000Z',
  messages: [],
  consignes: [],
};
const IDB_OK: IdbResult = {
  ...base,
  service: 'idb',
  status: 'OK',
  technical: false,
  responseId: 'RSP-77554321-0001',
  couverture: {
    numeroContrat: 'CT-2025-889',
    periodes: [{ debut: '2025-01-01', fin: '2025-12-31' }],
    domaines: ['HOSPITALISATION'],
  },
  dateValidite: '2025-01-21',
};
const IDB_KO: IdbResult = { ...base, service: 'idb', status: 'KO', technical: false };
const SIM_OK: SimResult = {
  ...base,
  service: 'sim',
  status: 'OK',
  technical: false,
  lignes: [],
  montants: { totalFacture: 1845.6, totalAmo: 1476.48, totalAmc: 324.12, resteACharge: 45 },
};
const CLC_OK: ClcResult = {
  ...base,
  service: 'clc',
  status: 'OK',
  technical: false,
  lignes: [],
  engagement: { numero: 'ENG-77554321-000187', dateValidite: '2025-04-20' },
};
const PAID = {
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
};

const answer = (roc: unknown, o: Parameters<typeof buildAnswer>[1] = {}) => buildAnswer(roc, { now: NOW, controlId: 'RB1', ...o });
const lines = (text: string) => text.split('\r');
const zrcOf = (text: string) => {
  const m = parseEr7(text);
  return (n: number) => m.raw(`ZRC-${n}`);
};
function errorOf(f: () => unknown): AnswerError {
  try {
    f();
  } catch (e) {
    return e as AnswerError;
  }
  throw new Error('no error thrown');
}

describe('the answer, line by line', () => {
  it('MSH, EVN, PID, PV1: the empty fields between the valued ones stay empty', () => {
    const a = answer({ admission: A01, idb: IDB_OK }, { charset: 'utf8' });
    const [msh, evn, pid, pv1] = lines(a.text);
    expect(msh).toBe(
      'MSH|^~\\&|ROC_BRIDGE|CHU-NORD|CPAGE|CHU-NORD|20250114093600||ADT^Z80^ADT_A01|RB1|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8',
    );
    const at = hl7Local(IDB_OK.at);
    expect(evn).toBe(`EVN||20250114093600||||${at}`);
    expect(pid).toBe('PID|1||481516^^^CHU-NORD&590780215&N^PI||LEFÈVRE-BŒUF^Hélène^^^^^D|||||||||||||25010042^^^CHU-NORD&590780193&M^AN');
    expect(pv1).toBe('PV1|1|I|||||||||||||||||250100421^^^CHU-NORD&590780193&M^VN');
  });

  it('no venue number: PV1 ends at its patient class, no empty fields after it', () => {
    const noVenue = { ...A01, orderingKey: undefined, venue: { ...A01.venue, numeroVenue: undefined } };
    const a = answer({ admission: noVenue, idb: IDB_OK });
    expect(lines(a.text)[3]).toBe('PV1|1|I');
    expect(a.orderingKey).toBe('PID-18:25010042');
  });

  it('an admission without patient part: attached by its NDA and venue, PID without IPP or name', () => {
    const a = answer({ admission: { ...A01, patient: undefined }, idb: IDB_OK });
    const m = parseEr7(a.text);
    expect([m.raw('PID-3'), m.raw('PID-5')]).toStrictEqual(['', '']);
    expect(m.raw('PID-18')).toBe('25010042^^^CHU-NORD&590780193&M^AN');
    expect(a.orderingKey).toBe('PV1-19:250100421');
  });

  it('an admission without coverage list: no AMC number, the answer is still written', () => {
    const a = answer({ admission: { ...A01, coverages: undefined }, idb: IDB_OK });
    expect(zrcOf(a.text)(4)).toBe('');
    expect(a.facts).not.toHaveProperty('numeroAmc');
  });
});

describe('which result is answered (survivors)', () => {
  it('the result roc-dossier names, even when the admission means another one', () => {
    // A03 (a discharge) means CLC, and the CLC is the latest: roc-dossier says the answer is the IDB
    const later = { ...CLC_OK, at: '2025-01-20T10:00:00Z' };
    const a = answer({ admission: A03, idb: IDB_OK, clc: later, dossier: { reponse: 'idb' } });
    expect([a.service, zrcOf(a.text)(1)]).toStrictEqual(['idb', 'IDB']);
    // without the hint the discharge is answered with its CLC
    expect(answer({ admission: A03, idb: IDB_OK, clc: later }).service).toBe('clc');
  });

  it('a part roc-dossier names that is no ROC service is not answered, even if it looks like a result', () => {
    const insi = { status: 'OK', at: '2025-01-20T10:00:00Z' }; // an INSi identity check, not a ROC result
    const a = answer({ admission: A01, idb: IDB_OK, insi, dossier: { reponse: 'insi' } });
    expect([a.service, zrcOf(a.text)(1)]).toStrictEqual(['idb', 'IDB']);
  });

  it('the only result is answered, whatever its date; of several, the latest, on a tie the last in service order', () => {
    expect(chooseService({ sim: { ...SIM_OK, at: '1990-01-01T00:00:00Z' } } as never)).toBe('sim');
    expect(chooseService({ sim: { ...SIM_OK, at: undefined } } as never)).toBe('sim');
    const idb = { ...IDB_OK, at: '2025-01-15T08:00:00Z' };
    expect(answer({ venue: { numeroVenue: 'VB01001' }, idb, sim: { ...SIM_OK, at: '2025-01-14T08:00:00Z' } }).service).toBe('idb');
    expect(answer({ venue: { numeroVenue: 'VB01001' }, idb, sim: { ...SIM_OK, at: idb.at } }).service).toBe('sim');
  });

  it('a billing return asked by option: ZRC-1 RSP; without a settled return: NO_RESULT naming msg.roc.billing', () => {
    const a = answer({ admission: A03, idb: IDB_OK, billing: PAID }, { service: 'rsp' });
    expect([a.service, a.status, zrcOf(a.text)(1), zrcOf(a.text)(23)]).toStrictEqual(['rsp', 'OK', 'RSP', 'F280000001']);
    const e = errorOf(() => answer({ admission: A03, idb: IDB_OK }, { service: 'rsp' }));
    expect(e).toBeInstanceOf(AnswerError);
    expect([e.name, e.code]).toStrictEqual(['AnswerError', 'NO_RESULT']);
    expect(e.message).toMatch(/msg\.roc\.billing/);
    const f = errorOf(() => answerFacts({ idb: IDB_OK } as never, 'rsp'));
    expect([f.code, f.message]).toStrictEqual(['NO_RESULT', 'pas de retour de facturation réglé dans msg.roc.billing']);
  });

  it('an error names itself AnswerError (what the flow logs show)', () => {
    const e = errorOf(() => answer({ admission: A01 }));
    expect(e.name).toBe('AnswerError');
    expect(String(e)).toMatch(/^AnswerError: aucun résultat ROC/);
  });
});

describe('malformed msg.roc', () => {
  it('msg.roc a text (the raw HL7 put there by mistake) is no dossier', () => {
    const e = errorOf(() => answer('MSH|^~\\&|CPAGE|CHU-NORD|ROC|CHU-NORD|20250114093000||ADT^A01'));
    expect(e.code).toBe('NO_DOSSIER');
    expect(e.message).toMatch(/msg\.roc/);
    expect(errorOf(() => answer(42)).code).toBe('NO_DOSSIER');
  });

  it('results and billing returns are data: a function carrying their fields is neither', () => {
    const fnIdb = Object.assign(() => undefined, { ...IDB_OK });
    expect(errorOf(() => answer({ admission: A01, idb: fnIdb })).code).toBe('NO_RESULT');
    const fnBilling = Object.assign(() => undefined, { ...PAID });
    expect(billingReturnOf({ billing: fnBilling })).toBeUndefined();
    expect(answer({ admission: A01, idb: IDB_OK, billing: fnBilling }).service).toBe('idb');
  });

  it('a billing state that is not a text is no state, even a list holding one', () => {
    expect(billingReturnOf({ billing: { ...PAID, state: ['paid'] } })).toBeUndefined();
    expect(answer({ admission: A01, idb: IDB_OK, billing: { ...PAID, state: ['paid'] } }).service).toBe('idb');
  });

  it('a list where one text is expected: only its first value is written', () => {
    const ko = { ...IDB_KO, reason: ['Droits fermés à la date des soins', 'Contrat résilié'] };
    const a = answer({ admission: A01, idb: ko });
    expect(zrcOf(a.text)(17)).toBe('Droits fermés à la date des soins');
  });

  it('a date with a mistyped year is not read from its middle', () => {
    const a = answer({ admission: A01, idb: { ...IDB_OK, dateValidite: '12025-01-21' } });
    expect(zrcOf(a.text)(9)).toBe('');
  });

  it('zeros in place of a response id or a result time leave those fields empty', () => {
    const a = answer({ admission: A01, idb: { ...IDB_OK, responseId: 0, at: 0 } });
    const z = zrcOf(a.text);
    expect([z(20), z(21), parseEr7(a.text).raw('EVN-6')]).toStrictEqual(['', '', '']);
  });
  it('numbers a flow wrote where text is expected are written as text; objects and booleans are left out, the answer is still written', () => {
    // a change node setting msg.roc.idb.responseId to 12345 once failed the answer with a TypeError
    const idb = {
      ...IDB_OK,
      responseId: 77554321,
      requestId: true,
      couverture: { ...IDB_OK.couverture, numeroContrat: { n: 889 }, domaines: ['HOSPITALISATION', 7, null] },
    };
    const a = answer({ admission: A01, idb });
    const z = zrcOf(a.text);
    expect([z(7), z(8), z(19), z(20)]).toStrictEqual(['', 'HOSPITALISATION~7', '', '77554321']);
    const ko = { ...IDB_KO, reason: { texte: 'Droits fermés' }, messages: [{ code: 2010, severite: 'ERREUR', libelle: 'Droits fermés' }] };
    const k = zrcOf(answer({ admission: A01, idb: ko }).text);
    expect([k(2), k(16), k(17)]).toStrictEqual(['KO', '2010^Droits fermés^ROC', '']);
  });
});

describe('what the ZRC says (survivors)', () => {
  it('a KO without message nor reason: no code, no reason, the answer is still written', () => {
    const a = answer({ admission: A01, idb: { ...IDB_KO, messages: undefined } });
    const z = zrcOf(a.text);
    expect([z(2), z(16), z(17), z(18)]).toStrictEqual(['KO', '', '', '']);
  });

  it('a coverage without domain list: contract and rights written, ZRC-8 empty', () => {
    const couverture = { numeroContrat: 'CT-2025-889', periodes: [{ debut: '2025-01-01', fin: '2025-12-31' }] };
    const a = answer({ admission: A01, idb: { ...IDB_OK, couverture } });
    const z = zrcOf(a.text);
    expect([z(5), z(6), z(7), z(8)]).toStrictEqual(['20250101', '20251231', 'CT-2025-889', '']);
  });

  it('each service writes only its own fields, whatever else its result object carries', () => {
    // a CLC result built from the IDB one keeps its coverage: a CLC answer says nothing of rights
    const clc = { ...IDB_OK, ...CLC_OK };
    const c = zrcOf(answer({ admission: A03, clc }).text);
    expect([c(1), c(5), c(6), c(7), c(8), c(9), c(10)]).toStrictEqual(['CLC', '', '', '', '', '', 'ENG-77554321-000187']);
    // an IDB result carrying amounts (copied from a SIM) says nothing of amounts
    const idb = { ...SIM_OK, ...IDB_OK };
    const i = zrcOf(answer({ admission: A01, idb }).text);
    expect([i(1), i(12), i(13), i(14), i(15)]).toStrictEqual(['IDB', '', '', '', '']);
  });

  it('empty or null values are no facts: an empty response id, a null AMC action, an AMC number 0', () => {
    expect(answerFacts({ idb: { ...IDB_OK, responseId: '' } } as never, 'idb')).not.toHaveProperty('responseId');
    const ko = { ...IDB_KO, messages: [{ code: 'B010', groupe: 'DROITS', severite: 'ERREUR', libelle: 'Droits fermés', action: null }] };
    expect(answerFacts({ idb: ko } as never, 'idb')).not.toHaveProperty('actionGap');
    expect(answerFacts({ idb: IDB_OK, amc: { numeroAmc: 0 } } as never, 'idb')).not.toHaveProperty('numeroAmc');
  });

  it('a billing return’s facts: no empty or missing value; a paid invoice has no KO reason even with a difference', () => {
    const a = answer({ admission: A03, billing: { ...PAID, engagement: undefined, paymentReference: '', differenceCents: 150 } });
    expect(a.facts).toStrictEqual({
      service: 'RSP',
      status: 'OK',
      technical: 'N',
      etatFacture: 'PAYE',
      numeroFacture: 'F280000001',
      numeroAmc: '0775685365',
      montantAmc: '324.12',
      montantPaye: '324.12',
      dateResultat: '2026-12-06',
      actionGap: 'AUCUNE',
    });
    expect([zrcOf(a.text)(17), zrcOf(a.text)(26)]).toStrictEqual(['', '']);
  });

  it('a billing return’s day is the event time too (EVN-6 as ZRC-21)', () => {
    const a = answer({ admission: A03, billing: PAID });
    const m = parseEr7(a.text);
    expect(m.raw('EVN-6')).toBe(hl7Local('2026-12-06'));
    expect(m.raw('ZRC-21')).toBe(m.raw('EVN-6'));
  });
});

describe('control ids', () => {
  it('the counter is always 4 characters, also when it is small', () => {
    let mod: typeof AnswerModule | undefined;
    const random = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        mod = require('../../lib/hl7/answer');
      });
    } finally {
      random.mockRestore();
    }
    const id = mod!.newAnswerControlId(NOW);
    expect(id).toBe(`RB${NOW.getTime().toString(36).toUpperCase()}0001`);
  });
});

describe('a ZRC layout with a gap (the layout is data)', () => {
  it('the fields the layout skips are written empty, in place, and trailing empties are dropped', () => {
    let mod: typeof AnswerModule | undefined;
    jest.isolateModules(() => {
      jest.doMock('../../lib/hl7/answer-profile', () => {
        const actual = jest.requireActual<typeof ProfileModule>('../../lib/hl7/answer-profile');
        const keep = (n: number) => actual.ZRC_FIELDS.find((f) => f.field === n)!;
        return { ...actual, ZRC_FIELDS: [keep(1), keep(2), keep(4), keep(17)] };
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require('../../lib/hl7/answer');
    });
    jest.dontMock('../../lib/hl7/answer-profile');
    const ok = mod!.buildAnswer({ admission: A01, idb: IDB_OK }, { now: NOW, controlId: 'RB1' });
    expect(lines(ok.text)[4]).toBe('ZRC|IDB|OK||0077554321');
    const ko = mod!.buildAnswer({ admission: A01, idb: { ...IDB_KO, reason: 'Droits fermés' } }, { now: NOW, controlId: 'RB1' });
    expect(lines(ko.text)[4]).toBe('ZRC|IDB|KO||0077554321|||||||||||||Droits fermés');
  });
});

/** The local HL7 timestamp of an ISO date-time (what the answer writes). */
function hl7Local(iso: string): string {
  const d = new Date(Date.parse(iso));
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}
