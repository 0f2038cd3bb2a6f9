/**
 * The SQLite journal's options (lib/store/sqlite.ts), as the runtime settings and the nodes pass
 * them: what it refuses at construction and with which message (the runtime stops with it at
 * start), and that each accepted option reaches the file (synchronous, autocheckpoint) or the
 * behaviour it names (group-commit window, backoff, retention getter).
 */
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';
import { adt } from './fixtures';

let dir: string;
const open: SqliteJournal[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-journal-options-'));
});
afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
  rmSync(dir, { recursive: true, force: true });
});
function journal(options: Partial<ConstructorParameters<typeof SqliteJournal>[0]> = {}): SqliteJournal {
  const j = new SqliteJournal({ file: path.join(dir, 'roc-journal.sqlite'), retentionDays: 0, purgeIntervalMs: 0, ...options });
  open.push(j);
  return j;
}
const pragma = (j: SqliteJournal, name: string) =>
  (j as unknown as { db: { pragma(p: string, o: object): unknown } }).db.pragma(name, { simple: true });
const bad = (message: string) => expect.objectContaining({ code: 'BAD_INPUT', message });

describe('what the journal refuses at construction', () => {
  it('no file path', () => {
    for (const options of [undefined, {}, { file: '' }, { file: 42 }])
      expect(() => new SqliteJournal(options as never)).toThrow(bad('SqliteJournal needs a database file path'));
  });

  it('a synchronous mode other than FULL or NORMAL', () => {
    expect(() => journal({ synchronous: 'OFF' as never })).toThrow(bad('synchronous must be FULL or NORMAL'));
  });

  it('an in-flight grace that is not a number of ms ≥ 0; 0 is one', () => {
    for (const inFlightGraceMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, '900000'])
      expect(() => journal({ inFlightGraceMs: inFlightGraceMs as number })).toThrow(bad('inFlightGraceMs must be a number of ms ≥ 0'));
    expect(() => journal({ inFlightGraceMs: 0 })).not.toThrow();
  });
});

describe('each option reaches what it names', () => {
  it('synchronous FULL by default, NORMAL when asked; the WAL autocheckpoint', () => {
    expect(pragma(journal(), 'synchronous')).toBe(2); // FULL
    const n = journal({ file: path.join(dir, 'normal.sqlite'), synchronous: 'NORMAL', autocheckpointPages: 250 });
    expect(n.synchronous).toBe('NORMAL');
    expect(pragma(n, 'synchronous')).toBe(1);
    expect(pragma(n, 'wal_autocheckpoint')).toBe(250);
  });

  it('windowMs: two messages 10 ms apart share one commit', async () => {
    const j = journal({ windowMs: 60 });
    const a = j.append(adt('OPT-1', '250100421'));
    await new Promise((r) => setTimeout(r, 10));
    await Promise.all([a, j.append(adt('OPT-2', '250100422'))]);
    expect(j.stats.commits).toBe(1);
  });

  it('the backoff of answers: 1 s doubling by default, as configured otherwise', () => {
    expect([1, 2, 3].map((n) => journal().backoffMs(n))).toEqual([1000, 2000, 4000]);
    const k = journal({ file: path.join(dir, 'k.sqlite'), backoff: { baseMs: 200, factor: 3, maxMs: 1000 } });
    expect([1, 2, 3].map((n) => k.backoffMs(n))).toEqual([200, 600, 1000]);
  });

  it('retentionDays gives the retention in ms (0: keep forever)', () => {
    expect(journal({ retentionDays: 7 }).retentionMs).toBe(7 * 86_400_000);
    expect(journal({ file: path.join(dir, 'keep.sqlite'), retentionDays: 0 }).retentionMs).toBe(0);
  });
});
