/**
 * The journal a node uses: the roc-journal config node its `journal` property designates, or
 * (flows of 0.1, or no config node chosen) the implicit shared journal of the file its legacy
 * settings name (`journalFile` after migration; empty = ${ROC_USER_DIR}/roc-journal.sqlite).
 * Either way the instance comes from the process registry (lib/store): one per file, shared by
 * reference count. The caller must `release()` the lease when it closes.
 */
import type { NodeAPI, NodeDef } from './red';
import { journals, type Lease, type SharedJournalOptions, type SqliteJournal } from '../../lib/store';

/** What a roc-journal config node exposes to its users. */
export interface JournalConfig {
  readonly file: string;
  readonly options: SharedJournalOptions;
}

export function num(v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(min, n));
}

/** Journal options from settings (a roc-journal node's, or a 0.1 node's legacy fields). */
export function journalOptionsOf(s: Record<string, unknown>, onPurgeError: (e: Error) => void): SharedJournalOptions {
  return {
    synchronous: s.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL',
    retentionDays: num(s.retentionDays, 30, 0, 36_500),
    windowMs: num(s.commitWindowMs, 0, 0, 10_000),
    onPurgeError,
  };
}

/**
 * Outbound retry delay of a journal opened by a node that sets none (roc-mllp-in, roc-journal):
 * roc-mllp-out's default (2 s, doubling, at most 5 min), so its default retry settings hold
 * whichever node opens the shared journal first.
 */
export const DEFAULT_BACKOFF = { baseMs: 2000, factor: 2, maxMs: 300_000 } as const;

/**
 * Leases the node's journal. `implicit` are the journal options the node's own (legacy) settings
 * ask for; `extra` options the node brings when it is the one that opens the file (outbound
 * backoff). Throws when the config node is missing or the file cannot be opened.
 */
export function leaseJournal(
  RED: NodeAPI,
  def: NodeDef,
  implicit: SharedJournalOptions,
  extra: SharedJournalOptions = {},
): Lease<SqliteJournal> {
  const id = typeof def.journal === 'string' ? def.journal : '';
  if (id) {
    const cfg = RED.nodes.getNode(id) as JournalConfig | null | undefined;
    if (!cfg || typeof cfg.file !== 'string') throw new Error(`nœud de configuration roc-journal ${id} introuvable`);
    return journals.acquireSync(cfg.file, { backoff: { ...DEFAULT_BACKOFF }, ...extra, ...cfg.options });
  }
  return journals.acquireSync(String(def.journalFile ?? ''), { backoff: { ...DEFAULT_BACKOFF }, ...extra, ...implicit });
}
