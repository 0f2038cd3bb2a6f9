/**
 * The MLLP listener behind roc-mllp-in, without Node-RED: TCP/TLS server → MllpDeframer →
 * lib/hl7 receive() → journal append (group commit) → ACK written ONLY once the append resolved
 * (the row is committed) → VenueDispatcher hands committed messages out, one in processing per
 * venue (ordering key), in arrival order.
 *
 * Bad input never stops the listener: every frame, oversize frame (its first 4 KiB), truncated frame and piece of
 * non-blank garbage is stored raw (state IGNORED, never processed) and answered with an AR/CR
 * whose ERR names the place. Only a frame cut by the peer closing its connection cannot be
 * answered (it is stored, nobody is left to answer).
 *
 * Rejected messages (AE/AR) are stored WITHOUT their MSH-10 as duplicate key, so a corrected
 * message resent with the same MSH-10 is processed; the control id stays readable in the raw row.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { ackContextFromBytes } from '../hl7/ack';
import { charsetFromMsh18, readMsh18 } from '../hl7/charset';
import { MllpDeframer, frame, type MllpEvent } from '../hl7/mllp';
import { acksFor, receive, rejectOversize, type Hl7Intake, type IntakeOptions } from '../hl7/intake';
import { DEFAULT_CHARSET, TABLE_0357, type Hl7Charset } from '../hl7/profile';
import type { Hl7Issue } from '../hl7/types';
import { openSqliteJournal, type SqliteJournal } from '../store/sqlite';
import { VenueDispatcher } from '../store/dispatcher';
import type { HeldKey, InboundInput, InboundRecord, ServiceExchange, Stored } from '../store/journal';

export interface ListenerTls {
  certFile: string;
  keyFile: string;
  caFile?: string;
  /** Ask for and verify a client certificate (signed by caFile). */
  requestCert?: boolean;
  passphrase?: string;
}

export interface ListenerOptions {
  host?: string;
  /** 0: any free port (see `port` once started). */
  port: number;
  tls?: ListenerTls;
  /** Charset when MSH-18 is empty or unknown (default ISO 8859-15). */
  defaultCharset?: Hl7Charset;
  /** SQLite journal file. */
  journalFile: string;
  synchronous?: 'FULL' | 'NORMAL';
  /** Raw messages kept this many days once finished (default 30; 0 = keep): see docs/journal.md. */
  retentionDays?: number;
  /** Group-commit window in ms (default 0: commit at the end of the event-loop turn). */
  commitWindowMs?: number;
  /** Largest MLLP payload in bytes (default 1 MiB). */
  maxFrameSize?: number;
  /** Simultaneous connections (default 50); more are refused (closed at once). */
  maxConnections?: number;
  /** A connection silent this long is closed (ms, default 300 000; 0 = never). */
  idleTimeoutMs?: number;
  /** Messages in processing at once, over all venues (default 100). */
  maxInFlight?: number;
  /**
   * A message handed to the flow that has not come back (complete/fail) within this time is
   * failed, so its venue is HELD (visible, releasable) instead of silently busy forever — e.g. a
   * branch of the flow that forgot to wire the feedback (ms, default 300 000; 0 = never).
   */
  processingTimeoutMs?: number;
  /** Journal channel name (default `mllp:<port>`). */
  channel?: string;
  /** Our MSH-3/MSH-4 when the original had no receiving ones. */
  application?: string;
  facility?: string;
}

/** One committed message handed out for processing. */
export interface Dispatched {
  journalId: number;
  text?: string;
  intake: Hl7Intake;
  record: InboundRecord;
}

export interface ListenerStats {
  connections: number;
  received: number;
  acked: number;
  duplicates: number;
  rejected: number;
  dispatched: number;
  completed: number;
  failed: number;
}

const ISSUE = (code: keyof typeof TABLE_0357, message: string, location?: Hl7Issue['location']): Hl7Issue => ({
  code,
  severity: 'E',
  message: `${TABLE_0357[code].fr} : ${message}`,
  ...(location ? { location } : {}),
});

