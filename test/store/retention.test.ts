/**
 * Patient data at rest and idempotent answers: the journal's files are the owner's only (0600 in a
 * 0700 directory), raw messages and answers are erased after the retention (dossiers kept, duplicate
 * detection intact), a journal written by the previous version (schema 1) opens and is migrated, and
 * enqueuing the same answer key twice gives the existing answer instead of a second one.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, chmodSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';
import { SCHEMA_VERSION } from '../../lib/store/sqlite/schema';
import { adt } from './fixtures';

let dir: string;
const open: SqliteJournal[] = [];
function journal(file: string, options: Partial<ConstructorParameters<typeof SqliteJournal>[0]> = {}): SqliteJournal {
  const j = new SqliteJournal({ file, ...options });
  open.push(j);
  return j;
}
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-retention-'));
});
afterEach(async () => {
  for (const j of open.splice(0)) await j.close();
  rmSync(dir, { recursive: true, force: true });
});

const DAY = 86_400_000;
const mode = (f: string) => statSync(f).mode & 0o777;
const posix = process.platform !== 'win32';
const nir = '285075935012324'; // NIR of the A01 fixture's beneficiary

/** A controllable clock. */
function clock(start: string) {
  let t = Date.parse(start);
  return { now: () => t, advance: (ms: number) => (t += ms), date: () => new Date(t) };
}

(posix ? describe : describe.skip)('file modes', () => {
  it('a new journal is created 0600 (database, WAL, shared memory) in a directory created 0700, whatever the umask', async () => {
    const old = process.umask(0o022);
    try {
      const file = path.join(dir, 'data', 'roc', 'journal.sqlite');
      const j = journal(file);
      await j.append(adt('MODE-1', '250100421'));
      expect(mode(path.join(dir, 'data'))).toBe(0o700);
      expect(mode(path.join(dir, 'data', 'roc'))).toBe(0o700);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) {
        expect(existsSync(f)).toBe(true);
        expect(mode(f)).toBe(0o600);
      }
    } finally {
      process.umask(old);
    }
  });

  it('an existing journal left 0644 by the previous version is tightened to 0600 when opened', async () => {
    const file = path.join(dir, 'journal.sqlite');
    const first = new SqliteJournal({ file });
    await first.append(adt('MODE-2', '250100421'));
    await first.close();
    chmodSync(file, 0o644);
    writeFileSync(`${file}-wal`, '');
    chmodSync(`${file}-wal`, 0o644);
    const j = journal(file);
    await j.append(adt('MODE-3', '250100421'));
    expect(mode(file)).toBe(0o600);
    expect(mode(`${file}-wal`)).toBe(0o600);
    expect(mode(`${file}-shm`)).toBe(0o600);
  });
});

