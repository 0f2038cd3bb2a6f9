/**
 * A GAP listener and helpers for the MLLP answer sender's tests (lib/gap/mllp-sender.ts): the GAP
 * answers AA at once (`ack`), records and answers when told (`hold`) or closes every connection at
 * once (`drop`); over TLS when given a key and certificate; and the per-test harness of journals,
 * senders and GAPs, all closed after each test. 127.0.0.1, port 0.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { MllpAnswerSender, type SendOutcome } from '../../lib/gap/mllp-sender';
import { openSqliteJournal, type SqliteJournal } from '../../lib/store/sqlite';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { decodeFrame } from '../../lib/hl7/charset';
import { parseEr7 } from '../../lib/hl7/er7';

export const latin1 = (s: string) => Buffer.from(s, 'latin1');
export const DEST = 'mllp:gap.chu-nord.test:0';

export function answer(controlId: string, venue: string): Buffer {
  return latin1(
    [
      `MSH|^~\\&|ROC-BRIDGE|CLINIQUE|GAP|CHU-NORD|20261120081500||ZRC^Z01^ZRC|${controlId}|P|2.5|||||FRA|8859/1`,
      `PV1|1|I|||||||||||||||||${venue}`,
      'ZRC|IDB|OK',
    ].join('\r'),
  );
}

/** A GAP listener: `mode` ack (answers AA at once), hold (records, answers when told), drop (closes every connection at once). */
export class Gap {
  readonly received: Array<{ controlId: string; socket: net.Socket }> = [];
  connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private server?: net.Server;
  port = 0;
  constructor(
    public mode: 'ack' | 'hold' | 'drop',
    private readonly tlsOptions?: tls.TlsOptions,
  ) {}
  async start(port = 0): Promise<void> {
    const onSocket = (socket: net.Socket) => {
      this.connections++;
      socket.on('error', () => undefined);
      if (this.mode === 'drop') {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const d = new MllpDeframer();
      socket.on('data', (chunk) => {
        for (const ev of d.push(chunk)) {
          if (ev.kind !== 'frame') continue;
          const controlId = parseEr7(decodeFrame(ev.bytes).text).get('MSH-10');
          this.received.push({ controlId, socket });
          if (this.mode === 'ack') this.ack(controlId);
        }
      });
    };
    const server = this.tlsOptions ? tls.createServer(this.tlsOptions, onSocket) : net.createServer(onSocket);
    this.server = server;
    await new Promise<void>((res) => server.listen(port, '127.0.0.1', () => res()));
    this.port = (server.address() as net.AddressInfo).port;
  }
  ack(controlId: string): void {
    const g = [...this.received].reverse().find((f) => f.controlId === controlId)!;
    g.socket.write(frame(latin1(`MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ACK^Z01^ACK|G-1|P|2.5\rMSA|AA|${controlId}`)));
  }
  /** Closes the open connections (a GAP restarting), keeps listening. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

export async function until<T>(
  f: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 15000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await new Promise((res) => setTimeout(res, 15));
  }
}
/** A port nothing listens on (connections refused). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

export type SenderOptions = Partial<ConstructorParameters<typeof MllpAnswerSender>[0]>;

/**
 * Registers beforeEach/afterEach: a temporary folder per test, and every journal, sender and GAP
 * made through the harness closed after the test (mocks restored).
 */
export function senderHarness(prefix: string) {
  let dir = '';
  const journals: SqliteJournal[] = [];
  const senders: MllpAnswerSender[] = [];
  const gaps: Gap[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const s of senders.splice(0)) s.close();
    for (const g of gaps.splice(0)) await g.stop();
    for (const j of journals.splice(0)) await j.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    /** The test's journal: 3 attempts, retries after 20 to 100 ms. */
    journal(): SqliteJournal {
      const j = openSqliteJournal({
        file: path.join(dir, 'journal.sqlite'),
        recoverSentOnOpen: false,
        maxAttempts: 3,
        backoff: { baseMs: 20, factor: 2, maxMs: 100 },
      });
      journals.push(j);
      return j;
    },
    /** A GAP listening on a free port (over TLS when given server options). */
    async gap(mode: Gap['mode'], tlsOptions?: tls.TlsOptions, port = 0): Promise<Gap> {
      const g = new Gap(mode, tlsOptions);
      await g.start(port);
      gaps.push(g);
      return g;
    },
    /** A sender to 127.0.0.1:port, with what it says recorded. */
    sender(j: SqliteJournal, port: number, extra: SenderOptions = {}) {
      const s = new MllpAnswerSender({ journal: j, destination: DEST, host: '127.0.0.1', port, ...extra });
      senders.push(s);
      const events: string[] = [];
      const outcomes: SendOutcome[] = [];
      const faults: Error[] = [];
      const races: number[] = [];
      s.on('change', () => events.push('change'));
      s.on('outcome', (o: SendOutcome) => outcomes.push(o));
      s.on('fault', (e: Error) => faults.push(e));
      s.on('race', (id: number) => races.push(id));
      return { s, events, outcomes, faults, races };
    },
  };
}

export const stateOf = async (j: SqliteJournal, id: number) => (await j.getOutbound(id))!.state;
