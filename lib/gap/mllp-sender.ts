/**
 * The MLLP sender behind roc-mllp-out (no Node-RED here; the node is a thin adapter).
 *
 * - Answers are first stored in the journal's outbound queue (one destination = one GAP
 *   listener), then sent over ONE persistent connection, reconnected with a doubling delay.
 * - Each sent answer waits for its ACK, matched on MSA-2 = the MSH-10 we sent (read back from the
 *   stored payload, so a resumed answer is sent with the same MSH-10: the GAP can spot a copy).
 *   AA (or CA) → ACKED. AE / AR / CE / CR, no ACK within ackTimeoutMs, or a connection lost before
 *   the ACK → the journal's bounded retries with backoff, then the error queue (ERROR).
 * - Per-venue order comes from the journal: `take()` only hands out the head of each ordering key,
 *   so a venue's next answer waits while the previous one is QUEUED, SENT or in ERROR (an answer in
 *   the error queue holds its venue until it is resent or cancelled). Several venues may be in
 *   flight at once when `window` > 1 (default 1: strict one-at-a-time MLLP).
 * - Restart: the answers this destination left SENT are QUEUED again when the sender starts
 *   (`recoverOutbound`), and only those: the journal is shared (lib/store/registry.ts), so a
 *   sender restarting never requeues the in-flight answers of another live sender.
 *
 * - Idempotent answers: an answer enqueued with an answer key (answerKeyOf: the inbound message,
 *   the service and the outcome) that the queue already holds is not stored again: the existing
 *   answer is returned (`existing: true`), so a message processed again after a crash does not
 *   send the GAP a second answer with a new MSH-10.
 * - Reconnection: the delay doubles from `reconnect.minMs` up to `reconnect.maxMs` (default 5 s,
 *   DEFAULT_RECONNECT). It starts again from minMs only once the GAP has shown its listener works
 *   (an ACK of ours read, or a connection that lasted maxMs): a GAP that accepts and drops at once
 *   is not reconnected every minMs forever. A new answer queued (or resent) while the GAP is
 *   unreachable triggers an attempt at once when the last failure is older than minMs: a GAP whose
 *   listener comes up after a long outage gets its answers as soon as there is something to send,
 *   not after the backoff.
 *
 * Nothing here logs; error texts stored in the journal hold codes only (MSA-1, ERR-3), never the
 * GAP's free text nor patient data.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { readRawMsh, decodeFrame } from '../hl7/charset';
import { parseEr7, unescapeValue, STANDARD_DELIMITERS } from '../hl7/er7';
import { MllpDeframer, frame } from '../hl7/mllp';
import { JournalError, type Journal, type OutboundRecord } from '../store/journal';

export interface GapAnswerResult {
  /** ACKED, ERROR (error queue) or QUEUED (accepted, waiting). */
  state: string;
  /** Journal id of the answer (for resend / cancel). */
  id: number;
  destination: string;
  /** MSH-10 of the answer = MSA-2 of the GAP's ACK. */
  controlId: string;
  orderingKey?: string;
  service?: string;
  /** AA or CA when acknowledged. */
  ackCode?: string;
  attempts: number;
  /** Why it is in the error queue (codes only). */
  error?: string;
  /** True when this message had already been answered (processed again, e.g. after a crash): no new answer was sent. */
  existing?: boolean;
}

/** What identifies one answer to one inbound message (see answerKeyOf). */
export interface AnswerKeyParts {
  /** Journal id of the inbound message (msg.hl7.journalId). */
  journalId?: number;
  /** Sender of the inbound message (MSH-3/MSH-4) and its MSH-10. */
  sender?: string;
  controlId?: string;
  /** IDB, SIM, CLC, DEL. */
  service: string;
  /** OK, KO, or KO-T for a technical failure. */
  outcome: string;
}

/**
 * The idempotency key of an answer: `in:<journal id>:<digest>|<SERVICE>|<OUTCOME>` or, without a
 * journal id, `msh:<digest>|<SERVICE>|<OUTCOME>` (digest of sender and MSH-10, so journal ids of two
 * listeners' journals never collide and no free text is stored). Undefined when the answer has no
 * inbound reference (it is then a new answer every time, as before).
 */