describe('retention purge', () => {
  it('erases the raw bytes of finished messages and answers older than the retention; keeps recent ones, unfinished ones, counts, duplicates and dossiers', async () => {
    const c = clock('2026-03-01T08:00:00Z');
    const file = path.join(dir, 'journal.sqlite');
    const j = journal(file, { retentionDays: 30, purgeIntervalMs: 0, now: c.now });
    // Day 0: one message processed and answered, one failed (error queue), one duplicate.
    const done = await j.append(adt('RET-OLD-1', '250100421'));
    const failed = await j.append(adt('RET-OLD-2', '250100422'));
    const dup = await j.append(adt('RET-OLD-1', '250100421'));
    expect(dup.duplicate).toBe(true);
    await j.start([done.id, failed.id]);
    await j.complete(done.id);
    await j.fail(failed.id, 'AMC injoignable');
    const answer = await j.enqueue({
      destination: 'mllp:gap:2576',
      payload: Buffer.from(`MSH|^~\\&|ROC|X|||||ADT^Z80|Z1|P|2.5\rPID|||${nir}`),
      orderingKey: 'PV1-19:250100421',
      inboundId: done.id,
      answerKey: `in:${done.id}|IDB|OK`,
    });
    await j.take('mllp:gap:2576', 10, c.date());
    await j.acked(answer.id);
    await j.putDossier('PV1-19:250100421', { admission: { nir } }, 'ENG-0001');

    // Day 29: a newer message; nothing is old enough yet.
    c.advance(29 * DAY);
    const recent = await j.append(adt('RET-NEW-1', '250100423'));
    await j.start([recent.id]);
    await j.complete(recent.id);
    expect(await j.purge()).toMatchObject({ inboundErased: 0, outboundErased: 0 });

    // Day 31: the day-0 finished rows go; the failed one stays (it is still in the error queue).
    c.advance(2 * DAY);
    const before = await j.counts();
    const r = await j.purge();
    expect(r).toMatchObject({ inboundErased: 2, inboundDeleted: 0, outboundErased: 1 });
    expect((await j.get(done.id, { raw: true }))!.raw!.length).toBe(0);
    expect((await j.get(done.id))!.purgedAt).toBe(c.date().toISOString());
    expect((await j.get(dup.storedId, { raw: true }))!.raw!.length).toBe(0);
    expect((await j.get(failed.id, { raw: true }))!.raw!.toString('utf8')).toContain('RET-OLD-2');
    expect((await j.get(recent.id, { raw: true }))!.raw!.toString('utf8')).toContain('RET-NEW-1');
    expect((await j.getOutbound(answer.id, { payload: true }))!.payload!.length).toBe(0);
    // Counts and duplicate detection are untouched: the same MSH-10 is still a duplicate.
    expect(await j.counts()).toEqual(before);
    expect((await j.append(adt('RET-OLD-1', '250100421'))).duplicate).toBe(true);
    // A purged message cannot be resent (nothing left to send); the dossier is kept for billing.
    await expect(j.resend(done.id)).rejects.toMatchObject({ code: 'BAD_STATE' });
    expect((await j.getDossier('PV1-19:250100421'))!.engagements).toEqual(['ENG-0001']);
    // The idempotency key outlives the payload: a late reprocessing still finds the answer.
    const again = await j.enqueue({
      destination: 'mllp:gap:2576',
      payload: Buffer.from('MSH|^~\\&|ROC'),
      answerKey: `in:${done.id}|IDB|OK`,
    });
    expect(again).toMatchObject({ id: answer.id, existing: true, state: 'ACKED' });

    // Nothing of the erased messages is left in the files (database + WAL after the checkpoint),
    // except what is still needed: the failed message and the dossier.
    await j.close();
    const bytes = Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)));
    expect(bytes.includes(Buffer.from('RET-OLD-1'))).toBe(true); // MSH-10 stays in the index column (no patient data)
    const rawMarker = Buffer.from('MSH|^~\\&|CPAGE|CHU-NORD'); // every raw frame starts so
    const left: string[] = [];
    for (let i = bytes.indexOf(rawMarker); i >= 0; i = bytes.indexOf(rawMarker, i + 1)) {
      left.push(/ADT_A01\|([A-Z0-9-]+)\|/.exec(bytes.subarray(i, i + 120).toString('latin1'))?.[1] ?? '?');
    }
    // Left: the failed message (error queue), the recent one and the late copy appended after the
    // purge; no stale copy of the erased ones in free pages (secure_delete) nor in the WAL.
    expect(left.sort()).toEqual(['RET-NEW-1', 'RET-OLD-1', 'RET-OLD-2']);
    expect(bytes.includes(Buffer.from(`PID|||${nir}`))).toBe(false); // the erased answer
  });

  it('retentionDays 0 keeps everything; the purge also runs at open and on its schedule, and close() stops the schedule', async () => {
    const c = clock('2026-03-01T08:00:00Z');
    const file = path.join(dir, 'journal.sqlite');
    const keep = journal(file, { retentionDays: 0, now: c.now });
    const m = await keep.append(adt('KEEP-1', '250100421'));
    await keep.start([m.id]);
    await keep.complete(m.id);
    c.advance(400 * DAY);
    expect(await keep.purge()).toMatchObject({ inboundErased: 0 });
    await keep.close();

    // Reopened with a retention: the purge at open erases it without being asked.
    const j = journal(file, { retentionDays: 30, purgeIntervalMs: 1000, now: c.now });
    const deadline = Date.now() + 10_000;
    while (!j.lastPurge && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(j.lastPurge).toMatchObject({ inboundErased: 1 });
    expect((await j.get(m.id, { raw: true }))!.raw!.length).toBe(0);
    // On its schedule (1 s here): a message finished now and then 31 days older is erased without a call.
    const n = await j.append(adt('SCHED-1', '250100422'));
    await j.start([n.id]);
    await j.complete(n.id);
    c.advance(31 * DAY);
    const deadline2 = Date.now() + 10_000;
    while ((await j.get(n.id))!.purgedAt === undefined && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 50));
    expect((await j.get(n.id))!.purgedAt).toBeDefined();
    // close() stops the schedule: no purge runs on a closed journal.
    const errors: Error[] = [];
    const k = journal(path.join(dir, 'other.sqlite'), {
      retentionDays: 30,
      purgeIntervalMs: 1000,
      now: c.now,
      onPurgeError: (e) => errors.push(e),
    });
    await k.close();
    expect((k as unknown as { purgeTimer?: unknown }).purgeTimer).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1200));
    expect(errors).toEqual([]);
  });

  it('with a duplicate window, rows past both the window and the retention are deleted, and the window still decides duplicates', async () => {
    const c = clock('2026-03-01T08:00:00Z');
    const j = journal(path.join(dir, 'journal.sqlite'), { retentionDays: 7, duplicateWindowMs: 30 * DAY, purgeIntervalMs: 0, now: c.now });
    const a = await j.append(adt('WIN-1', '250100421'));
    await j.start([a.id]);
    await j.complete(a.id);
    c.advance(10 * DAY);
    // Past the retention (erased) but inside the window: still a duplicate.
    expect(await j.purge()).toMatchObject({ inboundErased: 1, inboundDeleted: 0 });
    expect((await j.append(adt('WIN-1', '250100421'))).duplicate).toBe(true);
    c.advance(25 * DAY);
    // Past the window too: the rows go, and the control id is free again, as the window says.
    const r = await j.purge();
    expect(r).toMatchObject({ inboundErased: 1, inboundDeleted: 1 }); // the copy of day 10 is erased, not yet past the window
    expect(await j.get(a.id)).toBeUndefined();
    expect((await j.append(adt('WIN-1', '250100421'))).duplicate).toBe(false);
  });

  it('refuses a negative retention', () => {
    expect(() => new SqliteJournal({ file: path.join(dir, 'x.sqlite'), retentionDays: -1 })).toThrow(/retentionDays/);
  });
});

