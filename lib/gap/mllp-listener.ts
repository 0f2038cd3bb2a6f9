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
 *
 * No peer can starve the intake (docs/mllp-intake.md):
 * - caps: `maxConnections` in all and `maxConnectionsPerAddress` per remote address. When a cap
 *   is reached, the oldest connection that has not delivered a complete frame yet (older than
 *   `evictGraceMs`) is closed to make room, else one paused because it does not read its ACKs;
 *   a connection that delivers frames and reads its ACKs is never evicted. Without a victim, the
 *   newcomer is closed at once.
 * - deadlines: `idleTimeoutMs` counts complete frames, not bytes (a peer dribbling a byte every
 *   2 s is closed), `frameTimeoutMs` bounds the time between a frame's VT and its FS (the partial
 *   frame is stored raw and answered AR before the connection is closed).
 * - backpressure: a peer that does not read its ACKs is paused (no more reads) while its unsent
 *   bytes exceed `ackBacklogBytes`, and closed past `maxAckBacklogBytes`; a connection with too
 *   many messages waiting for their commit is paused too. Memory per connection stays bounded.
 * - half-close: the server allows half-open sockets; when a peer ends its side, every message
 *   it sent still gets its ACK, then our side ends.
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
  /** PEM files (0.1 path fields), read at start. */
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  /** PEM contents (a tls-config node's), used instead of the files. */
  cert?: string | Buffer;
  key?: string | Buffer;
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask for and verify a client certificate (signed by the CA). */
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
  /**
   * The journal, injected (the nodes lease it from lib/store's registry): the listener does not
   * close it. Without it, the listener opens `journalFile` itself and closes it.
   */
  journal?: SqliteJournal;
  /** SQLite journal file, when no journal is injected. */
  journalFile?: string;
  synchronous?: 'FULL' | 'NORMAL';
  /** Raw messages kept this many days once finished (default 30; 0 = keep): see docs/journal.md. */
  retentionDays?: number;
  /** Group-commit window in ms (default 0: commit at the end of the event-loop turn). */
  commitWindowMs?: number;
  /** Largest MLLP payload in bytes (default 1 MiB). */
  maxFrameSize?: number;
  /** Simultaneous connections in all (default 100). See the eviction rule in the header. */
  maxConnections?: number;
  /** Simultaneous connections from one remote address (default 20; 0 = no per-address cap). */
  maxConnectionsPerAddress?: number;
  /**
   * A connection that delivers no complete frame for this long is closed (ms, default 300 000;
   * 0 = never). Bytes alone (a dribbling peer, garbage) do not count.
   */
  idleTimeoutMs?: number;
  /** A frame started (VT) must end (FS) within this time (ms, default 30 000; 0 = never). */
  frameTimeoutMs?: number;
  /** Unsent ACK bytes above which reading from the peer is paused (default 64 KiB). */
  ackBacklogBytes?: number;
  /** Unsent ACK bytes above which the connection is closed (default 1 MiB). */
  maxAckBacklogBytes?: number;
  /** Messages of one connection waiting for their commit above which reading is paused (default 1000). */
  maxPendingPerConnection?: number;
  /** A connection younger than this is never evicted to make room (ms, default 1000). */
  evictGraceMs?: number;
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
  /** Called when an ACK is written to the peer, with its code (AA, AE, AR): the operations events. */
  onAck?: (ackCode: string) => void;
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
  /** Connections closed at once because a cap was reached and nothing could be evicted. */
  refused: number;
  /** Connections without a complete frame closed to make room for a newcomer. */
  evicted: number;
  /** Connections closed by the idle timeout (no complete frame). */
  idleClosed: number;
  /** Connections closed because a frame did not end in time. */
  frameTimeouts: number;
  /** Times a connection was paused because it does not read its ACKs (or too much is pending). */
  paused: number;
  /** Connections closed because their unsent ACKs went past maxAckBacklogBytes. */
  backlogClosed: number;
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
  /** Remote address (the per-address cap). */
  address: string;
  openedAt: number;
  /** Complete frames delivered (frames, oversize frames). */
  frames: number;
  /** Last complete frame, or the opening: the idle timeout counts from here. */
  lastFrameAt: number;
  /** When the frame in progress started (its VT), if one is. */
  frameStartedAt?: number;
  /** Messages handled on this connection whose ACK is not written yet. */
  pending: number;
  /** Reading paused by backpressure (since pausedAt). */
  paused: boolean;
  pausedAt?: number;
  /** The peer ended its side (half-close) or we are closing: no more reads. */
  ending: boolean;
  /** ACKs are written in arrival order on a connection. */
  tail: Promise<void>;
  /**
   * While an invoice of this connection waits for its venue check, its later frames wait here
   * before their append, so the journal keeps the connection's arrival order.
   */
  gate?: Promise<void>;
  /** Bytes outside frames are reported when a frame starts; after a quiet moment, at once. */
  garbageTimer?: NodeJS.Timeout;
}

