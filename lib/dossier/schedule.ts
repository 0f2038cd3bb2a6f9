/**
 * When to ask again: re-checks after a technical KO (backoff), IDB renewals for long stays.
 * Pure date arithmetic with an injectable clock, so tests (and the node) control time.
 */
import type { IsoDate } from '../model/dossier';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface RecheckSettings {
  /** Delays of the first re-checks, in minutes (default 1, 5, 15, 60). */
  backoffMinutes: readonly number[];
  /** Then every this many minutes (default 60). */
  thenEveryMinutes: number;
  /** Stop N days after discharge (default 7); without a discharge date, N days after the first failure. */
  daysAfterDischarge: number;
  /**
   * Spread (0–1, default 0): each dossier's delay is lengthened by up to this fraction, by an
   * amount fixed by its key (no randomness: reproducible), so that the dossiers an AMC outage hit
   * together are not asked again all in the same second (and do not trip its circuit breaker again).
   */
  spread?: number;
}

export const DEFAULT_RECHECK: RecheckSettings = { backoffMinutes: [1, 5, 15, 60], thenEveryMinutes: 60, daysAfterDischarge: 7 };

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Checks the settings; returns a French reason or null. */
export function checkRecheckSettings(s: RecheckSettings): string | null {
  if (!Array.isArray(s.backoffMinutes) || s.backoffMinutes.some((m) => !Number.isFinite(m) || m <= 0))
    return 'les délais de revérification sont des minutes positives';
  if (!Number.isFinite(s.thenEveryMinutes) || s.thenEveryMinutes <= 0)
    return "l'intervalle de revérification est un nombre de minutes positif";
  if (!Number.isInteger(s.daysAfterDischarge) || s.daysAfterDischarge < 0)
    return 'le nombre de jours après la sortie est un entier positif ou nul';
  return null;
}

/** A number in [0, 1) fixed by `key` and `attempt` (FNV-1a). */
function spreadOf(key: string, attempt: number): number {
  let h = 0x811c9dc5;
  const text = `${key}#${attempt}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x1_0000_0000;
}

/**
 * Delay before re-check number `attempt` (1 = the first after the first failure), in ms; with
 * `spreadKey` (the dossier key) and `s.spread`, lengthened by the dossier's own share of the spread.
 */
export function recheckDelayMs(attempt: number, s: RecheckSettings = DEFAULT_RECHECK, spreadKey?: string): number {
  const i = Math.max(1, Math.floor(attempt)) - 1;
  const minutes = i < s.backoffMinutes.length ? s.backoffMinutes[i] : s.thenEveryMinutes;
  const spread = spreadKey && s.spread ? Math.min(1, Math.max(0, s.spread)) * spreadOf(spreadKey, attempt) : 0;
  return Math.round(minutes * MINUTE * (1 + spread));
}

/** End of the day `date` + `days` (UTC), as the re-check deadline. */
function deadlineFrom(date: IsoDate, days: number): number {
  const t = Date.parse(`${date.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(t) ? NaN : t + (days + 1) * DAY;
}

/**
 * When to ask again after `attempt` technical failures, or undefined when the re-checks are over
 * (N days after discharge, or N days after the first failure when the stay has no discharge date).
 */
export function nextRecheck(
  attempt: number,
  clock: Clock,
  opts: { dateSortie?: IsoDate; firstFailure?: Date; spreadKey?: string } = {},
  s: RecheckSettings = DEFAULT_RECHECK,
): Date | undefined {
  const now = clock.now().getTime();
  const next = now + recheckDelayMs(attempt, s, opts.spreadKey);
  let deadline = opts.dateSortie ? deadlineFrom(opts.dateSortie, s.daysAfterDischarge) : NaN;
  if (Number.isNaN(deadline)) deadline = (opts.firstFailure ?? clock.now()).getTime() + Math.max(1, s.daysAfterDischarge) * DAY;
  return next <= deadline ? new Date(next) : undefined;
}

/**
 * When an IDB answer valid until `dateValidite` (inclusive) must be renewed: the start of the
 * next day (UTC) minus `leadHours`. undefined without a validity date.
 */
export function idbRenewalDue(dateValidite: IsoDate | undefined, leadHours = 0): Date | undefined {
  if (!dateValidite) return undefined;
  const t = Date.parse(`${dateValidite.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(t)) return undefined;
  return new Date(t + DAY - leadHours * 3_600_000);
}

/**
 * At least this long between two IDB of one stay: an answer whose validity is already over when
 * it comes (a stay dated in the past, an AMC that answers with the stay's dates) must not make the
 * clock ask again at every scan.
 */
export const MIN_RENEWAL_INTERVAL_MS = DAY;

type RenewalView = { idbValidite?: IsoDate; sejour: { dateSortie?: IsoDate }; echanges?: ReadonlyArray<{ service: string; at: string }> };

/**
 * When a stay still open needs its next IDB: the renewal date of the validity (idbRenewalDue),
 * and never sooner than MIN_RENEWAL_INTERVAL_MS after the last IDB; undefined when the stay has
 * no validity date or left before it (no renewal).
 */
export function idbRenewalAt(d: RenewalView, leadHours = 0): Date | undefined {
  const due = idbRenewalDue(d.idbValidite, leadHours);
  if (!due) return undefined;
  if (d.sejour.dateSortie && Date.parse(`${d.sejour.dateSortie}T00:00:00Z`) < due.getTime()) return undefined; // left before expiry
  let last = -Infinity;
  for (const x of d.echanges ?? []) if (x.service === 'idb') last = Math.max(last, Date.parse(x.at) || -Infinity);
  return new Date(Math.max(due.getTime(), last + MIN_RENEWAL_INTERVAL_MS));
}

/** True when a stay still open needs a new IDB now. */
export function isIdbRenewalDue(d: RenewalView, clock: Clock, leadHours = 0): boolean {
  const at = idbRenewalAt(d, leadHours);
  return !!at && clock.now().getTime() >= at.getTime();
}

/** True when a scheduled re-check is due. */
export function isRecheckDue(d: { reverification?: { prochaine?: string } }, clock: Clock): boolean {
  const at = d.reverification?.prochaine;
  return !!at && clock.now().getTime() >= Date.parse(at);
}
