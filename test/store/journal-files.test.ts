/**
 * The journal file itself (lib/store/sqlite/schema.ts): created owner-only with its WAL and shared
 * memory (they hold patient data), an older file tightened, an in-memory journal leaves no file,
 * the schema version recorded, a newer file refused as a storage error.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';
import { SCHEMA_VERSION } from '../../lib/store/sqlite/schema';
import { adt } from './fixtures';

let dir: string;
const open: SqliteJournal[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-journal-files-'));
});
afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
  rmSync(dir, { recursive: true, force: true });
});
function journal(file: string): SqliteJournal {
  const j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
  open.push(j);
  return j;
}
const mode = (f: string) => statSync(f).mode & 0o777;

describe('the journal file', () => {
  it('a new journal: its folder 0700, the file, its WAL and shared memory 0600', async () => {
    const file = path.join(dir, 'data', 'roc', 'roc-journal.sqlite');
    const j = journal(file);
    await j.append(adt('FILE-1', '250100421'));
    expect(mode(path.dirname(file))).toBe(0o700);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f)).toBe(0o600);
  });

  it('an existing journal left readable by others (copied, restored) is tightened when opened, with its WAL', async () => {
    const file = path.join(dir, 'roc-journal.sqlite');
    const first = journal(file);
    await first.append(adt('FILE-2', '250100421'));
    await first.close();
    chmodSync(file, 0o644);
    writeFileSync(`${file}-wal`, ''); // a WAL left beside it, as a restore leaves it
    chmodSync(`${file}-wal`, 0o644);
    journal(file);
    expect(mode(file)).toBe(0o600);
    expect(mode(`${file}-wal`)).toBe(0o600);
  });

  it('an in-memory journal leaves no file behind', () => {
    journal(':memory:');
    expect(existsSync(path.join(process.cwd(), ':memory:'))).toBe(false);
  });

  it('records its schema version; a file of a newer version is refused as a storage error', async () => {
    const file = path.join(dir, 'roc-journal.sqlite');
    await journal(file).close();
    const db = new Database(file);
    expect(db.prepare("SELECT v FROM meta WHERE k = 'schema'").get()).toEqual({ v: String(SCHEMA_VERSION) });
    db.prepare("UPDATE meta SET v = '99' WHERE k = 'schema'").run();
    db.close();
    expect(() => journal(file)).toThrow(
      expect.objectContaining({ code: 'STORAGE', message: `journal schema 99 is newer than this code (${SCHEMA_VERSION})` }),
    );
  });

  it("SQLite's automatic checkpoint is left at its default unless configured", () => {
    const j = journal(path.join(dir, 'default.sqlite'));
    expect((j as unknown as { db: Database.Database }).db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });
});
