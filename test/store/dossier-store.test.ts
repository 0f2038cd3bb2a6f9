/**
 * The ROC dossier in the SQLite journal: the whole record round-trips, optimistic concurrency
 * (CONFLICT), lookup by engagement number, the list's filters and keyset pages (stable while rows
 * change between pages), the due query (re-checks, IDB renewals of open stays, stale requests in
 * flight; closed stays and closed dossiers never due) and the count per state.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mergeAdmission, recordExchange, type DossierRecord } from '../../lib/dossier/dossier';
import { dossierDueAt } from '../../lib/store/dossier-columns';
import { SqliteJournal } from '../../lib/store/sqlite';
import { admission, facture, result } from '../dossier/fixtures';
import { AMC_MUTUELLE, AMC_PREVOYANCE, FINESS, dossier } from './dossier-fixtures';

let dir: string;
const open: SqliteJournal[] = [];
/** A journal whose clock advances 1 s at every read of it (distinct updated_at), unless `fixed`. */
function journal(options: { file?: string; fixed?: boolean; inFlightGraceMs?: number } = {}): SqliteJournal {
  let t = Date.parse('2026-11-25T10:00:00Z');
  const j = new SqliteJournal({
    file: options.file ?? path.join(dir, 'journal.sqlite'),
    retentionDays: 0,
    purgeIntervalMs: 0,
    inFlightGraceMs: options.inFlightGraceMs,
    now: () => (options.fixed ? t : (t += 1000)),
  });
  open.push(j);
  return j;
}
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-dossier-store-'));
});
afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A dossier as the domain builds it: admitted, rights OK, invoice, engagement. */
function engaged(numero = 'ENG-2026-000481'): DossierRecord {
  let d = mergeAdmission(undefined, admission('A01'), '2026-11-20T08:30:00.000Z').dossier;
  d = recordExchange(d, result('idb', 'OK', { dateValidite: '2026-11-30' }), '2026-11-20T08:30:02.000Z').dossier;
  d = { ...d, etat: 'FACTURE_RECUE', facture: facture() };
  d = recordExchange(d, result('clc', 'OK', { engagement: { numero } }), '2026-11-24T16:00:00.000Z').dossier;
  return { ...d, etat: 'ENGAGE' };
}

