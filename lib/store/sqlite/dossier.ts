/**
 * Dossiers and service exchanges in the SQLite journal. Per key, one `dossiers` row holds:
 *  - the ROC dossier record (lib/dossier DossierRecord) as JSON in `record`, with the columns the
 *    queries use (etat, numero_amc, finess, venue, date_entree, date_sortie, due_at, flagged,
 *    maj_le; see ../dossier-columns.ts) and its engagement numbers in `dossier_engagements`;
 *  - the older `putDossier` entry (the latest msg.roc and engagement numbers in `roc` and
 *    `engagements`), kept for journals written before schema 3.
 * And one `exchanges` line per online-service call (service, outcome, engagement, short detail).
 * Not concerned by the retention purge (see docs/dossier-store.md).
 */
import type Database from 'better-sqlite3';
import type { DossierRecord } from '../../dossier/dossier';
import { DEFAULT_IN_FLIGHT_GRACE_MS, dossierColumns } from '../dossier-columns';
import { DossierEntry, DossierPage, DossierQuery, DossierSummary, JournalError, ServiceExchange, boundedText } from '../journal';
import { Row, iso, text } from './rows';
import type { GroupCommitWriter } from './writer';

/** listDossiers page size: default and ceiling. */
const LIST_DEFAULT = 50;
const LIST_MAX = 500;
const DUE_MAX = 1000;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The keyset cursor: the last row's (updated_at, okey), base64url JSON. */
function encodeCursor(updatedAt: number, okey: string): string {
  return Buffer.from(JSON.stringify([updatedAt, okey])).toString('base64url');
}

function decodeCursor(after: string): [number, string] {
  try {
    const v = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && typeof v[1] === 'string') return [v[0] as number, v[1] as string];
  } catch {
    // refused below
  }
  throw new JournalError('listDossiers: the cursor is not one this journal gave', 'BAD_INPUT');
}

function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    get: p('SELECT okey, roc, engagements, updated_at FROM dossiers WHERE okey = ?'),
    put: p(
      'INSERT INTO dossiers (okey, roc, engagements, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (okey) DO UPDATE SET roc = excluded.roc, engagements = excluded.engagements, updated_at = excluded.updated_at',
    ),
    insertExchange: p('INSERT INTO exchanges (okey, service, outcome, at, engagement, detail) VALUES (?, ?, ?, ?, ?, ?)'),
    exchanges: p('SELECT id, okey, service, outcome, at, engagement, detail FROM exchanges WHERE okey = ? ORDER BY id'),
    majLe: p('SELECT maj_le, record IS NOT NULL AS has FROM dossiers WHERE okey = ?'),
    save: p(
      `INSERT INTO dossiers (okey, roc, engagements, updated_at, record, maj_le, etat, numero_amc, finess, venue, date_entree, date_sortie, due_at, flagged)
       VALUES (@okey, 'null', @engagements, @updatedAt, @record, @majLe, @etat, @numeroAmc, @finess, @venue, @dateEntree, @dateSortie, @dueAt, @flagged)
       ON CONFLICT (okey) DO UPDATE SET engagements = excluded.engagements, updated_at = excluded.updated_at, record = excluded.record,
         maj_le = excluded.maj_le, etat = excluded.etat, numero_amc = excluded.numero_amc, finess = excluded.finess, venue = excluded.venue,
         date_entree = excluded.date_entree, date_sortie = excluded.date_sortie, due_at = excluded.due_at, flagged = excluded.flagged`,
    ),
    dropEngagements: p('DELETE FROM dossier_engagements WHERE okey = ?'),
    addEngagement: p('INSERT OR REPLACE INTO dossier_engagements (numero, okey, statut) VALUES (?, ?, ?)'),
    load: p('SELECT record FROM dossiers WHERE okey = ? AND record IS NOT NULL'),
    byEngagement: p(
      `SELECT d.record FROM dossier_engagements e JOIN dossiers d ON d.okey = e.okey
       WHERE e.numero = ? AND d.record IS NOT NULL ORDER BY e.statut = 'VIVANT' DESC, d.updated_at DESC LIMIT 1`,
    ),
    due: p('SELECT record FROM dossiers WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, okey LIMIT ?'),
    countByState: p('SELECT etat, count(*) AS n FROM dossiers WHERE etat IS NOT NULL GROUP BY etat'),
  };
}

