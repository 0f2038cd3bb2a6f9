/**
 * Inbound messages in the SQLite journal: append (duplicates by sender and MSH-10, within
 * `duplicateWindowMs` if set), the dispatcher's states (start, complete, fail), held venues
 * (`held_keys`: hold on failure, release retry/skip), resend, browse and counts.
 */
import type Database from 'better-sqlite3';
import {
  HeldKey,
  INBOUND_STATES,
  InboundFilter,
  InboundInput,
  InboundRecord,
  InboundState,
  JournalError,
  Stored,
  boundedText,
} from '../journal';
import { Row, iso, limitOf, opt, text } from './rows';
import type { GroupCommitWriter } from './writer';

export const INBOUND_COLUMNS =
  'id, received_at, channel, sending_app, sending_facility, control_id, event, charset, okey, size, duplicate_of, resend_of, state, attempts, last_error, updated_at, started_at, finished_at, purged_at';

export function inboundFromRow(r: Row): InboundRecord {
  const rec: InboundRecord = {
    id: r.id as number,
    receivedAt: iso(r.received_at)!,
    channel: r.channel as string,
    sendingApplication: opt(r.sending_app),
    sendingFacility: opt(r.sending_facility),
    controlId: opt(r.control_id),
    event: opt(r.event),
    charset: opt(r.charset),
    orderingKey: opt(r.okey),
    size: r.size as number,
    state: r.state as InboundState,
    attempts: r.attempts as number,
    lastError: opt(r.last_error),
    updatedAt: iso(r.updated_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    duplicateOf: opt(r.duplicate_of),
    resendOf: opt(r.resend_of),
    purgedAt: iso(r.purged_at),
  };
  rec.raw = r.raw as Buffer | undefined; // absent unless read (deleted below when undefined)
  for (const k of Object.keys(rec) as (keyof InboundRecord)[]) if (rec[k] === undefined) delete rec[k];
  return rec;
}

function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    dedup: p('SELECT id, state, received_at FROM inbound WHERE dedup = ?'),
    retireDedup: p('UPDATE inbound SET dedup = NULL WHERE id = ?'),
    isHeld: p('SELECT 1 AS h FROM held_keys WHERE okey = ?'),
    insert: p(
      `INSERT INTO inbound (received_at, channel, sending_app, sending_facility, control_id, event, charset, okey, size, dedup, duplicate_of, resend_of, state, updated_at, raw)
       VALUES (@received_at, @channel, @sending_app, @sending_facility, @control_id, @event, @charset, @okey, @size, @dedup, @duplicate_of, @resend_of, @state, @updated_at, @raw)`,
    ),
    get: p(`SELECT ${INBOUND_COLUMNS} FROM inbound WHERE id = ?`),
    getRaw: p(`SELECT ${INBOUND_COLUMNS}, raw FROM inbound WHERE id = ?`),
    pending: p("SELECT id, okey, state FROM inbound WHERE state IN ('RECEIVED', 'PROCESSING') ORDER BY id"),
    start: p(
      "UPDATE inbound SET state = 'PROCESSING', attempts = attempts + 1, started_at = ?, updated_at = ? WHERE id = ? AND state IN ('RECEIVED', 'PROCESSING')",
    ),
    finish: p("UPDATE inbound SET state = ?, finished_at = ?, updated_at = ? WHERE id = ? AND state = 'PROCESSING'"),
    failRow: p(
      "UPDATE inbound SET state = 'FAILED', last_error = ?, finished_at = ?, updated_at = ? WHERE id = ? AND state IN ('PROCESSING', 'RECEIVED')",
    ),
    hold: p('INSERT INTO held_keys (okey, failed_id, since, reason) VALUES (?, ?, ?, ?) ON CONFLICT (okey) DO NOTHING'),
    holdLater: p("UPDATE inbound SET state = 'HELD', updated_at = ? WHERE okey = ? AND state = 'RECEIVED'"),
    heldKeys: p(
      "SELECT h.okey, h.failed_id, h.since, h.reason, (SELECT count(*) FROM inbound i WHERE i.okey = h.okey AND i.state = 'HELD') AS waiting FROM held_keys h ORDER BY h.since, h.okey",
    ),
    heldKey: p('SELECT okey, failed_id FROM held_keys WHERE okey = ?'),
    unhold: p('DELETE FROM held_keys WHERE okey = ?'),
    retryFailed: p("UPDATE inbound SET state = 'RECEIVED', updated_at = ? WHERE id = ? AND state = 'FAILED'"),
    skipFailed: p("UPDATE inbound SET state = 'SKIPPED', updated_at = ? WHERE id = ? AND state = 'FAILED'"),
    heldIds: p("SELECT id FROM inbound WHERE okey = ? AND state = 'HELD' ORDER BY id"),
    releaseHeld: p("UPDATE inbound SET state = 'RECEIVED', updated_at = ? WHERE okey = ? AND state = 'HELD'"),
    counts: p('SELECT state, count(*) AS n FROM inbound GROUP BY state'),
    // Index inbound_okey (okey, id) and the dossiers primary key: two index probes.
    seenKey: p('SELECT EXISTS (SELECT 1 FROM inbound WHERE okey = ?) OR EXISTS (SELECT 1 FROM dossiers WHERE okey = ?) AS seen'),
  };
}

