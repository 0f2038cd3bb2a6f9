/** What a billing file reader answers: the file, or why it is quarantined (kept raw by the caller). */

export type QuarantineCode =
  | 'format' // a record breaks the layout (length, digits, date, unknown type)
  | 'truncated' // the file stops before its closing record
  | 'structure' // records out of order, a level not closed, one destination per file broken
  | 'totals' // counts or totals that do not add up
  | 'duplicate'; // the same invoice twice in one file

export interface Quarantine {
  ok: false;
  code: QuarantineCode;
  /** A clear reason naming line, record/entity and field; never a patient identifier. */
  reason: string;
  line?: number;
}

export type ReadResult<T> = { ok: true; value: T } | Quarantine;

export function quarantine(code: QuarantineCode, reason: string, line?: number): Quarantine {
  return line === undefined ? { ok: false, code, reason } : { ok: false, code, reason, line };
}
