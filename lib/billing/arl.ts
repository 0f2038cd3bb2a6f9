/**
 * ARL, accusé de réception logique ([profile] layout in layouts/arl.json): acknowledges the lots
 * of a received file, positively, or negatively to refuse a lot with a reason. The bridge sends
 * one for each RSP it receives; the AMC (the simulator) sends one for each DRE-ES lot.
 */
import { ARL } from './layouts';
import { decodeFile, RecordError, RecordWriter, type DecodedRecord } from './records';
import { quarantine, type ReadResult } from './result';

export interface ArlAck {
  /** DREES or RSP: the kind of file acknowledged. */
  fileKind: 'DREES' | 'RSP';
  fileNumber: number;
  /** The lot acknowledged; 0 for the whole file. */
  lotNumber: number;
  positive: boolean;
  /** For a negative ARL: why the lot is refused (a code and a label without patient data). */
  reasonCode?: string;
  reasonLabel?: string;
  invoiceCount: number;
  amountCents: number;
}

export interface Arl {
  /** Who acknowledges: a FINESS (9 digits) or a numéro AMC (10). */
  emitter: string;
  recipient: string;
  arlNumber: number;
  date: string;
  acks: ArlAck[];
}

export function writeArl(arl: Arl): Buffer {
  if (!arl.acks.length) throw new Error('ARL: nothing to acknowledge');
  const out = new RecordWriter(ARL, arl.acks.length + 2).add('header', {
    emitter: arl.emitter,
    recipient: arl.recipient,
    arlNumber: arl.arlNumber,
    date: arl.date,
  });
  for (const a of arl.acks) {
    if (!a.positive && !a.reasonCode)
      throw new Error(`ARL: the negative acknowledgement of ${a.fileKind} file ${a.fileNumber} lot ${a.lotNumber} needs a reason`);
    const { positive, ...rest } = a;
    out.add('ack', { ...rest, status: positive ? 'P' : 'N' });
  }
  out.add('trailer', { ackCount: arl.acks.length });
  return out.finish();
}

export function readArl(data: Buffer): ReadResult<Arl> {
  let recs: DecodedRecord[];
  try {
    recs = decodeFile(ARL, data);
  } catch (e) {
    if (e instanceof RecordError) return quarantine(/truncated/.test(e.detail) ? 'truncated' : 'format', e.message, e.where.line);
    throw e;
  }
  if (!recs.length) return quarantine('truncated', 'ARL: empty file');
  const h = recs[0];
  if (h.record !== 'header') return quarantine('structure', `ARL line 1: expected the header 000, found ${h.type}`, 1);
  const arl: Arl = {
    emitter: h.values.emitter as string,
    recipient: h.values.recipient as string,
    arlNumber: h.values.arlNumber as number,
    date: h.values.date as string,
    acks: [],
  };
  let i = 1;
  for (; i < recs.length && recs[i].record === 'ack'; i++) {
    const v = recs[i].values;
    const status = v.status as string;
    if (status !== 'P' && status !== 'N')
      return quarantine('format', `ARL line ${recs[i].line}, record ack, field status: expected P or N`, recs[i].line);
    const kind = v.fileKind as string;
    if (kind !== 'DREES' && kind !== 'RSP')
      return quarantine('format', `ARL line ${recs[i].line}, record ack, field fileKind: expected DREES or RSP`, recs[i].line);
    const ack: ArlAck = {
      fileKind: kind,
      fileNumber: v.fileNumber as number,
      lotNumber: v.lotNumber as number,
      positive: status === 'P',
      invoiceCount: v.invoiceCount as number,
      amountCents: v.amountCents as number,
    };
    if (v.reasonCode) ack.reasonCode = v.reasonCode as string;
    if (v.reasonLabel) ack.reasonLabel = v.reasonLabel as string;
    if (!ack.positive && !ack.reasonCode)
      return quarantine('format', `ARL line ${recs[i].line}: negative acknowledgement without a reason`, recs[i].line);
    arl.acks.push(ack);
  }
  const t = recs[i];
  if (!t) return quarantine('truncated', `ARL: the file stops before its trailer 999 (${recs.length} records read)`);
  if (t.record !== 'trailer')
    return quarantine('structure', `ARL line ${t.line}: expected an ack 100 or the trailer 999, found ${t.type}`, t.line);
  if (i + 1 < recs.length) return quarantine('structure', `ARL line ${recs[i + 1].line}: record after the trailer`, recs[i + 1].line);
  if (t.values.ackCount !== arl.acks.length)
    return quarantine(
      'totals',
      `ARL line ${t.line}: trailer counts ${t.values.ackCount} acknowledgements, the file has ${arl.acks.length}`,
      t.line,
    );
  if (!arl.acks.length) return quarantine('structure', 'ARL: no acknowledgement');
  return { ok: true, value: arl };
}
