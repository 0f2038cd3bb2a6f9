/**
 * Shared by the parts of the SQLite journal: row type, date and optional-column helpers, input
 * checks (bounded texts, page limits).
 */
import { JournalError } from '../journal';

export type Row = Record<string, unknown>;

export const iso = (ms: unknown): string | undefined => (typeof ms === 'number' ? new Date(ms).toISOString() : undefined);
export const opt = <T>(v: unknown): T | undefined => (v ?? undefined) as T | undefined;

export function text(v: unknown, field: string, max = 200): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new JournalError(`${field} must be a string`, 'BAD_INPUT');
  if (v.length > max) throw new JournalError(`${field} is longer than ${max} characters`, 'BAD_INPUT');
  return v;
}

export function limitOf(limit: number | undefined): number {
  if (limit === undefined) return 100;
  if (!Number.isInteger(limit) || limit < 1) throw new JournalError('limit must be a positive integer', 'BAD_INPUT');
  return Math.min(limit, 1000);
}
