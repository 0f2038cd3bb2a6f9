/**
 * The dossier side of the SQLite journal (lib/store/sqlite/dossier.ts) at its edges: what it
 * refuses and with which message (the ops page and the node status show them), the exact shape of
 * what it returns (absent fields stay absent), the limits of its pages and of the due query, the
 * in-flight grace setting, and the engagements it indexes.
 */
import { SqliteJournal } from '../../lib/store/sqlite';
import type { DossierRecord } from '../../lib/dossier/dossier';
import { AMC_MUTUELLE, FINESS, dossier } from './dossier-fixtures';

const open: SqliteJournal[] = [];
/** An in-memory journal whose clock advances 1 s at every read of it. */
function journal(options: { inFlightGraceMs?: number } = {}): SqliteJournal {
  let t = Date.parse('2026-11-25T10:00:00Z');
  const j = new SqliteJournal({
    file: ':memory:',
    retentionDays: 0,
    purgeIntervalMs: 0,
    inFlightGraceMs: options.inFlightGraceMs,
    now: () => (t += 1000),
  });
  open.push(j);
  return j;
}
afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
});

const cursor = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');

describe('what the dossier store refuses, and its message', () => {
  it('putDossier: no ordering key, or a dossier that is not JSON', async () => {
    const j = journal();
    await expect(j.putDossier('', { etat: 'ADMIS' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'putDossier needs an ordering key',
    });
    await expect(j.putDossier('PV1-19:250100421', { montant: 10n })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'the dossier is not JSON-serialisable',
    });
    await expect(j.putDossier(42 as unknown as string, {})).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'orderingKey must be a string',
    });
  });

  it('recordExchange: the three fields it needs, a readable date, bounded texts', async () => {
    const j = journal();
    const need = { code: 'BAD_INPUT', message: 'an exchange needs orderingKey, service and outcome' };
    await expect(j.recordExchange(null as never)).rejects.toMatchObject(need);
    await expect(j.recordExchange({ orderingKey: 'PV1-19:250100421', service: 'idb' } as never)).rejects.toMatchObject(need);
    await expect(j.recordExchange({ orderingKey: 'PV1-19:250100421', outcome: 'OK' } as never)).rejects.toMatchObject(need);
    await expect(j.recordExchange({ service: 'idb', outcome: 'OK' } as never)).rejects.toMatchObject(need);
    await expect(j.recordExchange({ orderingKey: 'PV1-19:250100421', service: 'idb', outcome: 'OK', at: 'hier' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'exchange.at is not a valid date',
    });
    await expect(j.recordExchange({ orderingKey: 7 as never, service: 'idb', outcome: 'OK' })).rejects.toThrow(
      'orderingKey must be a string',
    );
    await expect(j.recordExchange({ orderingKey: 'PV1-19:250100421', service: 'i'.repeat(41), outcome: 'OK' })).rejects.toThrow(
      'service is longer than 40 characters',
    );
    await expect(j.recordExchange({ orderingKey: 'PV1-19:250100421', service: 'idb', outcome: 'O'.repeat(41) })).rejects.toThrow(
      'outcome is longer than 40 characters',
    );
    await expect(
      j.recordExchange({ orderingKey: 'PV1-19:250100421', service: 'clc', outcome: 'OK', engagement: 'E'.repeat(101) }),
    ).rejects.toThrow('engagement is longer than 100 characters');
  });

  it('saveDossier: a record, its key, state and majLe, a string expectedMajLe, JSON', async () => {
    const j = journal();
    const d = dossier('250100421');
    const bad = (message: string) => ({ code: 'BAD_INPUT', message });
    await expect(j.saveDossier(null as never)).rejects.toMatchObject(bad('saveDossier needs a dossier record'));
    await expect(j.saveDossier('750100125/V/250100421' as never)).rejects.toMatchObject(bad('saveDossier needs a dossier record'));
    await expect(j.saveDossier({ ...d, key: '' })).rejects.toMatchObject(bad('saveDossier: the record has no key'));
    await expect(j.saveDossier({ ...d, key: 12 as never })).rejects.toMatchObject(bad('dossier key must be a string'));
    await expect(j.saveDossier({ ...d, etat: '' as never })).rejects.toMatchObject(bad('saveDossier: the record has no state'));
    await expect(j.saveDossier({ ...d, etat: 3 as never })).rejects.toMatchObject(bad('saveDossier: the record has no state'));
    await expect(j.saveDossier({ ...d, majLe: undefined as never })).rejects.toMatchObject(bad('saveDossier: the record has no majLe'));
    await expect(j.saveDossier(d, 42 as never)).rejects.toMatchObject(bad('saveDossier: expectedMajLe must be a string or null'));
    const circular = { ...d } as DossierRecord & { self?: unknown };
    circular.self = circular;
    await expect(j.saveDossier(circular)).rejects.toMatchObject(bad('the dossier is not JSON-serialisable'));
    expect(await j.loadDossier(d.key)).toBeUndefined();
    await j.saveDossier(d, null); // null: "I loaded nothing", the dossier is new
    await expect(j.saveDossier({ ...d, etat: 'ENGAGE' }, '2020-01-01T00:00:00.000Z')).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'the dossier was changed since it was loaded (majLe differs)',
    });
  });

  it('listDossiers and dueDossiers: limits, states, dates, cursors', async () => {
    const j = journal();
    const bad = (message: string) => ({ code: 'BAD_INPUT', message });
    for (const limit of [0, 1.5, -3])
      await expect(j.listDossiers({ limit })).rejects.toMatchObject(bad('limit must be a positive integer'));
    for (const etat of ['ADMIS', ['ADMIS', 4]])
      await expect(j.listDossiers({ etat: etat as never })).rejects.toMatchObject(bad('etat must be a list of states'));
    await expect(j.listDossiers({ from: 20261120 as never })).rejects.toMatchObject(bad('from must be an ISO date'));
    await expect(j.listDossiers({ to: '20/11/2026' })).rejects.toMatchObject(bad('to must be an ISO date'));
    await expect(j.listDossiers({ numeroAmc: '0'.repeat(41) })).rejects.toMatchObject(bad('numeroAmc is longer than 40 characters'));
    await expect(j.listDossiers({ venue: '2'.repeat(101) })).rejects.toMatchObject(bad('venue is longer than 100 characters'));
    await expect(j.listDossiers({ numeroAmc: 12345678 as never })).rejects.toMatchObject(bad('numeroAmc must be a string'));
    await expect(j.listDossiers({ venue: 250100421 as never })).rejects.toMatchObject(bad('venue must be a string'));
    for (const after of [cursor({ t: 1 }), cursor([1, 'a', 2]), cursor([1.5, 'a']), cursor([1, 2]), 'pas-un-curseur'])
      await expect(j.listDossiers({ after })).rejects.toMatchObject(bad('listDossiers: the cursor is not one this journal gave'));
    await expect(j.dueDossiers(new Date('2026-13-45'), 10)).rejects.toMatchObject(bad('dueDossiers needs a valid date'));
    await expect(j.dueDossiers('2026-11-25' as never, 10)).rejects.toMatchObject(bad('dueDossiers needs a valid date'));
    for (const limit of [0, 2.5])
      await expect(j.dueDossiers(new Date(), limit)).rejects.toMatchObject(bad('limit must be a positive integer'));
  });
});

