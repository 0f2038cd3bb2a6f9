/**
 * The journal file: where it lives, who may read it, its tables and their migrations.
 *
 * `openDatabase` creates the file (0600, in a 0700 directory it creates), opens it in WAL mode with
 * the chosen `synchronous`, creates the tables, migrates an older schema in place and refuses a
 * newer one. It prepares no statement of the parts that use the tables (inbound.ts, outbound.ts,
 * dossier.ts, retention.ts).
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'fs';
import * as path from 'path';
import { JournalError } from '../journal';

/** Journal files (database, WAL, shared memory) hold patient data: owner only. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Creates the database file 0600 (SQLite gives its -wal and -shm the database file's mode) and chmods existing ones. */
function secureFiles(file: string, create: boolean): void {
  if (create && !existsSync(file)) closeSync(openSync(file, 'a', FILE_MODE));
  if (process.platform === 'win32') return;
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      chmodSync(f, FILE_MODE);
    } catch {
      // absent (or not ours): nothing to tighten
    }
  }
}

/**
 * 1: the first schema. 2: outbound.answer_key (idempotent answers), purged_at on inbound and
 * outbound (retention), outbound_created index. 3: the ROC dossier record (lib/dossier) in
 * `dossiers.record` with its indexed columns, and the `dossier_engagements` index table. 4: billing
 * (issue 10): `billing_counters` (gapless DRE-ES numbering per emitter + AMC), `billing_files`,
 * `billing_invoices`, `rsp_files`. 5: index outbound_inbound (the answers of one inbound message,
 * for the message browser). An older file is migrated in place when opened (its rows stay).
 */
export const SCHEMA_VERSION = 5;

const SCHEMA = `
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
  updated_at INTEGER NOT NULL,
  record TEXT,
  maj_le TEXT,
  etat TEXT,
  numero_amc TEXT,
  finess TEXT,
  venue TEXT,
  date_entree TEXT,
  date_sortie TEXT,
  due_at INTEGER,
  flagged INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dossier_engagements (
  numero TEXT NOT NULL,
  okey TEXT NOT NULL,
  statut TEXT NOT NULL,
  PRIMARY KEY (numero, okey)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dossier_engagements_okey ON dossier_engagements (okey);
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
CREATE TABLE IF NOT EXISTS billing_counters (
  kind TEXT NOT NULL,
  emitter TEXT NOT NULL,
  amc TEXT NOT NULL,
  last INTEGER NOT NULL,
  PRIMARY KEY (kind, emitter, amc)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS billing_files (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  emitter TEXT NOT NULL,
  amc TEXT NOT NULL,
  numero INTEGER NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  invoice_count INTEGER NOT NULL,
  line_count INTEGER NOT NULL,
  amc_cents INTEGER NOT NULL,
  total_cents INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  ack_at INTEGER,
  reason TEXT,
  bytes BLOB NOT NULL,
  UNIQUE (kind, emitter, amc, numero)
);
CREATE INDEX IF NOT EXISTS billing_files_state ON billing_files (state, id);
CREATE TABLE IF NOT EXISTS billing_invoices (
  okey TEXT NOT NULL,
  numero TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT,
  finess TEXT,
  amc TEXT,
  amo_paid_at TEXT,
  amo_cents INTEGER,
  engagement TEXT,
  amc_cents INTEGER,
  invoice_date TEXT,
  file_id INTEGER,
  file_numero INTEGER,
  lot_number INTEGER,
  sent_at TEXT,
  ack_at TEXT,
  settled_at TEXT,
  paid_cents INTEGER,
  difference_cents INTEGER,
  payment_ref TEXT,
  reason_code TEXT,
  reason_label TEXT,
  reason_action TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (okey, numero)
);
CREATE INDEX IF NOT EXISTS billing_invoices_state ON billing_invoices (state, amc);
CREATE INDEX IF NOT EXISTS billing_invoices_match ON billing_invoices (finess, amc, numero);
CREATE INDEX IF NOT EXISTS billing_invoices_file ON billing_invoices (file_id);
CREATE INDEX IF NOT EXISTS billing_invoices_sent ON billing_invoices (sent_at) WHERE sent_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS rsp_files (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  amc TEXT,
  numero INTEGER,
  state TEXT NOT NULL,
  reason TEXT,
  received_at INTEGER NOT NULL,
  returns INTEGER NOT NULL DEFAULT 0,
  bytes BLOB NOT NULL
);
`;

/** Run after SCHEMA (and after the version-1 → 2 column additions): what needs the new columns. */
const SCHEMA_V2_INDEXES = `
CREATE UNIQUE INDEX IF NOT EXISTS outbound_answer_key ON outbound (destination, answer_key) WHERE answer_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbound_created ON outbound (created_at);
`;

/**
 * Version 3: the dossier record's query indexes (after the version-2 → 3 column additions). Every
 * list order is (updated_at, okey) read backwards, so a filter with its own index still pages by
 * keyset without a sort; legacy rows (record NULL, etat NULL) stay out of all but the first.
 */
