/**
 * Dossiers and service exchanges in the SQLite journal: the latest msg.roc per ordering key with
 * its engagement numbers, and one line per online-service call (service, outcome, engagement,
 * short detail). Not concerned by the retention purge.
 */
import type Database from 'better-sqlite3';
import { DossierEntry, JournalError, ServiceExchange, boundedText } from '../journal';
import { Row, iso, text } from './rows';
import type { GroupCommitWriter } from './writer';

function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    get: p('SELECT okey, roc, engagements, updated_at FROM dossiers WHERE okey = ?'),
    put: p(
      'INSERT INTO dossiers (okey, roc, engagements, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (okey) DO UPDATE SET roc = excluded.roc, engagements = excluded.engagements, updated_at = excluded.updated_at',
    ),
    insertExchange: p('INSERT INTO exchanges (okey, service, outcome, at, engagement, detail) VALUES (?, ?, ?, ?, ?, ?)'),
    exchanges: p('SELECT id, okey, service, outcome, at, engagement, detail FROM exchanges WHERE okey = ? ORDER BY id'),
  };
}

export class DossierStore {
  private readonly s: ReturnType<typeof prepare>;
  private readonly now: () => number;

  constructor(
    db: Database.Database,
    private readonly writer: GroupCommitWriter,
    options: { now: () => number },
  ) {
    this.s = prepare(db);
    this.now = options.now;
  }

  private write<T>(op: () => T): Promise<T> {
    return this.writer.write(op);
  }

  private read<T>(fn: () => T): Promise<T> {
    return this.writer.read(fn);
  }

  putDossier(orderingKey: string, roc: unknown, engagement?: string): Promise<DossierEntry> {
    let json: string;
    try {
      if (!text(orderingKey, 'orderingKey')) throw new JournalError('putDossier needs an ordering key', 'BAD_INPUT');
      json = JSON.stringify(roc ?? null);
    } catch (e) {
      return Promise.reject(e instanceof JournalError ? e : new JournalError('the dossier is not JSON-serialisable', 'BAD_INPUT'));
    }
    return this.write(() => {
      const now = this.now();
      const prior = this.s.get.get(orderingKey) as Row | undefined;
      const engagements: string[] = prior ? JSON.parse(prior.engagements as string) : [];
      if (engagement && !engagements.includes(engagement)) engagements.push(engagement);
      this.s.put.run(orderingKey, json, JSON.stringify(engagements), now);
      return { orderingKey, roc: JSON.parse(json) as unknown, engagements, updatedAt: iso(now)! };
    });
  }

  getDossier(orderingKey: string): Promise<DossierEntry | undefined> {
    return this.read(() => {
      const r = this.s.get.get(orderingKey) as Row | undefined;
      if (!r) return undefined;
      return {
        orderingKey,
        roc: JSON.parse(r.roc as string) as unknown,
        engagements: JSON.parse(r.engagements as string) as string[],
        updatedAt: iso(r.updated_at)!,
      };
    });
  }

  recordExchange(x: ServiceExchange): Promise<number> {
    let args: unknown[];
    try {
      const okey = text(x?.orderingKey, 'orderingKey');
      const service = text(x?.service, 'service', 40);
      const outcome = text(x?.outcome, 'outcome', 40);
      if (!okey || !service || !outcome) {
        throw new JournalError('an exchange needs orderingKey, service and outcome', 'BAD_INPUT');
      }
      const at = x.at ? Date.parse(x.at) : this.now();
      if (!Number.isFinite(at)) throw new JournalError('exchange.at is not a valid date', 'BAD_INPUT');
      args = [okey, service, outcome, at, text(x.engagement, 'engagement', 100), boundedText(x.detail, 500) ?? null];
    } catch (e) {
      return Promise.reject(e);
    }
    return this.write(() => Number(this.s.insertExchange.run(...args).lastInsertRowid));
  }

  exchanges(orderingKey: string): Promise<ServiceExchange[]> {
    return this.read(() =>
      (this.s.exchanges.all(orderingKey) as Row[]).map((r) => {
        const x: ServiceExchange = {
          id: r.id as number,
          orderingKey: r.okey as string,
          service: r.service as string,
          outcome: r.outcome as string,
          at: iso(r.at)!,
        };
        if (r.engagement !== null) x.engagement = r.engagement as string;
        if (r.detail !== null) x.detail = r.detail as string;
        return x;
      }),
    );
  }
}
