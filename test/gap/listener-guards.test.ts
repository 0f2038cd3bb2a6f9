/**
 * The MLLP listener's guards against peers that would starve the intake (lib/gap/mllp-listener.ts,
 * docs/mllp-intake.md), at a small scale and with small timers so that mutation testing (issue 12)
 * can run them for every mutant: the connection caps and who is evicted for a newcomer, the idle
 * timeout (complete frames count, a connection waiting for its commits is not idle), the pause of
 * a connection with too many messages waiting for their commit; and the ACK details an interface
 * engineer reads: our MSH-3/MSH-4 when the GAP named no receiver, the charset of an AR for bytes
 * outside frames, the PV1-19 wording of an unknown venue, a refusal counted once.
 * Realistic PAM-FR admissions over 127.0.0.0/8, port 0.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MllpListener, type Dispatched, type ListenerOptions } from '../../lib/gap/mllp-listener';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { Peer, adt, sleep } from './hostile-peers';
import { waitFor } from '../support/mllp-peer';
import { dft } from '../support/dft';

let dir: string;
let listener: MllpListener | undefined;
const sockets: net.Socket[] = [];
const errors: string[] = [];
const dispatched: Dispatched[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-guards-'));
  errors.length = 0;
  dispatched.length = 0;
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
      journalFile: path.join(dir, 'journal.sqlite'),
      synchronous: 'NORMAL',
      idleTimeoutMs: 0,
      frameTimeoutMs: 0,
      ...extra,
    },
    (m) => {
      dispatched.push(m);
      void l.complete(m.journalId);
    },
    (text) => errors.push(text),
  );
  listener = l;
  await l.start();
  return l;
}

async function gap(l: MllpListener, localAddress?: string): Promise<Peer> {
  const p = await Peer.connect(l.port, localAddress);
  sockets.push(p.socket);
  return p;
}

/** A connection that says nothing (closed tells when the listener closed it). */
async function silent(l: MllpListener, localAddress?: string): Promise<{ socket: net.Socket; closed: () => boolean }> {
  let closed = false;
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port: l.port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  socket.on('end', () => (closed = true));
  sockets.push(socket);
  return { socket, closed: () => closed };
}

/** Waits until the listener registered `n` connections (the accept comes after the client's connect). */
const connections = (l: MllpListener, n: number) => waitFor(() => l.connections === n, `${n} connection(s)`);

