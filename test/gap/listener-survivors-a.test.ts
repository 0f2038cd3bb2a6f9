/**
 * The MLLP listener's start-up, caps and backpressure (lib/gap/mllp-listener.ts), on what mutation
 * testing left alive: the backlog limits as configured (the hard limit never below the soft one),
 * the bytes held for unread ACKs, the per-address count when one of several connections leaves,
 * limits that are not numbers, a connection we are ending (freed for a newcomer once flushed,
 * never while it still has ACKs to write), the TLS key passphrase, a busy port, errors of the
 * server itself, a partial frame at the idle timeout, how soon the deadlines and the processing
 * timeout are enforced. Realistic PAM-FR admissions over 127.0.0.0/8, port 0.
 *
 * Unread ACKs pile up in the listener only once the kernel buffers of the loopback connection are
 * full (about 4 MB here): the flooding peer's admissions carry an absurd 900 kB MSH-3, refused AR
 * 207 by the listener, whose ACK echoes it (MSH-5), so a few messages are enough.
 */
import crypto from 'node:crypto';
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
const servers: net.Server[] = [];
const errors: string[] = [];
const dispatched: Dispatched[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-survivors-a-'));
  errors.length = 0;
  dispatched.length = 0;
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await listener?.close();
  listener = undefined;
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

function make(extra: Partial<ListenerOptions> = {}, onMessage?: (m: Dispatched, l: MllpListener) => void): MllpListener {
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
      if (onMessage) onMessage(m, l);
      else void l.complete(m.journalId);
    },
    (text) => errors.push(text),
  );
  listener = l;
  return l;
}

async function start(extra: Partial<ListenerOptions> = {}, onMessage?: (m: Dispatched, l: MllpListener) => void): Promise<MllpListener> {
  const l = make(extra, onMessage);
  await l.start();
  return l;
}

async function gap(l: MllpListener, localAddress?: string): Promise<Peer> {
  const p = await Peer.connect(l.port, localAddress);
  sockets.push(p.socket);
  return p;
}

/** An admission whose MSH-3 went wild (900 kB): refused AR 207, its ACK echoes the 900 kB. */
const wild = (controlId: string) => adt(controlId).replace('|CPAGE|', `|CPAGE${'-'.repeat(900_000)}|`);

/** A GAP that stops reading its ACKs and sends `n` wild admissions at once. */
function flood(p: Peer, n: number, prefix: string): void {
  p.socket.pause();
  for (let i = 0; i < n; i++) p.send(wild(`${prefix}-${i}`));
}

/** Resumes reading: the ACKs held by the kernel and the listener come in. */
const resume = (p: Peer) => p.socket.resume();

describe('unread ACKs: the soft and hard backlog limits as configured', () => {
  it('a hard limit above the soft one: the peer that does not read is paused, not closed, and gets every ACK once it reads', async () => {
    const l = await start({ ackBacklogBytes: 1024, maxAckBacklogBytes: 64 * 1024 * 1024 });
    const g = await gap(l);
    flood(g, 8, 'BKL');
    await waitFor(() => l.pausedConnections === 1 || l.stats.backlogClosed > 0, 'paused or closed');
    expect(l.stats).toMatchObject({ backlogClosed: 0, paused: 1 });
    // the bytes held are the ACKs the peer did not take (no partial frame is held)
    expect(l.bufferedBytes).toBeGreaterThan(100_000);
    resume(g);
    const acks = await g.waitAcks(8);
    expect(acks.map((a) => [a.code, a.controlId])).toEqual(Array.from({ length: 8 }, (_, i) => ['AR', `BKL-${i}`]));
    expect(acks[0].errors.join('\n')).toContain('MSH-3 dépasse 200 caractères');
    await waitFor(() => l.pausedConnections === 0, 'resumed');
    expect(l.connections).toBe(1);
  });

  it('a hard limit below the soft one is raised to it: megabytes of unread ACKs under the soft limit close nothing', async () => {
    const l = await start({ ackBacklogBytes: 64 * 1024 * 1024, maxAckBacklogBytes: 2048 });
    const g = await gap(l);
    flood(g, 8, 'RSD');
    await waitFor(() => l.stats.acked === 8 || l.stats.backlogClosed > 0, 'every ACK written, or the peer closed');
    await waitFor(() => l.bufferedBytes > 2048 || l.stats.backlogClosed > 0, 'ACK bytes held');
    expect(l.stats).toMatchObject({ backlogClosed: 0, paused: 0 });
    expect(errors).toEqual([]);
    resume(g);
    expect((await g.waitAcks(8)).map((a) => a.code)).toEqual(Array(8).fill('AR'));
    expect(g.ended).toBe(false);
  });
});