export function answerKeyOf(p: AnswerKeyParts): string | undefined {
  const id = Number.isInteger(p.journalId) && (p.journalId as number) > 0 ? p.journalId : undefined;
  const hasMsh = typeof p.controlId === 'string' && p.controlId !== '';
  if (id === undefined && !hasMsh) return undefined;
  const digest = createHash('sha256')
    .update(`${p.sender ?? ''}\u001f${hasMsh ? p.controlId : ''}`)
    .digest('hex')
    .slice(0, 16);
  const ref = id !== undefined ? `in:${id}:${digest}` : `msh:${digest}`;
  return `${ref}|${String(p.service).toUpperCase().slice(0, 10)}|${String(p.outcome).toUpperCase().slice(0, 10)}`;
}

export interface SenderOptions {
  journal: Journal;
  /** Queue name in the journal, e.g. `mllp:gap.chu-nord.local:2576`. */
  destination: string;
  host: string;
  port: number;
  /** TLS options (ca, cert, key, servername…); absent: plain TCP. */
  tls?: tls.ConnectionOptions;
  /** Wait for the ACK (default 10 s). */
  ackTimeoutMs?: number;
  /** Unacknowledged answers at once (different venues only; default 1). */
  window?: number;
  /** Reconnection delay: starts at minMs, doubles up to maxMs (DEFAULT_RECONNECT: 200 ms / 5 s). */
  reconnect?: { minMs: number; maxMs: number };
  /** Connection attempt timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** Attempts per answer before the error queue (default: the journal's). */
  maxAttempts?: number;
}

export type SendOutcome =
  | { kind: 'acked'; record: OutboundRecord; ackCode: string; controlId: string }
  | { kind: 'retry'; record: OutboundRecord; reason: string; controlId: string }
  | { kind: 'error'; record: OutboundRecord; reason: string; controlId: string };

interface InFlight {
  record: OutboundRecord;
  controlId: string;
  timer: NodeJS.Timeout;
}

export interface SenderCounts {
  queued: number;
  sent: number;
  error: number;
}

/** MSH-10 of a stored answer. */
export function controlIdOf(payload: Buffer): string {
  const f = readRawMsh(payload);
  return f && f[10] ? unescapeValue(f[10], STANDARD_DELIMITERS) : '';
}

/** Reads MSA-1, MSA-2 and the ERR-3 codes of an ACK frame; undefined when it is not one. */
export function readAck(bytes: Buffer): { code: string; controlId: string; errors: string[] } | undefined {
  try {
    const m = parseEr7(decodeFrame(bytes).text);
    const msa = m.segment('MSA');
    if (!msa) return undefined;
    const errors = m
      .all('ERR')
      .map((s) => s.get(3) || s.get(1, 1, 4))
      .filter((c) => c !== '');
    return { code: msa.get(1).toUpperCase(), controlId: msa.get(2), errors };
  } catch {
    return undefined;
  }
}

/** Default reconnection delays: a GAP listener that comes back is reached within a few seconds. */
export const DEFAULT_RECONNECT = { minMs: 200, maxMs: 5_000 } as const;

export class MllpAnswerSender extends EventEmitter {
  readonly destination: string;
  private readonly journal: Journal;
  private readonly ackTimeoutMs: number;
  private readonly window: number;
  private readonly reconnectMin: number;
  private readonly reconnectMax: number;
  private readonly connectTimeoutMs: number;
  private socket?: net.Socket;
  private connected = false;
  private reconnectDelay: number;
  private reconnectTimer?: NodeJS.Timeout;
  /** When the last connection failed or was lost (0: never). */
  private lastFailureAt = 0;
  private wakeTimer?: NodeJS.Timeout;
  private readonly inflight = new Map<string, InFlight>();
  private pumping = false;
  private pumpAgain = false;
  private closed = false;
  /** ACKs whose MSA-2 matched nothing in flight (late or foreign). */
  unmatchedAcks = 0;
  connects = 0;