describe('MLLP listener: connection caps', () => {
  it('a newcomer evicts the oldest connection that never delivered a frame; with no such victim it is refused', async () => {
    const l = await start({ maxConnections: 2, maxConnectionsPerAddress: 0, evictGraceMs: 0 });
    const g1 = await gap(l);
    g1.send(adt('CAP-1'));
    await g1.waitAcks(1);
    const idle = await silent(l);
    await connections(l, 2);

    const g2 = await gap(l); // the silent one makes room
    await waitFor(() => idle.closed(), 'the silent connection evicted');
    await connections(l, 2);
    expect(l.stats).toMatchObject({ evicted: 1, refused: 0 });
    g2.send(adt('CAP-2'));
    await g2.waitAcks(1);

    // both deliver frames and read their ACKs: nobody to evict, the newcomer is closed at once
    const g3 = await gap(l);
    await waitFor(() => g3.ended, 'the newcomer refused');
    expect(l.stats).toMatchObject({ evicted: 1, refused: 1 });
    expect(l.connections).toBe(2);
    g1.send(adt('CAP-3'));
    g2.send(adt('CAP-4'));
    expect((await g1.waitAcks(2))[1]).toMatchObject({ code: 'AA', controlId: 'CAP-3' });
    expect((await g2.waitAcks(2))[1]).toMatchObject({ code: 'AA', controlId: 'CAP-4' });
  });

  it('a connection that sent only bytes outside frames has delivered no frame: it is evicted for a newcomer', async () => {
    const l = await start({ maxConnections: 1, evictGraceMs: 0 });
    const noisy = await gap(l);
    // garbage, then the start of a frame that never ends
    noisy.socket.write(Buffer.concat([Buffer.from('BONJOUR\r', 'latin1'), frame(Buffer.from(adt('NSY-1'), 'utf8')).subarray(0, 100)]));
    expect((await noisy.waitAcks(1))[0].code).toBe('AR');
    const g = await gap(l);
    await waitFor(() => noisy.ended, 'the noisy connection evicted');
    g.send(adt('NSY-2'));
    expect((await g.waitAcks(1))[0].code).toBe('AA');
    expect(l.stats).toMatchObject({ evicted: 1, refused: 0 });
  });

  it('a silent connection younger than evictGraceMs is not evicted', async () => {
    const l = await start({ maxConnections: 1, evictGraceMs: 60_000 });
    const idle = await silent(l);
    await connections(l, 1);
    const g = await gap(l);
    await waitFor(() => g.ended, 'the newcomer refused');
    expect(idle.closed()).toBe(false);
    expect(l.stats).toMatchObject({ evicted: 0, refused: 1 });
  });

  it('the oldest silent connection goes first', async () => {
    const l = await start({ maxConnections: 2, evictGraceMs: 0 });
    const first = await silent(l);
    await connections(l, 1);
    await sleep(5);
    const second = await silent(l);
    await connections(l, 2);
    await gap(l);
    await waitFor(() => first.closed(), 'the oldest evicted');
    await sleep(50);
    expect(second.closed()).toBe(false);
  });

  it('per remote address: a host at its cap evicts its own silent connection, never another host’s', async () => {
    const l = await start({ maxConnections: 10, maxConnectionsPerAddress: 1, evictGraceMs: 0 });
    const other = await silent(l, '127.0.0.3');
    const idle = await silent(l, '127.0.0.2');
    await connections(l, 2);
    const g = await gap(l, '127.0.0.2');
    await waitFor(() => idle.closed(), 'the host’s own silent connection evicted');
    g.send(adt('ADDR-1'));
    await g.waitAcks(1);
    expect(other.closed()).toBe(false);
    expect(l.stats).toMatchObject({ evicted: 1, refused: 0 });

    // the host's only connection delivers frames: its next one is refused, other hosts still come in
    const again = await gap(l, '127.0.0.2');
    await waitFor(() => again.ended, 'refused at the per-address cap');
    expect(l.stats.refused).toBe(1);
    const g4 = await gap(l, '127.0.0.4');
    g4.send(adt('ADDR-2'));
    expect((await g4.waitAcks(1))[0].code).toBe('AA');
    // a connection that closes frees its place for its host
    g.destroy();
    await connections(l, 2);
    const g5 = await gap(l, '127.0.0.2');
    g5.send(adt('ADDR-3'));
    expect((await g5.waitAcks(1))[0].code).toBe('AA');
    expect(l.stats.refused).toBe(1);
  });

  it('maxConnectionsPerAddress 0: no per-address cap', async () => {
    const l = await start({ maxConnections: 10, maxConnectionsPerAddress: 0, evictGraceMs: 0 });
    const s = await Promise.all([silent(l), silent(l), silent(l)]);
    await connections(l, 3);
    await sleep(50);
    expect(s.map((x) => x.closed())).toEqual([false, false, false]);
    expect(l.stats).toMatchObject({ evicted: 0, refused: 0, connections: 3 });
  });
});

describe('MLLP listener: idle timeout and commit backpressure', () => {
  it('a connection that delivers no complete frame is closed by the idle timeout', async () => {
    const l = await start({ idleTimeoutMs: 300 });
    const opened = Date.now();
    const idle = await silent(l);
    await waitFor(() => idle.closed(), 'closed for idleness');
    expect(Date.now() - opened).toBeGreaterThanOrEqual(250);
    expect(l.stats.idleClosed).toBe(1);
  });

  it('a connection waiting for its commits is not idle; once answered and quiet, it is closed', async () => {
    // a slow commit (600 ms group-commit window) and a 200 ms idle timeout
    const l = await start({ idleTimeoutMs: 200, commitWindowMs: 600 });
    const g = await gap(l);
    g.send(adt('IDL-1', '380000001'));
    await sleep(350); // past the idle timeout, the first message still waiting for its commit
    g.send(adt('IDL-2', '380000002'));
    const acks = await g.waitAcks(2);
    expect(acks.map((a) => [a.code, a.controlId])).toEqual([
      ['AA', 'IDL-1'],
      ['AA', 'IDL-2'],
    ]);
    await waitFor(() => g.ended, 'closed once quiet');
    expect(l.stats.idleClosed).toBe(1);
  });

  it('more messages waiting for their commit than maxPendingPerConnection pause the connection, the commit resumes it', async () => {
    const l = await start({ maxPendingPerConnection: 2, commitWindowMs: 300 });
    const g = await gap(l);
    // two at once: at the bound, not over it
    g.socket.write(Buffer.concat([frame(Buffer.from(adt('PND-1', '390000001'))), frame(Buffer.from(adt('PND-2', '390000002')))]));
    expect((await g.waitAcks(2)).map((a) => a.code)).toEqual(['AA', 'AA']);
    expect(l.stats.paused).toBe(0);
    // three at once: over it
    g.socket.write(Buffer.concat([3, 4, 5].map((i) => frame(Buffer.from(adt(`PND-${i}`, `39000000${i}`))))));
    await waitFor(() => l.pausedConnections === 1, 'paused while 3 messages wait for their commit');
    expect(l.stats.paused).toBe(1);
    expect((await g.waitAcks(5)).map((a) => a.code)).toEqual(['AA', 'AA', 'AA', 'AA', 'AA']);
    await waitFor(() => l.pausedConnections === 0, 'resumed once committed');
    g.send(adt('PND-6', '390000006'));
    expect((await g.waitAcks(6))[5]).toMatchObject({ code: 'AA', controlId: 'PND-6' });
  });

  it('complete frames keep a connection open past the idle timeout', async () => {
    const l = await start({ idleTimeoutMs: 600 });
    const g = await gap(l);
    const opened = Date.now();
    for (let i = 1; Date.now() - opened < 1200; i++) {
      g.send(adt(`ALV-${i}`, `38100000${i}`));
      await g.waitAcks(i, 5000);
      await sleep(150);
    }
    expect(g.ended).toBe(false);
    expect(l.stats.idleClosed).toBe(0);
  });
});

