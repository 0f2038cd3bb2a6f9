/**
 * The MLLP listener's deadlines and start-up options (lib/gap/mllp-listener.ts), at a small scale
 * so that mutation testing (issue 12) can run them for every mutant: with both deadlines short, a
 * GAP that exchanges frames stays connected while a peer dribbling a frame is closed at the frame
 * deadline and a peer sending only blank bytes at the idle timeout; the configuration read at
 * construction (journal required, channel, negative or zero limits, the port before start); the
 * loopback-only default address; the bytes held for partial frames; and over TLS, a client
 * without a certificate refused when one is required. 127.0.0.0/8, port 0.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { MllpListener, type Dispatched, type ListenerOptions } from '../../lib/gap/mllp-listener';
import { frame } from '../../lib/hl7/mllp';
import { generateTestPki } from '../../lib/security/pki';
import { Peer, adt, sleep } from './hostile-peers';
import { waitFor } from '../support/mllp-peer';

let dir: string;
let listener: MllpListener | undefined;
const sockets: net.Socket[] = [];
const timers: NodeJS.Timeout[] = [];
const errors: string[] = [];
const dispatched: Dispatched[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-deadlines-'));
  errors.length = 0;
  dispatched.length = 0;
});

afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const s of sockets.splice(0)) s.destroy();
  await listener?.close();
  listener = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function make(extra: Partial<ListenerOptions> = {}): MllpListener {
  const l: MllpListener = new MllpListener(
    { host: '127.0.0.1', port: 0, journalFile: path.join(dir, 'journal.sqlite'), synchronous: 'NORMAL', ...extra },
    (m) => {
      dispatched.push(m);
      void l.complete(m.journalId);
    },
    (text) => errors.push(text),
  );
  listener = l;
  return l;
}

async function start(extra: Partial<ListenerOptions> = {}): Promise<MllpListener> {
  const l = make(extra);
  await l.start();
  return l;
}

async function gap(l: MllpListener, host = '127.0.0.1'): Promise<Peer> {
  const p = await new Promise<Peer>((resolve, reject) => {
    const s = net.connect({ port: l.port, host, allowHalfOpen: true }, () => resolve(new Peer(s)));
    s.once('error', reject);
  });
  sockets.push(p.socket);
  return p;
}

const every = (ms: number, f: () => void) => timers.push(setInterval(f, ms));

describe('MLLP listener: both deadlines short', () => {
  it('a GAP exchanging frames stays; a dribbled frame is cut at the frame deadline; blank bytes alone end at the idle timeout', async () => {
    const l = await start({ idleTimeoutMs: 700, frameTimeoutMs: 600 });
    const healthy = await gap(l);
    const dribbler = await gap(l);
    const blank = await gap(l);
    // the GAP: a frame every 150 ms, the last one in two writes 60 ms apart
    let n = 0;
    every(150, () => {
      if (n < 10) healthy.send(adt(`OK-${++n}`, `40000000${n % 10}`));
    });
    // the dribbler: the MSH line at once, then a byte every 50 ms
    const bytes = frame(Buffer.from(adt('SLOW-1'), 'utf8'));
    let i = 300;
    dribbler.socket.write(bytes.subarray(0, i));
    every(50, () => {
      if (!dribbler.socket.destroyed && dribbler.socket.writable && i < bytes.length - 1) dribbler.socket.write(bytes.subarray(i, ++i));
    });
    // blank bytes outside frames every 100 ms: never answered, not a frame
    every(100, () => {
      if (!blank.socket.destroyed && blank.socket.writable) blank.socket.write('\r\n');
    });

    await dribbler.waitFor(() => dribbler.ended, 10_000, 'the frame deadline');
    expect(dribbler.acks).toHaveLength(1);
    expect(dribbler.acks[0]).toMatchObject({ code: 'AR', controlId: 'SLOW-1' });
    expect(dribbler.acks[0].errors.join('\n')).toContain(
      'trame MLLP non terminée en 1 s (délai de lecture d’une trame) : connexion fermée',
    );
    await blank.waitFor(() => blank.ended, 10_000, 'the idle timeout');
    expect(blank.acks).toEqual([]);
    await healthy.waitAcks(10, 10_000);
    const last = adt('OK-11', '400000011');
    const b = frame(Buffer.from(last, 'utf8'));
    healthy.socket.write(b.subarray(0, 100));
    await sleep(60);
    healthy.socket.write(b.subarray(100));
    const acks = await healthy.waitAcks(11, 10_000);
    expect(acks.map((a) => a.code)).toEqual(Array(11).fill('AA'));
    expect(healthy.ended).toBe(false);
    expect(l.stats).toMatchObject({ frameTimeouts: 1, idleClosed: 1 });
  });

  it('the frame deadline counts from the frame’s start, not from the connection', async () => {
    const l = await start({ idleTimeoutMs: 0, frameTimeoutMs: 400 });
    const g = await gap(l);
    await sleep(500); // connected, quiet, longer than the frame deadline
    const a = frame(Buffer.from(adt('LATE-1'), 'utf8'));
    const b = frame(Buffer.from(adt('LATE-2'), 'utf8'));
    g.socket.write(a.subarray(0, 50));
    await sleep(250);
    // the end of the first frame and the start of the next in one write: the next one's clock starts here
    g.socket.write(Buffer.concat([a.subarray(50), b.subarray(0, 50)]));
    await sleep(250);
    g.socket.write(b.subarray(50));
    expect((await g.waitAcks(2)).map((x) => [x.code, x.controlId])).toEqual([
      ['AA', 'LATE-1'],
      ['AA', 'LATE-2'],
    ]);
    expect(l.stats.frameTimeouts).toBe(0);
  });

  it('without frame deadline (0): an unfinished frame stays open (the idle deadline alone is checked)', async () => {
    const l = await start({ idleTimeoutMs: 1000, frameTimeoutMs: 0 });
    const g = await gap(l);
    g.socket.write(frame(Buffer.from(adt('OPEN-1'), 'utf8')).subarray(0, 200));
    await sleep(500); // the deadlines are checked every 200 ms
    expect(g.ended).toBe(false);
    expect(l.stats).toMatchObject({ frameTimeouts: 0, idleClosed: 0 });
    expect(l.bufferedBytes).toBeGreaterThanOrEqual(199);
  });
});

describe('MLLP listener: configuration', () => {
  it('needs a journal or a journal file', () => {
    expect(() => new MllpListener({ port: 0 }, () => undefined)).toThrow('journal or journalFile required');
  });

  it('the port before start is the configured one; the channel defaults to mllp:<port listened on>', async () => {
    const l = make();
    expect(l.port).toBe(0);
    await l.start();
    expect(l.port).toBeGreaterThan(0);
    const g = await gap(l);
    g.send(adt('CHN-1'));
    await g.waitAcks(1);
    const [row] = await l.journal.browse({});
    expect(row.channel).toBe(`mllp:${l.port}`);
    const fixed = new MllpListener({ port: 2575, journal: l.journal }, () => undefined);
    expect(fixed.port).toBe(2575);
  });

  it('an explicit channel is kept', async () => {
    const l = await start({ channel: 'gap-chu-nord' });
    const g = await gap(l);
    g.send(adt('CHN-2'));
    await g.waitAcks(1);
    expect((await l.journal.browse({}))[0].channel).toBe('gap-chu-nord');
  });

  it('negative limits take the defaults (not the minimum), 0 per address means no cap even past the default 20', async () => {
    const l = await start({ maxConnections: -5, maxConnectionsPerAddress: -1, evictGraceMs: 0 });
    const gs = await Promise.all([gap(l), gap(l), gap(l)]);
    await waitFor(() => l.connections === 3, '3 connections');
    await sleep(50);
    expect(gs.map((g) => g.ended)).toEqual([false, false, false]);
    await l.close();

    const l2 = await start({ maxConnections: 50, maxConnectionsPerAddress: 0, evictGraceMs: 0 });
    const many = await Promise.all(Array.from({ length: 22 }, () => gap(l2)));
    await waitFor(() => l2.connections === 22, '22 connections from one address');
    await sleep(50);
    expect(many.filter((g) => g.ended)).toEqual([]);
    expect(l2.stats).toMatchObject({ evicted: 0, refused: 0 });
  });

  it('listens on the loopback address only by default', async () => {
    const l = make({ host: undefined });
    await l.start();
    const g = await gap(l);
    g.send(adt('LO-1'));
    expect((await g.waitAcks(1))[0].code).toBe('AA');
    await expect(gap(l, '127.0.0.2')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a processing timeout of 0 never fails a message', async () => {
    const l: MllpListener = new MllpListener(
      { host: '127.0.0.1', port: 0, journalFile: path.join(dir, 'journal.sqlite'), synchronous: 'NORMAL', processingTimeoutMs: 0 },
      (m) => dispatched.push(m),
      (text) => errors.push(text),
    );
    listener = l;
    await l.start();
    const g = await gap(l);
    g.send(adt('NTO-1'));
    await g.waitAcks(1);
    await waitFor(() => dispatched.length === 1, 'dispatched');
    await sleep(200);
    expect(l.stats.failed).toBe(0);
    expect(errors).toEqual([]);
  });

  it('bytes held: a partial frame counts until it ends', async () => {
    const l = await start();
    const g = await gap(l);
    const b = frame(Buffer.from(adt('BUF-1'), 'utf8'));
    g.socket.write(b.subarray(0, 120));
    await waitFor(() => l.bufferedBytes >= 119, 'the partial frame held');
    g.socket.write(b.subarray(120));
    await g.waitAcks(1);
    await waitFor(() => l.bufferedBytes === 0, 'nothing held once answered');
  });
});

describe('MLLP listener over TLS', () => {
  const pki = generateTestPki();

  it('a client certificate is required when asked: without one, no ACK; with one, AA', async () => {
    const l = await start({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert: true } });
    const talk = (withCert: boolean) =>
      new Promise<string>((resolve) => {
        const s = tls.connect({
          port: l.port,
          host: '127.0.0.1',
          ca: pki.caCert,
          servername: 'localhost',
          ...(withCert ? { cert: pki.clientCert, key: pki.clientKey } : {}),
        });
        sockets.push(s);
        let got = '';
        s.on('data', (c) => (got += c.toString('latin1')));
        s.on('error', () => resolve(`error ${got}`));
        s.on('close', () => resolve(`closed ${got}`));
        s.on('secureConnect', () => s.write(frame(Buffer.from(adt(withCert ? 'TLS-OK' : 'TLS-NO'), 'utf8'))));
        setTimeout(() => resolve(`open ${got}`), 3000).unref();
        s.on('data', () => {
          if (got.includes('\u001c')) resolve(`acked ${got}`);
        });
      });
    expect(await talk(true)).toMatch(/^acked [\s\S]*MSA\|AA\|TLS-OK/);
    const without = await talk(false);
    expect(without).not.toMatch(/MSA/);
    expect(l.stats.received).toBe(1);
  });

  const silentPeer = async (l: MllpListener) => {
    const s = net.connect({ port: l.port, host: '127.0.0.1' });
    sockets.push(s);
    s.on('error', () => undefined);
    const started = Date.now();
    const closed = new Promise<number>((resolve) => s.on('close', () => resolve(Date.now() - started)));
    await new Promise((r) => s.on('connect', r));
    return { closed };
  };
  const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<'late'>((r) => setTimeout(() => r('late'), ms).unref())]);

  it('a TCP peer that never starts its handshake is closed at the frame deadline', async () => {
    const l = await start({ tls: { cert: pki.serverCert, key: pki.serverKey }, frameTimeoutMs: 300 });
    const closedAfter = await within((await silentPeer(l)).closed, 3000);
    expect(closedAfter).not.toBe('late');
    expect(closedAfter).toBeGreaterThanOrEqual(250);
  });

  it('close() ends a connection still waiting for its handshake instead of waiting for it', async () => {
    const l = await start({ tls: { cert: pki.serverCert, key: pki.serverKey }, frameTimeoutMs: 60_000 });
    const { closed } = await silentPeer(l);
    await sleep(50);
    expect(await within(l.close(), 1500)).not.toBe('late');
    expect(await within(closed, 500)).not.toBe('late');
  });

  it('without requestCert, a client without certificate is served', async () => {
    const l = await start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const got = await new Promise<string>((resolve) => {
      const s = tls.connect({ port: l.port, host: '127.0.0.1', ca: pki.caCert, servername: 'localhost' });
      sockets.push(s);
      let text = '';
      s.on('error', (e) => resolve(`error ${e.message}`));
      s.on('secureConnect', () => s.write(frame(Buffer.from(adt('TLS-ANON'), 'utf8'))));
      s.on('data', (c) => {
        text += c.toString('latin1');
        if (text.includes('\u001c')) resolve(text);
      });
    });
    expect(got).toContain('MSA|AA|TLS-ANON');
  });
});