describe('a connection we are ending, and a newcomer at the cap', () => {
  /** Connects a GAP that keeps its side open after ours ended. */
  const connect = async (l: MllpListener, n: number) => {
    const p = await gap(l);
    await waitFor(() => l.stats.connections === n, `connection ${n} registered`);
    return p;
  };

  it('ended by the idle timeout, everything flushed: its place goes to the newcomer, the oldest such one first', async () => {
    const l = await start({ maxConnections: 2, idleTimeoutMs: 150, evictGraceMs: 60_000 });
    const first = await connect(l, 1);
    const second = await connect(l, 2);
    await waitFor(() => first.ended && second.ended, 'both ended by the idle timeout (our FIN)');
    expect(first.closed || second.closed).toBe(false); // they keep their side open
    const g = await gap(l);
    await waitFor(() => l.stats.evicted + l.stats.refused > 0, 'the newcomer admitted or refused');
    expect(l.stats).toMatchObject({ evicted: 1, refused: 0 });
    // the one destroyed answers the next bytes with a reset (seen at the following write); the
    // other one still waits for its FIN
    for (let i = 0; i < 100 && !first.closed && !second.closed; i++) {
      first.socket.write('\r');
      second.socket.write('\r');
      await sleep(20);
    }
    expect([first.closed, second.closed]).toEqual([true, false]);
    g.send(adt('END-1'));
    expect((await g.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'END-1' });
  });

  it('a connection ended by the peer with a message still waiting for its commit is not evicted: its ACK arrives', async () => {
    const l = await start({ maxConnections: 1, commitWindowMs: 800, evictGraceMs: 60_000 });
    const a = await connect(l, 1);
    a.send(adt('PND-1'));
    a.socket.end(); // half-close: waits for its ACK
    await waitFor(() => l.stats.received === 1, 'the message read');
    await sleep(50);
    const b = await gap(l);
    await waitFor(() => b.ended, 'the newcomer refused');
    expect(l.stats).toMatchObject({ evicted: 0, refused: 1 });
    expect((await a.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'PND-1' });
    await waitFor(() => a.closed, 'closed once answered');
  });

  it('a connection ended by the peer whose ACKs are not read yet is not evicted: they arrive once it reads', async () => {
    // no pause: every message is read, then the peer's end of stream
    const l = await start({
      maxConnections: 1,
      evictGraceMs: 60_000,
      ackBacklogBytes: 64 * 1024 * 1024,
      maxAckBacklogBytes: 64 * 1024 * 1024,
    });
    const a = await connect(l, 1);
    flood(a, 8, 'UNR');
    a.socket.end();
    await waitFor(() => l.stats.acked === 8, 'every ACK written');
    await waitFor(() => l.bufferedBytes > 0, 'ACK bytes held');
    const b = await gap(l);
    await waitFor(() => b.ended, 'the newcomer refused');
    expect(l.stats).toMatchObject({ evicted: 0, refused: 1 });
    resume(a);
    expect((await a.waitAcks(8)).map((x) => x.controlId)).toEqual(Array.from({ length: 8 }, (_, i) => `UNR-${i}`));
  });
});

describe('caps: counting and configuration', () => {
  it('per address: when one of two connections of a host closes, the host still counts one', async () => {
    const l = await start({ maxConnections: 10, maxConnectionsPerAddress: 2, evictGraceMs: 60_000 });
    const a = await gap(l, '127.0.0.2');
    const b = await gap(l, '127.0.0.2');
    a.send(adt('PA-1'));
    b.send(adt('PA-2'));
    await a.waitAcks(1);
    await b.waitAcks(1);
    a.destroy();
    await waitFor(() => l.connections === 1, 'the first one gone');
    const c = await gap(l, '127.0.0.2');
    c.send(adt('PA-3'));
    await c.waitAcks(1);
    // b and c: the host is at its cap again
    const d = await gap(l, '127.0.0.2');
    await waitFor(() => d.ended, 'the third one refused');
    expect(l.stats).toMatchObject({ refused: 1, evicted: 0 });
    expect(l.connections).toBe(2);
  });

  it('a limit that is not a finite number takes the default (20 per address)', async () => {
    const l = await start({ maxConnectionsPerAddress: Infinity, evictGraceMs: 60_000 });
    await Promise.all(Array.from({ length: 20 }, () => gap(l)));
    await waitFor(() => l.connections === 20, '20 connections');
    const extra = await gap(l);
    await waitFor(() => extra.ended, 'the 21st refused');
    expect(l.stats).toMatchObject({ refused: 1, connections: 20 });
  });

  it('a NaN limit takes the default too', async () => {
    const l = await start({ maxConnectionsPerAddress: NaN, evictGraceMs: 60_000 });
    await Promise.all(Array.from({ length: 20 }, () => gap(l)));
    await waitFor(() => l.connections === 20, '20 connections');
    const extra = await gap(l);
    await waitFor(() => extra.ended, 'the 21st refused');
    expect(l.stats.refused).toBe(1);
  });
});