/** A verdict for bytes that are not a whole HL7 message (truncated frame, garbage). */
function rejectBytes(bytes: Buffer, defaultCharset: Hl7Charset, issue: Hl7Issue): Hl7Intake {
  const charset = charsetFromMsh18(readMsh18(bytes)) ?? defaultCharset;
  let context;
  try {
    context = ackContextFromBytes(bytes, charset);
  } catch {
    context = { sendingApplication: '', sendingFacility: '', receivingApplication: '', receivingFacility: '', charset };
  }
  return { context, charset, ackCode: 'AR', issues: [issue], meaning: 'IGNORE', ignored: false };
}

interface Conn {
  socket: net.Socket;
  deframer: MllpDeframer;
  /** ACKs are written in arrival order on a connection. */
  tail: Promise<void>;
  /** Bytes outside frames are reported when a frame starts; after a quiet moment, at once. */
  garbageTimer?: NodeJS.Timeout;
}

/** Non-blank bytes outside frames with nothing after them are answered after this pause. */
const GARBAGE_QUIET_MS = 100;

export class MllpListener {
  readonly journal: SqliteJournal;
  readonly dispatcher: VenueDispatcher;
  readonly stats: ListenerStats = { connections: 0, received: 0, acked: 0, duplicates: 0, rejected: 0, dispatched: 0, completed: 0, failed: 0 };
  private server?: net.Server;
  private readonly conns = new Set<Conn>();
  private readonly inFlight = new Map<number, string | undefined>();
  private readonly inFlightSince = new Map<number, number>();
  private sweepTimer?: NodeJS.Timeout;
  private closed = false;
  private pumping = false;
  private readonly intakeOptions: IntakeOptions;
  private readonly maxInFlight: number;
  private channel: string;

