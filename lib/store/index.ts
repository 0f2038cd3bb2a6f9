export * from './journal';
export { SqliteJournal, openSqliteJournal } from './sqlite';
export type { SqliteJournalOptions } from './sqlite';
export { VenueDispatcher } from './dispatcher';