describe('what the dossier store returns', () => {
  it('putDossier gives back the entry it stored; a second engagement number is added once', async () => {
    const j = journal();
    const first = await j.putDossier('PV1-19:250100421', { etat: 'ENGAGE' }, 'ENG-2026-000117');
    expect(first).toStrictEqual({
      orderingKey: 'PV1-19:250100421',
      roc: { etat: 'ENGAGE' },
      engagements: ['ENG-2026-000117'],
      updatedAt: expect.any(String),
    });
    await j.putDossier('PV1-19:250100421', { etat: 'ENGAGE' }, 'ENG-2026-000117');
    const again = await j.putDossier('PV1-19:250100421', { etat: 'FACTURE_AMC' }, 'ENG-2026-000118');
    expect(again.engagements).toEqual(['ENG-2026-000117', 'ENG-2026-000118']);
    expect(await j.getDossier('PV1-19:250100421')).toStrictEqual(again);
  });

  it('an exchange without engagement or detail has neither; with them, both (detail bounded to 500)', async () => {
    const j = journal();
    await j.recordExchange({ orderingKey: 'PV1-19:250100421', service: 'idb', outcome: 'OK', at: '2026-11-25T09:00:00.000Z' });
    await j.recordExchange({
      orderingKey: 'PV1-19:250100421',
      service: 'clc',
      outcome: 'KO',
      engagement: 'ENG-2026-000117',
      detail: 'R'.repeat(600),
    });
    const [idb, clc] = await j.exchanges('PV1-19:250100421');
    expect(idb).toStrictEqual({
      id: expect.any(Number),
      orderingKey: 'PV1-19:250100421',
      service: 'idb',
      outcome: 'OK',
      at: '2026-11-25T09:00:00.000Z',
    });
    expect(clc).toMatchObject({ service: 'clc', outcome: 'KO', engagement: 'ENG-2026-000117' });
    expect(clc.detail).toHaveLength(500);
  });

  it('a summary without AMC, FINESS, venue or dates has none of those fields', async () => {
    const j = journal();
    const d = dossier('250100421', 'ADMIS', {
      key: 'PID-18:NDA2026000117',
      finessGeographique: undefined,
      couverture: undefined,
      sejour: { type: 'HOSPITALISATION' },
    });
    await j.saveDossier(d);
    const { items } = await j.listDossiers();
    expect(items).toStrictEqual([
      { key: 'PID-18:NDA2026000117', etat: 'ADMIS', updatedAt: expect.any(String), flags: [], engagements: [] },
    ]);
  });

  it('indexes the engagements that have a number; a malformed entry does not break the list', async () => {
    const j = journal();
    const d = dossier('250100422', 'ENGAGE', {
      engagements: [
        { numero: 'ENG-2026-000201', statut: 'ACCEPTE' },
        { numero: '', statut: 'ACCEPTE' },
        { statut: 'REFUSE' },
        null,
        { numero: 201, statut: 'ACCEPTE' },
        'ENG-2026-000202',
      ] as never,
    });
    await j.saveDossier(d);
    expect((await j.dossierByEngagement('ENG-2026-000201'))?.key).toBe(d.key);
    expect(await j.dossierByEngagement('')).toBeUndefined();
    expect(await j.dossierByEngagement('201')).toBeUndefined(); // a number is not an engagement number
    // the page lists the record's entries as they are, and does not break on the empty one
    expect((await j.listDossiers()).items[0].engagements.map((e) => e.numero)).toStrictEqual(['ENG-2026-000201', '', undefined, 201]);
    // the context read of older callers (getDossier) lists the indexed numbers only
    expect((await j.getDossier(d.key))?.engagements).toEqual(['ENG-2026-000201']);
  });

  it('flags that are not a list (a record written by hand) give no flags, and no error', async () => {
    const j = journal();
    await j.saveDossier(dossier('250100423', 'DROITS_OK', { drapeaux: 'CONTROLE' as never, engagements: 'ENG-1' as never }));
    expect((await j.listDossiers()).items[0]).toMatchObject({ flags: [], engagements: [] });
  });

  it('a page exactly full has no next cursor; a limit of 1 pages one by one', async () => {
    const j = journal();
    for (const v of ['250100431', '250100432', '250100433']) await j.saveDossier(dossier(v));
    expect((await j.listDossiers({ limit: 3 })).next).toBeUndefined();
    const one = await j.listDossiers({ limit: 1 });
    expect(one.items.map((i) => i.venue)).toEqual(['250100433']);
    expect((await j.listDossiers({ limit: 1, after: one.next })).items.map((i) => i.venue)).toEqual(['250100432']);
    expect(await j.listDossiers({ etat: [] })).toEqual({ items: [] });
  });

  it('filters by AMC, venue and admission day (a date-time counts for its day)', async () => {
    const j = journal();
    await j.saveDossier(dossier('250100441', 'DROITS_OK', { sejour: { type: 'HOSPITALISATION', dateEntree: '2026-11-19' } }));
    await j.saveDossier(dossier('250100442', 'DROITS_OK', { sejour: { type: 'HOSPITALISATION', dateEntree: '2026-11-20T08:30:00' } }));
    await j.saveDossier(
      dossier('250100443', 'DROITS_OK', { couverture: { numeroAmc: '0000999999', numeroAdherent: '1', typeConvention: 'IS' } }),
    );
    const venues = async (q: Parameters<SqliteJournal['listDossiers']>[0]) => (await j.listDossiers(q)).items.map((i) => i.venue).sort();
    expect(await venues({ from: '2026-11-20T10:00:00' })).toEqual(['250100442', '250100443']);
    expect(await venues({ to: '2026-11-19T23:00:00' })).toEqual(['250100441']);
    expect(await venues({ numeroAmc: AMC_MUTUELLE })).toEqual(['250100441', '250100442']);
    expect(await venues({ venue: '250100443' })).toEqual(['250100443']);
    expect(await venues({ venue: '' })).toEqual([]);
    expect((await j.listDossiers({ venue: '250100443' })).items[0]).toMatchObject({ finess: FINESS, numeroAmc: '0000999999' });
  });

  it('dueDossiers: the grace setting dates a request lost; a limit of 1 gives one', async () => {
    const lostAt = (graceMs?: number) => journal({ inFlightGraceMs: graceMs });
    const inFlight = dossier('250100451', 'ADMIS', { enCours: { idb: { requestId: 'REQ-IDB-451', at: '2026-11-25T09:00:00.000Z' } } });
    const short = lostAt(5 * 60_000);
    const byDefault = lostAt();
    for (const j of [short, byDefault]) {
      await j.saveDossier(inFlight);
      await j.saveDossier(
        dossier('250100452', 'ADMIS', { enCours: { idb: { requestId: 'REQ-IDB-452', at: '2026-11-25T09:01:00.000Z' } } }),
      );
    }
    const at = new Date('2026-11-25T09:07:00.000Z'); // 5 min of grace over for both, not the default 15
    expect((await short.dueDossiers(at, 10)).map((d) => d.key)).toEqual([inFlight.key, `${FINESS}/V/250100452`]);
    expect(await byDefault.dueDossiers(at, 10)).toEqual([]);
    expect((await short.dueDossiers(at, 1)).map((d) => d.key)).toEqual([inFlight.key]);
  });
});