describe('idempotent answers', () => {
  it('enqueuing the same answer key again returns the existing answer (same id, same payload): no second answer', async () => {
    const j = journal(path.join(dir, 'journal.sqlite'), { purgeIntervalMs: 0 });
    const dest = 'mllp:gap.chu-nord.local:2576';
    const first = await j.enqueue({
      destination: dest,
      payload: Buffer.from('MSH|^~\\&|ROC_BRIDGE||||||ADT^Z80|ROC1|P|2.5'),
      orderingKey: 'PV1-19:250100421',
      inboundId: 7,
      answerKey: 'in:7|IDB|OK',
    });
    expect(first.existing).toBeUndefined();
    expect(first.answerKey).toBe('in:7|IDB|OK');
    // The same message processed again (after a crash) builds an answer with a new MSH-10.
    const again = await j.enqueue({
      destination: dest,
      payload: Buffer.from('MSH|^~\\&|ROC_BRIDGE||||||ADT^Z80|ROC2|P|2.5'),
      orderingKey: 'PV1-19:250100421',
      inboundId: 7,
      answerKey: 'in:7|IDB|OK',
    });
    expect(again).toMatchObject({ id: first.id, existing: true, state: 'QUEUED' });
    expect((await j.getOutbound(first.id, { payload: true }))!.payload!.toString()).toContain('|ROC1|');
    expect(await j.browseOutbound({ destination: dest })).toHaveLength(1);
    // Two enqueues of one key in the same group commit: still one answer.
    const [x, y] = await Promise.all([
      j.enqueue({ destination: dest, payload: Buffer.from('A'), answerKey: 'in:8|SIM|OK' }),
      j.enqueue({ destination: dest, payload: Buffer.from('B'), answerKey: 'in:8|SIM|OK' }),
    ]);
    expect(y.id).toBe(x.id);
    expect(y.existing).toBe(true);
    // Another service, another outcome or another destination is another answer; no key: as before.
    expect((await j.enqueue({ destination: dest, payload: Buffer.from('C'), answerKey: 'in:7|CLC|OK' })).existing).toBeUndefined();
    expect((await j.enqueue({ destination: dest, payload: Buffer.from('D'), answerKey: 'in:7|IDB|KO' })).existing).toBeUndefined();
    expect(
      (await j.enqueue({ destination: 'mllp:gap2:2576', payload: Buffer.from('E'), answerKey: 'in:7|IDB|OK' })).existing,
    ).toBeUndefined();
    const n1 = await j.enqueue({ destination: dest, payload: Buffer.from('F') });
    const n2 = await j.enqueue({ destination: dest, payload: Buffer.from('F') });
    expect(n2.id).not.toBe(n1.id);
    // A second journal instance on the same file (roc-mllp-in and roc-mllp-out each open one) sees the key too.
    const other = journal(path.join(dir, 'journal.sqlite'), { purgeIntervalMs: 0, recoverSentOnOpen: false });
    expect(await other.enqueue({ destination: dest, payload: Buffer.from('G'), answerKey: 'in:7|IDB|OK' })).toMatchObject({
      id: first.id,
      existing: true,
    });
  });
});

