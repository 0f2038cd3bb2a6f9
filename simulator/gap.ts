/**
 * The GAP simulator: streams a hospital day (gap-day.ts) over MLLP to the bridge, like a real
 * GAP (gestion administrative des patients) would, and records what comes back.
 *
 * - N connections (TCP, optional TLS). A venue always goes through the same connection (hash of
 *   PV1-19), so a venue's events are never reordered across connections.
 * - Pace: `rate` messages per second over all connections, or as fast as acknowledgements allow
 *   with at most `window` unacknowledged messages per connection.
 * - Framing quirks on demand: LF / CRLF segment ends, trailing blank lines, several frames per TCP
 *   write, frames split across two writes, one-byte writes for every n-th message.
 * - Each ACK is matched by MSA-2 = MSH-10 and recorded (code, ERR segments, latency). A second ACK
 *   for the same message (enhanced mode: CA then AA) is recorded as the application ACK.
 * - A dropped connection or an ACK timeout closes the socket; after reconnecting, the messages
 *   sent and not acknowledged are sent again, first, in their original order (the journal counts
 *   the attempts, so a crash test can tell which were resent). CE (commit error: "could not
 *   store, resend") is resent too, up to `maxAttempts`.
 * - `GapAnswerListener`: an MLLP server recording the messages the bridge sends back, each
 *   acknowledged AA, read as ROC results (ZRC service × status, engagement numbers: countAnswers),
 *   with `waitQuiet()` to keep listening until the answers stop coming.
 *
 * Nothing here logs: the CLI prints counts only (no patient data).
 */