const SCHEMA_V3_INDEXES = `
CREATE INDEX IF NOT EXISTS dossiers_updated ON dossiers (updated_at, okey);
CREATE INDEX IF NOT EXISTS dossiers_etat ON dossiers (etat, updated_at, okey) WHERE etat IS NOT NULL;
CREATE INDEX IF NOT EXISTS dossiers_amc ON dossiers (numero_amc, updated_at, okey) WHERE numero_amc IS NOT NULL;
CREATE INDEX IF NOT EXISTS dossiers_venue ON dossiers (venue) WHERE venue IS NOT NULL;
CREATE INDEX IF NOT EXISTS dossiers_entree ON dossiers (date_entree) WHERE date_entree IS NOT NULL;
CREATE INDEX IF NOT EXISTS dossiers_flagged ON dossiers (updated_at, okey) WHERE flagged = 1;
CREATE INDEX IF NOT EXISTS dossiers_due ON dossiers (due_at, okey) WHERE due_at IS NOT NULL;
`;

/** Version 5: the message browser finds the answers of one message without scanning outbound. */
const SCHEMA_V5_INDEXES = `
CREATE INDEX IF NOT EXISTS outbound_inbound ON outbound (inbound_id) WHERE inbound_id IS NOT NULL;
`;

/** Columns version 3 adds to `dossiers` (a version-1 or -2 file has only okey, roc, engagements, updated_at). */
const DOSSIER_V3_COLUMNS: ReadonlyArray<[string, string]> = [
  ['record', 'TEXT'],
  ['maj_le', 'TEXT'],
  ['etat', 'TEXT'],
  ['numero_amc', 'TEXT'],
  ['finess', 'TEXT'],
  ['venue', 'TEXT'],
  ['date_entree', 'TEXT'],
  ['date_sortie', 'TEXT'],
  ['due_at', 'INTEGER'],
  ['flagged', 'INTEGER NOT NULL DEFAULT 0'],
];

export interface DatabaseOptions {
  synchronous: 'FULL' | 'NORMAL';
  /** WAL pages before an automatic checkpoint (SQLite default 1000 = 4 MiB). */
  autocheckpointPages?: number;
}

/** Version 1 → 2 → 3 → 4 → 5: new columns and tables added in place (a journal written by a previous version opens, its rows kept). */
function migrate(db: Database.Database): void {
  const cols = (t: string) => new Set((db.prepare(`PRAGMA table_info(${t})`).all() as Array<{ name: string }>).map((c) => c.name));
  // IMMEDIATE: a second process opening the same old file at the same time waits, then sees the columns.
  db.transaction(() => {
    const inbound = cols('inbound');
    const outbound = cols('outbound');
    if (!inbound.has('purged_at')) db.exec('ALTER TABLE inbound ADD COLUMN purged_at INTEGER');
    if (!outbound.has('answer_key')) db.exec('ALTER TABLE outbound ADD COLUMN answer_key TEXT');
    if (!outbound.has('purged_at')) db.exec('ALTER TABLE outbound ADD COLUMN purged_at INTEGER');
    db.exec(SCHEMA_V2_INDEXES);
    const dossiers = cols('dossiers');
    for (const [name, type] of DOSSIER_V3_COLUMNS) {
      if (!dossiers.has(name)) db.exec(`ALTER TABLE dossiers ADD COLUMN ${name} ${type}`);
    }
    db.exec(SCHEMA_V3_INDEXES);
    db.exec(SCHEMA_V5_INDEXES);
  }).immediate();
}

/** Opens (creating if needed) the journal file with its schema up to date; closed again if that fails. */
export function openDatabase(file: string, options: DatabaseOptions): Database.Database {
  const onDisk = file !== ':memory:' && !file.startsWith('file:');
  if (onDisk) {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: DIR_MODE });
    secureFiles(file, true);
  }
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous}`);
    db.pragma('busy_timeout = 5000');
    if (options.autocheckpointPages !== undefined) {
      db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(options.autocheckpointPages))}`);
    }
    db.pragma('foreign_keys = OFF');
    // Freed space is overwritten with zeros: the old copy of a row (each state change rewrites
    // it) and an erased raw message do not linger in free pages. In-page cells cost a memset.
    db.pragma('secure_delete = ON');
    db.exec(SCHEMA);
    const v = db.prepare('SELECT v FROM meta WHERE k = ?').get('schema') as { v: string } | undefined;
    if (v && Number(v.v) > SCHEMA_VERSION) {
      throw new JournalError(`journal schema ${v.v} is newer than this code (${SCHEMA_VERSION})`, 'STORAGE');
    }
    migrate(db);
    if (!v) db.prepare('INSERT INTO meta (k, v) VALUES (?, ?)').run('schema', String(SCHEMA_VERSION));
    else db.prepare('UPDATE meta SET v = ? WHERE k = ?').run(String(SCHEMA_VERSION), 'schema');
    if (onDisk) secureFiles(file, false); // the -wal and -shm the open created
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}
