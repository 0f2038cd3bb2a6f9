/**
 * Retention of the SQLite journal: the raw bytes of finished inbound messages and the payload of
 * finished answers older than `retentionDays` are erased (rows, states, counts and duplicate keys
 * stay; rows go only past a finite duplicate window), in chunks that never hold the event loop
 * long, at open and then on a schedule; the WAL is checkpointed after. Dossiers are not concerned.
 */
import type Database from 'better-sqlite3';
import { JournalError, PurgeResult } from '../journal';
import type { GroupCommitWriter } from './writer';

const DAY_MS = 86_400_000;
/** Rows per purge transaction: a purge never holds the event loop long. */
const PURGE_CHUNK = 2000;

/** `retentionDays` (default 30; 0 = keep forever) in ms; refuses what is not a number of days ≥ 0. */
export function retentionMsOf(retentionDays: number | undefined): number {
  const days = retentionDays ?? 30;
  if (!Number.isFinite(days) || days < 0) {
    throw new JournalError('retentionDays must be a number of days ≥ 0 (0 = keep)', 'BAD_INPUT');
  }
  return Math.round(days * DAY_MS);
}

function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
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
}

export interface RetentionOptions {
  now: () => number;
  /** 0: keep forever (see retentionMsOf). */
  retentionMs: number;
  /** The inbound duplicate window (undefined: forever, rows are then never deleted). */
  duplicateWindowMs?: number;
  /** How often the purge runs while the journal is open, in ms (default 1 h; 0 = only at open). */
  purgeIntervalMs?: number;
  /** Called when a scheduled purge fails (the text never quotes stored content). */
  onPurgeError?: (e: Error) => void;
}

export class RetentionPurge {
  /** 0: keep forever. */
  readonly retentionMs: number;
  /** The last purge's result (scheduled or asked for). */
  lastPurge: PurgeResult | undefined;
  private readonly now: () => number;
  private readonly duplicateWindowMs: number | undefined;
  private readonly purgeTx: (now: number, before: number, deleteBefore: number | undefined) => Omit<PurgeResult, 'before'>;
  private purgeTimer: NodeJS.Timeout | undefined;
  private purging: Promise<PurgeResult> | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly writer: GroupCommitWriter,
    private readonly options: RetentionOptions,
  ) {
    this.retentionMs = options.retentionMs;
    this.now = options.now;
    this.duplicateWindowMs = options.duplicateWindowMs;
    const s = prepare(db);
    this.purgeTx = db.transaction((now: number, before: number, deleteBefore: number | undefined) => {
      const r = { inboundErased: 0, inboundDeleted: 0, outboundErased: 0 };
      r.inboundErased = s.purgeInbound.run(now, before, PURGE_CHUNK).changes;
      r.outboundErased = s.purgeOutbound.run(now, before, PURGE_CHUNK).changes;
      if (deleteBefore !== undefined) r.inboundDeleted = s.deleteInbound.run(deleteBefore, PURGE_CHUNK).changes;
      return r;
    });
  }

  /** With a retention: a purge at open (after the constructor returns), then on a schedule that never keeps the process alive. */
  schedule(): void {
    if (this.retentionMs <= 0) return;
    const onErr = (e: Error) => {
      if (!this.writer.closed) this.options.onPurgeError?.(e);
    };
    setImmediate(() => this.purge().catch(onErr)).unref(); // closed by then: CLOSED, not reported
    const every = this.options.purgeIntervalMs ?? 3_600_000;
    if (every > 0) {
      this.purgeTimer = setInterval(() => this.purge().catch(onErr), Math.max(1000, every));
      this.purgeTimer.unref();
    }
  }

  /** No more scheduled purges (the journal closes). */
  stop(): void {
    clearInterval(this.purgeTimer);
    this.purgeTimer = undefined;
  }

  purge(now?: Date): Promise<PurgeResult> {
    if (this.writer.closed) return Promise.reject(new JournalError('the journal is closed', 'CLOSED'));
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
        if (this.writer.closed) break;
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
      if (touched > 0 && !this.writer.closed) {
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
}
