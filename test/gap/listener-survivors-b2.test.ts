/**
 * The MLLP listener's connection life (lib/gap/mllp-listener.ts, docs/mllp-intake.md) in the cases
 * the other listener tests leave out, on real loopback sockets with realistic PAM-FR admissions and
 * DFT^P03 invoices: a frame counts even when oversize; a frame's trailing CR that arrives late
 * stays the frame's; a frame cut by a half-close or a reset is kept, not answered; a lingering peer
 * is destroyed after our FIN; a message whose ACK plan is empty is not counted as answered; a
 * failing deframer drops one connection only; the journal keeps a connection's arrival order
 * while an invoice waits for its venue check; the processing timeout at its bound; no connection
 * is served once close() was called, even during start().
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MllpListener, type Dispatched, type ListenerOptions } from '../../lib/gap/mllp-listener';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { openSqliteJournal, type SqliteJournal } from '../../lib/store/sqlite';
import { Peer, adt, sleep } from './hostile-peers';
import { waitFor } from '../support/mllp-peer';
import { dft } from '../support/dft';

let dir: string;
let listener: MllpListener | undefined;
const sockets: net.Socket[] = [];
const errors: string[] = [];
const dispatched: Dispatched[] = [];
const acked: string[] = [];
/** Dispatched messages are completed at once unless set. */
let hold = false;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-surv-b2-'));
  errors.length = 0;
  dispatched.length = 0;
  acked.length = 0;
  hold = false;
});

afterEach(async () => {
  jest.restoreAllMocks();
  jest.useRealTimers();
  for (const s of sockets.splice(0)) s.destroy();
  await listener?.close();
  listener = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function create(extra: Partial<ListenerOptions> = {}): MllpListener {
  const l: MllpListener = new MllpListener(
    {
      host: '127.0.0.1',
      port: 0,
      journalFile: path.join(dir, 'journal.sqlite'),
      synchronous: 'NORMAL',
      idleTimeoutMs: 0,
      frameTimeoutMs: 0,
      onAck: (code) => acked.push(code),
      ...extra,
    },
    (m) => {
      dispatched.push(m);
      if (!hold) void l.complete(m.journalId);
    },
    (text) => errors.push(text),
  );
  listener = l;
  return l;
}

async function start(extra: Partial<ListenerOptions> = {}): Promise<MllpListener> {
  const l = create(extra);
  await l.start();
  return l;
}

async function gap(l: MllpListener): Promise<Peer> {
  const p = await Peer.connect(l.port);
  sockets.push(p.socket);
  return p;
}

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('MLLP listener: connections', () => {
  it('a new connection is not counted as paused', async () => {
    const l = await start();
    await gap(l);
    await waitFor(() => l.connections === 1, 'the connection registered');
    expect(l.pausedConnections).toBe(0);
  });

  it('an oversize frame is a complete frame: its connection is not evicted as silent for a newcomer, the newcomer is refused', async () => {
    const l = await start({ maxConnections: 1, evictGraceMs: 0, maxFrameSize: 1024 });
    const big = await gap(l);
    big.send(adt('OVR-1'));
    const [ack] = await big.waitAcks(1);
    expect(ack).toMatchObject({ code: 'AR', controlId: 'OVR-1' });
    expect(ack.errors.join('\n')).toMatch(/message trop volumineux \(\d+ octets, maximum 1024\)/);
    const late = await gap(l);
    await late.waitFor(() => late.ended, 5000, 'the newcomer refused');
    expect(l.stats).toMatchObject({ refused: 1, evicted: 0 });
    expect(big.ended).toBe(false);
    expect(l.connections).toBe(1);
  });

  it('a frame whose CR arrives after a pause: the CR is the frame’s trailer, not a byte outside frames', async () => {
    const l = await start();
    const p = await gap(l);
    const f = frame(bytes(adt('CR-1')));
    p.socket.write(f.subarray(0, f.length - 1)); // VT … FS, the CR later
    expect((await p.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'CR-1' });
    await sleep(250); // longer than the listener's quiet pause for bytes outside frames (100 ms)
    p.socket.write('\rBONJOUR');
    const acks = await p.waitAcks(2);
    expect(acks[1].code).toBe('AR');
    expect(acks[1].errors.join('\n')).toMatch(/: 7 octets re.us hors trame MLLP/);
  });

  it('an oversize frame cut by the peer’s half-close is stored raw, not answered; our side ends', async () => {
    const l = await start({ maxFrameSize: 1024 });
    const p = await gap(l);
    const f = frame(bytes(adt('CUT-1')));
    p.socket.end(f.subarray(0, 1300)); // past maxFrameSize, no FS, then FIN
    await p.waitFor(() => p.ended, 5000, 'our side ended');
    expect(p.acks).toHaveLength(0);
    expect(l.stats).toMatchObject({ received: 1, rejected: 1, acked: 0 });
    await waitFor(() => l.connections === 0, 'the connection closed');
    const rows = await l.journal.browse();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'IGNORED' });
  });

  it('a frame cut by the peer resetting its connection is stored raw (never answered); the listener goes on', async () => {
    const l = await start();
    const p = await gap(l);
    const f = frame(bytes(adt('RST-1')));
    const part = f.subarray(0, 700);
    p.socket.write(part);
    await waitFor(() => l.bufferedBytes === part.length - 1, 'the partial frame held');
    p.socket.resetAndDestroy(); // RST: ECONNRESET on the listener's side, no FIN
    await waitFor(() => l.connections === 0, 'the connection forgotten');
    expect(l.stats).toMatchObject({ received: 1, rejected: 1, acked: 0 });
    const rows = await l.journal.browse();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'IGNORED' });
    const raw = (await l.journal.get(rows[0].id, { raw: true }))!.raw!;
    expect(raw.equals(part.subarray(1))).toBe(true);
    const g = await gap(l);
    g.send(adt('RST-2'));
    expect((await g.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'RST-2' });
  });

  it('a peer that never closes its side after our FIN (idle timeout) is destroyed after a grace', async () => {
    const realSetTimeout = global.setTimeout;
    // the grace (5 s) shortened to 50 ms; every other timer unchanged
    jest
      .spyOn(global, 'setTimeout')
      .mockImplementation(((fn: () => void, ms?: number) => realSetTimeout(fn, ms === 5000 ? 50 : ms)) as unknown as typeof setTimeout);
    const l = await start({ idleTimeoutMs: 100 });
    const p = await gap(l); // allowHalfOpen: it keeps its side open after our FIN
    await p.waitFor(() => p.ended, 4000, 'our FIN');
    expect(l.stats.idleClosed).toBe(1);
    expect(p.closed).toBe(false);
    await waitFor(() => l.connections === 0, 'the lingering connection destroyed', 4000);
  });

  it('a failing deframer drops that connection only', async () => {
    const l = await start();
    jest.spyOn(MllpDeframer.prototype, 'push').mockImplementationOnce(() => {
      throw new RangeError('mémoire insuffisante');
    });
    const bad = await gap(l);
    bad.send(adt('DEF-1'));
    await bad.waitFor(() => bad.ended, 5000, 'the connection dropped');
    expect(bad.acks).toHaveLength(0);
    const g = await gap(l);
    g.send(adt('DEF-2'));
    expect((await g.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'DEF-2' });
  });
});

