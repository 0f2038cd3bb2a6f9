/**
 * The MLLP listener's processing side (lib/gap/mllp-listener.ts: pump, complete, fail, release,
 * resend, the processing-timeout sweep, close), on what mutation testing found untested in
 * test/gap (issue 12): the `maxInFlight` bound, the flow's feedback (complete with its service
 * exchanges, fail → the venue held, release, resend), a flow that throws, a journal that cannot
 * hand out work, the sweep of a message the flow never answered, and a close that leaves nothing
 * running. Realistic PAM-FR admissions (the A01 fixture) over 127.0.0.1, port 0.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MllpListener, type Dispatched, type ListenerOptions } from '../../lib/gap/mllp-listener';
import { openSqliteJournal, type SqliteJournal } from '../../lib/store/sqlite';
import { Peer, adt, sleep } from './hostile-peers';
import { waitFor } from '../support/mllp-peer';

let dir: string;
let listener: MllpListener | undefined;
let journal: SqliteJournal | undefined;
const peers: Peer[] = [];
const dispatched: Dispatched[] = [];
const errors: string[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-processing-'));
  dispatched.length = 0;
  errors.length = 0;
});

afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await listener?.close();
  listener = undefined;
  await journal?.close();
  journal = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A listener whose flow keeps every message in processing (the test completes or fails it). */
async function start(extra: Partial<ListenerOptions> = {}, onMessage?: (m: Dispatched) => void): Promise<MllpListener> {
  const l = new MllpListener(
    { host: '127.0.0.1', port: 0, journalFile: path.join(dir, 'journal.sqlite'), synchronous: 'NORMAL', ...extra },
    (m) => {
      dispatched.push(m);
      onMessage?.(m);
    },
    (text) => errors.push(text),
  );
  listener = l;
  await l.start();
  return l;
}

async function gap(l: MllpListener): Promise<Peer> {
  const p = await Peer.connect(l.port);
  peers.push(p);
  return p;
}

/** Sends admissions (one venue each unless given) and waits for their AA. */
async function admit(l: MllpListener, items: Array<[controlId: string, venue: string]>): Promise<void> {
  const g = await gap(l);
  for (const [id, venue] of items) g.send(adt(id, venue));
  const acks = await g.waitAcks(items.length);
  expect(acks.map((a) => a.code)).toEqual(items.map(() => 'AA'));
}

const venueOf = (m: Dispatched) => m.record.orderingKey;

