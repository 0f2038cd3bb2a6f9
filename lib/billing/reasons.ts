/**
 * RSP 908R rejection reasons as data (reasons.json, a [profile] working set): code → label and
 * the action it calls for. Replace the table with the AMC's official one (same shape).
 */
import data from './reasons.json';

export interface ReasonTable {
  source?: string;
  version: string;
  actions: Record<string, string>;
  reasons: Record<string, { label: string; action: string }>;
}

let current: ReasonTable = data as ReasonTable;

export function loadReasons(table: ReasonTable): void {
  current = table;
}

export function reasonTable(): ReasonTable {
  return current;
}

/** The reason's label and action; an unknown code says so (it goes to manual follow-up). */
export function rejectionReason(code: string): { code: string; label: string; action: string; known: boolean } {
  const r = current.reasons[code];
  if (r) return { code, label: r.label, action: r.action, known: true };
  return { code, label: `Motif de rejet inconnu (${code})`, action: 'TRAITEMENT_MANUEL', known: false };
}
