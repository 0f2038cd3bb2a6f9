/**
 * The retention purge over more rows than one transaction takes (2,000 a chunk), its schedule and
 * what it reports when it fails. A hospital journal holds hundreds of thousands of finished
 * messages: a purge that stops after its first chunk leaves patient data past its retention; a
 * failing scheduled purge must reach the operator (onPurgeError) without quoting stored content.
 * The rows are written straight into the file (a second connection), as a months-old journal has
 * them: appending 4,500 messages through the journal would take seconds.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';
import { adt } from './fixtures';

const DAY = 86_400_000;
const T0 = Date.parse('2026-09-01T08:00:00Z');
let dir: string;
let file: string;
const open: SqliteJournal[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-retention-chunks-'));
  file = path.join(dir, 'roc-journal.sqlite');
});
afterEach(async () => {
  jest.restoreAllMocks();
  for (const j of open.splice(0)) await j.close();
  rmSync(dir, { recursive: true, force: true });
});
function journal(options: Partial<ConstructorParameters<typeof SqliteJournal>[0]> = {}): SqliteJournal {
  const j = new SqliteJournal({ file, purgeIntervalMs: 0, ...options });
  open.push(j);
  return j;
}
/** `n` finished rows received at `at`, written by another connection (as a journal months old holds them). */
function seed(n: { inbound?: number; outbound?: number; purgedInbound?: number }, at: number): void {
  const db = new Database(file);
  // (Each insert runs only for a count > 0: the recursive sequence yields 1 at least.)
  const seq = 'WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)';
  if (n.inbound)
    db.prepare(
      `${seq} INSERT INTO inbound (received_at, channel, size, state, updated_at, raw) SELECT ?, 'mllp', 3, 'DONE', ?, X'4D5348' FROM seq`,
    ).run(n.inbound, at, at);
  if (n.purgedInbound)
    db.prepare(
      `${seq} INSERT INTO inbound (received_at, channel, size, state, updated_at, raw, purged_at) SELECT ?, 'mllp', 3, 'DONE', ?, X'', ? FROM seq`,
    ).run(n.purgedInbound, at, at, at);
  if (n.outbound)
    db.prepare(
      `${seq} INSERT INTO outbound (destination, created_at, state, max_attempts, next_attempt_at, updated_at, payload)
       SELECT 'mllp:gap.chu-nord.local:2576', ?, 'ACKED', 5, ?, ?, X'4D5348' FROM seq`,
    ).run(n.outbound, at, at, at);
  db.close();
}
function count(sql: string): number {
  const db = new Database(file, { readonly: true });
  const n = (db.prepare(sql).get() as { n: number }).n;
  db.close();
  return n;
}
// seed() needs the tables: a journal is opened (and closed) first, without retention.
function created(): void {
  new SqliteJournal({ file, purgeIntervalMs: 0, retentionDays: 0 }).close();
}

describe('a purge larger than one chunk', () => {
  it('erases every raw inbound message past the retention, 2,000 at a time, in one call', async () => {
    created();
    seed({ inbound: 4500 }, T0);
    const j = journal({ retentionDays: 30, now: () => T0 + 31 * DAY });
    expect(await j.purge()).toMatchObject({ inboundErased: 4500, outboundErased: 0, inboundDeleted: 0 });
    expect(count('SELECT count(*) n FROM inbound WHERE length(raw) > 0')).toBe(0);
  });

  it('erases every answer payload past the retention, even with no inbound to erase', async () => {
    created();
    seed({ outbound: 4500 }, T0);
    const j = journal({ retentionDays: 30, now: () => T0 + 31 * DAY });
    expect(await j.purge()).toMatchObject({ inboundErased: 0, outboundErased: 4500 });
    expect(count('SELECT count(*) n FROM outbound WHERE length(payload) > 0')).toBe(0);
  });

  it('deletes every erased row past the duplicate window, even when nothing is left to erase', async () => {
    created();
    seed({ purgedInbound: 4500 }, T0);
    const j = journal({ retentionDays: 7, duplicateWindowMs: 30 * DAY, now: () => T0 + 31 * DAY });
    expect(await j.purge()).toMatchObject({ inboundErased: 0, inboundDeleted: 4500 });
    expect(count('SELECT count(*) n FROM inbound')).toBe(0);
  });

  it('a journal closed between two chunks: the purge ends with what it did, without an error', async () => {
    created();
    seed({ inbound: 4500 }, T0);
    const j = journal({ retentionDays: 30, now: () => T0 + 31 * DAY });
    const purge = j.purge(); // the first chunk runs at once
    await j.close();
    await expect(purge).resolves.toMatchObject({ inboundErased: 2000 });
  });
});

