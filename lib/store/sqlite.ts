/**
 * The default Journal: one embedded SQLite file (better-sqlite3) in WAL mode.
 *
 * Durability. Every write goes through one group-commit queue: writes requested in the same
 * event-loop turn (or within `windowMs`, or up to `maxBatch`) run in ONE transaction, each inside
 * its own savepoint (one bad write does not abort its neighbours), and every promise settles only
 * after COMMIT returned. `synchronous`:
 *  - `FULL` (default): the WAL is fsynced at every commit, so an acknowledged message survives a
 *    process kill AND a power loss / OS crash. Group commit pays one fsync per batch.
 *  - `NORMAL`: the commit is in the OS page cache when the promise resolves. It survives a process
 *    kill (SIGKILL, crash of Node) but the last commits may be lost on a power loss.
 * Reads run at once on the same connection and see every committed write.
 *
 * This file is the facade (options, opening order, the `Journal` methods); each job lives in
 * `sqlite/` and prepares its own statements:
 *  - `schema.ts`: file and directory modes, tables, migrations (`openDatabase`);
 *  - `writer.ts`: the group-commit writer every part writes through;
 *  - `inbound.ts`: inbound messages, duplicates, dispatcher states, held venues, resend;
 *  - `outbound.ts`: the outbound queue, retries, idempotent answer keys;
 *  - `dossier.ts`: dossiers (the ROC record and its query columns, see ../dossier-columns.ts) and service exchanges;
 *  - `billing.ts`: DRE-ES files and their gapless numbering, invoice billing states, RSP files seen;
 *  - `retention.ts`: the purge of old raw messages and its schedule;
 *  - `rows.ts`: row and input helpers shared by the parts.
 */
import type Database from 'better-sqlite3';
import type { DossierRecord } from '../dossier/dossier';
import {
  Backoff,
  BillingAck,
  BillingFileInput,
  BillingFileRecord,
  BillingFileState,
  InvoiceBilling,
  InvoiceBillingInput,
  InvoiceBillingQuery,
  RspFileInput,
  RspFileRecord,
  DossierEntry,
  DossierPage,
  DossierQuery,
  HeldKey,
  InboundFilter,
  InboundInput,
  InboundRecord,
  InboundState,
  Journal,
  JournalError,
  OutboundFilter,
  OutboundInput,
  OutboundRecord,
  PurgeResult,
  ServiceExchange,
  Stored,
} from './journal';
import { BillingStore } from './sqlite/billing';
import { DossierStore } from './sqlite/dossier';
import { InboundStore } from './sqlite/inbound';
import { OutboundStore } from './sqlite/outbound';
import { RetentionPurge, retentionMsOf } from './sqlite/retention';
import { openDatabase } from './sqlite/schema';
import { GroupCommitWriter } from './sqlite/writer';

