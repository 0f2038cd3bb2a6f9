/**
 * The durable journal: the contract every store implements (SQLite by default, see sqlite.ts; a
 * PostgreSQL store can implement the same interface later). Every method may return a Promise.
 *
 * Inbound lifecycle (one row per message received, raw bytes kept):
 *
 *   RECEIVED ──start──▶ PROCESSING ──complete──▶ DONE | IGNORED
 *                                   └─fail────▶ FAILED (error queue; its ordering key is held)
 *   RECEIVED for a held key ──────────────────▶ HELD (waits; release() puts it back to RECEIVED)
 *   release(key, 'skip') ─────────────────────▶ the FAILED message becomes SKIPPED
 *   same (sender, MSH-10) as an earlier message ▶ DUPLICATE (stored, never processed)
 *   an event the bridge does not act on ──────▶ IGNORED at once
 *
 * Outbound lifecycle (per destination, in order per ordering key):
 *
 *   QUEUED ──take──▶ SENT ──acked──▶ ACKED
 *                         └─failed──▶ QUEUED again (backoff) … ERROR after maxAttempts
 *   ERROR ──requeue──▶ QUEUED        ERROR|QUEUED ──cancel──▶ CANCELLED
 *
 * Texts passed as `reason` / `lastError` are stored as given (truncated to 1000 characters): callers
 * pass sanitised texts, never patient data. Index columns hold no patient data: channel, sender
 * application/facility, MSH-10, event and the ordering key (a venue/dossier/IPP number).
 */

// The ROC dossier the journal keeps (lib/dossier/dossier.ts): a type import.
import type { DossierRecord } from '../dossier/dossier';
export type { DossierRecord };

export type InboundState = 'RECEIVED' | 'PROCESSING' | 'DONE' | 'FAILED' | 'HELD' | 'SKIPPED' | 'IGNORED' | 'DUPLICATE';

export type OutboundState = 'QUEUED' | 'SENT' | 'ACKED' | 'ERROR' | 'CANCELLED';

export const INBOUND_STATES: readonly InboundState[] = [
  'RECEIVED',
  'PROCESSING',
  'DONE',
  'FAILED',
  'HELD',
  'SKIPPED',
  'IGNORED',
  'DUPLICATE',
];
export const OUTBOUND_STATES: readonly OutboundState[] = ['QUEUED', 'SENT', 'ACKED', 'ERROR', 'CANCELLED'];

/** What the listener knows once a frame is received (see lib/hl7 `receive()`). */
export interface InboundInput {
  /** The frame's bytes exactly as received (without MLLP framing). */
  raw: Buffer;
  /** Listener/channel name, e.g. `mllp:2575` or a node id. */
  channel: string;
  /** Defaults to now. */
  receivedAt?: Date;
  /** MSH-3 / MSH-4. Together they form the sender for duplicate detection. */
  sendingApplication?: string;
  sendingFacility?: string;
  /** MSH-10. Without it, no duplicate detection is possible. */
  controlId?: string;
  /** e.g. `ADT^A01`. */
  event?: string;
  charset?: string;
  /** Per-venue ordering key: PV1-19, else NDA, else IPP. Without one the message is not ordered. */
  orderingKey?: string;
  /** True for events the bridge does not act on: stored as IGNORED, never dispatched. */
  ignored?: boolean;
}

/** The answer to `append`, given once the row is durably committed. */
export interface Stored {
  /** The message's id; for a duplicate, the id of the EARLIER message. */
  id: number;
  duplicate: boolean;
  /** The row this arrival was stored as (equals `id` unless duplicate). */
  storedId: number;
  /** State of the stored row (DUPLICATE for a duplicate). */
  state: InboundState;
  orderingKey?: string;
  receivedAt: string;
}

export interface InboundRecord {
  id: number;
  receivedAt: string;
  channel: string;
  sendingApplication?: string;
  sendingFacility?: string;
  controlId?: string;
  event?: string;
  charset?: string;
  orderingKey?: string;
  size: number;
  state: InboundState;
  attempts: number;
  lastError?: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  duplicateOf?: number;
  resendOf?: number;
  /** Present when asked for (get(id, { raw: true }), start()); empty once purged. */
  raw?: Buffer;
  /** When the retention purge erased the raw bytes (the row and its counts stay). */
  purgedAt?: string;
}

export interface HeldKey {
  orderingKey: string;
  /** The message whose failure holds the key (in the error queue). */
  failedId: number;
  since: string;
  reason?: string;
  /** Messages for this key waiting in HELD. */
  waiting: number;
}