/** Non-blank bytes outside frames with nothing after them are answered after this pause. */
const GARBAGE_QUIET_MS = 100;
/** After we end our side, a peer that does not close its own is destroyed after this delay. */
const END_GRACE_MS = 5000;

export const LISTENER_DEFAULTS = {
  maxConnections: 100,
  maxConnectionsPerAddress: 20,
  idleTimeoutMs: 300_000,
  frameTimeoutMs: 30_000,
  ackBacklogBytes: 64 * 1024,
  maxAckBacklogBytes: 1024 * 1024,
  maxPendingPerConnection: 1000,
  evictGraceMs: 1000,
} as const;

type Limits = { -readonly [K in keyof typeof LISTENER_DEFAULTS]: number };

export class MllpListener {
  readonly journal: SqliteJournal;
  readonly dispatcher: VenueDispatcher;
  readonly stats: ListenerStats = {
    connections: 0,
    refused: 0,
    evicted: 0,
    idleClosed: 0,
    frameTimeouts: 0,
    paused: 0,
    backlogClosed: 0,
    received: 0,
    acked: 0,
    duplicates: 0,
    rejected: 0,
    dispatched: 0,
    completed: 0,
    failed: 0,
  };
  private server?: net.Server;
  /** Open connections, oldest first (a Set keeps insertion order). */
  private readonly conns = new Set<Conn>();
  /** TLS only: the TCP sockets accepted and not closed yet, handshake included (close() ends them). */
  private readonly accepted = new Set<net.Socket>();
  private readonly perAddress = new Map<string, number>();
  private readonly limits: Limits;
  private deadlineTimer?: NodeJS.Timeout;
  private readonly inFlight = new Map<number, string | undefined>();
  private readonly inFlightSince = new Map<number, number>();
  /** start()'s listen, settled once the address is bound or refused. */
  private listening?: Promise<void>;
  private sweepTimer?: NodeJS.Timeout;
  private closed = false;
  private pumping = false;
  /** The latest append asked of the journal (never rejects): an invoice's venue check waits for it. */
  private lastAppend: Promise<unknown> = Promise.resolve();
  private readonly intakeOptions: IntakeOptions;
  private readonly maxInFlight: number;
  private channel!: string; // set by start(): the default names the port listened on
  private readonly ownsJournal: boolean;

