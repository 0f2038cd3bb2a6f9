/**
 * Billing in the SQLite journal (issue 10, schema 4):
 *  - `billing_counters`: the last DRE-ES file number per (kind, emitter, AMC). The next number is
 *    taken in the SAME transaction that records the file and moves its invoices to `written`: a
 *    file is numbered if and only if it is recorded; a kill before COMMIT leaves neither the file
 *    nor the number (no gap), a kill after leaves both (no repeat).
 *  - `billing_files`: each DRE-ES file with its state (WRITTEN/SENT/ARL_RECEIVED/REFUSED), counts,
 *    totals, dates and raw bytes.
 *  - `billing_invoices`: per dossier key + invoice number, the invoice's billing state (AMO paid
 *    at, pending/refused with its reason, ready, in file N, sent, acknowledged, paid, partially
 *    paid, rejected with the reason) and amounts.
 *  - `rsp_files`: every RSP file received, by SHA-256 (UNIQUE): one is never processed twice; its
 *    settlements are applied in the transaction that records it.
 * Not concerned by the retention purge (billing records are accounting records).
 */
import type Database from 'better-sqlite3';
import {
  BillingAck,
  BillingFileInput,
  BillingFileRecord,
  BillingFileState,
  InvoiceBilling,
  InvoiceBillingInput,
  InvoiceBillingQuery,
  InvoiceBillingState,
  JournalError,
  RspFileInput,
  RspFileRecord,
  boundedText,
} from '../journal';
import { Row, iso, opt, text } from './rows';
import type { GroupCommitWriter } from './writer';

const DAY = /^\d{4}-\d{2}-\d{2}/;
/** States the release check may (re)write; beyond them the invoice belongs to a file. */
const OPEN_STATES: readonly InvoiceBillingState[] = ['pending', 'refused', 'ready'];
const INVOICE_STATES: readonly InvoiceBillingState[] = [
  'pending',
  'refused',
  'ready',
  'written',
  'sent',
  'acknowledged',
  'lot-refused',
  'paid',
  'partially-paid',
  'rejected',
];
const FILE_STATES: readonly BillingFileState[] = ['WRITTEN', 'SENT', 'ARL_RECEIVED', 'REFUSED'];

