/**
 * Schema 3 (the ROC dossier record and its query columns) on a journal written by the previous
 * version (schema 2): the file opens, its `dossiers` rows (putDossier entries) and exchanges stay
 * readable, the new columns and the engagement index exist, and dossier records can be saved,
 * listed and found next to the old rows.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';
import { SCHEMA_VERSION } from '../../lib/store/sqlite/schema';
import { dossier } from './dossier-fixtures';

/** The schema of the previous version as it shipped (lib/store/sqlite/schema.ts, SCHEMA + SCHEMA_V2_INDEXES, version 2). */
const V2_SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS inbound (
    id INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    channel TEXT NOT NULL,
    sending_app TEXT,
    sending_facility TEXT,
    control_id TEXT,
    event TEXT,
    charset TEXT,
    okey TEXT,
    size INTEGER NOT NULL,
    dedup TEXT UNIQUE,
    duplicate_of INTEGER,
    resend_of INTEGER,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    raw BLOB NOT NULL,
    purged_at INTEGER
  );
  CREATE INDEX IF NOT EXISTS inbound_state ON inbound (state, id);
  CREATE INDEX IF NOT EXISTS inbound_okey ON inbound (okey, id);
  CREATE INDEX IF NOT EXISTS inbound_received ON inbound (received_at);
  CREATE TABLE IF NOT EXISTS held_keys (
    okey TEXT PRIMARY KEY,
    failed_id INTEGER NOT NULL,
    since INTEGER NOT NULL,
    reason TEXT
  );
  CREATE TABLE IF NOT EXISTS outbound (
    id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    okey TEXT,
    inbound_id INTEGER,
    created_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER,
    acked_at INTEGER,
    payload BLOB NOT NULL,
    answer_key TEXT,
    purged_at INTEGER
  );
  CREATE INDEX IF NOT EXISTS outbound_queue ON outbound (destination, state, id);
  CREATE INDEX IF NOT EXISTS outbound_okey ON outbound (destination, okey, id);
  CREATE TABLE IF NOT EXISTS dossiers (
    okey TEXT PRIMARY KEY,
    roc TEXT NOT NULL,
    engagements TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY,
    okey TEXT NOT NULL,
    service TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at INTEGER NOT NULL,
    engagement TEXT,
    detail TEXT
  );
  CREATE INDEX IF NOT EXISTS exchanges_okey ON exchanges (okey, id);


  CREATE UNIQUE INDEX IF NOT EXISTS outbound_answer_key ON outbound (destination, answer_key) WHERE answer_key IS NOT NULL;
  CREATE INDEX IF NOT EXISTS outbound_created ON outbound (created_at);
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-dossier-migration-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('migration of a schema-2 journal to schema 3', () => {
  it('keeps the existing dossiers rows and exchanges; dossier records work next to them', async () => {
    const file = path.join(dir, 'v2.sqlite');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(V2_SCHEMA);
    old.prepare("INSERT INTO meta (k, v) VALUES ('schema', '2')").run();
    const t = Date.parse('2026-11-10T10:00:00Z');
    old
      .prepare('INSERT INTO dossiers (okey, roc, engagements, updated_at) VALUES (?, ?, ?, ?)')
      .run('PV1-19:250100421', JSON.stringify({ idb: { statut: 'OK' }, clc: { statut: 'OK' } }), JSON.stringify(['ENG-2026-000123']), t);
    old
      .prepare(
        "INSERT INTO exchanges (okey, service, outcome, at, engagement) VALUES ('PV1-19:250100421', 'CLC', 'OK', ?, 'ENG-2026-000123')",
      )
      .run(t);
    old.close();

    const j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
    try {
      expect(await j.getDossier('PV1-19:250100421')).toEqual({
        orderingKey: 'PV1-19:250100421',
        roc: { idb: { statut: 'OK' }, clc: { statut: 'OK' } },
        engagements: ['ENG-2026-000123'],
        updatedAt: '2026-11-10T10:00:00.000Z',
      });
      expect((await j.exchanges('PV1-19:250100421')).map((x) => x.engagement)).toEqual(['ENG-2026-000123']);
      // the old row is not a record: not listed, not due, not counted
      expect(await j.loadDossier('PV1-19:250100421')).toBeUndefined();
      expect((await j.listDossiers()).items).toEqual([]);
      expect(await j.countDossiersByState()).toEqual({});

      const d = dossier('V2026110001', 'ENGAGE', {
        engagements: [
          { numero: 'ENG-2026-000481', factureNumero: 'F1', requestId: 'REQ-CLC-1', at: '2026-11-24T16:00:00.000Z', statut: 'VIVANT' },
        ],
      });
      await j.saveDossier(d, null);
      expect(await j.loadDossier(d.key)).toEqual(d);
      expect((await j.dossierByEngagement('ENG-2026-000481'))?.key).toBe(d.key);
      expect((await j.listDossiers({ etat: ['ENGAGE'] })).items.map((i) => i.key)).toEqual([d.key]);
      // a record saved under the old row's key keeps its legacy payload readable
      await j.saveDossier({ ...dossier('x', 'ADMIS'), key: 'PV1-19:250100421' });
      expect((await j.getDossier('PV1-19:250100421'))!.roc).toEqual({ idb: { statut: 'OK' }, clc: { statut: 'OK' } });
      expect((await j.loadDossier('PV1-19:250100421'))!.etat).toBe('ADMIS');
    } finally {
      await j.close();
    }
    const db = new Database(file, { readonly: true });
    expect((db.prepare("SELECT v FROM meta WHERE k = 'schema'").get() as { v: string }).v).toBe(String(SCHEMA_VERSION));
    // version 5: the answers of one message are found by index (message browser)
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'outbound_inbound'").get()).toBeTruthy();
    const cols = (db.prepare('PRAGMA table_info(dossiers)').all() as Array<{ name: string }>).map((c) => c.name);
    expect(cols).toEqual(
      expect.arrayContaining(['record', 'etat', 'numero_amc', 'finess', 'venue', 'date_entree', 'date_sortie', 'due_at', 'flagged']),
    );
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'dossiers'").all() as Array<{ name: string }>
    ).map((i) => i.name);
    expect(indexes).toEqual(expect.arrayContaining(['dossiers_updated', 'dossiers_etat', 'dossiers_amc', 'dossiers_due']));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('a journal from a newer version is refused', async () => {
    const file = path.join(dir, 'v9.sqlite');
    const old = new Database(file);
    old.exec(V2_SCHEMA);
    old.prepare("INSERT INTO meta (k, v) VALUES ('schema', '9')").run();
    old.close();
    expect(() => new SqliteJournal({ file, retentionDays: 0 })).toThrow(/newer/);
  });
});
