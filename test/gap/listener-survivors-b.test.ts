/**
 * The MLLP listener's backpressure against a GAP that does not read its ACKs (lib/gap/mllp-listener.ts,
 * regulate(), docs/mllp-intake.md), measured on real loopback sockets at the exact byte: reading is
 * paused only once the unsent ACK bytes go PAST `ackBacklogBytes` (not at it), stays paused while
 * they stay past it even when the commits that also paused it are done, resumes when the peer reads
 * them (`drain`); the connection is closed once they go past `maxAckBacklogBytes`, counted once and
 * reported once, while another GAP is still served.
 *
 * The kernel holds megabytes of a loopback connection's unread bytes before Node buffers any, so
 * the hostile GAP sends admissions whose MSH-10 is absurdly long (200 000 characters): each is
 * refused AR (MSH-10 over 200 characters) and its ACK echoes the MSH-10 in MSA-2, a 200 kB ACK. It
 * sends them one at a time until exactly one ACK waits in the listener's socket, then a burst of
 * ordinary admissions in one chunk.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MllpListener, type ListenerOptions } from '../../lib/gap/mllp-listener';
import { FS, frame } from '../../lib/hl7/mllp';
import { Peer, adt } from './hostile-peers';
import { waitFor } from '../support/mllp-peer';

let dir: string;
let listener: MllpListener | undefined;
const sockets: net.Socket[] = [];
const errors: string[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-surv-b-'));
  errors.length = 0;
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await listener?.close();
  listener = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(extra: Partial<ListenerOptions> = {}): Promise<MllpListener> {
  const l: MllpListener = new MllpListener(
    {
      host: '127.0.0.1',
      port: 0,
      journalFile: path.join(dir, `journal-${Date.now()}.sqlite`),
      synchronous: 'NORMAL',
      idleTimeoutMs: 0,
      frameTimeoutMs: 0,
      ...extra,
    },
    (m) => void l.complete(m.journalId),
    (text) => errors.push(text),
  );
  listener = l;
  await l.start();
  return l;
}

async function gap(l: MllpListener): Promise<Peer> {
  const p = await Peer.connect(l.port);
  sockets.push(p.socket);
  return p;
}

/** An admission whose MSH-10 is 200 000 characters long (all of the same length). */
const longId = (i: number): Buffer => frame(Buffer.from(adt(`LONG-${String(i).padStart(4, '0')}-${'0'.repeat(200_000)}`), 'utf8'));

/** The size in bytes of the ACK (frame included) the listener writes for `bytes`, read by a GAP that reads. */
async function ackBytes(bytes: Buffer): Promise<number> {
  const l = await start();
  const s = await new Promise<net.Socket>((resolve) => {
    const c = net.connect(l.port, '127.0.0.1', () => resolve(c));
  });
  sockets.push(s);
  let n = 0;
  await new Promise<void>((resolve) => {
    s.on('data', (d: Buffer) => {
      n += d.length;
      if (d.length >= 2 && d[d.length - 2] === FS) resolve();
    });
    s.write(bytes);
  });
  s.destroy();
  await l.close();
  listener = undefined;
  return n;
}

/**
 * The GAP (not reading) sends long-MSH-10 admissions one at a time, each once the previous one is
 * answered, until the listener's socket keeps the last ACK unsent: returns how many were sent.
 */
async function fillUntilOneAckWaits(l: MllpListener, p: Peer): Promise<number> {
  for (let i = 1; i <= 400; i++) {
    p.socket.write(longId(i));
    await waitFor(() => l.stats.acked >= i || l.connections === 0, `ACK ${i} written`, 10_000);
    if (l.connections === 0 || l.bufferedBytes > 0) return i;
  }
  throw new Error('the kernel took 400 ACKs of 200 kB');
}

describe('MLLP listener: a GAP that does not read its ACKs', () => {
  it('is paused once its unsent ACKs go past ackBacklogBytes (not at it), stays paused while they do, resumes when it reads them', async () => {
    const big = await ackBytes(longId(0));
    const l = await start({ ackBacklogBytes: big, maxAckBacklogBytes: 64 * 1024 * 1024, maxPendingPerConnection: 1 });
    const p = await gap(l);
    p.socket.pause(); // reads nothing more

    const n = await fillUntilOneAckWaits(l, p);
    expect(l.connections).toBe(1);
    // exactly ackBacklogBytes wait: not past it, reading goes on
    expect(l.bufferedBytes).toBe(big);
    expect(l.pausedConnections).toBe(0);
    expect(l.stats.paused).toBe(0);

    // three admissions in one chunk: more than maxPendingPerConnection (1) wait for their commit
    // (paused), then each ACK adds to the unsent bytes, past ackBacklogBytes: paused once, and it
    // stays paused after the commits (the unsent ACKs alone keep it so)
    p.socket.write(Buffer.concat([1, 2, 3].map((i) => frame(Buffer.from(adt(`BP-${i}`, `25010${i}`), 'utf8')))));
    await waitFor(() => l.stats.acked === n + 3, 'the 3 ACKs written', 10_000);
    expect(l.pausedConnections).toBe(1);
    expect(l.stats.paused).toBe(1);
    expect(l.bufferedBytes).toBeGreaterThan(big);

    // the GAP reads its ACKs: the socket drains, reading resumes, the next admission is answered
    p.socket.resume();
    await waitFor(() => l.pausedConnections === 0, 'reading resumed once the ACKs were read', 10_000);
    p.send(adt('BP-4', '250104'));
    const acks = await p.waitAcks(n + 4);
    expect(acks.slice(0, n).every((a) => a.code === 'AR' && a.controlId.startsWith('LONG-'))).toBe(true);
    expect(acks[0].errors.join('\n')).toMatch(/\|MSH\^1\^10\^1\|207\^.*MSH-10 d.passe 200 caract.res/);
    expect(acks.slice(n).map((a) => `${a.code} ${a.controlId}`)).toEqual(['AA BP-1', 'AA BP-2', 'AA BP-3', 'AA BP-4']);
    expect(l.stats).toMatchObject({ paused: 1, backlogClosed: 0 });
  }, 30_000);

  it('is closed once its unsent ACKs go past maxAckBacklogBytes (not at it): counted and reported once; another GAP is served', async () => {
    const big = await ackBytes(longId(0));
    const l = await start({ ackBacklogBytes: big, maxAckBacklogBytes: big });
    const p = await gap(l);
    p.socket.pause();

    const n = await fillUntilOneAckWaits(l, p);
    // exactly maxAckBacklogBytes wait: not past it, the connection stays
    expect(l.stats.backlogClosed).toBe(0);
    expect(l.connections).toBe(1);
    expect(l.bufferedBytes).toBe(big);

    // a burst of ordinary admissions in one chunk: the first ACK goes past the limit, the connection
    // is closed; the ACKs after it are not written, nor counted as more closures
    p.socket.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => frame(Buffer.from(adt(`HC-${i}`, `2502${i}`), 'utf8')))));
    await waitFor(() => l.connections === 0, 'the connection closed', 10_000);
    await waitFor(() => l.stats.received === n + 20, 'the burst received', 10_000);
    expect(l.stats.backlogClosed).toBe(1);
    expect(errors).toHaveLength(1);
    const m = /^connexion MLLP 127\.0\.0\.1 fermée : (\d+) octets d’acquittements non lus \(maximum (\d+)\)$/.exec(errors[0]);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBe(big);
    expect(Number(m![1])).toBeGreaterThan(big);

    const g = await gap(l);
    g.send(adt('HC-GAP', '250300'));
    expect((await g.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'HC-GAP' });
  }, 30_000);
});
