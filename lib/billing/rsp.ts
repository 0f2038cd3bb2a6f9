/**
 * RSP return files ([profile] NOEMIE-style layout in layouts/rsp.json): 000 header → for each
 * recipient FINESS a 040 entity, its 578R (paid) and 908R (rejected) entities, a 990 closing
 * the 040 level → a 990 closing the file. Each 990 carries the counts and totals of what it
 * closes; readRsp recomputes them and answers a quarantine reason when one does not add up.
 */
import { RSP } from './layouts';
import { rejectionReason } from './reasons';
import { decodeFile, RecordError, RecordWriter, type DecodedRecord } from './records';
import { quarantine, type ReadResult } from './result';

interface ReturnBase {
  invoiceNumber: string;
  /** DRE-ES lot and file numbers and the invoice date: secondary keys. */
  lotNumber: number;
  fileNumber: number;
  invoiceDate: string;
  engagement: string;
  claimedCents: number;
}

export interface PaidReturn extends ReturnBase {
  kind: 'paid';
  paidCents: number;
  paymentReference: string;
  paymentDate: string;
}

export interface RejectedReturn extends ReturnBase {
  kind: 'rejected';
  reason: string;
}

export type ReturnInput = PaidReturn | RejectedReturn;

export interface RspInput {
  /** numéro AMC of the emitter. */
  amc: string;
  numero: number;
  date: string;
  mode?: 'R' | 'T';
  recipients: Array<{ finess: string; returns: ReturnInput[] }>;
}

/** One invoice's return as read, with where it came from. */
export interface RspReturn {
  /** 1-based line of the 578/908 entity in the file. */
  line: number;
  /** Entity code: 578 (paid) or 908 (rejected). */
  entity: string;
  amc: string;
  finess: string;
  /** paid in full, partially paid (paid < claimed, differenceCents kept), or rejected. */
  outcome: 'paid' | 'partially-paid' | 'rejected';
  invoiceNumber: string;
  lotNumber: number;
  fileNumber: number;
  invoiceDate: string;
  engagement: string;
  claimedCents: number;
  paidCents: number;
  /** claimed − paid (0 when paid in full; the claimed amount when rejected). */
  differenceCents: number;
  paymentReference?: string;
  paymentDate?: string;
  reason?: { code: string; label: string; action: string; known: boolean };
}

export interface RspFile {
  amc: string;
  numero: number;
  date: string;
  mode: 'R' | 'T';
  returns: RspReturn[];
  recordCount: number;
  totals: { invoiceCount: number; paidCount: number; rejectedCount: number; claimedCents: number; paidCents: number };
}

interface LevelCount {
  recordCount: number;
  invoiceCount: number;
  paidCount: number;
  rejectedCount: number;
  claimedCents: number;
  paidCents: number;
}
const zero = (): LevelCount => ({ recordCount: 0, invoiceCount: 0, paidCount: 0, rejectedCount: 0, claimedCents: 0, paidCents: 0 });

/** The RSP file (the simulator's side), as bytes. */
export function writeRsp(input: RspInput): Buffer {
  const expected = input.recipients.reduce((n, r) => n + r.returns.length + 2, 2);
  const out = new RecordWriter(RSP, expected).add('header', {
    amc: input.amc,
    fileNumber: input.numero,
    date: input.date,
    mode: input.mode ?? 'R',
  });
  const file = zero();
  for (const rcp of input.recipients) {
    const lvl = zero();
    out.add('recipient', { finess: rcp.finess });
    for (const r of rcp.returns) {
      const paid = r.kind === 'paid' ? r.paidCents : 0;
      out.add(r.kind, { ...r });
      lvl.invoiceCount++;
      if (r.kind === 'paid') lvl.paidCount++;
      else lvl.rejectedCount++;
      lvl.claimedCents += r.claimedCents;
      lvl.paidCents += paid;
    }
    lvl.recordCount = rcp.returns.length + 2;
    out.add('closing', { level: '040', ...lvl });
    file.invoiceCount += lvl.invoiceCount;
    file.paidCount += lvl.paidCount;
    file.rejectedCount += lvl.rejectedCount;
    file.claimedCents += lvl.claimedCents;
    file.paidCents += lvl.paidCents;
  }
  file.recordCount = out.count + 1;
  out.add('closing', { level: '000', ...file });
  return out.finish();
}

function checkClosing(rec: DecodedRecord, what: string, found: LevelCount): string | undefined {
  for (const k of ['recordCount', 'invoiceCount', 'paidCount', 'rejectedCount', 'claimedCents', 'paidCents'] as const) {
    const said = rec.values[k] as number;
    if (said !== found[k]) return `RSP line ${rec.line}: entity 990 closing ${what}: ${k} says ${said}, found ${found[k]}`;
  }
  return undefined;
}

