/**
 * Outbound messages in the SQLite journal: the queue per destination (in order per ordering key),
 * bounded retries with backoff, idempotent answers (`answerKey`, one row per key and destination),
 * recovery of messages left SENT, browse.
 */
import type Database from 'better-sqlite3';
import { Backoff, JournalError, OutboundFilter, OutboundInput, OutboundRecord, boundedText } from '../journal';
import { Row, iso, limitOf, opt, text } from './rows';
import type { GroupCommitWriter } from './writer';

export const OUTBOUND_COLUMNS =
  'id, destination, okey, inbound_id, created_at, state, attempts, max_attempts, next_attempt_at, last_error, updated_at, sent_at, acked_at, answer_key, purged_at';

export function outboundFromRow(r: Row): OutboundRecord {
  const rec: OutboundRecord = {
    id: r.id as number,
    destination: r.destination as string,
    orderingKey: opt(r.okey),
    inboundId: opt(r.inbound_id),
    createdAt: iso(r.created_at)!,
    state: r.state as OutboundRecord['state'],
    attempts: r.attempts as number,
    maxAttempts: r.max_attempts as number,
    nextAttemptAt: iso(r.next_attempt_at)!,
    lastError: opt(r.last_error),
    updatedAt: iso(r.updated_at)!,
    sentAt: iso(r.sent_at),
    ackedAt: iso(r.acked_at),
    answerKey: opt(r.answer_key),
    purgedAt: iso(r.purged_at),
  };
  rec.payload = r.payload as Buffer | undefined; // absent unless read (deleted below when undefined)
  for (const k of Object.keys(rec) as (keyof OutboundRecord)[]) if (rec[k] === undefined) delete rec[k];
  return rec;
}

function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    insert: p(
      `INSERT INTO outbound (destination, okey, inbound_id, created_at, state, attempts, max_attempts, next_attempt_at, updated_at, payload, answer_key)
       VALUES (?, ?, ?, ?, 'QUEUED', 0, ?, ?, ?, ?, ?)`,
    ),
    byKey: p(`SELECT ${OUTBOUND_COLUMNS} FROM outbound WHERE destination = ? AND answer_key = ?`),
    get: p(`SELECT ${OUTBOUND_COLUMNS} FROM outbound WHERE id = ?`),
    getPayload: p(`SELECT ${OUTBOUND_COLUMNS}, payload FROM outbound WHERE id = ?`),
    heads: p(
      `SELECT ${OUTBOUND_COLUMNS}, payload FROM outbound o
       WHERE o.destination = ? AND o.state = 'QUEUED' AND o.next_attempt_at <= ?
         AND NOT EXISTS (SELECT 1 FROM outbound e WHERE e.destination = o.destination AND e.okey = o.okey
                         AND e.id < o.id AND e.state IN ('QUEUED', 'SENT', 'ERROR'))
       ORDER BY o.id LIMIT ?`,
    ),
    sent: p("UPDATE outbound SET state = 'SENT', attempts = attempts + 1, sent_at = ?, updated_at = ? WHERE id = ?"),
    recover: p("UPDATE outbound SET state = 'QUEUED', updated_at = ? WHERE destination = ? AND state = 'SENT'"),
    acked: p("UPDATE outbound SET state = 'ACKED', acked_at = ?, updated_at = ? WHERE id = ? AND state = 'SENT'"),
    retry: p("UPDATE outbound SET state = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'SENT'"),
    requeue: p("UPDATE outbound SET state = 'QUEUED', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'ERROR'"),
    cancel: p("UPDATE outbound SET state = 'CANCELLED', updated_at = ? WHERE id = ? AND state IN ('QUEUED', 'ERROR')"),
    recoverAll: p("UPDATE outbound SET state = 'QUEUED' WHERE state = 'SENT'"),
  };
}

export interface OutboundOptions {
  now: () => number;
  /** Attempts before a message goes to ERROR, unless enqueue says otherwise. */
  maxAttempts: number;
  backoff: Backoff;
}

export class OutboundStore {
  private readonly s: ReturnType<typeof prepare>;
  private readonly now: () => number;
  private readonly maxAttempts: number;
  private readonly backoff: Backoff;

  constructor(
    private readonly db: Database.Database,
    private readonly writer: GroupCommitWriter,
    options: OutboundOptions,
  ) {
    this.s = prepare(db);
    this.now = options.now;
    this.maxAttempts = options.maxAttempts;
    this.backoff = options.backoff;
  }

  private write<T>(op: () => T): Promise<T> {
    return this.writer.write(op);
  }

  private read<T>(fn: () => T): Promise<T> {
    return this.writer.read(fn);
  }

  /** At open, outside the writer: every message left SENT (the process stopped) is QUEUED again. */
  recoverAllSent(): void {
    this.s.recoverAll.run();
  }