describe('MLLP listener: answers', () => {
  it('a message asking for no ACK at all (MSH-15/16 NE) is stored and processed, not counted as answered, no ACK event', async () => {
    const l = await start();
    const p = await gap(l);
    p.send(adt('NE-1').replace('2.5^FRA^2.11|||||FRA', '2.5^FRA^2.11|||NE|NE|FRA'));
    p.send(adt('NE-2', '250100422'));
    const acks = await p.waitAcks(1);
    expect(acks.map((a) => `${a.code} ${a.controlId}`)).toEqual(['AA NE-2']);
    expect(l.stats).toMatchObject({ received: 2, acked: 1 });
    expect(acked).toEqual(['AA']);
    await waitFor(() => dispatched.length === 2, 'both processed');
    expect(dispatched.map((d) => d.record.controlId)).toEqual(['NE-1', 'NE-2']);
  });

  it('while an invoice waits for its venue check, a later admission of the connection waits too: journal in arrival order, the invoice refused', async () => {
    const l = await start();
    const p = await gap(l);
    p.send(adt('ADM-1', '250100421'));
    expect((await p.waitAcks(1))[0]).toMatchObject({ code: 'AA' });

    // the venue check of venue 250100999 takes as long as the test wants
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const journal = l.journal as SqliteJournal;
    const real = journal.hasSeenOrderingKey.bind(journal);
    jest.spyOn(journal, 'hasSeenOrderingKey').mockImplementation(async (key: string) => {
      if (key.endsWith(':250100999')) await released;
      return real(key);
    });

    p.socket.write(
      Buffer.concat([frame(bytes(dft({ controlId: 'DFT-1' }))), frame(bytes(dft({ controlId: 'DFT-2', venue: '250100999' })))]),
    );
    expect((await p.waitAcks(2))[1]).toMatchObject({ code: 'AA', controlId: 'DFT-1' });
    // DFT-1 is answered; DFT-2 waits for its check; the admission of its venue arrives now
    p.send(adt('ADM-2', '250100999'));
    await waitFor(() => l.stats.received === 4, 'the admission received');
    await sleep(50);
    release();
    const acks = await p.waitAcks(4);
    expect(acks.slice(2).map((a) => `${a.code} ${a.controlId}`)).toEqual(['AE DFT-2', 'AA ADM-2']);
    expect(acks[2].errors.join('\n')).toContain('venue inconnue du pont');
    const rows = (await l.journal.browse()).sort((a, b) => a.id - b.id);
    expect(rows.map((r) => r.event)).toEqual(['ADT^A01', 'DFT^P03', 'DFT^P03', 'ADT^A01']);
    expect(rows[3].controlId).toBe('ADM-2');
  });
});

