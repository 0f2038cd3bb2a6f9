/**
 * Billing's events on the ROC dossier (DRE_ENVOYEE, RSP_PAYE, RSP_PAYE_PARTIEL, RSP_REJET, and the
 * operator's RENVOI_FACTURE: a rejected invoice sent again unchanged) through
 * the dossier's own functions: load, step (decision table + transition), save with optimistic
 * concurrency (retried when roc-dossier saved the same venue in between). Pure: the store and the
 * clock are injected.
 */
import { step } from '../dossier/decision';
import type { DossierRecord } from '../dossier/dossier';
import type { Clock } from '../dossier/schedule';
import type { DossierEvent } from '../dossier/states';

export interface DossierPort {
  loadDossier(key: string): Promise<DossierRecord | undefined>;
  saveDossier(record: DossierRecord, expectedMajLe?: string | null): Promise<void>;
}

export type BillingEvent = Extract<DossierEvent, 'DRE_ENVOYEE' | 'RSP_PAYE' | 'RSP_PAYE_PARTIEL' | 'RSP_REJET' | 'RENVOI_FACTURE'>;

export interface MoveResult {
  key: string;
  /** The dossier's state after the event (unchanged when refused). */
  etat?: string;
  /** The state refused the event (e.g. the stay was cancelled meanwhile): operator text, no patient data. */
  refused?: string;
  /** Manual handling the decision table asks (RSP_REJET). */
  manual: string[];
}

/** Applies one billing event to a dossier. An unknown dossier → refused. */
export async function applyBillingEvent(store: DossierPort, key: string, event: BillingEvent, clock: Clock): Promise<MoveResult> {
  for (let attempt = 0; ; attempt++) {
    const prior = await store.loadDossier(key);
    if (!prior) return { key, refused: 'dossier inconnu du pont', manual: [] };
    const r = step(prior, event, { clock });
    if (r.refused) return { key, etat: prior.etat, refused: r.refused, manual: [] };
    const manual = r.actions.filter((a) => a.kind === 'FLAG_MANUAL').map((a) => (a as { motif: string }).motif);
    try {
      await store.saveDossier(r.dossier, prior.majLe);
      return { key, etat: r.dossier.etat, manual };
    } catch (e) {
      if ((e as { code?: string }).code !== 'CONFLICT' || attempt >= 4) throw e;
    }
  }
}