import { EventEmitter } from 'node:events';
import { appendFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { ackContextFromBytes, buildAck } from '../lib/hl7/ack';
import { ZRC_FIELDS, ZRC_SEGMENT, type AnswerFacts } from '../lib/hl7/answer-profile';
import { decodeFrame } from '../lib/hl7/charset';
import { parseEr7 } from '../lib/hl7/er7';
import { MllpDeframer, frame } from '../lib/hl7/mllp';
import { encodeGapMessage, type GapMessage, type LineEnding } from './gap-day';

export interface GapQuirks {
  /** Segment terminator inside the payload (default CR). */
  lineEnding?: LineEnding;
  /** Blank lines after the last segment, inside the frame (default 0). */
  trailingBlankLines?: number;
  /** Frames coalesced into one TCP write (default 1; needs window ≥ batch to matter). */
  framesPerWrite?: number;
  /** Each frame written in two writes, cut in the middle (default false). */
  splitFrames?: boolean;
  /** Every n-th message is written one byte per write (default 0: never). */
  oneByteEvery?: number;
  /** A CR LF after each frame's FS CR, outside the frame (blank garbage a listener must ignore). */
  newlineAfterFrame?: boolean;
}

export interface GapSimulatorOptions {
  host?: string;
  port: number;
  /** TLS: true (system CAs) or tls.connect options (ca, cert, key, servername…). */
  tls?: boolean | tls.ConnectionOptions;
  /** Connections (default 1). */
  connections?: number;
  /** Messages per second over all connections; 0 or absent: as fast as the window allows. */
  rate?: number;
  /** Unacknowledged messages allowed per connection (default 1). */
  window?: number;
  /** ACK timeout before the connection is closed and the message resent (default 10 s). */
  ackTimeoutMs?: number;
  /** Delay before reconnecting (default 200 ms; doubles up to 5 s while connecting fails). */
  reconnectDelayMs?: number;
  /** Attempts per message before giving up (CE answers or repeated timeouts; default 10). */
  maxAttempts?: number;
  quirks?: GapQuirks;
  /** Append one JSON line per send / ack to this file (control ids, codes; no patient data). */
  journalFile?: string;
}

export type GapAckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

export interface GapJournalEntry {
  controlId: string;
  /** MSH-9.1: ADT or DFT. */
  type: string;
  event: string;
  venue: string;
  connection: number;
  /** Times sent (1 = never resent). */
  attempts: number;
  firstSentAt?: number;
  lastSentAt?: number;
  /** Final acknowledgement (first ACK that settled the message). */
  ack?: GapAckCode;
  ackAt?: number;
  /** From the last send to the ACK, in ms. */
  latencyMs?: number;
  /** ERR segments of that ACK, as received (table-0357 codes and locations). */
  errors: string[];
  /** Enhanced mode: the application ACK that followed the commit ACK. */
  applicationAck?: GapAckCode;
  /** Sent again after a drop or timeout (before any ACK) — the crash-test evidence. */
  resentAfterDrop: number;
  /** Sent again because the receiver answered CE. */
  resentAfterCe: number;
  /** Gave up after maxAttempts. */
  abandoned?: boolean;
}

export interface GapStats {
  generated: number;
  /** Frames written, including resends. */
  sent: number;
  writes: number;
  /** Messages settled by an ACK. */
  acked: number;
  byCode: Record<string, number>;
  /** Settling ACK codes per message type: { ADT: { AA: n, … }, DFT: { AA: n, AE: n } }. */
  byType: Record<string, Record<string, number>>;
  applicationAcks: Record<string, number>;
  /** Messages sent more than once. */
  resent: number;
  abandoned: number;
  /** Queued, not yet sent. */
  queued: number;
  /** Sent, awaiting an ACK (or a resend). */
  unacked: number;
  connected: number;
  connects: number;
  drops: number;
  timeouts: number;
  /** ACKs whose MSA-2 matched nothing in flight (late duplicates). */
  unmatchedAcks: number;
  latencyMs: { count: number; min: number; mean: number; p50: number; p95: number; max: number };
  elapsedMs: number;
}

interface Pending {
  msg: GapMessage;
  entry: GapJournalEntry;
  bytes?: Buffer;
  /** Why it is in the resend list. */
  retry?: 'drop' | 'ce';
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Read MSA-1 / MSA-2 / ERR from an ACK frame. Undefined when it is not an ACK. */
export function readAck(bytes: Buffer): { code: string; controlId: string; errors: string[] } | undefined {
  try {
    const d = decodeFrame(bytes);
    const m = parseEr7(d.text);
    if (!m.segment('MSA')) return undefined;
    return { code: m.get('MSA-1'), controlId: m.get('MSA-2'), errors: m.all('ERR').map((s) => s.fields.join('|')) };
  } catch {
    return undefined;
  }
}

class Lane {
  socket?: net.Socket;
  connected = false;
  connecting = false;
  queue: Pending[] = [];
  /** Sent, not acknowledged, in send order. */
  inflight: Pending[] = [];
  /** Sent before the last drop, to send again first. */
  resend: Pending[] = [];
  pumping = false;
  deframer = new MllpDeframer();
  backoff = 0;
  reconnectTimer?: NodeJS.Timeout;
  constructor(readonly id: number) {}
}

export class GapSimulator extends EventEmitter {
  private readonly opts: Required<Omit<GapSimulatorOptions, 'tls' | 'journalFile' | 'quirks'>> &
    Pick<GapSimulatorOptions, 'tls' | 'journalFile'>;
  private readonly quirks: Required<GapQuirks>;
  private readonly lanes: Lane[];
  private readonly entries = new Map<string, GapJournalEntry>();
  private source?: Iterator<GapMessage>;
  private exhausted = false;
  private stopping = false;
  private done?: { resolve: (s: GapStats) => void; promise: Promise<GapStats> };
  private readonly latencies: number[] = [];
  private counters = { generated: 0, sent: 0, writes: 0, acked: 0, abandoned: 0, connects: 0, drops: 0, timeouts: 0, unmatchedAcks: 0 };
  private readonly byCode: Record<string, number> = {};
  private readonly byType: Record<string, Record<string, number>> = {};
  private readonly appAcks: Record<string, number> = {};
  private startedAt = 0;
  private endedAt = 0;
  private readonly paceTimers = new Set<NodeJS.Timeout>();
  private paceSlots = 0;
  private watchdog?: NodeJS.Timeout;

  constructor(options: GapSimulatorOptions) {
    super();
    if (!Number.isInteger(options.port) || options.port <= 0 || options.port > 65535)
      throw new RangeError('GapSimulator: port must be 1..65535');
    this.opts = {
      host: options.host ?? '127.0.0.1',
      port: options.port,
      tls: options.tls,
      connections: Math.max(1, Math.floor(options.connections ?? 1)),
      rate: Math.max(0, options.rate ?? 0),
      window: Math.max(1, Math.floor(options.window ?? 1)),
      ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
      reconnectDelayMs: options.reconnectDelayMs ?? 200,
      maxAttempts: options.maxAttempts ?? 10,
      journalFile: options.journalFile,
    };
    const q = options.quirks ?? {};
    this.quirks = {
      lineEnding: q.lineEnding ?? 'CR',
      trailingBlankLines: q.trailingBlankLines ?? 0,
      framesPerWrite: Math.max(1, q.framesPerWrite ?? 1),
      splitFrames: q.splitFrames ?? false,
      oneByteEvery: q.oneByteEvery ?? 0,
      newlineAfterFrame: q.newlineAfterFrame ?? false,
    };
    this.lanes = Array.from({ length: this.opts.connections }, (_, i) => new Lane(i));
  }

  /** Stream the messages; resolves when every one is acknowledged (or abandoned), or on stop(). */
  run(messages: Iterable<GapMessage>): Promise<GapStats> {
    if (this.source) throw new Error('GapSimulator.run: already running');
    this.source = messages[Symbol.iterator]();
    this.startedAt = Date.now();
    let resolve!: (s: GapStats) => void;
    const promise = new Promise<GapStats>((r) => (resolve = r));
    this.done = { resolve, promise };
    this.fill();
    for (const lane of this.lanes) this.connect(lane);
    const every = Math.max(20, Math.min(250, Math.floor(this.opts.ackTimeoutMs / 4)));
    this.watchdog = setInterval(() => this.checkTimeouts(), every);
    return promise;
  }

  /** Every message journaled so far (control ids, attempts, codes). */
  journal(): GapJournalEntry[] {
    return [...this.entries.values()];
  }

  stats(): GapStats {
    let queued = 0;
    let unacked = 0;
    let connected = 0;
    for (const l of this.lanes) {
      queued += l.queue.length;
      unacked += l.inflight.length + l.resend.length;
      if (l.connected) connected++;
    }
    let resent = 0;
    for (const e of this.entries.values()) if (e.attempts > 1) resent++;
    const lat = [...this.latencies].sort((a, b) => a - b);
    const q = (p: number): number => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : 0);
    return {
      generated: this.counters.generated,
      sent: this.counters.sent,
      writes: this.counters.writes,
      acked: this.counters.acked,
      byCode: { ...this.byCode },
      byType: Object.fromEntries(Object.entries(this.byType).map(([t, c]) => [t, { ...c }])),
      applicationAcks: { ...this.appAcks },
      resent,
      abandoned: this.counters.abandoned,
      queued,
      unacked,
      connected,
      connects: this.counters.connects,
      drops: this.counters.drops,
      timeouts: this.counters.timeouts,
      unmatchedAcks: this.counters.unmatchedAcks,
      latencyMs: {
        count: lat.length,
        min: lat[0] ?? 0,
        mean: lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : 0,
        p50: q(0.5),
        p95: q(0.95),
        max: lat[lat.length - 1] ?? 0,
      },
      elapsedMs: (this.endedAt || Date.now()) - (this.startedAt || Date.now()),
    };
  }

  /** Close every connection and timer; run() resolves with the stats so far. */
  async stop(): Promise<GapStats> {
    this.stopping = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.clearPace();
    const closes: Promise<void>[] = [];
    for (const l of this.lanes) {
      if (l.reconnectTimer) clearTimeout(l.reconnectTimer);
      const s = l.socket;
      if (s && !s.destroyed) {
        closes.push(new Promise((r) => s.once('close', () => r())));
        s.end();
        setTimeout(() => s.destroy(), 500).unref();
      }
    }
    await Promise.all(closes);
    return this.finish();
  }

  private clearPace(): void {
    for (const t of this.paceTimers) clearTimeout(t);
    this.paceTimers.clear();
  }

  private finish(): GapStats {
    if (!this.endedAt) this.endedAt = Date.now();
    if (this.watchdog) clearInterval(this.watchdog);
    this.clearPace();
    const s = this.stats();
    this.done?.resolve(s);
    return s;
  }

  private log(line: object): void {
    if (this.opts.journalFile) appendFileSync(this.opts.journalFile, JSON.stringify(line) + '\n');
  }

  /** Pull from the generator while the queues are short (the day is never held in memory). */
  private fill(): void {
    if (!this.source || this.exhausted) return;
    const bound = this.opts.connections * Math.max(64, this.opts.window * 4);
    let queued = 0;
    for (const l of this.lanes) queued += l.queue.length;
    const fed = new Set<Lane>();
    while (queued < bound) {
      const n = this.source.next();
      if (n.done) {
        this.exhausted = true;
        break;
      }
      const msg = n.value;
      this.counters.generated++;
      const lane = this.lanes[hash(msg.venue || msg.beneficiary) % this.lanes.length];
      const entry: GapJournalEntry = {
        controlId: msg.controlId,
        type: msg.messageType,
        event: msg.event,
        venue: msg.venue,
        connection: lane.id,
        attempts: 0,
        errors: [],
        resentAfterDrop: 0,
        resentAfterCe: 0,
      };
      this.entries.set(msg.controlId, entry);
      lane.queue.push({ msg, entry });
      fed.add(lane);
      queued++;
    }
    // A lane whose pump stopped (its queue was empty, nothing in flight to wake it on an ACK)
    // must be restarted when another lane's pull feeds it, or it would stall for good.
    for (const l of fed) if (!l.pumping && l.connected) void this.pump(l);
  }

  private connect(lane: Lane): void {
    if (this.stopping || lane.connecting || lane.connected) return;
    lane.connecting = true;
    const { host, port } = this.opts;
    const t = this.opts.tls;
    const socket: net.Socket = t ? tls.connect({ host, port, ...(typeof t === 'object' ? t : {}) }) : net.connect({ host, port });
    lane.socket = socket;
    lane.deframer = new MllpDeframer();
    socket.setNoDelay(true);
    socket.on(t ? 'secureConnect' : 'connect', () => {
      lane.connecting = false;
      lane.connected = true;
      lane.backoff = 0;
      this.counters.connects++;
      this.emit('connect', lane.id);
      void this.pump(lane);
    });
    socket.on('data', (chunk: Buffer) => {
      for (const ev of lane.deframer.push(chunk)) if (ev.kind === 'frame') this.onAck(lane, ev.bytes);
    });
    socket.on('error', () => {
      /* handled on close */
    });
    socket.on('close', () => {
      const wasConnected = lane.connected;
      lane.connected = false;
      lane.connecting = false;
      if (lane.socket === socket) lane.socket = undefined;
      if (wasConnected) this.counters.drops++;
      // Unacknowledged messages go first on the next connection, in their original order.
      if (lane.inflight.length) {
        for (const p of lane.inflight) p.retry = 'drop';
        lane.resend = [...lane.inflight, ...lane.resend];
        lane.inflight = [];
      }
      if (this.stopping) return;
      if (this.isFinished()) return void this.finish();
      this.emit('disconnect', lane.id);
      const delay = Math.min(5000, this.opts.reconnectDelayMs * 2 ** lane.backoff);
      lane.backoff = Math.min(lane.backoff + 1, 5);
      lane.reconnectTimer = setTimeout(() => this.connect(lane), delay);
    });
  }

  private isFinished(): boolean {
    if (!this.exhausted) return false;
    return this.lanes.every((l) => l.queue.length === 0 && l.inflight.length === 0 && l.resend.length === 0);
  }

  private next(lane: Lane): Pending | undefined {
    return lane.resend.shift() ?? lane.queue.shift();
  }

  /** Pace: the time the next send is allowed (rate mode), given the frames sent so far. */
  private async pace(): Promise<void> {
    if (!this.opts.rate) return;
    // Reserve a slot, so lanes pacing at the same time do not share one.
    const due = this.startedAt + (this.paceSlots++ * 1000) / this.opts.rate;
    const wait = due - Date.now();
    if (wait > 0) {
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          this.paceTimers.delete(t);
          r();
        }, wait);
        this.paceTimers.add(t);
      });
    }
  }

  private async pump(lane: Lane): Promise<void> {
    if (lane.pumping) return;
    lane.pumping = true;
    try {
      while (!this.stopping && lane.connected && lane.socket) {
        this.fill();
        const room = this.opts.window - lane.inflight.length;
        if (room <= 0 || (lane.resend.length === 0 && lane.queue.length === 0)) break;
        await this.pace();
        if (this.stopping || !lane.connected || !lane.socket) break;
        const batch: Pending[] = [];
        const max = this.opts.rate ? 1 : Math.min(room, this.quirks.framesPerWrite);
        while (batch.length < max) {
          const p = this.next(lane);
          if (!p) break;
          batch.push(p);
        }
        if (!batch.length) break;
        await this.write(lane, lane.socket, batch);
      }
    } finally {
      lane.pumping = false;
    }
    if (this.isFinished()) this.finish();
  }

  private async write(lane: Lane, socket: net.Socket, batch: Pending[]): Promise<void> {
    const frames: Buffer[] = [];
    const now = Date.now();
    for (const p of batch) {
      if (!p.bytes) {
        const f = frame(encodeGapMessage(p.msg, this.quirks.lineEnding, this.quirks.trailingBlankLines));
        p.bytes = this.quirks.newlineAfterFrame ? Buffer.concat([f, Buffer.from('\r\n')]) : f;
      }
      const e = p.entry;
      if (p.retry === 'drop') e.resentAfterDrop++;
      else if (p.retry === 'ce') e.resentAfterCe++;
      p.retry = undefined;
      e.attempts++;
      e.firstSentAt ??= now;
      e.lastSentAt = now;
      e.connection = lane.id;
      lane.inflight.push(p);
      this.counters.sent++;
      this.log({ t: 'sent', id: e.controlId, attempt: e.attempts, conn: lane.id, at: now });
      frames.push(p.bytes);
    }
    const oneByte = this.quirks.oneByteEvery > 0 && batch.some((p) => (p.msg.index + 1) % this.quirks.oneByteEvery === 0);
    const out = Buffer.concat(frames);
    if (oneByte) {
      for (let i = 0; i < out.length; i++) {
        if (!socket.writable) return;
        socket.write(out.subarray(i, i + 1));
        this.counters.writes++;
        await tick();
      }
    } else if (this.quirks.splitFrames && out.length > 2) {
      for (const f of frames) {
        const cut = Math.max(1, Math.floor(f.length / 2));
        if (!socket.writable) return;
        socket.write(f.subarray(0, cut));
        await sleep(1);
        if (!socket.writable) return;
        socket.write(f.subarray(cut));
        this.counters.writes += 2;
      }
    } else {
      if (!socket.writable) return;
      const ok = socket.write(out);
      this.counters.writes++;
      if (!ok)
        await new Promise<void>((r) => {
          socket.once('drain', r);
          socket.once('close', r);
        });
    }
  }

  private onAck(lane: Lane, bytes: Buffer): void {
    const ack = readAck(bytes);
    if (!ack) {
      this.counters.unmatchedAcks++;
      return;
    }
    const code = ack.code as GapAckCode;
    const i = lane.inflight.findIndex((p) => p.msg.controlId === ack.controlId);
    const now = Date.now();
    if (i === -1) {
      // An application ACK after the commit ACK (enhanced mode), or a late duplicate.
      const e = this.entries.get(ack.controlId);
      if (e && e.ack && (code === 'AA' || code === 'AE' || code === 'AR') && !e.applicationAck && e.ack.startsWith('C')) {
        e.applicationAck = code;
        if (ack.errors.length) e.errors.push(...ack.errors);
        this.appAcks[code] = (this.appAcks[code] ?? 0) + 1;
        this.log({ t: 'app-ack', id: e.controlId, code, at: now });
      } else this.counters.unmatchedAcks++;
      return;
    }
    const p = lane.inflight[i];
    lane.inflight.splice(i, 1);
    const e = p.entry;
    if (code === 'CE' && e.attempts < this.opts.maxAttempts) {
      // "Could not store, send again": at the front, before newer messages.
      e.errors = ack.errors;
      this.log({ t: 'ack', id: e.controlId, code, at: now, retry: true });
      p.retry = 'ce';
      lane.resend.unshift(p);
    } else {
      e.ack = code;
      e.ackAt = now;
      e.latencyMs = now - (e.lastSentAt ?? now);
      e.errors = ack.errors;
      this.latencies.push(e.latencyMs);
      this.counters.acked++;
      this.byCode[code] = (this.byCode[code] ?? 0) + 1;
      const t = (this.byType[e.type] ??= {});
      t[code] = (t[code] ?? 0) + 1;
      p.bytes = undefined;
      this.log({ t: 'ack', id: e.controlId, code, at: now });
      this.emit('ack', e);
    }
    void this.pump(lane);
  }

  /** The oldest unacknowledged message of a lane waited too long: drop and reconnect (resend). */
  private checkTimeouts(): void {
    const now = Date.now();
    for (const lane of this.lanes) {
      const oldest = lane.inflight[0];
      if (!oldest || !lane.socket || now - (oldest.entry.lastSentAt ?? now) < this.opts.ackTimeoutMs) continue;
      this.counters.timeouts++;
      if (oldest.entry.attempts >= this.opts.maxAttempts) {
        lane.inflight.shift();
        oldest.entry.abandoned = true;
        this.counters.abandoned++;
        this.log({ t: 'abandoned', id: oldest.entry.controlId, at: now });
      }
      lane.socket.destroy();
    }
  }
}