export class DossierStore {
  private readonly s: ReturnType<typeof prepare>;
  private readonly now: () => number;

  private readonly graceMs: number;
  /** listDossiers statements, one per filter shape. */
  private readonly listStatements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly writer: GroupCommitWriter,
    options: { now: () => number; inFlightGraceMs?: number },
  ) {
    this.s = prepare(db);
    this.now = options.now;
    this.graceMs = options.inFlightGraceMs ?? DEFAULT_IN_FLIGHT_GRACE_MS;
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

  // ---------------------------------------------------------------- the ROC dossier record

  saveDossier(record: DossierRecord, expectedMajLe?: string | null): Promise<void> {
    let params: Record<string, unknown>;
    let engagements: Array<{ numero: string; statut: string }>;
    try {
      if (!record || typeof record !== 'object') throw new JournalError('saveDossier needs a dossier record', 'BAD_INPUT');
      const okey = text(record.key, 'dossier key');
      if (!okey) throw new JournalError('saveDossier: the record has no key', 'BAD_INPUT');
      if (typeof record.etat !== 'string' || !record.etat) throw new JournalError('saveDossier: the record has no state', 'BAD_INPUT');
      if (typeof record.majLe !== 'string') throw new JournalError('saveDossier: the record has no majLe', 'BAD_INPUT');
      if (expectedMajLe !== undefined && expectedMajLe !== null && typeof expectedMajLe !== 'string') {
        throw new JournalError('saveDossier: expectedMajLe must be a string or null', 'BAD_INPUT');
      }
      let json: string;
      try {
        json = JSON.stringify(record);
      } catch {
        throw new JournalError('the dossier is not JSON-serialisable', 'BAD_INPUT');
      }
      const c = dossierColumns(record, this.graceMs);
      // Stryker disable next-line ArrayDeclaration: any entry the filter drops would do
      const listed = Array.isArray(record.engagements) ? record.engagements : [];
      const numbered = listed.filter((e) => e && typeof e.numero === 'string' && e.numero);
      // Stryker disable next-line StringLiteral: only 'VIVANT' counts when looking an engagement up (dossierByEngagement)
      engagements = numbered.map((e) => ({ numero: e.numero, statut: String(e.statut ?? '') }));
      params = {
        okey,
        engagements: JSON.stringify(engagements.map((e) => e.numero)),
        record: json,
        majLe: c.majLe,
        etat: c.etat,
        numeroAmc: c.numeroAmc ?? null,
        finess: c.finess ?? null,
        venue: c.venue ?? null,
        dateEntree: c.dateEntree ?? null,
        dateSortie: c.dateSortie ?? null,
        dueAt: c.dueAt ?? null,
        flagged: c.flagged ? 1 : 0,
      };
    } catch (e) {
      return Promise.reject(e);
    }
    return this.write(() => {
      // Checked inside the write, in its transaction: two saves from the same loaded version cannot both pass.
      if (expectedMajLe !== undefined) {
        const prior = this.s.majLe.get(params.okey) as { maj_le: string | null; has: number } | undefined;
        const stored = prior && prior.has ? prior.maj_le : null;
        if (stored !== expectedMajLe) {
          throw new JournalError('the dossier was changed since it was loaded (majLe differs)', 'CONFLICT');
        }
      }
      this.s.save.run({ ...params, updatedAt: this.now() });
      this.s.dropEngagements.run(params.okey);
      for (const e of engagements) this.s.addEngagement.run(e.numero, params.okey, e.statut);
    });
  }

  loadDossier(key: string): Promise<DossierRecord | undefined> {
    return this.read(() => {
      const r = this.s.load.get(key) as { record: string } | undefined;
      return r ? (JSON.parse(r.record) as DossierRecord) : undefined;
    });
  }

  dossierByEngagement(numero: string): Promise<DossierRecord | undefined> {
    return this.read(() => {
      const r = this.s.byEngagement.get(numero) as { record: string } | undefined;
      return r ? (JSON.parse(r.record) as DossierRecord) : undefined;
    });
  }

  listDossiers(q: DossierQuery = {}): Promise<DossierPage> {
    return this.read(() => {
      const where: string[] = ['etat IS NOT NULL'];
      const args: unknown[] = [];
      let limit = LIST_DEFAULT;
      if (q.limit !== undefined) {
        if (!Number.isInteger(q.limit) || q.limit < 1) throw new JournalError('limit must be a positive integer', 'BAD_INPUT');
        limit = Math.min(q.limit, LIST_MAX);
      }
      if (q.etat !== undefined) {
        if (!Array.isArray(q.etat) || q.etat.some((e) => typeof e !== 'string')) {
          throw new JournalError('etat must be a list of states', 'BAD_INPUT');
        }
        if (q.etat.length === 0) return { items: [] };
        where.push(`etat IN (${q.etat.map(() => '?').join(', ')})`);
        args.push(...q.etat);
      }
      if (q.numeroAmc !== undefined) {
        where.push('numero_amc = ?');
        // an empty filter matches no dossier (the column holds NULL, never '', for a dossier without AMC)
        args.push(text(q.numeroAmc, 'numeroAmc', 40) ?? null);
      }
      if (q.venue !== undefined) {
        where.push('venue = ?');
        args.push(text(q.venue, 'venue', 100) ?? null);
      }
      for (const [name, op] of [
        ['from', '>='],
        ['to', '<='],
      ] as const) {
        const v = q[name];
        if (v === undefined) continue;
        if (typeof v !== 'string' || !ISO_DAY.test(v.slice(0, 10))) throw new JournalError(`${name} must be an ISO date`, 'BAD_INPUT');
        where.push(`date_entree ${op} ?`);
        args.push(v.slice(0, 10));
      }
      if (q.flagged !== undefined) where.push(q.flagged ? 'flagged = 1' : 'flagged = 0');
      if (q.after !== undefined) {
        const [updatedAt, okey] = decodeCursor(String(q.after));
        where.push('(updated_at, okey) < (?, ?)');
        args.push(updatedAt, okey);
      }
      const sql = `SELECT okey, etat, numero_amc, finess, venue, date_entree, date_sortie, updated_at, record FROM dossiers
        WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, okey DESC LIMIT ?`;
      let st = this.listStatements.get(sql);
      if (!st) {
        st = this.db.prepare(sql);
        this.listStatements.set(sql, st);
      }
      const rows = st.all(...args, limit + 1) as Row[];
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const items = page.map(summaryOf);
      const last = page[page.length - 1];
      return more && last ? { items, next: encodeCursor(last.updated_at as number, last.okey as string) } : { items };
    });
  }

  dueDossiers(now: Date, limit: number): Promise<DossierRecord[]> {
    return this.read(() => {
      const t = now instanceof Date ? now.getTime() : NaN;
      if (!Number.isFinite(t)) throw new JournalError('dueDossiers needs a valid date', 'BAD_INPUT');
      if (!Number.isInteger(limit) || limit < 1) throw new JournalError('limit must be a positive integer', 'BAD_INPUT');
      return (this.s.due.all(t, Math.min(limit, DUE_MAX)) as Array<{ record: string }>).map((r) => JSON.parse(r.record) as DossierRecord);
    });
  }

  countDossiersByState(): Promise<Record<string, number>> {
    return this.read(() => {
      const out: Record<string, number> = {};
      for (const r of this.s.countByState.all() as Array<{ etat: string; n: number }>) out[r.etat] = r.n;
      return out;
    });
  }
}

function summaryOf(r: Row): DossierSummary {
  const d = JSON.parse(r.record as string) as Partial<DossierRecord>;
  // Stryker disable next-line ArrayDeclaration: any entry the filter below drops would do
  const listed = Array.isArray(d.engagements) ? d.engagements : [];
  const s: DossierSummary = {
    key: r.okey as string,
    etat: r.etat as string,
    updatedAt: iso(r.updated_at)!,
    flags: (Array.isArray(d.drapeaux) ? d.drapeaux : []).map((f) => f.code),
    // saveDossier accepted the record with such entries (it indexes only numbered ones): skip them here too
    engagements: listed.filter((e) => e && typeof e === 'object').map((e) => ({ numero: e.numero, statut: e.statut })),
  };
  if (r.numero_amc !== null) s.numeroAmc = r.numero_amc as string;
  if (r.finess !== null) s.finess = r.finess as string;
  if (r.venue !== null) s.venue = r.venue as string;
  if (r.date_entree !== null) s.dateEntree = r.date_entree as string;
  if (r.date_sortie !== null) s.dateSortie = r.date_sortie as string;
  return s;
}