describe('start-up and the server itself', () => {
  const pki = generateTestPki();

  it('TLS with an encrypted private key and its passphrase', async () => {
    const key = crypto
      .createPrivateKey(pki.serverKey)
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'clé-du-pont' })
      .toString();
    const l = await start({ tls: { cert: pki.serverCert, key, passphrase: 'clé-du-pont' } });
    const text = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ port: l.port, host: '127.0.0.1', ca: pki.caCert, servername: 'localhost' });
      sockets.push(s);
      let got = '';
      s.on('error', reject);
      s.on('secureConnect', () => s.write(frame(Buffer.from(adt('TLS-PASS'), 'utf8'))));
      s.on('data', (c) => {
        got += c.toString('latin1');
        if (got.includes('\u001c')) resolve(got);
      });
    });
    expect(text).toContain('MSA|AA|TLS-PASS');
  });

  it('a busy port: start() rejects with the error, nothing is thrown elsewhere', async () => {
    const busy = net.createServer();
    servers.push(busy);
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    const l = make({ port });
    await expect(l.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('an error of the listening server (e.g. too many open files) is reported, and it keeps serving', async () => {
    const l = await start();
    const server = l['server'] as net.Server;
    server.emit('error', Object.assign(new Error('accept failed'), { code: 'EMFILE' }));
    server.emit('error', new Error('sans code'));
    expect(errors).toEqual(['écoute MLLP : EMFILE', 'écoute MLLP : erreur']);
    const g = await gap(l);
    g.send(adt('SRV-1'));
    expect((await g.waitAcks(1))[0].code).toBe('AA');
  });

  it('TLS: the sockets accepted and closed are not kept (no memory growth per connection)', async () => {
    const l = await start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const s = tls.connect({ port: l.port, host: '127.0.0.1', ca: pki.caCert, servername: 'localhost' });
        s.on('error', reject);
        s.on('secureConnect', () => s.write(frame(Buffer.from(adt(`TLS-${i}`), 'utf8'))));
        s.on('data', (c) => {
          if (c.includes(0x1c)) s.destroy();
        });
        s.on('close', () => resolve());
      });
    }
    const accepted = l['accepted'] as Set<net.Socket>;
    await waitFor(() => accepted.size === 0 && l.connections === 0, 'every accepted socket forgotten');
    expect(l.stats.acked).toBe(3);
  });
});

describe('deadlines', () => {
  it('at the idle timeout, a partial frame is stored raw and not answered', async () => {
    const l = await start({ idleTimeoutMs: 200, frameTimeoutMs: 0 });
    const g = await gap(l);
    const part = frame(Buffer.from(adt('IDP-1'), 'utf8')).subarray(0, 180);
    g.socket.write(part);
    await waitFor(() => g.ended, 'closed by the idle timeout');
    await waitFor(() => l.stats.received === 1, 'the piece handled');
    let rows: Awaited<ReturnType<typeof l.journal.browse>> = [];
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      rows = await l.journal.browse({});
      if (rows.length === 0) await sleep(20);
    }
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'IGNORED' });
    expect(g.acks).toEqual([]);
  });

  it('a short idle timeout is enforced at once, not at the next second, even with a long frame deadline', async () => {
    const l = await start({ idleTimeoutMs: 200, frameTimeoutMs: 30_000 });
    const t0 = Date.now();
    const g = await gap(l);
    await waitFor(() => g.ended, 'closed by the idle timeout');
    expect(Date.now() - t0).toBeLessThan(900);
    expect(l.stats.idleClosed).toBe(1);
  });

  it('a message the flow never answers is failed soon after processingTimeoutMs, not several times later', async () => {
    const l = await start({ processingTimeoutMs: 400 }, () => undefined);
    const t0 = Date.now();
    const g = await gap(l);
    g.send(adt('SWP-1'));
    await g.waitAcks(1);
    await waitFor(() => errors.length > 0 || Date.now() - t0 > 3000, 'the message failed');
    expect(Date.now() - t0).toBeLessThan(1400);
    expect(l.stats.failed).toBe(1);
    expect(errors[0]).toContain('aucun retour du flux');
  });
});