/**
 * Reads an RSP file strictly. Quarantine reasons: a record breaking the layout, a truncated file
 * (no closing 990 of the file), entities out of order, counts or totals that do not add up.
 * Lines for unknown invoices or another FINESS are not the reader's business: reconcile() refuses them.
 */
export function readRsp(data: Buffer): ReadResult<RspFile> {
  let recs: DecodedRecord[];
  try {
    recs = decodeFile(RSP, data);
  } catch (e) {
    if (e instanceof RecordError) return quarantine(/truncated/.test(e.detail) ? 'truncated' : 'format', e.message, e.where.line);
    throw e;
  }
  if (!recs.length) return quarantine('truncated', 'RSP: empty file');
  const head = recs[0];
  if (head.type !== '000') return quarantine('structure', `RSP line 1: expected entity 000, found ${head.type}`, 1);
  const amc = head.values.amc as string;
  const file: RspFile = {
    amc,
    numero: head.values.fileNumber as number,
    date: head.values.date as string,
    mode: head.values.mode === 'T' ? 'T' : 'R',
    returns: [],
    recordCount: recs.length,
    totals: { invoiceCount: 0, paidCount: 0, rejectedCount: 0, claimedCents: 0, paidCents: 0 },
  };
  const fileCount = zero();
  let i = 1;
  for (;;) {
    const r = recs[i];
    if (!r) return quarantine('truncated', `RSP: the file stops before its closing entity 990 (${recs.length} records read)`);
    if (r.type === '990') {
      if (r.values.level !== '000')
        return quarantine('structure', `RSP line ${r.line}: entity 990 closes level ${r.values.level} outside a 040`, r.line);
      fileCount.recordCount = i + 1;
      const bad = checkClosing(r, 'the file', fileCount);
      if (bad) return quarantine('totals', bad, r.line);
      if (i + 1 < recs.length)
        return quarantine(
          'structure',
          `RSP line ${recs[i + 1].line}: entity ${recs[i + 1].type} after the file's closing 990`,
          recs[i + 1].line,
        );
      break;
    }
    if (r.type !== '040') return quarantine('structure', `RSP line ${r.line}: expected entity 040 or 990, found ${r.type}`, r.line);
    const finess = r.values.finess as string;
    const lvl = zero();
    const opened = i;
    i++;
    for (;;) {
      const e = recs[i];
      if (!e)
        return quarantine('truncated', `RSP: the file stops inside the 040 level opened line ${r.line} (${recs.length} records read)`);
      if (e.type === '578' || e.type === '908') {
        const v = e.values;
        const claimed = v.claimedCents as number;
        const paid = e.type === '578' ? (v.paidCents as number) : 0;
        const ret: RspReturn = {
          line: e.line,
          entity: e.type,
          amc,
          finess,
          outcome: e.type === '908' ? 'rejected' : paid < claimed ? 'partially-paid' : 'paid',
          invoiceNumber: v.invoiceNumber as string,
          lotNumber: v.lotNumber as number,
          fileNumber: v.fileNumber as number,
          invoiceDate: v.invoiceDate as string,
          engagement: v.engagement as string,
          claimedCents: claimed,
          paidCents: paid,
          differenceCents: claimed - paid,
        };
        if (e.type === '578') {
          ret.paymentReference = v.paymentReference as string;
          ret.paymentDate = v.paymentDate as string;
          lvl.paidCount++;
        } else {
          ret.reason = rejectionReason(v.reason as string);
          lvl.rejectedCount++;
        }
        lvl.invoiceCount++;
        lvl.claimedCents += claimed;
        lvl.paidCents += paid;
        file.returns.push(ret);
        i++;
        continue;
      }
      if (e.type === '990' && e.values.level === '040') {
        lvl.recordCount = i - opened + 1;
        const bad = checkClosing(e, `the 040 level opened line ${r.line}`, lvl);
        if (bad) return quarantine('totals', bad, e.line);
        i++;
        break;
      }
      return quarantine(
        'structure',
        `RSP line ${e.line}: expected entity 578, 908 or the 990 closing the 040 level opened line ${r.line}, found ${e.type}${e.type === '990' ? ` level ${e.values.level}` : ''}`,
        e.line,
      );
    }
    fileCount.invoiceCount += lvl.invoiceCount;
    fileCount.paidCount += lvl.paidCount;
    fileCount.rejectedCount += lvl.rejectedCount;
    fileCount.claimedCents += lvl.claimedCents;
    fileCount.paidCents += lvl.paidCents;
  }
  const { recordCount: _rc, ...totals } = fileCount;
  void _rc;
  file.totals = totals;
  return { ok: true, value: file };
}