describe('MLLP listener: messages in processing', () => {
  it('never hands out more than maxInFlight messages at once, the next one once one comes back', async () => {
    const l = await start({ maxInFlight: 2 });
    await admit(l, [
      ['MIF-1', '300000001'],
      ['MIF-2', '300000002'],
      ['MIF-3', '300000003'],
      ['MIF-4', '300000004'],
    ]);
    await waitFor(() => dispatched.length === 2, 'two messages in processing');
    await sleep(150); // the others stay queued: the bound holds
    expect(dispatched.map((m) => m.record.controlId)).toEqual(['MIF-1', 'MIF-2']);
    expect(l.processing).toBe(2);
    expect(l.stats.dispatched).toBe(2);
    expect(l.owns(dispatched[0].journalId)).toBe(true);

    await l.complete(dispatched[0].journalId);
    expect(l.owns(dispatched[0].journalId)).toBe(false);
    await waitFor(() => dispatched.length === 3, 'the third handed out once the first came back');
    await sleep(50);
    expect(dispatched).toHaveLength(3);
    expect(l.processing).toBe(2);
    expect(l.stats).toMatchObject({ dispatched: 3, completed: 1, failed: 0 });
  });

  it('a bound of 1 holds when several venues are committed together (one hand-out loop at a time)', async () => {
    let most = 0;
    const l = await start({ maxInFlight: 1 }, () => {
      most = Math.max(most, listener!.processing);
    });
    // two GAP connections: their admissions are committed in the same group commit
    const [a, b] = await Promise.all([gap(l), gap(l)]);
    a.send(adt('ONE-1', '310000001'));
    b.send(adt('ONE-2', '310000002'));
    await Promise.all([a.waitAcks(1), b.waitAcks(1)]);
    await waitFor(() => dispatched.length === 1, 'one message in processing');
    await sleep(150);
    expect(dispatched).toHaveLength(1);
    expect(most).toBe(1);
    await l.complete(dispatched[0].journalId);
    await waitFor(() => dispatched.length === 2, 'the other one after it');
    expect(most).toBe(1);
  });

  it('complete() records the service exchanges under the venue, DONE or IGNORED, and refuses a message not in processing', async () => {
    const l = await start();
    await admit(l, [['EXC-1', '320000001']]);
    await waitFor(() => dispatched.length === 1, 'dispatched');
    const m = dispatched[0];
    expect(venueOf(m)).toBe('PV1-19:320000001');
    await l.complete(m.journalId, 'IGNORED', [
      { service: 'IDB', outcome: 'OK' },
      { service: 'CLC', outcome: 'KO', detail: 'rejet 12' },
    ]);
    const ex = await l.journal.exchanges('PV1-19:320000001');
    expect(ex.map((x) => [x.service, x.outcome, x.detail ?? null]).sort()).toEqual([
      ['CLC', 'KO', 'rejet 12'],
      ['IDB', 'OK', null],
    ]);
    expect((await l.journal.get(m.journalId))!.state).toBe('IGNORED');
    expect(l.stats.completed).toBe(1);

    await expect(l.complete(m.journalId)).rejects.toThrow(`message ${m.journalId} du journal n’est pas en traitement ici`);
    await expect(l.complete(9999)).rejects.toThrow('message 9999 du journal n’est pas en traitement ici');
    expect(l.stats.completed).toBe(1);
  });

  it('a message without ordering key has its exchanges recorded under #<id>', async () => {
    const l = await start();
    // e.g. a row of an older version or a resent keyless row: no ordering key in the journal
    const s = await l.dispatcher.accept({ raw: Buffer.from(adt('KEYLESS-1'), 'utf8'), channel: 'mllp:test', event: 'ADT^A01' });
    await waitFor(() => dispatched.length === 1, 'the keyless message dispatched');
    expect(venueOf(dispatched[0])).toBeUndefined();
    await l.complete(s.id, 'DONE', [{ service: 'IDB', outcome: 'OK' }]);
    expect((await l.journal.exchanges(`#${s.id}`)).map((x) => x.service)).toEqual(['IDB']);
  });

  it('fail() holds the venue (its next message waits), release() lets it flow, resend() processes a message again', async () => {
    const l = await start();
    await admit(l, [
      ['HLD-1', '330000001'],
      ['HLD-2', '330000001'],
      ['HLD-3', '330000009'],
    ]);
    await waitFor(() => dispatched.length === 2, 'the head of each venue dispatched');
    const first = dispatched.find((m) => m.record.controlId === 'HLD-1')!;
    const other = dispatched.find((m) => m.record.controlId === 'HLD-3')!;
    await expect(l.fail(9999, 'x')).rejects.toThrow('message 9999 du journal n’est pas en traitement ici');

    const r = await l.fail(first.journalId, 'IDB indisponible');
    expect(r).toEqual({ heldKey: 'PV1-19:330000001', waiting: 1 });
    expect(l.stats.failed).toBe(1);
    expect(l.owns(first.journalId)).toBe(false);
    await expect(l.fail(first.journalId, 'again')).rejects.toThrow(`message ${first.journalId} du journal n’est pas en traitement ici`);
    expect(l.stats.failed).toBe(1);
    expect((await l.heldKeys()).map((h) => h.orderingKey)).toEqual(['PV1-19:330000001']);
    await sleep(100);
    expect(dispatched).toHaveLength(2); // HLD-2 waits behind the held venue

    // retry (the default mode): the failed message first, then the one that waited
    const ids = await l.release('PV1-19:330000001');
    expect(ids).toHaveLength(2);
    expect(await l.heldKeys()).toEqual([]);
    await waitFor(() => dispatched.length === 3, 'the failed message retried');
    expect(dispatched[2].record.controlId).toBe('HLD-1');
    await l.complete(dispatched[2].journalId);
    await waitFor(() => dispatched.length === 4, 'then the message that waited');
    expect(dispatched[3].record.controlId).toBe('HLD-2');
    await l.complete(dispatched[3].journalId);

    // resend a finished message: a new row, processed again
    await l.complete(other.journalId);
    const again = await l.resend(other.journalId);
    expect(again.id).not.toBe(other.journalId);
    await waitFor(() => dispatched.length === 5, 'the resent message dispatched');
    expect(dispatched[4]).toMatchObject({ journalId: again.id, record: { controlId: 'HLD-3', resendOf: other.journalId } });
    await l.complete(again.id);
    expect(l.stats).toMatchObject({ dispatched: 5, completed: 4, failed: 1 });
  });

  it('a flow that throws is reported, the listener goes on handing out', async () => {
    const l = await start({}, (m) => {
      if (m.record.controlId === 'THR-1') throw new Error('bug in a function node');
      void listener!.complete(m.journalId);
    });
    await admit(l, [
      ['THR-1', '340000001'],
      ['THR-2', '340000002'],
    ]);
    await waitFor(() => dispatched.length === 2, 'both dispatched');
    const thrown = dispatched[0].record.controlId === 'THR-1' ? dispatched[0] : dispatched[1];
    expect(errors).toContain(`traitement du message ${thrown.journalId} : erreur interne`);
    expect(errors.join('\n')).not.toMatch(/bug in a function node/);
  });

  it('a journal that cannot hand out work is reported while running, not once closed', async () => {
    const l = await start();
    const next = jest.spyOn(l.dispatcher, 'next').mockRejectedValueOnce(new Error('SQLITE_IOERR'));
    await admit(l, [['NXT-1', '350000001']]);
    await waitFor(() => errors.length > 0, 'the failure reported');
    expect(errors).toEqual(['journal : lecture des messages à traiter impossible']);
    // the work is not lost: the next hand-out (here after another message) takes it
    await admit(l, [['NXT-2', '350000002']]);
    await waitFor(() => dispatched.length === 2, 'both dispatched after the failure');

    // a failure that comes back after close() is no news
    errors.length = 0;
    let fail!: (e: Error) => void;
    next.mockImplementationOnce(() => new Promise((_, reject) => (fail = reject)));
    await admit(l, [['NXT-3', '350000003']]);
    await waitFor(() => fail !== undefined, 'a hand-out under way');
    await l.close();
    fail(new Error('SQLITE_MISUSE: database is closed'));
    await sleep(20);
    expect(errors).toEqual([]);
  });
});

