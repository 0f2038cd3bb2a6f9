/**
 * Test support for the MLLP listener without Node-RED: a listener on a temp SQLite journal that
 * completes every dispatched message at once, a well-behaved GAP peer that collects its ACKs, and
 * hostile peers (idle, dribbling, non-reading). Everything on 127.0.0.0/8, port 0.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MllpListener, type Dispatched, type ListenerOptions } from '../../lib/gap/mllp-listener';
import { MllpDeframer, VT, frame } from '../../lib/hl7/mllp';
import { readAck } from '../../simulator/gap';

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');

/** The UTF-8 AMO + AMC admission fixture (LEFÈVRE-BŒUF Hélène) with its MSH-10 and PV1-19 changed. */
export function adt(controlId: string, venue = '250100421', o: { enhanced?: boolean } = {}): string {
  let t = FIXTURE.replace('A01-UTF8-0001', controlId).replace(/250100421/g, venue);
  if (o.enhanced) t = t.replace('2.5^FRA^2.11|||||FRA', '2.5^FRA^2.11|||AL|AL|FRA');
  return t;
}

export type Ack = { code: string; controlId: string; errors: string[] };

export interface TestListener {
  listener: MllpListener;
  port: number;
  dispatched: Dispatched[];
  close(): Promise<void>;
}

/** A listener on a fresh temp journal; every dispatched message is completed at once. */
export async function startListener(options: Partial<ListenerOptions> = {}): Promise<TestListener> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-mllp-'));
  const dispatched: Dispatched[] = [];
  const listener: MllpListener = new MllpListener(
    { host: '127.0.0.1', port: 0, journalFile: path.join(dir, 'journal.sqlite'), synchronous: 'NORMAL', ...options },
    (m) => {
      dispatched.push(m);
      listener.complete(m.journalId).catch(() => undefined);
    },
  );
  await listener.start();
  return {
    listener,
    port: listener.port,
    dispatched,
    async close() {
      await listener.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An MLLP client that reads and collects its ACKs. */
export class Peer {
  readonly acks: Ack[] = [];
  /** The server ended its side (FIN) or the socket closed. */
  ended = false;
  closed = false;
  private readonly deframer = new MllpDeframer();
  private waiters: Array<() => void> = [];
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      for (const e of this.deframer.push(d)) if (e.kind === 'frame') this.acks.push(readAck(e.bytes)!);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }
  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  static connect(port: number, localAddress?: string): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress, allowHalfOpen: true }, () => resolve(new Peer(s)));
      s.once('error', reject);
    });
  }
  send(payload: string | Buffer): void {
    this.socket.write(frame(typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload));
  }
  /** Resolves once `n` ACKs arrived; rejects when the connection closes first or after `ms`. */
  waitAcks(n: number, ms = 15_000): Promise<Ack[]> {
    return this.waitFor(() => this.acks.length >= n, ms, `${n} ACK(s)`).then(() => this.acks);
  }
  waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timeout waiting for ${what} (got ${this.acks.length} ACKs, closed=${this.closed})`)),
        ms,
      );
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else if (this.closed) {
          clearTimeout(timer);
          reject(new Error(`connection closed while waiting for ${what} (got ${this.acks.length} ACKs)`));
        } else this.waiters.push(check);
      };
      check();
    });
  }
  destroy(): void {
    this.socket.destroy();
  }
}

/** A hostile peer: the socket and a timer to stop. */
export interface Hostile {
  kind: 'idle' | 'dribble' | 'nonreader';
  socket: net.Socket;
  closed: boolean;
  stop(): void;
}

/**
 * Opens a hostile connection. idle: connects and says nothing. dribble: VT then one byte of an
 * ADT every `everyMs`. nonreader: sends admissions every `everyMs` and never reads its ACKs.
 */
export function hostile(port: number, kind: Hostile['kind'], o: { everyMs?: number; localAddress?: string } = {}): Promise<Hostile> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: o.localAddress });
    let timer: NodeJS.Timeout | undefined;
    const h: Hostile = {
      kind,
      socket,
      closed: false,
      stop() {
        if (timer) clearInterval(timer);
        timer = undefined;
        socket.destroy();
      },
    };
    socket.on('error', () => undefined);
    socket.on('close', () => {
      h.closed = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      resolve(h);
    });
    socket.on('connect', () => {
      const every = o.everyMs ?? 200;
      if (kind === 'dribble') {
        const bytes = Buffer.from(adt('DRIBBLE'), 'utf8');
        let i = 0;
        socket.write(Buffer.from([VT]));
        timer = setInterval(() => {
          if (!socket.destroyed && socket.writable) socket.write(bytes.subarray(i % bytes.length, (i % bytes.length) + 1));
          i++;
        }, every);
      } else if (kind === 'nonreader') {
        socket.pause();
        let n = 0;
        const send = () => {
          if (!socket.destroyed && socket.writable)
            socket.write(frame(Buffer.from(adt(`NR-${socket.localPort}-${n++}`, `9${socket.localPort}`), 'utf8')));
        };
        send();
        timer = setInterval(send, every);
      }
      resolve(h);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` every 20 ms until true or `ms` passed; returns the final value. */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}
