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
 */
import type Database from 'better-sqlite3';
import {
  Backoff,
  DossierEntry,
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
import { DossierStore } from './sqlite/dossier';
import { InboundStore } from './sqlite/inbound';
import { OutboundStore } from './sqlite/outbound';
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
  /** Clock, for tests. */
  now?: () => number;
}

const DAY_MS = 86_400_000;
/** Rows per purge transaction: a purge never holds the event loop long. */
const PURGE_CHUNK = 2000;

export class SqliteJournal implements Journal {
  readonly file: string;
  readonly synchronous: 'FULL' | 'NORMAL';
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly duplicateWindowMs: number | undefined;
  /** 0: keep forever. */
  readonly retentionMs: number;
  private purgeTimer: NodeJS.Timeout | undefined;
  private purging: Promise<PurgeResult> | undefined;
  /** The last purge's result (scheduled or asked for). */
  lastPurge: PurgeResult | undefined;
  private readonly writer: GroupCommitWriter;
  private readonly purgeTx: (now: number, before: number, deleteBefore: number | undefined) => Omit<PurgeResult, 'before'>;
  /** Number of commits and writes so far (for benchmarks and tests). */
  readonly stats: { commits: number; writes: number; largestBatch: number };
  private readonly s: Record<string, Database.Statement>;
  private readonly inbound: InboundStore;
  private readonly outbound: OutboundStore;
  private readonly dossiers: DossierStore;

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
    this.duplicateWindowMs = options.duplicateWindowMs;
    const days = options.retentionDays ?? 30;
    if (typeof days !== 'number' || !Number.isFinite(days) || days < 0) {
      throw new JournalError('retentionDays must be a number of days ≥ 0 (0 = keep)', 'BAD_INPUT');
    }
    this.retentionMs = Math.round(days * DAY_MS);
    this.db = openDatabase(this.file, { synchronous: this.synchronous, autocheckpointPages: options.autocheckpointPages });
    this.writer = new GroupCommitWriter(this.db, { windowMs: Math.max(0, options.windowMs ?? 0), maxBatch: Math.max(1, options.maxBatch ?? 2000) });
    this.stats = this.writer.stats;
    this.inbound = new InboundStore(this.db, this.writer, { now: this.now, duplicateWindowMs: this.duplicateWindowMs });
    this.outbound = new OutboundStore(this.db, this.writer, {
      now: this.now,
      maxAttempts: Math.max(1, options.maxAttempts ?? 5),
      backoff: options.backoff ?? { baseMs: 1000, factor: 2, maxMs: 300_000 },
    });
    this.dossiers = new DossierStore(this.db, this.writer, { now: this.now });
    try {
      // Outbound messages SENT when the process stopped have an unknown fate: send them again.
      if (options.recoverSentOnOpen !== false) this.outbound.recoverAllSent();
    } catch (e) {
      this.db.close();
      throw e;
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      purgeInbound: p(
        `UPDATE inbound SET raw = X'', purged_at = ? WHERE id IN (SELECT id FROM inbound WHERE received_at < ? AND purged_at IS NULL
           AND state IN ('DONE', 'IGNORED', 'SKIPPED', 'DUPLICATE') LIMIT ?)`,
      ),
      deleteInbound: p('DELETE FROM inbound WHERE id IN (SELECT id FROM inbound WHERE received_at < ? AND purged_at IS NOT NULL LIMIT ?)'),
      purgeOutbound: p(
        `UPDATE outbound SET payload = X'', purged_at = ? WHERE id IN (SELECT id FROM outbound WHERE created_at < ? AND purged_at IS NULL
           AND state IN ('ACKED', 'CANCELLED') LIMIT ?)`,
      ),
    };
    this.purgeTx = this.db.transaction((now: number, before: number, deleteBefore: number | undefined) => {
      const r = { inboundErased: 0, inboundDeleted: 0, outboundErased: 0 };
      r.inboundErased = this.s.purgeInbound.run(now, before, PURGE_CHUNK).changes;
      r.outboundErased = this.s.purgeOutbound.run(now, before, PURGE_CHUNK).changes;
      if (deleteBefore !== undefined) r.inboundDeleted = this.s.deleteInbound.run(deleteBefore, PURGE_CHUNK).changes;
      return r;
    });
    if (this.retentionMs > 0) {
      // At open (after the constructor returns), then on a schedule that never keeps the process alive.
      const onErr = (e: Error) => {
        if (!this.closed) options.onPurgeError?.(e);
      };
      setImmediate(() => {
        if (!this.closed) this.purge().catch(onErr);
      }).unref();
      const every = options.purgeIntervalMs ?? 3_600_000;
      if (every > 0) {
        this.purgeTimer = setInterval(() => this.purge().catch(onErr), Math.max(1000, every));
        this.purgeTimer.unref();
      }
    }
  }

  // ------------------------------------------------------------------ group commit

  private write<T>(op: () => T): Promise<T> {
    return this.writer.write(op);
  }

  private read<T>(fn: () => T): Promise<T> {
    return this.writer.read(fn);
  }

  private get closed(): boolean {
    return this.writer.closed;
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

  // ------------------------------------------------------------------ retention

  purge(now?: Date): Promise<PurgeResult> {
    if (this.closed) return Promise.reject(new JournalError('the journal is closed', 'CLOSED'));
    if (this.purging) return this.purging; // one at a time
    const t = now ? now.getTime() : this.now();
    const before = t - this.retentionMs;
    const result: PurgeResult = { inboundErased: 0, inboundDeleted: 0, outboundErased: 0, before: new Date(before).toISOString() };
    if (this.retentionMs <= 0) return Promise.resolve(result);
    // Rows can go only when they can no longer be a duplicate's original: with the default
    // (forever) duplicate window they stay, erased; with a window, once past it too.
    const deleteBefore = this.duplicateWindowMs === undefined ? undefined : t - Math.max(this.retentionMs, this.duplicateWindowMs);
    const run = async (): Promise<PurgeResult> => {
      for (;;) {
        if (this.closed) break;
        this.writer.flush(); // pending group-commit writes go first, in their own transaction
        let n: Omit<PurgeResult, 'before'>;
        try {
          n = this.purgeTx(t, before, deleteBefore);
        } catch (e) {
          throw new JournalError(`retention purge failed: ${(e as Error).message}`, 'STORAGE');
        }
        result.inboundErased += n.inboundErased;
        result.inboundDeleted += n.inboundDeleted;
        result.outboundErased += n.outboundErased;
        if (n.inboundErased < PURGE_CHUNK && n.outboundErased < PURGE_CHUNK && n.inboundDeleted < PURGE_CHUNK) break;
        await new Promise((r) => setImmediate(r)); // let ACKs and other writes through between chunks
      }
      const touched = result.inboundErased + result.inboundDeleted + result.outboundErased;
      if (touched > 0 && !this.closed) {
        // The old page images live on in the WAL until a checkpoint: copy them back and truncate it.
        try {
          this.db.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          // busy (a reader on another connection): the next checkpoint will do
        }
      }
      this.lastPurge = result;
      return result;
    };
    this.purging = run().finally(() => {
      this.purging = undefined;
    });
    return this.purging;
  }

  // ------------------------------------------------------------------ lifecycle

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.purgeTimer = undefined;
    this.writer.close();
    this.db.close();
  }
}

export function openSqliteJournal(options: SqliteJournalOptions): SqliteJournal {
  return new SqliteJournal(options);
}