export interface InboundOptions {
  now: () => number;
  /** How long an MSH-10 stays taken for its sender, in ms (undefined: forever). */
  duplicateWindowMs?: number;
}

export class InboundStore {
  private readonly s: ReturnType<typeof prepare>;
  private readonly now: () => number;
  private readonly duplicateWindowMs: number | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly writer: GroupCommitWriter,
    options: InboundOptions,
  ) {
    this.s = prepare(db);
    this.now = options.now;
    this.duplicateWindowMs = options.duplicateWindowMs;
  }

  private write<T>(op: () => T): Promise<T> {
    return this.writer.write(op);
  }

  private read<T>(fn: () => T): Promise<T> {
    return this.writer.read(fn);
  }

  append(input: InboundInput): Promise<Stored> {
    let row: Row;
    try {
      if (!input || !Buffer.isBuffer(input.raw)) throw new JournalError('append needs the raw bytes as a Buffer', 'BAD_INPUT');
      const channel = text(input.channel, 'channel');
      if (!channel) throw new JournalError('append needs a channel', 'BAD_INPUT');
      const receivedAt = input.receivedAt ? input.receivedAt.getTime() : this.now();
      if (!Number.isFinite(receivedAt)) throw new JournalError('receivedAt is not a valid date', 'BAD_INPUT');
      const app = text(input.sendingApplication, 'sendingApplication');
      const fac = text(input.sendingFacility, 'sendingFacility');
      const controlId = text(input.controlId, 'controlId');
      row = {
        received_at: receivedAt,
        channel,
        sending_app: app,
        sending_facility: fac,
        control_id: controlId,
        event: text(input.event, 'event', 40),
        charset: text(input.charset, 'charset', 40),
        okey: text(input.orderingKey, 'orderingKey'),
        size: input.raw.length,
        dedup: controlId ? `${app ?? ''}\u001f${fac ?? ''}\u001f${controlId}` : null,
        duplicate_of: null,
        resend_of: null,
        state: input.ignored ? 'IGNORED' : 'RECEIVED',
        updated_at: receivedAt,
        raw: input.raw,
      };
    } catch (e) {
      return Promise.reject(e);
    }
    return this.write(() => this.insertInbound(row));
  }

  private insertInbound(row: Row): Stored {
    let duplicateOf: number | undefined;
    if (row.dedup) {
      let prior = this.s.dedup.get(row.dedup) as { id: number; received_at: number } | undefined;
      if (prior && this.duplicateWindowMs !== undefined && (row.received_at as number) - prior.received_at > this.duplicateWindowMs) {
        this.s.retireDedup.run(prior.id); // outside the window: the control id is free again
        prior = undefined;
      }
      if (prior) {
        duplicateOf = prior.id;
        row = { ...row, dedup: null, duplicate_of: prior.id, state: 'DUPLICATE' };
      }
    }
    if (row.state === 'RECEIVED' && row.okey && this.s.isHeld.get(row.okey)) row = { ...row, state: 'HELD' };
    const id = Number(this.s.insert.run(row).lastInsertRowid);
    const stored: Stored = {
      id: duplicateOf ?? id,
      duplicate: duplicateOf !== undefined,
      storedId: id,
      state: row.state as InboundState,
      receivedAt: new Date(row.received_at as number).toISOString(),
    };
    if (row.okey) stored.orderingKey = row.okey as string;
    return stored;
  }

  get(id: number, options: { raw?: boolean } = {}): Promise<InboundRecord | undefined> {
    return this.read(() => {
      const r = (options.raw ? this.s.getRaw : this.s.get).get(id) as Row | undefined;
      return r ? inboundFromRow(r) : undefined;
    });
  }

  pending(): Promise<Array<{ id: number; orderingKey?: string; state: InboundState }>> {
    return this.read(() =>
      (this.s.pending.all() as Row[]).map((r) =>
        r.okey === null
          ? { id: r.id as number, state: r.state as InboundState }
          : { id: r.id as number, orderingKey: r.okey as string, state: r.state as InboundState },
      ),
    );
  }

  start(ids: number[]): Promise<InboundRecord[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.write(() => {
      const now = this.now();
      const out: InboundRecord[] = [];
      for (const id of ids) {
        if (this.s.start.run(now, now, id).changes === 1) out.push(inboundFromRow(this.s.getRaw.get(id) as Row));
      }
      return out;
    });
  }

  complete(id: number, state: 'DONE' | 'IGNORED'): Promise<void> {
    if (state !== 'DONE' && state !== 'IGNORED') {
      return Promise.reject(new JournalError('complete() takes DONE or IGNORED', 'BAD_INPUT'));
    }
    return this.write(() => {
      const now = this.now();
      if (this.s.finish.run(state, now, now, id).changes !== 1) this.badState(id, 'PROCESSING');
    });
  }

  private badState(id: number, expected: string): never {
    const r = this.s.get.get(id) as Row | undefined;
    if (!r) throw new JournalError(`message ${id} does not exist`, 'NOT_FOUND');
    throw new JournalError(`message ${id} is ${String(r.state)}, not ${expected}`, 'BAD_STATE');
  }

  fail(id: number, reason: string): Promise<{ heldKey?: string; waiting: number }> {
    const why = boundedText(reason) ?? 'failed';
    return this.write(() => {
      const now = this.now();
      if (this.s.failRow.run(why, now, now, id).changes !== 1) this.badState(id, 'PROCESSING');
      const r = this.s.get.get(id) as Row;
      if (r.okey === null) return { waiting: 0 };
      const okey = r.okey as string;
      this.s.hold.run(okey, id, now, why);
      const waiting = this.s.holdLater.run(now, okey).changes;
      return { heldKey: okey, waiting };
    });
  }

  heldKeys(): Promise<HeldKey[]> {
    return this.read(() =>
      (this.s.heldKeys.all() as Row[]).map((r) => {
        const h: HeldKey = {
          orderingKey: r.okey as string,
          failedId: r.failed_id as number,
          since: iso(r.since)!,
          waiting: r.waiting as number,
        };
        if (r.reason !== null) h.reason = r.reason as string;
        return h;
      }),
    );
  }

  release(orderingKey: string, mode: 'retry' | 'skip'): Promise<number[]> {
    if (mode !== 'retry' && mode !== 'skip') return Promise.reject(new JournalError('mode is retry or skip', 'BAD_INPUT'));
    return this.write(() => {
      const h = this.s.heldKey.get(orderingKey) as { failed_id: number } | undefined;
      if (!h) throw new JournalError('this ordering key is not held', 'NOT_FOUND');
      const now = this.now();
      const ids: number[] = [];
      if (mode === 'retry') {
        if (this.s.retryFailed.run(now, h.failed_id).changes === 1) ids.push(h.failed_id);
      } else {
        this.s.skipFailed.run(now, h.failed_id);
      }
      for (const r of this.s.heldIds.all(orderingKey) as Array<{ id: number }>) ids.push(r.id);
      this.s.releaseHeld.run(now, orderingKey);
      this.s.unhold.run(orderingKey);
      return ids;
    });
  }

  resend(id: number): Promise<Stored> {
    return this.write(() => {
      const r = this.s.getRaw.get(id) as Row | undefined;
      if (!r) throw new JournalError(`message ${id} does not exist`, 'NOT_FOUND');
      if (r.state === 'RECEIVED' || r.state === 'PROCESSING' || r.state === 'HELD') {
        throw new JournalError(`message ${id} is ${String(r.state)}: it has not finished, nothing to resend`, 'BAD_STATE');
      }
      if (r.purged_at !== null) {
        throw new JournalError(`message ${id}: its raw bytes were erased by the retention purge, nothing to resend`, 'BAD_STATE');
      }
      const now = this.now();
      return this.insertInbound({
        received_at: now,
        channel: r.channel,
        sending_app: r.sending_app,
        sending_facility: r.sending_facility,
        control_id: r.control_id,
        event: r.event,
        charset: r.charset,
        okey: r.okey,
        size: r.size,
        dedup: null,
        duplicate_of: null,
        resend_of: (r.resend_of as number | null) ?? id,
        state: 'RECEIVED',
        updated_at: now,
        raw: r.raw,
      });
    });
  }

  browse(filter: InboundFilter = {}): Promise<InboundRecord[]> {
    return this.read(() => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.states && filter.states.length) {
        for (const s of filter.states) {
          if (!INBOUND_STATES.includes(s)) throw new JournalError(`unknown state ${String(s).slice(0, 20)}`, 'BAD_INPUT');
        }
        where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
        args.push(...filter.states);
      }
      if (filter.orderingKey !== undefined) {
        where.push('okey = ?');
        args.push(filter.orderingKey);
      }
      if (filter.channel !== undefined) {
        where.push('channel = ?');
        args.push(filter.channel);
      }
      if (filter.controlId !== undefined) {
        where.push('control_id = ?');
        args.push(filter.controlId);
      }
      if (filter.from) {
        where.push('received_at >= ?');
        args.push(filter.from.getTime());
      }
      if (filter.to) {
        where.push('received_at < ?');
        args.push(filter.to.getTime());
      }
      const desc = filter.order === 'desc';
      if (filter.afterId !== undefined) {
        where.push(desc ? 'id < ?' : 'id > ?');
        args.push(filter.afterId);
      }
      const sql = `SELECT ${INBOUND_COLUMNS} FROM inbound ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ?`;
      args.push(limitOf(filter.limit));
      return (this.db.prepare(sql).all(...args) as Row[]).map(inboundFromRow);
    });
  }

  /** See Journal.hasSeenOrderingKey: any inbound row with the key, or a dossier under it. */
  hasSeenOrderingKey(orderingKey: string): Promise<boolean> {
    if (typeof orderingKey !== 'string' || !orderingKey) return Promise.resolve(false);
    return this.read(() => (this.s.seenKey.get(orderingKey, orderingKey) as { seen: number }).seen === 1);
  }

  counts(): Promise<Record<InboundState, number>> {
    return this.read(() => {
      const out = Object.fromEntries(INBOUND_STATES.map((s) => [s, 0])) as Record<InboundState, number>;
      for (const r of this.s.counts.all() as Array<{ state: InboundState; n: number }>) out[r.state] = r.n;
      return out;
    });
  }
}
