/**
 * The group-commit writer alone (lib/store/sqlite/writer.ts) on an in-memory SQLite database:
 * writes of one burst share one transaction, a bad write is undone alone, a failed COMMIT fails
 * every write of its batch, the window and the batch cap, reads, and close.
 */
import Database from 'better-sqlite3';
import { GroupCommitWriter } from '../../lib/store/sqlite/writer';

function setup(options: { windowMs?: number; maxBatch?: number } = {}) {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE ack (control_id TEXT PRIMARY KEY, code TEXT NOT NULL)');
  const w = new GroupCommitWriter(db, { windowMs: options.windowMs ?? 0, maxBatch: options.maxBatch ?? 100 });
  const insert = (controlId: string, code = 'AA') =>
    w.write(() => db.prepare('INSERT INTO ack VALUES (?, ?)').run(controlId, code).changes);
  const ids = () =>
    (db.prepare('SELECT control_id FROM ack ORDER BY control_id').all() as Array<{ control_id: string }>).map((r) => r.control_id);
  return { db, w, insert, ids };
}

describe('GroupCommitWriter', () => {
  it('a burst commits once; a write that throws is undone alone, its neighbours commit', async () => {
    const { w, insert, ids, db } = setup();
    const results = await Promise.allSettled([
      insert('A01-0001'),
      w.write(() => {
        db.prepare('INSERT INTO ack VALUES (?, ?)').run('A01-0002', 'AA');
        throw new Error('mapping PAM-FR: PV1-19 manquant'); // after a first statement: undone too
      }),
      insert('A01-0001'), // primary key taken: this one fails
      insert('A01-0003'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('mapping PAM-FR: PV1-19 manquant');
    expect(ids()).toEqual(['A01-0001', 'A01-0003']);
    expect(w.stats).toEqual({ commits: 1, writes: 4, largestBatch: 4 });
    db.close();
  });

  it('maxBatch commits as soon as it is reached; largestBatch keeps the largest', async () => {
    const { w, insert, db } = setup({ maxBatch: 2 });
    await Promise.all(['1', '2', '3'].map((n) => insert(`A01-000${n}`)));
    expect(w.stats).toEqual({ commits: 2, writes: 3, largestBatch: 2 });
    await insert('A01-0004');
    expect(w.stats).toEqual({ commits: 3, writes: 4, largestBatch: 2 });
    db.close();
  });

  it('windowMs: writes a few ms apart join one batch', async () => {
    const { w, insert, db } = setup({ windowMs: 40 });
    const a = insert('A01-0001');
    await new Promise((r) => setTimeout(r, 10));
    const b = insert('A01-0002');
    await Promise.all([a, b]);
    expect(w.stats.commits).toBe(1);
    db.close();
  });

  it('a failed COMMIT rejects every write of the batch as STORAGE', async () => {
    const { w, insert, db } = setup();
    const batch = [insert('A01-0001'), insert('A01-0002')];
    db.close(); // the disk went away under the batch
    for (const p of batch)
      await expect(p).rejects.toMatchObject({ code: 'STORAGE', message: expect.stringMatching(/^journal commit failed: /) });
    expect(w.stats.commits).toBe(0);
  });

  it('reads run at once and see committed writes; a read that throws rejects', async () => {
    const { w, insert, db } = setup();
    await insert('A01-0001');
    expect(await w.read(() => db.prepare('SELECT count(*) AS n FROM ack').get())).toEqual({ n: 1 });
    // (matched by message: under Stryker's jest environment, the native error is of another realm)
    await expect(w.read(() => db.prepare('SELECT * FROM nack').all())).rejects.toMatchObject({
      message: expect.stringContaining('no such table'),
    });
    db.close();
  });

  it('close commits what is queued, then refuses writes and reads (CLOSED)', async () => {
    const { w, insert, ids, db } = setup({ windowMs: 60_000 });
    const pending = insert('A01-0001');
    expect(w.closed).toBe(false);
    w.close();
    await pending;
    expect(ids()).toEqual(['A01-0001']);
    expect(w.closed).toBe(true);
    await expect(insert('A01-0002')).rejects.toMatchObject({ code: 'CLOSED', message: 'the journal is closed' });
    await expect(w.read(() => 1)).rejects.toMatchObject({ code: 'CLOSED', message: 'the journal is closed' });
    db.close();
  });
});

describe('GroupCommitWriter: its timers and counts', () => {
  it('a burst of writes arms one window timer, not one per write', async () => {
    const { w, insert, db } = setup({ windowMs: 5 });
    const spy = jest.spyOn(global, 'setTimeout');
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => insert(`A01-${String(i).padStart(4, '0')}`)));
      expect(spy.mock.calls.filter(([fn, ms]) => typeof fn === 'function' && ms === 5)).toHaveLength(1);
      expect(w.stats).toEqual({ commits: 1, writes: 50, largestBatch: 50 });
    } finally {
      spy.mockRestore();
      db.close();
    }
  });

  it('windowMs 0: a write made in the next turn of the loop joins the batch, however long the current turn took', async () => {
    const { w, insert, db } = setup({ windowMs: 0 });
    // From a check-phase callback (as the MLLP listener's frames arrive between turns), so that a
    // 0 ms timer, due after the long turn, would commit before the next turn's write joined.
    await new Promise<unknown>((done) =>
      setImmediate(() => {
        const a = insert('A01-0001');
        const b = new Promise((resolve, reject) => setImmediate(() => insert('A01-0002').then(resolve, reject)));
        const until = Date.now() + 5;
        while (Date.now() < until); // a long synchronous turn (a large frame parsed)
        done(Promise.all([a, b]));
      }),
    );
    expect(w.stats.commits).toBe(1);
    db.close();
  });

  it('flushing or closing with nothing queued commits nothing', () => {
    const { w, db } = setup();
    w.flush();
    w.close();
    expect(w.stats).toEqual({ commits: 0, writes: 0, largestBatch: 0 });
    db.close();
  });
});