function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    invoice: p('SELECT * FROM billing_invoices WHERE okey = ? AND numero = ?'),
    insertInvoice: p(
      `INSERT INTO billing_invoices (okey, numero, state, updated_at) VALUES (?, ?, 'pending', ?) ON CONFLICT (okey, numero) DO NOTHING`,
    ),
    amo: p('UPDATE billing_invoices SET amo_paid_at = ?, amo_cents = ?, updated_at = ? WHERE okey = ? AND numero = ?'),
    verdict: p(
      `UPDATE billing_invoices SET state = @state, reason = @reason, finess = coalesce(@finess, finess), amc = coalesce(@amc, amc),
         engagement = coalesce(@engagement, engagement), amc_cents = coalesce(@amcCents, amc_cents),
         invoice_date = coalesce(@invoiceDate, invoice_date), updated_at = @now WHERE okey = @okey AND numero = @numero`,
    ),
    reopen: p(
      `UPDATE billing_invoices SET state = 'pending', reason = ?, file_id = NULL, file_numero = NULL, lot_number = NULL,
         sent_at = NULL, ack_at = NULL, settled_at = NULL, paid_cents = NULL, difference_cents = NULL, payment_ref = NULL,
         reason_code = NULL, reason_label = NULL, reason_action = NULL, updated_at = ?
       WHERE okey = ? AND numero = ? AND state IN ('rejected', 'lot-refused')`,
    ),
    invoiceRefused: p(
      `UPDATE billing_invoices SET state = 'lot-refused', reason = ?, reason_code = ?, reason_label = ?, reason_action = 'TRAITEMENT_MANUEL',
         updated_at = ? WHERE okey = ? AND numero = ? AND state = 'written'`,
    ),
    counter: p('SELECT last FROM billing_counters WHERE kind = ? AND emitter = ? AND amc = ?'),
    setCounter: p(
      'INSERT INTO billing_counters (kind, emitter, amc, last) VALUES (?, ?, ?, ?) ON CONFLICT (kind, emitter, amc) DO UPDATE SET last = excluded.last',
    ),
    insertFile: p(
      `INSERT INTO billing_files (kind, emitter, amc, numero, name, state, invoice_count, line_count, amc_cents, total_cents, created_at, bytes)
       VALUES ('DREES', ?, ?, ?, ?, 'WRITTEN', ?, ?, ?, ?, ?, ?)`,
    ),
    written: p(
      `UPDATE billing_invoices SET state = 'written', reason = NULL, file_id = ?, file_numero = ?, lot_number = ?, finess = coalesce(?, finess), amc = ?, updated_at = ?
       WHERE okey = ? AND numero = ? AND state = 'ready'`,
    ),
    file: p(
      'SELECT id, kind, emitter, amc, numero, name, state, invoice_count, line_count, amc_cents, total_cents, created_at, sent_at, ack_at, reason FROM billing_files WHERE id = ?',
    ),
    fileBytes: p('SELECT * FROM billing_files WHERE id = ?'),
    fileByNumber: p(`SELECT id FROM billing_files WHERE kind = 'DREES' AND emitter = ? AND amc = ? AND numero = ?`),
    fileSent: p(`UPDATE billing_files SET state = 'SENT', sent_at = ? WHERE id = ? AND state = 'WRITTEN'`),
    invoicesSent: p(`UPDATE billing_invoices SET state = 'sent', sent_at = ?, updated_at = ? WHERE file_id = ? AND state = 'written'`),
    fileAck: p('UPDATE billing_files SET state = ?, ack_at = ?, reason = ? WHERE id = ?'),
    invoicesOfFile: p('SELECT okey, numero, lot_number, state FROM billing_invoices WHERE file_id = ?'),
    invoiceAck: p(
      `UPDATE billing_invoices SET state = ?, ack_at = ?, reason_code = ?, reason_label = ?, reason_action = ?, updated_at = ?
       WHERE okey = ? AND numero = ? AND state IN ('sent', 'written')`,
    ),
    rsp: p('SELECT id, hash, amc, numero, state, reason, received_at, returns FROM rsp_files WHERE hash = ?'),
    rspBytes: p('SELECT * FROM rsp_files WHERE hash = ?'),
    insertRsp: p('INSERT INTO rsp_files (hash, amc, numero, state, reason, received_at, returns, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    settle: p(
      `UPDATE billing_invoices SET state = @state, settled_at = @settledAt, paid_cents = @paidCents, difference_cents = @differenceCents,
         payment_ref = @paymentReference, reason_code = @code, reason_label = @label, reason_action = @action, updated_at = @now
       WHERE okey = @okey AND numero = @numero AND state IN ('sent', 'acknowledged')`,
    ),
  };
}

function invoiceOf(r: Row): InvoiceBilling {
  const out: InvoiceBilling = {
    key: r.okey as string,
    number: r.numero as string,
    state: r.state as InvoiceBillingState,
    updatedAt: iso(r.updated_at)!,
  };
  const put = (k: keyof InvoiceBilling, col: string) => {
    const v = opt(r[col]);
    if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  };
  put('reason', 'reason');
  put('finess', 'finess');
  put('amc', 'amc');
  put('amoPaidAt', 'amo_paid_at');
  put('amoCents', 'amo_cents');
  put('engagement', 'engagement');
  put('amcCents', 'amc_cents');
  put('invoiceDate', 'invoice_date');
  put('fileId', 'file_id');
  put('fileNumber', 'file_numero');
  put('lotNumber', 'lot_number');
  put('sentAt', 'sent_at');
  put('acknowledgedAt', 'ack_at');
  put('settledAt', 'settled_at');
  put('paidCents', 'paid_cents');
  put('differenceCents', 'difference_cents');
  put('paymentReference', 'payment_ref');
  if (r.reason_code !== null) {
    // Stryker disable next-line StringLiteral: every writer of a reason code writes its label and action (the fallback text is never read)
    out.rejection = { code: r.reason_code as string, label: (r.reason_label as string) ?? '', action: (r.reason_action as string) ?? '' };
  }
  return out;
}