export interface SqliteJournalOptions {
  /** Database file; parent directories are created. */
  file: string;
  /** Default FULL (see the file comment). */
  synchronous?: 'FULL' | 'NORMAL';
  /** Extra wait before a batch commits, in ms. 0 (default): commit after the next poll phase (no timer delay). */
  windowMs?: number;
  /** A batch commits at once when it reaches this many writes. Default 2000. */
  maxBatch?: number;
  /** Outbound retries: default 5 attempts. */
  maxAttempts?: number;
  /** Outbound backoff: default 1 s × 2^(n-1), at most 5 min. */
  backoff?: Backoff;
  /**
   * Put outbound messages left SENT back in the queue when opening (default true). A second journal
   * instance on a file whose sender is alive should pass false (it would make those messages go
   * out twice); the sender then calls recoverOutbound(destination) when it starts.
   */
  recoverSentOnOpen?: boolean;
  /**
   * How long an MSH-10 stays taken for its sender, in ms. Default: forever. With a window, a
   * sender that restarts its counter after that time is not taken for a duplicate.
   */
  duplicateWindowMs?: number;
  /** WAL pages before an automatic checkpoint (SQLite default 1000 = 4 MiB). */
  autocheckpointPages?: number;
  /**
   * Retention of raw messages, in days (default 30; 0 = keep forever). The raw bytes of finished
   * inbound messages and the payload of finished answers older than this are erased (the rows,
   * their states, counts and duplicate keys stay). Dossiers are not concerned.
   */
  retentionDays?: number;
  /** How often the purge runs while the journal is open, in ms (default 1 h; 0 = only at open). */
  purgeIntervalMs?: number;
  /** Called when a scheduled purge fails (the text never quotes stored content). */
  onPurgeError?: (e: Error) => void;
  /**
   * A dossier's request in flight (`enCours`) older than this is due again in `dueDossiers` (its
   * answer is taken as lost), in ms. Default 15 min. Applied when a record is saved.
   */
  inFlightGraceMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class SqliteJournal implements Journal {
  readonly file: string;
  readonly synchronous: 'FULL' | 'NORMAL';
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly writer: GroupCommitWriter;
  /** Number of commits and writes so far (for benchmarks and tests). */
  readonly stats: { commits: number; writes: number; largestBatch: number };
  private readonly inbound: InboundStore;
  private readonly outbound: OutboundStore;
  private readonly dossiers: DossierStore;
  private readonly retention: RetentionPurge;
  private readonly billing: BillingStore;

  constructor(options: SqliteJournalOptions) {
    if (!options || typeof options.file !== 'string' || !options.file) {
      throw new JournalError('SqliteJournal needs a database file path', 'BAD_INPUT');
    }
    this.file = options.file;
    this.synchronous = options.synchronous ?? 'FULL';
    if (this.synchronous !== 'FULL' && this.synchronous !== 'NORMAL') {
      throw new JournalError('synchronous must be FULL or NORMAL', 'BAD_INPUT');
    }
    this.now = options.now ?? Date.now;
    const retentionMs = retentionMsOf(options.retentionDays);
    this.db = openDatabase(this.file, { synchronous: this.synchronous, autocheckpointPages: options.autocheckpointPages });
    this.writer = new GroupCommitWriter(this.db, {
      windowMs: Math.max(0, options.windowMs ?? 0),
      maxBatch: Math.max(1, options.maxBatch ?? 2000),
    });
    this.stats = this.writer.stats;
    this.inbound = new InboundStore(this.db, this.writer, { now: this.now, duplicateWindowMs: options.duplicateWindowMs });
    this.outbound = new OutboundStore(this.db, this.writer, {
      now: this.now,
      maxAttempts: Math.max(1, options.maxAttempts ?? 5),
      backoff: options.backoff ?? { baseMs: 1000, factor: 2, maxMs: 300_000 },
    });
    if (options.inFlightGraceMs !== undefined && !(Number.isFinite(options.inFlightGraceMs) && options.inFlightGraceMs >= 0)) {
      this.db.close();
      throw new JournalError('inFlightGraceMs must be a number of ms ≥ 0', 'BAD_INPUT');
    }
    this.dossiers = new DossierStore(this.db, this.writer, { now: this.now, inFlightGraceMs: options.inFlightGraceMs });
    this.billing = new BillingStore(this.db, this.writer, { now: this.now });
    try {
      // Outbound messages SENT when the process stopped have an unknown fate: send them again.
      if (options.recoverSentOnOpen !== false) this.outbound.recoverAllSent();
    } catch (e) {
      this.db.close();
      throw e;
    }
    this.retention = new RetentionPurge(this.db, this.writer, {
      now: this.now,
      retentionMs,
      duplicateWindowMs: options.duplicateWindowMs,
      purgeIntervalMs: options.purgeIntervalMs,
      onPurgeError: options.onPurgeError,
    });
    this.retention.schedule();
  }

  // ------------------------------------------------------------------ inbound (sqlite/inbound.ts)

  append(input: InboundInput): Promise<Stored> {
    return this.inbound.append(input);
  }

  get(id: number, options: { raw?: boolean } = {}): Promise<InboundRecord | undefined> {
    return this.inbound.get(id, options);
  }

  pending(): Promise<Array<{ id: number; orderingKey?: string; state: InboundState }>> {
    return this.inbound.pending();
  }

  start(ids: number[]): Promise<InboundRecord[]> {
    return this.inbound.start(ids);
  }

  complete(id: number, state: 'DONE' | 'IGNORED' = 'DONE'): Promise<void> {
    return this.inbound.complete(id, state);
  }

  fail(id: number, reason: string): Promise<{ heldKey?: string; waiting: number }> {
    return this.inbound.fail(id, reason);
  }

  heldKeys(): Promise<HeldKey[]> {
    return this.inbound.heldKeys();
  }

  release(orderingKey: string, mode: 'retry' | 'skip' = 'retry'): Promise<number[]> {
    return this.inbound.release(orderingKey, mode);
  }

  resend(id: number): Promise<Stored> {
    return this.inbound.resend(id);
  }

  browse(filter: InboundFilter = {}): Promise<InboundRecord[]> {
    return this.inbound.browse(filter);
  }

  counts(): Promise<Record<InboundState, number>> {
    return this.inbound.counts();
  }

  hasSeenOrderingKey(orderingKey: string): Promise<boolean> {
    return this.inbound.hasSeenOrderingKey(orderingKey);
  }

  // ------------------------------------------------------------------ outbound (sqlite/outbound.ts)

  enqueue(input: OutboundInput): Promise<OutboundRecord> {
    return this.outbound.enqueue(input);
  }

  take(destination: string, limit = 10, now?: Date): Promise<OutboundRecord[]> {
    return this.outbound.take(destination, limit, now);
  }

  /** SENT → QUEUED for one destination (its sender restarted: the fate of those sends is unknown). */
  recoverOutbound(destination: string): Promise<number> {
    return this.outbound.recoverOutbound(destination);
  }

  acked(id: number): Promise<void> {
    return this.outbound.acked(id);
  }

  /** Delay before the attempt following `attempts` failed ones. */
  backoffMs(attempts: number): number {
    return this.outbound.backoffMs(attempts);
  }

  sendFailed(id: number, reason: string, now?: Date): Promise<OutboundRecord> {
    return this.outbound.sendFailed(id, reason, now);
  }

  requeue(id: number): Promise<void> {
    return this.outbound.requeue(id);
  }

  cancel(id: number): Promise<void> {
    return this.outbound.cancel(id);
  }

  getOutbound(id: number, options: { payload?: boolean } = {}): Promise<OutboundRecord | undefined> {
    return this.outbound.getOutbound(id, options);
  }

  browseOutbound(filter: OutboundFilter = {}): Promise<OutboundRecord[]> {
    return this.outbound.browseOutbound(filter);
  }

  // ------------------------------------------------------------------ dossiers (sqlite/dossier.ts)

  putDossier(orderingKey: string, roc: unknown, engagement?: string): Promise<DossierEntry> {
    return this.dossiers.putDossier(orderingKey, roc, engagement);
  }

  getDossier(orderingKey: string): Promise<DossierEntry | undefined> {
    return this.dossiers.getDossier(orderingKey);
  }

  recordExchange(x: ServiceExchange): Promise<number> {
    return this.dossiers.recordExchange(x);
  }

  exchanges(orderingKey: string): Promise<ServiceExchange[]> {
    return this.dossiers.exchanges(orderingKey);
  }

  saveDossier(record: DossierRecord, expectedMajLe?: string | null): Promise<void> {
    return this.dossiers.saveDossier(record, expectedMajLe);
  }

  loadDossier(key: string): Promise<DossierRecord | undefined> {
    return this.dossiers.loadDossier(key);
  }

  dossierByEngagement(numero: string): Promise<DossierRecord | undefined> {
    return this.dossiers.dossierByEngagement(numero);
  }

  listDossiers(q: DossierQuery = {}): Promise<DossierPage> {
    return this.dossiers.listDossiers(q);
  }

  dueDossiers(now: Date, limit: number): Promise<DossierRecord[]> {
    return this.dossiers.dueDossiers(now, limit);
  }

  countDossiersByState(): Promise<Record<string, number>> {
    return this.dossiers.countDossiersByState();
  }

  // ------------------------------------------------------------------ billing (sqlite/billing.ts)

  recordAmoPayment(p: { key: string; number: string; amoCents: number; paidAt: string }): Promise<InvoiceBilling> {
    return this.billing.recordAmoPayment(p);
  }

  putInvoiceBilling(input: InvoiceBillingInput): Promise<InvoiceBilling> {
    return this.billing.putInvoiceBilling(input);
  }

  getInvoiceBilling(key: string, number: string): Promise<InvoiceBilling | undefined> {
    return this.billing.getInvoiceBilling(key, number);
  }

  reopenInvoice(key: string, number: string): Promise<InvoiceBilling> {
    return this.billing.reopenInvoice(key, number);
  }

  listInvoiceBilling(q: InvoiceBillingQuery = {}): Promise<InvoiceBilling[]> {
    return this.billing.listInvoiceBilling(q);
  }

  writeBillingFile(input: BillingFileInput): Promise<BillingFileRecord> {
    return this.billing.writeBillingFile(input);
  }

  markBillingFileSent(id: number, at?: Date): Promise<BillingFileRecord> {
    return this.billing.markBillingFileSent(id, at);
  }

  refuseBillingFile(id: number, reason: { code: string; label: string }, at?: Date): Promise<BillingFileRecord> {
    return this.billing.refuseBillingFile(id, reason, at);
  }

  acknowledgeBillingFile(q: { emitter: string; amc: string; numero: number }, acks: BillingAck[], at?: Date): Promise<BillingFileRecord> {
    return this.billing.acknowledgeBillingFile(q, acks, at);
  }

  getBillingFile(id: number, options: { bytes?: boolean } = {}): Promise<BillingFileRecord | undefined> {
    return this.billing.getBillingFile(id, options);
  }

  listBillingFiles(q: { states?: BillingFileState[]; amc?: string; limit?: number } = {}): Promise<BillingFileRecord[]> {
    return this.billing.listBillingFiles(q);
  }

  recordRspFile(input: RspFileInput): Promise<{ record: RspFileRecord; duplicate: boolean; applied: number }> {
    return this.billing.recordRspFile(input);
  }

  getRspFile(hash: string, options: { bytes?: boolean } = {}): Promise<RspFileRecord | undefined> {
    return this.billing.getRspFile(hash, options);
  }

  // ------------------------------------------------------------------ retention (sqlite/retention.ts)

  /**
   * Erases the raw bytes of finished inbound messages and the payload of finished answers older
   * than `retentionDays` (see sqlite/retention.ts). One purge at a time: a second call joins it.
   */
  purge(now?: Date): Promise<PurgeResult> {
    return this.retention.purge(now);
  }

  /** 0: keep forever. */
  get retentionMs(): number {
    return this.retention.retentionMs;
  }

  /** The last purge's result (scheduled or asked for). */
  get lastPurge(): PurgeResult | undefined {
    return this.retention.lastPurge;
  }

  // ------------------------------------------------------------------ lifecycle

  /** Stops the scheduled purge, commits what is queued, closes the file. Later calls do nothing. */
  async close(): Promise<void> {
    if (this.writer.closed) return;
    this.retention.stop();
    this.writer.close();
    this.db.close();
  }
}

export function openSqliteJournal(options: SqliteJournalOptions): SqliteJournal {
  return new SqliteJournal(options);
}