  constructor(private readonly options: SenderOptions) {
    super();
    this.journal = options.journal;
    this.destination = options.destination;
    this.ackTimeoutMs = Math.max(1, options.ackTimeoutMs ?? 10_000);
    this.window = Math.max(1, Math.floor(options.window ?? 1));
    this.reconnectMin = Math.max(1, options.reconnect?.minMs ?? DEFAULT_RECONNECT.minMs);
    this.reconnectMax = Math.max(this.reconnectMin, options.reconnect?.maxMs ?? DEFAULT_RECONNECT.maxMs);
    this.reconnectDelay = this.reconnectMin;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /**
   * Connects and starts sending what the queue holds. Answers this destination left SENT (a
   * previous run stopped before their ACK) are queued again first: queued before any take, the
   * recovery commits ahead of it.
   */
  start(): void {
    this.journal.recoverOutbound(this.destination).then(
      (n) => {
        if (n > 0) this.emit('change');
      },
      (e: Error) => {
        if (!this.closed) this.emit('fault', e);
      },
    );
    this.connect();
  }

  /**
   * Stores an answer in the queue (durably), then sends it when its turn comes. With an answer key
   * the queue already holds, nothing is stored: the existing answer comes back (`existing: true`).
   */
  async enqueue(payload: Buffer, orderingKey: string, inboundId?: number, answerKey?: string): Promise<OutboundRecord> {
    const rec = await this.journal.enqueue({
      destination: this.destination,
      payload,
      orderingKey,
      inboundId,
      answerKey,
      maxAttempts: this.options.maxAttempts,
    });
    if (rec.existing) return rec;
    this.emit('change');
    this.reconnectNow();
    void this.pump();
    return rec;
  }

  /** Error queue → queue again (attempts reset). */
  async resend(id: number): Promise<void> {
    await this.journal.requeue(id);
    this.emit('change');
    this.reconnectNow();
    void this.pump();
  }

  /** Drops an answer (QUEUED or ERROR) so its venue's later answers flow on. */
  async cancel(id: number): Promise<void> {
    await this.journal.cancel(id);
    this.emit('change');
    void this.pump();
  }

  errors(limit = 1000): Promise<OutboundRecord[]> {
    return this.journal.browseOutbound({ destination: this.destination, states: ['ERROR'], limit });
  }

  async counts(): Promise<SenderCounts> {
    const rows = await this.journal.browseOutbound({ destination: this.destination, states: ['QUEUED', 'SENT', 'ERROR'], limit: 1000 });
    const c: SenderCounts = { queued: 0, sent: 0, error: 0 };
    for (const r of rows) {
      if (r.state === 'QUEUED') c.queued++;
      else if (r.state === 'SENT') c.sent++;
      else c.error++;
    }
    return c;
  }

  /** Stops: socket destroyed, timers cleared. Answers in flight stay SENT and are resent at the next start. */
  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.reconnectTimer = this.wakeTimer = undefined;
    for (const f of this.inflight.values()) clearTimeout(f.timer);
    this.inflight.clear();
    const s = this.socket;
    this.socket = undefined;
    this.connected = false;
    s?.destroy();
  }

  // ------------------------------------------------------------------ connection

  private connect(): void {
    if (this.closed || this.socket) return;
    const { host, port } = this.options;
    const socket = this.options.tls ? tls.connect({ ...this.options.tls, host, port }) : net.connect({ host, port });
    this.socket = socket;
    const deframer = new MllpDeframer();
    let established = false;
    let establishedAt = 0;
    socket.setTimeout(this.connectTimeoutMs, () => socket.destroy());
    socket.once(this.options.tls ? 'secureConnect' : 'connect', () => {
      if (this.socket !== socket) return;
      socket.setTimeout(0);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      this.connected = true;
      established = true;
      establishedAt = Date.now();
      this.connects++;
      this.emit('connected');
      void this.pump();
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      for (const ev of deframer.push(chunk)) if (ev.kind === 'frame') this.onAck(ev.bytes);
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.connected = false;
      this.lastFailureAt = Date.now();
      // A connection that lasted is a GAP that worked (restarted since): back to the quick retry.
      if (established && this.lastFailureAt - establishedAt >= this.reconnectMax) this.reconnectDelay = this.reconnectMin;
      this.failAllInFlight('connexion perdue avant l’ACK');
      if (established) this.emit('disconnected');
      this.scheduleReconnect();
    });
  }