export interface InboundFilter {
  states?: InboundState[];
  orderingKey?: string;
  channel?: string;
  controlId?: string;
  /** receivedAt >= from, receivedAt < to. */
  from?: Date;
  to?: Date;
  /** Paging: ids strictly greater (ascending order) / strictly lower (descending). */
  afterId?: number;
  order?: 'asc' | 'desc';
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface OutboundInput {
  destination: string;
  payload: Buffer;
  orderingKey?: string;
  /** The inbound message this answers, when any. */
  inboundId?: number;
  /** Overrides the journal's default. */
  maxAttempts?: number;
  /**
   * Idempotency key of the answer, e.g. `in:1234|IDB|OK` (inbound message, service, outcome).
   * Enqueuing a key already present for the destination stores nothing and resolves with the
   * existing answer (`existing: true`): a message processed again after a crash does not send the
   * GAP a second answer with a new MSH-10. Without a key, every enqueue is a new answer.
   */
  answerKey?: string;
}

export interface OutboundRecord {
  id: number;
  destination: string;
  orderingKey?: string;
  inboundId?: number;
  createdAt: string;
  state: OutboundState;
  attempts: number;
  maxAttempts: number;
  /** Earliest time of the next attempt (backoff). */
  nextAttemptAt: string;
  lastError?: string;
  updatedAt: string;
  sentAt?: string;
  ackedAt?: string;
  payload?: Buffer;
  answerKey?: string;
  /** Set by `enqueue` when the answer key was already there: this is the earlier answer. */
  existing?: true;
  /** When the retention purge erased the payload. */
  purgedAt?: string;
}

/** What one retention purge did. */
export interface PurgeResult {
  /** Inbound messages whose raw bytes were erased. */
  inboundErased: number;
  /** Inbound rows deleted (only with a finite duplicate window, once past it and the retention). */
  inboundDeleted: number;
  /** Outbound answers whose payload was erased. */
  outboundErased: number;
  /** Messages received before this instant were concerned. */
  before: string;
}

export interface OutboundFilter {
  destination?: string;
  /** The answers of one inbound message (index outbound_inbound, schema 4). */
  inboundId?: number;
  states?: OutboundState[];
  orderingKey?: string;
  from?: Date;
  to?: Date;
  afterId?: number;
  limit?: number;
}

/** Exponential backoff for outbound retries: min(maxMs, baseMs × factor^(attempts-1)). */
export interface Backoff {
  baseMs: number;
  factor: number;
  maxMs: number;
}

/** One line of the dossier list: the indexed columns, flag codes and engagements; no identity. */
export interface DossierSummary {
  key: string;
  etat: string;
  numeroAmc?: string;
  finess?: string;
  /** The venue number (key `FINESS/V/venue`) or the NDA (key `FINESS/N/NDA`). */
  venue?: string;
  dateEntree?: string;
  dateSortie?: string;
  /** When the journal last stored the record (its clock, not the record's majLe). */
  updatedAt: string;
  flags: string[];
  engagements: Array<{ numero: string; statut: string }>;
}

export interface DossierQuery {
  /** Any of these states. */
  etat?: string[];
  numeroAmc?: string;
  /** On sejour.dateEntree, ISO dates (YYYY-MM-DD), both inclusive. */
  from?: string;
  to?: string;
  /** The venue number or NDA (the key's last part). */
  venue?: string;
  /** true: only dossiers with flags; false: only dossiers without. */
  flagged?: boolean;
  /** Default 50, at most 500. */
  limit?: number;
  /** The `next` of the previous page (opaque keyset cursor). */
  after?: string;
}

export interface DossierPage {
  /** Most recently stored first (updated_at desc, then key desc). */
  items: DossierSummary[];
  /** Present when there may be more: pass it as `after`. */
  next?: string;
}

export interface DossierEntry {
  orderingKey: string;
  /** The latest msg.roc, as JSON-serialisable data. */
  roc: unknown;
  /** Numéros d'engagement obtained for this venue (CLC), latest last. */
  engagements: string[];
  updatedAt: string;
}

/** One call to an online service (IDB, SIM, CLC, DEL…) for a venue: what happened, not the payload. */
export interface ServiceExchange {
  id?: number;
  orderingKey: string;
  service: string;
  /** e.g. OK, KO, TECHNIQUE. */
  outcome: string;
  at?: string;
  engagement?: string;
  /** Short sanitised detail (error code…), never patient data. */
  detail?: string;
}

// ---- billing (issue 10): DRE-ES files, invoice billing states, RSP files seen

/** A DRE-ES file's life: written (numbered, recorded) → sent (outbox) → ARL received, or refused (negative ARL). */
export type BillingFileState = 'WRITTEN' | 'SENT' | 'ARL_RECEIVED' | 'REFUSED';

/**
 * An invoice's billing state, per dossier key + invoice number. `pending`: waits (reason given);
 * `refused`: will not be billed as it stands (reason given); `ready`: released, waits for its batch;
 * then written (in file N) → sent → acknowledged | lot-refused → paid | partially-paid | rejected.
 */
export type InvoiceBillingState =
  'pending' | 'refused' | 'ready' | 'written' | 'sent' | 'acknowledged' | 'lot-refused' | 'paid' | 'partially-paid' | 'rejected';

export interface InvoiceBilling {
  /** Dossier key (FINESS géographique/V/venue). */
  key: string;
  /** Invoice number (unique per emitter). */
  number: string;
  state: InvoiceBillingState;
  /** Why it waits or was refused: operator text, no patient data. */
  reason?: string;
  finess?: string;
  amc?: string;
  /** When the AMO paid its share (YYYY-MM-DD or ISO date-time) and how much, in cents. */
  amoPaidAt?: string;
  amoCents?: number;
  engagement?: string;
  /** The AMC share billed (= engaged), in cents. */
  amcCents?: number;
  invoiceDate?: string;
  fileId?: number;
  fileNumber?: number;
  lotNumber?: number;
  /** Day the file went out, the ARL day, the return day (YYYY-MM-DD). */
  sentAt?: string;
  acknowledgedAt?: string;
  settledAt?: string;
  paidCents?: number;
  differenceCents?: number;
  paymentReference?: string;
  /** A 908R rejection or a negative ARL: code, label, action (reasons.json). */
  rejection?: { code: string; label: string; action: string };
  updatedAt: string;
}

/** What the release check records for an invoice (never past `ready`). */
export interface InvoiceBillingInput {
  key: string;
  number: string;
  state: 'pending' | 'refused' | 'ready';
  reason?: string;
  finess?: string;
  amc?: string;
  engagement?: string;
  amcCents?: number;
  invoiceDate?: string;
}

export interface InvoiceBillingQuery {
  states?: InvoiceBillingState[];
  amc?: string;
  key?: string;
  /** The invoices of one DRE-ES file (its id). */
  fileId?: number;
  /** On sentAt, YYYY-MM-DD, both inclusive. */
  sentFrom?: string;
  sentTo?: string;
  /** Default 10,000, at most 100,000. */
  limit?: number;
}

export interface BillingFileRecord {
  id: number;
  kind: 'DREES';
  emitter: string;
  amc: string;
  /** Gapless per emitter + AMC, from 1. */
  numero: number;
  name: string;
  state: BillingFileState;
  invoiceCount: number;
  lineCount: number;
  amcCents: number;
  totalCents: number;
  createdAt: string;
  sentAt?: string;
  ackAt?: string;
  /** A negative ARL's reason (no patient data). */
  reason?: string;
  bytes?: Buffer;
}

/** What `build(numero)` gives back: the file's bytes for the number allocated, and its figures. */
export interface BillingFileContent {
  name: string;
  bytes: Buffer;
  invoiceCount: number;
  lineCount: number;
  amcCents: number;
  totalCents: number;
}

export interface BillingFileInput {
  emitter: string;
  amc: string;
  /** The invoices the file carries: each must be `ready`; they become `written`, in this file. */
  invoices: Array<{ key: string; number: string; lotNumber: number; finess?: string }>;
  /**
   * Builds the file for the number allocated. Runs INSIDE the transaction that allocates the
   * number and records the file: it must be synchronous; if it throws, nothing is recorded and
   * the number is not consumed.
   */
  build(numero: number): BillingFileContent;
}

/** One lot's acknowledgement in an ARL received for a DRE-ES file (lot 0: the whole file). */
export interface BillingAck {
  lotNumber: number;
  positive: boolean;
  reasonCode?: string;
  reasonLabel?: string;
}

/** An RSP return applied to an invoice. */
export interface InvoiceSettlement {
  key: string;
  number: string;
  state: 'paid' | 'partially-paid' | 'rejected';
  settledAt: string;
  paidCents: number;
  differenceCents: number;
  paymentReference?: string;
  rejection?: { code: string; label: string; action: string };
}

export type RspFileState = 'PROCESSED' | 'QUARANTINED';

export interface RspFileInput {
  /** SHA-256 of the raw bytes, hex: the same file is never processed twice. */
  hash: string;
  amc?: string;
  numero?: number;
  state: RspFileState;
  /** Quarantine reason (no patient data). */
  reason?: string;
  bytes: Buffer;
  /** Applied in the same transaction, only to invoices sent or acknowledged. */
  settlements?: InvoiceSettlement[];
}

export interface RspFileRecord {
  id: number;
  hash: string;
  amc?: string;
  numero?: number;
  state: RspFileState;
  reason?: string;
  receivedAt: string;
  returns: number;
  bytes?: Buffer;
}

export interface Journal {
  // ---- inbound
  /** Stores the message; resolves only once the row is durably committed. */
  append(input: InboundInput): Promise<Stored>;
  get(id: number, options?: { raw?: boolean }): Promise<InboundRecord | undefined>;
  /** Ids and keys of RECEIVED and PROCESSING messages, in id order (restart resumption). */
  pending(): Promise<Array<{ id: number; orderingKey?: string; state: InboundState }>>;
  /** RECEIVED/PROCESSING → PROCESSING, attempts + 1; returns the records with their raw bytes. */
  start(ids: number[]): Promise<InboundRecord[]>;
  /** PROCESSING → DONE (or IGNORED when the processor decided the message has no effect). */
  complete(id: number, state?: 'DONE' | 'IGNORED'): Promise<void>;
  /** → FAILED with the reason; holds its ordering key (later RECEIVED messages for it → HELD). */
  fail(id: number, reason: string): Promise<{ heldKey?: string; waiting: number }>;
  heldKeys(): Promise<HeldKey[]>;
  /**
   * Lifts the hold. `retry`: the failed message goes back to RECEIVED, first in line. `skip`: it
   * becomes SKIPPED. The HELD messages go back to RECEIVED. Returns the now-runnable ids, in order.
   */
  release(orderingKey: string, mode?: 'retry' | 'skip'): Promise<number[]>;
  /** Processes a stored message again: a new RECEIVED row (resendOf = id) at the end of its key. */
  resend(id: number): Promise<Stored>;
  browse(filter?: InboundFilter): Promise<InboundRecord[]>;
  counts(): Promise<Record<InboundState, number>>;
  /**
   * True when the bridge has seen this ordering key: an inbound message stored with it (any state:
   * an admission committed and not processed yet counts) or a dossier kept under it. Asked before
   * the message being checked is appended, so it never counts itself. Read-only; both lookups are
   * indexed (inbound_okey, the dossiers primary key).
   */
  hasSeenOrderingKey(orderingKey: string): Promise<boolean>;

