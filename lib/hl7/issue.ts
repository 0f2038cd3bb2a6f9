/**
 * The ERR issues the invoice (DFT^P03) and AMO payment (BAR^P05) readers write: a field named
 * with its profile label, an error with its table 0357 text.
 */
import { FIELD_LABELS, TABLE_0357, type Hl7ErrorCode } from './profile';
import type { Hl7Issue, Hl7Location } from './types';

/** `ZFA-5 (montant AMO payé)`: the field and its label from FIELD_LABELS, or the field alone. */
export function fieldLabel(seg: string, field: number): string {
  const key = `${seg}-${field}`;
  const l = FIELD_LABELS[key];
  return l ? `${key} (${l})` : key;
}

/** An error (severity E) at a place, its message the table 0357 French text then the detail. */
export function errorIssue(code: Hl7ErrorCode, location: Hl7Location, detail: string): Hl7Issue {
  return { code, severity: 'E', location, message: `${TABLE_0357[code].fr} : ${detail}` };
}
