export * from './journal';
export { SqliteJournal, openSqliteJournal } from './sqlite';
export type { SqliteJournalOptions } from './sqlite';
export { VenueDispatcher } from './dispatcher';
export { JournalRegistry, defaultJournalFile, journalPath, type Lease } from './registry';

import { JournalRegistry } from './registry';
import { openSqliteJournal, type SqliteJournal, type SqliteJournalOptions } from './sqlite';

/** Options of a shared journal (the file is the registry's key). */
export type SharedJournalOptions = Omit<SqliteJournalOptions, 'file'>;

/**
 * The process's journals: one SqliteJournal per file, shared by every node that uses it
 * (roc-journal config node, roc-mllp-in, roc-mllp-out), closed when the last one releases it.
 */
export const journals = new JournalRegistry<SqliteJournal, SharedJournalOptions>((file, options) =>
  openSqliteJournal({ ...options, file }),
);