  // ---- outbound
  enqueue(input: OutboundInput): Promise<OutboundRecord>;
  /**
   * Claims up to `limit` due messages for the destination (→ SENT, attempts + 1). Only the head of
   * each ordering key is given: a later message waits while an earlier one is QUEUED, SENT or ERROR.
   */
  take(destination: string, limit?: number, now?: Date): Promise<OutboundRecord[]>;
  /** SENT → QUEUED for a destination whose sender (re)starts; returns how many. */
  recoverOutbound(destination: string): Promise<number>;
  acked(id: number): Promise<void>;
  /** SENT → QUEUED with backoff, or ERROR once maxAttempts is reached. */
  sendFailed(id: number, reason: string, now?: Date): Promise<OutboundRecord>;
  /** ERROR → QUEUED, attempts reset. */
  requeue(id: number): Promise<void>;
  /** QUEUED/ERROR → CANCELLED (unblocks the later messages of its key). */
  cancel(id: number): Promise<void>;
  getOutbound(id: number, options?: { payload?: boolean }): Promise<OutboundRecord | undefined>;
  browseOutbound(filter?: OutboundFilter): Promise<OutboundRecord[]>;

  // ---- dossiers, engagements, service exchanges
  putDossier(orderingKey: string, roc: unknown, engagement?: string): Promise<DossierEntry>;
  getDossier(orderingKey: string): Promise<DossierEntry | undefined>;
  recordExchange(exchange: ServiceExchange): Promise<number>;
  exchanges(orderingKey: string): Promise<ServiceExchange[]>;

