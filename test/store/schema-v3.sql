-- The journal schema version 3 as it shipped (lib/store/sqlite/schema.ts at 6d2fc0e: SCHEMA, SCHEMA_V2_INDEXES, SCHEMA_V3_INDEXES).

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

CREATE UNIQUE INDEX IF NOT EXISTS outbound_answer_key ON outbound (destination, answer_key) WHERE answer_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbound_created ON outbound (created_at);

CREATE INDEX IF NOT EXISTS dossiers_updated ON dossiers (updated_at, okey);
CREATE INDEX IF NOT EXISTS dossiers_etat ON dossiers (etat, updated_at, okey) WHERE etat IS NOT NULL;
CREATE INDEX IF NOT EXISTS dossiers_amc ON dossiers (numero_amc, updated_at, okey) WHERE numero_amc IS NOT NULL;
CREATE INDEX IF NOT EXISTS dossiers_venue ON dossiers (venue) WHERE venue IS NOT NULL;
CREATE INDEX IF NOT EXISTS dossiers_entree ON dossiers (date_entree) WHERE date_entree IS NOT NULL;
CREATE INDEX IF NOT EXISTS dossiers_flagged ON dossiers (updated_at, okey) WHERE flagged = 1;
CREATE INDEX IF NOT EXISTS dossiers_due ON dossiers (due_at, okey) WHERE due_at IS NOT NULL;