describe('the WAL after a purge', () => {
  it('is truncated when the purge both erased and deleted rows (the erased bytes do not live on)', async () => {
    let t = T0;
    const j = journal({ retentionDays: 7, duplicateWindowMs: 30 * DAY, now: () => t });
    const m = await j.append(adt('WAL-1', '250100421'));
    await j.start([m.storedId]);
    await j.complete(m.storedId);
    t += 31 * DAY;
    expect(await j.purge()).toMatchObject({ inboundErased: 1, inboundDeleted: 1, outboundErased: 0 });
    expect(statSync(`${file}-wal`).size).toBe(0);
  });

  it('is truncated when the purge erased one message and one answer', async () => {
    let t = T0;
    const j = journal({ retentionDays: 7, now: () => t });
    const m = await j.append(adt('WAL-2', '250100421'));
    await j.start([m.storedId]);
    await j.complete(m.storedId);
    seed({ outbound: 1 }, T0);
    t += 8 * DAY;
    expect(await j.purge()).toMatchObject({ inboundErased: 1, outboundErased: 1 });
    expect(statSync(`${file}-wal`).size).toBe(0);
  });
});

describe('the schedule', () => {
  /** The purge timers the journal starts, and those it clears. */
  function timers() {
    const started: unknown[] = [];
    const cleared: unknown[] = [];
    const set = global.setInterval;
    jest.spyOn(global, 'setInterval').mockImplementation(((fn: () => void, ms: number) => {
      const t = set(fn, ms);
      started.push(t);
      return t;
    }) as typeof setInterval);
    const clear = global.clearInterval;
    jest.spyOn(global, 'clearInterval').mockImplementation((t) => {
      cleared.push(t);
      clear(t);
    });
    return { started, cleared };
  }

  it('close() clears the purge timer it started', async () => {
    const t = timers();
    const j = journal({ retentionDays: 30, purgeIntervalMs: 60_000 });
    expect(t.started).toHaveLength(1);
    await j.close();
    expect(t.cleared).toContain(t.started[0]);
  });

  it('no timer without a retention (0 = keep forever), none with purgeIntervalMs 0', async () => {
    const t = timers();
    journal({ retentionDays: 0, purgeIntervalMs: 60_000 });
    journal({ file: path.join(dir, 'other.sqlite'), retentionDays: 30, purgeIntervalMs: 0 });
    expect(t.started).toHaveLength(0);
  });

  it('a scheduled purge that fails is reported to onPurgeError, as a STORAGE error quoting no stored content', async () => {
    created();
    const errors: Error[] = [];
    journal({ retentionDays: 30, onPurgeError: (e) => errors.push(e) });
    // Before the purge at open runs (next turn of the loop), the answers' table disappears.
    const db = new Database(file);
    db.exec('ALTER TABLE outbound RENAME TO outbound_gone');
    db.close();
    const deadline = Date.now() + 5000;
    while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'STORAGE' });
    expect(errors[0].message).toMatch(/^retention purge failed: .*outbound/);
  });

  it('without onPurgeError a failing scheduled purge is silent (no unhandled rejection)', async () => {
    created();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const j = journal({ retentionDays: 30 });
      const db = new Database(file);
      db.exec('ALTER TABLE outbound RENAME TO outbound_gone');
      db.close();
      await new Promise((r) => setTimeout(r, 100));
      expect(j.lastPurge).toBeUndefined(); // no result recorded (a purge that ran and failed, or none)
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a journal closed at once: its purge at open does not run, and reports nothing', async () => {
    const errors: Error[] = [];
    const j = journal({ retentionDays: 30, onPurgeError: (e) => errors.push(e) });
    await j.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(j.lastPurge).toBeUndefined();
    expect(errors).toEqual([]);
  });
});
