/**
 * What a journal indexes of a ROC dossier record (lib/dossier DossierRecord): pure functions, so
 * every store (SQLite today, PostgreSQL later) computes the same columns and the same due time.
 *
 * Due time (`dueAt`, ms since the epoch; undefined when nothing is due): the earliest of
 *  - the scheduled re-check `reverification.prochaine`, when the state accepts REVERIFICATION_DUE
 *    (A_REVERIFIER, ENGAGE) and no request of that service is already in flight;
 *  - the IDB renewal, `idbRenewalAt(record)` (the start of the day after the validity date, UTC,
 *    and never sooner than a day after the last IDB), when the state accepts
 *    RENOUVELLEMENT_IDB_DUE (DROITS_OK, DEVIS), no IDB is in flight and the stay is open: no
 *    `sejour.dateSortie`, or a discharge on or after that day (the same rule as `isIdbRenewalDue`
 *    in lib/dossier/schedule.ts, so the node never wakes for nothing);
 *  - for each request in flight (`enCours`), its `perduLe` (set by the dossier engine from its
 *    "request lost after" setting), else its `at` + the in-flight grace: an answer that never came
 *    (the process died while asking) is due again then.
 * Closed dossiers (ANNULE, PAYE) are never due. The state gates follow the transition table
 * (`findTransition`): a record the state machine would refuse the clock event for is not due, so
 * `dueDossiers` never hands back the same record forever.
 */
import type { DossierRecord } from '../dossier/dossier';
import { idbRenewalAt } from '../dossier/schedule';
import { findTransition } from '../dossier/states';

/** An answer awaited longer than this is taken as lost (default 15 minutes). */
export const DEFAULT_IN_FLIGHT_GRACE_MS = 15 * 60_000;

/** States whose dossiers are never due (nothing more to ask). */
export const CLOSED_STATES: ReadonlySet<string> = new Set(['ANNULE', 'PAYE']);

export interface DossierColumns {
  key: string;
  etat: string;
  numeroAmc?: string;
  finess?: string;
  venue?: string;
  dateEntree?: string;
  dateSortie?: string;
  dueAt?: number;
  flagged: boolean;
  majLe: string;
}

/** `FINESS/V/venue` or `FINESS/N/NDA` → its FINESS and venue (or NDA) parts. */
export function splitDossierKey(key: string): { finess?: string; venue?: string } {
  const m = /^([^/]*)\/([VN])\/(.+)$/.exec(key);
  if (!m) return {};
  return { ...(m[1] && m[1] !== '-' ? { finess: m[1] } : {}), venue: m[3] };
}

function ms(at: string | undefined): number | undefined {
  // Stryker disable next-line StringLiteral: any text that is not a date gives NaN, as '' does
  const t = Date.parse(at ?? ''); // NaN for a missing, empty or unreadable date
  return Number.isFinite(t) ? t : undefined;
}

/** The record's due time in ms (see the file comment), or undefined. */
export function dossierDueAt(d: DossierRecord, graceMs = DEFAULT_IN_FLIGHT_GRACE_MS): number | undefined {
  if (CLOSED_STATES.has(d.etat)) return undefined;
  const candidates: number[] = [];
  const enCours = d.enCours ?? {};
  const rv = d.reverification;
  if (rv?.prochaine && !enCours[rv.service] && findTransition(d.etat, 'REVERIFICATION_DUE')) {
    const t = ms(rv.prochaine);
    if (t !== undefined) candidates.push(t);
  }
  const renewal = idbRenewalAt(d)?.getTime();
  if (renewal !== undefined && !enCours.idb && findTransition(d.etat, 'RENOUVELLEMENT_IDB_DUE')) candidates.push(renewal);
  for (const x of Object.values(enCours)) {
    // The engine dates when the answer counts as lost (its own setting); older records: at + grace.
    const lost = ms(x?.perduLe);
    const t = ms(x?.at);
    if (lost !== undefined) candidates.push(lost);
    else if (t !== undefined) candidates.push(t + graceMs);
  }
  return candidates.length ? Math.min(...candidates) : undefined;
}

/** The columns a journal stores beside the record's JSON. */
export function dossierColumns(d: DossierRecord, graceMs = DEFAULT_IN_FLIGHT_GRACE_MS): DossierColumns {
  const k = splitDossierKey(d.key);
  const finess = d.finessGeographique || k.finess;
  return {
    key: d.key,
    etat: d.etat,
    ...(d.couverture?.numeroAmc ? { numeroAmc: d.couverture.numeroAmc } : {}),
    ...(finess ? { finess } : {}),
    ...(k.venue ? { venue: k.venue } : {}),
    ...(d.sejour?.dateEntree ? { dateEntree: d.sejour.dateEntree.slice(0, 10) } : {}),
    ...(d.sejour?.dateSortie ? { dateSortie: d.sejour.dateSortie.slice(0, 10) } : {}),
    ...((): { dueAt?: number } => {
      const dueAt = dossierDueAt(d, graceMs);
      return dueAt === undefined ? {} : { dueAt };
    })(),
    flagged: Array.isArray(d.drapeaux) && d.drapeaux.length > 0,
    majLe: d.majLe,
  };
}