/** The ROC result of an answer (its ZRC segment, read with the ZRC_FIELDS layout). */
export interface GapRocResult {
  /** IDB, SIM, CLC, DEL, ANNUAIRE… */
  service: string;
  /** OK or KO. */
  status: string;
  /** A technical KO (AMC unreachable, timeout…). */
  technical: boolean;
  /** CLC: the engagement number. */
  engagement?: string;
  /** RSP (a billing return): the invoice state, ZRC-25 (PAYE, PAYE_PARTIEL, REJETE). */
  invoiceState?: string;
}

export interface ReceivedAnswer {
  controlId: string;
  /** MSH-9 (e.g. ADT^A01, ORU…), as text. */
  type: string;
  text: string;
  at: number;
  /** Absent when the message has no ZRC. */
  roc?: GapRocResult;
}

/** What the GAP received from the bridge, counted (no patient data). */
export interface GapAnswerCounts {
  /** Frames received (copies included). */
  received: number;
  /** Distinct MSH-10: a copy (same MSH-10 sent again) counts once below. */
  distinct: number;
  duplicates: number;
  /** `<SERVICE> <OK|KO>[ technical]` → count, e.g. "IDB OK", "IDB KO", "IDB KO technical", "CLC OK". */
  byResult: Record<string, number>;
  /** Distinct engagement numbers (CLC OK). */
  engagements: number;
  /** Billing returns (ZRC-1 RSP) by invoice state (ZRC-25): PAYE, PAYE_PARTIEL, REJETE. */
  invoices: Record<string, number>;
  /** Messages without a ZRC. */
  other: number;
}

