/**
 * The group-commit writer: every write of the SQLite journal goes through its queue. Writes
 * requested in the same event-loop turn (or within `windowMs`, or up to `maxBatch`) run in ONE
 * transaction, each inside its own savepoint (one bad write does not abort its neighbours), and
 * every promise settles only after COMMIT returned. Reads run at once on the same connection and
 * see every committed write.
 */
import type Database from 'better-sqlite3';
import { JournalError } from '../journal';

interface PendingWrite {
  op: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface WriterOptions {
  /** Extra wait before a batch commits, in ms. 0: commit after the next poll phase. */
  windowMs: number;
  /** A batch commits at once when it reaches this many writes. */
  maxBatch: number;
}

export class GroupCommitWriter {
  /** Number of commits and writes so far (for benchmarks and tests). */
  readonly stats = { commits: 0, writes: 0, largestBatch: 0 };
  private queue: PendingWrite[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private closedFlag = false;
  private readonly batchTx: (batch: PendingWrite[], results: Array<{ ok: boolean; v: unknown }>) => void;
  private readonly savepoint: (op: () => unknown) => unknown;

  constructor(
    db: Database.Database,
    private readonly options: WriterOptions,
  ) {
    this.savepoint = db.transaction((op: () => unknown) => op());
    this.batchTx = db.transaction((batch: PendingWrite[], results: Array<{ ok: boolean; v: unknown }>) => {
      for (const w of batch) {
        try {
          results.push({ ok: true, v: this.savepoint(w.op) });
        } catch (e) {
          results.push({ ok: false, v: e });
        }
      }
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Queues a write; the promise settles once the transaction holding it committed (or failed). */
  write<T>(op: () => T): Promise<T> {
    if (this.closedFlag) return Promise.reject(new JournalError('the journal is closed', 'CLOSED'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (this.queue.length >= this.options.maxBatch) this.flush();
      else if (!this.timer) {
        // windowMs 0: commit after one more poll phase (two setImmediate hops), so frames that
        // other sockets deliver in the same burst join the batch (strict MLLP senders: 8 of 8).
        this.timer =
          this.options.windowMs > 0
            ? setTimeout(() => this.flush(), this.options.windowMs)
            : setImmediate(() => {
                this.timer = setImmediate(() => this.flush());
              });
      }
    });
  }

  /** Commits everything queued now, in one transaction. */
  flush(): void {
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const results: Array<{ ok: boolean; v: unknown }> = [];
    try {
      this.batchTx(batch, results);
    } catch (e) {
      const err = new JournalError(`journal commit failed: ${(e as Error).message}`, 'STORAGE');
      for (const w of batch) w.reject(err);
      return;
    }
    this.stats.commits++;
    this.stats.writes += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    for (let i = 0; i < batch.length; i++) {
      const r = results[i];
      if (r.ok) batch[i].resolve(r.v);
      else batch[i].reject(r.v);
    }
  }

  /** Runs a read at once (a rejected promise for a closed journal or a thrown error). */
  read<T>(fn: () => T): Promise<T> {
    if (this.closedFlag) return Promise.reject(new JournalError('the journal is closed', 'CLOSED'));
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Commits what is queued, then refuses every later write and read. */
  close(): void {
    this.flush();
    this.closedFlag = true;
  }
}
