/**
 * The retention purge (lib/store/sqlite/retention.ts) at its edges: the retentionDays setting and
 * what it refuses, one purge at a time, a closed journal, the WAL truncated after a purge that
 * erased something (the erased bytes must not live on in it), and a schedule that runs only when
 * asked to.
 */
import { mkdtempSync, rmSync, statSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';
import { retentionMsOf } from '../../lib/store/sqlite/retention';
import { adt } from './fixtures';

const DAY = 86_400_000;
let dir: string;
const open: SqliteJournal[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-retention-edges-'));
});
afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
  rmSync(dir, { recursive: true, force: true });
});
function journal(options: Partial<ConstructorParameters<typeof SqliteJournal>[0]> = {}): SqliteJournal {
  const j = new SqliteJournal({ file: path.join(dir, 'roc-journal.sqlite'), purgeIntervalMs: 0, ...options });
  open.push(j);
  return j;
}

describe('retentionDays', () => {
  it('30 days by default, 0 keeps forever, fractions of a day allowed; anything else refused', () => {
    expect(retentionMsOf(undefined)).toBe(30 * DAY);
    expect(retentionMsOf(0)).toBe(0);
    expect(retentionMsOf(0.5)).toBe(DAY / 2);
    for (const bad of ['30', Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      expect(() => retentionMsOf(bad as number)).toThrow(
        expect.objectContaining({ code: 'BAD_INPUT', message: 'retentionDays must be a number of days ≥ 0 (0 = keep)' }),
      );
    }
  });
});

describe('the purge', () => {
  it('one purge at a time: a second call joins the first', async () => {
    const j = journal({ retentionDays: 1 });
    const a = j.purge();
    const b = j.purge();
    expect(b).toBe(a);
    await a;
    expect(j.purge()).not.toBe(a);
  });

  it('a closed journal refuses to purge (CLOSED)', async () => {
    const j = journal({ retentionDays: 1 });
    await j.close();
    await expect(j.purge()).rejects.toMatchObject({ code: 'CLOSED', message: 'the journal is closed' });
  });

  it('after a purge that erased raw messages, the WAL is truncated: their bytes do not live on in it', async () => {
    let t = Date.parse('2026-10-01T08:00:00Z');
    const j = journal({ retentionDays: 30, now: () => t });
    for (let i = 0; i < 20; i++) {
      const s = await j.append(adt(`RT-${i}`, '250100421'));
      await j.start([s.storedId]);
      await j.complete(s.storedId);
    }
    const wal = path.join(dir, 'roc-journal.sqlite-wal');
    expect(statSync(wal).size).toBeGreaterThan(0);
    t += 31 * DAY;
    expect(await j.purge()).toMatchObject({ inboundErased: 20 });
    expect(statSync(wal).size).toBe(0);
  });

  it('a purge that erased nothing leaves the WAL alone', async () => {
    const t = Date.parse('2026-10-01T08:00:00Z');
    const j = journal({ retentionDays: 30, now: () => t });
    await j.append(adt('RT-KEEP', '250100421'));
    expect(await j.purge()).toMatchObject({ inboundErased: 0, outboundErased: 0, inboundDeleted: 0 });
    expect(statSync(path.join(dir, 'roc-journal.sqlite-wal')).size).toBeGreaterThan(0);
  });

  it('purgeIntervalMs 0: the purge runs at open only; a short interval is raised to 1 s', async () => {
    const once = journal({ retentionDays: 30, purgeIntervalMs: 0 });
    await new Promise((r) => setTimeout(r, 50));
    const atOpen = once.lastPurge;
    expect(atOpen).toBeDefined();
    const often = new SqliteJournal({ file: path.join(dir, 'other.sqlite'), retentionDays: 30, purgeIntervalMs: 10 });
    open.push(often);
    await new Promise((r) => setTimeout(r, 50));
    const first = often.lastPurge;
    await new Promise((r) => setTimeout(r, 300));
    expect(often.lastPurge).toBe(first); // not every 10 ms
    expect(once.lastPurge).toBe(atOpen);
  });
});