const zrcField = (key: keyof AnswerFacts): number => ZRC_FIELDS.find((f) => f.key === key)?.field ?? 0;

/** Reads the ROC result of an answer (ZRC-1 service, ZRC-2 status, ZRC-3 technical, ZRC-10 engagement). */
export function readRocResult(text: string): GapRocResult | undefined {
  try {
    const zrc = parseEr7(text).segment(ZRC_SEGMENT);
    if (!zrc) return undefined;
    const service = zrc.get(zrcField('service')).toUpperCase();
    // a billing return repeats the engagement it billed: only a CLC answer brings one
    const engagement = service === 'RSP' ? '' : zrc.get(zrcField('numeroEngagement'));
    const invoiceState = service === 'RSP' ? zrc.get(zrcField('etatFacture')).toUpperCase() : '';
    return {
      service,
      status: zrc.get(zrcField('status')).toUpperCase(),
      technical: zrc.get(zrcField('technical')).toUpperCase() === 'Y',
      ...(engagement ? { engagement } : {}),
      ...(invoiceState ? { invoiceState } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The label an answer is counted under: `IDB OK`, `IDB KO`, `IDB KO technical`, `CLC OK`… */
export function resultLabel(r: GapRocResult): string {
  return `${r.service || '?'} ${r.status || '?'}${r.technical ? ' technical' : ''}`;
}

/** Counts answers by ROC result, each MSH-10 once (a resent copy is a duplicate). */
export function countAnswers(received: readonly ReceivedAnswer[]): GapAnswerCounts {
  const seen = new Set<string>();
  const engagements = new Set<string>();
  const c: GapAnswerCounts = {
    received: received.length,
    distinct: 0,
    duplicates: 0,
    byResult: {},
    engagements: 0,
    invoices: {},
    other: 0,
  };
  for (const a of received) {
    if (a.controlId && seen.has(a.controlId)) {
      c.duplicates++;
      continue;
    }
    if (a.controlId) seen.add(a.controlId);
    c.distinct++;
    if (!a.roc) {
      c.other++;
      continue;
    }
    const label = resultLabel(a.roc);
    c.byResult[label] = (c.byResult[label] ?? 0) + 1;
    if (a.roc.engagement) engagements.add(a.roc.engagement);
    if (a.roc.invoiceState) c.invoices[a.roc.invoiceState] = (c.invoices[a.roc.invoiceState] ?? 0) + 1;
  }
  c.engagements = engagements.size;
  return c;
}

/** An MLLP server recording the messages the bridge sends back; each one acknowledged AA. */
export class GapAnswerListener {
  readonly received: ReceivedAnswer[] = [];
  /** When the last answer came (0: none yet). */
  lastAt = 0;
  private server?: net.Server | tls.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly options: { host?: string; port?: number; tls?: tls.TlsOptions } = {}) {}

  async start(): Promise<{ host: string; port: number }> {
    const onSocket = (socket: net.Socket): void => {
      this.sockets.add(socket);
      const deframer = new MllpDeframer();
      socket.on('data', (chunk: Buffer) => {
        for (const ev of deframer.push(chunk)) {
          if (ev.kind !== 'frame') continue;
          let text = '';
          let type = '';
          try {
            const d = decodeFrame(ev.bytes);
            text = d.text;
            type = parseEr7(text).raw('MSH-9');
          } catch {
            /* still acknowledged below, with what the raw MSH gives */
          }
          const ctx = ackContextFromBytes(ev.bytes);
          const roc = text ? readRocResult(text) : undefined;
          this.lastAt = Date.now();
          this.received.push({ controlId: ctx.controlId ?? '', type, text, at: this.lastAt, ...(roc ? { roc } : {}) });
          socket.write(frame(buildAck(ctx, { code: 'AA', application: 'GAP-SIM' }).bytes));
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    };
    this.server = this.options.tls ? tls.createServer(this.options.tls, onSocket) : net.createServer(onSocket);
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    const a = server.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  counts(): GapAnswerCounts {
    return countAnswers(this.received);
  }

  /**
   * Keeps listening until no answer came for `quietMs` (counted from `since`, e.g. the last ACK,
   * or from the last answer when later), or `maxMs` passed. Resolves with the time waited.
   */
  async waitQuiet(maxMs: number, quietMs: number, since: number = Date.now()): Promise<number> {
    const start = Date.now();
    const end = start + Math.max(0, maxMs);
    for (;;) {
      const now = Date.now();
      const quietUntil = Math.max(since, this.lastAt) + quietMs;
      if (now >= end || now >= quietUntil) return now - start;
      await new Promise<void>((r) => setTimeout(r, Math.max(1, Math.min(end, quietUntil) - now)));
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    this.server = undefined;
  }
}