  enqueue(input: OutboundInput): Promise<OutboundRecord> {
    let args: unknown[];
    try {
      if (!input || !Buffer.isBuffer(input.payload)) throw new JournalError('enqueue needs the payload as a Buffer', 'BAD_INPUT');
      const destination = text(input.destination, 'destination');
      if (!destination) throw new JournalError('enqueue needs a destination', 'BAD_INPUT');
      const max = input.maxAttempts ?? this.maxAttempts;
      if (!Number.isInteger(max) || max < 1) throw new JournalError('maxAttempts must be a positive integer', 'BAD_INPUT');
      args = [
        destination,
        text(input.orderingKey, 'orderingKey'),
        input.inboundId ?? null,
        max,
        input.payload,
        text(input.answerKey, 'answerKey', 300),
      ];
    } catch (e) {
      return Promise.reject(e);
    }
    return this.write(() => {
      const now = this.now();
      const [destination, okey, inboundId, max, payload, answerKey] = args;
      let id: number;
      try {
        id = Number(this.s.insert.run(destination, okey, inboundId, now, max, now, now, payload, answerKey).lastInsertRowid);
      } catch (e) {
        // The answer key is taken (by an earlier enqueue, or another process on the same file in
        // between): the answer stored first stands, returned as `existing`.
        // (Without an answer key, `answer_key = NULL` finds nothing: the error stands.)
        const prior = this.s.byKey.get(destination, answerKey) as Row | undefined;
        if (!prior) throw e;
        return { ...outboundFromRow(prior), existing: true as const };
      }
      return outboundFromRow(this.s.get.get(id) as Row);
    });
  }

  take(destination: string, limit = 10, now?: Date): Promise<OutboundRecord[]> {
    const n = limitOf(limit);
    return this.write(() => {
      const t = now ? now.getTime() : this.now();
      const rows = this.s.heads.all(destination, t, n) as Row[];
      return rows.map((r) => {
        this.s.sent.run(t, t, r.id);
        return outboundFromRow({ ...r, state: 'SENT', attempts: (r.attempts as number) + 1, sent_at: t, updated_at: t });
      });
    });
  }

  /** SENT → QUEUED for one destination (its sender restarted: the fate of those sends is unknown). */
  recoverOutbound(destination: string): Promise<number> {
    return this.write(() => {
      const now = this.now();
      return this.s.recover.run(now, destination).changes;
    });
  }

  acked(id: number): Promise<void> {
    return this.write(() => {
      const now = this.now();
      if (this.s.acked.run(now, now, id).changes !== 1) this.outBadState(id, 'SENT');
    });
  }

  private outBadState(id: number, expected: string): never {
    const r = this.s.get.get(id) as Row | undefined;
    if (!r) throw new JournalError(`outbound message ${id} does not exist`, 'NOT_FOUND');
    throw new JournalError(`outbound message ${id} is ${String(r.state)}, not ${expected}`, 'BAD_STATE');
  }

  /** Delay before the attempt following `attempts` failed ones. */
  backoffMs(attempts: number): number {
    const b = this.backoff;
    return Math.min(b.maxMs, Math.round(b.baseMs * Math.pow(b.factor, Math.max(0, attempts - 1))));
  }

  sendFailed(id: number, reason: string, now?: Date): Promise<OutboundRecord> {
    const why = boundedText(reason) ?? 'failed';
    return this.write(() => {
      const t = now ? now.getTime() : this.now();
      const r = this.s.get.get(id) as Row | undefined;
      if (!r || r.state !== 'SENT') this.outBadState(id, 'SENT');
      const attempts = r.attempts as number;
      const exhausted = attempts >= (r.max_attempts as number);
      const next = exhausted ? t : t + this.backoffMs(attempts);
      this.s.retry.run(exhausted ? 'ERROR' : 'QUEUED', why, next, t, id);
      return outboundFromRow(this.s.get.get(id) as Row);
    });
  }

  requeue(id: number): Promise<void> {
    return this.write(() => {
      const now = this.now();
      if (this.s.requeue.run(now, now, id).changes !== 1) this.outBadState(id, 'ERROR');
    });
  }

  cancel(id: number): Promise<void> {
    return this.write(() => {
      if (this.s.cancel.run(this.now(), id).changes !== 1) this.outBadState(id, 'QUEUED or ERROR');
    });
  }

  getOutbound(id: number, options: { payload?: boolean } = {}): Promise<OutboundRecord | undefined> {
    return this.read(() => {
      const r = (options.payload ? this.s.getPayload : this.s.get).get(id) as Row | undefined;
      return r ? outboundFromRow(r) : undefined;
    });
  }

  browseOutbound(filter: OutboundFilter = {}): Promise<OutboundRecord[]> {
    return this.read(() => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.destination !== undefined) {
        where.push('destination = ?');
        args.push(filter.destination);
      }
      if (filter.inboundId !== undefined) {
        where.push('inbound_id = ?');
        args.push(filter.inboundId);
      }
      if (filter.states && filter.states.length) {
        where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
        args.push(...filter.states);
      }
      if (filter.orderingKey !== undefined) {
        where.push('okey = ?');
        args.push(filter.orderingKey);
      }
      if (filter.from) {
        where.push('created_at >= ?');
        args.push(filter.from.getTime());
      }
      if (filter.to) {
        where.push('created_at < ?');
        args.push(filter.to.getTime());
      }
      if (filter.afterId !== undefined) {
        where.push('id > ?');
        args.push(filter.afterId);
      }
      const sql = `SELECT ${OUTBOUND_COLUMNS} FROM outbound ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`;
      args.push(limitOf(filter.limit));
      return (this.db.prepare(sql).all(...args) as Row[]).map(outboundFromRow);
    });
  }
}