  constructor(
    readonly options: ListenerOptions,
    private readonly onMessage: (m: Dispatched) => void,
    private readonly onError: (text: string) => void = () => undefined,
  ) {
    if (options.journal) {
      this.journal = options.journal;
      this.ownsJournal = false;
    } else {
      if (!options.journalFile) throw new Error('journal or journalFile required');
      this.journal = openSqliteJournal({
        file: options.journalFile,
        synchronous: options.synchronous,
        windowMs: options.commitWindowMs,
        retentionDays: options.retentionDays,
        onPurgeError: (e) => onError(e.message),
      });
      this.ownsJournal = true;
    }
    this.dispatcher = new VenueDispatcher(this.journal);
    this.intakeOptions = { defaultCharset: options.defaultCharset ?? DEFAULT_CHARSET };
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 100);
    // A missing limit reads as NaN: like any value that is not a finite number, it takes the default.
    const pick = (v = NaN, d: number, min = 0) => (!Number.isFinite(v) || v < 0 ? d : Math.max(min, v));
    const D = LISTENER_DEFAULTS;
    this.limits = {
      maxConnections: pick(options.maxConnections, D.maxConnections, 1),
      maxConnectionsPerAddress: pick(options.maxConnectionsPerAddress, D.maxConnectionsPerAddress),
      idleTimeoutMs: pick(options.idleTimeoutMs, D.idleTimeoutMs),
      frameTimeoutMs: pick(options.frameTimeoutMs, D.frameTimeoutMs),
      ackBacklogBytes: pick(options.ackBacklogBytes, D.ackBacklogBytes, 1024),
      maxAckBacklogBytes: pick(options.maxAckBacklogBytes, D.maxAckBacklogBytes, 1024),
      maxPendingPerConnection: pick(options.maxPendingPerConnection, D.maxPendingPerConnection, 1),
      evictGraceMs: pick(options.evictGraceMs, D.evictGraceMs),
    };
    if (this.limits.maxAckBacklogBytes < this.limits.ackBacklogBytes) this.limits.maxAckBacklogBytes = this.limits.ackBacklogBytes;
    this.dispatcher.on('ready', () => this.pump());
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : this.options.port;
  }

  get connections(): number {
    return this.conns.size;
  }

  /**
   * Bytes this listener holds for its connections: partial frames and garbage in the deframers,
   * plus ACK bytes written and not yet taken by the peers (socket write buffers).
   */
  get bufferedBytes(): number {
    let n = 0;
    for (const c of this.conns) n += c.deframer.buffered + c.socket.writableLength;
    return n;
  }

  /** Connections currently paused by backpressure. */
  get pausedConnections(): number {
    let n = 0;
    for (const c of this.conns) if (c.paused) n++;
    return n;
  }

  get processing(): number {
    return this.inFlight.size;
  }

  /** Loads the pending work (resumption), then listens. */
  async start(): Promise<{ resumed: number; held: number }> {
    const loaded = await this.dispatcher.load();
    // close() while the journal loaded (a redeploy during start-up): never listen, or the port
    // would stay bound with no one to close it and the redeployed node would get EADDRINUSE.
    if (this.closed) return loaded;
    const o = this.options;
    const handler = (socket: net.Socket) => this.onConnection(socket);
    if (o.tls) {
      this.server = tls.createServer(
        {
          allowHalfOpen: true,
          // A handshake is not a connection yet (the caps count established ones): bound its time
          // like a frame's (none: Node's 120 s), so half-opened TLS connections cannot pile up.
          handshakeTimeout: Math.min(this.limits.frameTimeoutMs, 120_000) || 120_000,
          cert: o.tls.cert ?? (o.tls.certFile ? fs.readFileSync(o.tls.certFile) : undefined),
          key: o.tls.key ?? (o.tls.keyFile ? fs.readFileSync(o.tls.keyFile) : undefined),
          ca: o.tls.ca ?? (o.tls.caFile ? fs.readFileSync(o.tls.caFile) : undefined),
          passphrase: o.tls.passphrase || undefined,
          requestCert: !!o.tls.requestCert,
          rejectUnauthorized: !!o.tls.requestCert,
        },
        handler,
      );
      // A failed handshake (no or bad client certificate, or none started within handshakeTimeout)
      // must not disturb the server. With a listener here Node leaves the socket open: a peer that
      // never starts its handshake would stay until it leaves, and close() would wait for it.
      this.server.on('tlsClientError', (_e, socket) => socket.destroy());
      // A connection still in its handshake is not in conns: close() must end it too, or the
      // server's close would wait for it (a Node-RED redeploy held by a silent peer).
      this.server.on('connection', (raw: net.Socket) => {
        this.accepted.add(raw);
        raw.once('close', () => this.accepted.delete(raw));
      });
    } else {
      this.server = net.createServer({ allowHalfOpen: true }, handler);
    }
    // No server.maxConnections: the caps are applied in onConnection, where a silent connection
    // can be evicted for the newcomer (the kernel-level refusal would lock the GAP out).
    // this.listening is set before listen() is called: a close() from then on waits for it
    const server = this.server;
    let settle!: { bound: () => void; refused: (e: Error) => void };
    this.listening = new Promise<void>((bound, refused) => (settle = { bound, refused }));
    server.once('error', settle.refused);
    server.listen(o.port, o.host || '127.0.0.1', () => {
      server.off('error', settle.refused);
      settle.bound();
    });
    await this.listening;
    // close() during the listen waited for it, then closed the server: nothing more to start
    if (this.closed) return loaded;
    this.server.on('error', (e) => this.onError(`écoute MLLP : ${(e as NodeJS.ErrnoException).code ?? 'erreur'}`));
    this.channel = o.channel ?? `mllp:${this.port}`;
    const timeoutMs = o.processingTimeoutMs ?? 300_000;
    if (timeoutMs > 0) {
      this.sweepTimer = setInterval(() => this.sweep(timeoutMs), Math.max(50, Math.min(10_000, timeoutMs / 4)));
      this.sweepTimer.unref();
    }
    const L = this.limits;
    const deadlines = [L.idleTimeoutMs, L.frameTimeoutMs].filter((x) => x > 0);
    if (deadlines.length) {
      const every = Math.max(20, Math.min(1000, Math.min(...deadlines) / 5));
      this.deadlineTimer = setInterval(() => this.checkDeadlines(), every);
      this.deadlineTimer.unref();
    }
    this.pump();
    return loaded;
  }

  /**
   * The connection to close for a newcomer, or undefined: the oldest one that never delivered a
   * complete frame (idle, dribbling, garbage), else the one paused longest because it does not
   * read its ACKs. Never one younger than evictGraceMs, never one still answering (a connection we
   * ended that has flushed everything goes first: it only waits for the peer's FIN). A connection
   * that delivers frames and reads its ACKs is never evicted (the idle timeout applies to it).
   */
  private victim(address?: string): Conn | undefined {
    const now = Date.now();
    const grace = this.limits.evictGraceMs;
    let silent: Conn | undefined;
    let paused: Conn | undefined;
    let done: Conn | undefined;
    for (const c of this.conns) {
      if (address !== undefined && c.address !== address) continue;
      if (c.ending) {
        // Ended by us, everything answered and flushed, waiting for the peer's FIN: free its place.
        if (!done && c.pending === 0 && c.socket.writableLength === 0) done = c;
        continue;
      }
      if (c.frames === 0) {
        // Oldest first (insertion order): the first one found is the one.
        if (now - c.openedAt >= grace) {
          silent = c;
          break;
        }
      } else if (c.paused && now - (c.pausedAt ?? now) >= grace && (!paused || (c.pausedAt ?? 0) < (paused.pausedAt ?? 0))) {
        paused = c;
      }
    }
    return done ?? silent ?? paused;
  }

  /** Applies the caps to a newcomer: true when it may stay (after evicting someone if needed). */
  private admit(address: string): boolean {
    const L = this.limits;
    const evict = (from?: string): boolean => {
      const v = this.victim(from);
      if (!v) return false;
      this.stats.evicted++;
      this.drop(v);
      return true;
    };
    if (L.maxConnectionsPerAddress > 0 && (this.perAddress.get(address) ?? 0) >= L.maxConnectionsPerAddress && !evict(address))
      return false;
    if (this.conns.size >= L.maxConnections && !evict()) return false;
    return true;
  }

  /** Forgets a connection (caps) and destroys its socket. */
  private drop(conn: Conn): void {
    this.forget(conn);
    conn.socket.destroy();
  }

  private forget(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    const n = (this.perAddress.get(conn.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(conn.address);
    else this.perAddress.set(conn.address, n);
  }

  /** Idle timeout (complete frames) and frame deadline, for every connection. */
  private checkDeadlines(): void {
    const L = this.limits;
    const now = Date.now();
    for (const c of [...this.conns]) {
      if (c.socket.destroyed) continue;
      if (L.frameTimeoutMs > 0 && c.frameStartedAt !== undefined && now - c.frameStartedAt > L.frameTimeoutMs && !c.ending) {
        this.stats.frameTimeouts++;
        this.clearGarbageTimer(c);
        const why = `trame MLLP non terminée en ${Math.round(L.frameTimeoutMs / 1000)} s (délai de lecture d’une trame) : connexion fermée`;
        this.finish(c, (e) => this.onEvent(c, e, false, why));
        continue;
      }
      // Idle: no complete frame for idleTimeoutMs, nothing pending to answer.
      if (L.idleTimeoutMs > 0 && !c.ending && c.pending === 0 && now - c.lastFrameAt > L.idleTimeoutMs) {
        this.stats.idleClosed++;
        this.clearGarbageTimer(c);
        this.finish(c, (e) => this.onEvent(c, e, true));
      }
    }
  }

  private clearGarbageTimer(c: Conn): void {
    clearTimeout(c.garbageTimer);
    c.garbageTimer = undefined;
  }

  /**
   * Stops reading, reports what the deframer holds, then ends our side once every pending ACK is
   * written (the peer may still read them); destroys the socket if the peer lingers.
   */
  private finish(conn: Conn, report: (e: MllpEvent) => void): void {
    if (conn.ending) return;
    conn.ending = true;
    conn.frameStartedAt = undefined;
    conn.socket.pause();
    for (const e of conn.deframer.flush()) report(e);
    const s = conn.socket;
    void conn.tail.then(() => {
      if (s.destroyed) return;
      s.end();
      const t = setTimeout(() => s.destroy(), END_GRACE_MS);
      t.unref();
      s.once('close', () => clearTimeout(t));
    });
  }

  /** Backpressure: pause reading while the peer lags, close it past the hard limit. */
  private regulate(conn: Conn): void {
    const s = conn.socket;
    if (s.destroyed) return;
    const L = this.limits;
    const backlog = s.writableLength;
    if (backlog > L.maxAckBacklogBytes) {
      this.stats.backlogClosed++;
      this.onError(`connexion MLLP ${conn.address} fermée : ${backlog} octets d’acquittements non lus (maximum ${L.maxAckBacklogBytes})`);
      this.drop(conn);
      return;
    }
    const over = backlog > L.ackBacklogBytes || conn.pending > L.maxPendingPerConnection;
    if (over && !conn.paused) {
      conn.paused = true;
      conn.pausedAt = Date.now();
      this.stats.paused++;
      s.pause();
    } else if (!over && conn.paused) {
      conn.paused = false;
      conn.pausedAt = undefined;
      if (!conn.ending) s.resume();
    }
  }

  private onConnection(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.on('error', () => undefined);
    const address = socket.remoteAddress ?? '?';
    if (!this.admit(address)) {
      this.stats.refused++;
      socket.destroy();
      return;
    }
    const now = Date.now();
    const conn: Conn = {
      socket,
      address,
      deframer: new MllpDeframer({ maxFrameSize: this.options.maxFrameSize }),
      openedAt: now,
      frames: 0,
      lastFrameAt: now,
      pending: 0,
      paused: false,
      ending: false,
      tail: Promise.resolve(),
    };
    this.conns.add(conn);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    this.stats.connections++;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (conn.ending) return;
      let events: MllpEvent[];
      try {
        events = conn.deframer.push(chunk);
      } catch {
        this.drop(conn);
        return;
      }
      let ended = false;
      for (const e of events) {
        if (e.kind === 'frame' || e.kind === 'oversize') {
          conn.frames++;
          conn.lastFrameAt = Date.now();
        }
        if (e.kind !== 'garbage') ended = true;
        this.onEvent(conn, e);
      }
      // The frame in progress started in this chunk when one ended before it (or none was open).
      if (!conn.deframer.inProgress) conn.frameStartedAt = undefined;
      else if (ended || conn.frameStartedAt === undefined) conn.frameStartedAt = Date.now();
      this.clearGarbageTimer(conn);
      if (!conn.deframer.inProgress && conn.deframer.buffered > 0) {
        conn.garbageTimer = setTimeout(() => {
          conn.garbageTimer = undefined;
          if (!conn.deframer.inProgress && !conn.ending) for (const e of conn.deframer.flush()) this.onEvent(conn, e);
        }, GARBAGE_QUIET_MS);
      }
      this.regulate(conn);
    });
    socket.on('drain', () => this.regulate(conn));
    // Half-close: the peer will send nothing more; answer what it sent, then end our side.
    socket.on('end', () => {
      this.clearGarbageTimer(conn);
      this.finish(conn, (e) => this.onEvent(conn, e, true));
    });
    socket.on('close', () => {
      this.clearGarbageTimer(conn);
      this.forget(conn);
      if (!conn.ending) {
        conn.ending = true;
        for (const e of conn.deframer.flush()) this.onEvent(conn, e, true);
      }
    });
  }

  private onEvent(conn: Conn, e: MllpEvent, closing = false, cutReason?: string): void {
    const def = this.intakeOptions.defaultCharset ?? DEFAULT_CHARSET;
    switch (e.kind) {
      case 'frame':
        this.handle(conn, e.bytes, receive(e.bytes, this.intakeOptions));
        return;
      case 'oversize':
        this.handle(conn, e.head, rejectOversize(e.head, e.size, conn.deframer.maxFrameSize, this.intakeOptions), !closing);
        return;
      case 'incomplete': {
        const why = cutReason
          ? `${cutReason} (${e.bytes.length} octets reçus, sans fin FS)`
          : e.reason === 'restarted'
            ? `trame MLLP tronquée : un nouveau début de trame (VT) est arrivé après ${e.bytes.length} octets, avant la fin (FS)`
            : `trame MLLP tronquée : la connexion s’est fermée après ${e.bytes.length} octets, avant la fin (FS)`;
        this.handle(
          conn,
          e.bytes,
          rejectBytes(e.bytes, def, ISSUE('100', why, { segment: 'MSH', sequence: 1, field: 1 })),
          !closing && (e.reason === 'restarted' || cutReason !== undefined),
        );
        return;
      }
      case 'garbage':
        if (e.blank) return;
        this.handle(
          conn,
          e.bytes,
          rejectBytes(e.bytes, def, ISSUE('100', `${e.bytes.length} octets reçus hors trame MLLP (VT … FS CR attendu)`)),
          !closing,
        );
        return;
    }
  }

  /**
   * Store, then (and only then) answer. An accepted invoice (DFT^P03, meaning INVOICE) is first
   * checked against the journal: a venue the bridge never saw is refused AE 204 at PV1-19
   * (docs/dft-intake.md); its raw bytes are stored either way, like any AE.
   */
  private handle(conn: Conn, raw: Buffer, intake: Hl7Intake, answer = true): void {
    this.stats.received++;
    const venueKey = intake.meaning === 'INVOICE' && intake.ackCode === 'AA' ? intake.admission?.orderingKey : undefined;
    let stored: Promise<{ intake: Hl7Intake; s: Stored | undefined }>;
    if (venueKey === undefined && !conn.gate) {
      stored = this.store(raw, intake);
    } else {
      const before = conn.gate ?? Promise.resolve();
      stored = before.then(async () => this.store(raw, venueKey === undefined ? intake : await this.checkVenue(intake, venueKey)));
      const gate: Promise<void> = stored.then(
        () => undefined,
        () => undefined,
      );
      conn.gate = gate;
      void gate.then(() => {
        if (conn.gate === gate) conn.gate = undefined;
      });
    }
    conn.pending++;
    conn.tail = conn.tail
      .then(() => stored)
      .then(({ intake: verdict, s }) => {
        conn.pending--;
        if (s?.duplicate) this.stats.duplicates++;
        if (!answer || conn.socket.destroyed || !conn.socket.writable || this.closed) {
          this.regulate(conn);
          return;
        }
        const plan = acksFor(verdict, s !== undefined, { application: this.options.application, facility: this.options.facility });
        const out: Buffer[] = [];
        if (plan.commit) out.push(frame(plan.commit.bytes));
        if (plan.application) out.push(frame(plan.application.bytes));
        if (out.length) {
          conn.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
          if (s) this.stats.acked++;
          try {
            this.options.onAck?.(verdict.ackCode);
          } catch {
            // an observer never disturbs the intake
          }
        }
        this.regulate(conn);
      })
      .catch(() => undefined);
  }

  /**
   * The verdict of an accepted invoice once its venue is checked: unchanged when the journal has
   * seen its ordering key (any message before it, even one committed and not processed yet, or a
   * dossier), else AE 204 at PV1-19 (PID-18 when the NDA is the key). Waits for every append asked
   * before it, so an admission of the same venue that arrived just before counts.
   */
  private async checkVenue(intake: Hl7Intake, orderingKey: string): Promise<Hl7Intake> {
    await this.lastAppend;
    let seen: boolean;
    try {
      seen = await this.journal.hasSeenOrderingKey(orderingKey);
    } catch {
      this.onError('journal : vérification de la venue d’une facture impossible (AE 207 répondu)');
      return {
        ...intake,
        ackCode: 'AE',
        ignored: false,
        issues: [ISSUE('207', 'vérification de la venue impossible, renvoyer le message')],
      };
    }
    if (seen) return intake;
    const byNda = intake.admission?.orderingKeySource === 'PID-18';
    const where = byNda ? { segment: 'PID', sequence: 1, field: 18 } : { segment: 'PV1', sequence: 1, field: 19 };
    const field = byNda ? 'PID-18 (NDA)' : 'PV1-19 (numéro de venue)';
    return {
      ...intake,
      ackCode: 'AE',
      ignored: false,
      issues: [ISSUE('204', `venue inconnue du pont : aucune admission reçue pour ce ${field}, facture refusée`, where), ...intake.issues],
    };
  }

  /** Appends the message under its verdict; resolves (never rejects) once committed, or with no row when the journal failed. */
  private store(raw: Buffer, intake: Hl7Intake): Promise<{ intake: Hl7Intake; s: Stored | undefined }> {
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
    const tooLong = (
      [
        ['sendingApplication', 'MSH-3', 200],
        ['sendingFacility', 'MSH-4', 200],
        ['controlId', 'MSH-10', 200],
        ['orderingKey', 'PV1-19', 200],
        ['event', 'MSH-9', 40],
        ['charset', 'MSH-18', 40],
      ] as const
    ).filter(([k, , max]) => typeof input[k] === 'string' && (input[k] as string).length > max);
    if (tooLong.length) {
      for (const [k] of tooLong) delete input[k];
      delete input.controlId;
      delete input.orderingKey;
      input.ignored = true;
      if (accepted) this.stats.rejected++;
      const [, field, max] = tooLong[0];
      const [seg, num] = field.split('-');
      intake = {
        ...intake,
        ackCode: 'AR',
        ignored: false,
        issues: [ISSUE('207', `${field} dépasse ${max} caractères`, { segment: seg, sequence: 1, field: Number(num) })],
      };
    }
    const verdict = intake;
    const appended: Promise<Stored | undefined> = this.dispatcher.accept(input).then(
      (s) => s,
      () => {
        this.onError('journal : enregistrement impossible (CE/AE 207 répondu)');
        return undefined;
      },
    );
    this.lastAppend = appended;
    return appended.then((s) => ({ intake: verdict, s }));
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
  async complete(
    journalId: number,
    state: 'DONE' | 'IGNORED' = 'DONE',
    exchanges: Omit<ServiceExchange, 'orderingKey'>[] = [],
  ): Promise<void> {
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

  /**
   * Processes a stored message again (operations: resend from the message browser): a new
   * RECEIVED row (resendOf = id) after what is already queued for its venue, dispatched like any.
   */
  async resend(journalId: number): Promise<Stored> {
    const stored = await this.dispatcher.resend(journalId);
    this.pump();
    return stored;
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

  /** Stops listening, destroys the sockets, then closes the journal if it opened it (pending commits are flushed). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.deadlineTimer) clearInterval(this.deadlineTimer);
    for (const c of [...this.conns]) this.drop(c);
    this.conns.clear();
    for (const raw of this.accepted) raw.destroy();
    this.perAddress.clear();
    // A close() during start()'s listen waits for it: a server closed before its address is bound
    // would bind it afterwards (the host is looked up first) and keep the port with no one to close it.
    await this.listening?.catch(() => undefined);
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    if (this.ownsJournal) await this.journal.close();
  }
}