/** A raw client that keeps the ACK frames' bytes. */
async function rawGap(l: MllpListener): Promise<{ socket: net.Socket; frames: Buffer[] }> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(l.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  sockets.push(socket);
  const frames: Buffer[] = [];
  const d = new MllpDeframer();
  socket.on('data', (c) => {
    for (const e of d.push(c)) if (e.kind === 'frame') frames.push(e.bytes);
  });
  return { socket, frames };
}

const msh = (b: Buffer, enc: BufferEncoding = 'latin1') => b.toString(enc).split('\r')[0].split('|');

describe('MLLP listener: what the ACK says', () => {
  it('our MSH-3/MSH-4 are the receiving application and facility the GAP named, else the options', async () => {
    const l = await start({ application: 'ROC-PONT', facility: 'CLINIQUE-SUD' });
    const r = await rawGap(l);
    r.socket.write(frame(Buffer.from(adt('ACK-1'), 'utf8')));
    r.socket.write(frame(Buffer.from(adt('ACK-2').replace('|CPAGE|CHU-NORD|ROC-BRIDGE|CHU-NORD|', '|CPAGE|CHU-NORD|||'), 'utf8')));
    await waitFor(() => r.frames.length === 2, 'two ACKs');
    expect(msh(r.frames[0]).slice(2, 6)).toEqual(['ROC-BRIDGE', 'CHU-NORD', 'CPAGE', 'CHU-NORD']);
    expect(msh(r.frames[1]).slice(2, 6)).toEqual(['ROC-PONT', 'CLINIQUE-SUD', 'CPAGE', 'CHU-NORD']);
  });

  it('bytes outside frames are answered AR in the listener’s default charset', async () => {
    const l = await start({ defaultCharset: 'utf8' });
    const r = await rawGap(l);
    r.socket.write(Buffer.from('BONJOUR GAP\r', 'latin1'));
    await waitFor(() => r.frames.length === 1, 'the AR');
    const text = r.frames[0].toString('utf8');
    expect(msh(r.frames[0])[17]).toBe('UNICODE UTF-8');
    expect(text).toContain('MSA|AR|');
    expect(text).toContain('octets reçus hors trame MLLP');
  });

  it('an invoice for an unknown venue names PV1-19 as the venue number in its ERR', async () => {
    const l = await start();
    const g = await gap(l);
    g.send(dft({ controlId: 'INV-UNK', venue: '399999999' }));
    const [ack] = await g.waitAcks(1);
    expect(ack.code).toBe('AE');
    expect(ack.errors.join('\n')).toContain('aucune admission reçue pour ce PV1-19 (numéro de venue), facture refusée');
  });

  it('a message refused AE that also has a header too long for the journal is counted once as rejected', async () => {
    const l = await start();
    const g = await gap(l);
    g.send(
      adt('LONG-1')
        .replace('|CPAGE|', `|${'C'.repeat(201)}|`)
        .replace('|19850714|F|', '|19851345|F|'),
    );
    const [ack] = await g.waitAcks(1);
    expect(ack.code).toBe('AR');
    expect(l.stats).toMatchObject({ received: 1, rejected: 1 });
  });
});