/** A file's record; its bytes when the row has them (read by the `fileBytes` statement). */
function fileOf(r: Row): BillingFileRecord {
  const f: BillingFileRecord = {
    id: r.id as number,
    kind: 'DREES',
    emitter: r.emitter as string,
    amc: r.amc as string,
    numero: r.numero as number,
    name: r.name as string,
    state: r.state as BillingFileState,
    invoiceCount: r.invoice_count as number,
    lineCount: r.line_count as number,
    amcCents: r.amc_cents as number,
    totalCents: r.total_cents as number,
    createdAt: iso(r.created_at)!,
  };
  if (r.sent_at !== null) f.sentAt = iso(r.sent_at);
  if (r.ack_at !== null) f.ackAt = iso(r.ack_at);
  if (r.reason !== null) f.reason = r.reason as string;
  if (r.bytes) f.bytes = Buffer.from(r.bytes as Buffer);
  return f;
}

/** An RSP file's record; its bytes when the row has them (read by the `rspBytes` statement). */
function rspOf(r: Row): RspFileRecord {
  const f: RspFileRecord = {
    id: r.id as number,
    hash: r.hash as string,
    state: r.state as RspFileRecord['state'],
    receivedAt: iso(r.received_at)!,
    returns: (r.returns as number) ?? 0,
  };
  if (r.amc !== null) f.amc = r.amc as string;
  if (r.numero !== null) f.numero = r.numero as number;
  if (r.reason !== null) f.reason = r.reason as string;
  if (r.bytes) f.bytes = Buffer.from(r.bytes as Buffer);
  return f;
}

function cents(v: unknown, field: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new JournalError(`${field} must be a whole number of cents ≥ 0`, 'BAD_INPUT');
  return v as number;
}

function day(v: unknown, field: string): string {
  if (typeof v !== 'string' || !DAY.test(v) || !Number.isFinite(Date.parse(v.slice(0, 10))))
    throw new JournalError(`${field} must be an ISO date`, 'BAD_INPUT');
  return v;
}

const required = (v: unknown, field: string, max = 200): string => {
  const t = text(v, field, max);
  if (!t) throw new JournalError(`${field} is required`, 'BAD_INPUT');
  return t;
};

