/**
 * The journals of the deployed billing nodes (roc-dre-es, roc-rsp), for the reconciliation
 * endpoint: it answers while either node is deployed.
 */
import type { SqliteJournal } from '../../lib/store/sqlite';

export const billingJournals = new Map<string, { journal: SqliteJournal; ageingDays: number }>();