describe('saveDossier / loadDossier', () => {
  it('keeps the whole record, across a reopen; the list summary carries no identity', async () => {
    const file = path.join(dir, 'rt.sqlite');
    const d = engaged();
    expect(d.identite.nir).toBeTruthy();
    const j = journal({ file });
    await j.saveDossier(d);
    expect(await j.loadDossier(d.key)).toEqual(d);
    expect(await j.loadDossier(`${FINESS}/V/INCONNUE`)).toBeUndefined();
    await j.close();
    const j2 = journal({ file });
    expect(await j2.loadDossier(d.key)).toEqual(d);
    const { items } = await j2.listDossiers();
    expect(items).toEqual([
      {
        key: d.key,
        etat: 'ENGAGE',
        numeroAmc: '0000123456',
        finess: FINESS,
        venue: 'V2026110001',
        dateEntree: '2026-11-20',
        updatedAt: expect.any(String),
        flags: [],
        engagements: [{ numero: 'ENG-2026-000481', statut: 'VIVANT' }],
      },
    ]);
    const text = JSON.stringify(items);
    for (const v of Object.values(d.identite)) expect(text).not.toContain(String(v));
  });

  it('refuses a record without key, state or majLe (BAD_INPUT), stores nothing', async () => {
    const j = journal();
    const d = dossier('V2026110002');
    await expect(j.saveDossier({ ...d, key: '' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(j.saveDossier({ ...d, etat: undefined as never })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(j.saveDossier({ ...d, majLe: undefined as never })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await j.countDossiersByState()).toEqual({});
  });
});

describe('optimistic concurrency', () => {
  it('rejects with CONFLICT when the stored majLe is not the expected one, and keeps the stored record', async () => {
    const j = journal();
    const v1 = dossier('V2026110003', 'ADMIS', {}, '2026-11-20T08:30:00.000Z');
    await j.saveDossier(v1, null); // null: must be new
    const loaded = (await j.loadDossier(v1.key))!;
    const v2 = { ...loaded, etat: 'DROITS_OK' as const, majLe: '2026-11-20T08:30:02.000Z' };
    await j.saveDossier(v2, loaded.majLe);
    // a second writer that loaded v1 too
    const stale = { ...loaded, etat: 'SANS_AMC' as const, majLe: '2026-11-20T08:30:03.000Z' };
    await expect(j.saveDossier(stale, loaded.majLe)).rejects.toMatchObject({ name: 'JournalError', code: 'CONFLICT' });
    await expect(j.saveDossier(stale, null)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await j.loadDossier(v1.key)).toEqual(v2);
    // no expectation: last write wins
    await j.saveDossier(stale);
    expect((await j.loadDossier(v1.key))!.etat).toBe('SANS_AMC');
    // expecting a version of a record that does not exist
    await expect(j.saveDossier(dossier('V2026110004'), '2026-11-20T08:30:00.000Z')).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await j.loadDossier(`${FINESS}/V/V2026110004`)).toBeUndefined();
  });

  it('two saves queued in the same turn from the same loaded version: exactly one wins', async () => {
    const j = journal();
    const v1 = dossier('V2026110005', 'ADMIS');
    await j.saveDossier(v1);
    const a = j.saveDossier({ ...v1, etat: 'DROITS_OK', majLe: '2026-11-20T09:00:00.000Z' }, v1.majLe);
    const b = j.saveDossier({ ...v1, etat: 'DROITS_KO', majLe: '2026-11-20T09:00:01.000Z' }, v1.majLe);
    const r = await Promise.allSettled([a, b]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected']);
    expect((await j.loadDossier(v1.key))!.etat).toBe('DROITS_OK');
  });
});

describe('dossierByEngagement', () => {
  it('finds the dossier by its engagement number, forgets a number the record no longer holds', async () => {
    const j = journal();
    const d = engaged('ENG-2026-000481');
    await j.saveDossier(d);
    await j.saveDossier(dossier('V2026110006'));
    expect((await j.dossierByEngagement('ENG-2026-000481'))?.key).toBe(d.key);
    expect(await j.dossierByEngagement('ENG-2026-999999')).toBeUndefined();
    await j.saveDossier({ ...d, engagements: [{ ...d.engagements[0], numero: 'ENG-2026-000482' }], majLe: '2026-11-25T08:00:00.000Z' });
    expect(await j.dossierByEngagement('ENG-2026-000481')).toBeUndefined();
    expect((await j.dossierByEngagement('ENG-2026-000482'))?.key).toBe(d.key);
  });

  it('the same number in two dossiers (two AMC): the live engagement first', async () => {
    const j = journal();
    const a = engaged('ENG-0001');
    const cancelled = { ...a, key: `${FINESS}/V/V2026110007`, engagements: [{ ...a.engagements[0], statut: 'ANNULE' as const }] };
    await j.saveDossier(a);
    await j.saveDossier(cancelled); // stored later
    expect((await j.dossierByEngagement('ENG-0001'))?.key).toBe(a.key);
  });
});

describe('listDossiers', () => {
  async function fill(j: SqliteJournal): Promise<void> {
    const flag = [{ code: 'CONTRADICTION' as const, motif: 'réponse contradictoire', at: '2026-11-21T10:00:00.000Z' }];
    await j.saveDossier(dossier('V01', 'DROITS_OK'));
    await j.saveDossier(dossier('V02', 'ENGAGE', { sejour: { dateEntree: '2026-11-02' } }));
    await j.saveDossier(dossier('V03', 'A_TRAITER_MANUELLEMENT', { drapeaux: flag }));
    await j.saveDossier(dossier('V04', 'DROITS_OK', { couverture: { numeroAmc: AMC_PREVOYANCE } }));
    await j.saveDossier(dossier('V05', 'ANNULE', { sejour: { dateEntree: '2026-10-30', dateSortie: '2026-10-31' } }));
    await j.saveDossier({ ...dossier('X', 'SANS_AMC', { couverture: undefined }), key: `${FINESS}/N/NDA2026000999`, keySource: 'PID-18' });
  }
  const keys = (p: { items: Array<{ key: string }> }) => p.items.map((i) => i.key.split('/').pop());

  it('filters by state, AMC, entry dates, venue or NDA, flags; most recently stored first', async () => {
    const j = journal();
    await fill(j);
    expect(keys(await j.listDossiers())).toEqual(['NDA2026000999', 'V05', 'V04', 'V03', 'V02', 'V01']);
    expect(keys(await j.listDossiers({ etat: ['DROITS_OK'] }))).toEqual(['V04', 'V01']);
    expect(keys(await j.listDossiers({ etat: ['ENGAGE', 'ANNULE'] }))).toEqual(['V05', 'V02']);
    expect(keys(await j.listDossiers({ etat: [] }))).toEqual([]);
    expect(keys(await j.listDossiers({ numeroAmc: AMC_PREVOYANCE }))).toEqual(['V04']);
    expect(keys(await j.listDossiers({ numeroAmc: AMC_MUTUELLE, etat: ['DROITS_OK'] }))).toEqual(['V01']);
    expect(keys(await j.listDossiers({ from: '2026-11-01', to: '2026-11-02' }))).toEqual(['V02']);
    expect(keys(await j.listDossiers({ to: '2026-10-31' }))).toEqual(['V05']);
    expect(keys(await j.listDossiers({ from: '2026-11-20' }))).toEqual(['NDA2026000999', 'V04', 'V03', 'V01']);
    expect(keys(await j.listDossiers({ venue: 'V03' }))).toEqual(['V03']);
    expect(keys(await j.listDossiers({ venue: 'NDA2026000999' }))).toEqual(['NDA2026000999']);
    expect(keys(await j.listDossiers({ flagged: true }))).toEqual(['V03']);
    expect((await j.listDossiers({ flagged: true })).items[0].flags).toEqual(['CONTRADICTION']);
    expect(keys(await j.listDossiers({ flagged: false }))).toEqual(['NDA2026000999', 'V05', 'V04', 'V02', 'V01']);
    expect((await j.listDossiers({ venue: 'V05' })).items[0]).toMatchObject({ dateEntree: '2026-10-30', dateSortie: '2026-10-31' });
  });

  it('a legacy putDossier entry is not a dossier record: not listed, not loaded, not counted', async () => {
    const j = journal();
    await fill(j);
    await j.putDossier('PV1-19:250100421', { venue: { numero: '250100421' } }, 'ENG-LEGACY');
    expect((await j.listDossiers()).items).toHaveLength(6);
    expect(await j.loadDossier('PV1-19:250100421')).toBeUndefined();
    expect(await j.dossierByEngagement('ENG-LEGACY')).toBeUndefined();
    expect(Object.values(await j.countDossiersByState()).reduce((a, b) => a + b)).toBe(6);
  });

  it('refuses a cursor it did not give, a bad limit, a bad date (BAD_INPUT); caps the page at 500', async () => {
    const j = journal();
    await fill(j);
    await expect(j.listDossiers({ after: 'nimportequoi' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(j.listDossiers({ limit: 0 })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(j.listDossiers({ from: '20/11/2026' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    for (let i = 0; i < 520; i++) await j.saveDossier(dossier(`W${String(i).padStart(4, '0')}`));
    expect((await j.listDossiers({ limit: 10_000 })).items).toHaveLength(500);
    expect((await j.listDossiers()).items).toHaveLength(50);
  });

  it('pages by keyset: every dossier exactly once, also when they share the same updated_at', async () => {
    for (const fixed of [false, true]) {
      const j = journal({ file: path.join(dir, `pages-${fixed}.sqlite`), fixed });
      const all: string[] = [];
      for (let i = 0; i < 123; i++) all.push(`V${String(i).padStart(4, '0')}`);
      await Promise.all(all.map((v) => j.saveDossier(dossier(v, i(v) % 3 === 0 ? 'ENGAGE' : 'DROITS_OK'))));
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const p = await j.listDossiers({ limit: 25, after });
        seen.push(...keys(p).map(String));
        after = p.next;
        pages++;
      } while (after);
      expect(pages).toBe(5);
      expect(seen.slice().sort()).toEqual(all);
      expect(new Set(seen).size).toBe(123);
      // filtered pages too
      const engaged: string[] = [];
      after = undefined;
      do {
        const p = await j.listDossiers({ etat: ['ENGAGE'], limit: 7, after });
        engaged.push(...keys(p).map(String));
        after = p.next;
      } while (after);
      expect(engaged.sort()).toEqual(all.filter((v) => i(v) % 3 === 0));
    }
    function i(v: string): number {
      return Number(v.slice(1));
    }
  });

  it('keyset pages stay stable when dossiers are updated between pages: no repeat, no dossier skipped that was not updated', async () => {
    const j = journal();
    const all: string[] = [];
    for (let i = 0; i < 60; i++) {
      all.push(`V${String(i).padStart(4, '0')}`);
      await j.saveDossier(dossier(all[i]));
    }
    const p1 = await j.listDossiers({ limit: 20 });
    expect(keys(p1)).toEqual(all.slice(40).reverse());
    // between the pages: one dossier of page 1 and two of the pages to come are saved again
    for (const v of ['V0045', 'V0030', 'V0005']) {
      const d = (await j.loadDossier(`${FINESS}/V/${v}`))!;
      await j.saveDossier({ ...d, etat: 'ENGAGE', majLe: '2026-11-25T12:00:00.000Z' }, d.majLe);
    }
    const seen = keys(p1).map(String);
    let after = p1.next;
    while (after) {
      const p = await j.listDossiers({ limit: 20, after });
      seen.push(...keys(p).map(String));
      after = p.next;
    }
    expect(new Set(seen).size).toBe(seen.length); // nothing twice
    const untouched = all.filter((v) => !['V0030', 'V0005'].includes(v));
    expect(seen.slice().sort()).toEqual(untouched); // the two updated ahead of the cursor show on the next first page
    expect(keys(await j.listDossiers({ limit: 3 }))).toEqual(['V0005', 'V0030', 'V0045']);
  });
});

describe('dueDossiers', () => {
  const T = (s: string) => new Date(s);

  it('a scheduled re-check is due at its date, not before; not while its service is in flight', async () => {
    const j = journal();
    const d = dossier('V11', 'A_REVERIFIER', { reverification: { service: 'idb', tentatives: 1, prochaine: '2026-11-25T10:05:00.000Z' } });
    await j.saveDossier(d);
    expect(await j.dueDossiers(T('2026-11-25T10:04:59.999Z'), 10)).toEqual([]);
    expect(await j.dueDossiers(T('2026-11-25T10:05:00.000Z'), 10)).toEqual([d]);
    const asked = { ...d, enCours: { idb: { requestId: 'REQ-IDB-2', at: '2026-11-25T10:05:01.000Z' } } };
    await j.saveDossier(asked);
    expect(await j.dueDossiers(T('2026-11-25T10:06:00.000Z'), 10)).toEqual([]);
  });

  it('an IDB renewal is due the day after the validity date while the stay is open; never once the patient left before', async () => {
    const j = journal();
    const open = dossier('V12', 'DROITS_OK', { idbValidite: '2026-11-30' });
    const left = dossier('V13', 'DROITS_OK', { idbValidite: '2026-11-30', sejour: { dateEntree: '2026-11-20', dateSortie: '2026-11-27' } });
    const leftAfter = dossier('V14', 'DROITS_OK', {
      idbValidite: '2026-11-30',
      sejour: { dateEntree: '2026-11-20', dateSortie: '2026-12-03' },
    });
    await j.saveDossier(open);
    await j.saveDossier(left);
    await j.saveDossier(leftAfter);
    expect(await j.dueDossiers(T('2026-11-30T23:59:59.999Z'), 10)).toEqual([]);
    expect((await j.dueDossiers(T('2026-12-01T00:00:00.000Z'), 10)).map((d) => d.key.split('/').pop())).toEqual(['V12', 'V14']);
    expect((await j.dueDossiers(T('2027-06-01T00:00:00.000Z'), 10)).map((d) => d.key.split('/').pop())).toEqual(['V12', 'V14']);
    // the discharge arrives: no longer due
    await j.saveDossier({ ...open, sejour: { ...open.sejour, dateSortie: '2026-11-28' } });
    expect((await j.dueDossiers(T('2026-12-01T00:00:00.000Z'), 10)).map((d) => d.key.split('/').pop())).toEqual(['V14']);
  });

  it('closed dossiers (ANNULE, PAYE) and states that take no clock event are never due', async () => {
    const j = journal();
    const when = {
      idbValidite: '2026-11-30',
      reverification: { service: 'idb' as const, tentatives: 2, prochaine: '2026-11-25T10:05:00.000Z' },
    };
    for (const [v, etat] of [
      ['V21', 'ANNULE'],
      ['V22', 'PAYE'],
      ['V23', 'FACTURE_AMC'],
    ] as const) {
      await j.saveDossier(dossier(v, etat, { ...when, enCours: { idb: { requestId: 'R', at: '2026-11-25T09:00:00.000Z' } } }));
    }
    await j.saveDossier(dossier('V24', 'FACTURE_AMC', when));
    expect(await j.dueDossiers(T('2027-01-01T00:00:00.000Z'), 10)).toEqual([
      expect.objectContaining({ key: `${FINESS}/V/V23` }), // its request in flight for too long
    ]);
  });

  it('a request in flight longer than the grace is due again; oldest due first; the limit is honoured', async () => {
    const j = journal({ inFlightGraceMs: 10 * 60_000 });
    const stale = dossier('V31', 'ADMIS', { enCours: { idb: { requestId: 'REQ-IDB-31', at: '2026-11-25T09:00:00.000Z' } } });
    const recheck = dossier('V32', 'ENGAGE', {
      reverification: { service: 'del', requestId: 'REQ-DEL-32', tentatives: 3, prochaine: '2026-11-25T09:05:00.000Z' },
    });
    const renewal = dossier('V33', 'DEVIS', { idbValidite: '2026-11-24' });
    await j.saveDossier(recheck);
    await j.saveDossier(stale);
    await j.saveDossier(renewal);
    const due = await j.dueDossiers(T('2026-11-25T09:30:00.000Z'), 10);
    // renewal due 11-25 00:00, re-check 09:05, stale request 09:00 + 10 min
    expect(due.map((d) => d.key.split('/').pop())).toEqual(['V33', 'V32', 'V31']);
    expect((await j.dueDossiers(T('2026-11-25T09:30:00.000Z'), 2)).map((d) => d.key.split('/').pop())).toEqual(['V33', 'V32']);
    expect((await j.dueDossiers(T('2026-11-25T09:09:59.999Z'), 10)).map((d) => d.key.split('/').pop())).toEqual(['V33', 'V32']);
  });

  it('computes due_at as documented', () => {
    const base = dossier('V41', 'DROITS_OK', { idbValidite: '2026-11-30' });
    expect(dossierDueAt(base)).toBe(Date.parse('2026-12-01T00:00:00Z'));
    expect(dossierDueAt({ ...base, sejour: { dateSortie: '2026-11-30' } })).toBeUndefined();
    expect(dossierDueAt({ ...base, sejour: { dateSortie: '2026-12-01' } })).toBe(Date.parse('2026-12-01T00:00:00Z'));
    expect(dossierDueAt({ ...base, etat: 'ANNULE' })).toBeUndefined();
    expect(dossierDueAt({ ...base, idbValidite: undefined })).toBeUndefined();
    expect(dossierDueAt({ ...base, enCours: { sim: { requestId: 'S', at: '2026-11-25T10:00:00.000Z' } } }, 60_000)).toBe(
      Date.parse('2026-11-25T10:01:00.000Z'),
    );
  });

  it('refuses a bad date or limit', async () => {
    const j = journal();
    await expect(j.dueDossiers(new Date('x'), 10)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(j.dueDossiers(new Date(), 0)).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});

describe('countDossiersByState', () => {
  it('counts the records per state, following their changes', async () => {
    const j = journal();
    await j.saveDossier(dossier('V51', 'ADMIS'));
    await j.saveDossier(dossier('V52', 'ADMIS'));
    await j.saveDossier(dossier('V53', 'ENGAGE'));
    expect(await j.countDossiersByState()).toEqual({ ADMIS: 2, ENGAGE: 1 });
    await j.saveDossier(dossier('V52', 'DROITS_OK'));
    expect(await j.countDossiersByState()).toEqual({ ADMIS: 1, DROITS_OK: 1, ENGAGE: 1 });
  });
});