describe('MLLP listener: the processing timeout', () => {
  it('fails a message the flow never answered, after the timeout and not before, and reports it', async () => {
    const l = await start({ processingTimeoutMs: 600 });
    await admit(l, [['TMO-1', '360000001']]);
    await waitFor(() => dispatched.length === 1, 'dispatched');
    const since = Date.now();
    const id = dispatched[0].journalId;
    await waitFor(() => errors.length > 0, 'the sweep failed it');
    expect(Date.now() - since).toBeGreaterThanOrEqual(400); // not at the first sweep (every 150 ms)
    expect(errors).toEqual([`aucun retour du flux en 1 s (message ${id}) : venue suspendue, à libérer après vérification`]);
    expect(l.owns(id)).toBe(false);
    expect(l.stats.failed).toBe(1);
    expect((await l.heldKeys()).map((h) => h.orderingKey)).toEqual(['PV1-19:360000001']);
    expect((await l.journal.get(id))!.state).toBe('FAILED');
  });

  it('leaves alone a message answered in time', async () => {
    const l = await start({ processingTimeoutMs: 600 }, (m) => {
      setTimeout(() => void listener!.complete(m.journalId), 100);
    });
    await admit(l, [['TMO-2', '360000002']]);
    await waitFor(() => l.stats.completed === 1, 'completed');
    expect(errors).toEqual([]);
    expect(l.stats.failed).toBe(0);
  });
});

describe('MLLP listener: close()', () => {
  it('closes the connections and the port, stops its timers, closes the journal it opened', async () => {
    const timers = new Set<unknown>();
    const setI = jest.spyOn(global, 'setInterval');
    const clearI = jest.spyOn(global, 'clearInterval');
    let l: MllpListener;
    try {
      l = await start({ processingTimeoutMs: 60_000, idleTimeoutMs: 60_000 });
      for (const r of setI.mock.results) timers.add(r.value);
      expect(timers.size).toBeGreaterThanOrEqual(2); // the processing sweep, the connection deadlines (and the journal's)
      const g = await gap(l);
      await waitFor(() => l.connections === 1, 'the GAP connected');
      await l.close();
      await waitFor(() => g.ended, 'the GAP connection closed by the listener');
      for (const t of timers) expect(clearI.mock.calls.map((c) => c[0])).toContain(t);
    } finally {
      setI.mockRestore();
      clearI.mockRestore();
    }
    const port = l.port;
    await expect(
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve('connected');
        });
        s.on('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(l.journal.browse()).rejects.toThrow();
    await expect(l.close()).resolves.toBeUndefined(); // twice is harmless
    listener = undefined;
  });

  it('a listener never started closes; an injected journal stays open and untouched by a closed listener', async () => {
    journal = openSqliteJournal({ file: path.join(dir, 'shared.sqlite'), synchronous: 'NORMAL' });
    const never = new MllpListener({ port: 0, journal }, () => undefined);
    await expect(never.close()).resolves.toBeUndefined();

    const l = await start({ journal, journalFile: undefined, processingTimeoutMs: 200 });
    await admit(l, [['SHR-1', '370000001']]);
    await waitFor(() => dispatched.length === 1, 'dispatched');
    await l.close();
    listener = undefined;
    await sleep(400); // past the processing timeout: a closed listener fails nothing
    const row = await journal.get(dispatched[0].journalId);
    expect(row!.state).toBe('PROCESSING');
    expect(await journal.heldKeys()).toEqual([]);
    expect(errors).toEqual([]);
  });
});