  /**
   * Something to send while waiting to reconnect: try now rather than at the end of the backoff,
   * unless the last failure is more recent than the minimum delay (no hammering a GAP that is
   * down: at most one attempt per minMs). A failed attempt goes on with the backoff.
   */
  private reconnectNow(): void {
    if (this.closed || this.socket || !this.reconnectTimer) return;
    if (Date.now() - this.lastFailureAt < this.reconnectMin) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.connect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectMax, this.reconnectDelay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  // ------------------------------------------------------------------ sending

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        if (this.closed || !this.connected) break;
        const room = this.window - this.inflight.size;
        if (room <= 0) break;
        const records = await this.journal.take(this.destination, room);
        if (this.closed) break;
        for (const r of records) this.transmit(r);
        if (records.length) this.emit('change');
        // Room left: the next retry of another venue needs a wake (a wake that took an answer
        // replaced the timer of a later retry).
        if (records.length < room) await this.scheduleWake();
      } while (this.pumpAgain);
    } catch (e) {
      if (!this.closed) this.emit('fault', e as Error);
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Wakes the pump when the earliest retry (backoff) is due. Answers already due but not taken wait
   * behind their venue's head (in flight or in error): an ACK, a resend or a cancel pumps again,
   * no polling needed.
   */
  private async scheduleWake(): Promise<void> {
    const queued = await this.journal.browseOutbound({ destination: this.destination, states: ['QUEUED'], limit: 1000 });
    if (this.closed) return;
    const now = Date.now();
    const later = queued.map((r) => Date.parse(r.nextAttemptAt)).filter((t) => t > now);
    if (later.length === 0) return;
    const next = Math.min(...later);
    const delay = Math.min(60_000, Math.max(5, next - now + 5));
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      void this.pump();
    }, delay);
  }

  private transmit(record: OutboundRecord): void {
    const controlId = controlIdOf(record.payload ?? Buffer.alloc(0));
    // Two answers in flight with the same MSH-10 (built so by a flow): the second one is kept under
    // its journal id, its ACK cannot be told apart; it times out and is sent again once alone.
    const key = controlId && !this.inflight.has(controlId) ? controlId : `#${record.id}`;
    const timer = setTimeout(() => this.onTimeout(key), this.ackTimeoutMs);
    this.inflight.set(key, { record, controlId, timer });
    const socket = this.socket;
    if (!socket || !this.connected || socket.destroyed || !record.payload) {
      this.settleFailure(key, 'connexion perdue avant l’envoi');
      return;
    }
    try {
      socket.write(frame(record.payload));
    } catch {
      // A payload with VT/FS bytes cannot be framed: it will never go; straight to the error queue.
      this.settleFailure(key, 'réponse non encapsulable en MLLP (octets VT/FS)');
    }
  }

  private onTimeout(key: string): void {
    const f = this.inflight.get(key);
    if (!f) return;
    this.settleFailure(key, `pas d'ACK en ${Math.round(this.ackTimeoutMs / 100) / 10} s`);
    // The connection's state is unknown (a late ACK could still come): start afresh. Nothing is
    // written on it any more ('close' comes later and reconnects).
    this.connected = false;
    this.socket?.destroy();
  }

  private onAck(bytes: Buffer): void {
    const ack = readAck(bytes);
    const f = ack ? this.inflight.get(ack.controlId) : undefined;
    if (!ack || !f) {
      this.unmatchedAcks++;
      return;
    }
    // The GAP read one of our answers: its listener works, the next loss retries quickly.
    this.reconnectDelay = this.reconnectMin;
    if (ack.code === 'AA' || ack.code === 'CA') {
      clearTimeout(f.timer);
      this.inflight.delete(ack.controlId);
      const committed = this.journal.acked(f.record.id);
      // The next take joins the same group commit as the ACK (one fsync per answer, not two): it
      // is queued after it, so it already sees the venue's head ACKED.
      void this.pump();
      committed.then(
        () => this.settled({ kind: 'acked', record: { ...f.record, state: 'ACKED' }, ackCode: ack.code, controlId: f.controlId }),
        (e: Error) => this.journalRace(e, f),
      );
      return;
    }
    const codes = ack.errors.length ? ` (ERR ${ack.errors.slice(0, 5).join(', ')})` : '';
    this.settleFailure(ack.controlId, `ACK ${ack.code.slice(0, 2)}${codes}`);
  }

  private settleFailure(key: string, reason: string): void {
    const f = this.inflight.get(key);
    if (!f) return;
    clearTimeout(f.timer);
    this.inflight.delete(key);
    this.journal.sendFailed(f.record.id, reason).then(
      (record) => this.settled({ kind: record.state === 'ERROR' ? 'error' : 'retry', record, reason, controlId: f.controlId }),
      (e: Error) => this.journalRace(e, f),
    );
  }

  private failAllInFlight(reason: string): void {
    for (const key of [...this.inflight.keys()]) this.settleFailure(key, reason);
  }

  private settled(outcome: SendOutcome): void {
    if (this.closed) return;
    this.emit('outcome', outcome);
    this.emit('change');
    void this.pump();
  }

  /**
   * The row was not SENT any more: another journal instance opened on the same file put it back
   * in the queue (or the journal closed). It will be taken and sent again; nothing to record.
   */
  private journalRace(e: Error, f: InFlight): void {
    if (this.closed) return;
    if (!(e instanceof JournalError) || e.code !== 'BAD_STATE') this.emit('fault', e);
    else this.emit('race', f.record.id);
    void this.pump();
  }
}