export class BillingStore {
  private readonly s: ReturnType<typeof prepare>;
  private readonly listStatements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly writer: GroupCommitWriter,
    private readonly options: { now: () => number },
  ) {
    this.s = prepare(db);
  }

  private now(): number {
    return this.options.now();
  }

  private write<T>(op: () => T): Promise<T> {
    return this.writer.write(op);
  }

  private read<T>(fn: () => T): Promise<T> {
    return this.writer.read(fn);
  }

  private getInvoice(key: string, number: string): InvoiceBilling | undefined {
    const r = this.s.invoice.get(key, number) as Row | undefined;
    return r ? invoiceOf(r) : undefined;
  }

  recordAmoPayment(p: { key: string; number: string; amoCents: number; paidAt: string }): Promise<InvoiceBilling> {
    let key: string, number: string, amo: number, paidAt: string;
    try {
      key = required(p?.key, 'key');
      number = required(p.number, 'invoice number', 40);
      amo = cents(p.amoCents, 'amoCents');
      paidAt = day(p.paidAt, 'paidAt');
    } catch (e) {
      return Promise.reject(e);
    }
    return this.write(() => {
      const now = this.now();
      this.s.insertInvoice.run(key, number, now);
      this.s.amo.run(paidAt, amo, now, key, number);
      return this.getInvoice(key, number)!;
    });
  }

  putInvoiceBilling(input: InvoiceBillingInput): Promise<InvoiceBilling> {
    let params: Record<string, unknown>;
    try {
      if (!OPEN_STATES.includes(input?.state))
        throw new JournalError('putInvoiceBilling: state must be pending, refused or ready', 'BAD_INPUT');
      params = {
        okey: required(input.key, 'key'),
        numero: required(input.number, 'invoice number', 40),
        state: input.state,
        reason: boundedText(input.reason, 500) ?? null,
        finess: text(input.finess, 'finess', 20),
        amc: text(input.amc, 'amc', 20),
        engagement: text(input.engagement, 'engagement', 40),
        amcCents: input.amcCents === undefined ? null : cents(input.amcCents, 'amcCents'),
        invoiceDate: input.invoiceDate === undefined ? null : day(input.invoiceDate, 'invoiceDate').slice(0, 10),
      };
    } catch (e) {
      return Promise.reject(e);
    }
    return this.write(() => {
      const now = this.now();
      this.s.insertInvoice.run(params.okey, params.numero, now);
      const prior = this.getInvoice(params.okey as string, params.numero as string)!;
      if (!OPEN_STATES.includes(prior.state))
        throw new JournalError(
          `invoice ${String(params.numero)} is already ${prior.state}: its billing state is not rewritten`,
          'BAD_STATE',
        );
      this.s.verdict.run({ ...params, now });
      return this.getInvoice(params.okey as string, params.numero as string)!;
    });
  }

  getInvoiceBilling(key: string, number: string): Promise<InvoiceBilling | undefined> {
    return this.read(() => this.getInvoice(key, number));
  }

  reopenInvoice(key: string, number: string): Promise<InvoiceBilling> {
    let k: string, n: string;
    try {
      k = required(key, 'key');
      n = required(number, 'invoice number', 40);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.write(() => {
      const prior = this.getInvoice(k, n);
      if (!prior) throw new JournalError(`invoice ${n} is unknown to billing`, 'NOT_FOUND');
      if (prior.state !== 'rejected' && prior.state !== 'lot-refused')
        throw new JournalError(`invoice ${n} is ${prior.state}: only a rejected or lot-refused invoice is billed again`, 'BAD_STATE');
      const was = [prior.rejection?.code, prior.fileNumber !== undefined ? `DRE-ES n°${prior.fileNumber}` : undefined]
        .filter(Boolean)
        .join(', ');
      const after = prior.state === 'rejected' ? 'rejet' : 'refus du fichier';
      this.s.reopen.run(`facturée à nouveau après ${after} (${was})`, this.now(), k, n);
      return this.getInvoice(k, n)!;
    });
  }

  listInvoiceBilling(q: InvoiceBillingQuery = {}): Promise<InvoiceBilling[]> {
    return this.read(() => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.states) {
        if (!Array.isArray(q.states) || q.states.some((s) => !INVOICE_STATES.includes(s)))
          throw new JournalError('states must be invoice billing states', 'BAD_INPUT');
        if (!q.states.length) return [];
        where.push(`state IN (${q.states.map(() => '?').join(', ')})`);
        args.push(...q.states);
      }
      if (q.amc !== undefined) {
        where.push('amc = ?');
        args.push(required(q.amc, 'amc', 20));
      }
      if (q.key !== undefined) {
        where.push('okey = ?');
        args.push(required(q.key, 'key'));
      }
      if (q.fileId !== undefined) {
        if (!Number.isInteger(q.fileId)) throw new JournalError('fileId must be an integer', 'BAD_INPUT');
        where.push('file_id = ?');
        args.push(q.fileId);
      }
      if (q.sentFrom !== undefined) {
        where.push('sent_at >= ?');
        args.push(day(q.sentFrom, 'sentFrom').slice(0, 10));
      }
      if (q.sentTo !== undefined) {
        where.push('sent_at <= ?');
        args.push(day(q.sentTo, 'sentTo').slice(0, 10));
      }
      let limit = 10_000;
      if (q.limit !== undefined) {
        if (!Number.isInteger(q.limit) || q.limit < 1) throw new JournalError('limit must be a positive integer', 'BAD_INPUT');
        limit = Math.min(q.limit, 100_000);
      }
      const sql = `SELECT * FROM billing_invoices${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at, okey, numero LIMIT ?`;
      let st = this.listStatements.get(sql);
      if (!st) this.listStatements.set(sql, (st = this.db.prepare(sql)));
      return (st.all(...args, limit) as Row[]).map(invoiceOf);
    });
  }

  writeBillingFile(input: BillingFileInput): Promise<BillingFileRecord> {
    let emitter: string, amc: string;
    try {
      emitter = required(input?.emitter, 'emitter', 20);
      amc = required(input.amc, 'amc', 20);
      if (typeof input.build !== 'function') throw new JournalError('writeBillingFile needs build(numero)', 'BAD_INPUT');
      if (!Array.isArray(input.invoices) || !input.invoices.length)
        throw new JournalError('writeBillingFile: a file needs invoices', 'BAD_INPUT');
    } catch (e) {
      return Promise.reject(e);
    }
    return this.write(() => {
      const now = this.now();
      for (const inv of input.invoices) {
        const cur = this.getInvoice(inv.key, inv.number);
        if (!cur || cur.state !== 'ready')
          throw new JournalError(`invoice ${inv.number} is ${cur?.state ?? 'unknown'}, not ready: not put in a file`, 'BAD_STATE');
      }
      const last = (this.s.counter.get('DREES', emitter, amc) as { last: number } | undefined)?.last ?? 0;
      const numero = last + 1;
      const c = input.build(numero);
      if (!Buffer.isBuffer(c?.bytes) || typeof c.name !== 'string' || !c.name)
        throw new JournalError('build(numero) must give the file name and bytes', 'BAD_INPUT');
      const id = Number(
        this.s.insertFile.run(emitter, amc, numero, c.name, c.invoiceCount, c.lineCount, c.amcCents, c.totalCents, now, c.bytes)
          .lastInsertRowid,
      );
      this.s.setCounter.run('DREES', emitter, amc, numero);
      for (const inv of input.invoices) {
        const r = this.s.written.run(id, numero, inv.lotNumber, inv.finess ?? null, amc, now, inv.key, inv.number);
        if (r.changes !== 1) throw new JournalError(`invoice ${inv.number} could not be put in file ${numero}`, 'BAD_STATE');
      }
      return fileOf(this.s.file.get(id) as Row);
    });
  }

  markBillingFileSent(id: number, at?: Date): Promise<BillingFileRecord> {
    return this.write(() => {
      const f = this.s.file.get(id) as Row | undefined;
      if (!f) throw new JournalError(`billing file ${id} not found`, 'NOT_FOUND');
      if (f.state === 'WRITTEN') {
        const t = at ? at.getTime() : this.now();
        this.s.fileSent.run(t, id);
        this.s.invoicesSent.run(new Date(t).toISOString().slice(0, 10), this.now(), id);
      }
      return fileOf(this.s.file.get(id) as Row);
    });
  }

  refuseBillingFile(id: number, reason: { code: string; label: string }, at?: Date): Promise<BillingFileRecord> {
    const code = boundedText(reason?.code, 20) ?? 'TRANSPORT';
    const label = boundedText(reason?.label, 500) ?? '';
    return this.write(() => {
      const f = this.s.file.get(id) as Row | undefined;
      if (!f) throw new JournalError(`billing file ${id} not found`, 'NOT_FOUND');
      if (f.state !== 'WRITTEN')
        throw new JournalError(`billing file ${id} is ${String(f.state)}: only a file not sent is refused`, 'BAD_STATE');
      const t = at ? at.getTime() : this.now();
      this.s.fileAck.run('REFUSED', t, `${code}: ${label}`.slice(0, 500), id);
      for (const inv of this.s.invoicesOfFile.all(id) as Row[])
        if (inv.state === 'written') this.s.invoiceRefused.run(label, code, label.slice(0, 200), this.now(), inv.okey, inv.numero);
      return fileOf(this.s.file.get(id) as Row);
    });
  }

  acknowledgeBillingFile(q: { emitter: string; amc: string; numero: number }, acks: BillingAck[], at?: Date): Promise<BillingFileRecord> {
    return this.write(() => {
      const idRow = this.s.fileByNumber.get(q.emitter, q.amc, q.numero) as { id: number } | undefined;
      if (!idRow) throw new JournalError(`no DRE-ES file ${q.numero} for AMC ${q.amc}`, 'NOT_FOUND');
      const t = at ? at.getTime() : this.now();
      const dayAt = new Date(t).toISOString().slice(0, 10);
      // an ARL for a file still WRITTEN: it did leave (a stop came between sending and recording it)
      if ((this.s.file.get(idRow.id) as Row).state === 'WRITTEN') {
        this.s.fileSent.run(t, idRow.id);
        this.s.invoicesSent.run(dayAt, this.now(), idRow.id);
      }
      const whole = acks.find((a) => a.lotNumber === 0);
      const refused = acks.filter((a) => !a.positive);
      const reason = refused.length
        ? boundedText(refused.map((a) => `lot ${a.lotNumber}: ${a.reasonCode ?? ''} ${a.reasonLabel ?? ''}`.trim()).join('; '), 500)
        : null;
      this.s.fileAck.run(refused.length ? 'REFUSED' : 'ARL_RECEIVED', t, reason, idRow.id);
      for (const inv of this.s.invoicesOfFile.all(idRow.id) as Row[]) {
        const a = whole ?? acks.find((x) => x.lotNumber === inv.lot_number);
        if (!a) continue;
        this.s.invoiceAck.run(
          a.positive ? 'acknowledged' : 'lot-refused',
          dayAt,
          a.positive ? null : (a.reasonCode ?? ''),
          a.positive ? null : (a.reasonLabel ?? ''),
          a.positive ? null : 'CORRIGER',
          this.now(),
          inv.okey,
          inv.numero,
        );
      }
      return fileOf(this.s.file.get(idRow.id) as Row);
    });
  }

  getBillingFile(id: number, options: { bytes?: boolean } = {}): Promise<BillingFileRecord | undefined> {
    return this.read(() => {
      const r = (options.bytes ? this.s.fileBytes : this.s.file).get(id) as Row | undefined;
      return r ? fileOf(r) : undefined;
    });
  }

  listBillingFiles(q: { states?: BillingFileState[]; amc?: string; limit?: number } = {}): Promise<BillingFileRecord[]> {
    return this.read(() => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.states) {
        if (q.states.some((s) => !FILE_STATES.includes(s))) throw new JournalError('states must be billing file states', 'BAD_INPUT');
        if (!q.states.length) return [];
        where.push(`state IN (${q.states.map(() => '?').join(', ')})`);
        args.push(...q.states);
      }
      if (q.amc !== undefined) {
        where.push('amc = ?');
        args.push(q.amc);
      }
      const limit = Math.min(Math.max(1, Math.floor(q.limit ?? 1000)), 10_000);
      const sql = `SELECT id, kind, emitter, amc, numero, name, state, invoice_count, line_count, amc_cents, total_cents, created_at, sent_at, ack_at, reason
        FROM billing_files${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
      let st = this.listStatements.get(sql);
      if (!st) this.listStatements.set(sql, (st = this.db.prepare(sql)));
      return (st.all(...args, limit) as Row[]).map((r) => fileOf(r));
    });
  }

  recordRspFile(input: RspFileInput): Promise<{ record: RspFileRecord; duplicate: boolean; applied: number }> {
    try {
      if (typeof input?.hash !== 'string' || !/^[0-9a-f]{64}$/.test(input.hash))
        throw new JournalError('hash must be a SHA-256 in hex', 'BAD_INPUT');
      if (!Buffer.isBuffer(input.bytes)) throw new JournalError('recordRspFile needs the raw bytes', 'BAD_INPUT');
      if (input.state !== 'PROCESSED' && input.state !== 'QUARANTINED')
        throw new JournalError('state must be PROCESSED or QUARANTINED', 'BAD_INPUT');
      for (const st of input.settlements ?? []) {
        if (!['paid', 'partially-paid', 'rejected'].includes(st.state))
          throw new JournalError('a settlement is paid, partially-paid or rejected', 'BAD_INPUT');
        cents(st.paidCents, 'paidCents');
        cents(st.differenceCents, 'differenceCents');
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.write(() => {
      const prior = this.s.rsp.get(input.hash) as Row | undefined;
      if (prior) return { record: rspOf(prior), duplicate: true, applied: 0 };
      const now = this.now();
      const settlements = input.state === 'PROCESSED' ? (input.settlements ?? []) : [];
      this.s.insertRsp.run(
        input.hash,
        input.amc ?? null,
        input.numero ?? null,
        input.state,
        boundedText(input.reason, 1000) ?? null,
        now,
        settlements.length,
        input.bytes,
      );
      let applied = 0;
      for (const st of settlements) {
        applied += this.s.settle.run({
          okey: st.key,
          numero: st.number,
          state: st.state,
          settledAt: st.settledAt,
          paidCents: st.paidCents,
          differenceCents: st.differenceCents,
          paymentReference: st.paymentReference ?? null,
          code: st.rejection?.code ?? null,
          label: st.rejection?.label ?? null,
          action: st.rejection?.action ?? null,
          now,
        }).changes;
      }
      return { record: rspOf(this.s.rsp.get(input.hash) as Row), duplicate: false, applied };
    });
  }

  getRspFile(hash: string, options: { bytes?: boolean } = {}): Promise<RspFileRecord | undefined> {
    return this.read(() => {
      const r = (options.bytes ? this.s.rspBytes : this.s.rsp).get(hash) as Row | undefined;
      return r ? rspOf(r) : undefined;
    });
  }
}