describe('migration of a journal written by the previous version (schema 1)', () => {
  /** The schema of the previous version, as it shipped (lib/store/sqlite.ts, schema 1). */
  const V1_SCHEMA = `
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
    raw BLOB NOT NULL
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
    payload BLOB NOT NULL
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
  `;

  it('opens it, keeps its messages and answers, adds the new columns, and answer keys work on it', async () => {
    const file = path.join(dir, 'old.sqlite');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(V1_SCHEMA);
    old.prepare("INSERT INTO meta (k, v) VALUES ('schema', '1')").run();
    const raw = adt('OLD-1', '250100421').raw;
    const t = Date.parse('2026-01-10T10:00:00Z');
    old
      .prepare(
        `INSERT INTO inbound (received_at, channel, sending_app, sending_facility, control_id, event, okey, size, dedup, state, updated_at, raw)
         VALUES (?, 'mllp:2575', 'CPAGE', 'CHU-NORD', 'OLD-1', 'ADT^A01', 'PV1-19:250100421', ?, ?, 'PROCESSING', ?, ?)`,
      )
      .run(t, raw.length, 'CPAGE\u001fCHU-NORD\u001fOLD-1', t, raw);
    old
      .prepare(
        `INSERT INTO outbound (destination, okey, inbound_id, created_at, state, attempts, max_attempts, next_attempt_at, updated_at, payload)
         VALUES ('mllp:gap:2576', 'PV1-19:250100421', 1, ?, 'ACKED', 1, 5, ?, ?, ?)`,
      )
      .run(t, t, t, Buffer.from('MSH|^~\\&|ROC_BRIDGE||||||ADT^Z80|ROCOLD1|P|2.5'));
    old.close();

    const j = journal(file, { purgeIntervalMs: 0, retentionDays: 0 });
    expect(await j.pending()).toEqual([{ id: 1, orderingKey: 'PV1-19:250100421', state: 'PROCESSING' }]);
    expect((await j.get(1, { raw: true }))!.raw!.equals(raw)).toBe(true);
    expect((await j.append(adt('OLD-1', '250100421'))).duplicate).toBe(true);
    expect((await j.getOutbound(1))!.state).toBe('ACKED');
    const a = await j.enqueue({ destination: 'mllp:gap:2576', payload: Buffer.from('X'), answerKey: 'in:1|IDB|OK' });
    const b = await j.enqueue({ destination: 'mllp:gap:2576', payload: Buffer.from('Y'), answerKey: 'in:1|IDB|OK' });
    expect(b).toMatchObject({ id: a.id, existing: true });
    await j.close();
    const db = new Database(file, { readonly: true });
    expect((db.prepare("SELECT v FROM meta WHERE k = 'schema'").get() as { v: string }).v).toBe(String(SCHEMA_VERSION));
    db.close();
    if (posix) expect(mode(file)).toBe(0o600);
  });
});