  // ---- ROC dossiers (lib/dossier DossierRecord, see docs/dossier-store.md)
  /**
   * Stores the whole record (durably: resolves after COMMIT) with its indexed columns. With
   * `expectedMajLe`, rejects with CONFLICT unless the stored record's majLe is that value (`null`:
   * unless no record is stored under the key yet).
   */
  saveDossier(record: DossierRecord, expectedMajLe?: string | null): Promise<void>;
  loadDossier(key: string): Promise<DossierRecord | undefined>;
  /** The dossier holding that engagement number (the live one first, then the latest stored). */
  dossierByEngagement(numero: string): Promise<DossierRecord | undefined>;
  /** Keyset-paged list, most recently stored first. */
  listDossiers(q?: DossierQuery): Promise<DossierPage>;
  /** Records whose due time (re-check, IDB renewal, stale in-flight request) is <= now, oldest due first. */
  dueDossiers(now: Date, limit: number): Promise<DossierRecord[]>;
  /** Number of dossiers per state. */
  countDossiersByState(): Promise<Record<string, number>>;

  // ---- billing (issue 10; see lib/store/sqlite/billing.ts)
  /** Records the AMO payment of an invoice (creates its billing row, `pending`, when new). */
  recordAmoPayment(p: { key: string; number: string; amoCents: number; paidAt: string }): Promise<InvoiceBilling>;
  /** Records the release check's verdict; rejects (BAD_STATE) once the invoice is written or beyond. */
  putInvoiceBilling(input: InvoiceBillingInput): Promise<InvoiceBilling>;
  getInvoiceBilling(key: string, number: string): Promise<InvoiceBilling | undefined>;
  /**
   * A rejected or lot-refused invoice billed again (the same one resent, or corrected under the same
   * number): rejected | lot-refused → pending, its file, dates, amounts and rejection cleared (the
   * RSP file that rejected it stays in `rsp_files`, a refused file stays REFUSED in `billing_files`
   * with its number and bytes, the dossier's timeline keeps the rejection). BAD_STATE otherwise.
   */
  reopenInvoice(key: string, number: string): Promise<InvoiceBilling>;
  listInvoiceBilling(q?: InvoiceBillingQuery): Promise<InvoiceBilling[]>;
  /**
   * Allocates the next file number for (emitter, AMC), builds the file with it and records it with
   * its invoices (ready → written), in ONE transaction: no gap, no repeat, across restarts and kills.
   */
  writeBillingFile(input: BillingFileInput): Promise<BillingFileRecord>;
  /** WRITTEN → SENT (its invoices written → sent, sentAt = the day). Idempotent once SENT. */
  markBillingFileSent(id: number, at?: Date): Promise<BillingFileRecord>;
  /**
   * A file that cannot go out as it stands (the recipient's certificate expired or unusable):
   * WRITTEN → REFUSED with the reason, kept with its bytes; its invoices → lot-refused (reason,
   * action TRAITEMENT_MANUEL). BAD_STATE once sent.
   */
  refuseBillingFile(id: number, reason: { code: string; label: string }, at?: Date): Promise<BillingFileRecord>;
  /** An ARL for a DRE-ES file: ARL_RECEIVED (or REFUSED when a lot is refused); invoices → acknowledged / lot-refused. */
  acknowledgeBillingFile(q: { emitter: string; amc: string; numero: number }, acks: BillingAck[], at?: Date): Promise<BillingFileRecord>;
  getBillingFile(id: number, options?: { bytes?: boolean }): Promise<BillingFileRecord | undefined>;
  listBillingFiles(q?: { states?: BillingFileState[]; amc?: string; limit?: number }): Promise<BillingFileRecord[]>;
  /** Records an RSP file once (hash), with its settlements, in one transaction; a hash already seen → duplicate, nothing applied. */
  recordRspFile(input: RspFileInput): Promise<{ record: RspFileRecord; duplicate: boolean; applied: number }>;
  getRspFile(hash: string, options?: { bytes?: boolean }): Promise<RspFileRecord | undefined>;

  // ---- retention
  /**
   * Erases the raw bytes of finished inbound messages (DONE, IGNORED, SKIPPED, DUPLICATE) and the
   * payload of finished answers (ACKED, CANCELLED) older than the retention. Dossiers and
   * exchanges are kept. No-op when the retention is 0 (keep).
   */
  purge(now?: Date): Promise<PurgeResult>;

  /** Flushes pending writes, then closes. */
  close(): Promise<void>;
}

/** A journal error; its message never quotes stored content. */
export class JournalError extends Error {
  constructor(
    message: string,
    readonly code: 'CLOSED' | 'NOT_FOUND' | 'BAD_STATE' | 'BAD_INPUT' | 'STORAGE' | 'CONFLICT',
  ) {
    super(message);
    this.name = 'JournalError';
  }
}

/** Keeps stored error texts bounded. */
export function boundedText(text: string | undefined, max = 1000): string | undefined {
  if (text === undefined || text === null) return undefined;
  const s = String(text);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}
