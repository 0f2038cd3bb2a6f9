/**
 * lib/store/registry.ts alone (a fake opener, then the real SQLite journal): one open per file,
 * shared by reference count, closed by the last release, opened again after that.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JournalRegistry, defaultJournalFile, journalPath } from '../../lib/store/registry';
import { journals, openSqliteJournal } from '../../lib/store';

class FakeJournal {
  closed = false;
  closes = 0;
  constructor(
    readonly file: string,
    readonly options: { tag: string },
  ) {}
  close(): Promise<void> {
    this.closes++;
    return new Promise((resolve) =>
      setImmediate(() => {
        this.closed = true;
        resolve();
      }),
    );
  }
}

function fakeRegistry() {
  const opened: FakeJournal[] = [];
  const reg = new JournalRegistry<FakeJournal, { tag: string }>((file, o) => {
    const j = new FakeJournal(file, o);
    opened.push(j);
    return j;
  });
  return { reg, opened };
}

describe('journal registry (reference count)', () => {
  it('two users of one file share one open journal, opened with the first user’s options', async () => {
    const { reg, opened } = fakeRegistry();
    const a = await reg.acquire('/srv/roc/journal.sqlite', { tag: 'listener' });
    const b = reg.acquireSync('/srv/roc/../roc/journal.sqlite', { tag: 'sender' });
    expect(opened).toHaveLength(1);
    expect(a.journal).toBe(b.journal);
    expect(a.journal.options.tag).toBe('listener');
    expect(reg.refs('/srv/roc/journal.sqlite')).toBe(2);
    await a.release();
    await b.release();
  });

  it('the last release closes the journal; releasing twice counts once', async () => {
    const { reg, opened } = fakeRegistry();
    const a = reg.acquireSync('/srv/roc/j.sqlite', { tag: 'a' });
    const b = reg.acquireSync('/srv/roc/j.sqlite', { tag: 'b' });
    await a.release();
    await a.release(); // a second release of the same lease must not close b's journal
    expect(opened[0].closes).toBe(0);
    expect(reg.refs('/srv/roc/j.sqlite')).toBe(1);
    await b.release();
    expect(opened[0].closed).toBe(true);
    expect(opened[0].closes).toBe(1);
    expect(reg.files()).toEqual([]);
  });

  it('an acquire after the close opens the file again; one during the close waits for it', async () => {
    const { reg, opened } = fakeRegistry();
    const a = reg.acquireSync('/srv/roc/j.sqlite', { tag: 'first' });
    const closing = a.release();
    expect(() => reg.acquireSync('/srv/roc/j.sqlite', { tag: 'too early' })).toThrow('journal en cours de fermeture');
    const again = await reg.acquire('/srv/roc/j.sqlite', { tag: 'second' });
    await closing;
    expect(opened).toHaveLength(2);
    expect(opened[0].closed).toBe(true);
    expect(again.journal).toBe(opened[1]);
    expect(again.journal.closed).toBe(false);
    await again.release();
    const third = reg.acquireSync('/srv/roc/j.sqlite', { tag: 'third' });
    expect(opened).toHaveLength(3);
    await third.release();
  });

  it('the file is opened again only once its close has ended; a second release during the close waits for it too', async () => {
    const opened: FakeJournal[] = [];
    const openedWhileClosing: boolean[] = [];
    const reg = new JournalRegistry<FakeJournal, { tag: string }>((file, o) => {
      openedWhileClosing.push(opened.some((j) => !j.closed));
      const j = new FakeJournal(file, o);
      opened.push(j);
      return j;
    });
    const a = reg.acquireSync('/srv/roc/j.sqlite', { tag: 'first' });
    void a.release();
    await a.release(); // released twice while closing: resolves when the close has ended, not before
    expect(opened[0].closed).toBe(true);
    const b = reg.acquireSync('/srv/roc/j.sqlite', { tag: 'second' });
    void b.release();
    const c = await reg.acquire('/srv/roc/j.sqlite', { tag: 'third' }); // during b's close
    expect(openedWhileClosing).toEqual([false, false, false]);
    await c.release();
  });

  it('files() lists the open files; settled() resolves once every close has ended, even a failed one', async () => {
    const { reg, opened } = fakeRegistry();
    const a = reg.acquireSync('/srv/roc/chu-nord.sqlite', { tag: 'a' });
    const b = reg.acquireSync('/srv/roc/chu-sud.sqlite', { tag: 'b' });
    expect(reg.files().sort()).toEqual(['/srv/roc/chu-nord.sqlite', '/srv/roc/chu-sud.sqlite']);
    opened[1].close = () => new Promise((_, reject) => setImmediate(() => reject(new Error('SQLITE_BUSY'))));
    void a.release();
    b.release().catch(() => undefined);
    expect(reg.files()).toEqual([]);
    await reg.settled();
    expect(opened[0].closed).toBe(true);
    expect(() => reg.acquireSync('/srv/roc/chu-sud.sqlite', { tag: 'c' })).not.toThrow();
  });

  it('different files are different journals', async () => {
    const { reg, opened } = fakeRegistry();
    const a = reg.acquireSync('/srv/roc/chu-nord.sqlite', { tag: 'a' });
    const b = reg.acquireSync('/srv/roc/chu-sud.sqlite', { tag: 'b' });
    expect(opened).toHaveLength(2);
    expect(a.journal).not.toBe(b.journal);
    await Promise.all([a.release(), b.release()]);
    expect(opened.every((j) => j.closed)).toBe(true);
  });

  it('an opener that throws leaves nothing held', async () => {
    let fail = true;
    const reg = new JournalRegistry<FakeJournal, { tag: string }>((file, o) => {
      if (fail) throw new Error('SQLITE_CANTOPEN');
      return new FakeJournal(file, o);
    });
    expect(() => reg.acquireSync('/srv/roc/j.sqlite', { tag: 'x' })).toThrow('SQLITE_CANTOPEN');
    expect(reg.refs('/srv/roc/j.sqlite')).toBe(0);
    fail = false;
    const l = reg.acquireSync('/srv/roc/j.sqlite', { tag: 'x' });
    expect(reg.refs('/srv/roc/j.sqlite')).toBe(1);
    await l.release();
  });

  it('a role is held by one owner at a time and freed with its lease', async () => {
    const { reg } = fakeRegistry();
    const a = reg.acquireSync('/srv/roc/j.sqlite', { tag: 'a' });
    const b = reg.acquireSync('/srv/roc/j.sqlite', { tag: 'b' });
    expect(a.claim('inbound', 'gap-mllp')).toBeUndefined();
    expect(a.claim('inbound', 'gap-mllp')).toBeUndefined(); // the same owner again
    expect(b.claim('inbound', 'second-listener')).toBe('gap-mllp');
    await a.release();
    expect(b.claim('inbound', 'second-listener')).toBeUndefined();
    await b.release();
  });

  it('an empty file setting is the default file under ROC_USER_DIR', () => {
    const saved = process.env.ROC_USER_DIR;
    process.env.ROC_USER_DIR = '/var/lib/roc-bridge';
    try {
      expect(defaultJournalFile()).toBe(path.join('/var/lib/roc-bridge', 'roc-journal.sqlite'));
      expect(journalPath('')).toBe(path.resolve('/var/lib/roc-bridge/roc-journal.sqlite'));
      expect(journalPath('  ')).toBe(journalPath(undefined));
      delete process.env.ROC_USER_DIR; // unset: the Node-RED user directory under the working directory
      expect(defaultJournalFile()).toBe(path.join(process.cwd(), '.node-red', 'roc-journal.sqlite'));
    } finally {
      if (saved === undefined) delete process.env.ROC_USER_DIR;
      else process.env.ROC_USER_DIR = saved;
    }
  });
});

describe('the process registry on a real SQLite journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-registry-'));
  });
  afterEach(async () => {
    await journals.settled();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('what one user writes the other reads at once (same instance); the file is closed after the last release and reopens with the data', async () => {
    const file = path.join(dir, 'roc-journal.sqlite');
    const listener = journals.acquireSync(file, { synchronous: 'NORMAL' });
    const sender = journals.acquireSync(file, {});
    const rec = await sender.journal.enqueue({
      destination: 'mllp:gap.chu-nord.local:2576',
      payload: Buffer.from('MSH|^~\\&|ROC_BRIDGE'),
      orderingKey: 'PV1-19:250100421',
    });
    const seen = await listener.journal.getOutbound(rec.id);
    expect(seen?.state).toBe('QUEUED');
    expect(listener.journal.synchronous).toBe('NORMAL');
    await listener.release();
    expect(journals.refs(file)).toBe(1);
    await sender.release();
    expect(journals.refs(file)).toBe(0);
    await expect(sender.journal.counts()).rejects.toThrow();
    const reopened = journals.acquireSync(file, {});
    expect(reopened.journal).not.toBe(sender.journal);
    expect((await reopened.journal.getOutbound(rec.id))?.orderingKey).toBe('PV1-19:250100421');
    await reopened.release();
    // and nothing holds the file any more: a plain open works
    const j = openSqliteJournal({ file });
    await j.close();
  });
});
