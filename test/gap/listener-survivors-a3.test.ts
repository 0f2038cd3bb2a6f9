/**
 * The MLLP listener's clocks at their exact bounds (lib/gap/mllp-listener.ts), on what mutation
 * testing left alive: the eviction grace of a silent and of a paused connection (reached at
 * exactly evictGraceMs), which of two paused connections goes first (the one paused longest, the
 * older connection on a tie), the frame and idle deadlines (exceeded, not merely reached), bytes
 * outside frames pending at the idle timeout (stored, not answered), and the quiet pause before
 * such bytes are answered (counted from the last piece). The listener's clock (Date.now) is set
 * by the test; the sockets are real (127.0.0.1, port 0).
 *
 * Paused connections: GAPs that stop reading their ACKs while sending admissions whose MSH-3
 * went wild (900 kB, refused AR 207, echoed in the ACK), so that the unread ACKs soon exceed
 * the kernel buffers and the listener pauses them.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MllpListener, type ListenerOptions } from '../../lib/gap/mllp-listener';
import { frame } from '../../lib/hl7/mllp';
import { Peer, adt } from './hostile-peers';

const realNow = Date.now.bind(Date);
/** The listener's clock: frozen at a value the test sets. */
let clock = 0;
let dir: string;
let listener: MllpListener | undefined;
const sockets: net.Socket[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-survivors-a3-'));
  clock = realNow();
  jest.spyOn(Date, 'now').mockImplementation(() => clock);
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await listener?.close();
  listener = undefined;
  jest.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(extra: Partial<ListenerOptions> = {}): Promise<MllpListener> {
  const l: MllpListener = new MllpListener(
    {
      host: '127.0.0.1',
      port: 0,
      journalFile: path.join(dir, 'journal.sqlite'),
      synchronous: 'NORMAL',
      idleTimeoutMs: 0,
      frameTimeoutMs: 0,
      ...extra,
    },
    (m) => void l.complete(m.journalId),
  );
  listener = l;
  await l.start();
  return l;
}

/** Waits (real time) for a condition, polling at every turn of the event loop. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** Real time passing (the listener's deadline timer runs meanwhile). */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gap(l: MllpListener): Promise<Peer> {
  const p = await Peer.connect(l.port);
  sockets.push(p.socket);
  return p;
}

const wild = (controlId: string) => adt(controlId).replace('|CPAGE|', `|CPAGE${'-'.repeat(900_000)}|`);

/** The GAP stops reading its ACKs and floods: the listener pauses it (at the current clock). */
async function flood(l: MllpListener, p: Peer, prefix: string, paused: number): Promise<void> {
  p.socket.pause();
  for (let i = 0; i < 8; i++) p.send(wild(`${prefix}-${i}`));
  await until(() => l.pausedConnections === paused, `${paused} connection(s) paused`);
}

/** Admission of a newcomer at the cap: evicted someone, or refused. */
async function newcomer(l: MllpListener): Promise<'evicted' | 'refused'> {
  const before = { ...l.stats };
  const p = await gap(l);
  await until(() => l.stats.evicted + l.stats.refused > before.evicted + before.refused, 'the newcomer admitted or refused');
  p.destroy();
  return l.stats.evicted > before.evicted ? 'evicted' : 'refused';
}

/** Which of the peers the listener closed (they read again: the one closed gets the end of the stream). */
async function closedOf(peers: Record<string, Peer>): Promise<string[]> {
  for (const p of Object.values(peers)) p.socket.resume();
  await until(() => Object.values(peers).some((p) => p.ended), 'a peer closed');
  return Object.entries(peers)
    .filter(([, p]) => p.ended)
    .map(([k]) => k);
}

describe('eviction grace, at its exact bound', () => {
  it('a silent connection is evicted once it is exactly evictGraceMs old, not a millisecond before', async () => {
    const l = await start({ maxConnections: 1, evictGraceMs: 1000 });
    const t = clock;
    const silent = await gap(l);
    await until(() => l.connections === 1, 'connected');
    clock = t + 999;
    expect(await newcomer(l)).toBe('refused');
    clock = t + 1000;
    expect(await newcomer(l)).toBe('evicted');
    await until(() => silent.ended, 'the silent one closed');
  });

  it('a connection paused because it does not read its ACKs is evicted once paused for exactly evictGraceMs', async () => {
    const l = await start({ maxConnections: 1, evictGraceMs: 1000, ackBacklogBytes: 1024, maxAckBacklogBytes: 64 * 1024 * 1024 });
    const t = clock;
    const p = await gap(l);
    p.send(adt('PSE-0'));
    await p.waitAcks(1);
    await flood(l, p, 'PSE', 1);
    clock = t + 999;
    expect(await newcomer(l)).toBe('refused');
    clock = t + 1000;
    expect(await newcomer(l)).toBe('evicted');
    expect(await closedOf({ p })).toEqual(['p']);
    expect(l.stats.backlogClosed).toBe(0);
  });
});

describe('two paused connections: the one paused longest goes first', () => {
  const options = { maxConnections: 2, evictGraceMs: 1000, ackBacklogBytes: 1024, maxAckBacklogBytes: 64 * 1024 * 1024 };
  /** x connects before y; `first` is paused first (or both at once). */
  async function twoPaused(first: 'x' | 'y' | 'tie'): Promise<string[]> {
    const l = await start(options);
    const t = clock;
    const x = await gap(l);
    await until(() => l.connections === 1, 'x connected');
    const y = await gap(l);
    await until(() => l.connections === 2, 'y connected');
    const [a, b] = first === 'y' ? [y, x] : [x, y];
    await flood(l, a, 'PA', 1);
    if (first !== 'tie') clock = t + 10;
    await flood(l, b, 'PB', 2);
    clock = t + 5000;
    expect(await newcomer(l)).toBe('evicted');
    return closedOf({ x, y });
  }

  it('the older connection paused first', async () => {
    expect(await twoPaused('x')).toEqual(['x']);
  });

  it('the newer connection paused first', async () => {
    expect(await twoPaused('y')).toEqual(['y']);
  });

  it('paused at the same moment: the older connection', async () => {
    expect(await twoPaused('tie')).toEqual(['x']);
  });
});

describe('deadlines: exceeded, not merely reached', () => {
  it('a frame is cut once it lasted more than frameTimeoutMs, not at exactly frameTimeoutMs', async () => {
    const l = await start({ frameTimeoutMs: 100 });
    const t = clock;
    const g = await gap(l);
    g.socket.write(frame(Buffer.from(adt('FTO-1'), 'utf8')).subarray(0, 150));
    await until(() => l.bufferedBytes === 149, 'the partial frame held (after its VT)');
    clock = t + 100;
    await pause(200); // about ten checks of the deadlines
    expect(l.stats.frameTimeouts).toBe(0);
    clock = t + 101;
    await until(() => g.ended, 'the frame cut');
    expect(l.stats.frameTimeouts).toBe(1);
    expect(g.acks[0]).toMatchObject({ code: 'AR', controlId: 'FTO-1' });
  });

  it('a connection is idle once it delivered no frame for more than idleTimeoutMs, not at exactly idleTimeoutMs', async () => {
    const l = await start({ idleTimeoutMs: 100 });
    const t = clock;
    const g = await gap(l);
    await until(() => l.connections === 1, 'connected');
    clock = t + 100;
    await pause(200);
    expect(l.stats.idleClosed).toBe(0);
    expect(g.ended).toBe(false);
    clock = t + 101;
    await until(() => g.ended, 'closed for idleness');
    expect(l.stats.idleClosed).toBe(1);
  });

  it('bytes outside frames still pending at the idle timeout are stored, not answered', async () => {
    const l = await start({ idleTimeoutMs: 100 });
    const t = clock;
    const g = await gap(l);
    g.socket.write(Buffer.from('BONJOUR\r', 'latin1'));
    await until(() => l.bufferedBytes === 8, 'the bytes held');
    clock = t + 101; // the idle timeout comes before their quiet pause (100 ms of real time) ends
    await until(() => g.ended, 'closed for idleness');
    expect(g.acks).toEqual([]);
    await until(() => l.stats.received === 1, 'the bytes handled');
    expect(l.stats).toMatchObject({ received: 1, rejected: 1, idleClosed: 1 });
  });
});

describe('the quiet pause before bytes outside frames are answered', () => {
  it('counts from the last piece: pieces closer than the pause are answered once, together', async () => {
    // the listener's 100 ms quiet timers, fired by the test
    const realSetTimeout = global.setTimeout;
    const realClearTimeout = global.clearTimeout;
    const quiet: Array<{ fire: () => void; cleared: boolean }> = [];
    jest.spyOn(global, 'setTimeout').mockImplementation(((f: () => void, ms?: number, ...args: unknown[]) => {
      if (ms !== 100) return (realSetTimeout as (...a: unknown[]) => NodeJS.Timeout)(f, ms, ...args);
      const t = { fire: f, cleared: false };
      quiet.push(t);
      return t as unknown as NodeJS.Timeout;
    }) as typeof setTimeout);
    jest.spyOn(global, 'clearTimeout').mockImplementation(((h?: NodeJS.Timeout) => {
      const q = quiet.find((t) => (t as unknown) === h);
      if (q) q.cleared = true;
      else realClearTimeout(h);
    }) as typeof clearTimeout);
    const fireDue = (n: number) => {
      for (const q of quiet.slice(0, n)) if (!q.cleared) q.fire();
    };

    const l = await start();
    const g = await gap(l);
    g.socket.write(Buffer.from('BON', 'latin1'));
    await until(() => quiet.length === 1, 'the first piece read');
    g.socket.write(Buffer.from('JOUR\r', 'latin1'));
    await until(() => quiet.length === 2, 'the second piece read');
    fireDue(1); // 100 ms after the first piece, the second one is still recent
    g.socket.write(Buffer.from(' ROC\r', 'latin1'));
    await until(() => quiet.length === 3, 'the third piece read');
    fireDue(3); // quiet at last
    const [ack] = await g.waitAcks(1);
    expect(ack.code).toBe('AR');
    expect(ack.errors.join('\n')).toContain('13 octets reçus hors trame MLLP');
    expect(l.stats.received).toBe(1);
  });
});