  constructor(
    readonly options: ListenerOptions,
    private readonly onMessage: (m: Dispatched) => void,
    private readonly onError: (text: string) => void = () => undefined,
  ) {
    this.journal = openSqliteJournal({ file: options.journalFile, synchronous: options.synchronous, windowMs: options.commitWindowMs, retentionDays: options.retentionDays, onPurgeError: (e) => onError(e.message) });
    this.dispatcher = new VenueDispatcher(this.journal);
    this.intakeOptions = { defaultCharset: options.defaultCharset ?? DEFAULT_CHARSET };
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 100);
    this.channel = options.channel ?? `mllp:${options.port}`;
    this.dispatcher.on('ready', () => this.pump());
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : this.options.port;
  }

  get connections(): number {
    return this.conns.size;
  }

  get processing(): number {
    return this.inFlight.size;
  }

  /** Loads the pending work (resumption), then listens. */
  async start(): Promise<{ resumed: number; held: number }> {
    const loaded = await this.dispatcher.load();
    const o = this.options;
    const handler = (socket: net.Socket) => this.onConnection(socket);
    if (o.tls) {
      this.server = tls.createServer(
        {
          cert: fs.readFileSync(o.tls.certFile),
          key: fs.readFileSync(o.tls.keyFile),
          ca: o.tls.caFile ? fs.readFileSync(o.tls.caFile) : undefined,
          passphrase: o.tls.passphrase || undefined,
          requestCert: !!o.tls.requestCert,
          rejectUnauthorized: !!o.tls.requestCert,
        },
        handler,
      );
      // A failed handshake (no or bad client certificate) must not disturb the server.
      this.server.on('tlsClientError', () => undefined);
    } else {
      this.server = net.createServer(handler);
    }
    this.server.maxConnections = o.maxConnections ?? 50;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(o.port, o.host ?? '0.0.0.0', () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    this.server.on('error', (e) => this.onError(`écoute MLLP : ${(e as NodeJS.ErrnoException).code ?? 'erreur'}`));
    if (this.options.channel === undefined) this.channel = `mllp:${this.port}`;
    const timeoutMs = o.processingTimeoutMs ?? 300_000;
    if (timeoutMs > 0) {
      this.sweepTimer = setInterval(() => this.sweep(timeoutMs), Math.max(50, Math.min(10_000, timeoutMs / 4)));
      this.sweepTimer.unref();
    }
    this.pump();
    return loaded;
  }

  private onConnection(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const conn: Conn = { socket, deframer: new MllpDeframer({ maxFrameSize: this.options.maxFrameSize }), tail: Promise.resolve() };
    this.conns.add(conn);
    this.stats.connections++;
    socket.setNoDelay(true);
    const idle = this.options.idleTimeoutMs ?? 300_000;
    if (idle > 0) socket.setTimeout(idle, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      let events: MllpEvent[];
      try {
        events = conn.deframer.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const e of events) this.onEvent(conn, e);
      if (conn.garbageTimer) clearTimeout(conn.garbageTimer);
      conn.garbageTimer = undefined;
      if (!conn.deframer.inProgress && conn.deframer.buffered > 0) {
        conn.garbageTimer = setTimeout(() => {
          conn.garbageTimer = undefined;
          if (!conn.deframer.inProgress) for (const e of conn.deframer.flush()) this.onEvent(conn, e);
        }, GARBAGE_QUIET_MS);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (conn.garbageTimer) clearTimeout(conn.garbageTimer);
      conn.garbageTimer = undefined;
      this.conns.delete(conn);
      for (const e of conn.deframer.flush()) this.onEvent(conn, e, true);
    });
  }

  private onEvent(conn: Conn, e: MllpEvent, closing = false): void {
    const def = this.intakeOptions.defaultCharset ?? DEFAULT_CHARSET;
    switch (e.kind) {
      case 'frame':
        this.handle(conn, e.bytes, receive(e.bytes, this.intakeOptions));
        return;
      case 'oversize':
        this.handle(conn, e.head, rejectOversize(e.head, e.size, conn.deframer.maxFrameSize, this.intakeOptions), !closing);
        return;
      case 'incomplete': {
        const why =
          e.reason === 'restarted'
            ? `trame MLLP tronquée : un nouveau début de trame (VT) est arrivé après ${e.bytes.length} octets, avant la fin (FS)`
            : `trame MLLP tronquée : la connexion s’est fermée après ${e.bytes.length} octets, avant la fin (FS)`;
        this.handle(conn, e.bytes, rejectBytes(e.bytes, def, ISSUE('100', why, { segment: 'MSH', sequence: 1, field: 1 })), !closing && e.reason === 'restarted');
        return;
      }
      case 'garbage':
        if (e.blank) return;
        this.handle(conn, e.bytes, rejectBytes(e.bytes, def, ISSUE('100', `${e.bytes.length} octets reçus hors trame MLLP (VT … FS CR attendu)`)), !closing);
        return;
    }
  }

  /** Store, then (and only then) answer. */
  private handle(conn: Conn, raw: Buffer, intake: Hl7Intake, answer = true): void {
    this.stats.received++;
    const accepted = intake.ackCode !== 'AR' && intake.ackCode !== 'AE';
    if (!accepted) this.stats.rejected++;
    const ctx = intake.context;
    const input: InboundInput = {
      raw,
      channel: this.channel,
      sendingApplication: ctx.sendingApplication || undefined,
      sendingFacility: ctx.sendingFacility || undefined,
      controlId: accepted ? ctx.controlId || undefined : undefined,
      event: intake.admission ? `${intake.admission.messageType}^${intake.admission.event}` : ctx.event,
      charset: intake.charset,
      orderingKey: accepted ? intake.admission?.orderingKey : undefined,
      ignored: !accepted || intake.ignored,
    };
    // Index fields the journal cannot hold (absurdly long header values) make the message
    // unusable: refuse it for good (AR, the field named) instead of a CE the GAP would resend forever.
    const tooLong = ([['sendingApplication', 'MSH-3', 200], ['sendingFacility', 'MSH-4', 200], ['controlId', 'MSH-10', 200], ['orderingKey', 'PV1-19', 200], ['event', 'MSH-9', 40], ['charset', 'MSH-18', 40]] as const).filter(
      ([k, , max]) => typeof input[k] === 'string' && (input[k] as string).length > max,
    );
    if (tooLong.length) {
      for (const [k] of tooLong) delete input[k];
      delete input.controlId;
      delete input.orderingKey;
      input.ignored = true;
      if (accepted) this.stats.rejected++;
      const [, field, max] = tooLong[0];
      const [seg, num] = field.split('-');
      intake = { ...intake, ackCode: 'AR', ignored: false, issues: [ISSUE('207', `${field} dépasse ${max} caractères`, { segment: seg, sequence: 1, field: Number(num) })] };
    }
    const stored: Promise<Stored | undefined> = this.dispatcher.accept(input).then(
      (s) => s,
      () => {
        this.onError('journal : enregistrement impossible (CE/AE 207 répondu)');
        return undefined;
      },
    );
    conn.tail = conn.tail
      .then(() => stored)
      .then((s) => {
        if (s?.duplicate) this.stats.duplicates++;
        if (!answer || conn.socket.destroyed || this.closed) return;
        const plan = acksFor(intake, s !== undefined, { application: this.options.application, facility: this.options.facility });
        const out: Buffer[] = [];
        if (plan.commit) out.push(frame(plan.commit.bytes));
        if (plan.application) out.push(frame(plan.application.bytes));
        if (out.length) {
          conn.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
          if (s) this.stats.acked++;
        }
      })
      .catch(() => undefined);
  }

  /** Hands out committed work while there is room. */
  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    const loop = async () => {
      try {
        while (!this.closed && this.inFlight.size < this.maxInFlight) {
          const records = await this.dispatcher.next(this.maxInFlight - this.inFlight.size);
          if (records.length === 0 || this.closed) break;
          for (const r of records) {
            this.inFlight.set(r.id, r.orderingKey);
            this.inFlightSince.set(r.id, Date.now());
            this.stats.dispatched++;
            const intake = receive(r.raw ?? Buffer.alloc(0), this.intakeOptions);
            const rec = { ...r };
            delete rec.raw;
            try {
              this.onMessage({ journalId: r.id, text: intake.text, intake, record: rec });
            } catch {
              this.onError(`traitement du message ${r.id} : erreur interne`);
            }
          }
        }
      } catch {
        if (!this.closed) this.onError('journal : lecture des messages à traiter impossible');
      } finally {
        this.pumping = false;
      }
    };
    void loop();
  }

  /** True when this listener handed out that message and is waiting for its outcome. */
  owns(journalId: number): boolean {
    return this.inFlight.has(journalId);
  }

  /**
   * The message was processed. `exchanges` (the online services it went through: IDB, DEL…, as
   * outcomes, never payloads) are recorded in the journal first, under its ordering key.
   */
  async complete(journalId: number, state: 'DONE' | 'IGNORED' = 'DONE', exchanges: Omit<ServiceExchange, 'orderingKey'>[] = []): Promise<void> {
    if (!this.inFlight.has(journalId)) throw new Error(`message ${journalId} du journal n’est pas en traitement ici`);
    const key = this.inFlight.get(journalId) ?? `#${journalId}`;
    this.inFlight.delete(journalId);
    this.inFlightSince.delete(journalId);
    await Promise.all(exchanges.map((x) => this.journal.recordExchange({ ...x, orderingKey: key })));
    await this.dispatcher.complete(journalId, state);
    this.stats.completed++;
    this.pump();
  }

  /** Marks the message failed: its venue is held (later messages for it wait). */
  async fail(journalId: number, reason: string): Promise<{ heldKey?: string; waiting: number }> {
    if (!this.inFlight.has(journalId)) throw new Error(`message ${journalId} du journal n’est pas en traitement ici`);
    this.inFlight.delete(journalId);
    this.inFlightSince.delete(journalId);
    const r = await this.dispatcher.fail(journalId, reason);
    this.stats.failed++;
    this.pump();
    return r;
  }

  heldKeys(): Promise<HeldKey[]> {
    return this.dispatcher.heldKeys();
  }

  async release(orderingKey: string, mode: 'retry' | 'skip' = 'retry'): Promise<number[]> {
    const ids = await this.dispatcher.release(orderingKey, mode);
    this.pump();
    return ids;
  }

  /** Fails the messages whose processing outlived `processingTimeoutMs` (see the option). */
  private sweep(timeoutMs: number): void {
    const now = Date.now();
    for (const [id, since] of this.inFlightSince) {
      if (now - since < timeoutMs) continue;
      const reason = `aucun retour du flux en ${Math.round(timeoutMs / 1000)} s (message ${id}) : venue suspendue, à libérer après vérification`;
      this.fail(id, reason).then(
        () => this.onError(reason),
        () => undefined,
      );
    }
  }

  /** Stops listening, destroys the sockets, then closes the journal (pending commits are flushed). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const c of this.conns) c.socket.destroy();
    this.conns.clear();
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    await this.journal.close();
  }
}