describe('MLLP listener: processing timeout and close', () => {
  it('a message in processing for exactly processingTimeoutMs is overdue: failed, its venue held', async () => {
    const t0 = new Date('2026-12-07T09:00:00Z').getTime();
    jest.useFakeTimers({
      now: t0,
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'requestAnimationFrame',
        'cancelAnimationFrame',
        'requestIdleCallback',
        'cancelIdleCallback',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
    hold = true;
    const l = await start({ processingTimeoutMs: 200 });
    const p = await gap(l);
    p.send(adt('TMO-1'));
    await p.waitAcks(1);
    await waitForTurns(() => dispatched.length === 1, 'dispatched');
    jest.setSystemTime(t0 + 200); // the clock stands still at the bound
    await waitForTurns(() => errors.length > 0, 'the message failed');
    expect(errors[0]).toMatch(/^aucun retour du flux en 0 s \(message \d+\) : venue suspendue/);
    expect(l.processing).toBe(0);
    expect((await l.heldKeys()).map((h) => h.orderingKey)).toEqual(['PV1-19:250100421']);
  });

  it('close() while the journal loads (a redeploy during start-up): the port is never bound, nothing is served', async () => {
    const journal = openSqliteJournal({ file: path.join(dir, 'injected.sqlite') });
    const l = create({ journal });
    const started = l.start();
    await l.close();
    try {
      await started;
      const server = (l as unknown as { server?: net.Server }).server;
      expect(server?.listening ?? false).toBe(false);
      expect(l.stats.received).toBe(0);
      expect(l.connections).toBe(0);
    } finally {
      await journal.close();
    }
  });

  it('close() during the listen itself (the host is being looked up): start() ends, the port bound meanwhile is let go', async () => {
    const journal = openSqliteJournal({ file: path.join(dir, 'injected.sqlite') });
    const l = create({ journal });
    const listen = net.Server.prototype.listen;
    let closing: Promise<void> | undefined;
    let port = 0;
    jest.spyOn(net.Server.prototype, 'listen').mockImplementation(function (this: net.Server, ...args: unknown[]) {
      const r = (listen as (...a: unknown[]) => net.Server).apply(this, args);
      this.once('listening', () => (port = (this.address() as net.AddressInfo).port));
      closing = l.close(); // the redeploy arrives between listen() and its callback
      return r;
    });
    const timers = jest.spyOn(global, 'setInterval');
    try {
      await l.start();
      await closing;
      // no sweep or deadline timer armed for a closed listener (nothing would ever clear it)
      expect(timers).not.toHaveBeenCalled();
      const server = (l as unknown as { server?: net.Server }).server;
      expect(server).toBeDefined();
      expect(server!.listening).toBe(false);
      expect(port).toBeGreaterThan(0);
      jest.restoreAllMocks();
      const again = net.createServer();
      await new Promise<void>((resolve, reject) => again.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise((r) => again.close(r));
    } finally {
      jest.restoreAllMocks();
      await journal.close();
    }
  });
});

/** Polls `f` every 10 ms (real timers), at most 500 times: waitFor's own bound reads the clock, which the test stops. */
async function waitForTurns(f: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (f()) return;
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setTimeout(r, 10));
  }
  throw new Error(`timeout: ${what}`);
}
